/*
 * test_poll_schedule.c - the polling schedule with a fixed random
 * source: each delay within +-20 % of 5/15/45/120/300 s, the extremes of
 * the jitter reached, Retry-After honoured and capped, the deadline; a
 * configured schedule parsed strictly (the 1 s floor, order, count) and
 * followed, its last step repeated, never under 1 s after the jitter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "poll_schedule.h"

static void
test_steps_and_jitter(void **state)
{
	static const int64_t	base[] = { 5, 15, 45, 120, 300, 300, 300 };
	static const uint16_t	rnd[] = { 0, 1, 16384, 32768, 49151, 65534,
	    65535 };

	(void)state;
	for (uint32_t a = 0; a < 7; a++) {
		for (size_t k = 0; k < sizeof(rnd) / sizeof(rnd[0]); k++) {
			int64_t d = poll_delay_s(NULL, a, 0, rnd[k]);

			/* Integer seconds: within [0.8 b, 1.2 b]. */
			assert_true(d * 10 >= base[a] * 8);
			assert_true(d * 10 <= base[a] * 12);
		}
		assert_int_equal(poll_delay_s(NULL, a, 0, 0), base[a] * 8 / 10);
		assert_int_equal(poll_delay_s(NULL, a, 0, 65535), base[a] * 12 / 10);
	}
	/* Far along the schedule it stays at 5 minutes. */
	assert_int_equal(poll_delay_s(NULL, 1000, 0, 32768),
	    poll_delay_s(NULL, 4, 0, 32768));
}

static void
test_retry_after(void **state)
{
	(void)state;
	assert_int_equal(poll_delay_s(NULL, 0, 7, 0), 7);
	assert_int_equal(poll_delay_s(NULL, 3, 1, 65535), 1);
	assert_int_equal(poll_delay_s(NULL, 0, 999999, 0), POLL_MAX_RETRY_AFTER);
}

static void
test_deadline(void **state)
{
	(void)state;
	assert_int_equal(poll_deadline_passed(1000, 1600, 600), 0);
	assert_int_equal(poll_deadline_passed(1000, 1601, 600), 1);
	assert_int_equal(poll_deadline_passed(1000, 999, 600), 0);
}

static void
test_configured(void **state)
{
	struct poll_schedule	s;
	char			why[160];

	(void)state;
	assert_int_equal(poll_schedule_parse("1, 2,8", &s, why, sizeof(why)),
	    0);
	assert_int_equal(s.n, 3);
	/* Followed step by step, the last repeated; jitter within 20 %. */
	assert_int_equal(poll_delay_s(&s, 0, 0, 32768), 1);
	assert_int_equal(poll_delay_s(&s, 1, 0, 32768), 2);
	assert_int_equal(poll_delay_s(&s, 2, 0, 0), 6);	/* 6.4 */
	assert_int_equal(poll_delay_s(&s, 2, 0, 65535), 10);	/* 9.6 */
	assert_int_equal(poll_delay_s(&s, 9, 0, 32768), 8);
	/* 1 s with the jitter's low end (0.8 s): never under 1 s. */
	assert_int_equal(poll_delay_s(&s, 0, 0, 0), 1);
	/* Retry-After still wins. */
	assert_int_equal(poll_delay_s(&s, 0, 30, 0), 30);
	/* The default written out is the default. */
	assert_int_equal(poll_schedule_parse(POLL_DEFAULT_TEXT, &s, why,
	    sizeof(why)), 0);
	for (uint32_t a = 0; a < 7; a++)
		assert_int_equal(poll_delay_s(&s, a, 0, 12345),
		    poll_delay_s(NULL, a, 0, 12345));
}

static void
test_parse_refusals(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "0, 5", "a step of 0 s" },
		{ "0.5, 5", "whole seconds" },
		{ "5, 3601", "a step over 3600 s" },
		{ "99999999999999999999", "a step over 3600 s" },
		{ "15, 5", "never polls faster" },
		{ "1,1,1,1,1,1,1,1,1", "more than 8 steps" },
		{ "", "whole seconds" },
		{ "5,", "whole seconds" },
		{ "5 15", "whole seconds" },
		{ "-1", "whole seconds" },
	};
	struct poll_schedule	s;
	char			why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0, sizeof(s));
		why[0] = '\0';
		if (poll_schedule_parse(bad[i].text, &s, why, sizeof(why)) != -1)
			fail_msg("\"%s\" was accepted", bad[i].text);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].text,
			    why, bad[i].why);
	}
	assert_int_equal(poll_schedule_parse("1,1,1,1,1,1,1,3600", &s, why,
	    sizeof(why)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_and_jitter),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_configured),
		cmocka_unit_test(test_parse_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
