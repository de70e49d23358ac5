/*
 * test_acme_sign_policy.c - which JWS signing inputs the parent signs
 * with the ACME account key, and which EAB inputs it MACs: requests the
 * connector builds are granted; anything naming another server, another
 * key, another algorithm, no nonce, or carrying members we never send,
 * is refused, with the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "acme_jws.h"
#include "acme_sign_policy.h"
#include "b64url.h"
#include "ipc.h"

#define SRV	"https://ca.test:14000/"

static EVP_PKEY	*key, *other;
static char	*jwk, *other_jwk;
static struct acme_sign_rules rules;

static int
setup(void **state)
{
	(void)state;
	key = EVP_EC_gen("prime256v1");
	other = EVP_EC_gen("prime256v1");
	jwk = acme_jwk(key);
	other_jwk = acme_jwk(other);
	memset(&rules, 0, sizeof(rules));
	rules.prefix[0] = SRV;
	rules.nprefix = 1;
	rules.alg = "ES256";
	rules.account_jwk = jwk;
	rules.eab_kid = "kid-1";
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(jwk);
	free(other_jwk);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	return 0;
}

/* b64url(hdr) "." b64url(payload), in a static buffer. */
static const char *
mk(const char *hdr, const char *payload)
{
	static char	 buf[8192];
	char		 a[4096], b[4096];

	b64url_encode((const uint8_t *)hdr, strlen(hdr), a, sizeof(a));
	b64url_encode((const uint8_t *)payload, strlen(payload), b, sizeof(b));
	snprintf(buf, sizeof(buf), "%s.%s", a, b);
	return buf;
}

static enum acme_sign_verdict
check(const char *input)
{
	return acme_sign_check(&rules, input, strlen(input));
}

static enum acme_sign_verdict
check_hdr(const char *hdr)
{
	return check(mk(hdr, "{}"));
}

static enum acme_sign_verdict
check_built(const char *alg, const char *k, const char *kid,
    const char *nonce, const char *url)
{
	struct acme_jws		 j;
	enum acme_sign_verdict	 v;

	assert_int_equal(acme_jws_init(&j, alg, k, kid, nonce, url, "{}", 2),
	    0);
	v = check(j.signing_input);
	acme_jws_free(&j);
	return v;
}

static void
test_granted(void **state)
{
	(void)state;
	assert_int_equal(check_built("ES256", jwk, NULL, "abc-_123",
	    SRV "sign-me-up"), ACME_SIGN_OK);
	assert_int_equal(check_built("ES256", NULL, SRV "my-account/1", "n",
	    SRV "order-plz"), ACME_SIGN_OK);
	/* POST-as-GET: empty payload. */
	assert_int_equal(check(mk("{\"alg\":\"ES256\",\"kid\":\"" SRV
	    "acct/1\",\"nonce\":\"n\",\"url\":\"" SRV "authz/1\"}", "")),
	    ACME_SIGN_OK);
	/* A second prefix (a CA with its API on another origin). */
	rules.prefix[1] = "https://api.ca.test/acme/";
	rules.nprefix = 2;
	assert_int_equal(check_built("ES256", NULL, SRV "acct/1", "n",
	    "https://api.ca.test/acme/order/2"), ACME_SIGN_OK);
	rules.nprefix = 1;
}

static void
test_url(void **state)
{
	static const char *bad[] = {
		"https://ca.test.evil:14000/x", "https://ca.test:14001/x",
		"http://ca.test:14000/x", "https://evil/ca.test:14000/",
		"https://ca.test:14000", "https://ca.test:14000/a/../b",
		"https://ca.test:14000/%2e%2e/x", "https://ca.test:14000/a b",
		"https://ca.test:14000/a\\b", "https://ca.test:14000/a#b",
	};
	char	 hdr[512];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"" SRV
		    "acct/1\",\"nonce\":\"n\",\"url\":\"%s\"}", bad[i]);
		assert_int_equal(check_hdr(hdr), ACME_SIGN_DENY_URL);
	}
	/* A url that is not a string, a control character, none. */
	assert_int_equal(check_hdr("{\"alg\":\"ES256\",\"kid\":\"" SRV
	    "a\",\"nonce\":\"n\",\"url\":1}"), ACME_SIGN_DENY_URL);
	assert_int_equal(check_hdr("{\"alg\":\"ES256\",\"kid\":\"" SRV
	    "a\",\"nonce\":\"n\",\"url\":\"" SRV "x\\n\"}"), ACME_SIGN_DENY_URL);
	assert_int_equal(check_hdr("{\"alg\":\"ES256\",\"kid\":\"" SRV
	    "a\",\"nonce\":\"n\"}"), ACME_SIGN_DENY_URL);
	/* The kid is an account URL at the same server. */
	assert_int_equal(check_built("ES256", NULL, "https://evil/acct/1", "n",
	    SRV "x"), ACME_SIGN_DENY_URL);
}

static void
test_alg_nonce_key(void **state)
{
	(void)state;
	assert_int_equal(check_built("RS256", jwk, NULL, "n", SRV "x"),
	    ACME_SIGN_DENY_ALG);
	assert_int_equal(check_hdr("{\"alg\":\"none\",\"kid\":\"" SRV
	    "a\",\"nonce\":\"n\",\"url\":\"" SRV "x\"}"), ACME_SIGN_DENY_ALG);
	assert_int_equal(check_hdr("{\"alg\":\"HS256\",\"kid\":\"" SRV
	    "a\",\"nonce\":\"n\",\"url\":\"" SRV "x\"}"), ACME_SIGN_DENY_ALG);
	assert_int_equal(check_hdr("{\"kid\":\"" SRV
	    "a\",\"nonce\":\"n\",\"url\":\"" SRV "x\"}"), ACME_SIGN_DENY_ALG);
	/* Nonce: required, base64url, bounded. */
	assert_int_equal(check_hdr("{\"alg\":\"ES256\",\"kid\":\"" SRV
	    "a\",\"url\":\"" SRV "x\"}"), ACME_SIGN_DENY_NONCE);
	assert_int_equal(check_hdr("{\"alg\":\"ES256\",\"kid\":\"" SRV
	    "a\",\"nonce\":\"\",\"url\":\"" SRV "x\"}"), ACME_SIGN_DENY_NONCE);
	assert_int_equal(check_hdr("{\"alg\":\"ES256\",\"kid\":\"" SRV
	    "a\",\"nonce\":\"a=b\",\"url\":\"" SRV "x\"}"), ACME_SIGN_DENY_NONCE);
	assert_int_equal(check_hdr("{\"alg\":\"ES256\",\"kid\":\"" SRV
	    "a\",\"nonce\":7,\"url\":\"" SRV "x\"}"), ACME_SIGN_DENY_NONCE);
	/* Another key's JWK; both jwk and kid; neither. */
	assert_int_equal(check_built("ES256", other_jwk, NULL, "n", SRV "x"),
	    ACME_SIGN_DENY_KEY);
	assert_int_equal(check(mk("{\"alg\":\"ES256\",\"jwk\":{},\"kid\":\""
	    SRV "a\",\"nonce\":\"n\",\"url\":\"" SRV "x\"}", "{}")),
	    ACME_SIGN_DENY_KEY);
	assert_int_equal(check_hdr("{\"alg\":\"ES256\",\"nonce\":\"n\","
	    "\"url\":\"" SRV "x\"}"), ACME_SIGN_DENY_KEY);
}

static void
test_header_and_format(void **state)
{
	char	 in[256];

	(void)state;
	assert_int_equal(check_hdr("{\"alg\":\"ES256\",\"crit\":[\"b64\"],"
	    "\"b64\":false,\"kid\":\"" SRV "a\",\"nonce\":\"n\",\"url\":\""
	    SRV "x\"}"), ACME_SIGN_DENY_HEADER);
	/* Duplicate members: read one way here, maybe another at the CA. */
	assert_int_equal(check_hdr("{\"alg\":\"ES256\",\"url\":\"" SRV
	    "x\",\"kid\":\"" SRV "a\",\"nonce\":\"n\",\"url\":\"https://evil/"
	    "\"}"), ACME_SIGN_DENY_FORMAT);
	assert_int_equal(check_hdr("[1]"), ACME_SIGN_DENY_FORMAT);
	assert_int_equal(check_hdr("{\"alg\":"), ACME_SIGN_DENY_FORMAT);
	assert_int_equal(check(""), ACME_SIGN_DENY_FORMAT);
	assert_int_equal(check("."), ACME_SIGN_DENY_FORMAT);
	assert_int_equal(check("e30"), ACME_SIGN_DENY_FORMAT);
	assert_int_equal(check("e30.e30.e30"), ACME_SIGN_DENY_FORMAT);
	assert_int_equal(check("e30=.e30"), ACME_SIGN_DENY_FORMAT);
	assert_int_equal(check("e30.e3+"), ACME_SIGN_DENY_FORMAT);
	/* A NUL inside the input ends nothing: the length rules. */
	snprintf(in, sizeof(in), "%s", mk("{\"alg\":\"ES256\",\"kid\":\""
	    SRV "a\",\"nonce\":\"n\",\"url\":\"" SRV "x\"}", "{}"));
	assert_int_equal(acme_sign_check(&rules, in, strlen(in) + 1),
	    ACME_SIGN_DENY_FORMAT);
	assert_int_equal(acme_sign_check(&rules, NULL, 0),
	    ACME_SIGN_DENY_FORMAT);
	assert_string_equal(acme_sign_verdict_name(ACME_SIGN_DENY_URL), "url");
}

static enum acme_sign_verdict
eab(const char *kid, const char *url, const char *k)
{
	struct acme_jws		 j;
	enum acme_sign_verdict	 v;

	assert_int_equal(acme_eab_init(&j, kid, url, k), 0);
	v = acme_eab_check(&rules, j.signing_input, strlen(j.signing_input));
	acme_jws_free(&j);
	return v;
}

static enum acme_sign_verdict
eab_raw(const char *hdr, const char *payload)
{
	const char	*in = mk(hdr, payload);

	return acme_eab_check(&rules, in, strlen(in));
}

static void
test_eab(void **state)
{
	const struct acme_sign_rules	 saved = rules;

	(void)state;
	assert_int_equal(eab("kid-1", SRV "sign-me-up", jwk), ACME_SIGN_OK);
	/* Binding another key, under another kid, for another server. */
	assert_int_equal(eab("kid-1", SRV "sign-me-up", other_jwk),
	    ACME_SIGN_DENY_KEY);
	assert_int_equal(eab("kid-2", SRV "sign-me-up", jwk),
	    ACME_SIGN_DENY_KEY);
	assert_int_equal(eab("kid-1", "https://evil/sign-me-up", jwk),
	    ACME_SIGN_DENY_URL);
	/* An EAB has no nonce; only HS256; no other member. */
	assert_int_equal(eab_raw("{\"alg\":\"HS256\",\"kid\":\"kid-1\","
	    "\"nonce\":\"n\",\"url\":\"" SRV "x\"}", jwk), ACME_SIGN_DENY_NONCE);
	assert_int_equal(eab_raw("{\"alg\":\"HS512\",\"kid\":\"kid-1\","
	    "\"url\":\"" SRV "x\"}", jwk), ACME_SIGN_DENY_ALG);
	assert_int_equal(eab_raw("{\"alg\":\"HS256\",\"jwk\":{},"
	    "\"kid\":\"kid-1\",\"url\":\"" SRV "x\"}", jwk),
	    ACME_SIGN_DENY_HEADER);
	assert_int_equal(eab_raw("{\"alg\":\"HS256\",\"kid\":\"kid-1\","
	    "\"url\":\"" SRV "x\"}", "not json"), ACME_SIGN_DENY_KEY);
	/* No EAB configured: nothing is MACed. */
	rules.eab_kid = NULL;
	assert_int_equal(eab("kid-1", SRV "sign-me-up", jwk),
	    ACME_SIGN_DENY_KEY);
	rules = saved;
	/* An account-key JWS is not an EAB, and the other way round. */
	{
		struct acme_jws j;

		assert_int_equal(acme_eab_init(&j, "kid-1", SRV "x", jwk), 0);
		assert_int_equal(check(j.signing_input), ACME_SIGN_DENY_ALG);
		acme_jws_free(&j);
	}
}

static void
test_prefix_ok(void **state)
{
	(void)state;
	assert_true(acme_sign_prefix_ok("https://ca.test/"));
	assert_true(acme_sign_prefix_ok("https://ca.test:14000/acme2/"));
	assert_false(acme_sign_prefix_ok("https://ca.test"));
	assert_false(acme_sign_prefix_ok("https://ca.test/acme2"));
	assert_false(acme_sign_prefix_ok("http://ca.test/"));
	assert_false(acme_sign_prefix_ok("https:///x/"));
	assert_false(acme_sign_prefix_ok("https://u@ca.test/"));
	assert_false(acme_sign_prefix_ok("https://ca.test/?a/"));
	assert_false(acme_sign_prefix_ok(NULL));
	/* A bad prefix in the rules never matches. */
	rules.prefix[0] = "https://ca.test";
	assert_int_equal(check_built("ES256", jwk, NULL, "n",
	    "https://ca.test/x"), ACME_SIGN_DENY_URL);
	rules.prefix[0] = SRV;
}

/* ---- what the payload means (acme_sign_op_check) ------------------------ */

static uint8_t	 csr_der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
static uint8_t	 cert_der[] = { 0x30, 0x03, 0x02, 0x01, 0x09 };
static struct acme_job_facts enroll_job = { .action = CA_ENROLL,
    .sans_json = "[\"dns:a.test\",\"ip:192.0.2.1\"]", .csr_der = csr_der,
    .csr_len = sizeof(csr_der) };
static struct acme_job_facts revoke_job = { .action = CA_REVOKE,
    .sans_json = "[\"dns:a.test\"]", .cert_der = cert_der,
    .cert_len = sizeof(cert_der), .reason = 1 };
static struct acme_job_facts validate_job = { .action = CA_VALIDATE,
    .sans_json = "[]" };

/* op with payload by kid (or by jwk when kid is NULL), for a job. */
static enum acme_sign_verdict
op_check(const struct acme_job_facts *f, unsigned op, const char *kid,
    const char *payload)
{
	struct acme_jws		 j;
	enum acme_sign_verdict	 v;
	char			 url[ACME_MAX_URL + 1], k[ACME_MAX_URL + 1];

	assert_int_equal(acme_jws_init(&j, "ES256", kid ? NULL : jwk, kid,
	    "n", SRV "x", payload, strlen(payload)), 0);
	v = acme_sign_op_check(&rules, f, op, j.signing_input,
	    strlen(j.signing_input), url, sizeof(url), k, sizeof(k));
	if (v == ACME_SIGN_OK) {
		assert_string_equal(url, SRV "x");
		assert_string_equal(k, kid ? kid : "");
	} else {
		assert_string_equal(url, "");
		assert_string_equal(k, "");
	}
	acme_jws_free(&j);
	return v;
}

#define KID_A	SRV "acct/1"

static void
test_op_payloads_granted(void **state)
{
	char	 p[256], b[64];

	(void)state;
	rules.contact = "mailto:a@example.org,mailto:b@example.org";
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ACCOUNT, NULL,
	    "{\"onlyReturnExisting\":true}"), ACME_SIGN_OK);
	rules.eab_kid = NULL;
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ACCOUNT, NULL,
	    "{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:a@example.org\","
	    "\"mailto:b@example.org\"]}"), ACME_SIGN_OK);
	rules.eab_kid = "kid-1";
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ORDER, KID_A,
	    "{\"identifiers\":[{\"type\":\"ip\",\"value\":\"192.0.2.1\"},"
	    "{\"type\":\"dns\",\"value\":\"a.test\"}]}"), ACME_SIGN_OK);
	assert_int_equal(op_check(&enroll_job, ACME_OP_FETCH, KID_A, ""),
	    ACME_SIGN_OK);
	assert_int_equal(op_check(&enroll_job, ACME_OP_CHALLENGE, KID_A, "{}"),
	    ACME_SIGN_OK);
	b64url_encode(csr_der, sizeof(csr_der), b, sizeof(b));
	snprintf(p, sizeof(p), "{\"csr\":\"%s\"}", b);
	assert_int_equal(op_check(&enroll_job, ACME_OP_FINALIZE, KID_A, p),
	    ACME_SIGN_OK);
	b64url_encode(cert_der, sizeof(cert_der), b, sizeof(b));
	snprintf(p, sizeof(p), "{\"certificate\":\"%s\",\"reason\":1}", b);
	assert_int_equal(op_check(&revoke_job, ACME_OP_REVOKE, KID_A, p),
	    ACME_SIGN_OK);
	assert_int_equal(op_check(&revoke_job, ACME_OP_NEW_ACCOUNT, NULL,
	    "{\"onlyReturnExisting\":true}"), ACME_SIGN_OK);
	rules.contact = NULL;
}

static void
test_op_payloads_refused(void **state)
{
	char	 p[256], b[64];
	uint8_t	 wrong[] = { 0x30, 0x03, 0x02, 0x01, 0x08 };

	(void)state;
	/* A validation job signs nothing; each job only what it needs. */
	for (unsigned op = ACME_OP_NEW_ACCOUNT; op < ACME_OP_MAX; op++)
		assert_int_equal(op_check(&validate_job, op, KID_A, ""),
		    ACME_SIGN_DENY_OP);
	assert_int_equal(op_check(&enroll_job, ACME_OP_REVOKE, KID_A, "{}"),
	    ACME_SIGN_DENY_OP);
	assert_int_equal(op_check(&revoke_job, ACME_OP_NEW_ORDER, KID_A, "{}"),
	    ACME_SIGN_DENY_OP);
	assert_int_equal(op_check(&revoke_job, ACME_OP_FINALIZE, KID_A, "{}"),
	    ACME_SIGN_DENY_OP);
	assert_int_equal(op_check(&enroll_job, 0, KID_A, ""), ACME_SIGN_DENY_OP);
	assert_int_equal(op_check(&enroll_job, ACME_OP_MAX, KID_A, ""),
	    ACME_SIGN_DENY_OP);
	assert_int_equal(op_check(NULL, ACME_OP_FETCH, KID_A, ""),
	    ACME_SIGN_DENY_OP);
	/* Key change (a JWS payload), deactivation, account update. */
	assert_int_equal(op_check(&enroll_job, ACME_OP_FETCH, KID_A,
	    "{\"protected\":\"e30\",\"payload\":\"e30\",\"signature\":\"AA\"}"),
	    ACME_SIGN_DENY_PAYLOAD);
	assert_int_equal(op_check(&enroll_job, ACME_OP_CHALLENGE, KID_A,
	    "{\"status\":\"deactivated\"}"), ACME_SIGN_DENY_PAYLOAD);
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ACCOUNT, NULL,
	    "{\"status\":\"deactivated\"}"), ACME_SIGN_DENY_PAYLOAD);
	rules.eab_kid = NULL;
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ACCOUNT, NULL,
	    "{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:x@evil\"]}"),
	    ACME_SIGN_DENY_PAYLOAD);
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ACCOUNT, NULL,
	    "{\"onlyReturnExisting\":true,\"contact\":[]}"),
	    ACME_SIGN_DENY_PAYLOAD);
	/* EAB configured: a new account without the binding is refused. */
	rules.eab_kid = "kid-1";
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ACCOUNT, NULL,
	    "{\"termsOfServiceAgreed\":true}"), ACME_SIGN_DENY_PAYLOAD);
	/* A new account goes by its key; everything else by kid. */
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ACCOUNT, KID_A,
	    "{\"onlyReturnExisting\":true}"), ACME_SIGN_DENY_PAYLOAD);
	assert_int_equal(op_check(&enroll_job, ACME_OP_FETCH, NULL, ""),
	    ACME_SIGN_DENY_KEY);
	/* Orders: other names, fewer, more, twice, other types, extras. */
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ORDER, KID_A,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"}]}"),
	    ACME_SIGN_DENY_PAYLOAD);
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ORDER, KID_A,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"},"
	    "{\"type\":\"dns\",\"value\":\"a.test\"}]}"),
	    ACME_SIGN_DENY_PAYLOAD);
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ORDER, KID_A,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"},"
	    "{\"type\":\"dns\",\"value\":\"192.0.2.1\"}]}"),
	    ACME_SIGN_DENY_PAYLOAD);
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ORDER, KID_A,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"},"
	    "{\"type\":\"ip\",\"value\":\"192.0.2.1\"},{\"type\":\"dns\","
	    "\"value\":\"b.test\"}]}"), ACME_SIGN_DENY_PAYLOAD);
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ORDER, KID_A,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"},"
	    "{\"type\":\"ip\",\"value\":\"192.0.2.1\"}],\"notAfter\":\"x\"}"),
	    ACME_SIGN_DENY_PAYLOAD);
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ORDER, KID_A,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\","
	    "\"wildcard\":true},{\"type\":\"ip\",\"value\":\"192.0.2.1\"}]}"),
	    ACME_SIGN_DENY_PAYLOAD);
	/* Finalize with another CSR; revoke another certificate or reason. */
	b64url_encode(wrong, sizeof(wrong), b, sizeof(b));
	snprintf(p, sizeof(p), "{\"csr\":\"%s\"}", b);
	assert_int_equal(op_check(&enroll_job, ACME_OP_FINALIZE, KID_A, p),
	    ACME_SIGN_DENY_PAYLOAD);
	snprintf(p, sizeof(p), "{\"certificate\":\"%s\",\"reason\":1}", b);
	assert_int_equal(op_check(&revoke_job, ACME_OP_REVOKE, KID_A, p),
	    ACME_SIGN_DENY_PAYLOAD);
	b64url_encode(cert_der, sizeof(cert_der), b, sizeof(b));
	snprintf(p, sizeof(p), "{\"certificate\":\"%s\",\"reason\":4}", b);
	assert_int_equal(op_check(&revoke_job, ACME_OP_REVOKE, KID_A, p),
	    ACME_SIGN_DENY_PAYLOAD);
	snprintf(p, sizeof(p), "{\"certificate\":\"%s\"}", b);
	assert_int_equal(op_check(&revoke_job, ACME_OP_REVOKE, KID_A, p),
	    ACME_SIGN_DENY_PAYLOAD);
	/* Challenge: exactly {}; POST-as-GET: exactly nothing. */
	assert_int_equal(op_check(&enroll_job, ACME_OP_CHALLENGE, KID_A,
	    "{ }"), ACME_SIGN_DENY_PAYLOAD);
	assert_int_equal(op_check(&enroll_job, ACME_OP_FETCH, KID_A, "{}"),
	    ACME_SIGN_DENY_PAYLOAD);
	assert_string_equal(acme_sign_verdict_name(ACME_SIGN_DENY_PAYLOAD),
	    "payload");
	assert_string_equal(acme_op_name(ACME_OP_FINALIZE), "finalize");
}

/* newAccount with the binding: ours, for this url, and nobody else's. */
static void
test_op_new_account_eab(void **state)
{
	struct acme_jws	 e, j;
	uint8_t		 mac[32];
	char		*obj, pl[2048];
	char		 url[ACME_MAX_URL + 1];

	(void)state;
	memset(mac, 7, sizeof(mac));
	assert_int_equal(acme_eab_init(&e, "kid-1", SRV "x", jwk), 0);
	obj = acme_jws_serialize(&e, mac, sizeof(mac));
	snprintf(pl, sizeof(pl), "{\"termsOfServiceAgreed\":true,"
	    "\"externalAccountBinding\":%s}", obj);
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ACCOUNT, NULL, pl),
	    ACME_SIGN_OK);
	/* The same binding posted to another url. */
	assert_int_equal(acme_jws_init(&j, "ES256", jwk, NULL, "n", SRV "y", pl,
	    strlen(pl)), 0);
	assert_int_equal(acme_sign_op_check(&rules, &enroll_job,
	    ACME_OP_NEW_ACCOUNT, j.signing_input, strlen(j.signing_input), url,
	    sizeof(url), NULL, 0), ACME_SIGN_DENY_PAYLOAD);
	acme_jws_free(&j);
	free(obj);
	acme_jws_free(&e);
	/* A binding of another key. */
	assert_int_equal(acme_eab_init(&e, "kid-1", SRV "x", other_jwk), 0);
	obj = acme_jws_serialize(&e, mac, sizeof(mac));
	snprintf(pl, sizeof(pl), "{\"termsOfServiceAgreed\":true,"
	    "\"externalAccountBinding\":%s}", obj);
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ACCOUNT, NULL, pl),
	    ACME_SIGN_DENY_PAYLOAD);
	free(obj);
	acme_jws_free(&e);
	/* A binding with a member too many. */
	assert_int_equal(op_check(&enroll_job, ACME_OP_NEW_ACCOUNT, NULL,
	    "{\"termsOfServiceAgreed\":true,\"externalAccountBinding\":"
	    "{\"protected\":\"e30\",\"payload\":\"e30\",\"signature\":\"AA\","
	    "\"x\":1}}"), ACME_SIGN_DENY_PAYLOAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_granted),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_alg_nonce_key),
		cmocka_unit_test(test_header_and_format),
		cmocka_unit_test(test_eab),
		cmocka_unit_test(test_prefix_ok),
		cmocka_unit_test(test_op_payloads_granted),
		cmocka_unit_test(test_op_payloads_refused),
		cmocka_unit_test(test_op_new_account_eab),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
