/*
 * test_api_request.c - the local API request parser: what each
 * operation accepts, and the malformed, oversized and hostile lines it
 * must refuse with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api_request.h"

static void
ok(const char *line, struct api_request *r)
{
	char err[512] = "";

	if (api_request_parse(line, strlen(line), r, err, sizeof(err)) != 0)
		fail_msg("refused %s: %s", line, err);
}

static void
bad(const char *line, size_t len, const char *needle)
{
	struct api_request	r;
	char			err[512] = "";

	if (api_request_parse(line, len, &r, err, sizeof(err)) == 0)
		fail_msg("accepted %.120s", line);
	if (strstr(err, needle) == NULL)
		fail_msg("message for %.80s is \"%s\", lacks \"%s\"", line, err,
		    needle);
}

#define BAD(line, needle)	bad(line, strlen(line), needle)

static void
test_accepts(void **state)
{
	struct api_request r;

	(void)state;
	ok("{\"op\":\"enroll\",\"connector\":\"entrust\",\"profile\":"
	    "\"server-tls\",\"csr\":\"PEM\",\"sans\":[\"dns:A.example.com\","
	    "\"ip:10.0.0.1\"],\"validity_days\":90,\"wait\":true}", &r);
	assert_int_equal(r.op, OP_ENROLL);
	assert_string_equal(r.connector, "entrust");
	assert_string_equal(r.profile, "server-tls");
	assert_string_equal(r.csr, "PEM");
	assert_int_equal(r.nsans, 2);
	assert_int_equal(r.sans[0].type, SAN_DNS);
	assert_string_equal(r.sans[0].value, "a.example.com");
	assert_int_equal(r.sans[1].type, SAN_IP);
	assert_int_equal(r.validity_days, 90);
	assert_int_equal(r.wait, 1);
	api_request_free(&r);

	ok("{\"op\":\"revoke\",\"serial\":\"0a1b\",\"reason\":"
	    "\"keyCompromise\"}", &r);
	assert_int_equal(r.op, OP_REVOKE);
	assert_string_equal(r.serial, "0a1b");
	assert_int_equal(r.reason, 1);
	api_request_free(&r);

	ok("{\"op\":\"list\",\"all\":true}", &r);
	assert_int_equal(r.all, 1);
	ok("{\"op\":\"approve\",\"order\":\"0123456789abcdef\"}", &r);
	assert_string_equal(r.order, "0123456789abcdef");
	ok("{\"op\":\"health\"}", &r);
	assert_int_equal(r.op, OP_HEALTH);

	/* Tracking: a new enrollment, or an order the caller has. */
	ok("{\"op\":\"track\",\"name\":\"web.example-1\",\"connector\":"
	    "\"entrust\",\"profile\":\"tls\",\"csr\":\"PEM\",\"validity_days\":"
	    "30}", &r);
	assert_int_equal(r.op, OP_TRACK);
	assert_string_equal(r.name, "web.example-1");
	assert_int_equal(r.validity_days, 30);
	api_request_free(&r);
	ok("{\"op\":\"track\",\"name\":\"web\",\"order\":"
	    "\"0123456789abcdef\"}", &r);
	assert_string_equal(r.order, "0123456789abcdef");
	assert_null(r.csr);
	ok("{\"op\":\"fetch\",\"name\":\"web\"}", &r);
	assert_int_equal(r.op, OP_FETCH);
	ok("{\"op\":\"untrack\",\"name\":\"web\"}", &r);
	assert_int_equal(r.op, OP_UNTRACK);
	ok("{\"op\":\"tracked\",\"all\":true}", &r);
	assert_int_equal(r.op, OP_TRACKED);
	assert_int_equal(r.all, 1);

	/* The gateway credential: EC P-256 unless RSA is asked for. */
	ok("{\"op\":\"credential_new\"}", &r);
	assert_string_equal(r.role, "tls");
	api_request_free(&r);
	ok("{\"op\":\"credential_new\",\"role\":\"checkpoint\"}", &r);
	assert_string_equal(r.role, "checkpoint");
	assert_string_equal(r.key_type, "ec");
	assert_int_equal(r.op, OP_CREDENTIAL_NEW);
	assert_string_equal(r.key_type, "ec");
	assert_int_equal(r.bits, 256);
	ok("{\"op\":\"credential_new\",\"key_type\":\"rsa\",\"bits\":4096,"
	    "\"subject\":\"gw.example.com\"}", &r);
	assert_string_equal(r.key_type, "rsa");
	assert_int_equal(r.bits, 4096);
	assert_string_equal(r.subject, "gw.example.com");
	ok("{\"op\":\"credential_retire\",\"key_id\":\"0a1b\"}", &r);
	assert_string_equal(r.key_id, "0a1b");
	ok("{\"op\":\"credential_retire\"}", &r);
	assert_string_equal(r.key_id, "");

	/* A retried submission (the certmonger helper's) may reuse an order. */
	ok("{\"op\":\"enroll\",\"connector\":\"entrust\",\"profile\":"
	    "\"tls\",\"csr\":\"PEM\",\"wait\":true,\"reuse_pending\":true}",
	    &r);
	assert_int_equal(r.reuse_pending, 1);
	api_request_free(&r);
	ok("{\"op\":\"enroll\",\"connector\":\"entrust\",\"profile\":"
	    "\"tls\",\"csr\":\"PEM\"}", &r);
	assert_int_equal(r.reuse_pending, 0);
	api_request_free(&r);
	ok("{\"op\":\"ca_chain\",\"connector\":\"entrust\"}", &r);
	assert_int_equal(r.op, OP_CA_CHAIN);
	assert_string_equal(r.connector, "entrust");
}

static void
test_refuses_structure(void **state)
{
	static char big[API_MAX_LINE + 2];
	char deep[4096];
	size_t i;

	(void)state;
	BAD("", "not a JSON object");
	BAD("[1,2]", "JSON object");
	BAD("{\"op\":\"health\"} x", "not a JSON object");
	BAD("{\"op\":5}", "\"op\"");
	BAD("{}", "\"op\"");
	BAD("{\"op\":\"shutdown\"}", "unknown op");
	/* The list of operations comes from the table: every one, in it. */
	BAD("{\"op\":\"shutdown\"}", "expected enroll, status, list, "
	    "revoke, approve, reject, health, metrics, version, track, "
	    "untrack, fetch, tracked, credential_new, credential_retire, "
	    "ca_chain, offers, renew or receipt");
	for (int op = OP_ENROLL; op <= OP_LAST; op++)
		assert_string_not_equal(api_op_name((enum api_op)op), "?");
	BAD("{\"op\":\"health\",\"uid\":0}", "unknown member \"uid\"");
	BAD("{\"op\":\"health\",\"op\":\"version\"}", "not a JSON object");
	/* Invalid UTF-8 inside a string. */
	BAD("{\"op\":\"he\xc3\x28lth\"}", "not a JSON object");
	/* Deep nesting never reaches the operation. */
	i = 0;
	i += (size_t)snprintf(deep, sizeof(deep), "{\"op\":\"health\",\"x\":");
	while (i < 3000)
		deep[i++] = '[';
	deep[i] = '\0';
	bad(deep, strlen(deep), "not a JSON object");
	/* Over the line cap: refused before parsing. */
	memset(big, ' ', sizeof(big));
	bad(big, sizeof(big), "longer than");
}

static void
test_refuses_values(void **state)
{
	(void)state;
	/* A tracked name is a file name too: no paths, no dot first. */
	BAD("{\"op\":\"fetch\",\"name\":\"../etc\"}", "[a-z0-9][a-z0-9._-]*");
	BAD("{\"op\":\"fetch\",\"name\":\".hidden\"}", "\"name\" must be");
	BAD("{\"op\":\"fetch\",\"name\":\"Web\"}", "\"name\" must be");
	BAD("{\"op\":\"fetch\"}", "\"name\" is required");
	BAD("{\"op\":\"track\",\"name\":\"w\",\"order\":\"0123456789abcdef\","
	    "\"profile\":\"p\"}", "not both");
	BAD("{\"op\":\"track\",\"name\":\"w\",\"profile\":\"p\",\"csr\":"
	    "\"x\"}", "\"connector\" is required");
	BAD("{\"op\":\"untrack\",\"name\":\"w\",\"all\":true}",
	    "unknown member");
	BAD("{\"op\":\"credential_new\",\"key_type\":\"dsa\"}", "ec or rsa");
	BAD("{\"op\":\"credential_new\",\"role\":\"acme\"}",
	    "tls or checkpoint");
	BAD("{\"op\":\"credential_new\",\"role\":\"checkpoint\","
	    "\"key_type\":\"rsa\"}", "EC P-256");
	BAD("{\"op\":\"credential_new\",\"role\":\"checkpoint\","
	    "\"subject\":\"x\"}", "no subject");
	BAD("{\"op\":\"credential_new\",\"bits\":2048}", "is for rsa");
	BAD("{\"op\":\"credential_new\",\"key_type\":\"rsa\",\"bits\":1024}",
	    "2048, 3072 or 4096");
	BAD("{\"op\":\"credential_retire\",\"key_id\":\"0A\"}", "lowercase hex");
	BAD("{\"op\":\"credential_retire\",\"key_id\":\"abc\"}", "lowercase hex");
	BAD("{\"op\":\"enroll\",\"profile\":\"p\",\"csr\":\"x\"}",
	    "\"connector\" is required");
	BAD("{\"op\":\"enroll\",\"connector\":\"Entrust\",\"profile\":\"p\","
	    "\"csr\":\"x\"}", "[a-z0-9_-]");
	BAD("{\"op\":\"enroll\",\"connector\":\"e\",\"profile\":\"p\"}",
	    "\"csr\"");
	BAD("{\"op\":\"enroll\",\"connector\":\"e\",\"profile\":\"p\","
	    "\"csr\":\"x\",\"sans\":[]}", "\"sans\" must be");
	BAD("{\"op\":\"enroll\",\"connector\":\"e\",\"profile\":\"p\","
	    "\"csr\":\"x\",\"sans\":[\"host.example.com\"]}", "\"sans\"[0]");
	BAD("{\"op\":\"enroll\",\"connector\":\"e\",\"profile\":\"p\","
	    "\"csr\":\"x\",\"sans\":[\"dns:a.example.com.\"]}", "\"sans\"[0]");
	BAD("{\"op\":\"enroll\",\"connector\":\"e\",\"profile\":\"p\","
	    "\"csr\":\"x\",\"validity_days\":0}", "validity_days");
	BAD("{\"op\":\"enroll\",\"connector\":\"e\",\"profile\":\"p\","
	    "\"csr\":\"x\",\"validity_days\":1.5}", "validity_days");
	BAD("{\"op\":\"enroll\",\"connector\":\"e\",\"profile\":\"p\","
	    "\"csr\":\"x\",\"wait\":1}", "\"wait\"");
	BAD("{\"op\":\"enroll\",\"connector\":\"e\",\"profile\":\"p\","
	    "\"csr\":\"x\",\"reuse_pending\":\"yes\"}", "\"reuse_pending\"");
	BAD("{\"op\":\"track\",\"name\":\"w\",\"connector\":\"e\","
	    "\"profile\":\"p\",\"csr\":\"x\",\"reuse_pending\":true}",
	    "unknown member");
	BAD("{\"op\":\"ca_chain\"}", "\"connector\" is required");
	BAD("{\"op\":\"ca_chain\",\"connector\":\"../x\"}", "[a-z0-9_-]");
	BAD("{\"op\":\"ca_chain\",\"connector\":\"e\",\"profile\":\"p\"}",
	    "unknown member");
	BAD("{\"op\":\"status\",\"order\":\"0123\"}", "16 lowercase hex");
	BAD("{\"op\":\"status\",\"order\":\"0123456789ABCDEF\"}",
	    "16 lowercase hex");
	BAD("{\"op\":\"status\"}", "\"order\" is required");
	BAD("{\"op\":\"revoke\"}", "exactly one");
	BAD("{\"op\":\"revoke\",\"order\":\"0123456789abcdef\",\"serial\":"
	    "\"01\"}", "exactly one");
	BAD("{\"op\":\"revoke\",\"serial\":\"0x01\"}", "lowercase hex");
	BAD("{\"op\":\"revoke\",\"serial\":\"01\",\"reason\":\"cACompromise\"}",
	    "\"reason\"");
	/* jansson refuses an escaped NUL before we look at the member. */
	BAD("{\"op\":\"reject\",\"order\":\"0123456789abcdef\",\"comment\":"
	    "\"a\\u0000b\"}", "not a JSON object");
	BAD("{\"op\":\"reject\",\"order\":\"0123456789abcdef\",\"comment\":"
	    "\"tab\\there\"}", "printable");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses_structure),
		cmocka_unit_test(test_refuses_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
