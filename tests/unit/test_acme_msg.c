/*
 * test_acme_msg.c - ACME resources as Pebble and RFC 8555 §7.1 write
 * them, and what is refused: missing or non-https URLs, unknown
 * statuses, tokens that are not base64url, oversized lists, duplicate
 * members; problem documents (RFC 7807) and Retry-After.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme_msg.h"

#define S(x)	(x), strlen(x)

/* Pebble 2.4's directory, with EAB required. */
static const char pebble_dir[] =
    "{\n   \"keyChange\": \"https://localhost:14000/rollover-account-key\",\n"
    "   \"meta\": {\n      \"externalAccountRequired\": true,\n"
    "      \"termsOfService\": \"data:text/plain,Do%20what%20thou%20wilt\"\n"
    "   },\n   \"newAccount\": \"https://localhost:14000/sign-me-up\",\n"
    "   \"newNonce\": \"https://localhost:14000/nonce-plz\",\n"
    "   \"newOrder\": \"https://localhost:14000/order-plz\",\n"
    "   \"revokeCert\": \"https://localhost:14000/revoke-cert\"\n}";

static void
test_directory(void **state)
{
	struct acme_directory	 d;
	char			 why[128];

	(void)state;
	assert_int_equal(acme_parse_directory(S(pebble_dir), &d, why,
	    sizeof(why)), 0);
	assert_string_equal(d.new_nonce, "https://localhost:14000/nonce-plz");
	assert_string_equal(d.new_account, "https://localhost:14000/sign-me-up");
	assert_string_equal(d.new_order, "https://localhost:14000/order-plz");
	assert_string_equal(d.revoke_cert,
	    "https://localhost:14000/revoke-cert");
	assert_true(d.eab_required);
	/* A data: terms URL is informational: dropped. */
	assert_string_equal(d.terms_of_service, "");
	assert_int_equal(acme_parse_directory(S("{\"newNonce\":\"https://a/n\","
	    "\"newAccount\":\"https://a/a\",\"newOrder\":\"https://a/o\","
	    "\"revokeCert\":\"https://a/r\"}"), &d, why, sizeof(why)), 0);
	assert_false(d.eab_required);
}

static void
test_directory_refused(void **state)
{
	static const char *bad[] = {
		"", "[]", "{}", "{\"newNonce\":1}",
		/* http, userinfo, spaces, no host. */
		"{\"newNonce\":\"http://a/n\",\"newAccount\":\"https://a/a\","
		"\"newOrder\":\"https://a/o\",\"revokeCert\":\"https://a/r\"}",
		"{\"newNonce\":\"https://u@a/n\",\"newAccount\":\"https://a/a\","
		"\"newOrder\":\"https://a/o\",\"revokeCert\":\"https://a/r\"}",
		"{\"newNonce\":\"https://a/ n\",\"newAccount\":\"https://a/a\","
		"\"newOrder\":\"https://a/o\",\"revokeCert\":\"https://a/r\"}",
		"{\"newNonce\":\"https:///n\",\"newAccount\":\"https://a/a\","
		"\"newOrder\":\"https://a/o\",\"revokeCert\":\"https://a/r\"}",
		/* Duplicates, a meta that is not an object. */
		"{\"newNonce\":\"https://a/n\",\"newNonce\":\"https://b/n\","
		"\"newAccount\":\"https://a/a\",\"newOrder\":\"https://a/o\","
		"\"revokeCert\":\"https://a/r\"}",
		"{\"newNonce\":\"https://a/n\",\"newAccount\":\"https://a/a\","
		"\"newOrder\":\"https://a/o\",\"revokeCert\":\"https://a/r\","
		"\"meta\":[]}",
		"{\"newNonce\":\"https://a/n\",\"newAccount\":\"https://a/a\","
		"\"newOrder\":\"https://a/o\",\"revokeCert\":\"https://a/r\","
		"\"meta\":{\"externalAccountRequired\":\"yes\"}}",
	};
	struct acme_directory	 d;
	char			 why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(acme_parse_directory(S(bad[i]), &d, why,
		    sizeof(why)), -1);
		assert_true(why[0] != '\0');
	}
	assert_int_equal(acme_parse_directory(NULL, 0, &d, why, sizeof(why)),
	    -1);
}

static void
test_order(void **state)
{
	static const char pending[] =
	    "{\"status\":\"pending\",\"expires\":\"2026-12-01T00:00:00Z\","
	    "\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"},"
	    "{\"type\":\"dns\",\"value\":\"b.test\"}],"
	    "\"finalize\":\"https://localhost:14000/finalize-order/X\","
	    "\"authorizations\":[\"https://localhost:14000/authZ/1\","
	    "\"https://localhost:14000/authZ/2\"]}";
	static const char valid[] =
	    "{\"status\":\"valid\",\"finalize\":\"https://a/f\","
	    "\"authorizations\":[\"https://a/z\"],"
	    "\"certificate\":\"https://a/certZ/1\"}";
	static const char invalid[] =
	    "{\"status\":\"invalid\",\"finalize\":\"https://a/f\","
	    "\"authorizations\":[\"https://a/z\"],\"error\":{\"type\":"
	    "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"no\","
	    "\"status\":403}}";
	struct acme_order	 o;
	char			 why[128];

	(void)state;
	assert_int_equal(acme_parse_order(S(pending), &o, why, sizeof(why)), 0);
	assert_int_equal(o.status, ACME_ST_PENDING);
	assert_int_equal(o.nauthz, 2);
	assert_string_equal(o.authz[1], "https://localhost:14000/authZ/2");
	assert_string_equal(o.finalize,
	    "https://localhost:14000/finalize-order/X");
	assert_string_equal(o.certificate, "");
	acme_order_free(&o);
	assert_int_equal(acme_parse_order(S(valid), &o, why, sizeof(why)), 0);
	assert_int_equal(o.status, ACME_ST_VALID);
	assert_string_equal(o.certificate, "https://a/certZ/1");
	acme_order_free(&o);
	assert_int_equal(acme_parse_order(S(invalid), &o, why, sizeof(why)), 0);
	assert_int_equal(o.status, ACME_ST_INVALID);
	assert_true(acme_problem_is(&o.error, "unauthorized"));
	assert_int_equal(o.error.status, 403);
	acme_order_free(&o);
}

static void
test_order_refused(void **state)
{
	static const char *bad[] = {
		/* valid without a certificate URL */
		"{\"status\":\"valid\",\"finalize\":\"https://a/f\","
		"\"authorizations\":[\"https://a/z\"]}",
		"{\"status\":\"done\",\"finalize\":\"https://a/f\","
		"\"authorizations\":[\"https://a/z\"]}",
		"{\"status\":\"pending\",\"finalize\":\"https://a/f\","
		"\"authorizations\":[]}",
		"{\"status\":\"pending\",\"finalize\":\"https://a/f\","
		"\"authorizations\":[\"https://a/z\",7]}",
		"{\"status\":\"pending\",\"authorizations\":[\"https://a/z\"]}",
		"{\"status\":\"pending\",\"finalize\":\"file:///etc/passwd\","
		"\"authorizations\":[\"https://a/z\"]}",
	};
	struct acme_order	 o;
	char			 why[128], *big;
	size_t			 i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(acme_parse_order(S(bad[i]), &o, why,
		    sizeof(why)), -1);
		assert_null(o.authz);
	}
	/* One authorization more than the cap. */
	big = malloc(64 * (ACME_MAX_AUTHZ + 2));
	n = (size_t)sprintf(big, "{\"status\":\"pending\",\"finalize\":"
	    "\"https://a/f\",\"authorizations\":[");
	for (i = 0; i <= ACME_MAX_AUTHZ; i++)
		n += (size_t)sprintf(big + n, "%s\"https://a/z/%zu\"",
		    i ? "," : "", i);
	n += (size_t)sprintf(big + n, "]}");
	assert_int_equal(acme_parse_order(big, n, &o, why, sizeof(why)), -1);
	free(big);
}

static void
test_authz(void **state)
{
	static const char pending[] =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
	    "\"value\":\"app.example.test\"},\"challenges\":["
	    "{\"type\":\"dns-01\",\"url\":\"https://a/chalZ/1\",\"token\":\"t1\","
	    "\"status\":\"pending\"},"
	    "{\"type\":\"http-01\",\"url\":\"https://a/chalZ/2\",\"token\":"
	    "\"hlUdgZySK3_j9WwyowrbdLMyw7o-DMa1ryWxBWyxhz4\",\"status\":"
	    "\"pending\"}],\"expires\":\"2026-12-01T00:00:00Z\"}";
	static const char valid[] =
	    "{\"status\":\"valid\",\"identifier\":{\"type\":\"dns\","
	    "\"value\":\"example.test\"},\"wildcard\":true,\"challenges\":[]}";
	struct acme_authz	 z;
	char			 why[128];

	(void)state;
	assert_int_equal(acme_parse_authz(S(pending), &z, why, sizeof(why)), 0);
	assert_int_equal(z.status, ACME_ST_PENDING);
	assert_string_equal(z.ident, "app.example.test");
	assert_true(z.has_http01);
	assert_string_equal(z.http01_url, "https://a/chalZ/2");
	assert_string_equal(z.http01_token,
	    "hlUdgZySK3_j9WwyowrbdLMyw7o-DMa1ryWxBWyxhz4");
	assert_int_equal(z.http01_status, ACME_ST_PENDING);
	assert_int_equal(acme_parse_authz(S(valid), &z, why, sizeof(why)), 0);
	assert_int_equal(z.status, ACME_ST_VALID);
	assert_true(z.wildcard);
	assert_false(z.has_http01);
}

static void
test_authz_refused(void **state)
{
	static const char *bad[] = {
		/* a token with a path in it: it names a file we serve */
		"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
		"\"value\":\"a.test\"},\"challenges\":[{\"type\":\"http-01\","
		"\"url\":\"https://a/c\",\"token\":\"../../etc\"}]}",
		"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
		"\"value\":\"a.test\"},\"challenges\":[{\"type\":\"http-01\","
		"\"url\":\"https://a/c\"}]}",
		"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
		"\"value\":\"a.test\"},\"challenges\":[{\"type\":\"http-01\","
		"\"url\":\"http://a/c\",\"token\":\"abc\"}]}",
		"{\"status\":\"pending\",\"identifier\":{\"type\":\"email\","
		"\"value\":\"a@b\"}}",
		"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
		"\"value\":\"a test\"}}",
		"{\"status\":\"ready\",\"identifier\":{\"type\":\"dns\","
		"\"value\":\"a.test\"}}",
		"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
		"\"value\":\"a.test\"},\"challenges\":{}}",
	};
	struct acme_authz	 z;
	char			 why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(acme_parse_authz(S(bad[i]), &z, why,
		    sizeof(why)), -1);
}

static void
test_problem_and_account(void **state)
{
	struct acme_problem	 p;
	enum acme_status	 st;
	char			 why[128];

	(void)state;
	acme_parse_problem(S("{\"type\":\"urn:ietf:params:acme:error:"
	    "badNonce\",\"detail\":\"JWS has an invalid anti-replay nonce\","
	    "\"status\":400}"), &p);
	assert_true(acme_problem_is(&p, "badNonce"));
	assert_false(acme_problem_is(&p, "badNonceX"));
	assert_int_equal(p.status, 400);
	/* Control characters in the detail are not passed on. */
	acme_parse_problem(S("{\"type\":\"urn:ietf:params:acme:error:"
	    "unauthorized\",\"detail\":\"line\\nbreak\"}"), &p);
	assert_string_equal(p.detail, "line?break");
	assert_int_equal(p.status, 0);
	/* Not a problem document: no type, a detail that says so. */
	acme_parse_problem(S("<html>502</html>"), &p);
	assert_string_equal(p.type, "");
	assert_non_null(strstr(p.detail, "no problem document"));
	acme_parse_problem(S("{\"type\":7,\"status\":99}"), &p);
	assert_string_equal(p.type, "");
	assert_int_equal(p.status, 0);

	assert_int_equal(acme_parse_account(S("{\"status\":\"valid\","
	    "\"orders\":\"https://a/o\"}"), &st, why, sizeof(why)), 0);
	assert_int_equal(st, ACME_ST_VALID);
	assert_int_equal(acme_parse_account(S("{\"status\":\"pending\"}"), &st,
	    why, sizeof(why)), -1);
}

static void
test_retry_after(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT */
	const time_t	 t0 = 784111777;

	(void)state;
	assert_int_equal(acme_retry_after("3", t0, 60), 3);
	assert_int_equal(acme_retry_after("0", t0, 60), 0);
	assert_int_equal(acme_retry_after("86400", t0, 60), 60);
	assert_int_equal(acme_retry_after("99999999999999999999999", t0, 60),
	    60);
	assert_int_equal(acme_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", t0,
	    60), 10);
	assert_int_equal(acme_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", t0,
	    60), 0);
	assert_int_equal(acme_retry_after("-1", t0, 60), -1);
	assert_int_equal(acme_retry_after("3s", t0, 60), -1);
	assert_int_equal(acme_retry_after("", t0, 60), -1);
	assert_int_equal(acme_retry_after(NULL, t0, 60), -1);
	assert_int_equal(acme_retry_after("Sun, 06 Nov 1994 08:49:47 UTC", t0,
	    60), -1);
}

/* Replay-Nonce and Link values, as they come in headers. */
static void
test_headers(void **state)
{
	char	url[ACME_MAX_URL + 1], big[ACME_MAX_NONCE + 2];

	(void)state;
	assert_true(acme_nonce_ok("oFvnlFP1wIhRlYS2jTaXbA"));
	assert_false(acme_nonce_ok(""));
	assert_false(acme_nonce_ok("abc=="));
	assert_false(acme_nonce_ok("a b"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(acme_nonce_ok(big));
	big[ACME_MAX_NONCE] = '\0';
	assert_true(acme_nonce_ok(big));

	assert_int_equal(acme_link_alternate("<https://ca.example/cert/1/1>;"
	    "rel=\"alternate\"", url), 0);
	assert_string_equal(url, "https://ca.example/cert/1/1");
	assert_int_equal(acme_link_alternate("<https://ca.example/c>; "
	    "title=\"x\"; rel=\"alternate\"", url), 0);
	assert_string_equal(url, "https://ca.example/c");
	assert_int_equal(acme_link_alternate("<https://ca.example/dir>;"
	    "rel=\"index\"", url), -1);
	assert_int_equal(acme_link_alternate("<https://ca.example/c>;"
	    "rel=\"alternates\"", url), -1);
	assert_int_equal(acme_link_alternate("<http://ca.example/c>;"
	    "rel=\"alternate\"", url), -1);
	assert_int_equal(acme_link_alternate("https://ca.example/c;"
	    "rel=\"alternate\"", url), -1);
	assert_int_equal(acme_link_alternate("<https://ca.example/c", url), -1);
	assert_int_equal(acme_link_alternate("<https://u@ca.example/c>;"
	    "rel=\"alternate\"", url), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_directory_refused),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_order_refused),
		cmocka_unit_test(test_authz),
		cmocka_unit_test(test_authz_refused),
		cmocka_unit_test(test_problem_and_account),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
