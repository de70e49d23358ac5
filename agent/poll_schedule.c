/*
 * poll_schedule.c - the polling schedule (see poll_schedule.h).
 */
#include "poll_schedule.h"

int64_t
poll_delay_s(uint32_t attempts, uint32_t retry_after, uint16_t rnd)
{
	static const int64_t	steps[] = { 5, 15, 45, 120, 300 };
	int64_t			base;

	if (retry_after > 0)
		return retry_after > POLL_MAX_RETRY_AFTER ?
		    POLL_MAX_RETRY_AFTER : retry_after;
	base = steps[attempts < 5 ? attempts : 4];
	/* base * (0.8 + 0.4 * rnd / 65535): within +-20 % of base. */
	return base * 8 / 10 + base * 4 * (int64_t)rnd / (10 * 65535);
}

int
poll_deadline_passed(int64_t created, int64_t now, uint32_t deadline_s)
{
	return now - created > (int64_t)deadline_s;
}
