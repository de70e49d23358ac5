/*
 * api_budget.h - how much of the agent's audit log one local uid may
 * spend.
 *
 * Every request that can write a record (all but health, metrics and
 * version; a line that does not parse too) takes a token from its
 * uid's bucket first: [api] uid_rate a second, uid_burst at once
 * (defaults API_BUDGET_RATE and API_BUDGET_BURST). Past that the request is answered "busy" without any record, and
 * the refusals are summed up in one record per uid every
 * API_BUDGET_REPORT_MS. A record is an fsync: without this, any local
 * user could write thousands a second and fill the disk, after which
 * every enrollment is refused (fail closed).
 */
#ifndef HSMAGENT_API_BUDGET_H
#define HSMAGENT_API_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#define API_BUDGET_UIDS		64	/* uids tracked; the least recent goes */
#define API_BUDGET_RATE		10	/* default requests a second, per uid */
#define API_BUDGET_BURST	60	/* default bucket size */
#define API_BUDGET_REPORT_MS	10000
#define API_BAD_LINES_MAX	3	/* a connection's, then it is closed */

struct api_budget_slot {
	int		 used;
	uint32_t	 uid;
	double		 tokens;
	int64_t		 last_ms;
	uint64_t	 refused;	/* since the last summary */
};

struct api_budget {
	struct api_budget_slot	 slot[API_BUDGET_UIDS];
	int64_t			 next_report_ms;
	uint64_t		 refused_total;
	uint32_t		 rate;		/* 0: API_BUDGET_RATE */
	uint32_t		 burst;		/* 0: API_BUDGET_BURST */
};

/* Sets the per-uid rate and burst (0: the defaults); keeps the slots. */
void	api_budget_set(struct api_budget *, uint32_t rate, uint32_t burst);
uint32_t api_budget_rate(const struct api_budget *);

/* 1: the uid may go on; 0: over its budget (counted). */
int	api_budget_take(struct api_budget *, uint32_t uid, int64_t now_ms);

/*
 * Calls report(arg, uid, n) for each uid refused n > 0 times since the
 * last call, at most every API_BUDGET_REPORT_MS; the next due time (ms).
 */
int64_t	api_budget_tick(struct api_budget *, int64_t now_ms,
	    void (*report)(void *, uint32_t uid, uint64_t n), void *arg);

#endif
