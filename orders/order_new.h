/*
 * order_new.h - the one way an order is made, for an enroll request and
 * for the renewal of a tracked certificate alike: the CSR parsed, the
 * policy's decision, the connector kind's validity rule, then the order
 * stored as received or awaiting approval. What each caller does around
 * it differs and stays with it: the local API audits the request and the
 * decision and replies; tracking records the renewal, or why it could
 * not be made. Both record an allowed decision through the record
 * callback, which runs with the new order's id before the order is
 * stored: no order exists, even after a crash, whose decision the audit
 * log does not hold (SECURITY.md, "Records before state").
 */
#ifndef HSMAGENT_ORDER_NEW_H
#define HSMAGENT_ORDER_NEW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "orders.h"
#include "policy.h"

struct agent;
struct san;

/*
 * What is asked, and by whom (the strings are stored, never changed:
 * struct order's members are not const).
 */
struct order_ask {
	const struct caller	*caller;
	char			*user;		/* the caller's name, stored */
	char			*connector, *profile, *csr_pem;
	const struct san	*sans;		/* as asked; 0 of them: none */
	size_t			 nsans;
	uint32_t		 validity_days;	/* as asked; 0: none */
	/*
	 * Stored unsynced unless it awaits approval: the caller submits it
	 * at once (its synced change of state carries the order to the
	 * disk) and calls orders_sync() before it answers for it.
	 */
	int			 defer_sync;
};

enum order_new_result {
	ORDER_NEW_MADE = 0,	/* stored; id set */
	ORDER_NEW_BAD_CSR,	/* err: why the CSR does not parse */
	ORDER_NEW_DENIED,	/* d says why (d->code, d->reason) */
	ORDER_NEW_VALIDITY,	/* err: what the connector cannot issue */
	ORDER_NEW_STORAGE,	/* err: orders.db refused the write */
	ORDER_NEW_UNRECORDED,	/* the record callback failed: nothing stored */
};

/*
 * Puts an allowed decision on record for the order id, synced, and
 * whatever else must name the id before the order exists (tracking
 * points the tracked certificate at it): 0, or -1 and the order is not
 * stored (the callback says why to whom it must).
 */
typedef int	(*order_record_fn)(void *ctx, const char *id,
		    const struct decision *, json_t *sans);

/*
 * Decides, records and stores. d is the policy's decision (a refusal is
 * the caller's to audit; an allowed one goes to record(ctx, ...) before
 * the order is stored); *sans (a JSON array, the caller's reference) the
 * names the order is for: those asked for, else the CSR's. id
 * (ORDER_ID_LEN + 1 bytes) is the new order's on ORDER_NEW_MADE, and on
 * ORDER_NEW_STORAGE when its decision was recorded before the store
 * failed (else empty): the caller then records that it was not made.
 */
enum order_new_result order_new(struct agent *, const struct order_ask *,
	    int64_t now, struct decision *d, json_t **sans,
	    order_record_fn record, void *ctx, char *id, char *err,
	    size_t errlen);

/* ["dns:a", "ip:b", ...] of n names, a new reference. */
json_t	*order_sans_json(const struct san *, size_t n);

#endif
