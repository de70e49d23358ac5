/*
 * api_ops.c - what each local API operation does.
 *
 * Order of every state change: decide, write the audit record, then
 * act. If the audit record cannot be written the operation is refused
 * (fail closed): nothing happens that the log does not show.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agent.h"
#include "audit_checkpoint.h"
#include "api_server.h"
#include "audit.h"
#include "csr.h"
#include "order_new.h"
#include "tlog_receipt.h"
#include "log.h"
#include "orders.h"
#include "policy.h"
#include "util.h"

static void
actor_of(const struct api_conn *c, struct audit_actor *ac)
{
	ac->uid = (long)c->uid;
	ac->gid = (long)c->gid;
	ac->pid = (long)c->pid;
	ac->user = c->user;
}

static void
caller_of(const struct api_conn *c, struct caller *k)
{
	k->uid = c->uid;
	k->gid = c->gid;
	k->pid = c->pid;
	k->user = c->user;
	k->groups = c->groups;
	k->ngroups = c->ngroups;
}

/*
 * The caller's record, synced or (deferred) written for the next synced
 * record to carry: 0, or -1 after replying "unavailable" (the record
 * could not be kept).
 */
static int
audit_as(struct agent *a, struct api_conn *c, int deferred,
    const char *event, const char *target, const char *outcome,
    json_t *details)
{
	struct audit_actor	ac;
	int			r;

	actor_of(c, &ac);
	r = (deferred ? audit_append_deferred : audit_append)(a->audit, event,
	    &ac, target, outcome, details);
	json_decref(details);
	if (r == -1) {
		log_error("audit: cannot write %s for uid %ld: refusing the "
		    "operation", event, (long)c->uid);
		api_reply_error(c, "unavailable", "the audit log cannot be "
		    "written; operation refused");
	} else if (deferred && a->audit_dirty_ms == 0)
		a->audit_dirty_ms = monotime_ms();  /* agent_audit_tick() */
	return r;
}

int
api_ops_audit(struct agent *a, struct api_conn *c, const char *event,
    const char *target, const char *outcome, json_t *details)
{
	return audit_as(a, c, 0, event, target, outcome, details);
}

void
api_ops_refused(struct agent *a, const struct api_conn *who, const char *why)
{
	struct audit_actor	 ac;
	json_t			*d = json_pack("{s:s}", "reason", why);

	actor_of(who, &ac);
	/* audit_append takes no reference: the details are ours to free. */
	if (audit_append(a->audit, "api.connection_refused", &ac, NULL,
	    "refused", d) == -1)
		log_error("audit: cannot record a refused connection");
	json_decref(d);
}

/* One record per uid that went over its budget, and by how much. */
static void
report_throttled(void *arg, uint32_t uid, uint64_t n)
{
	struct agent		*a = arg;
	struct audit_actor	 ac = { (long)uid, -1, -1, NULL };
	json_t			*d = json_pack("{s:I,s:i}", "requests",
				    (json_int_t)n, "per_second", (int)api_budget_rate(&a->api.budget));

	log_warn("api: uid %u was over its request budget %llu times",
	    (unsigned)uid, (unsigned long long)n);
	if (audit_append(a->audit, "api.throttled", &ac, NULL, "refused",
	    d) == -1)
		log_error("audit: cannot record a throttled uid");
	json_decref(d);
}

int64_t
api_ops_budget_tick(struct agent *a, int64_t now)
{
	if (a->audit == NULL)
		return 0;
	return api_budget_tick(&a->api.budget, now, report_throttled, a);
}

void
api_ops_bad_request(struct agent *a, const struct api_conn *c,
    const char *why)
{
	struct audit_actor	ac;
	json_t			*d = json_pack("{s:s}", "reason", why);

	actor_of(c, &ac);
	if (audit_append(a->audit, "api.bad_request", &ac, NULL, "refused",
	    d) == -1)
		log_error("audit: cannot record a bad request");
	json_decref(d);
}

void
api_ops_conn_closed(struct agent *a, struct api_conn *c)
{
	(void)a;
	c->waiting[0] = '\0';
}

/* ---- orders as JSON ------------------------------------------------------ */

static json_t *
order_json(const struct order *o, int with_pem)
{
	json_t		*j, *sans;
	json_error_t	 e;

	sans = json_loads(o->sans_json ? o->sans_json : "[]", 0, &e);
	j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:s,s:o*,s:I}",
	    "id", o->id, "state", order_state_name(o->state), "created",
	    (json_int_t)o->created,
	    "updated", (json_int_t)o->updated, "uid", (json_int_t)o->uid,
	    "user", o->user ? o->user : "", "connector", o->connector,
	    "profile", o->profile, "sans", sans,
	    "validity_days", (json_int_t)o->validity_days);
	if (j == NULL)
		return json_pack("{s:s,s:s}", "id", o->id, "state",
		    order_state_name(o->state));
	if (o->rule != NULL)
		json_object_set_new(j, "rule", json_string(o->rule));
	if (o->serial != NULL)
		json_object_set_new(j, "serial", json_string(o->serial));
	/* The CA's own ids: what its staff ask for (Sectigo sslId). */
	if (o->ca_handle != NULL)
		json_object_set_new(j, "ca_handle", json_string(o->ca_handle));
	if (o->ca_renew_id != NULL)
		json_object_set_new(j, "ca_renew_id",
		    json_string(o->ca_renew_id));
	if (o->last_error != NULL)
		json_object_set_new(j, "last_error", json_string(o->last_error));
	/* When the agent next asks the CA: a poller can come just after. */
	if (o->next_poll > 0 && !order_state_final(o->state))
		json_object_set_new(j, "next_poll",
		    json_integer((json_int_t)o->next_poll));
	if (o->revoke_reason != NULL)
		json_object_set_new(j, "revoke_reason",
		    json_string(o->revoke_reason));
	if (with_pem && o->cert_pem != NULL) {
		json_object_set_new(j, "certificate", json_string(o->cert_pem));
		json_object_set_new(j, "chain", json_string(o->chain_pem ?
		    o->chain_pem : ""));
	}
	return j;
}

static void
reply_order(struct api_conn *c, const struct order *o, int with_pem)
{
	api_reply(c, json_pack("{s:b,s:o}", "ok", 1, "order",
	    order_json(o, with_pem)));
}

int
api_ops_is_admin(struct agent *a, const struct api_conn *c)
{
	struct caller k;

	caller_of(c, &k);
	return policy_is_admin(a->policy, &k);
}

/* Callers see their own orders; admins (policy [admins]) see all. */
int
api_ops_may_see(struct agent *a, const struct api_conn *c, uint32_t owner)
{
	return owner == (uint32_t)c->uid || api_ops_is_admin(a, c);
}

/* ---- enroll ---------------------------------------------------------------- */

/*
 * A retried submission (reuse_pending) of a CSR the caller already has
 * a live order for: that order, not a second enrollment. Checked before
 * the CSR is parsed and the policy asked (a live order's CSR parsed when
 * it was made, so a bad CSR never matches): the retry neither counts
 * against the caller's rate nor is decided twice, as the order it finds
 * was allowed when it was made. 1 with its id, 0 none, -1 after replying.
 */
static int
reuse_live(struct agent *a, struct api_conn *c, const struct api_request *r,
    char *id)
{
	struct order	o;
	int		found;

	found = orders_find_live(a->orders, (uint32_t)c->uid, r->connector,
	    r->profile, r->csr, &o);
	if (found == -1) {
		if (api_ops_audit(a, c, "order.request", NULL, "failed",
		    json_pack("{s:s,s:s,s:s}", "connector", r->connector,
		    "profile", r->profile, "reason", "cannot read orders")) ==
		    0)
			api_reply_error(c, "internal", "cannot read orders");
		return -1;
	}
	if (found == 0)
		return 0;
	snprintf(id, ORDER_ID_LEN + 1, "%s", o.id);
	order_free(&o);
	return api_ops_audit(a, c, "order.request", id, "reused", json_pack(
	    "{s:s,s:s}", "connector", r->connector, "profile", r->profile)) ==
	    0 ? 1 : -1;
}

/* A typo, not a policy question: say what there is. -1 after replying. */
static int
no_such_connector(struct agent *a, struct api_conn *c,
    const struct api_request *r)
{
	char	 err[512];
	size_t	 n = 0;

	n += (size_t)snprintf(err, sizeof(err), "no connector \"%s\" is "
	    "configured; configured:", r->connector);
	for (size_t i = 0; i < a->cfg->nconnectors && n < sizeof(err); i++)
		n += (size_t)snprintf(err + n, sizeof(err) - n, "%s %s",
		    i ? "," : "", a->cfg->connectors[i].name);
	if (a->cfg->nconnectors == 0)
		snprintf(err + n, n < sizeof(err) ? sizeof(err) - n : 0,
		    " none");
	if (api_ops_audit(a, c, "order.request", NULL, "refused",
	    json_pack("{s:s,s:s,s:s}", "connector", r->connector, "profile",
	    r->profile, "reason", "no such connector")) == 0)
		api_reply_error(c, "not_found", "%s", err);
	return -1;
}

/*
 * The request's own record, "received", is written unsynced: the record
 * that follows it on every path (a refusal, the decision, a failure) is
 * synced before anything is stored or answered, and its fsync carries
 * this one to the disk too. One fsync an order fewer, and the order of
 * the records is unchanged. 0, or -1 after replying "unavailable".
 */
static int
audit_received(struct agent *a, struct api_conn *c, const struct api_request *r)
{
	return audit_as(a, c, 1, "order.request", NULL, "received",
	    json_pack("{s:s,s:s,s:i,s:b,s:i}", "connector", r->connector,
	    "profile", r->profile, "sans", (int)r->nsans, "wait", r->wait,
	    "validity_days", (int)r->validity_days));
}

struct allowed {
	struct agent		*a;
	struct api_conn		*c;
	const struct api_request *r;
};

/* The decision on record (synced), with the order's id, before it exists. */
static int
record_allowed(void *ctx, const char *id, const struct decision *d,
    json_t *sans)
{
	const struct allowed *w = ctx;

	return api_ops_audit(w->a, w->c, "policy.decision", id, "allowed",
	    json_pack("{s:s,s:s,s:s,s:b,s:i,s:O}", "connector",
	    w->r->connector, "profile", w->r->profile, "rule", d->rule,
	    "approval", d->needs_approval, "validity_days",
	    (int)d->validity_days, "sans", sans));
}

/*
 * An order from an enroll (or track) request: audited, decided by the
 * policy, stored and, unless it awaits approval, submitted. 0 with its
 * id, or -1 after replying why not. Every reply follows a synced record.
 */
int
api_ops_new_order(struct agent *a, struct api_conn *c, struct api_request *r,
    char *id)
{
	struct order_ask	 q;
	struct decision		 d;
	struct caller		 k;
	struct allowed		 w = { a, c, r };
	json_t			*sans = NULL;
	char			 err[512];
	int			 rc;

	/* Every request is on record before anything is decided. */
	if (audit_received(a, c, r) == -1)
		return -1;
	if (config_connector(a->cfg, r->connector) == NULL)
		return no_such_connector(a, c, r);
	/* A live order has a CSR that parsed: a bad one never matches. */
	if (r->reuse_pending && (rc = reuse_live(a, c, r, id)) != 0)
		return rc == 1 ? 0 : -1;
	caller_of(c, &k);
	memset(&q, 0, sizeof(q));
	q.caller = &k;
	q.user = c->user;
	q.connector = r->connector;
	q.profile = r->profile;
	q.csr_pem = r->csr;
	q.sans = r->sans;
	q.nsans = r->nsans;
	q.validity_days = r->validity_days;
	q.defer_sync = 1;
	switch (order_new(a, &q, (int64_t)time(NULL), &d, &sans,
	    record_allowed, &w, id, err, sizeof(err))) {
	case ORDER_NEW_BAD_CSR:
		if (api_ops_audit(a, c, "order.request", NULL, "refused",
		    json_pack("{s:s,s:s,s:s}", "connector", r->connector,
		    "profile", r->profile, "reason", err)) == 0)
			api_reply_error(c, "bad_request", "CSR: %s", err);
		return -1;
	case ORDER_NEW_DENIED:
		if (api_ops_audit(a, c, "policy.decision", NULL, "denied",
		    json_pack("{s:s,s:s,s:s,s:s,s:O}", "connector",
		    r->connector, "profile", r->profile, "rule", d.rule,
		    "reason", d.reason, "sans", sans)) == 0)
			api_reply_error(c, d.code ? d.code : "policy_denied",
			    "%s", d.reason);
		json_decref(sans);
		return -1;
	case ORDER_NEW_VALIDITY:
		if (api_ops_audit(a, c, "order.request", NULL, "refused",
		    json_pack("{s:s,s:s,s:s}", "connector", r->connector,
		    "profile", r->profile, "reason", err)) == 0)
			api_reply_error(c, "bad_request", "%s", err);
		json_decref(sans);
		return -1;
	case ORDER_NEW_UNRECORDED:
		/* record_allowed() replied: nothing was stored. */
		json_decref(sans);
		return -1;
	case ORDER_NEW_STORAGE:
		/*
		 * Storage fails closed: nothing was taken, try again. An
		 * allowed decision on record (id set) is followed by why
		 * its order does not exist.
		 */
		if (api_ops_audit(a, c, "order.request", id[0] ? id : NULL,
		    "failed", json_pack("{s:s,s:s,s:s}", "connector",
		    r->connector, "profile", r->profile, "reason",
		    "cannot store the order")) == 0)
			api_reply_error(c, "unavailable", "cannot store the "
			    "order");
		json_decref(sans);
		return -1;
	case ORDER_NEW_MADE:
		break;
	}
	json_decref(sans);
	if (!d.needs_approval)
		order_submit(a, id);
	/*
	 * Stored unsynced: its submission's synced change of state took it
	 * to the disk (one fdatasync for both). If it was not submitted (no
	 * free job, no usable credential: it waits as received), it is
	 * synced here, before anyone is told of it. A sync that fails (the
	 * disk full or failing: health says so) leaves the order as the
	 * agent will go on with it, and that is the answer: saying it was
	 * refused would invite a second order for the same certificate.
	 */
	if (orders_sync(a->orders) == -1)
		log_error("order %s: stored, but not yet synced to the disk",
		    id);
	return 0;
}

static void
op_enroll(struct agent *a, struct api_conn *c, struct api_request *r)
{
	char id[ORDER_ID_LEN + 1];

	if (api_ops_new_order(a, c, r, id) == 0)
		api_ops_answer_order(a, c, id, r->wait);
}

/*
 * Replies with the order now; with wait, only once it is final (the
 * connection is kept and told about state changes meanwhile).
 */
/*
 * A connection that waits on an order is never idle and never evicted,
 * so their number is capped: API_WAIT_PER_ORDER on one order, half of a
 * uid's connections for one uid. Past that the answer is the order as
 * it stands, at once.
 */
static int
may_wait(struct agent *a, const struct api_conn *c, const char *id)
{
	size_t	 mine = 0, on_order = 0;
	size_t	 cap = a->api.per_uid / 2 > 0 ? a->api.per_uid / 2 : 1;

	for (size_t i = 0; i < a->api.max; i++) {
		const struct api_conn *k = &a->api.conns[i];

		if (k->fd == -1 || k->waiting[0] == '\0')
			continue;
		mine += k->uid == c->uid;
		on_order += strcmp(k->waiting, id) == 0;
	}
	if (mine < cap && on_order < API_WAIT_PER_ORDER)
		return 1;
	log_warn("api: uid %ld may not wait on order %s: %zu of its "
	    "connections and %zu on the order wait already", (long)c->uid, id,
	    mine, on_order);
	return 0;
}

void
api_ops_answer_order(struct agent *a, struct api_conn *c, const char *id,
    int wait)
{
	struct order o;

	if (orders_get(a->orders, id, &o) != 1) {
		api_reply_error(c, "internal", "order %s vanished", id);
		return;
	}
	if (wait && !order_state_final(o.state) && !may_wait(a, c, id)) {
		/* The order stands: the caller asks for it later. */
		reply_order(c, &o, 1);
	} else if (wait && !order_state_final(o.state)) {
		snprintf(c->waiting, sizeof(c->waiting), "%s", id);
		api_reply(c, json_pack("{s:b,s:b,s:o}", "ok", 1, "progress", 1,
		    "order", order_json(&o, 0)));
	} else
		reply_order(c, &o, 1);
	order_free(&o);
}

/* Tell every client waiting on this order what became of it. */
void
api_ops_order_changed(struct agent *a, const char *id)
{
	struct order	o;
	size_t		i;

	/* Most orders have no one waiting: no read for them. */
	for (i = 0; i < a->api.max; i++)
		if (a->api.conns[i].fd != -1 &&
		    strcmp(a->api.conns[i].waiting, id) == 0)
			break;
	if (i == a->api.max || orders_get(a->orders, id, &o) != 1)
		return;
	for (i = 0; i < a->api.max; i++) {
		struct api_conn *c = &a->api.conns[i];

		if (c->fd == -1 || strcmp(c->waiting, id) != 0)
			continue;
		if (order_state_final(o.state)) {
			c->waiting[0] = '\0';
			reply_order(c, &o, 1);
		} else
			api_reply(c, json_pack("{s:b,s:b,s:o}", "ok", 1,
			    "progress", 1, "order", order_json(&o, 0)));
	}
	order_free(&o);
}

void
api_ops_order_error(struct agent *a, const char *id, const char *code,
    const char *msg)
{
	for (size_t i = 0; i < a->api.max; i++) {
		struct api_conn *c = &a->api.conns[i];

		if (c->fd == -1 || strcmp(c->waiting, id) != 0)
			continue;
		c->waiting[0] = '\0';
		api_reply_error(c, code, "%s", msg);
	}
}

/* ---- the other operations --------------------------------------------- */

/*
 * Loads an order the caller may see: their own, any for admins, and with
 * for_approval the ones they may approve. Anything else gets the same
 * not_found as an order that does not exist: no probing for ids.
 */
static int
load_visible(struct agent *a, struct api_conn *c, const char *id,
    struct order *o, int for_approval)
{
	struct caller	k;
	char		reason[256];
	int		r = orders_get(a->orders, id, o);

	caller_of(c, &k);
	if (r == 1 && (api_ops_may_see(a, c, o->uid) || (for_approval &&
	    policy_may_approve(a->policy, o->rule, &k, (uid_t)o->uid, reason,
	    sizeof(reason)))))
		return 0;
	if (r == 1)
		order_free(o);
	api_reply_error(c, "not_found", "no order %s", id);
	return -1;
}

static void
op_status(struct agent *a, struct api_conn *c, struct api_request *r)
{
	struct order o;

	if (load_visible(a, c, r->order, &o, 0) == -1)
		return;
	/* An order whose polling stopped at the deadline is resumed. */
	if (o.next_poll < 0 && orders_resume_polling(a->orders, o.id) == 0) {
		api_ops_audit(a, c, "order.poll_resumed", o.id, "ok", NULL);
		order_free(&o);
		if (orders_get(a->orders, r->order, &o) != 1) {
			api_reply_error(c, "internal", "order %s vanished",
			    r->order);
			return;
		}
	}
	reply_order(c, &o, 1);
	order_free(&o);
}

static int
list_cb(const struct order *o, void *arg)
{
	json_array_append_new(arg, order_json(o, 0));
	return 0;
}

/* list --awaiting: orders waiting for an approval this caller may give. */
struct awaiting_ctx {
	struct agent	*a;
	struct caller	*k;
	json_t		*arr;
};

static int
awaiting_cb(const struct order *o, void *arg)
{
	struct awaiting_ctx	*x = arg;
	char			 reason[256];

	if (o->state == ORDER_AWAITING_APPROVAL &&
	    policy_may_approve(x->a->policy, o->rule, x->k, (uid_t)o->uid,
	    reason, sizeof(reason)))
		json_array_append_new(x->arr, order_json(o, 0));
	return 0;
}

static void
op_list(struct agent *a, struct api_conn *c, struct api_request *r)
{
	struct caller	 k;
	json_t		*arr = json_array();
	int64_t		 filter = (int64_t)c->uid;

	caller_of(c, &k);
	if (r->awaiting) {
		struct awaiting_ctx x = { a, &k, arr };

		if (orders_list(a->orders, -1, 1000, awaiting_cb, &x) == -1) {
			json_decref(arr);
			api_reply_error(c, "internal", "cannot read orders");
			return;
		}
		api_reply(c, json_pack("{s:b,s:o}", "ok", 1, "orders", arr));
		return;
	}
	if (r->all) {
		if (!policy_is_admin(a->policy, &k)) {
			json_decref(arr);
			if (api_ops_audit(a, c, "order.list", NULL, "denied",
			    json_pack("{s:b}", "all", 1)) == 0)
				api_reply_error(c, "policy_denied", "only "
				    "admins may list every order");
			return;
		}
		filter = -1;
	}
	if (orders_list(a->orders, filter, 1000, list_cb, arr) == -1) {
		json_decref(arr);
		api_reply_error(c, "internal", "cannot read orders");
		return;
	}
	api_reply(c, json_pack("{s:b,s:o}", "ok", 1, "orders", arr));
}


static void
op_decide(struct agent *a, struct api_conn *c, struct api_request *r,
    int approve)
{
	struct order	o;
	struct caller	k;
	char		reason[256], err[256];

	if (load_visible(a, c, r->order, &o, 1) == -1)
		return;
	caller_of(c, &k);
	if (o.state != ORDER_AWAITING_APPROVAL) {
		api_reply_error(c, "conflict", "order %s is %s, not awaiting "
		    "approval", o.id, order_state_name(o.state));
		order_free(&o);
		return;
	}
	if (!policy_may_approve(a->policy, o.rule, &k, (uid_t)o.uid, reason,
	    sizeof(reason))) {
		if (api_ops_audit(a, c, approve ? "order.approve" : "order.reject",
		    o.id, "denied", json_pack("{s:s}", "reason", reason)) == 0)
			api_reply_error(c, "policy_denied", "%s", reason);
		order_free(&o);
		return;
	}
	if (api_ops_audit(a, c, approve ? "order.approve" : "order.reject", o.id,
	    "ok", json_pack("{s:s,s:I}", "comment", r->comment,
	    "requester_uid", (json_int_t)o.uid)) == -1) {
		order_free(&o);
		return;
	}
	orders_set_approver(a->orders, o.id, (uint32_t)c->uid);
	if (approve) {
		if (orders_set_state(a->orders, o.id, ORDER_AWAITING_APPROVAL,
		    ORDER_RECEIVED, err, sizeof(err)) == 1)
			order_submit(a, o.id);
	} else
		orders_set_failed(a->orders, o.id, ORDER_REJECTED, r->comment[0] ?
		    r->comment : "rejected by the approver");
	api_ops_order_changed(a, o.id);
	api_ops_answer_order(a, c, o.id, 0);
	order_free(&o);
}

static void
op_revoke(struct agent *a, struct api_conn *c, struct api_request *r)
{
	struct order	 o;
	const char	*code = "internal";
	char		 err[256];
	int		 found;

	if (r->order[0] != '\0')
		found = orders_get(a->orders, r->order, &o);
	else
		found = orders_find_by_serial(a->orders, r->serial, &o);
	if (found != 1 || !api_ops_may_see(a, c, o.uid)) {
		if (found == 1)
			order_free(&o);
		api_reply_error(c, "not_found", "no such order or serial");
		return;
	}
	if (o.state != ORDER_ISSUED) {
		api_reply_error(c, "conflict", "order %s is %s; only issued "
		    "certificates can be revoked", o.id,
		    order_state_name(o.state));
		order_free(&o);
		return;
	}
	if (api_ops_audit(a, c, "order.revoke", o.id, "requested",
	    json_pack("{s:s,s:s,s:s}", "serial", o.serial ? o.serial : "",
	    "reason", api_reason_name(r->reason), "comment", r->comment)) != 0)
		goto out;
	if (order_revoke(a, &o, r->reason, &code, err, sizeof(err)) == -1)
		api_reply_error(c, code, "%s", err);
	else	/* The answer comes when the CA has spoken. */
		snprintf(c->waiting, sizeof(c->waiting), "%s", o.id);
 out:
	order_free(&o);
}

/* health.c decides; here the answer, with the details the CLI shows. */
static void
op_health(struct agent *a, struct api_conn *c, struct api_request *r)
{
	(void)r;
	uint64_t		 n[6] = { 0 };
	static const enum order_state st[6] = { ORDER_AWAITING_APPROVAL,
	    ORDER_SUBMITTING, ORDER_PENDING, ORDER_ISSUED, ORDER_REJECTED,
	    ORDER_FAILED };
	json_t			*counts = json_object(), *conns = json_object();
	json_t			*checks = json_object(), *reasons = json_array();
	enum health_status	 hs;
	int			 expired = 0;
	const char		*audit, *db, *storage;

	for (size_t i = 0; i < a->cfg->nconnectors; i++) {
		const struct ca_target *t = &a->ca_targets[i];

		json_object_set_new(conns, a->cfg->connectors[i].name,
		    json_string(t->checked == 0 ? "not checked yet" :
		    t->status));
	}
	for (size_t i = 0; i < 6; i++) {
		orders_count_by_state(a->orders, st[i], &n[i]);
		json_object_set_new(counts, order_state_name(st[i]),
		    json_integer((json_int_t)n[i]));
	}
	hs = health_eval(a, checks, reasons);
	audit = json_string_value(json_object_get(checks, "audit"));
	db = json_string_value(json_object_get(checks, "database"));
	/* The fields of earlier releases, from the checks. */
	storage = audit != NULL && strcmp(audit, "ok") != 0 ? audit :
	    db != NULL ? db : "ok";
	api_reply(c, json_pack("{s:b,s:s,s:o,s:O,s:s,s:b,s:I,s:o,s:o,s:O,s:I,"
	    "s:o,s:o,s:s,s:O}",
	    "ok", 1, "status", health_name(hs), "reasons", reasons, "checks",
	    checks, "version", HSMAGENT_VERSION, "connector_child_ready",
	    a->child.ready, "uptime_s", (json_int_t)((monotime_ms() -
	    a->started_ms) / 1000), "order_counts", counts, "connectors", conns,
	    "client_certificate", json_object_get(checks, "client_certificate"),
	    "client_certificate_not_after", (json_int_t)a->pub.cert_not_after,
	    "tracked", api_track_health(a, (int64_t)time(NULL), &expired),
	    "retirable_key", a->cred.retirable_id[0] ?
	    json_string(a->cred.retirable_id) : json_null(),
	    "storage", storage, "hsm", json_object_get(checks, "hsm")));
	json_decref(checks);
}

static void
op_metrics(struct agent *a, struct api_conn *c, struct api_request *r)
{
	(void)r;
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&text, &len);

	if (f == NULL) {
		api_reply_error(c, "internal", "out of memory");
		return;
	}
	metrics_write(a, f);
	fclose(f);
	api_reply(c, json_pack("{s:b,s:s%}", "ok", 1, "text", text, len));
	free(text);
}

/* offers: what the caller may ask for, per rule, connector and profile. */
struct offers_ctx {
	const struct config	*cfg;
	json_t			*arr;
};

static void
offer_cb(void *arg, const char *rule, const char *connector,
    const char *profile, uint32_t max_validity, int approval)
{
	struct offers_ctx		*x = arg;
	const struct connector_cfg	*cc = config_connector(x->cfg,
					    connector);

	json_array_append_new(x->arr, json_pack("{s:s,s:s,s:s,s:s,s:i,s:b}",
	    "rule", rule, "connector", connector, "type", cc ? cc->type :
	    "not configured", "profile", profile, "max_validity_days",
	    (int)max_validity, "approval", approval));
}

static void
op_offers(struct agent *a, struct api_conn *c, struct api_request *r)
{
	(void)r;
	struct caller		k;
	struct offers_ctx	x = { a->cfg, json_array() };

	caller_of(c, &k);
	policy_each_offer(a->policy, &k, offer_cb, &x);
	api_reply(c, json_pack("{s:b,s:o}", "ok", 1, "offers", x.arr));
}

static void
op_approve(struct agent *a, struct api_conn *c, struct api_request *r)
{
	op_decide(a, c, r, 1);
}

static void
op_reject(struct agent *a, struct api_conn *c, struct api_request *r)
{
	op_decide(a, c, r, 0);
}

/*
 * A receipt for an issued order the caller may see. Made when the first
 * checkpoint after the delivery is signed (audit_receipts.h), so asking
 * is a file read. When none covers the delivery yet, one is signed now:
 * the caller waits for one signature instead of up to [state]
 * checkpoint_interval, and asking again finds the receipt kept (one
 * extra checkpoint per delivered certificate at most; audit_ckpt_now
 * signs only a grown tree). A delivery from before the agent kept
 * receipts (or dropped from the queue) is looked up in the log once
 * (tlog_receipt.h: a read of the log up to the checkpoint), then kept.
 */
static void
op_receipt(struct agent *a, struct api_conn *c, struct api_request *r)
{
	struct order	 o;
	char		*out = NULL, err[256];
	int		 rc = 0;

	if (orders_get(a->orders, r->order, &o) != 1 ||
	    !api_ops_may_see(a, c, o.uid)) {
		api_reply_error(c, "not_found", "no order %s of yours",
		    r->order);
		return;
	}
	if (o.state != ORDER_ISSUED && o.state != ORDER_REVOKED) {
		api_reply_error(c, "not_issued", "order %s is %s: a receipt is "
		    "for a delivered certificate", o.id,
		    order_state_name(o.state));
		order_free(&o);
		return;
	}
	if (a->ckpt == NULL) {
		api_reply_error(c, "unavailable", "this agent signs no "
		    "checkpoints ([state] checkpoint_key_uri): no receipts");
		order_free(&o);
		return;
	}
	if ((out = audit_ckpt_receipt(a, o.id)) == NULL &&
	    (audit_ckpt_now(a, "receipt") == -1 ||
	    (out = audit_ckpt_receipt(a, o.id)) == NULL)) {
		if ((rc = tlog_receipt_build(audit_file(a->audit), o.id, &out,
		    err, sizeof(err))) == 0)
			audit_ckpt_keep_receipt(a, o.id, out);
	}
	if (rc == 1)
		api_reply_error(c, "busy", "no checkpoint covers order %s "
		    "yet; the next comes within %u s", o.id,
		    a->cfg->ckpt_interval_s);
	else if (rc == -1)
		api_reply_error(c, "internal", "%s", err);
	else
		api_reply(c, json_pack("{s:b,s:s,s:s}", "ok", 1, "order", o.id,
		    "receipt", out));
	free(out);
	order_free(&o);
}

static void
op_version(struct agent *a, struct api_conn *c, struct api_request *r)
{
	(void)a;
	(void)r;
	api_reply(c, json_pack("{s:b,s:s}", "ok", 1, "version",
	    HSMAGENT_VERSION));
}

/*
 * Each operation's handler, by the api_op of its row in api_request.c's
 * ops[] (which names it and parses its members). Who may do what is the
 * handler's first check (api_ops_is_admin, api_ops_may_see, the policy).
 */
typedef void (*op_handler)(struct agent *, struct api_conn *,
    struct api_request *);
static const op_handler handlers[OP_LAST + 1] = {
	[OP_ENROLL] = op_enroll,
	[OP_STATUS] = op_status,
	[OP_LIST] = op_list,
	[OP_REVOKE] = op_revoke,
	[OP_APPROVE] = op_approve,
	[OP_REJECT] = op_reject,
	[OP_HEALTH] = op_health,
	[OP_METRICS] = op_metrics,
	[OP_VERSION] = op_version,
	[OP_TRACK] = api_track_handle,
	[OP_UNTRACK] = api_track_handle,
	[OP_FETCH] = api_track_handle,
	[OP_TRACKED] = api_track_handle,
	[OP_RENEW] = api_track_handle,
	[OP_CREDENTIAL_NEW] = api_credential_handle,
	[OP_CREDENTIAL_RETIRE] = api_credential_handle,
	[OP_CA_CHAIN] = api_chain_handle,
	[OP_OFFERS] = op_offers,
	[OP_RECEIPT] = op_receipt,
};

/* Does every operation have its handler? Checked at every start. */
int
api_ops_complete(void)
{
	for (int op = OP_ENROLL; op <= OP_LAST; op++)
		if (handlers[op] == NULL)
			return 0;
	return 1;
}

void
api_ops_handle(struct agent *a, struct api_conn *c, struct api_request *r)
{
	/*
	 * api_request_parse gives only ops of the table, each with its row;
	 * the count too is taken only inside the check.
	 */
	if (r->op >= OP_ENROLL && r->op <= OP_LAST && handlers[r->op] != NULL) {
		a->api_requests[r->op]++;
		handlers[r->op](a, c, r);
	} else
		api_reply_error(c, "internal", "operation without a handler");
}
