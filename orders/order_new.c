/*
 * order_new.c - see order_new.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "csr.h"
#include "log.h"
#include "order_new.h"
#include "san.h"
#include "util.h"

json_t *
order_sans_json(const struct san *s, size_t n)
{
	static const char *const prefix[] = { "", "dns:", "ip:", "email:" };
	json_t *arr = json_array();
	char	buf[300];

	for (size_t i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s%s", prefix[s[i].type], s[i].value);
		json_array_append_new(arr, json_string(buf));
	}
	return arr;
}

/*
 * The order as decided, under the id its decision was recorded with:
 * owned by the caller, its names as a JSON text.
 */
static enum order_new_result
store(struct agent *a, const struct order_ask *q, struct decision *d,
    char *sans_s, const char *id, char *err, size_t errlen)
{
	struct order	 o;

	memset(&o, 0, sizeof(o));
	snprintf(o.id, sizeof(o.id), "%s", id);
	o.uid = (uint32_t)q->caller->uid;
	o.gid = (uint32_t)q->caller->gid;
	o.pid = (int32_t)q->caller->pid;
	o.user = q->user;
	o.connector = q->connector;
	o.profile = q->profile;
	o.rule = d->rule;
	o.csr_pem = q->csr_pem;
	o.sans_json = sans_s;
	o.validity_days = d->validity_days;
	o.state = d->needs_approval ? ORDER_AWAITING_APPROVAL : ORDER_RECEIVED;
	return (q->defer_sync && !d->needs_approval ? orders_create_unsynced :
	    orders_create)(a->orders, &o, err, errlen) == 0 ?
	    ORDER_NEW_MADE : ORDER_NEW_STORAGE;
}

enum order_new_result
order_new(struct agent *a, const struct order_ask *q, int64_t now,
    struct decision *d, json_t **sans, order_record_fn record, void *ctx,
    char *id, char *err, size_t errlen)
{
	struct csr_info			*csr = xcalloc(1, sizeof(*csr));
	struct enroll_request		 er;
	const struct connector_cfg	*con;
	enum order_new_result		 r;
	char				 new_id[ORDER_ID_LEN + 1];
	char				*sans_s;

	*sans = NULL;
	id[0] = '\0';
	memset(d, 0, sizeof(*d));
	if (csr_parse(q->csr_pem, strlen(q->csr_pem), csr, err, errlen) ==
	    -1) {
		free(csr);
		return ORDER_NEW_BAD_CSR;
	}
	memset(&er, 0, sizeof(er));
	er.connector = q->connector;
	er.profile = q->profile;
	er.sans = q->sans;
	er.nsans = q->nsans;
	er.validity_days = q->validity_days;
	er.csr = csr;
	if (policy_decide(a->policy, q->caller, &er, now, d) == -1)
		d->allowed = 0;
	/* The names the order is for: the request's, else the CSR's. */
	*sans = q->nsans > 0 ? order_sans_json(q->sans, q->nsans) :
	    order_sans_json(csr->sans, csr->nsans);
	free(csr);
	if (!d->allowed)
		return ORDER_NEW_DENIED;
	if ((con = config_connector(a->cfg, q->connector)) != NULL &&
	    config_connector_validity(con, d->validity_days, err, errlen) ==
	    -1)
		return ORDER_NEW_VALIDITY;
	/* What could fail before the record does, so that it rarely follows. */
	if ((sans_s = json_dumps(*sans, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "the order's names do not encode");
		log_error("orders: %s", err);
		return ORDER_NEW_STORAGE;
	}
	if (orders_new_id(new_id) == -1) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		log_error("orders: %s", err);
		free(sans_s);
		return ORDER_NEW_STORAGE;
	}
	/* The decision on record first: the order never exists without it. */
	if (record(ctx, new_id, d, *sans) == -1) {
		free(sans_s);
		return ORDER_NEW_UNRECORDED;
	}
	snprintf(id, ORDER_ID_LEN + 1, "%s", new_id);
	if ((r = store(a, q, d, sans_s, new_id, err, errlen)) != ORDER_NEW_MADE)
		log_error("orders: %s", err);
	free(sans_s);
	return r;
}
