/*
 * poll_schedule.c - the polling schedule (see poll_schedule.h).
 */
#include <stdio.h>

#include "poll_schedule.h"

static const struct poll_schedule default_schedule = {
	{ 5, 15, 45, 120, 300 }, 5
};

static int
not_seconds(char *why, size_t whylen)
{
	snprintf(why, whylen, "expected whole seconds separated by \",\", "
	    "like \"%s\"", POLL_DEFAULT_TEXT);
	return -1;
}

int
poll_schedule_parse(const char *text, struct poll_schedule *out,
    char *why, size_t whylen)
{
	const char	*p = text;
	uint64_t	 v;
	size_t		 n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			return not_seconds(why, whylen);
		/* Saturates past the maximum: no overflow, still refused. */
		for (v = 0; *p >= '0' && *p <= '9'; p++)
			if (v <= POLL_MAX_STEP_S)
				v = v * 10 + (uint64_t)(*p - '0');
		if (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
			return not_seconds(why, whylen);
		if (v < POLL_MIN_STEP_S || v > POLL_MAX_STEP_S) {
			snprintf(why, whylen, "a step %s %llu s: each step is %d "
			    "to %d s (the lower bound keeps the CA from being "
			    "polled in a loop)", v > POLL_MAX_STEP_S ? "over" :
			    "of", (unsigned long long)(v > POLL_MAX_STEP_S ?
			    POLL_MAX_STEP_S : v), POLL_MIN_STEP_S,
			    POLL_MAX_STEP_S);
			return -1;
		}
		if (n == POLL_MAX_STEPS) {
			snprintf(why, whylen, "more than %d steps (the last one "
			    "repeats)", POLL_MAX_STEPS);
			return -1;
		}
		if (n > 0 && v < out->step[n - 1]) {
			snprintf(why, whylen, "a step of %llu s after one of "
			    "%u s: a schedule never polls faster than before",
			    (unsigned long long)v, out->step[n - 1]);
			return -1;
		}
		out->step[n++] = (uint32_t)v;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			return not_seconds(why, whylen);
	}
	out->n = n;
	return 0;
}

int64_t
poll_delay_s(const struct poll_schedule *s, uint32_t attempts,
    uint32_t retry_after, uint16_t rnd)
{
	int64_t	base_ms, ms;

	if (retry_after > 0)
		return retry_after > POLL_MAX_RETRY_AFTER ?
		    POLL_MAX_RETRY_AFTER : retry_after;
	if (s == NULL || s->n == 0)
		s = &default_schedule;
	base_ms = (int64_t)s->step[attempts < s->n ? attempts : s->n - 1] *
	    1000;
	/* base * (0.8 + 0.4 * rnd / 65535): within +-20 % of base. */
	ms = base_ms * 8 / 10 + base_ms * 4 * (int64_t)rnd / (10 * 65535);
	/* Whole seconds (the order table's clock), never under the bound. */
	ms = (ms + 500) / 1000;
	return ms < POLL_MIN_STEP_S ? POLL_MIN_STEP_S : ms;
}

int
poll_deadline_passed(int64_t created, int64_t now, uint32_t deadline_s)
{
	return now - created > (int64_t)deadline_s;
}
