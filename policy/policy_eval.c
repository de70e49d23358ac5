/*
 * policy_eval.c - policy decisions on enrollment requests and approvals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_impl.h"
#include "util.h"

#define RATE_SLOTS_MAX	4096	/* distinct uids tracked per rule */

int
principal_match(const struct principal *ps, size_t n, const struct caller *c)
{
	for (size_t i = 0; i < n; i++) {
		if (ps[i].kind == P_UID && ps[i].id == (uint32_t)c->uid)
			return 1;
		if (ps[i].kind != P_GID)
			continue;
		if (ps[i].id == (uint32_t)c->gid)
			return 1;
		for (size_t g = 0; g < c->ngroups; g++)
			if (ps[i].id == (uint32_t)c->groups[g])
				return 1;
	}
	return 0;
}

int
policy_is_admin(const struct policy *pol, const struct caller *c)
{
	return pol != NULL && principal_match(pol->admins, pol->nadmins, c);
}

static int
in_list(const struct plist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->item[i], s) == 0)
			return 1;
	return 0;
}

const char *
policy_unknown_connector(const struct policy *pol, const char *const *names,
    size_t n, const char **rule)
{
	for (size_t i = 0; pol != NULL && i < pol->nrules; i++) {
		const struct plist *l = &pol->rules[i].connectors;

		for (size_t j = 0; j < l->n; j++) {
			size_t k;

			for (k = 0; k < n && strcmp(names[k], l->item[j]) != 0;
			    k++)
				;
			if (k == n) {
				*rule = pol->rules[i].name;
				return l->item[j];
			}
		}
	}
	return NULL;
}

void
policy_each_offer(const struct policy *pol, const struct caller *c,
    void (*fn)(void *, const char *, const char *, const char *, uint32_t,
    int), void *arg)
{
	for (size_t i = 0; pol != NULL && i < pol->nrules; i++) {
		const struct rule *r = &pol->rules[i];

		if (!principal_match(r->callers, r->ncallers, c))
			continue;
		for (size_t j = 0; j < r->connectors.n; j++)
			for (size_t k = 0; k < r->profiles.n; k++)
				fn(arg, r->name, r->connectors.item[j],
				    r->profiles.item[k], r->max_validity,
				    r->napprovers > 0);
	}
}

static int
san_allowed(const struct rule *r, const struct san *s)
{
	const struct plist *l = s->type == SAN_DNS ? &r->san_dns :
	    s->type == SAN_IP ? &r->san_ip : &r->san_email;

	if (s->type == SAN_DNS && strncmp(s->value, "*.", 2) == 0 &&
	    !r->allow_wildcard)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		if ((s->type == SAN_DNS && san_dns_match(l->item[i], s->value)) ||
		    (s->type == SAN_IP && san_ip_match(l->item[i], s->value)) ||
		    (s->type == SAN_EMAIL &&
		    san_email_match(l->item[i], s->value)))
			return 1;
	}
	return 0;
}

/* The request's SANs and the CSR's, compared as sets. */
static int
same_sans(const struct san *a, size_t na, const struct san *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		size_t j;

		for (j = 0; j < nb; j++)
			if (san_equal(&a[i], &b[j]))
				break;
		if (j == nb)
			return 0;
	}
	return 1;
}

static int
key_allowed(const struct rule *r, const struct csr_info *csr)
{
	for (size_t i = 0; i < r->nkeys; i++) {
		const struct key_type *k = &r->keys[i];

		if (k->type != csr->key_type)
			continue;
		if (k->type == CSR_KEY_EC && strcmp(k->curve, csr->curve) == 0)
			return 1;
		if (k->type == CSR_KEY_RSA && k->bits == csr->bits)
			return 1;
	}
	return 0;
}

/* CN, if any, must be one of the DNS or e-mail SANs. */
static int
cn_ok(const struct csr_info *csr)
{
	struct san	s;
	char		e[128];

	if (csr->cn[0] == '\0')
		return 1;
	for (size_t i = 0; i < csr->nsans; i++) {
		if (csr->sans[i].type == SAN_IP)
			continue;
		if (san_make(csr->sans[i].type, csr->cn, &s, e, sizeof(e)) == 0 &&
		    san_equal(&s, &csr->sans[i]))
			return 1;
	}
	return 0;
}

static struct rate_slot *
rate_slot(struct rule *r, uint32_t uid, int64_t now)
{
	for (size_t i = 0; i < r->nslots; i++)
		if (r->slots[i].uid == uid)
			return &r->slots[i];
	if (r->nslots >= RATE_SLOTS_MAX) {
		/* Recycle a slot whose window has passed, else the oldest. */
		size_t old = 0;

		for (size_t i = 1; i < r->nslots; i++)
			if (r->slots[i].window_start < r->slots[old].window_start)
				old = i;
		r->slots[old] = (struct rate_slot){ uid, now, 0 };
		return &r->slots[old];
	}
	if (r->slots == NULL)
		r->slots = xcalloc(RATE_SLOTS_MAX, sizeof(*r->slots));
	r->slots[r->nslots] = (struct rate_slot){ uid, now, 0 };
	return &r->slots[r->nslots++];
}

/* 0 if the rule allows the request; otherwise the reason in d. */
static int
check_rule(struct rule *r, const struct caller *c,
    const struct enroll_request *rq, int64_t now, struct decision *d)
{
	const struct csr_info	*csr = rq->csr;
	const struct san	*sans = rq->nsans ? rq->sans : csr->sans;
	size_t			 nsans = rq->nsans ? rq->nsans : csr->nsans;
	struct rate_slot	*rs;

	/*
	 * Each refusal here is the policy's: a denial (policy_denied, exit
	 * 11, audited as policy.decision denied), SANs that differ from the
	 * CSR's included; only a request that cannot be read is a
	 * bad_request, and that is decided before the policy.
	 */
	d->code = "policy_denied";
	if (rq->nsans > 0 && !same_sans(rq->sans, rq->nsans, csr->sans,
	    csr->nsans)) {
		snprintf(d->reason, sizeof(d->reason), "the request's SANs "
		    "differ from the CSR's");
		return -1;
	}
	if (nsans == 0) {
		snprintf(d->reason, sizeof(d->reason), "no SANs in the CSR");
		return -1;
	}
	for (size_t i = 0; i < nsans; i++) {
		if (!san_allowed(r, &sans[i])) {
			snprintf(d->reason, sizeof(d->reason), "rule %s does "
			    "not allow %s%s", r->name, san_prefix(sans[i].type),
			    sans[i].value);
			return -1;
		}
	}
	if (csr->has_other_subject || !cn_ok(csr)) {
		snprintf(d->reason, sizeof(d->reason), "the CSR subject may "
		    "hold only a CN equal to one of its SANs");
		return -1;
	}
	if (!key_allowed(r, csr)) {
		snprintf(d->reason, sizeof(d->reason), "rule %s does not allow "
		    "%s keys of this size/curve", r->name,
		    csr->key_type == CSR_KEY_EC ? "EC" : "RSA");
		return -1;
	}
	if (rq->validity_days > r->max_validity) {
		snprintf(d->reason, sizeof(d->reason), "validity %u days is "
		    "over rule %s's maximum of %u", rq->validity_days, r->name,
		    r->max_validity);
		return -1;
	}
	if (r->rate_n > 0) {
		rs = rate_slot(r, (uint32_t)c->uid, now);
		if (now - rs->window_start >= (int64_t)r->rate_per_s) {
			rs->window_start = now;
			rs->count = 0;
		}
		if (rs->count >= r->rate_n) {
			snprintf(d->reason, sizeof(d->reason), "rate limit of "
			    "rule %s reached (%u per %u s)", r->name, r->rate_n,
			    r->rate_per_s);
			return -1;
		}
		rs->count++;
	}
	return 0;
}

int
policy_decide(struct policy *pol, const struct caller *c,
    const struct enroll_request *rq, int64_t now, struct decision *d)
{
	struct decision	first;
	int		have_first = 0;

	memset(d, 0, sizeof(*d));
	d->code = "policy_denied";
	for (size_t i = 0; pol != NULL && i < pol->nrules; i++) {
		struct rule	*r = &pol->rules[i];
		struct decision	 t;

		if (!principal_match(r->callers, r->ncallers, c) ||
		    !in_list(&r->connectors, rq->connector) ||
		    !in_list(&r->profiles, rq->profile))
			continue;
		memset(&t, 0, sizeof(t));
		snprintf(t.rule, sizeof(t.rule), "%s", r->name);
		if (check_rule(r, c, rq, now, &t) == 0) {
			t.allowed = 1;
			t.code = NULL;
			t.needs_approval = r->napprovers > 0;
			/* A cap, never a default: 0 stays "none asked". */
			t.validity_days = rq->validity_days;
			snprintf(t.reason, sizeof(t.reason), "allowed by rule %s",
			    r->name);
			*d = t;
			return 0;
		}
		if (!have_first) {
			first = t;
			have_first = 1;
		}
	}
	if (have_first)
		*d = first;
	else
		snprintf(d->reason, sizeof(d->reason), "no rule for uid %ld, "
		    "connector %.64s, profile %.64s", (long)c->uid,
		    rq->connector, rq->profile);
	return 0;
}

int
policy_may_approve(const struct policy *pol, const char *rule,
    const struct caller *approver, uid_t requester_uid, char *reason,
    size_t len)
{
	const struct rule *r = NULL;

	for (size_t i = 0; pol != NULL && rule != NULL && i < pol->nrules; i++)
		if (strcmp(pol->rules[i].name, rule) == 0)
			r = &pol->rules[i];
	if (r == NULL || r->napprovers == 0) {
		snprintf(reason, len, "rule %s (no longer) asks for approval",
		    rule ? rule : "?");
		return 0;
	}
	if (approver->uid == requester_uid) {
		snprintf(reason, len, "the approver must not be the requester");
		return 0;
	}
	if (!principal_match(r->approvers, r->napprovers, approver)) {
		snprintf(reason, len, "uid %ld is not an approver for rule %s",
		    (long)approver->uid, r->name);
		return 0;
	}
	snprintf(reason, len, "approver for rule %s", r->name);
	return 1;
}
