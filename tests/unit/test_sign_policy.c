/*
 * test_sign_policy.c - the parent's signing decisions and counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sign_policy.h"

static void
test_grant_and_refusals(void **state)
{
	struct sign_policy p;

	(void)state;
	sign_policy_init(&p, SCHEME_ALL_MASK, 1, 100, 10, 0);
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 32, 1, 0),
	    SIGN_GRANT);
	/* RSA schemes never fit an EC key, whatever the allow-list says. */
	assert_int_equal(sign_policy_check(&p, SCHEME_RSA_PSS_SHA256, 32, 1, 0),
	    SIGN_DENY_SCHEME);
	assert_int_equal(sign_policy_check(&p, 0, 32, 1, 0), SIGN_DENY_SCHEME);
	assert_int_equal(sign_policy_check(&p, 200, 32, 1, 0), SIGN_DENY_SCHEME);
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 20, 1, 0),
	    SIGN_DENY_LENGTH);
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA384, 32, 1, 0),
	    SIGN_DENY_LENGTH);
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 32, 0, 0),
	    SIGN_DENY_NO_JOB);
	assert_int_equal(p.count[SIGN_GRANT], 1);
	assert_int_equal(p.count[SIGN_DENY_SCHEME], 3);
	assert_int_equal(p.count[SIGN_DENY_LENGTH], 2);
	assert_int_equal(p.count[SIGN_DENY_NO_JOB], 1);
	assert_int_equal(sign_policy_refused(&p), 6);
}

static void
test_allow_list(void **state)
{
	struct sign_policy p;

	(void)state;
	sign_policy_init(&p, SCHEME_BIT(SCHEME_RSA_PSS_SHA256), 0, 100, 10, 0);
	assert_int_equal(sign_policy_check(&p, SCHEME_RSA_PSS_SHA256, 32, 1, 0),
	    SIGN_GRANT);
	assert_int_equal(sign_policy_check(&p, SCHEME_RSA_PKCS1_SHA256, 32, 1,
	    0), SIGN_DENY_SCHEME);
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 32, 1, 0),
	    SIGN_DENY_SCHEME);
}

static void
test_rate_limit(void **state)
{
	struct sign_policy p;

	(void)state;
	/* 2 per second, burst 3. */
	sign_policy_init(&p, SCHEME_ALL_MASK, 1, 2, 3, 1000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 32,
		    1, 1000), SIGN_GRANT);
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 32, 1,
	    1000), SIGN_DENY_RATE);
	/* Half a second buys one token. */
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 32, 1,
	    1500), SIGN_GRANT);
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 32, 1,
	    1500), SIGN_DENY_RATE);
	/* A long pause refills only up to the burst. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 32,
		    1, 100000), SIGN_GRANT);
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 32, 1,
	    100000), SIGN_DENY_RATE);
	/* Refused requests do not spend tokens. */
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA256, 32, 0,
	    200000), SIGN_DENY_NO_JOB);
	assert_int_equal(p.count[SIGN_DENY_RATE], 3);
	assert_string_equal(sign_verdict_name(SIGN_DENY_RATE), "refused-rate");
}

/* ACME's JWS requests: the job and the rate, one bucket with the rest. */
static void
test_check_job(void **state)
{
	struct sign_policy p;

	(void)state;
	/* An allow-list without SHA-256 does not matter to them. */
	sign_policy_init(&p, SCHEME_BIT(SCHEME_ECDSA_SHA384), 1, 1, 2, 1000);
	assert_int_equal(sign_policy_check_job(&p, 0, 1000), SIGN_DENY_NO_JOB);
	assert_int_equal(sign_policy_check_job(&p, 1, 1000), SIGN_GRANT);
	assert_int_equal(sign_policy_check(&p, SCHEME_ECDSA_SHA384, 48, 1,
	    1000), SIGN_GRANT);
	assert_int_equal(sign_policy_check_job(&p, 1, 1000), SIGN_DENY_RATE);
	assert_int_equal(sign_policy_check_job(&p, 1, 2000), SIGN_GRANT);
	assert_int_equal(p.count[SIGN_GRANT], 3);
	assert_int_equal(p.count[SIGN_DENY_NO_JOB], 1);
	assert_int_equal(p.count[SIGN_DENY_RATE], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grant_and_refusals),
		cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_check_job),
	};

	return cmocka_run_group_tests_name("sign_policy", tests, NULL, NULL);
}
