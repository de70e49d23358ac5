/*
 * test_api_budget.c - the per-uid request budget: the defaults, a
 * configured rate and burst, refill over time, a change of rate keeping
 * each uid's tokens, uids apart, and the slot table full of uids that
 * still owe a report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api_budget.h"

/* Requests granted to uid at time now, asking until the first refusal. */
static int
granted_until_refused(struct api_budget *b, uint32_t uid, int64_t now)
{
	int n = 0;

	while (api_budget_take(b, uid, now))
		if (++n > 1000000)
			fail_msg("no refusal after a million requests");
	return n;
}

static void
test_defaults(void **state)
{
	struct api_budget b;

	(void)state;
	memset(&b, 0, sizeof(b));
	assert_int_equal(api_budget_rate(&b), API_BUDGET_RATE);
	assert_int_equal(granted_until_refused(&b, 1000, 1000),
	    API_BUDGET_BURST);
	/* One second later, exactly the rate's worth again. */
	assert_int_equal(granted_until_refused(&b, 1000, 2000),
	    API_BUDGET_RATE);
	assert_int_equal(b.refused_total, 2);
}

static void
test_configured(void **state)
{
	struct api_budget b;

	(void)state;
	memset(&b, 0, sizeof(b));
	api_budget_set(&b, 500, 2000);
	assert_int_equal(api_budget_rate(&b), 500);
	assert_int_equal(granted_until_refused(&b, 7, 0), 2000);
	assert_int_equal(granted_until_refused(&b, 7, 100), 50);
	/* Refill never passes the burst. */
	assert_int_equal(granted_until_refused(&b, 7, 1000000), 2000);
	/* Another uid has its own bucket. */
	assert_int_equal(granted_until_refused(&b, 8, 1000000), 2000);
}

static void
test_change_keeps_tokens(void **state)
{
	struct api_budget b;

	(void)state;
	memset(&b, 0, sizeof(b));
	api_budget_set(&b, 1, 5);
	assert_int_equal(granted_until_refused(&b, 3, 0), 5);
	/* A reload raising the rate does not refill a spent bucket... */
	api_budget_set(&b, 1000, 5000);
	assert_int_equal(granted_until_refused(&b, 3, 0), 0);
	/* ...but the new rate applies from then on. */
	assert_int_equal(granted_until_refused(&b, 3, 10), 10);
	/* Lowering the burst caps what a bucket holds. */
	api_budget_set(&b, 1000, 3);
	assert_int_equal(granted_until_refused(&b, 3, 100000), 3);
}

static void
count_report(void *arg, uint32_t uid, uint64_t n)
{
	(void)uid;
	*(uint64_t *)arg += n;
}

static void
test_full_table(void **state)
{
	struct api_budget	b;
	uint64_t		reported = 0;

	(void)state;
	memset(&b, 0, sizeof(b));
	api_budget_set(&b, 1, 1);
	/* Every slot owes a report: a new uid is refused outright. */
	for (uint32_t uid = 1; uid <= API_BUDGET_UIDS; uid++)
		assert_int_equal(granted_until_refused(&b, uid, 0), 1);
	assert_int_equal(api_budget_take(&b, 99999, 0), 0);
	assert_int_equal(b.refused_total, API_BUDGET_UIDS + 1);
	/* After the report the slots are free again. */
	api_budget_tick(&b, 0, count_report, &reported);
	api_budget_tick(&b, API_BUDGET_REPORT_MS, count_report, &reported);
	assert_int_equal(reported, API_BUDGET_UIDS);
	assert_int_equal(api_budget_take(&b, 99999, API_BUDGET_REPORT_MS), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_configured),
		cmocka_unit_test(test_change_keeps_tokens),
		cmocka_unit_test(test_full_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
