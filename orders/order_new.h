/*
 * order_new.h - the one way an order is made, for an enroll request and
 * for the renewal of a tracked certificate alike: the CSR parsed, the
 * policy's decision, the connector kind's validity rule, then the order
 * stored as received or awaiting approval. What each caller does around
 * it differs and stays with it: the local API audits the request and the
 * decision and replies; tracking records why a renewal could not be
 * made. Neither submits before it has recorded the decision.
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
};

enum order_new_result {
	ORDER_NEW_MADE = 0,	/* stored; id set */
	ORDER_NEW_BAD_CSR,	/* err: why the CSR does not parse */
	ORDER_NEW_DENIED,	/* d says why (d->code, d->reason) */
	ORDER_NEW_VALIDITY,	/* err: what the connector cannot issue */
	ORDER_NEW_STORAGE,	/* err: orders.db refused the write */
};

/*
 * Decides and stores. d is the policy's decision (allowed or not: the
 * caller audits it); *sans (a JSON array, the caller's reference) the
 * names the order is for: those asked for, else the CSR's. On
 * ORDER_NEW_MADE id (ORDER_ID_LEN + 1 bytes) is the new order's.
 */
enum order_new_result order_new(struct agent *, const struct order_ask *,
	    int64_t now, struct decision *d, json_t **sans, char *id,
	    char *err, size_t errlen);

/* ["dns:a", "ip:b", ...] of n names, a new reference. */
json_t	*order_sans_json(const struct san *, size_t n);

#endif
