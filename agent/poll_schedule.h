/*
 * poll_schedule.h - when to ask a CA again about an order.
 *
 * 5 s, 15 s, 45 s, 2 min, then every 5 min, each within +-20 %, or
 * what the CA's Retry-After says (at most an hour); never past the
 * connector's deadline. Pure functions: the caller brings the clock and
 * the random value, so tests can fix both.
 */
#ifndef HSMAGENT_POLL_SCHEDULE_H
#define HSMAGENT_POLL_SCHEDULE_H

#include <stdint.h>

#define POLL_MAX_RETRY_AFTER	3600

/* rnd: uniform in 0..65535 (the jitter). */
int64_t	poll_delay_s(uint32_t attempts, uint32_t retry_after, uint16_t rnd);
/* 1 if an order created at created may no longer be polled at now. */
int	poll_deadline_passed(int64_t created, int64_t now, uint32_t deadline_s);

#endif
