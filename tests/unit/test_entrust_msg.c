/*
 * test_entrust_msg.c - Entrust CA Gateway messages: the enrollment and
 * revocation bodies we send, and how every kind of answer maps to an
 * outcome (issued, pending, rejected with the gateway's code, retry).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "entrust_msg.h"

static const char csr_pem[] =
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "QUJD\n"
    "REVG\n"
    "-----END CERTIFICATE REQUEST-----\n";

static void
test_enroll_body(void **state)
{
	char	*s;
	json_t	*j, *sans;

	(void)state;
	s = cagw_enroll_body("server-tls", csr_pem,
	    "[\"dns:a.example.com\",\"ip:10.0.0.1\",\"email:o@example.com\"]",
	    90);
	assert_non_null(s);
	assert_non_null(j = json_loads(s, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(j,
	    "profileId")), "server-tls");
	/* base64 DER on one line: the PEM's lines joined, no armour. */
	assert_string_equal(json_string_value(json_object_get(j, "csr")),
	    "QUJDREVG");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "requiredFormat"), "format")), "X509");
	sans = json_object_get(j, "subjectAltNames");
	assert_int_equal(json_array_size(sans), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    sans, 0), "type")), "dNSName");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    sans, 1), "type")), "iPAddress");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    sans, 2), "type")), "rfc822Name");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "optionalCertificateRequestDetails"), "validityPeriod")), "P90D");
	json_decref(j);
	free(s);
	/* No validity: no optional details. */
	s = cagw_enroll_body("p", csr_pem, "[]", 0);
	assert_null(strstr(s, "optionalCertificateRequestDetails"));
	free(s);
	assert_null(cagw_enroll_body("p", "not pem", "[]", 0));
	assert_null(cagw_enroll_body("p", csr_pem, "[\"uri:x\"]", 0));
}

static void
test_revoke_body(void **state)
{
	char	*s = cagw_revoke_body(1, "lost");
	json_t	*j = json_loads(s, 0, NULL), *a = json_object_get(j, "action");

	(void)state;
	assert_string_equal(json_string_value(json_object_get(a, "type")),
	    "RevokeAction");
	assert_string_equal(json_string_value(json_object_get(a, "reason")),
	    "keyCompromise");
	assert_true(json_is_true(json_object_get(a,
	    "succeedIfAlreadyInRequestedState")));
	json_decref(j);
	free(s);
	assert_string_equal(cagw_reason_name(0), "unspecified");
	assert_string_equal(cagw_reason_name(5), "cessationOfOperation");
	assert_string_equal(cagw_reason_name(9), "privilegeWithdrawn");
}

struct row {
	const char	*what;
	uint8_t		 action;
	long		 http;
	const char	*body;
	uint8_t		 outcome;
	const char	*handle;
	const char	*needle;	/* in the message, or NULL */
};

static const struct row rows[] = {
	{ "issued with chain", CA_ENROLL, 200, "{\"type\":\"x\",\"unknown\":1,"
	    "\"enrollment\":{\"id\":\"e1\",\"status\":\"ISSUED\",\"body\":"
	    "\"QUFBQQ==\",\"chain\":[{\"certificateData\":\"QkJCQg==\"}]}}",
	    CA_ISSUED, "e1", NULL },
	{ "issued, status omitted", CA_ENROLL, 200, "{\"enrollment\":{\"id\":"
	    "\"e2\",\"body\":\"QUFBQQ==\"}}", CA_ISSUED, "e2", NULL },
	{ "201 pending", CA_ENROLL, 201, "{\"enrollment\":{\"id\":\"e3\","
	    "\"status\":\"PENDING\"}}", CA_PENDING, "e3", "e3 is PENDING" },
	{ "pending without body", CA_ENROLL, 200, "{\"enrollment\":{\"id\":"
	    "\"e4\",\"status\":\"AWAITING_APPROVAL\"}}", CA_PENDING, "e4", NULL },
	{ "pending without id", CA_ENROLL, 201, "{\"enrollment\":{\"status\":"
	    "\"PENDING\"}}", CA_REJECTED, "", "without a usable enrollment id" },
	{ "pending id with a slash", CA_ENROLL, 201, "{\"enrollment\":{\"id\":"
	    "\"../x\",\"status\":\"PENDING\"}}", CA_REJECTED, "", NULL },
	{ "poll: rejected", CA_LOOKUP, 200, "{\"enrollment\":{\"id\":\"e5\","
	    "\"status\":\"REJECTED\"}}", CA_REJECTED, "e5", "e5 was REJECTED" },
	{ "error response with code", CA_ENROLL, 404, "{\"type\":"
	    "\"ErrorResponse\",\"error\":{\"code\":\"cagw-4018\",\"message\":"
	    "\"CA with specified name not found\"}}", CA_REJECTED, "",
	    "cagw-4018: CA with specified name not found" },
	{ "400 without a body", CA_ENROLL, 400, "", CA_REJECTED, "",
	    "HTTP 400" },
	{ "429 on enroll: not taken", CA_ENROLL, 429, "{}", CA_NOT_TAKEN, "",
	    NULL },
	{ "503 on enroll: not taken", CA_ENROLL, 503, "", CA_NOT_TAKEN, "",
	    NULL },
	{ "500 on enroll: unknown", CA_ENROLL, 500, "", CA_RETRY, "", NULL },
	{ "503 with error", CA_LOOKUP, 503, "{\"error\":{\"code\":\"x\","
	    "\"message\":\"busy\"}}", CA_RETRY, "", "x: busy" },
	{ "2xx not JSON", CA_ENROLL, 200, "<html>", CA_RETRY, "", "not JSON" },
	{ "2xx ErrorResponse", CA_ENROLL, 200, "{\"type\":\"ErrorResponse\","
	    "\"error\":{\"code\":\"cagw-1\",\"message\":\"m\"}}", CA_REJECTED,
	    "", "cagw-1: m" },
	{ "body not base64", CA_ENROLL, 200, "{\"enrollment\":{\"id\":\"e6\","
	    "\"body\":\"not base64!\"}}", CA_REJECTED, "e6", "not base64 DER" },
	{ "no enrollment", CA_ENROLL, 200, "{\"type\":\"x\"}", CA_RETRY, "",
	    NULL },
	{ "3xx", CA_ENROLL, 302, "", CA_REJECTED, "", NULL },
	{ "revoke completed", CA_REVOKE, 200, "{\"type\":\"ActionResponse\","
	    "\"action\":{\"status\":\"COMPLETED\"}}", CA_REVOKED, "", NULL },
	{ "revoke accepted", CA_REVOKE, 202, "{\"action\":{\"status\":"
	    "\"ACCEPTED\"}}", CA_REVOKED, "", NULL },
	{ "revoke rejected", CA_REVOKE, 200, "{\"action\":{\"status\":"
	    "\"REJECTED\"}}", CA_REJECTED, "", "REJECTED" },
	{ "revoke lowercase status", CA_REVOKE, 200, "{\"action\":{\"status\":"
	    "\"completed\"}}", CA_REJECTED, "", NULL },
	{ "validate: profiles listed", CA_VALIDATE, 200, "{\"type\":"
	    "\"ProfilesResponse\",\"profiles\":[{\"id\":\"p1\"}]}", CA_VALID, "",
	    NULL },
	{ "validate: unknown CA", CA_VALIDATE, 404, "{\"type\":\"ErrorResponse\","
	    "\"error\":{\"code\":\"cagw-4018\",\"message\":\"CA with specified "
	    "name not found\"}}", CA_REJECTED, "", "cagw-4018" },
	{ "validate: no profile list", CA_VALIDATE, 200, "{}", CA_REJECTED, "",
	    NULL },
};

static void
test_answers(void **state)
{
	struct cagw_answer a;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		cagw_parse(r->action, r->http, r->body, strlen(r->body), &a);
		if (a.outcome != r->outcome)
			fail_msg("%s: outcome %d, expected %d (%s)", r->what,
			    a.outcome, r->outcome, a.message);
		if (strcmp(a.handle, r->handle) != 0)
			fail_msg("%s: handle \"%s\"", r->what, a.handle);
		if (r->needle != NULL && strstr(a.message, r->needle) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", r->what,
			    a.message, r->needle);
		if (r->outcome == CA_ISSUED) {
			assert_non_null(strstr(a.cert,
			    "-----BEGIN CERTIFICATE-----\nQUFBQQ==\n"));
			assert_non_null(a.chain);
		} else
			assert_null(a.cert);
		free(a.cert);
		free(a.chain);
	}
}

static void
test_issued_chain(void **state)
{
	struct cagw_answer	a;
	const char		body[] = "{\"enrollment\":{\"id\":\"e\",\"body\":"
	    "\"QUFBQQ==\",\"chain\":[{\"certificateData\":\"QkJCQg==\"},"
	    "{\"certificateData\":\"Q0NDQw==\"},{\"certificateData\":5}]}}";

	(void)state;
	cagw_parse(CA_ENROLL, 200, body, strlen(body), &a);
	assert_int_equal(a.outcome, CA_ISSUED);
	assert_non_null(strstr(a.chain, "QkJCQg=="));
	assert_non_null(strstr(a.chain, "Q0NDQw=="));
	free(a.cert);
	free(a.chain);
}

/* The CA resource: its certificate first, the chain after, no repeats. */
static void
test_ca_chain(void **state)
{
	const char	 full[] = "{\"type\":\"CAResponse\",\"ca\":{\"id\":"
	    "\"x\",\"certificate\":{\"certificateData\":\"QUFBQQ==\"},"
	    "\"chain\":[{\"certificateData\":\"QUFBQQ==\"},{\"certificate"
	    "Data\":\"QkJCQg==\"},{\"certificateData\":\"not base64!\"}]}}";
	const char	 bare[] = "{\"ca\":{\"id\":\"x\",\"name\":\"y\"}}";
	const char	 bad[] = "{\"ca\":{\"certificate\":{\"certificateData\":"
	    "\"QUF\"}}}";
	char		*pem, *a;

	(void)state;
	pem = cagw_ca_chain(full, strlen(full));
	assert_non_null(pem);
	a = strstr(pem, "QUFBQQ==");
	assert_non_null(a);
	assert_null(strstr(a + 1, "QUFBQQ=="));
	assert_true(strstr(pem, "QkJCQg==") > a);
	assert_null(strstr(pem, "not"));
	free(pem);
	assert_null(cagw_ca_chain(bare, strlen(bare)));
	assert_null(cagw_ca_chain(bad, strlen(bad)));
	assert_null(cagw_ca_chain("{", 1));
	assert_null(cagw_ca_chain("", 0));
}

static void
test_has_profile(void **state)
{
	const char body[] = "{\"profiles\":[{\"id\":\"a\"},{\"id\":\"b\"},"
	    "{\"name\":\"c\"}]}";

	(void)state;
	assert_int_equal(cagw_has_profile(body, strlen(body), "b"), 1);
	assert_int_equal(cagw_has_profile(body, strlen(body), "c"), 0);
	assert_int_equal(cagw_has_profile("[", 1, "a"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enroll_body),
		cmocka_unit_test(test_revoke_body),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_issued_chain),
		cmocka_unit_test(test_has_profile),
		cmocka_unit_test(test_ca_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
