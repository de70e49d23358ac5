/*
 * poll_schedule.h - when to ask a CA again about an order.
 *
 * A connector's schedule is a list of steps in seconds (default 5, 15,
 * 45, 120, 300): the n-th poll after a "pending" waits the n-th step,
 * the last step repeats; each wait within +-20 %, rounded to whole
 * seconds and never under POLL_MIN_STEP_S. A CA's Retry-After replaces
 * the step (at most an hour). Never past the connector's deadline.
 * Pure functions: the caller brings the clock and the random value, so
 * tests can fix both.
 */
#ifndef HSMAGENT_POLL_SCHEDULE_H
#define HSMAGENT_POLL_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#define POLL_MAX_RETRY_AFTER	3600
#define POLL_MAX_STEPS		8
#define POLL_MIN_STEP_S		1	/* protects the CA from a tight loop */
#define POLL_MAX_STEP_S		3600
#define POLL_DEFAULT_TEXT	"5, 15, 45, 120, 300"

struct poll_schedule {
	uint32_t	step[POLL_MAX_STEPS];	/* seconds, non-decreasing */
	size_t		n;			/* 0: the default */
};

/*
 * Parses "S1, S2, ..." (1 to POLL_MAX_STEPS whole seconds, each at
 * least POLL_MIN_STEP_S and at most POLL_MAX_STEP_S, none shorter than
 * the one before) into *out. 0, or -1 with the reason in why.
 */
int	poll_schedule_parse(const char *text, struct poll_schedule *out,
	    char *why, size_t whylen);
/* rnd: uniform in 0..65535 (the jitter). s NULL or empty: the default. */
int64_t	poll_delay_s(const struct poll_schedule *s, uint32_t attempts,
	    uint32_t retry_after, uint16_t rnd);
/* 1 if an order created at created may no longer be polled at now. */
int	poll_deadline_passed(int64_t created, int64_t now, uint32_t deadline_s);

#endif
