/*
 * test_acme_url_pin.c - the URLs an account-key JWS may name once the
 * connector has used them: directory endpoints and the account pinned
 * at first use, the kid changed only right after a newAccount, one
 * finalize URL per job, one challenge per name, a cap on the URLs of a
 * job, and no URL used in another role's place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "acme_url_pin.h"
#include "ipc.h"

#define SRV	"https://ca.test/acme/"
#define KID	SRV "acct/1"

static struct acme_pins		pins;
static struct acme_job_pins	job;

static int
setup(void **state)
{
	(void)state;
	memset(&pins, 0, sizeof(pins));
	memset(&job, 0, sizeof(job));
	return 0;
}

/* Check, and learn on a grant, as the parent does. */
static enum acme_sign_verdict
ask(unsigned op, const char *url, const char *kid, size_t nnames)
{
	enum acme_sign_verdict v = acme_pin_check(&pins, &job, op, url, kid,
	    nnames);

	if (v == ACME_SIGN_OK)
		(void)acme_pin_learn(&pins, &job, op, url, kid);
	return v;
}

static void
new_job(void)
{
	memset(&job, 0, sizeof(job));
}

static void
test_directory_endpoints(void **state)
{
	(void)state;
	assert_int_equal(acme_pin_check(&pins, &job, ACME_OP_NEW_ACCOUNT,
	    SRV "new-acct", NULL, 1), ACME_SIGN_OK);
	assert_int_equal(acme_pin_learn(&pins, &job, ACME_OP_NEW_ACCOUNT,
	    SRV "new-acct", NULL), 1u << ACME_PIN_NEW_ACCOUNT);
	assert_int_equal(ask(ACME_OP_NEW_ORDER, SRV "new-order", KID, 1),
	    ACME_SIGN_OK);
	assert_string_equal(pins.url[ACME_PIN_NEW_ORDER], SRV "new-order");
	assert_string_equal(pins.url[ACME_PIN_ACCOUNT], KID);
	/* The same endpoints again, in a later job: granted. */
	new_job();
	assert_int_equal(ask(ACME_OP_NEW_ORDER, SRV "new-order", KID, 1),
	    ACME_SIGN_OK);
	/* Another url under the same prefix: refused. */
	assert_int_equal(ask(ACME_OP_NEW_ORDER, SRV "key-change", KID, 1),
	    ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_NEW_ACCOUNT, SRV "new-acct2", NULL, 1),
	    ACME_SIGN_DENY_URL);
	/* One endpoint in another's place, before its own pin is learned. */
	assert_int_equal(ask(ACME_OP_REVOKE, SRV "new-order", KID, 1),
	    ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_REVOKE, KID, KID, 1), ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_REVOKE, SRV "revoke-cert", KID, 1),
	    ACME_SIGN_OK);
	assert_int_equal(ask(ACME_OP_REVOKE, SRV "revoke", KID, 1),
	    ACME_SIGN_DENY_URL);
	/* An order's own request never names a directory endpoint. */
	assert_int_equal(ask(ACME_OP_FETCH, SRV "new-order", KID, 1),
	    ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_CHALLENGE, SRV "new-acct", KID, 1),
	    ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_FINALIZE, SRV "revoke-cert", KID, 1),
	    ACME_SIGN_DENY_URL);
	assert_string_equal(acme_pin_role_name(ACME_PIN_REVOKE), "revokeCert");
}

static void
test_account_url(void **state)
{
	(void)state;
	assert_int_equal(ask(ACME_OP_FETCH, SRV "order/1", KID, 1),
	    ACME_SIGN_OK);
	/* Another account's URL as kid: refused, in this job and later. */
	assert_int_equal(ask(ACME_OP_FETCH, SRV "order/1", SRV "acct/2", 1),
	    ACME_SIGN_DENY_KEY);
	new_job();
	assert_int_equal(ask(ACME_OP_FETCH, SRV "order/1", SRV "acct/2", 1),
	    ACME_SIGN_DENY_KEY);
	/* The account URL: fetched, never challenged or finalized. */
	assert_int_equal(ask(ACME_OP_FETCH, KID, KID, 1), ACME_SIGN_OK);
	assert_int_equal(ask(ACME_OP_CHALLENGE, KID, KID, 1),
	    ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_FINALIZE, KID, KID, 1),
	    ACME_SIGN_DENY_URL);
	/* A directory endpoint as kid. */
	assert_int_equal(ask(ACME_OP_NEW_ORDER, SRV "new-order", KID, 1),
	    ACME_SIGN_OK);
	assert_int_equal(ask(ACME_OP_FETCH, SRV "order/1", SRV "new-order", 1),
	    ACME_SIGN_DENY_KEY);
	/* After a newAccount in this job, the first kid may move, once. */
	assert_int_equal(ask(ACME_OP_NEW_ACCOUNT, SRV "new-acct", NULL, 1),
	    ACME_SIGN_OK);
	assert_int_equal(acme_pin_check(&pins, &job, ACME_OP_FETCH,
	    SRV "order/2", SRV "acct/7", 1), ACME_SIGN_OK);
	assert_int_equal(acme_pin_learn(&pins, &job, ACME_OP_FETCH,
	    SRV "order/2", SRV "acct/7"), 1u << ACME_PIN_ACCOUNT);
	assert_int_equal(ask(ACME_OP_FETCH, SRV "order/2", KID, 1),
	    ACME_SIGN_DENY_KEY);
	assert_int_equal(ask(ACME_OP_FETCH, SRV "order/2", SRV "acct/7", 1),
	    ACME_SIGN_OK);
}

static void
test_finalize_and_challenges(void **state)
{
	(void)state;
	assert_int_equal(ask(ACME_OP_CHALLENGE, SRV "chall/1", KID, 2),
	    ACME_SIGN_OK);
	assert_int_equal(ask(ACME_OP_CHALLENGE, SRV "chall/1", KID, 2),
	    ACME_SIGN_OK);		/* answered again: the same one */
	/* A url fetched first may still be answered, but only two in all. */
	assert_int_equal(ask(ACME_OP_FETCH, SRV "chall/2", KID, 2),
	    ACME_SIGN_OK);
	assert_int_equal(ask(ACME_OP_CHALLENGE, SRV "chall/2", KID, 2),
	    ACME_SIGN_OK);
	assert_int_equal(ask(ACME_OP_CHALLENGE, SRV "chall/3", KID, 2),
	    ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_FETCH, SRV "chall/1", KID, 2),
	    ACME_SIGN_OK);
	/* One finalize url per job. */
	assert_int_equal(ask(ACME_OP_FINALIZE, SRV "finalize/1", KID, 2),
	    ACME_SIGN_OK);
	assert_int_equal(ask(ACME_OP_FINALIZE, SRV "finalize/1", KID, 2),
	    ACME_SIGN_OK);
	assert_int_equal(ask(ACME_OP_FINALIZE, SRV "finalize/2", KID, 2),
	    ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_CHALLENGE, SRV "finalize/1", KID, 2),
	    ACME_SIGN_DENY_URL);
	/* The next job has its own. */
	new_job();
	assert_int_equal(ask(ACME_OP_FINALIZE, SRV "finalize/2", KID, 2),
	    ACME_SIGN_OK);
	/* A revocation names no challenge. */
	new_job();
	assert_int_equal(ask(ACME_OP_CHALLENGE, SRV "chall/9", KID, 0),
	    ACME_SIGN_DENY_URL);
}

static void
test_urls_per_job(void **state)
{
	char	 u[64];
	size_t	 i, cap = 2 * 3 + ACME_PIN_JOB_EXTRA;

	(void)state;
	for (i = 0; i < cap; i++) {
		snprintf(u, sizeof(u), SRV "authz/%zu", i);
		assert_int_equal(ask(ACME_OP_FETCH, u, KID, 3), ACME_SIGN_OK);
	}
	assert_int_equal(ask(ACME_OP_FETCH, SRV "authz/x", KID, 3),
	    ACME_SIGN_DENY_URL);
	/* What the job has seen stays open; polling is not capped. */
	for (i = 0; i < 50; i++)
		assert_int_equal(ask(ACME_OP_FETCH, SRV "authz/0", KID, 3),
		    ACME_SIGN_OK);
	/* The largest order: every name's authorization and challenge. */
	new_job();
	for (i = 0; i < ACME_PIN_JOB_MAX; i++) {
		int chall = i % 2 && i / 2 < ACME_SIGN_MAX_NAMES;

		snprintf(u, sizeof(u), SRV "u/%zu", i);
		assert_int_equal(ask(chall ? ACME_OP_CHALLENGE : ACME_OP_FETCH,
		    u, KID, ACME_SIGN_MAX_NAMES), ACME_SIGN_OK);
	}
	/* Seen, but not a challenge: the names have theirs already. */
	assert_int_equal(ask(ACME_OP_CHALLENGE, SRV "u/0", KID,
	    ACME_SIGN_MAX_NAMES), ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_FETCH, SRV "one-more", KID,
	    ACME_SIGN_MAX_NAMES), ACME_SIGN_DENY_URL);
}

static void
test_limits(void **state)
{
	static char	 long_url[ACME_MAX_URL + 8];

	(void)state;
	memset(long_url, 'a', sizeof(long_url) - 1);
	assert_int_equal(ask(ACME_OP_FETCH, long_url, KID, 1),
	    ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_FETCH, NULL, KID, 1), ACME_SIGN_DENY_URL);
	assert_int_equal(ask(ACME_OP_FETCH, SRV "x", long_url, 1),
	    ACME_SIGN_DENY_URL);
	assert_string_equal(acme_pin_role_name(ACME_PIN_ROLES), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_directory_endpoints, setup),
		cmocka_unit_test_setup(test_account_url, setup),
		cmocka_unit_test_setup(test_finalize_and_challenges, setup),
		cmocka_unit_test_setup(test_urls_per_job, setup),
		cmocka_unit_test_setup(test_limits, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
