/*
 * test_poll_schedule.c - the polling schedule with a fixed random
 * source: each delay within +-20 % of 5/15/45/120/300 s, the extremes of
 * the jitter reached, Retry-After honoured and capped, the deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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
			int64_t d = poll_delay_s(a, 0, rnd[k]);

			/* Integer seconds: within [0.8 b, 1.2 b]. */
			assert_true(d * 10 >= base[a] * 8);
			assert_true(d * 10 <= base[a] * 12);
		}
		assert_int_equal(poll_delay_s(a, 0, 0), base[a] * 8 / 10);
		assert_int_equal(poll_delay_s(a, 0, 65535), base[a] * 12 / 10);
	}
	/* Far along the schedule it stays at 5 minutes. */
	assert_int_equal(poll_delay_s(1000, 0, 32768),
	    poll_delay_s(4, 0, 32768));
}

static void
test_retry_after(void **state)
{
	(void)state;
	assert_int_equal(poll_delay_s(0, 7, 0), 7);
	assert_int_equal(poll_delay_s(3, 1, 65535), 1);
	assert_int_equal(poll_delay_s(0, 999999, 0), POLL_MAX_RETRY_AFTER);
}

static void
test_deadline(void **state)
{
	(void)state;
	assert_int_equal(poll_deadline_passed(1000, 1600, 600), 0);
	assert_int_equal(poll_deadline_passed(1000, 1601, 600), 1);
	assert_int_equal(poll_deadline_passed(1000, 999, 600), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_and_jitter),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
