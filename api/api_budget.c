/*
 * api_budget.c - see api_budget.h. Pure logic: no I/O.
 */
#include <string.h>

#include "api_budget.h"

void
api_budget_set(struct api_budget *b, uint32_t rate, uint32_t burst)
{
	b->rate = rate;
	b->burst = burst;
}

uint32_t
api_budget_rate(const struct api_budget *b)
{
	return b->rate ? b->rate : API_BUDGET_RATE;
}

static double
burst_of(const struct api_budget *b)
{
	return b->burst ? b->burst : API_BUDGET_BURST;
}

static struct api_budget_slot *
slot_of(struct api_budget *b, uint32_t uid, int64_t now)
{
	struct api_budget_slot *free_s = NULL, *old = NULL;

	for (size_t i = 0; i < API_BUDGET_UIDS; i++) {
		struct api_budget_slot *s = &b->slot[i];

		if (s->used && s->uid == uid)
			return s;
		if (!s->used && free_s == NULL)
			free_s = s;
		/* One with refusals still to report is kept. */
		if (s->used && s->refused == 0 && (old == NULL ||
		    s->last_ms < old->last_ms))
			old = s;
	}
	if (free_s == NULL)
		free_s = old;
	if (free_s == NULL)
		return NULL;
	memset(free_s, 0, sizeof(*free_s));
	free_s->used = 1;
	free_s->uid = uid;
	free_s->tokens = burst_of(b);
	free_s->last_ms = now;
	return free_s;
}

int
api_budget_take(struct api_budget *b, uint32_t uid, int64_t now)
{
	struct api_budget_slot *s = slot_of(b, uid, now);

	if (s == NULL) {
		/* Every slot owes a report: sixty-four uids flooding at once. */
		b->refused_total++;
		return 0;
	}
	if (now > s->last_ms) {
		s->tokens += (double)(now - s->last_ms) * api_budget_rate(b) /
		    1000.0;
		if (s->tokens > burst_of(b))
			s->tokens = burst_of(b);
	}
	s->last_ms = now;
	if (s->tokens >= 1.0) {
		s->tokens -= 1.0;
		return 1;
	}
	s->refused++;
	b->refused_total++;
	return 0;
}

int64_t
api_budget_tick(struct api_budget *b, int64_t now,
    void (*report)(void *, uint32_t, uint64_t), void *arg)
{
	if (b->next_report_ms == 0)
		b->next_report_ms = now + API_BUDGET_REPORT_MS;
	if (now < b->next_report_ms)
		return b->next_report_ms;
	for (size_t i = 0; i < API_BUDGET_UIDS; i++)
		if (b->slot[i].used && b->slot[i].refused > 0) {
			report(arg, b->slot[i].uid, b->slot[i].refused);
			b->slot[i].refused = 0;
		}
	b->next_report_ms = now + API_BUDGET_REPORT_MS;
	return b->next_report_ms;
}
