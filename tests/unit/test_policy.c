/*
 * test_policy.c - policy decisions, table-driven, with the bypass
 * attempts a hostile local client would try; approval by a second
 * person; rate limits; and the parser's errors with their line numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csr_gen.h"
#include "policy.h"

#define NOBODY	65534

static const char policy_text[] =
    "# test policy\n"
    "[admins]\n"
    "users = root\n"
    "\n"
    "[rule web]\n"
    "callers = user:root, uid:1234\n"
    "connectors = entrust, sectigo\n"
    "profiles = server\n"
    "san_dns = *.web.example.com, api.example.com\n"
    "san_ip = 10.0.0.0/8, 2001:db8::/32\n"
    "san_email = *@example.com\n"
    "max_validity_days = 90\n"
    "key_types = ec:p256, rsa:2048\n"
    "\n"
    "[rule wild]\n"
    "callers = uid:2000, uid:65534\n"
    "connectors = entrust\n"
    "profiles = server\n"
    "san_dns = *.wild.example.com\n"
    "allow_wildcard = yes\n"
    "max_validity_days = 30\n"
    "key_types = ec:p256\n"
    "approval = user:nobody\n";

static struct policy *pol;

struct row {
	const char	*what;
	uid_t		 uid;
	const char	*connector;
	const char	*key, *param;	/* "EC","P-256" / "RSA","2048" */
	const char	*subject;
	const char	*csr_san;	/* OpenSSL syntax, or NULL */
	int		 bad_sig;
	const char	*req_sans;	/* "dns:a,ip:b" or NULL */
	uint32_t	 validity;
	/* expected */
	const char	*outcome;	/* "allowed", "policy_denied", "bad_request" */
	const char	*needle;	/* in the reason */
	int		 approval;
};

static const struct row rows[] = {
	{ "plain allowed", 0, "entrust", "EC", "P-256", "/CN=a.web.example.com",
	    "DNS:a.web.example.com", 0, NULL, 0, "allowed", "rule web", 0 },
	{ "second connector", 1234, "sectigo", "RSA", "2048",
	    "/CN=api.example.com", "DNS:api.example.com", 0, NULL, 90,
	    "allowed", "rule web", 0 },
	{ "SAN case folds", 0, "entrust", "EC", "P-256", "/CN=A.Web.Example.COM",
	    "DNS:A.WEB.example.com", 0, "dns:a.Web.EXAMPLE.com", 0, "allowed",
	    "rule web", 0 },
	{ "trailing dot in request", 0, "entrust", "EC", "P-256",
	    "/CN=a.web.example.com", "DNS:a.web.example.com", 0,
	    "dns:a.web.example.com.", 0, "bad_request", "trailing dot", 0 },
	{ "wildcard where not allowed", 0, "entrust", "EC", "P-256", "",
	    "DNS:*.web.example.com", 0, NULL, 0, "policy_denied",
	    "does not allow dns:*.web.example.com", 0 },
	{ "wildcard two labels deep", 0, "entrust", "EC", "P-256", "",
	    "DNS:a.b.web.example.com", 0, NULL, 0, "policy_denied",
	    "does not allow dns:a.b.web.example.com", 0 },
	{ "bare parent of a wildcard", 0, "entrust", "EC", "P-256", "",
	    "DNS:web.example.com", 0, NULL, 0, "policy_denied", "does not allow",
	    0 },
	{ "suffix trick", 0, "entrust", "EC", "P-256", "",
	    "DNS:a.evilweb.example.com", 0, NULL, 0, "policy_denied",
	    "does not allow", 0 },
	{ "IDN in UTF-8", 0, "entrust", "EC", "P-256", "",
	    "DNS:a.web.example.com", 0, "dns:b\xc3\xbc" "cher.web.example.com", 0,
	    "bad_request", "non-ASCII", 0 },
	{ "punycode label under an allowed wildcard", 0, "entrust", "EC",
	    "P-256", "", "DNS:xn--bcher-kva.web.example.com", 0, NULL, 0,
	    "allowed", "rule web", 0 },
	{ "punycode lookalike of an exact name", 0, "entrust", "EC", "P-256",
	    "", "DNS:xn--pi-ema.example.com", 0, NULL, 0, "policy_denied",
	    "does not allow", 0 },
	{ "IP written as a DNS name", 0, "entrust", "EC", "P-256", "",
	    "DNS:a.web.example.com", 0, "dns:10.0.0.1", 0, "bad_request",
	    "IP address given as a DNS name", 0 },
	{ "IP in range", 0, "entrust", "EC", "P-256", "",
	    "IP:10.20.30.40", 0, NULL, 0, "allowed", "rule web", 0 },
	{ "IP out of range", 0, "entrust", "EC", "P-256", "", "IP:11.0.0.1", 0,
	    NULL, 0, "policy_denied", "does not allow ip:11.0.0.1", 0 },
	{ "v4-mapped IPv6 not in a v4 range", 0, "entrust", "EC", "P-256", "",
	    "IP:::ffff:10.0.0.1", 0, NULL, 0, "policy_denied",
	    "does not allow ip:", 0 },
	{ "IPv6 in range", 0, "entrust", "EC", "P-256", "",
	    "IP:2001:db8::7", 0, NULL, 0, "allowed", "rule web", 0 },
	{ "e-mail domain", 0, "entrust", "EC", "P-256", "",
	    "email:ops@Example.com", 0, NULL, 0, "allowed", "rule web", 0 },
	{ "e-mail other domain", 0, "entrust", "EC", "P-256", "",
	    "email:ops@example.com.evil.net", 0, NULL, 0, "policy_denied",
	    "does not allow email:", 0 },
	{ "request SANs differ from the CSR's", 0, "entrust", "EC", "P-256",
	    "/CN=a.web.example.com", "DNS:a.web.example.com", 0,
	    "dns:b.web.example.com", 0, "policy_denied", "differ from the CSR",
	    0 },
	{ "request adds a SAN", 0, "entrust", "EC", "P-256", "",
	    "DNS:a.web.example.com", 0,
	    "dns:a.web.example.com,dns:api.example.com", 0, "policy_denied",
	    "differ from the CSR", 0 },
	{ "request omits a SAN", 0, "entrust", "EC", "P-256", "",
	    "DNS:a.web.example.com,DNS:api.example.com", 0,
	    "dns:api.example.com", 0, "policy_denied", "differ from the CSR", 0 },
	{ "same SANs in another order", 0, "entrust", "EC", "P-256", "",
	    "DNS:a.web.example.com,DNS:api.example.com", 0,
	    "dns:api.example.com,dns:a.web.example.com", 0, "allowed",
	    "rule web", 0 },
	{ "bad CSR signature", 0, "entrust", "EC", "P-256", "",
	    "DNS:a.web.example.com", 1, NULL, 0, "bad_request",
	    "signature does not verify", 0 },
	{ "weak RSA key", 0, "entrust", "RSA", "1024", "",
	    "DNS:a.web.example.com", 0, NULL, 0, "bad_request", "too weak", 0 },
	{ "key size not in the rule", 0, "entrust", "RSA", "3072", "",
	    "DNS:a.web.example.com", 0, NULL, 0, "policy_denied",
	    "does not allow RSA keys", 0 },
	{ "curve not in the rule", 0, "entrust", "EC", "P-384", "",
	    "DNS:a.web.example.com", 0, NULL, 0, "policy_denied",
	    "does not allow EC keys", 0 },
	{ "validity over the maximum", 0, "entrust", "EC", "P-256", "",
	    "DNS:a.web.example.com", 0, NULL, 91, "policy_denied",
	    "over rule web's maximum", 0 },
	{ "subject with more than a CN", 0, "entrust", "EC", "P-256",
	    "/CN=a.web.example.com/O=Evil Corp", "DNS:a.web.example.com", 0,
	    NULL, 0, "policy_denied", "only a CN", 0 },
	{ "CN not among the SANs", 0, "entrust", "EC", "P-256",
	    "/CN=www.bank.example", "DNS:a.web.example.com", 0, NULL, 0,
	    "policy_denied", "only a CN", 0 },
	{ "caller not named", 4321, "entrust", "EC", "P-256", "",
	    "DNS:a.web.example.com", 0, NULL, 0, "policy_denied",
	    "no rule for uid 4321", 0 },
	{ "connector not named", 0, "acme", "EC", "P-256", "",
	    "DNS:a.web.example.com", 0, NULL, 0, "policy_denied", "no rule", 0 },
	{ "wildcard where allowed, with approval", 2000, "entrust", "EC",
	    "P-256", "", "DNS:*.wild.example.com", 0, NULL, 0, "allowed",
	    "rule wild", 1 },
	{ "wildcard not covered by a wider pattern", 2000, "entrust", "EC",
	    "P-256", "", "DNS:*.x.wild.example.com", 0, NULL, 0,
	    "policy_denied", "does not allow", 0 },
};

static int
setup(void **state)
{
	char err[512];

	(void)state;
	pol = policy_parse(policy_text, strlen(policy_text), "t", err,
	    sizeof(err));
	if (pol == NULL)
		fprintf(stderr, "policy: %s\n", err);
	return pol == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	policy_free(pol);
	return 0;
}

static void
caller_for(uid_t uid, struct caller *c, gid_t *groups)
{
	memset(c, 0, sizeof(*c));
	c->uid = uid;
	c->gid = uid;
	groups[0] = uid;
	c->groups = groups;
	c->ngroups = 1;
}

/* What the API does before the policy: parse SANs and the CSR. */
static void
run_row(const struct row *r)
{
	static struct csr_info	 ci;
	struct san		 sans[8];
	struct enroll_request	 rq;
	struct decision		 d;
	struct caller		 c;
	gid_t			 groups[1];
	char			*pem, err[256] = "", list[512], *tok, *save;
	size_t			 nsans = 0;
	const char		*outcome = NULL;

	pem = csr_make(r->key, r->param, r->subject, r->csr_san, r->bad_sig);
	if (r->req_sans != NULL) {
		snprintf(list, sizeof(list), "%s", r->req_sans);
		for (tok = strtok_r(list, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save))
			if (san_parse(tok, &sans[nsans++], err,
			    sizeof(err)) == -1) {
				outcome = "bad_request";
				break;
			}
	}
	if (outcome == NULL && csr_parse(pem, strlen(pem), &ci, err,
	    sizeof(err)) == -1)
		outcome = "bad_request";
	free(pem);
	if (outcome == NULL) {
		memset(&rq, 0, sizeof(rq));
		rq.connector = r->connector;
		rq.profile = "server";
		rq.sans = sans;
		rq.nsans = nsans;
		rq.validity_days = r->validity;
		rq.csr = &ci;
		caller_for(r->uid, &c, groups);
		assert_int_equal(policy_decide(pol, &c, &rq, 1000, &d), 0);
		outcome = d.allowed ? "allowed" : d.code;
		snprintf(err, sizeof(err), "%s", d.reason);
		if (d.allowed && d.needs_approval != r->approval)
			fail_msg("%s: approval %d, expected %d", r->what,
			    d.needs_approval, r->approval);
		/* A rule's maximum caps a request, never fills one in. */
		if (d.allowed && d.validity_days != r->validity)
			fail_msg("%s: validity %u, expected the request's %u",
			    r->what, d.validity_days, r->validity);
	}
	if (strcmp(outcome, r->outcome) != 0)
		fail_msg("%s: %s (%s), expected %s", r->what, outcome, err,
		    r->outcome);
	if (strstr(err, r->needle) == NULL)
		fail_msg("%s: reason \"%s\" lacks \"%s\"", r->what, err,
		    r->needle);
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
}

static void
test_rate_limit(void **state)
{
	static const char text[] =
	    "[rule r]\ncallers = uid:7\nconnectors = c\nprofiles = p\n"
	    "san_dns = a.example.com\nmax_validity_days = 10\n"
	    "key_types = ec:p256\nrate = 3/hour\n";
	static struct csr_info	 ci;
	struct policy		*p;
	struct enroll_request	 rq;
	struct decision		 d;
	struct caller		 c;
	gid_t			 g[1];
	char			 err[256], *pem;

	(void)state;
	assert_non_null(p = policy_parse(text, strlen(text), "r", err,
	    sizeof(err)));
	pem = csr_make("EC", "P-256", "", "DNS:a.example.com", 0);
	assert_int_equal(csr_parse(pem, strlen(pem), &ci, err, sizeof(err)), 0);
	free(pem);
	memset(&rq, 0, sizeof(rq));
	rq.connector = "c";
	rq.profile = "p";
	rq.csr = &ci;
	caller_for(7, &c, g);
	for (int i = 0; i < 3; i++) {
		policy_decide(p, &c, &rq, 5000, &d);
		assert_int_equal(d.allowed, 1);
	}
	policy_decide(p, &c, &rq, 5001, &d);
	assert_int_equal(d.allowed, 0);
	assert_non_null(strstr(d.reason, "rate limit"));
	/* Another uid has its own window; the next hour resets it. */
	caller_for(8, &c, g);
	policy_decide(p, &c, &rq, 5001, &d);
	assert_int_equal(d.allowed, 0);	/* uid 8 is not a caller at all */
	caller_for(7, &c, g);
	policy_decide(p, &c, &rq, 5000 + 3600, &d);
	assert_int_equal(d.allowed, 1);
	policy_free(p);
}

static void
test_approval(void **state)
{
	struct caller	c;
	gid_t		g[1];
	char		reason[256];

	(void)state;
	caller_for(NOBODY, &c, g);
	assert_int_equal(policy_may_approve(pol, "wild", &c, 2000, reason,
	    sizeof(reason)), 1);
	/* The approver may not approve their own request. */
	assert_int_equal(policy_may_approve(pol, "wild", &c, NOBODY, reason,
	    sizeof(reason)), 0);
	assert_non_null(strstr(reason, "must not be the requester"));
	/* Not in the approval list. */
	caller_for(2000, &c, g);
	assert_int_equal(policy_may_approve(pol, "wild", &c, 1234, reason,
	    sizeof(reason)), 0);
	assert_non_null(strstr(reason, "not an approver"));
	/* A rule without approval has nothing to approve. */
	caller_for(NOBODY, &c, g);
	assert_int_equal(policy_may_approve(pol, "web", &c, 0, reason,
	    sizeof(reason)), 0);
	/* Admins. */
	caller_for(0, &c, g);
	assert_int_equal(policy_is_admin(pol, &c), 1);
	caller_for(1234, &c, g);
	assert_int_equal(policy_is_admin(pol, &c), 0);
}

static void
expect_parse_error(const char *text, const char *needle)
{
	struct policy	*p;
	char		 err[512] = "";

	p = policy_parse(text, strlen(text), "t", err, sizeof(err));
	if (p != NULL) {
		policy_free(p);
		fail_msg("accepted:\n%s", text);
	}
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

#define RULE_HEAD	"[rule r]\ncallers = uid:1\nconnectors = c\n" \
	"profiles = p\nsan_dns = a.example.com\nmax_validity_days = 10\n" \
	"key_types = ec:p256\n"

static void
test_parse_errors(void **state)
{
	(void)state;
	expect_parse_error("[rule r]\n", "t:1: [rule r]: callers is required");
	expect_parse_error(RULE_HEAD "[rule s]\nconnectors = c\n",
	    "t:8: [rule s]: callers is required");
	expect_parse_error(RULE_HEAD "colour = red\n",
	    "t:8: unknown key \"colour\" in [rule r]");
	expect_parse_error(RULE_HEAD "callers = uid:2\n",
	    "t:8: callers repeated");
	expect_parse_error(RULE_HEAD RULE_HEAD, "t:8: [rule r] repeated");
	expect_parse_error("[rules r]\n", "t:1: unknown section");
	expect_parse_error("[rule R]\n", "t:1: rule name");
	expect_parse_error("x = 1\n", "t:1: \"x\" outside a section");
	expect_parse_error(RULE_HEAD "rate = 5\n", "t:8: rate:");
	expect_parse_error(RULE_HEAD "rate = 5/fortnight\n", "t:8: rate:");
	expect_parse_error(RULE_HEAD "approval = uid:5\n",
	    "t:8: approval: \"uid:5\" must be user:NAME or group:NAME");
	expect_parse_error(RULE_HEAD "allow_wildcard = maybe\n",
	    "t:8: allow_wildcard");
	expect_parse_error("[rule r]\ncallers = user:no-such-user-here\n",
	    "t:2: callers: no user \"no-such-user-here\"");
	expect_parse_error("[rule r]\ncallers = group:no-such-group-here\n",
	    "t:2: callers: no group");
	expect_parse_error("[rule r]\ncallers = uid:1,,uid:2\n",
	    "t:2: callers: empty item");
	expect_parse_error("[rule r]\ncallers = uid:1, uid:1\n",
	    "t:2: callers: \"uid:1\" listed twice");
	expect_parse_error("[rule r]\nsan_dns = a.*.example.com\n",
	    "t:2: san_dns: \"a.*.example.com\"");
	expect_parse_error("[rule r]\nsan_dns = A.example.com\n",
	    "t:2: san_dns: \"A.example.com\": write patterns in lowercase");
	expect_parse_error("[rule r]\nsan_ip = 10.0.0.0/33\n", "t:2: san_ip");
	expect_parse_error("[rule r]\nkey_types = rsa:1024\n", "t:2: key_types");
	expect_parse_error("[rule r]\nkey_types = ec:p192\n", "t:2: key_types");
	expect_parse_error("[rule r]\nmax_validity_days = 0\n",
	    "t:2: max_validity_days");
	expect_parse_error("[rule r]\ncallers = uid:1\r\n", "t:2: control");
	expect_parse_error("[admins]\nusers = root\n[admins]\n",
	    "t:3: [admins] repeated");
	expect_parse_error("[rule r]\ncallers = uid:1\nconnectors = c\n"
	    "profiles = p\nmax_validity_days = 1\nkey_types = ec:p256\n",
	    "could allow nothing");
}

static void
test_empty_denies(void **state)
{
	struct policy		*p;
	struct enroll_request	 rq;
	struct decision		 d;
	struct caller		 c;
	struct csr_info		 ci;
	gid_t			 g[1];
	char			 err[64];

	(void)state;
	assert_non_null(p = policy_parse("# nothing\n", 10, "e", err,
	    sizeof(err)));
	memset(&rq, 0, sizeof(rq));
	memset(&ci, 0, sizeof(ci));
	rq.connector = "c";
	rq.profile = "p";
	rq.csr = &ci;
	caller_for(0, &c, g);
	policy_decide(p, &c, &rq, 0, &d);
	assert_int_equal(d.allowed, 0);
	assert_int_equal(policy_is_admin(p, &c), 0);
	policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_approval),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_empty_denies),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
