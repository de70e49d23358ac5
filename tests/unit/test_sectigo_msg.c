/*
 * test_sectigo_msg.c - Sectigo SCM messages: the enroll and revoke
 * bodies, and every class of answer (issued, not ready with each code,
 * credentials, busy, final errors), the collect bundle split in both
 * orders, and the types check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "pem_bundle.h"
#include "sectigo_msg.h"

/* A throwaway CA, a leaf for csr_pem's key, and a CSR for another key. */
static const char leaf_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBGDCBvwIUPFu5pcMz8Z0hPj3JTu5DXkSP0XMwCgYIKoZIzj0EAwIwDzENMAsG\n"
    "A1UEAwwEdC1jYTAeFw0yNjExMzAwNzQ5MDlaFw0zNjExMjcwNzQ5MDlaMA8xDTAL\n"
    "BgNVBAMMBGxlYWYwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARtu4kky0YW4Sw/\n"
    "jEwajkYGRubyIL4VgauD4KbkprLPfMB3nWhCjGofomNnrGF/ld25p5P0Z36lQ15u\n"
    "J4/gbCfQMAoGCCqGSM49BAMCA0gAMEUCIQD0NNISA8rVzDqD9qQlrGCdlQV7s4o1\n"
    "cFgoOddM13d/DwIgfWSA2/cxNV17Fdsw3SzhrtzTEpO/hzXzCFSb8EBGxNM=\n"
    "-----END CERTIFICATE-----\n"
    ;
static const char ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdDCCARmgAwIBAgIUEKGVS6s3eNXML1KoMBnsrGa0LXswCgYIKoZIzj0EAwIw\n"
    "DzENMAsGA1UEAwwEdC1jYTAeFw0yNjExMzAwNzQ5MDlaFw0zNjExMjcwNzQ5MDla\n"
    "MA8xDTALBgNVBAMMBHQtY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATobEeq\n"
    "MqnnjHnw9jE9Lec7pLhU6nHQDcMDyYKEguu2rtNBFaFSrn1J1QY4HiBL0UrW7qWq\n"
    "MIiq+4wlEd1j41hKo1MwUTAdBgNVHQ4EFgQUcOQjYEUOuXfHsrgoZLqbcVc0XzAw\n"
    "HwYDVR0jBBgwFoAUcOQjYEUOuXfHsrgoZLqbcVc0XzAwDwYDVR0TAQH/BAUwAwEB\n"
    "/zAKBggqhkjOPQQDAgNJADBGAiEA5ML+ETPZsWYRm1CMwgA4v1Q5jmtcw8agHw17\n"
    "GtMUxv8CIQCK3myG7cX4ma+LVSpD4kkQ54OjTkL0UmaIBFJrlFlwNw==\n"
    "-----END CERTIFICATE-----\n"
    ;
static const char csr_pem[] =
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIHKMHECAQAwDzENMAsGA1UEAwwEbGVhZjBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
    "A0IABG27iSTLRhbhLD+MTBqORgZG5vIgvhWBq4PgpuSmss98wHedaEKMah+iY2es\n"
    "YX+V3bmnk/RnfqVDXm4nj+BsJ9CgADAKBggqhkjOPQQDAgNJADBGAiEA1BtNOawO\n"
    "28p2g6k3ddGUIoEcCfFy/gaJzR5c7rXZORkCIQCtvytrouKfbSLeLOKfWB9PR6Kr\n"
    "1pAIz4YPRZMCAwQLcA==\n"
    "-----END CERTIFICATE REQUEST-----\n"
    ;
static const char other_csr_pem[] =
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIHLMHICAQAwEDEOMAwGA1UEAwwFb3RoZXIwWTATBgcqhkjOPQIBBggqhkjOPQMB\n"
    "BwNCAASPO5qbG9UiM+DzsMblPTwIAhNlZ5C9HiNU0sertHB8opzn+EzrYIAVAfQm\n"
    "F98uLdIy9MpRkqTnwS1On/WzTfYfoAAwCgYIKoZIzj0EAwIDSQAwRgIhAJuNxQDn\n"
    "52l2MXCMJu5QkPOzZb2jWZDC+WrZ+ZAmZccSAiEA8b+zuZcS0nM6tAeSLDEKJEkX\n"
    "sN0YRn5pH3GFsWyCTFk=\n"
    "-----END CERTIFICATE REQUEST-----\n"
    ;

static void
test_enroll_body(void **state)
{
	struct scm_enroll	 e = { 1234, 423, 365, csr_pem,
				    "[\"dns:a.example.com\",\"ip:192.0.2.1\"]",
				    "hsmagent order 0123", "" };
	char			 why[256] = "";
	char			*s;
	json_t			*j;

	(void)state;
	assert_non_null(s = scm_enroll_body(&e, why, sizeof(why)));
	assert_non_null(j = json_loads(s, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(j, "orgId")), 1234);
	assert_int_equal(json_integer_value(json_object_get(j, "certType")),
	    423);
	assert_int_equal(json_integer_value(json_object_get(j, "term")), 365);
	assert_string_equal(json_string_value(json_object_get(j, "csr")),
	    csr_pem);
	/* One string, comma-separated, not an array. */
	assert_string_equal(json_string_value(json_object_get(j,
	    "subjAltNames")), "a.example.com,192.0.2.1");
	assert_null(json_object_get(j, "externalRequester"));
	json_decref(j);
	free(s);
	e.external_requester = "pki@example.org";
	e.sans_json = "[]";
	assert_non_null(s = scm_enroll_body(&e, why, sizeof(why)));
	assert_non_null(j = json_loads(s, 0, NULL));
	assert_null(json_object_get(j, "subjAltNames"));
	assert_string_equal(json_string_value(json_object_get(j,
	    "externalRequester")), "pki@example.org");
	json_decref(j);
	free(s);
	e.sans_json = "[\"email:a@example.com\"]";
	assert_null(scm_enroll_body(&e, why, sizeof(why)));
	assert_non_null(strstr(why, "DNS names and IP addresses only"));
	e.sans_json = "[\"dns:a,b.example.com\"]";
	assert_null(scm_enroll_body(&e, why, sizeof(why)));
	e.sans_json = "{";
	assert_null(scm_enroll_body(&e, why, sizeof(why)));
	assert_int_equal(scm_cert_type("423"), 423);
	assert_int_equal(scm_cert_type("0423"), 0);
	assert_int_equal(scm_cert_type("server"), 0);
	assert_int_equal(scm_cert_type("99999999999"), 0);
	assert_int_equal(scm_cert_type("2147483648"), 0);
}

static void
test_revoke_body(void **state)
{
	char	 why[256] = "";
	char	*s;

	(void)state;
	assert_non_null(s = scm_revoke_body(4, why, sizeof(why)));
	assert_non_null(strstr(s, "\"reasonCode\":4"));
	assert_non_null(strstr(s, "\"reason\":\"superseded"));
	free(s);
	assert_non_null(s = scm_revoke_body(0, why, sizeof(why)));
	free(s);
	/* Not in SCM's list: refused here rather than by the CA. */
	assert_null(scm_revoke_body(9, why, sizeof(why)));
	assert_non_null(strstr(why, "cessationOfOperation only"));
	assert_null(scm_revoke_body(2, why, sizeof(why)));
}

static void
expect(uint8_t action, long http, const char *body, uint8_t outcome,
    const char *msg)
{
	struct scm_answer a;

	scm_parse(action, http, body, strlen(body), "1001", &a);
	if (a.outcome != outcome)
		fail_msg("HTTP %ld %s: outcome %d, expected %d (%s)", http,
		    body, a.outcome, outcome, a.message);
	if (msg != NULL && strstr(a.message, msg) == NULL)
		fail_msg("HTTP %ld %s: message \"%s\" lacks \"%s\"", http, body,
		    a.message, msg);
}

static void
test_answers(void **state)
{
	struct scm_answer a;
	const char ok[] = "{\"sslId\":55,\"renewId\":\"gu03sW6WENt7GTvDTuOP\","
	    "\"extra\":[1]}";

	(void)state;
	scm_parse(CA_ENROLL, 200, ok, strlen(ok), "", &a);
	assert_int_equal(a.outcome, CA_PENDING);
	assert_string_equal(a.handle, "55");
	assert_string_equal(a.renew_id, "gu03sW6WENt7GTvDTuOP");
	/* A renewId that is not a plain token is not kept. */
	scm_parse(CA_ENROLL, 200, "{\"sslId\":7,\"renewId\":\"a b\"}", 27, "",
	    &a);
	assert_int_equal(a.outcome, CA_PENDING);
	assert_string_equal(a.renew_id, "");
	expect(CA_ENROLL, 200, "{\"sslId\":\"55\"}", CA_RETRY, "no usable");
	expect(CA_ENROLL, 200, "{\"sslId\":0}", CA_RETRY, NULL);
	expect(CA_ENROLL, 200, "<html>", CA_RETRY, "not JSON");
	expect(CA_ENROLL, 400, "{\"code\":-36,\"description\":\"The validity "
	    "period (term) is invalid for this certificate profile.\"}",
	    CA_REJECTED, "-36: The validity period");
	expect(CA_ENROLL, 400, "{\"code\":-39,\"description\":\"x\"}",
	    CA_REJECTED, "-39: x");
	expect(CA_ENROLL, 401, "{\"code\":-16,\"description\":\"Unknown "
	    "user\"}", CA_REJECTED, "refused the credentials (-16: Unknown");
	expect(CA_ENROLL, 429, "", CA_NOT_TAKEN, "HTTP 429");
	expect(CA_ENROLL, 503, "", CA_NOT_TAKEN, NULL);
	expect(CA_ENROLL, 500, "", CA_RETRY, NULL);
	expect(CA_ENROLL, 400, "{\"code\":-195,\"description\":\"CA is not "
	    "available now.\"}", CA_NOT_TAKEN, "-195");
	/* Collect: each "not ready" code, on 400 and 404, stays pending. */
	expect(CA_LOOKUP, 400, "{\"code\":0,\"description\":\"Being processed "
	    "by Sectigo\"}", CA_PENDING, "sslId 1001 not ready: 0: Being");
	expect(CA_LOOKUP, 400, "{\"code\":-183,\"description\":\"d\"}",
	    CA_PENDING, "-183");
	expect(CA_LOOKUP, 404, "{\"code\":-1400,\"description\":\"d\"}",
	    CA_PENDING, "-1400");
	expect(CA_LOOKUP, 400, "{\"code\":-109,\"description\":\"d\"}",
	    CA_PENDING, "-109");
	expect(CA_LOOKUP, 404, "{\"code\":-195,\"description\":\"d\"}",
	    CA_PENDING, "-195");
	scm_parse(CA_LOOKUP, 400, "{\"code\":0}", 10, "1001", &a);
	assert_string_equal(a.handle, "1001");
	/* The same code with another status, or other codes: not pending. */
	expect(CA_LOOKUP, 500, "{\"code\":0,\"description\":\"d\"}", CA_RETRY,
	    NULL);
	expect(CA_LOOKUP, 400, "{\"code\":-130,\"description\":\"SSL state is "
	    "not 'ISSUED': Rejected\"}", CA_REJECTED, "-130: SSL state");
	expect(CA_LOOKUP, 400, "{\"code\":-110,\"description\":\"d\"}",
	    CA_REJECTED, "-110");
	expect(CA_LOOKUP, 404, "", CA_REJECTED, "HTTP 404 from Sectigo");
	expect(CA_LOOKUP, 400, "{\"code\":\"0\",\"description\":\"d\"}",
	    CA_REJECTED, NULL);
	/* Credentials on a poll: the order waits for the operator. */
	expect(CA_LOOKUP, 401, "{\"code\":-16,\"description\":\"Unknown "
	    "user\"}", CA_RETRY, "refused the credentials");
	expect(CA_LOOKUP, 200, "-----BEGIN", CA_ISSUED, NULL);
	/* Revoke: 204; already revoked is the wanted state. */
	expect(CA_REVOKE, 204, "", CA_REVOKED, NULL);
	expect(CA_REVOKE, 400, "{\"code\":-159,\"description\":\"Your "
	    "certificate already revoked\"}", CA_REVOKED, NULL);
	expect(CA_REVOKE, 400, "{\"code\":-124,\"description\":\"Wrong SSL "
	    "certificate id 7.\"}", CA_REJECTED, "-124: Wrong SSL");
	expect(CA_REVOKE, 400, "{\"code\":-102,\"description\":\"d\"}",
	    CA_REJECTED, "-102");
	expect(CA_REVOKE, 502, "", CA_RETRY, NULL);
	expect(CA_VALIDATE, 401, "{\"code\":-16,\"description\":\"Unknown "
	    "user\"}", CA_REJECTED, "refused the credentials (-16");
	/* Control characters in a description do not reach the caller. */
	expect(CA_ENROLL, 400, "{\"code\":-7,\"description\":\"a\\u001b[31mb"
	    "\"}", CA_REJECTED, "-7: a");
	scm_parse(CA_ENROLL, 400, "{\"code\":-7,\"description\":\"a\\u001bb\"}",
	    35, "", &a);
	assert_null(strchr(a.message, 0x1b));
}

static char *
concat(const char *a, const char *b)
{
	char *s = malloc(strlen(a) + strlen(b) + 1);

	assert_non_null(s);
	strcpy(s, a);
	strcat(s, b);
	return s;
}

static void
test_split_bundle(void **state)
{
	char	 why[256] = "";
	char	*cert, *chain, *both;

	(void)state;
	/* x509: leaf, then chain. */
	both = concat(leaf_pem, ca_pem);
	assert_int_equal(pem_bundle_split(both, strlen(both), csr_pem, &cert,
	    &chain, why, sizeof(why)), 0);
	assert_string_equal(cert, leaf_pem);
	assert_string_equal(chain, ca_pem);
	free(cert);
	free(chain);
	free(both);
	/* x509R: chain, then leaf; the chain comes out issuer first. */
	both = concat(ca_pem, leaf_pem);
	assert_int_equal(pem_bundle_split(both, strlen(both), csr_pem, &cert,
	    &chain, why, sizeof(why)), 0);
	assert_string_equal(cert, leaf_pem);
	assert_string_equal(chain, ca_pem);
	free(cert);
	free(chain);
	/* Not for this CSR's key. */
	assert_int_equal(pem_bundle_split(both, strlen(both), other_csr_pem,
	    &cert, &chain, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no certificate for the CSR's key"));
	assert_null(cert);
	free(both);
	/* Leaf only. */
	assert_int_equal(pem_bundle_split(leaf_pem, strlen(leaf_pem), csr_pem,
	    &cert, &chain, why, sizeof(why)), 0);
	assert_string_equal(chain, "");
	free(cert);
	free(chain);
	/* No certificate at all, or PKCS#7 (format=base64). */
	why[0] = '\0';
	assert_int_equal(pem_bundle_split("-----BEGIN PKCS7-----\nAAAA\n"
	    "-----END PKCS7-----\n", 44, csr_pem, &cert, &chain, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "no certificate"));
	/* More than the cap. */
	both = strdup("");
	for (int i = 0; i <= PEM_BUNDLE_MAX_CERTS; i++) {
		char *t = concat(both, ca_pem);

		free(both);
		both = t;
	}
	why[0] = '\0';
	assert_int_equal(pem_bundle_split(both, strlen(both), csr_pem, &cert,
	    &chain, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "more than"));
	free(both);
}

static void
test_types(void **state)
{
	const char	body[] = "[{\"id\":423,\"name\":\"OV\",\"terms\":[365,730]},"
	    "{\"id\":\"424\",\"terms\":[365]},{\"name\":\"x\"}]";
	char		why[256];

	(void)state;
	assert_int_equal(scm_check_types(body, strlen(body), 423, 730, why,
	    sizeof(why)), 0);
	assert_int_equal(scm_check_types(body, strlen(body), 423, 90, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "does not allow a term of 90 days"));
	/* An id given as a string is not the number. */
	assert_int_equal(scm_check_types(body, strlen(body), 424, 365, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "offers no certificate type 424"));
	assert_int_equal(scm_check_types(body, strlen(body), 0, 365, why,
	    sizeof(why)), 0);
	assert_int_equal(scm_check_types("{}", 2, 0, 365, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "not a JSON array"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enroll_body),
		cmocka_unit_test(test_revoke_body),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_split_bundle),
		cmocka_unit_test(test_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
