/*
 * test_acme_http01.c - the http-01 answer: requests as Pebble's and
 * Let's Encrypt's validation servers send them, partial and hostile
 * ones, the key authorization (RFC 8555 §8.1) and the response bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme_http01.h"

#define TOK	"hlUdgZySK3_j9WwyowrbdLMyw7o-DMa1ryWxBWyxhz4"
#define THUMB	"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

static enum acme_http01_parse
parse(const char *req, char *token)
{
	return acme_http01_parse(req, strlen(req), token);
}

static void
test_challenge(void **state)
{
	char	 token[ACME_HTTP01_MAX_TOKEN + 1];

	(void)state;
	/* Pebble's VA (Go net/http). */
	assert_int_equal(parse("GET /.well-known/acme-challenge/" TOK
	    " HTTP/1.1\r\nHost: app.example.test:5002\r\nUser-Agent: "
	    "Go-http-client/1.1\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n"
	    "\r\n", token), HTTP01_CHALLENGE);
	assert_string_equal(token, TOK);
	/* Bare LF line ends, HTTP/1.0. */
	assert_int_equal(parse("GET /.well-known/acme-challenge/abc HTTP/1.0\n"
	    "Host: a\n\n", token), HTTP01_CHALLENGE);
	assert_string_equal(token, "abc");
}

static void
test_incomplete_and_other(void **state)
{
	static const char full[] = "GET /.well-known/acme-challenge/" TOK
	    " HTTP/1.1\r\nHost: a\r\n\r\n";
	char	 token[ACME_HTTP01_MAX_TOKEN + 1];
	size_t	 i;

	(void)state;
	/* Every prefix short of the blank line asks for more. */
	for (i = 0; i < sizeof(full) - 2; i++)
		assert_int_equal(acme_http01_parse(full, i, token),
		    HTTP01_INCOMPLETE);
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", token),
	    HTTP01_NOT_FOUND);
	assert_int_equal(parse("POST /.well-known/acme-challenge/abc HTTP/1.1"
	    "\r\n\r\n", token), HTTP01_NOT_FOUND);
	assert_int_equal(parse("GET /.well-known/acme-challenge/ HTTP/1.1"
	    "\r\n\r\n", token), HTTP01_NOT_FOUND);
	assert_int_equal(parse("GET /.well-known/acme-challenge/../x HTTP/1.1"
	    "\r\n\r\n", token), HTTP01_NOT_FOUND);
	assert_int_equal(parse("GET /.well-known/acme-challenge/a%2fb HTTP/1.1"
	    "\r\n\r\n", token), HTTP01_NOT_FOUND);
	assert_int_equal(parse("GET /.well-known/acme-challenge/abc?x=1 "
	    "HTTP/1.1\r\n\r\n", token), HTTP01_NOT_FOUND);
	assert_string_equal(token, "");
}

static void
test_bad(void **state)
{
	char	 token[ACME_HTTP01_MAX_TOKEN + 1], *big;

	(void)state;
	assert_int_equal(parse("GET /x HTTP/2\r\n\r\n", token), HTTP01_BAD);
	assert_int_equal(parse("GET /x\r\n\r\n", token), HTTP01_BAD);
	assert_int_equal(parse("GET  HTTP/1.1 x\r\n\r\n", token), HTTP01_BAD);
	assert_int_equal(parse("\r\n\r\n", token), HTTP01_BAD);
	assert_int_equal(acme_http01_parse("GET /\0 HTTP/1.1\r\n\r\n", 20,
	    token), HTTP01_BAD);
	/* No blank line within the cap: closed, not waited on. */
	big = malloc(ACME_HTTP01_MAX_REQUEST + 1);
	memset(big, 'a', ACME_HTTP01_MAX_REQUEST + 1);
	assert_int_equal(acme_http01_parse(big, ACME_HTTP01_MAX_REQUEST,
	    token), HTTP01_BAD);
	assert_int_equal(acme_http01_parse(big, ACME_HTTP01_MAX_REQUEST + 1,
	    token), HTTP01_BAD);
	free(big);
}

static void
test_key_authorization_and_response(void **state)
{
	char	 ka[512], resp[1024];
	int	 n;

	(void)state;
	assert_int_equal(acme_key_authorization(TOK, THUMB, ka, sizeof(ka)), 0);
	assert_string_equal(ka, TOK "." THUMB);
	assert_int_equal(acme_key_authorization("a/b", THUMB, ka, sizeof(ka)),
	    -1);
	assert_int_equal(acme_key_authorization("", THUMB, ka, sizeof(ka)), -1);
	assert_int_equal(acme_key_authorization(TOK, "short", ka, sizeof(ka)),
	    -1);
	assert_int_equal(acme_key_authorization(TOK, THUMB, ka, 20), -1);
	assert_int_equal(acme_key_authorization(TOK, THUMB, ka, sizeof(ka)), 0);
	n = acme_http01_response(ka, resp, sizeof(resp));
	assert_true(n > 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17), 0);
	assert_non_null(strstr(resp, "\r\nContent-Length: 87\r\n"));
	assert_string_equal(strstr(resp, "\r\n\r\n") + 4, ka);
	n = acme_http01_response(NULL, resp, sizeof(resp));
	assert_string_equal(resp, "HTTP/1.1 404 Not Found\r\nContent-Length: 0"
	    "\r\nConnection: close\r\n\r\n");
	assert_int_equal(n, (int)strlen(resp));
	assert_int_equal(acme_http01_response(ka, resp, 100), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_incomplete_and_other),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_key_authorization_and_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
