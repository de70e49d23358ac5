/*
 * api_track.c - the local API's operations on tracked certificates:
 * track (a new enrollment, or an order the caller has), untrack, fetch
 * (the current certificate and chain, for "hsmagent fetch" to write with
 * the caller's own rights) and tracked (the list). Renewal itself is in
 * tracking.c. Callers see and change their own; admins all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agent.h"
#include "api_request.h"
#include "log.h"
#include "orders.h"
#include "policy.h"
#include "tracked.h"
#include "util.h"

/* One word for where a tracked certificate stands. */
static const char *
status_of(const struct tracked *t, int64_t now)
{
	if (t->issued_order == NULL)
		return t->attempts > 0 ? "failing" : "waiting for issue";
	if (now >= t->not_after)
		return "expired";
	if (t->attempts > 0)
		return "failing";
	if (now >= t->renew_at)
		return "renewing";
	return "ok";
}

static json_t *
tracked_json(const struct tracked *t, int64_t now)
{
	json_t *j = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:i}",
	    "name", t->name, "status", status_of(t, now), "uid",
	    (json_int_t)t->uid, "user", t->user ? t->user : "", "connector",
	    t->connector, "profile", t->profile, "not_before",
	    (json_int_t)t->not_before, "not_after", (json_int_t)t->not_after,
	    "renew_at", (json_int_t)t->renew_at, "next_attempt",
	    (json_int_t)t->next_attempt, "attempts", (int)t->attempts);

	if (j == NULL)
		return json_pack("{s:s}", "name", t->name);
	if (t->order_id != NULL)
		json_object_set_new(j, "order", json_string(t->order_id));
	if (t->issued_order != NULL)
		json_object_set_new(j, "issued_order",
		    json_string(t->issued_order));
	if (t->last_error != NULL)
		json_object_set_new(j, "last_error",
		    json_string(t->last_error));
	return j;
}

/*
 * The tracked certificate the caller may act on; anything else gets the
 * same not_found as a name that does not exist.
 */
static int
load_own(struct agent *a, struct api_conn *c, const char *name,
    struct tracked *t)
{
	int r = tracked_get(a->orders, name, t);

	if (r == 1 && api_ops_may_see(a, c, t->uid))
		return 0;
	if (r == 1)
		tracked_free(t);
	if (r == -1)
		api_reply_error(c, "internal", "cannot read the tracked "
		    "certificates");
	else
		api_reply_error(c, "not_found", "no tracked certificate %s",
		    name);
	return -1;
}

static void
op_track(struct agent *a, struct api_conn *c, struct api_request *r)
{
	struct tracked	 t, old;
	struct order	 o;
	char		 id[ORDER_ID_LEN + 1], err[256];
	int		 got;

	memset(&o, 0, sizeof(o));
	if (api_ops_audit(a, c, "track.request", r->name, "received",
	    json_pack("{s:s}", "order", r->order)) == -1)
		return;
	if ((got = tracked_get(a->orders, r->name, &old)) != 0) {
		if (got == 1)
			tracked_free(&old);
		api_reply_error(c, got == 1 ? "conflict" : "internal",
		    "a certificate named %s is tracked already", r->name);
		return;
	}
	if (r->order[0] != '\0') {
		/* An order of the caller's that is or may become issued. */
		if (orders_get(a->orders, r->order, &o) != 1 ||
		    !api_ops_may_see(a, c, o.uid)) {
			if (o.id[0] != '\0')
				order_free(&o);
			api_reply_error(c, "not_found", "no order %s", r->order);
			return;
		}
		if (o.state == ORDER_REJECTED || o.state == ORDER_FAILED ||
		    o.state == ORDER_REVOKED) {
			api_reply_error(c, "bad_request", "order %s is %s",
			    o.id, order_state_name(o.state));
			order_free(&o);
			return;
		}
	} else {
		if (api_ops_new_order(a, c, r, id) == -1)
			return;
		if (orders_get(a->orders, id, &o) != 1) {
			api_reply_error(c, "internal", "order %s vanished", id);
			return;
		}
		/* What was asked, not what the rule made of it. */
		o.validity_days = r->validity_days;
	}
	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", r->name);
	t.uid = o.uid;
	t.gid = o.gid;
	t.user = o.user;
	t.connector = o.connector;
	t.profile = o.profile;
	t.csr_pem = o.csr_pem;
	t.sans_json = o.sans_json;
	t.validity_days = o.validity_days;
	t.order_id = o.id;
	got = tracked_create(a->orders, &t, err, sizeof(err));
	if (got != 0) {
		api_reply_error(c, got == 1 ? "conflict" : "internal", "%s",
		    got == 1 ? "the name was taken meanwhile" : err);
		order_free(&o);
		return;
	}
	got = api_ops_audit(a, c, "track.start", r->name, "ok", json_pack(
	    "{s:s,s:s,s:s}", "order", o.id, "connector", o.connector,
	    "profile", o.profile));
	order_free(&o);
	if (got == -1)
		return;
	/* The first look happens now: an issued order is taken at once. */
	tracking_tick(a);
	if (tracked_get(a->orders, r->name, &t) != 1) {
		api_reply_error(c, "internal", "tracked %s vanished", r->name);
		return;
	}
	api_reply(c, json_pack("{s:b,s:o}", "ok", 1, "tracked",
	    tracked_json(&t, (int64_t)time(NULL))));
	tracked_free(&t);
}

static void
op_untrack(struct agent *a, struct api_conn *c, struct api_request *r)
{
	struct tracked t;

	if (load_own(a, c, r->name, &t) == -1)
		return;
	if (tracked_delete(a->orders, r->name) == -1) {
		api_reply_error(c, "internal", "cannot stop tracking %s",
		    r->name);
		tracked_free(&t);
		return;
	}
	if (api_ops_audit(a, c, "track.stop", r->name, "ok", json_pack(
	    "{s:I}", "owner_uid", (json_int_t)t.uid)) == 0)
		api_reply(c, json_pack("{s:b,s:s}", "ok", 1, "name", r->name));
	tracked_free(&t);
}

static void
op_fetch(struct agent *a, struct api_conn *c, struct api_request *r)
{
	struct tracked	t;
	struct order	o;
	int64_t		now = (int64_t)time(NULL);

	if (load_own(a, c, r->name, &t) == -1)
		return;
	if (t.issued_order == NULL ||
	    orders_get(a->orders, t.issued_order, &o) != 1) {
		api_reply_error(c, "not_issued", "%s has no certificate yet%s%s",
		    r->name, t.last_error ? ": " : "", t.last_error ?
		    t.last_error : "");
		tracked_free(&t);
		return;
	}
	if (o.state != ORDER_ISSUED || o.cert_pem == NULL) {
		api_reply_error(c, "not_issued", "the certificate of %s was %s; "
		    "a renewal is under way", r->name,
		    order_state_name(o.state));
	} else if (now >= t.not_after) {
		api_reply_error(c, "not_issued", "the certificate of %s expired "
		    "and no renewal was issued%s%s", r->name, t.last_error ?
		    ": " : "", t.last_error ? t.last_error : "");
	} else
		api_reply(c, json_pack("{s:b,s:o,s:s,s:s,s:s}", "ok", 1,
		    "tracked", tracked_json(&t, now), "certificate", o.cert_pem,
		    "chain", o.chain_pem ? o.chain_pem : "", "serial",
		    o.serial ? o.serial : ""));
	order_free(&o);
	tracked_free(&t);
}

struct list_ctx {
	json_t	*arr;
	int64_t	 now;
};

static int
list_cb(const struct tracked *t, void *arg)
{
	struct list_ctx *l = arg;

	json_array_append_new(l->arr, tracked_json(t, l->now));
	return 0;
}

static void
op_tracked(struct agent *a, struct api_conn *c, struct api_request *r)
{
	struct list_ctx	l = { json_array(), (int64_t)time(NULL) };
	int64_t		filter = (int64_t)c->uid;

	if (r->all) {
		if (!api_ops_is_admin(a, c)) {
			json_decref(l.arr);
			api_reply_error(c, "policy_denied", "only admins may "
			    "list every tracked certificate");
			return;
		}
		filter = -1;
	}
	if (tracked_list(a->orders, filter, list_cb, &l) == -1) {
		json_decref(l.arr);
		api_reply_error(c, "internal", "cannot list");
		return;
	}
	api_reply(c, json_pack("{s:b,s:o}", "ok", 1, "tracked", l.arr));
}

/* renew: now, not at the window (getcert resubmit); its order follows. */
static void
op_renew(struct agent *a, struct api_conn *c, struct api_request *r)
{
	struct tracked	t;
	int		n;

	if (load_own(a, c, r->name, &t) == -1)
		return;
	if ((n = tracked_renew_now(a->orders, r->name)) == -1)
		api_reply_error(c, "internal", "cannot renew %s", r->name);
	else if (n == 0)
		api_reply_error(c, "conflict", "a renewal of %s is under way "
		    "(order %s)", r->name, t.order_id ? t.order_id : "?");
	else if (api_ops_audit(a, c, "track.renew", r->name, "requested",
	    json_pack("{s:I}", "owner_uid", (json_int_t)t.uid)) == 0) {
		/* The next tick (within a second) makes the order. */
		api_reply(c, json_pack("{s:b,s:s,s:s}", "ok", 1, "name",
		    r->name, "text", "renewal requested: hsmagent tracked NAME "
		    "shows its order\n"));
	}
	tracked_free(&t);
}

void
api_track_handle(struct agent *a, struct api_conn *c, struct api_request *r)
{
	switch (r->op) {
	case OP_TRACK:
		op_track(a, c, r);
		break;
	case OP_UNTRACK:
		op_untrack(a, c, r);
		break;
	case OP_FETCH:
		op_fetch(a, c, r);
		break;
	case OP_TRACKED:
		op_tracked(a, c, r);
		break;
	case OP_RENEW:
		op_renew(a, c, r);
		break;
	default:
		break;
	}
}

struct health_ctx {
	json_t	*obj;
	int64_t	 now;
	int	 expired;
};

static int
health_cb(const struct tracked *t, void *arg)
{
	struct health_ctx *h = arg;

	json_object_set_new(h->obj, t->name, tracked_json(t, h->now));
	h->expired |= t->issued_order != NULL && h->now >= t->not_after;
	return 0;
}

/* Every tracked certificate, for health; degraded if one has expired. */
json_t *
api_track_health(struct agent *a, int64_t now, int *degraded)
{
	struct health_ctx h = { json_object(), now, 0 };

	if (a->orders != NULL)
		tracked_list(a->orders, -1, health_cb, &h);
	*degraded |= h.expired;
	return h.obj;
}
