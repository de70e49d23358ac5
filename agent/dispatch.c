/*
 * dispatch.c - the parent's handling of messages from the child.
 *
 * One switch whose default kills the child: the child is untrusted from
 * its first network byte, so a message it should not send, a malformed
 * one, or one out of turn is treated as a takeover (OpenBSD's
 * proc_dispatch, OpenSSH's "unpermitted request").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acme_signer.h"
#include "agent.h"
#include "log.h"
#include "util.h"

static void
violation(struct agent *a, const char *what)
{
	a->child.violations++;
	child_kill(a, what);
}

static void
on_ready(struct agent *a, const struct ipc_msg *msg)
{
	struct ipc_ready r;

	if (a->child.ready || ipc_dec_ready(msg, &r) == -1) {
		violation(a, "unexpected or malformed READY");
		return;
	}
	a->child.ready = 1;
	log_info("supervisor: connector child %ld sandboxed: %s",
	    (long)a->child.pid, r.sandbox);
	/* Ready means all three: socket listening, HSM logged in, child sandboxed. */
	if (!a->ready_told) {
		a->ready_told = 1;
		log_info("event=agent.ready hsmagentd %s: key %s, ready in %lld ms",
		    HSMAGENT_VERSION, hsm_key_label(a->hsm),
		    (long long)(monotime_ms() - a->started_ms));
		notify_ready("serving");
	}
	jobs_send_queued(a);
	connectors_validate(a);
}

static void
reply_sign(struct agent *a, uint32_t req, uint8_t status, const uint8_t *sig,
    size_t siglen)
{
	struct ipc_sign_reply	 r = { status, sig, siglen };
	struct wbuf		 b;

	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_sign_reply(&b, &r);
	child_send(a, IPC_SIGN_REPLY, req, &b);
	wbuf_free(&b);
}

/* The HSM failed a granted signature: health says so until one works. */
static void
hsm_failed(struct agent *a, uint32_t job_id, const char *err)
{
	a->sp.failed++;
	log_error("sign: job %u: HSM: %s", job_id, err);
	if (a->hsm_error[0] == '\0')
		agent_audit(a, "hsm.fault", hsm_key_label(a->hsm), "failed",
		    json_pack("{s:s}", "error", err));
	copy_printable(a->hsm_error, sizeof(a->hsm_error), err);
}

static void
hsm_signed(struct agent *a)
{
	if (a->hsm_error[0] != '\0') {
		log_info("sign: the HSM signs again");
		agent_audit(a, "hsm.fault", hsm_key_label(a->hsm), "recovered",
		    NULL);
		a->hsm_error[0] = '\0';
	}
}

/* The parent half of keyproxy_sign(): mm_answer_sign in OpenSSH terms. */
static void
on_sign_request(struct agent *a, const struct ipc_msg *msg)
{
	struct ipc_sign_request	 rq;
	struct job		*j;
	enum sign_verdict	 v;
	uint8_t			 sig[HSM_MAX_SIG];
	size_t			 siglen = 0;
	char			 err[256];

	if (!a->child.ready || ipc_dec_sign_request(msg, &rq) == -1) {
		violation(a, "malformed or premature sign-request");
		return;
	}
	j = job_find(a, rq.job_id);
	v = sign_policy_check(&a->sp, rq.scheme, rq.dlen,
	    j != NULL && j->state == JOB_SENT, monotime_ms());
	if (v != SIGN_GRANT) {
		log_warn("sign: %s: job %u scheme %u digest %zu bytes",
		    sign_verdict_name(v), rq.job_id, (unsigned)rq.scheme,
		    rq.dlen);
		agent_audit(a, "sign.refused", NULL, sign_verdict_name(v),
		    json_pack("{s:I,s:i,s:I}", "job", (json_int_t)rq.job_id,
		    "scheme", (int)rq.scheme, "digest_len",
		    (json_int_t)rq.dlen));
		reply_sign(a, msg->id, SIGN_REFUSED, NULL, 0);
		return;
	}
	if (hsm_sign(a->hsm, rq.scheme, rq.digest, rq.dlen, sig, &siglen,
	    err, sizeof(err)) == -1) {
		hsm_failed(a, rq.job_id, err);
		reply_sign(a, msg->id, SIGN_FAILED, NULL, 0);
		return;
	}
	hsm_signed(a);
	log_debug("sign: granted: job %u %s", rq.job_id,
	    sign_scheme_name(rq.scheme));
	/* The one high-rate record: synced within AUDIT_SYNC_MS (audit.h). */
	agent_audit_deferred(a, "sign.granted", NULL, "ok", json_pack("{s:I,s:s}",
	    "job", (json_int_t)rq.job_id, "scheme",
	    sign_scheme_name(rq.scheme)));
	reply_sign(a, msg->id, SIGN_OK, sig, siglen);
	explicit_bzero(sig, sizeof(sig));
}

static const char *
jws_kind_name(uint8_t kind)
{
	return kind == JWS_ACCOUNT ? "jws-account" : "jws-eab";
}

/* The signer of the ACME connector whose CA job this is, or NULL. */
static struct acme_signer *
jws_signer(struct agent *a, uint32_t job_id)
{
	struct job *j = job_find(a, job_id);

	if (j == NULL || j->state != JOB_SENT || j->type != IPC_JOB_CA ||
	    j->conn < 0 || (size_t)j->conn >= a->cfg->nconnectors)
		return NULL;
	return acme_signer_find(a->acme, a->nacme,
	    a->cfg->connectors[j->conn].name);
}

static void
jws_refused(struct agent *a, uint32_t req, const struct ipc_jws_sign_request
    *rq, const char *why)
{
	log_warn("sign: %s: job %u %s input %zu bytes", why, rq->job_id,
	    jws_kind_name(rq->kind), rq->len);
	/* Not the input: it is long, and the verdict says what was wrong. */
	agent_audit(a, "sign.refused", NULL, why, json_pack("{s:I,s:s,s:I}",
	    "job", (json_int_t)rq->job_id, "scheme", jws_kind_name(rq->kind),
	    "input_len", (json_int_t)rq->len));
	reply_sign(a, req, SIGN_REFUSED, NULL, 0);
}

/*
 * The parent half of child_sign_jws(): ACME's JWS (RFC 8555 §6.2). Only
 * for a CA job in flight on an ACME connector, within the rate, and
 * only what acme_sign_policy lets that connector's account sign.
 */
static void
on_jws_sign_request(struct agent *a, const struct ipc_msg *msg)
{
	struct ipc_jws_sign_request	 rq;
	struct acme_signer		*s;
	enum sign_verdict		 v;
	enum acme_sign_verdict		 av;
	uint8_t				 sig[HSM_MAX_SIG];
	size_t				 siglen = 0;
	char				 err[256];
	int				 failed;

	if (!a->child.ready || ipc_dec_jws_sign_request(msg, &rq) == -1) {
		violation(a, "malformed or premature jws-sign-request");
		return;
	}
	s = jws_signer(a, rq.job_id);
	if ((v = sign_policy_check_job(&a->sp, s != NULL, monotime_ms())) !=
	    SIGN_GRANT) {
		jws_refused(a, msg->id, &rq, sign_verdict_name(v));
		return;
	}
	av = acme_signer_answer(s, a->hsm, rq.kind, rq.input, rq.len, sig,
	    &siglen, &failed, err, sizeof(err));
	if (av != ACME_SIGN_OK) {
		/* The rate's token is spent, but the request was refused. */
		a->sp.count[SIGN_GRANT]--;
		a->acme_refused++;
		jws_refused(a, msg->id, &rq, acme_sign_verdict_name(av));
		return;
	}
	if (failed && rq.kind == JWS_ACCOUNT)
		hsm_failed(a, rq.job_id, err);
	else if (failed) {
		/* The EAB key file, not the HSM: the operator must fix it. */
		a->sp.failed++;
		log_error("sign: job %u: EAB: %s", rq.job_id, err);
	}
	if (failed) {
		reply_sign(a, msg->id, SIGN_FAILED, NULL, 0);
		return;
	}
	if (rq.kind == JWS_ACCOUNT)
		hsm_signed(a);
	/* The job is progressing: its next request gets its full time. */
	job_alive(a, job_find(a, rq.job_id));
	log_debug("sign: granted: job %u %s", rq.job_id,
	    jws_kind_name(rq.kind));
	agent_audit_deferred(a, "sign.granted", NULL, "ok", json_pack(
	    "{s:I,s:s,s:s}", "job", (json_int_t)rq.job_id, "scheme",
	    jws_kind_name(rq.kind), "connector", s->connector));
	reply_sign(a, msg->id, SIGN_OK, sig, siglen);
	explicit_bzero(sig, sizeof(sig));
}

const double ca_latency_bounds[CA_LATENCY_BUCKETS] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};

/* Metrics and health: how long the CA took, and could it be reached. */
static void
ca_observe(struct agent *a, const struct job *j,
    const struct ipc_ca_result *r)
{
	struct ca_latency	*l = &a->ca_latency;
	double			 s = (double)(monotime_ms() - j->sent_ms) / 1000;
	size_t			 b;

	for (b = 0; b < CA_LATENCY_BUCKETS && s > ca_latency_bounds[b]; b++)
		;
	if (b < CA_LATENCY_BUCKETS)
		l->bucket[b]++;
	l->count++;
	l->sum += s;
	if (j->conn < 0 || (size_t)j->conn >= a->cfg->nconnectors)
		return;
	/* Not reached, or too busy to take it; anything else is an answer. */
	if (r->outcome == CA_RETRY || r->outcome == CA_NOT_TAKEN) {
		a->ca_targets[j->conn].last_fail = (int64_t)time(NULL);
		snprintf(a->ca_targets[j->conn].last_error,
		    sizeof(a->ca_targets[j->conn].last_error), "%s", r->message);
	} else
		a->ca_targets[j->conn].last_ok = (int64_t)time(NULL);
}

/* A CA job's result: only for a CA job in flight, strictly decoded. */
static void
on_ca_result(struct agent *a, const struct ipc_msg *msg)
{
	struct ipc_ca_result	 r;
	struct job		*j = job_find(a, msg->id);

	if (j == NULL || j->state != JOB_SENT || j->type != IPC_JOB_CA ||
	    ipc_dec_ca_result(msg, &r) == -1 ||
	    (j->ca_action == CA_ENROLL && r.outcome == CA_NOT_FOUND) ||
	    (j->ca_action == CA_REVOKE && r.outcome == CA_UNKNOWN) ||
	    (j->ca_action != CA_ENROLL && r.outcome == CA_NOT_TAKEN) ||
	    ((j->ca_action == CA_VALIDATE) != (r.outcome == CA_VALID) &&
	    r.outcome != CA_REJECTED && r.outcome != CA_RETRY) ||
	    ((j->ca_action == CA_REVOKE) != (r.outcome == CA_REVOKED) &&
	    r.outcome != CA_REJECTED && r.outcome != CA_RETRY)) {
		violation(a, "CA result for no CA job in flight, or malformed");
		return;
	}
	ca_observe(a, j, &r);
	j->ca_done(a, j, &r, NULL);
	job_release(j);
}

static void
on_job_result(struct agent *a, const struct ipc_msg *msg)
{
	struct ipc_job_result	 r;
	struct job		*j = job_find(a, msg->id);

	if (j == NULL || j->state != JOB_SENT || j->type != IPC_JOB_PROBE ||
	    ipc_dec_job_result(msg, &r) == -1) {
		violation(a, "result for no job in flight, or malformed");
		return;
	}
	j->done(a, j, &r, NULL);
	job_release(j);
}

/*
 * The child is gone (reaped): its last log lines, often why it left,
 * may still be queued; SIGCHLD can be seen before they are read. Only
 * those are taken: the rest is moot, and it can no longer be killed.
 */
void
child_last_words(struct agent *a)
{
	struct ipc_msg	msg;
	struct ipc_log	l;
	int		r;

	while (a->child.fd != -1) {
		r = ipc_recv(a->child.fd, a->rx, IPC_MAX_DGRAM + 1, &msg);
		if (r == -1 && errno == ECONNRESET)
			continue;	/* as in child_readable */
		if (r != 1)
			return;
		if (msg.type == IPC_LOG && ipc_dec_log(&msg, &l) == 0)
			log_msg((enum log_level)l.level, "child[%ld]: %s",
			    (long)a->child.pid, l.text);
	}
}

static void
on_log(struct agent *a, const struct ipc_msg *msg)
{
	struct ipc_log l;

	if (ipc_dec_log(msg, &l) == -1) {
		violation(a, "malformed log message");
		return;
	}
	log_msg((enum log_level)l.level, "child[%ld]: %s", (long)a->child.pid,
	    l.text);
}

/* Drains every datagram the child has queued. */
void
child_readable(struct agent *a)
{
	struct ipc_msg	msg;
	int		r;

	while (a->child.fd != -1) {
		r = ipc_recv(a->child.fd, a->rx, IPC_MAX_DGRAM + 1, &msg);
		/*
		 * A child that exits with our messages unread leaves a reset,
		 * reported once and before what it sent last: read on.
		 */
		if (r == -1 && errno == ECONNRESET)
			continue;
		if (r == 0) {
			/* Hang-up: the child is gone; SIGCHLD tells why. */
			close(a->child.fd);
			a->child.fd = -1;
			a->child.ready = 0;
			return;
		}
		if (r == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			violation(a, errno == EMSGSIZE ? "oversized datagram" :
			    "malformed datagram header");
			return;
		}
		switch (msg.type) {
		case IPC_READY:
			on_ready(a, &msg);
			break;
		case IPC_SIGN_REQUEST:
			on_sign_request(a, &msg);
			break;
		case IPC_JWS_SIGN_REQUEST:
			on_jws_sign_request(a, &msg);
			break;
		case IPC_JOB_RESULT:
			on_job_result(a, &msg);
			break;
		case IPC_CA_RESULT:
			on_ca_result(a, &msg);
			break;
		case IPC_LOG:
			on_log(a, &msg);
			break;
		default:
			violation(a, "unknown message type");
			return;
		}
	}
}
