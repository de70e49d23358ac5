/*
 * dispatch.c - the parent's handling of messages from the child.
 *
 * One switch whose default kills the child: the child is untrusted from
 * its first network byte, so a message it should not send, a malformed
 * one, or one out of turn is treated as a takeover (OpenBSD's
 * proc_dispatch, OpenSSH's "unpermitted request").
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "acme_http01.h"
#include "acme_eab.h"
#include "acme_signer.h"
#include "agent.h"
#include "audit.h"
#include "audit_checkpoint.h"
#include "connect_broker.h"
#include "hsm_account.h"
#include "hsm_worker.h"
#include "http01_server.h"
#include "log.h"
#include "tls13_cv.h"
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

/*
 * A request for a job whose signing window has closed: the window is
 * the longest a legitimate job of its connector takes (job_sign_window),
 * and no grant extends it, so asking past it is not a slow CA but a
 * child keeping a job open to collect signatures.
 */
static int
past_window(struct agent *a, const struct job *j)
{
	if (j == NULL || j->state != JOB_SENT ||
	    monotime_ms() <= j->sign_until_ms)
		return 0;
	violation(a, "signature asked for after the job's signing window");
	return 1;
}

/*
 * A grant's record details until the token answers: the TLS path's flat
 * members, written without jansson (it is the one high-rate record), or
 * ACME's JSON (which carries the list of pinned URLs).
 */
struct grant_details {
	json_t			*json;
	struct audit_fields	 flat;
};

static struct grant_details *
grant_json(json_t *json)
{
	struct grant_details *gd = xcalloc(1, sizeof(*gd));

	gd->json = json;
	return gd;
}

static void
grant_details_free(struct grant_details *gd)
{
	if (gd == NULL)
		return;
	json_decref(gd->json);
	free(gd);
}

/* The sign.granted record with these details, which it consumes. */
static int
record_details(struct agent *a, const char *outcome, struct grant_details *gd)
{
	int r;

	if (gd->json != NULL) {
		r = agent_audit_deferred(a, "sign.granted", NULL, outcome,
		    gd->json);
		gd->json = NULL;
	} else
		r = agent_audit_fields_deferred(a, "sign.granted", outcome,
		    &gd->flat);
	grant_details_free(gd);
	return r;
}

/*
 * A granted signature leaves only with its audit record written (synced
 * within AUDIT_SYNC_MS): if the record cannot be written, the signature
 * is wiped and the child told the signing failed. Health is then down
 * (the audit log is broken) and the withheld signature counted.
 */
static int
record_grant(struct agent *a, uint32_t req, struct grant_details *details,
    uint8_t *sig, size_t siglen)
{
	if (record_details(a, "ok", details) == 0)
		return 0;
	explicit_bzero(sig, siglen);
	a->count.sign_unrecorded++;
	log_error("sign: a signature was made but its audit record could "
	    "not be written: withheld");
	reply_sign(a, req, SIGN_FAILED, NULL, 0);
	return -1;
}

/* On the HSM worker: the TLS key's next signature readied (hsm.h). */
static int
run_tls_prepare(struct hsm_work *w)
{
	if (hsm_prepare(w->arg, w->scheme, w->job_id) == -1) {
		snprintf(w->err, sizeof(w->err), "not readied");
		return -1;
	}
	return 0;
}

/* On the HSM worker: an ended job's readied signature ends (hsm.h). */
static int
run_tls_forget(struct hsm_work *w)
{
	hsm_forget_prepared(w->arg, w->job_id);
	return 0;
}

/*
 * A token call no one waits for (WORK_PREPARE, WORK_FORGET), for job
 * id: the worker frees it. 0 submitted.
 */
static int
quiet_work(struct agent *a, int kind, int (*fn)(struct hsm_work *),
    uint32_t id, enum sign_scheme s)
{
	struct hsm_work *w;

	if (a->hsm == NULL || a->hsm_worker == NULL)
		return -1;
	w = xcalloc(1, sizeof(*w));
	w->fn = fn;
	w->arg = a->hsm;
	w->scheme = s;
	w->job_id = id;
	w->kind = kind;
	w->quiet = 1;
	w->submitted_ms = monotime_ms();
	if (hsm_worker_submit(a->hsm_worker, w) == 0)
		return 0;
	free(w);
	return -1;
}

/* The worker readies the TLS key's next signature for job j (hsm.h). */
static void
ready_for(struct agent *a, struct job *j, enum sign_scheme s)
{
	if (quiet_work(a, WORK_PREPARE, run_tls_prepare, j->id, s) == 0)
		a->count.tls_readied++;
}

/*
 * Job j ends. What was readied for it after its last signature (by
 * ready_next, or at its connection when it signed nothing) would hold
 * the token's readied slot for HSM_PREPARED_MS, which the first to
 * ready keeps: the worker ends it now.
 */
void
hsm_forget_for(struct agent *a, const struct job *j)
{
	if (j->tls_granted >= 2 || (j->tls_readied && j->tls_granted == 0))
		(void)quiet_work(a, WORK_FORGET, run_tls_forget, j->id, 0);
}

/*
 * A connection is being made for job j: its handshake will ask the TLS
 * key for a CertificateVerify, so the worker readies the token for it
 * (hsm_prepare) while the connect and the child's handshake run, with
 * the scheme the last one used. Nothing is signed; a job whose CA never
 * asks for the certificate (ACME, a password API) is skipped, and a
 * readied signing not used is dropped (HSM_PREPARED_MS). It is the
 * job's alone: another job's signature does not use it.
 */
void
hsm_prepare_for(struct agent *a, struct job *j)
{
	enum sign_scheme s = a->tls_scheme;

	/*
	 * Once a job: the child asks for connections, and the token's
	 * C_SignInit calls stay bounded by the jobs the parent gives out.
	 */
	if (a->hsm == NULL || a->hsm_worker == NULL || j->tls_readied ||
	    !job_presents_tls_key(a, j))
		return;
	j->tls_readied = 1;
	if (s == 0 || (sign_scheme_family(s) == SCHEME_FAMILY_ECDSA) !=
	    (hsm_key_type(a->hsm) == HSM_KEY_EC))
		s = hsm_key_type(a->hsm) == HSM_KEY_EC ? SCHEME_ECDSA_SHA256 :
		    SCHEME_RSA_PSS_SHA256;
	ready_for(a, j, s);
}

/*
 * Readying the next signature while the child uses this one pays only
 * when the worker can run beside the child: on one CPU (a small host, or
 * the agent pinned) nothing overlaps, and the worker's C_SignInit would
 * only stand between the child and its CPU. The CPUs we may run on,
 * looked at every 100 ms (taskset can change them); 1 when there are
 * two or more.
 */
static int
cpus_beside(struct agent *a)
{
	int64_t		now = monotime_ms();
	cpu_set_t	set;

	if (a->cpus_at_ms == 0 || now - a->cpus_at_ms >= 100) {
		CPU_ZERO(&set);
		a->cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ?
		    CPU_COUNT(&set) : 1;
		a->cpus_at_ms = now;
	}
	return a->cpus >= 2;
}

/*
 * Job j was given a TLS signature under s. From its second on, a job
 * that signs again and again (connection after connection, or the
 * signatures of a stream) will likely ask once more: the worker readies
 * the next under the same scheme while the child uses this one and
 * sends its next request. At most one C_SignInit per signature given,
 * so a child cannot make the token do more than it signs; a job's last
 * one goes unused and ends with the job (hsm_forget_for). While another
 * job's is readied the token keeps that one (hsm_prepare), so jobs
 * signing in turn do not drop each other's. A job signing once (most
 * handshakes) readies nothing here.
 */
static void
ready_next(struct agent *a, struct job *j, enum sign_scheme s)
{
	if (j->state == JOB_SENT && j->tls_granted++ > 0 && cpus_beside(a))
		ready_for(a, j, s);
}

/* On the HSM worker: the TLS key signs a digest. */
static int
run_tls_sign(struct hsm_work *w)
{
	uint64_t	before = hsm_prepared_used(w->arg);
	int		r;

	r = hsm_sign(w->arg, w->job_id, w->scheme, w->input, w->len, w->sig,
	    &w->siglen, w->err, sizeof(w->err));
	w->readied = hsm_prepared_used(w->arg) != before;
	return r;
}

/* On the HSM worker: an ACME account key signs a JWS signing input. */
static int
run_account_sign(struct hsm_work *w)
{
	return hsm_account_sign(w->arg, w->arg2, w->input, w->len, w->sig,
	    &w->siglen, w->err, sizeof(w->err));
}

/*
 * A signature made: its record first, then the answer (withheld if the
 * record cannot be written). An ACME job that got one is progressing:
 * its next request gets its time, within the job's signing window.
 */
static void
granted(struct agent *a, uint32_t req, uint32_t job_id, int kind,
    enum sign_scheme scheme, struct grant_details *record, uint8_t *sig,
    size_t siglen)
{
	struct job *j = job_find(a, job_id);

	if (kind != WORK_EAB)
		hsm_signed(a);
	if (kind != WORK_TLS && j != NULL && j->state == JOB_SENT)
		job_alive(a, j);
	log_debug("sign: granted: job %u (%s)", job_id, kind == WORK_TLS ?
	    "tls" : kind == WORK_ACCOUNT ? "jws-account" : "jws-eab");
	/* The one high-rate record: synced within AUDIT_SYNC_MS (audit.h). */
	if (record_grant(a, req, record, sig, HSM_MAX_SIG) == -1)
		return;
	reply_sign(a, req, SIGN_OK, sig, siglen);
	explicit_bzero(sig, HSM_MAX_SIG);
	if (kind == WORK_TLS && j != NULL)
		ready_next(a, j, scheme);
}

/*
 * Hands a granted request to the HSM worker (hsm_worker.h): the loop
 * goes on serving while the token signs. Refused at once while a
 * signature is overdue (the token does not answer) or the queue is full.
 */
static void
sign_async(struct agent *a, uint32_t req, uint32_t job_id, int kind,
    int (*fn)(struct hsm_work *), void *arg, void *arg2,
    enum sign_scheme scheme, const uint8_t *in, size_t len,
    struct grant_details *record)
{
	struct hsm_work *w = xcalloc(1, sizeof(*w));

	w->fn = fn;
	w->arg = arg;
	w->arg2 = arg2;
	w->scheme = scheme;
	w->input = xmalloc(len ? len : 1);
	memcpy(w->input, in, len);
	w->len = len;
	w->req = req;
	w->job_id = job_id;
	w->kind = kind;
	w->record = record;
	w->owner = a->child.pid;
	w->submitted_ms = monotime_ms();
	if (hsm_worker_submit(a->hsm_worker, w) == 0)
		return;
	if (hsm_worker_stuck(a->hsm_worker)) {
		a->sp.failed++;
		log_warn("sign: job %u: refused: %s", job_id, a->hsm_error);
	} else {
		char why[96];

		snprintf(why, sizeof(why), "more than %d signatures wait for "
		    "the HSM", HSM_WORKER_MAX_QUEUE);
		hsm_failed(a, job_id, why);
	}
	reply_sign(a, req, SIGN_FAILED, NULL, 0);
	grant_details_free(record);
	explicit_bzero(w->input, len);
	free(w->input);
	free(w);
}

/* One finished signature: recorded, then answered; w is freed. */
static void
work_finished(struct agent *a, struct hsm_work *w)
{
	/* A child restarted since: the answer is for no one. */
	int ours = w->owner == a->child.pid && a->child.ready;

	if (w->kind == WORK_TLS && w->readied)
		a->count.tls_readied_used++;
	if (w->kind == WORK_CHECKPOINT) {
		/* One the loop stopped waiting for (audit_checkpoint.c). */
		if (w->overdue && w->rc == 0)
			hsm_signed(a);
		audit_ckpt_came_back(a, w);
		free(w);
		return;
	}

	if (w->kind == WORK_PREPARE || w->kind == WORK_FORGET) {
		/* Back after it was overdue (else the worker freed it). */
		if (w->overdue && w->rc == 0)
			hsm_signed(a);
	} else if (w->overdue) {
		/* Answered as failed already; the token is back. */
		log_info("sign: job %u: the HSM answered after %lld ms",
		    w->job_id, (long long)(monotime_ms() - w->submitted_ms));
		if (w->rc == 0)
			hsm_signed(a);
		else
			hsm_failed(a, w->job_id, w->err);
		grant_details_free(w->record);
	} else if (w->rc == -1) {
		if (w->not_run)		/* behind a hung one, or stopping */
			a->sp.failed++;
		else
			hsm_failed(a, w->job_id, w->err);
		grant_details_free(w->record);
		if (ours)
			reply_sign(a, w->req, SIGN_FAILED, NULL, 0);
	} else if (ours) {
		if (w->kind == WORK_TLS)
			a->tls_scheme = w->scheme;
		granted(a, w->req, w->job_id, w->kind, w->scheme, w->record,
		    w->sig, w->siglen);
	} else {
		/* Made, never delivered: recorded all the same. */
		hsm_signed(a);
		(void)record_details(a, "undelivered", w->record);
	}
	explicit_bzero(w->sig, sizeof(w->sig));
	if (w->input != NULL)		/* none for quiet work */
		explicit_bzero(w->input, w->len);
	free(w->input);
	free(w);
}

/* The HSM worker's finished signatures, when the loop is told of them. */
void
hsm_work_done(struct agent *a)
{
	struct hsm_work	*w, *next;

	for (w = hsm_worker_take(a->hsm_worker); w != NULL; w = next) {
		next = w->next;
		work_finished(a, w);
	}
}

struct hsm_work *
hsm_work_wait(struct agent *a, struct hsm_work *mine, int wait_ms)
{
	struct pollfd	 p = { hsm_worker_fd(a->hsm_worker), POLLIN, 0 };
	struct hsm_work	*w, *next, *got = NULL;
	int64_t		 until = monotime_ms() + wait_ms, left;

	for (;;) {
		/* Others come back through the pipe only while stopping. */
		for (w = hsm_worker_take(a->hsm_worker); w != NULL; w = next) {
			next = w->next;
			if (w == mine)
				got = w;
			else
				work_finished(a, w);
		}
		if (got != NULL || (left = until - monotime_ms()) <= 0)
			return got;
		(void)poll(&p, 1, (int)left);
	}
}

/*
 * The worker's finisher (hsm_worker.h): on the worker thread, holding
 * the loop's lock. A first deferred record starts the loop's sync timer,
 * which the loop sets only when it wakes: wake it for that.
 */
void
hsm_work_finish(void *arg, struct hsm_work *w)
{
	struct agent	*a = arg;
	int		 was_clean = a->audit_dirty_ms == 0;

	work_finished(a, w);
	if (was_clean && a->audit_dirty_ms != 0)
		hsm_worker_wake(a->hsm_worker);
}

/*
 * A signature the token has not answered within reply_timeout_ms (the
 * child has stopped waiting): health says the HSM is down, naming it,
 * and signatures fail at once until it answers (hsm_work_done).
 */
void
hsm_work_tick(struct agent *a, int64_t now)
{
	struct hsm_work	*w;
	char		 why[IPC_MAX_STR];

	if ((w = hsm_worker_overdue(a->hsm_worker, now,
	    a->cfg->sign_timeout_ms)) == NULL)
		return;
	a->count.hsm_overdue++;
	snprintf(why, sizeof(why), "the token (%s) has not answered %s in "
	    "%u ms (reply_timeout_ms); signatures fail until it does",
	    w->kind == WORK_CHECKPOINT ? "the [state] checkpoint key" :
	    hsm_key_label(a->hsm), w->kind == WORK_PREPARE ? "C_SignInit" :
	    w->kind == WORK_FORGET ? "C_CloseSession" :
	    w->kind == WORK_CHECKPOINT ? "a checkpoint signature" :
	    "a signature",
	    a->cfg->sign_timeout_ms);
	hsm_failed(a, w->job_id, why);
	if (w->owner == a->child.pid && a->child.ready)
		reply_sign(a, w->req, SIGN_FAILED, NULL, 0);
}

/* Lower-case hex of SHA-256(data). */
static void
sha256_hex(const uint8_t *data, size_t len, char out[65])
{
	uint8_t	 md[32];

	SHA256(data, len, md);
	hex_lower(md, sizeof(md), out);
}

/* Lower-case hex of a digest (at most IPC_MAX_DIGEST bytes). */
static void
hex_of(const uint8_t *data, size_t len, char *out)
{
	hex_lower(data, len < IPC_MAX_DIGEST ? len : IPC_MAX_DIGEST, out);
}

/*
 * The digest the HSM signs for a TLS request: the child's digest (TLS
 * 1.2), or the hash, with the scheme's hash function, of the TLS 1.3
 * client CertificateVerify content the parent builds around the child's
 * transcript hash. 0 with dg set and, for TLS 1.3, sha256 of the
 * content for the record; -1 if the content cannot be built.
 */
static int
tls_digest(const struct ipc_sign_request *rq, int tls13, uint8_t *dg,
    size_t *dlen, char content_sha[65])
{
	uint8_t		 content[TLS13_CV_MAX];
	const EVP_MD	*md;
	unsigned int	 n = 0;
	int		 len;

	if (!tls13) {
		memcpy(dg, rq->digest, rq->dlen);
		*dlen = rq->dlen;
		return 0;
	}
	/* The scheme's hash; the transcript hash is the cipher suite's. */
	switch (sign_scheme_digest_len(rq->scheme)) {
	case 32: md = EVP_sha256(); break;
	case 48: md = EVP_sha384(); break;
	case 64: md = EVP_sha512(); break;
	default: return -1;
	}
	if ((len = tls13_cv_content(rq->digest, rq->dlen, content,
	    sizeof(content))) == -1 || EVP_Digest(content, (size_t)len, dg, &n,
	    md, NULL) != 1 || n != sign_scheme_digest_len(rq->scheme))
		return -1;
	*dlen = n;
	/* The record's SHA-256 of the content: the digest itself, if so. */
	if (md == EVP_sha256())
		hex_lower(dg, n, content_sha);
	else
		sha256_hex(content, (size_t)len, content_sha);
	return 0;
}

/*
 * The parent half of keyproxy_sign(): mm_answer_sign in OpenSSH terms.
 * IPC_TLS13_SIGN_REQUEST carries a TLS 1.3 transcript hash, and what is
 * signed is the client CertificateVerify content built here; a bare
 * digest (IPC_SIGN_REQUEST, TLS 1.2) only for a job whose connector (or
 * probe) allows TLS 1.2, since that digest could be anything's.
 */
static void
on_sign_request(struct agent *a, const struct ipc_msg *msg)
{
	struct ipc_sign_request	 rq;
	struct job		*j;
	enum sign_verdict	 v;
	int			 tls13 = msg->type == IPC_TLS13_SIGN_REQUEST;
	uint8_t			 dg[IPC_MAX_DIGEST];
	size_t			 dlen = 0;
	char			 hex[2 * IPC_MAX_DIGEST + 1];
	char			 content_sha[65] = "";
	struct grant_details	*gd;

	if (!a->child.ready || (tls13 ? ipc_dec_tls13_sign_request(msg,
	    &rq) : ipc_dec_sign_request(msg, &rq)) == -1) {
		violation(a, "malformed or premature sign-request");
		return;
	}
	j = job_find(a, rq.job_id);
	if (past_window(a, j))
		return;
	if (!tls13 && j != NULL && j->state == JOB_SENT &&
	    !job_allows_tls12(a, j)) {
		v = SIGN_DENY_TLS12;
		a->sp.count[v]++;
	} else
		/*
		 * A transcript hash is SHA-256, -384 or -512, whatever the
		 * scheme: checked as a digest of the scheme's length once it
		 * is one of those (the content is hashed with the scheme's).
		 */
		v = sign_policy_check(&a->sp, rq.scheme, tls13 ? (rq.dlen ==
		    32 || rq.dlen == 48 || rq.dlen == 64 ?
		    sign_scheme_digest_len(rq.scheme) : 0) : rq.dlen,
		    j != NULL && j->state == JOB_SENT, monotime_ms());
	if (v != SIGN_GRANT) {
		log_warn("sign: %s: job %u scheme %u %s %zu bytes",
		    sign_verdict_name(v), rq.job_id, (unsigned)rq.scheme,
		    tls13 ? "transcript hash" : "digest", rq.dlen);
		agent_audit(a, "sign.refused", NULL, sign_verdict_name(v),
		    json_pack("{s:I,s:i,s:s,s:I}", "job", (json_int_t)rq.job_id,
		    "scheme", (int)rq.scheme, "tls", tls13 ? "1.3" : "1.2",
		    "digest_len", (json_int_t)rq.dlen));
		reply_sign(a, msg->id, SIGN_REFUSED, NULL, 0);
		return;
	}
	if (tls_digest(&rq, tls13, dg, &dlen, content_sha) == -1) {
		hsm_failed(a, rq.job_id, "the TLS 1.3 content could not be "
		    "built");
		reply_sign(a, msg->id, SIGN_FAILED, NULL, 0);
		return;
	}
	/*
	 * The record is written when the token answers, before the reply.
	 * Its members in the canonical (sorted) order: audit_fields_*.
	 */
	gd = xcalloc(1, sizeof(*gd));
	audit_fields_str(&gd->flat, "connector", job_connector_name(a, j));
	if (tls13)
		audit_fields_str(&gd->flat, "content_sha256", content_sha);
	else {
		hex_of(rq.digest, rq.dlen, hex);
		audit_fields_str(&gd->flat, "digest", hex);
	}
	audit_fields_int(&gd->flat, "job", (long long)rq.job_id);
	audit_fields_str(&gd->flat, "scheme", sign_scheme_name(rq.scheme));
	audit_fields_str(&gd->flat, "tls", tls13 ? "1.3" : "1.2");
	sign_async(a, msg->id, rq.job_id, WORK_TLS, run_tls_sign, a->hsm,
	    NULL, rq.scheme, dg, dlen, gd);
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
	char h[65];

	log_warn("sign: %s: job %u %s %s input %zu bytes", why, rq->job_id,
	    jws_kind_name(rq->kind), acme_op_name(rq->op), rq->len);
	/* Not the input (long): its hash, and the verdict says what was wrong. */
	sha256_hex(rq->input, rq->len, h);
	agent_audit(a, "sign.refused", NULL, why, json_pack(
	    "{s:I,s:s,s:s,s:I,s:s}", "job", (json_int_t)rq->job_id, "scheme",
	    jws_kind_name(rq->kind), "op", acme_op_name(rq->op), "input_len",
	    (json_int_t)rq->len, "input_sha256", h));
	reply_sign(a, req, SIGN_REFUSED, NULL, 0);
}

/*
 * What a grant pinned (acme_url_pin.h) goes into its record and the
 * log: an auditor sees which URLs the connector's account is held to.
 */
static void
pinned(const struct acme_signer *s, const struct acme_sign_req *ar,
    json_t *record)
{
	json_t	*roles;

	if (ar->pinned == 0 || record == NULL)
		return;
	roles = json_array();
	for (int r = 0; r < ACME_PIN_ROLES; r++) {
		if (!(ar->pinned & (1u << r)))
			continue;
		json_array_append_new(roles, json_string(
		    acme_pin_role_name((enum acme_pin_role)r)));
		log_info("acme: connector %s: %s pinned to %s", s->connector,
		    acme_pin_role_name((enum acme_pin_role)r),
		    s->pins.url[r]);
	}
	json_object_set_new(record, "pinned", roles);
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
	struct acme_job_view		 view;
	struct acme_sign_req		 ar;
	struct job			*j;
	enum sign_verdict		 v;
	enum acme_sign_verdict		 av;
	uint8_t				 sig[HSM_MAX_SIG];
	char				 err[256], h[65];
	json_t				*record;

	if (!a->child.ready || ipc_dec_jws_sign_request(msg, &rq) == -1) {
		violation(a, "malformed or premature jws-sign-request");
		return;
	}
	j = job_find(a, rq.job_id);
	if (past_window(a, j))
		return;
	s = jws_signer(a, rq.job_id);
	if ((v = sign_policy_check_job(&a->sp, s != NULL, monotime_ms())) !=
	    SIGN_GRANT) {
		jws_refused(a, msg->id, &rq, sign_verdict_name(v));
		return;
	}
	/* The job as the parent sent it: what the payload must match. */
	memset(&ar, 0, sizeof(ar));
	ar.kind = rq.kind;
	ar.op = rq.op;
	ar.input = rq.input;
	ar.len = rq.len;
	ar.facts = acme_job_view_init(&view, &j->payload) == 0 ? &view.f :
	    NULL;
	ar.nnames = view.nnames;
	if (j->acme_pins == NULL)
		j->acme_pins = xcalloc(1, sizeof(*j->acme_pins));
	ar.job_pins = j->acme_pins;
	av = acme_signer_check(s, &ar);
	if (ar.facts != NULL)
		acme_job_view_free(&view);
	if (av != ACME_SIGN_OK) {
		/* The rate's token is spent, but the request was refused. */
		a->sp.count[SIGN_GRANT]--;
		a->count.acme_refused++;
		jws_refused(a, msg->id, &rq, acme_sign_verdict_name(av));
		return;
	}
	sha256_hex(rq.input, rq.len, h);
	record = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "job",
	    (json_int_t)rq.job_id, "scheme", jws_kind_name(rq.kind),
	    "connector", s->connector, "op", acme_op_name(rq.op), "url",
	    ar.url, "input_sha256", h);
	pinned(s, &ar, record);
	if (rq.kind == JWS_ACCOUNT) {
		/* The token signs off the loop; the reply follows its answer. */
		sign_async(a, msg->id, rq.job_id, WORK_ACCOUNT, run_account_sign,
		    a->hsm, s->account, 0, rq.input, rq.len,
		    grant_json(record));
		return;
	}
	/* EAB: an HMAC with a key file the parent reads, not the token. */
	if (acme_eab_mac(s->eab_key_file, (const char *)rq.input, rq.len, sig,
	    err, sizeof(err)) == -1) {
		/* The EAB key file, not the HSM: the operator must fix it. */
		a->sp.failed++;
		log_error("sign: job %u: EAB: %s", rq.job_id, err);
		json_decref(record);
		reply_sign(a, msg->id, SIGN_FAILED, NULL, 0);
		return;
	}
	granted(a, msg->id, rq.job_id, WORK_EAB, 0, grant_json(record), sig,
	    ACME_HS256_LEN);
}

/*
 * The child names an http-01 token its ACME job waits on (RFC 8555
 * §8.3): the parent answers it on its port with the key authorization of
 * the account key it holds, so the child can point the port at a token
 * but never at another account's thumbprint. Only for an enroll or
 * lookup job of an ACME connector in flight; anything else is refused,
 * counted and audited, and the port answers nothing for it. A token
 * lives until its job drops it or ends (job_release).
 */
static void
on_http01_token(struct agent *a, const struct ipc_msg *msg)
{
	struct ipc_http01_token	 t;
	struct acme_signer	*s;
	struct job		*j;
	char			 ka[IPC_MAX_HTTP01_TOKEN + ACME_THUMBPRINT_LEN +
				    2];
	const char		*why = NULL;

	if (!a->child.ready || ipc_dec_http01_token(msg, &t) == -1) {
		violation(a, "malformed or premature http01-token");
		return;
	}
	if (!t.add) {
		(void)http01_token_del(a->http01, t.job_id, t.token);
		return;
	}
	j = job_find(a, t.job_id);
	s = jws_signer(a, t.job_id);
	if (a->http01 == NULL)
		why = "no-listener";
	else if (s == NULL)
		why = "refused-no-job";
	else if (j->ca_action != CA_ENROLL && j->ca_action != CA_LOOKUP)
		why = "op";
	else if (acme_key_authorization(t.token, s->thumbprint, ka,
	    sizeof(ka)) == -1 || http01_token_add(a->http01, t.job_id,
	    t.token, ka) == -1)
		why = "full";
	if (why != NULL) {
		a->count.http01_refused++;
		log_warn("http-01: %s: job %u token %s", why, t.job_id,
		    t.token);
		agent_audit_deferred(a, "http_token.refused", NULL, why, json_pack(
		    "{s:I,s:s}", "job", (json_int_t)t.job_id, "token",
		    t.token));
		return;
	}
	log_info("http-01: token %s answered for job %u (connector %s)",
	    t.token, t.job_id, s->connector);
}

const double ca_latency_bounds[CA_LATENCY_BUCKETS] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};

/* Metrics and health: how long the CA took, and could it be reached. */
static void
ca_observe(struct agent *a, const struct job *j,
    const struct ipc_ca_result *r)
{
	int			 known = j->conn >= 0 &&
				    (size_t)j->conn < a->cfg->nconnectors;
	struct ca_latency	*l = known ? &a->ca_targets[j->conn].latency :
				    &a->ca_latency;
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
	job_release(a, j);
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
	job_release(a, j);
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
		if (msg.fd != -1)
			close(msg.fd);
		if (msg.type == IPC_LOG && ipc_dec_log(&msg, &l) == 0)
			log_msg((enum log_level)l.level, "child[%ld]: %s",
			    (long)a->child.pid, l.text);
	}
}

/*
 * A token per line, CHILD_LOG_RATE a second up to CHILD_LOG_BURST: the
 * child's lines are its own words and cost the parent's disk, so a
 * hijacked child cannot fill it. Dropped lines are counted (metrics,
 * health) and summed up in one line of the parent's at most a second.
 */
static int
log_allowed(struct child_proc *c, int64_t now)
{
	if (c->log_last_ms == 0)
		c->log_tokens = CHILD_LOG_BURST;
	else
		c->log_tokens += (double)(now - c->log_last_ms) *
		    CHILD_LOG_RATE / 1000;
	if (c->log_tokens > CHILD_LOG_BURST)
		c->log_tokens = CHILD_LOG_BURST;
	c->log_last_ms = now;
	if (c->log_tokens >= 1) {
		c->log_tokens -= 1;
		return 1;
	}
	c->log_dropped++;
	if (now - c->log_dropped_ms >= 1000) {
		log_warn("supervisor: child %ld logs more than %d lines a "
		    "second: %llu lines dropped", (long)c->pid, CHILD_LOG_RATE,
		    (unsigned long long)(c->log_dropped - c->log_dropped_told));
		c->log_dropped_told = c->log_dropped;
		c->log_dropped_ms = now;
	}
	return 0;
}

static void
on_log(struct agent *a, const struct ipc_msg *msg)
{
	struct ipc_log l;

	if (ipc_dec_log(msg, &l) == -1) {
		violation(a, "malformed log message");
		return;
	}
	if (log_allowed(&a->child, monotime_ms()))
		log_msg((enum log_level)l.level, "child[%ld]: %s",
		    (long)a->child.pid, l.text);
}

/*
 * Reads the child's datagrams until the queue is empty or a sign
 * request has been taken (the loop comes back for the rest).
 */
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
		if (msg.fd != -1 || msg.fd_dropped) {
			/* Descriptors go to the child, never from it. */
			if (msg.fd != -1)
				close(msg.fd);
			violation(a, "a descriptor passed by the child");
			return;
		}
		switch (msg.type) {
		case IPC_READY:
			on_ready(a, &msg);
			break;
		/*
		 * A signer waits for its answer, so nothing of its own is
		 * queued behind a request: back to poll (level-triggered, it
		 * sees anything else at once) without the recvmsg that would
		 * find the queue empty, one system call per signature.
		 */
		case IPC_SIGN_REQUEST:
		case IPC_TLS13_SIGN_REQUEST:
			on_sign_request(a, &msg);
			return;
		case IPC_JWS_SIGN_REQUEST:
			on_jws_sign_request(a, &msg);
			return;
		case IPC_JOB_RESULT:
			on_job_result(a, &msg);
			break;
		case IPC_CA_RESULT:
			on_ca_result(a, &msg);
			break;
		case IPC_LOG:
			on_log(a, &msg);
			break;
		case IPC_HTTP01_TOKEN:
			on_http01_token(a, &msg);
			break;
		case IPC_CONNECT_REQUEST:
			broker_request(a, &msg);
			break;
		default:
			violation(a, "unknown message type");
			return;
		}
	}
}
