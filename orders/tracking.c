/*
 * tracking.c - keeping tracked certificates renewed.
 *
 * Once a second (from orders_tick) every tracked certificate is looked
 * at: the order made for it last is followed until it is final; an
 * issued one becomes the certificate "fetch" delivers, and its dates set
 * when the next renewal window opens (renewal.window_percent of the
 * lifetime left; a third by default). When the window is open, a new
 * order is made with the stored CSR, connector, profile, names and
 * validity, for the owner: the policy is asked again, as for a request
 * the owner made now (a policy that no longer allows it stops the
 * renewal, and says why). A failure (policy, CA) is recorded and tried
 * again after renewal.retry_min_seconds, doubling up to
 * retry_max_seconds. Every attempt is audited (track.renew).
 */
#include <sys/types.h>

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent.h"
#include "csr.h"
#include "log.h"
#include "order_new.h"
#include "orders.h"
#include "policy.h"
#include "tracked.h"
#include "util.h"

#define MAX_GROUPS	64

static int64_t
asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

int
pem_cert_dates(const char *pem, int64_t *not_before, int64_t *not_after)
{
	BIO	*b = BIO_new_mem_buf(pem, -1);
	X509	*x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	int	 r = -1;

	*not_before = *not_after = 0;
	if (x != NULL) {
		*not_before = asn1_time_unix(X509_get0_notBefore(x));
		*not_after = asn1_time_unix(X509_get0_notAfter(x));
		if (*not_before > 0 && *not_after > *not_before)
			r = 0;
	}
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	return r;
}

int64_t
tracking_renew_at(const struct config *cfg, int64_t not_before,
    int64_t not_after)
{
	return not_after - (not_after - not_before) *
	    (int64_t)cfg->renew_window_pct / 100;
}

static int64_t
retry_at(const struct config *cfg, uint32_t attempts, int64_t now)
{
	int64_t d = cfg->renew_retry_min_s;

	for (uint32_t i = 1; i < attempts && d < cfg->renew_retry_max_s; i++)
		d *= 2;
	return now + (d > cfg->renew_retry_max_s ? cfg->renew_retry_max_s : d);
}

static void
record_failure(struct agent *a, const struct tracked *t, int64_t now,
    const char *why)
{
	int64_t next = retry_at(a->cfg, t->attempts + 1, now);

	tracked_set_failed(a->orders, t->name, next, why);
	agent_audit(a, "track.renew", t->name, "failed", json_pack(
	    "{s:s,s:i,s:I,s:I}", "error", why, "attempt", (int)t->attempts + 1,
	    "retry_at", (json_int_t)next, "owner_uid", (json_int_t)t->uid));
	log_warn("tracked %s: %s; next attempt in %lld s", t->name, why,
	    (long long)(next - now));
}

/* The stored names (["dns:a", ...]) as the policy takes them. */
static struct san *
stored_sans(const char *json, size_t *n)
{
	json_t		*arr = json_loads(json, 0, NULL), *v;
	struct san	*s = NULL;
	size_t		 i;
	char		 e[200];

	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) > POLICY_MAX_SANS)
		goto out;
	s = xcalloc(json_array_size(arr) + 1, sizeof(*s));
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || san_parse(json_string_value(v),
		    &s[*n], e, sizeof(e)) == -1) {
			free(s);
			s = NULL;
			*n = 0;
			goto out;
		}
		(*n)++;
	}
 out:
	json_decref(arr);
	return s;
}

struct renewal {
	struct agent		*a;
	const struct tracked	*t;
	const char		*failed;	/* why record_renewal failed */
};

/*
 * The renewal on record, with its order's id, then the tracked
 * certificate pointed at that id: both before the order exists. Pointed
 * after the order was stored, a crash or a failed write in between left
 * an order no tracked certificate followed, and the next tick made a
 * second one for the same renewal. Pointed first, the worst case is a
 * pointer to an order that was never stored: the next tick finds it
 * gone, records that, and tries again after the usual delay.
 */
static int
record_renewal(void *ctx, const char *id, const struct decision *d,
    json_t *sans)
{
	struct renewal *w = ctx;

	(void)sans;
	if (agent_audit(w->a, "track.renew", w->t->name, "submitted",
	    json_pack("{s:s,s:s,s:b,s:I}", "order", id, "rule", d->rule,
	    "approval", d->needs_approval, "owner_uid",
	    (json_int_t)w->t->uid)) == -1) {
		w->failed = "the audit log cannot be written";
		return -1;
	}
	if (tracked_set_order(w->a->orders, w->t->name, id) == -1) {
		w->failed = "cannot store the order";
		return -1;
	}
	return 0;
}

/*
 * A new order for t, decided by the policy as if its owner asked now.
 * 0 (order made; submitted unless it needs approval) or -1 with why.
 */
static int
new_order(struct agent *a, const struct tracked *t, int64_t now, char *id,
    char *why, size_t whylen)
{
	gid_t			 groups[MAX_GROUPS];
	int			 ng = MAX_GROUPS;
	struct caller		 k;
	struct order_ask	 q;
	struct decision		 d;
	struct renewal		 w = { a, t, NULL };
	struct san		*sans = NULL;
	json_t			*names = NULL;
	char			 err[256];
	int			 r = -1;

	memset(&k, 0, sizeof(k));
	k.uid = (uid_t)t->uid;
	k.gid = (gid_t)t->gid;
	k.user = t->user;
	groups[0] = (gid_t)t->gid;
	/* Group membership as it is now, like a new connection's. */
	if (t->user == NULL || t->user[0] == '\0' ||
	    getgrouplist(t->user, (gid_t)t->gid, groups, &ng) == -1)
		ng = 1;
	k.groups = groups;
	k.ngroups = (size_t)ng;
	memset(&q, 0, sizeof(q));
	q.caller = &k;
	q.user = t->user;
	q.connector = t->connector;
	q.profile = t->profile;
	q.csr_pem = t->csr_pem;
	q.validity_days = t->validity_days;
	if ((sans = stored_sans(t->sans_json, &q.nsans)) == NULL) {
		snprintf(why, whylen, "the stored names do not parse");
		goto out;
	}
	q.sans = sans;
	switch (order_new(a, &q, now, &d, &names, record_renewal, &w, id, err,
	    sizeof(err))) {
	case ORDER_NEW_BAD_CSR:
		snprintf(why, whylen, "the stored CSR: %s", err);
		goto out;
	case ORDER_NEW_DENIED:
		snprintf(why, whylen, "the policy refuses the renewal: %s",
		    d.reason[0] ? d.reason : "no decision");
		goto out;
	case ORDER_NEW_VALIDITY:
		snprintf(why, whylen, "%s", err);
		goto out;
	case ORDER_NEW_STORAGE:
		snprintf(why, whylen, "cannot store the order%s%s", id[0] ?
		    " " : "", id);
		goto out;
	case ORDER_NEW_UNRECORDED:
		snprintf(why, whylen, "%s", w.failed ? w.failed :
		    "the audit log cannot be written");
		goto out;
	case ORDER_NEW_MADE:
		break;
	}
	log_info("tracked %s: renewal order %s", t->name, id);
	if (!d.needs_approval)
		order_submit(a, id);
	r = 0;
 out:
	json_decref(names);
	free(sans);
	return r;
}

/*
 * The order made last for t: 1 still in flight (or just settled: wait
 * for the next tick), 0 settled, 2 settled but the certificate served
 * was revoked (renew now).
 */
static int
follow_order(struct agent *a, struct tracked *t, int64_t now)
{
	struct order	o;
	int64_t		nb, na;
	char		why[IPC_MAX_STR];
	int		r;

	if (t->order_id == NULL)
		return 0;
	if (orders_get(a->orders, t->order_id, &o) != 1) {
		record_failure(a, t, now, "its order is gone");
		return 1;
	}
	if (o.state == ORDER_ISSUED || o.state == ORDER_REVOKED) {
		if (t->issued_order == NULL || strcmp(t->issued_order, o.id) !=
		    0) {
			if (pem_cert_dates(o.cert_pem ? o.cert_pem : "", &nb,
			    &na) == -1) {
				record_failure(a, t, now, "the issued "
				    "certificate's dates do not parse");
				order_free(&o);
				return 1;
			}
			tracked_set_issued(a->orders, t->name, o.id, nb, na,
			    tracking_renew_at(a->cfg, nb, na));
			agent_audit(a, "track.issued", t->name, "ok", json_pack(
			    "{s:s,s:s,s:I,s:I}", "order", o.id, "serial",
			    o.serial ? o.serial : "", "not_after",
			    (json_int_t)na, "renew_at", (json_int_t)
			    tracking_renew_at(a->cfg, nb, na)));
			log_info("tracked %s: order %s issued, renewal from %lld",
			    t->name, o.id, (long long)tracking_renew_at(a->cfg,
			    nb, na));
			order_free(&o);
			return 1;
		}
		r = o.state == ORDER_REVOKED ? 2 : 0;
		order_free(&o);
		return r;
	}
	if (o.state == ORDER_REJECTED || o.state == ORDER_FAILED) {
		snprintf(why, sizeof(why), "order %s %s: %.900s", o.id,
		    order_state_name(o.state),
		    o.last_error ? o.last_error : "no reason given");
		record_failure(a, t, now, why);
		order_free(&o);
		return 1;
	}
	order_free(&o);
	return 1;
}

static void
tick_one(struct agent *a, struct tracked *t, int64_t now)
{
	char	id[ORDER_ID_LEN + 1], why[IPC_MAX_STR];
	int	f = follow_order(a, t, now);

	if (f == 1)
		return;
	/* Never issued (its first order failed), or the window is open. */
	if (f == 0 && t->issued_order != NULL && now < t->renew_at)
		return;
	if (now < t->next_attempt)
		return;
	if (new_order(a, t, now, id, why, sizeof(why)) == -1)
		record_failure(a, t, now, why);
}

struct names {
	char	(*v)[TRACKED_NAME_MAX + 1];
	size_t	 n;
};

static int
collect(const struct tracked *t, void *arg)
{
	struct names *l = arg;

	snprintf(l->v[l->n++], TRACKED_NAME_MAX + 1, "%s", t->name);
	return 0;
}

void
tracking_tick(struct agent *a)
{
	struct names	l;
	struct tracked	t;
	int64_t		now = (int64_t)time(NULL);

	if (a->orders == NULL)
		return;
	/* Names first: the updates below must not race the listing. */
	l.v = xcalloc(TRACKED_LIST_MAX, sizeof(*l.v));
	l.n = 0;
	if (tracked_list(a->orders, -1, collect, &l) == 0) {
		for (size_t i = 0; i < l.n; i++) {
			if (tracked_get(a->orders, l.v[i], &t) != 1)
				continue;
			tick_one(a, &t, now);
			tracked_free(&t);
		}
	}
	free(l.v);
}
