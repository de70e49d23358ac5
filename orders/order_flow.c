/*
 * order_flow.c - an order's way from "received" to a final state.
 *
 * The intent to submit is committed ("submitting", and an audit record)
 * before the child is asked to call the CA. The order id travels to the
 * CA as the client reference, so after a crash at any point the agent
 * first asks the CA what it knows of that reference (a lookup) and
 * submits again only if the CA never saw it: no order is lost, none is
 * enrolled twice. Pending orders are polled: 5 s, 15 s, 45 s, 2 min,
 * then every 5 min, each +-20 %, or when the CA's Retry-After says, up
 * to the connector's deadline.
 */
#include <sys/random.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acme_signer.h"
#include "agent.h"
#include "audit.h"
#include "cert_hash.h"
#include "log.h"
#include "orders.h"
#include "poll_schedule.h"
#include "util.h"
#include "api_request.h"

#define TICK_MS		1000

/* Seconds until the next poll, with jitter from the kernel's RNG. */
static int64_t
backoff_s(const struct agent *a, const struct order *o, uint32_t retry_after)
{
	const struct connector_cfg	*cc = config_connector(a->cfg,
					    o->connector);
	uint16_t			 r = 32768;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = 32768;
	return poll_delay_s(cc ? &cc->poll : NULL, o->attempts, retry_after,
	    r);
}

/* Those waiting on the order hear of it (the local API's clients). */
static void
order_changed(struct agent *a, const char *id)
{
	if (a->order_changed != NULL)
		a->order_changed(a, id);
}

/*
 * Records before state (SECURITY.md): an outcome is on record before the
 * order's state says so. A crash between the two leaves the order as it
 * was, so it is asked about again and its outcome recorded twice; the
 * other way round would leave an outcome no record ever tells of.
 */
static void
finish(struct agent *a, const char *id, enum order_state to, const char *why)
{
	const char *name = order_state_name(to);

	agent_audit(a, "ca.result", id, name, json_pack("{s:s}", "error",
	    why));
	orders_set_failed(a->orders, id, to, why);
	log_warn("order %s: %s: %s", id, name, why);
	order_changed(a, id);
}

/*
 * The record an issued order owes (orders_set_issued), then paid. A
 * record that cannot be written stays owed: orders_pay_records() writes
 * it, "recovered", once the log can be written again or after a crash.
 */
static void
record_issued(struct agent *a, const char *id, const char *cert,
    const char *serial, const char *handle, const char *connector,
    const char *note, int recovered)
{
	char	fp[65];
	json_t	*detail = json_pack("{s:s,s:s,s:s}", "serial", serial ?
		    serial : "", "handle", handle ? handle : "", "connector",
		    connector ? connector : "");

	/* What a receipt is checked against: this certificate's hash. */
	if (detail != NULL && cert != NULL && cert_pem_sha256(cert, fp) == 0)
		json_object_set_new(detail, "cert_sha256", json_string(fp));
	if (detail != NULL && note != NULL && note[0] != '\0')
		json_object_set_new(detail, "note", json_string(note));
	if (detail != NULL && recovered)
		json_object_set_new(detail, "recovered", json_true());
	if (agent_audit(a, "ca.result", id, order_state_name(ORDER_ISSUED),
	    detail) == 0)
		orders_record_paid(a->orders, id);
	else
		a->records_owed = 1;
}

static void
record_revoked(struct agent *a, const char *id, const char *reason,
    int recovered)
{
	json_t *detail = json_pack("{s:s}", "reason", reason ? reason : "");

	if (detail != NULL && recovered)
		json_object_set_new(detail, "recovered", json_true());
	if (agent_audit(a, "ca.revoke", id, "ok", detail) == 0)
		orders_record_paid(a->orders, id);
	else
		a->records_owed = 1;
}

/*
 * At most this many owed records a tick (each is an fsync): a long
 * outage of the log leaves many, and paying them must not stall the
 * loop; the rest follow a second later.
 */
#define PAY_PER_TICK	64

struct pay {
	struct agent	*a;
	int		 n;
};

static int
pay_cb(const struct order *o, void *arg)
{
	struct pay	*p = arg;
	struct agent	*a = p->a;

	p->n++;
	if (o->state == ORDER_ISSUED)
		record_issued(a, o->id, o->cert_pem, o->serial, o->ca_handle,
		    o->connector, NULL, 1);
	else if (o->state == ORDER_REVOKED)
		record_revoked(a, o->id, o->revoke_reason, 1);
	else {
		/* Only issued and revoked owe one: nothing to tell. */
		orders_record_paid(a->orders, o->id);
		return 0;
	}
	if (a->records_owed)
		return 1;	/* the log is down: the rest next time */
	log_warn("order %s: its %s record was owed (the agent stopped, or "
	    "the audit log could not be written); written now", o->id,
	    order_state_name(o->state));
	return 0;
}

void
orders_pay_records(struct agent *a)
{
	struct pay p = { a, 0 };

	if (a->orders == NULL || a->audit == NULL)
		return;
	a->records_owed = 0;
	if (orders_list_owed(a->orders, PAY_PER_TICK, pay_cb, &p) == -1)
		a->records_owed = 1;
	else if (p.n == PAY_PER_TICK)
		a->records_owed = 1;	/* perhaps more: next tick */
}

static void	on_ca_done(struct agent *, struct job *,
		    const struct ipc_ca_result *, const char *);

/*
 * What rides with each of a connector's jobs besides the order: a
 * password-authenticated connector's password (the child wipes it when
 * the job ends), and an ACME connector's public account JWK.
 */
static void
attach_connector(const struct agent *a, struct ipc_job_ca *jc)
{
	const struct acme_signer *s;

	for (size_t i = 0; i < a->cfg->nconnectors; i++) {
		if (strcmp(a->cfg->connectors[i].name, jc->connector) == 0 &&
		    a->conn_password[i] != NULL) {
			jc->secret = (const uint8_t *)a->conn_password[i];
			jc->secret_len = strlen(a->conn_password[i]);
		}
	}
	if ((s = acme_signer_find(a->acme, a->nacme, jc->connector)) != NULL)
		snprintf(jc->account_jwk, sizeof(jc->account_jwk), "%s",
		    s->jwk);
}

/* Hands one CA job for the order to the child. */
static int
ca_send(struct agent *a, const struct order *o, uint8_t action)
{
	struct ipc_job_ca	 j;
	struct wbuf		 b;

	memset(&j, 0, sizeof(j));
	j.action = action;
	snprintf(j.connector, sizeof(j.connector), "%s", o->connector);
	snprintf(j.ref, sizeof(j.ref), "%s", o->id);
	snprintf(j.profile, sizeof(j.profile), "%s", o->profile);
	j.validity_days = o->validity_days;
	j.csr = (const uint8_t *)o->csr_pem;
	/* Lookups too: the child checks an issued certificate against it. */
	j.csr_len = strlen(o->csr_pem);
	j.sans_json = (const uint8_t *)(o->sans_json ? o->sans_json : "[]");
	j.sans_len = strlen((const char *)j.sans_json);
	snprintf(j.handle, sizeof(j.handle), "%s", o->ca_handle ?
	    o->ca_handle : "");
	attach_connector(a, &j);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	if (ipc_enc_job_ca(&b, &j) == -1) {
		wbuf_free(&b);
		return -1;
	}
	/* Callers check jobs_room() first; a full table waits a tick. */
	if (job_new_ca(a, &b, on_ca_done, o->id, action) == NULL)
		log_debug("order %s: job table full; next tick", o->id);
	return 0;
}

void
order_submit(struct agent *a, const char *id)
{
	struct order	o;
	char		err[256], why[256];

	/*
	 * No room for the job, or no usable client certificate: stay
	 * "received"; orders_tick() comes back.
	 */
	if (jobs_room(a) == 0) {
		a->orders_backlog = 1;
		return;
	}
	if (a->cred.error[0] != '\0' || orders_get(a->orders, id, &o) != 1)
		return;
	if (config_connector(a->cfg, o.connector) == NULL) {
		snprintf(why, sizeof(why), "no CA connector \"%s\" is "
		    "configured", o.connector);
		order_free(&o);
		finish(a, id, ORDER_FAILED, why);
		return;
	}
	/* Intent first: the audit record and the state, then the call. */
	if (agent_audit(a, "order.submit", id, "intent",
	    json_pack("{s:s,s:s}", "connector", o.connector, "profile",
	    o.profile)) == -1 ||
	    orders_set_state(a->orders, id, ORDER_RECEIVED, ORDER_SUBMITTING, err,
	    sizeof(err)) != 1) {
		order_free(&o);
		finish(a, id, ORDER_FAILED, "cannot record the submission");
		return;
	}
	order_changed(a, id);
	if (ca_send(a, &o, CA_ENROLL) == -1)
		finish(a, id, ORDER_FAILED, "cannot encode the request");
	order_free(&o);
}

static void
handle_result(struct agent *a, const struct order *o, uint8_t action,
    const struct ipc_ca_result *r)
{
	char	err[256], cert[IPC_MAX_CERT + 1], chain[IPC_MAX_CHAIN + 1];
	int64_t	now = (int64_t)time(NULL);

	switch (r->outcome) {
	case CA_ISSUED:
		memcpy(cert, r->cert, r->cert_len);
		cert[r->cert_len] = '\0';
		memcpy(chain, r->chain, r->chain_len);
		chain[r->chain_len] = '\0';
		/* Stored first, owing its record: never lost for a record. */
		if (orders_set_issued(a->orders, o->id, cert, chain,
		    r->serial, r->handle[0] ? r->handle : NULL,
		    r->renew_id[0] ? r->renew_id : NULL) == -1) {
			log_error("order %s: cannot store the certificate", o->id);
			return;
		}
		record_issued(a, o->id, cert, r->serial, r->handle,
		    o->connector, r->message, 0);
		log_info("order %s: issued, serial %s", o->id, r->serial);
		/* Issued, with a note: so far only a chain that is missing. */
		if (r->message[0] != '\0')
			log_warn("order %s: %s", o->id, r->message);
		order_changed(a, o->id);
		return;
	case CA_PENDING:
		/* A poll that changes nothing writes nothing but the attempt. */
		if (o->ca_handle == NULL || strcmp(o->ca_handle, r->handle) != 0 ||
		    (r->renew_id[0] != '\0' && (o->ca_renew_id == NULL ||
		    strcmp(o->ca_renew_id, r->renew_id) != 0)))
			orders_set_ca_handle(a->orders, o->id, r->handle,
			    r->renew_id[0] ? r->renew_id : NULL);
		/* The next poll first: those told "pending" learn when. */
		orders_record_attempt(a->orders, o->id, now +
		    backoff_s(a, o, r->retry_after_s), NULL);
		if (o->state == ORDER_SUBMITTING) {
			agent_audit(a, "ca.result", o->id,
			    order_state_name(ORDER_PENDING),
			    json_pack("{s:s}", "handle", r->handle));
			orders_set_state(a->orders, o->id, ORDER_SUBMITTING,
			    ORDER_PENDING, err, sizeof(err));
		}
		/* Those waiting learn when the CA is asked next. */
		order_changed(a, o->id);
		return;
	case CA_REJECTED:
		finish(a, o->id, ORDER_REJECTED, r->message[0] ? r->message :
		    "rejected by the CA");
		return;
	case CA_NOT_TAKEN:
		/* A definite "not now": submitting again later is safe. */
		agent_audit(a, "ca.result", o->id, "not_taken", json_pack(
		    "{s:s}", "error", r->message));
		if (o->state == ORDER_SUBMITTING &&
		    orders_set_state(a->orders, o->id, ORDER_SUBMITTING,
		    ORDER_RECEIVED, err, sizeof(err)) == 1)
			order_changed(a, o->id);
		orders_record_attempt(a->orders, o->id, now +
		    backoff_s(a, o, r->retry_after_s), r->message);
		return;
	case CA_UNKNOWN: {
		char why[IPC_MAX_STR + 256];

		/* Not silent, and never a second enrollment. */
		snprintf(why, sizeof(why), "the outcome of the submission is "
		    "unknown (%s) and this CA cannot be asked by reference: "
		    "check at the CA before enrolling again", action ==
		    CA_ENROLL && r->message[0] ? r->message : o->last_error ?
		    o->last_error : "the agent stopped while submitting");
		finish(a, o->id, ORDER_FAILED, why);
		return;
	}
	case CA_NOT_FOUND:
		if (o->state == ORDER_SUBMITTING && action == CA_LOOKUP) {
			/* The CA never saw it: now it is safe to submit. */
			agent_audit(a, "order.submit", o->id, "resubmit",
			    json_pack("{s:s}", "reason", "the CA has no order "
			    "with this reference"));
			ca_send(a, o, CA_ENROLL);
			return;
		}
		finish(a, o->id, ORDER_FAILED, "the CA no longer knows the order");
		return;
	default:	/* CA_RETRY */
		agent_audit(a, "ca.result", o->id, "retry", json_pack("{s:s}",
		    "error", r->message));
		orders_record_attempt(a->orders, o->id, now +
		    backoff_s(a, o, r->retry_after_s), r->message);
		return;
	}
}

static void
on_ca_done(struct agent *a, struct job *j, const struct ipc_ca_result *r,
    const char *error)
{
	struct ipc_ca_result	retry;
	struct order		o;

	if (orders_get(a->orders, j->order, &o) != 1)
		return;
	if (order_state_final(o.state)) {
		order_free(&o);
		return;
	}
	if (r == NULL) {
		/* The child died or hung: we do not know; ask again later. */
		memset(&retry, 0, sizeof(retry));
		retry.outcome = CA_RETRY;
		snprintf(retry.message, sizeof(retry.message), "%s", error);
		r = &retry;
	}
	handle_result(a, &o, j->ca_action, r);
	order_free(&o);
}

/* Orders due a poll, or left unfinished by an earlier run. */
static int
due_cb(const struct order *o, void *arg)
{
	struct agent			*a = arg;
	const struct connector_cfg	*cc = config_connector(a->cfg, o->connector);
	int64_t				 now = (int64_t)time(NULL);

	if (a->cred.error[0] != '\0')
		return 1;		/* the rest waits for the next tick */
	if (jobs_room(a) == 0) {
		a->orders_backlog = 1;	/* the rest as jobs end */
		return 1;
	}
	if (job_for_order(a, o->id) != NULL || o->next_poll > now ||
	    o->next_poll < 0)
		return 0;
	if (cc == NULL) {
		finish(a, o->id, ORDER_FAILED, "its connector is no longer "
		    "configured");
		return 0;
	}
	if (o->state == ORDER_RECEIVED) {
		order_submit(a, o->id);
		return 0;
	}
	if (o->state != ORDER_RECEIVED &&
	    poll_deadline_passed(o->poll_since, now, cc->deadline_s)) {
		/* Not lost: it stays, and "hsmagent status" resumes it. */
		orders_stop_polling(a->orders, o->id, "polling stopped at the "
		    "connector's deadline; hsmagent status ORDER resumes it");
		agent_audit(a, "order.poll_stopped", o->id,
		    order_state_name(o->state),
		    json_pack("{s:i}", "deadline_s", (int)cc->deadline_s));
		log_warn("order %s: %s at the CA past the deadline; polling "
		    "stopped", o->id, order_state_name(o->state));
		order_changed(a, o->id);
		return 0;
	}
	/* Submitting: we may or may not have reached the CA. Ask. */
	ca_send(a, o, CA_LOOKUP);
	return 0;
}

void
orders_tick(struct agent *a, int64_t now_ms)
{
	/* Records owed (after a restart, or the log was down): no child needed. */
	if (a->records_owed && now_ms >= a->next_owed_ms) {
		a->next_owed_ms = now_ms + TICK_MS;
		orders_pay_records(a);
	}
	if (!a->child.ready)
		return;
	if (now_ms >= a->next_orders_tick_ms) {
		a->next_orders_tick_ms = now_ms + TICK_MS;
		a->orders_backlog = 0;
		orders_list_resumable(a->orders, (int64_t)time(NULL), due_cb,
		    a);
		tracking_tick(a);
	} else if (a->orders_backlog && jobs_room(a) > 0) {
		/*
		 * A backlog (a burst of enrollments, a CA that was down)
		 * drains as fast as jobs end, not 64 a second.
		 */
		a->orders_backlog = 0;
		orders_list_resumable(a->orders, (int64_t)time(NULL), due_cb,
		    a);
	}
}

static void
on_revoke_done(struct agent *a, struct job *j, const struct ipc_ca_result *r,
    const char *error)
{
	const char	*why = r == NULL ? error : r->message[0] ? r->message :
			    "the CA refused";
	char		 msg[IPC_MAX_STR + 64];

	if (r != NULL && r->outcome == CA_REVOKED) {
		/* Stored first, owing its record, as an issued certificate. */
		if (orders_set_revoked(a->orders, j->order,
		    api_reason_name(j->reason)) == -1)
			log_error("order %s: cannot record the revocation",
			    j->order);
		else
			record_revoked(a, j->order, api_reason_name(j->reason),
			    0);
		log_info("order %s: revoked (%s)", j->order,
		    api_reason_name(j->reason));
		order_changed(a, j->order);
		return;
	}
	agent_audit(a, "ca.revoke", j->order, "failed", json_pack("{s:s}",
	    "error", why));
	snprintf(msg, sizeof(msg), "revocation failed: %s", why);
	if (a->order_error != NULL)
		a->order_error(a, j->order, r != NULL && r->outcome ==
		    CA_REJECTED ? "ca_rejected" : "ca_unavailable", msg);
}

/*
 * Revocation is asked of the CA once; the caller waits for the answer
 * (order_changed or order_error) and retries on failure (the order stays
 * "issued" until the CA agrees). 0: asked; -1 with *code and err.
 */
int
order_revoke(struct agent *a, const struct order *o, int reason,
    const char **code, char *err, size_t errlen)
{
	struct ipc_job_ca	 jc;
	struct wbuf		 b;
	struct job		*j;

	if (config_connector(a->cfg, o->connector) == NULL) {
		agent_audit(a, "ca.revoke", o->id, "failed", json_pack(
		    "{s:s}", "error", "connector not configured"));
		*code = "ca_unavailable";
		snprintf(err, errlen, "no CA connector \"%s\" is configured",
		    o->connector);
		return -1;
	}
	if (job_for_order(a, o->id) != NULL) {
		*code = "conflict";
		snprintf(err, errlen, "order %s has a CA request in flight; "
		    "try again", o->id);
		return -1;
	}
	memset(&jc, 0, sizeof(jc));
	jc.action = CA_REVOKE;
	snprintf(jc.connector, sizeof(jc.connector), "%s", o->connector);
	snprintf(jc.ref, sizeof(jc.ref), "%s", o->id);
	snprintf(jc.profile, sizeof(jc.profile), "%s", o->profile);
	snprintf(jc.handle, sizeof(jc.handle), "%s", o->ca_handle ?
	    o->ca_handle : "");
	snprintf(jc.serial, sizeof(jc.serial), "%s", o->serial ? o->serial :
	    "");
	jc.reason = (uint8_t)reason;
	jc.csr = (const uint8_t *)(o->cert_pem ? o->cert_pem : "");
	jc.csr_len = strlen((const char *)jc.csr);
	jc.sans_json = (const uint8_t *)"[]";
	jc.sans_len = 2;
	attach_connector(a, &jc);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	if (ipc_enc_job_ca(&b, &jc) == -1 ||
	    (j = job_new_ca(a, &b, on_revoke_done, o->id, CA_REVOKE)) == NULL) {
		wbuf_free(&b);
		*code = "busy";
		snprintf(err, errlen, "too many CA requests in flight");
		return -1;
	}
	j->reason = (uint8_t)reason;
	return 0;
}

/* ---- connector validation at start ------------------------------------- */

static void
on_validate_done(struct agent *a, struct job *j, const struct ipc_ca_result *r,
    const char *error)
{
	size_t i = (size_t)j->target;

	if (i >= a->cfg->nconnectors)
		return;
	if (r != NULL && r->outcome == CA_VALID) {
		a->ca_targets[i].checked = 1;
		snprintf(a->ca_targets[i].status, sizeof(a->ca_targets[i].status),
		    "ok");
	} else {
		a->ca_targets[i].checked = -1;
		snprintf(a->ca_targets[i].status, sizeof(a->ca_targets[i].status),
		    "%s", r != NULL ? r->message : error);
		log_error("connector %s: %s", a->cfg->connectors[i].name,
		    a->ca_targets[i].status);
	}
	agent_audit(a, "connector.validate", a->cfg->connectors[i].name,
	    a->ca_targets[i].checked == 1 ? "ok" : "failed",
	    json_pack("{s:s}", "status", a->ca_targets[i].status));
}

void
connectors_validate(struct agent *a)
{
	if (a->connectors_validated)
		return;
	a->connectors_validated = 1;
	for (size_t i = 0; i < a->cfg->nconnectors; i++) {
		struct ipc_job_ca	 jc;
		struct wbuf		 b;
		struct job		*j;

		memset(&jc, 0, sizeof(jc));
		jc.action = CA_VALIDATE;
		snprintf(jc.connector, sizeof(jc.connector), "%s",
		    a->cfg->connectors[i].name);
		/* Not an order: a fixed reference the decoder accepts. */
		snprintf(jc.ref, sizeof(jc.ref), "0000000000000000");
		snprintf(jc.profile, sizeof(jc.profile), "validate");
		jc.csr = (const uint8_t *)"";
		jc.sans_json = (const uint8_t *)"[]";
		jc.sans_len = 2;
		attach_connector(a, &jc);
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		if (ipc_enc_job_ca(&b, &jc) == -1 ||
		    (j = job_new_ca(a, &b, on_validate_done, jc.ref,
		    CA_VALIDATE)) == NULL) {
			wbuf_free(&b);
			continue;
		}
		j->target = (int)i;
	}
}
