/*
 * audit_checkpoint.c - see audit_checkpoint.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent.h"
#include "audit.h"
#include "audit_checkpoint.h"
#include "audit_receipts.h"
#include "checkpoint.h"
#include "hsm_account.h"
#include "hsm_worker.h"
#include "log.h"
#include "signed_note.h"
#include "util.h"

struct audit_ckpt {
	struct hsm_account	*key;
	char			 origin[CHECKPOINT_MAX_ORIGIN + 1];
	uint8_t			 key_id[4];
	/*
	 * A rotation: the key rotated from, open until the next checkpoint,
	 * which it signs beside the new key after an audit.checkpoint_key
	 * record that names both.
	 */
	struct hsm_account	*prev;
	uint8_t			 prev_id[4];
	struct audit_receipts	*receipts;	/* NULL: made from the log */
	uint64_t		 signed_size;	/* the last size signed */
	int			 signed_any;
	int64_t			 last_ms;
	char			*file;		/* AUDIT.checkpoint */
	int			 out;		/* a signature the loop stopped
						   waiting for is not back */
	int64_t			 retry_ms;	/* after a failure, not before */
};

/* After a checkpoint not signed: the next try, not on every tick. */
#define CKPT_RETRY_MS	5000

/*
 * [state] checkpoint_origin, or "hsmagent/HOST/KEYID": which agent, and
 * which key signs for it.
 */
static void
origin_of(const struct config *cfg, const uint8_t key_id[4], char *out,
    size_t outlen)
{
	char	 host[128];

	if (cfg->ckpt_origin != NULL) {
		snprintf(out, outlen, "%s", cfg->ckpt_origin);
		return;
	}
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '+')
			*p = '_';
	snprintf(out, outlen, "hsmagent/%s/%02x%02x%02x%02x", host, key_id[0],
	    key_id[1], key_id[2], key_id[3]);
}

int
audit_ckpt_vkey(const struct agent *a, EVP_PKEY *pub, char *out,
    size_t outlen)
{
	char	 origin[CHECKPOINT_MAX_ORIGIN + 1];
	uint8_t	 id[4];

	if (note_ecdsa_key_id(pub, id) == -1)
		return -1;
	if (a->ckpt != NULL)
		snprintf(origin, sizeof(origin), "%s", a->ckpt->origin);
	else
		origin_of(a->cfg, id, origin, sizeof(origin));
	return note_ecdsa_vkey(origin, pub, out, outlen);
}

/*
 * The latest checkpoint (FILE.checkpoint) as this start finds it, into
 * n over buf; 0, or -1 if there is none that parses.
 */
static int
read_latest(const char *file, char *buf, size_t cap, struct note *n,
    struct checkpoint *c)
{
	char	 err[128];
	ssize_t	 len;
	int	 fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	len = read(fd, buf, cap);
	close(fd);
	if (len <= 0 || (size_t)len >= cap)
		return -1;
	return note_parse(buf, (size_t)len, n, err, sizeof(err)) == 0 &&
	    checkpoint_parse(n->text, n->textlen, c, err, sizeof(err)) == 0 ?
	    0 : -1;
}

/* Opens one checkpoint key (EC P-256) and its key ID; NULL with err. */
static struct hsm_account *
open_key(struct agent *a, const char *uri, const char *what, uint8_t id[4],
    char *err, size_t errlen)
{
	struct hsm_account *h;

	if ((h = hsm_account_open(a->hsm, uri,
	    a->cfg->hsm_insecure_allow_extractable, err, errlen)) == NULL)
		return NULL;
	if (note_ecdsa_key_id(hsm_account_pubkey(h), id) == -1) {
		snprintf(err, errlen, "[state] %s: the key is not EC P-256 "
		    "(checkpoints are signed notes of type 0x02, ECDSA P-256)",
		    what);
		hsm_account_close(h);
		return NULL;
	}
	return h;
}

/* Did one of our keys sign the note? */
static int
ours(struct audit_ckpt *k, const struct note *n, const struct checkpoint *c)
{
	char why[128];

	return note_verify_ecdsa(n, c->origin, hsm_account_pubkey(k->key),
	    why, sizeof(why)) || (k->prev != NULL && note_verify_ecdsa(n,
	    c->origin, hsm_account_pubkey(k->prev), why, sizeof(why)));
}

/*
 * The origin: [state] checkpoint_origin; else the one the latest
 * checkpoint carries when one of our keys signed it, so that the log
 * keeps its name across restarts and rotations; else derived from the
 * host name and the first key's ID.
 */
static void
choose_origin(struct agent *a, struct audit_ckpt *k, const struct note *n,
    const struct checkpoint *c, int have_latest)
{
	if (a->cfg->ckpt_origin == NULL && have_latest && ours(k, n, c))
		snprintf(k->origin, sizeof(k->origin), "%s", c->origin);
	else
		origin_of(a->cfg, k->prev != NULL ? k->prev_id : k->key_id,
		    k->origin, sizeof(k->origin));
}

/*
 * The latest checkpoint we signed holds a size: a log now shorter was
 * cut (or rolled back to a copy), and checkpoints signed on it would be
 * a fork of our own making. The agent does not start on it. Otherwise
 * sizes up to it count as signed: the next checkpoint is of a larger
 * tree, across restarts too.
 */
static int
check_latest(struct agent *a, struct audit_ckpt *k, const struct checkpoint *c,
    char *err, size_t errlen)
{
	uint64_t	size;
	uint8_t		root[32];

	audit_tree(a->audit, &size, root);
	if (size < c->size) {
		snprintf(err, errlen, "the audit log %s has %llu records and "
		    "its latest signed checkpoint (%s) %llu: records were cut "
		    "or the log was rolled back. \"hsmagent audit verify %s "
		    "--key PEM --checkpoint %s\" says where; to start a new "
		    "log, move both aside", audit_file(a->audit),
		    (unsigned long long)size, k->file,
		    (unsigned long long)c->size, audit_file(a->audit), k->file);
		return -1;
	}
	k->signed_size = c->size;
	k->signed_any = 1;
	return 0;
}

int
audit_ckpt_open(struct agent *a, char *err, size_t errlen)
{
	const struct config	*cfg = a->cfg;
	struct audit_ckpt	*k;
	static struct note	 n;	/* 100 signature lines */
	struct checkpoint	 c;
	char			*buf = NULL, why[128];
	int			 have_latest;
	struct stat		 st;

	if (cfg->ckpt_key_uri == NULL || a->audit == NULL)
		return 0;
	k = xcalloc(1, sizeof(*k));
	k->file = xmalloc(strlen(audit_file(a->audit)) + 12);
	sprintf(k->file, "%s.checkpoint", audit_file(a->audit));
	if ((k->key = open_key(a, cfg->ckpt_key_uri, "checkpoint_key_uri",
	    k->key_id, err, errlen)) == NULL)
		goto fail;
	if (cfg->ckpt_prev_key_uri != NULL && (k->prev = open_key(a,
	    cfg->ckpt_prev_key_uri, "checkpoint_previous_key_uri", k->prev_id,
	    err, errlen)) == NULL)
		goto fail;
	if (k->prev != NULL && EVP_PKEY_eq(hsm_account_pubkey(k->prev),
	    hsm_account_pubkey(k->key)) == 1) {
		snprintf(err, errlen, "[state] checkpoint_previous_key_uri "
		    "names the checkpoint key itself: a rotation is from one "
		    "key to another");
		goto fail;
	}
	if (cfg->ckpt_dir != NULL && (stat(cfg->ckpt_dir, &st) == -1 ||
	    !S_ISDIR(st.st_mode) || access(cfg->ckpt_dir, W_OK | X_OK) ==
	    -1)) {
		snprintf(err, errlen, "[state] checkpoint_dir %s: not a "
		    "directory the agent can write", cfg->ckpt_dir);
		goto fail;
	}
	buf = xmalloc(NOTE_MAX_LEN + 1);
	have_latest = read_latest(k->file, buf, NOTE_MAX_LEN + 1, &n, &c) == 0;
	choose_origin(a, k, &n, &c, have_latest);
	/*
	 * A rotation is recorded once: when the latest checkpoint is
	 * already the new key's, the previous key is not needed again.
	 */
	if (k->prev != NULL && have_latest && note_verify_ecdsa(&n, c.origin,
	    hsm_account_pubkey(k->key), why, sizeof(why))) {
		log_warn("audit: [state] checkpoint_previous_key_uri: the "
		    "latest checkpoint is already signed by the new key (the "
		    "rotation is in the log); remove the setting");
		hsm_account_close(k->prev);
		k->prev = NULL;
	}
	if (have_latest && ours(k, &n, &c) && check_latest(a, k, &c, err,
	    errlen) == -1)
		goto fail;
	free(buf);
	k->receipts = audit_receipts_new(a->audit, audit_file(a->audit));
	a->ckpt = k;
	log_info("audit: checkpoints of %s signed by %s%s", k->origin,
	    cfg->ckpt_key_uri, k->prev != NULL ? " (rotating from the "
	    "previous key at the first checkpoint)" : "");
	return 0;
 fail:
	free(buf);
	hsm_account_close(k->prev);
	hsm_account_close(k->key);
	free(k->file);
	free(k);
	return -1;
}

EVP_PKEY *
audit_ckpt_pubkey(const struct agent *a)
{
	return a->ckpt != NULL ? hsm_account_pubkey(a->ckpt->key) : NULL;
}

void
audit_ckpt_delivered(struct agent *a, const char *order)
{
	if (a->ckpt != NULL)
		audit_receipts_delivered(a->ckpt->receipts, order);
}

char *
audit_ckpt_receipt(struct agent *a, const char *order)
{
	return a->ckpt != NULL ? audit_receipts_read(a->ckpt->receipts,
	    order) : NULL;
}

void
audit_ckpt_keep_receipt(struct agent *a, const char *order, const char *text)
{
	if (a->ckpt != NULL)
		(void)audit_receipts_store(a->ckpt->receipts, order, text);
}

EVP_PKEY *
audit_ckpt_prev_pubkey(const struct agent *a)
{
	return a->ckpt != NULL && a->ckpt->prev != NULL ?
	    hsm_account_pubkey(a->ckpt->prev) : NULL;
}

void
audit_ckpt_close(struct agent *a)
{
	if (a->ckpt == NULL)
		return;
	if (a->audit != NULL)
		audit_set_leaf_hook(a->audit, NULL, NULL);
	audit_receipts_free(a->ckpt->receipts);
	hsm_account_close(a->ckpt->prev);
	hsm_account_close(a->ckpt->key);
	free(a->ckpt->file);
	free(a->ckpt);
	a->ckpt = NULL;
}

/*
 * A checkpoint's signing, made on the HSM worker (never on the loop: a
 * token can hang there as in any signature): what it signs and the
 * signature lines it makes. Flat, freed with free().
 */
struct ckpt_signing {
	struct hsm			*hsm;
	const struct hsm_account	*key, *prev;
	uint8_t				 key_id[4], prev_id[4];
	char				 origin[CHECKPOINT_MAX_ORIGIN + 1];
	struct checkpoint		 c;	/* the tree it signs */
	char				 why[16];
	char				 body[CHECKPOINT_MAX_ORIGIN + 128];
	size_t				 n;
	char				 line[NOTE_MAX_NAME + 160];
	char				 old[NOTE_MAX_NAME + 160];
};

/* On the worker: one signature line of key (its ID id) over the body. */
static int
sig_line(const struct ckpt_signing *cs, const struct hsm_account *key,
    const uint8_t id[4], char *line, size_t linelen, char *err,
    size_t errlen)
{
	uint8_t	 sig[HSM_MAX_SIG];
	size_t	 siglen = 0;

	if (hsm_account_sign(cs->hsm, key, (const uint8_t *)cs->body, cs->n,
	    sig, &siglen, err, errlen) == -1)
		return -1;
	if (note_sig_line(cs->origin, id, sig, siglen, line, linelen) < 0) {
		snprintf(err, errlen, "the signature does not fit a note");
		return -1;
	}
	return 0;
}

/* The work item's fn (hsm_worker.h): our line, and the previous key's. */
static int
run_ckpt_sign(struct hsm_work *w)
{
	struct ckpt_signing *cs = w->record;

	if (sig_line(cs, cs->key, cs->key_id, cs->line, sizeof(cs->line),
	    w->err, sizeof(w->err)) == -1)
		return -1;
	if (cs->prev != NULL && sig_line(cs, cs->prev, cs->prev_id, cs->old,
	    sizeof(cs->old), w->err, sizeof(w->err)) == -1)
		return -1;
	return 0;
}

static int	finish(struct agent *, const struct checkpoint *, char *note,
		    const char *why);
static int	record_rotation(struct agent *);

/* The note the worker's lines make (malloc'd). */
static char *
note_of(const struct ckpt_signing *cs)
{
	char *note = xmalloc(cs->n + 1 + strlen(cs->line) + strlen(cs->old) +
	    1);

	sprintf(note, "%s\n%s%s", cs->body, cs->line, cs->old);
	return note;
}

/*
 * A signature the loop stopped waiting for (a token slower than
 * HSM_LOCK_WAIT_MS) still makes its checkpoint if no record came since
 * the tree it signs: an idle agent with a slow token gets its
 * checkpoints. Else it is dropped; the next is signed anew.
 */
void
audit_ckpt_came_back(struct agent *a, struct hsm_work *w)
{
	struct ckpt_signing	*cs = w->record;
	struct audit_ckpt	*k = a->ckpt;
	uint64_t		 size;
	uint8_t			 root[32];
	long long		 ms = (long long)(monotime_ms() -
				    w->submitted_ms);

	w->record = NULL;
	if (k != NULL)
		k->out = 0;
	if (k != NULL && a->audit != NULL && w->rc == 0) {
		audit_tree(a->audit, &size, root);
		if (size == cs->c.size && memcmp(root, cs->c.root,
		    sizeof(root)) == 0 && !(k->signed_any &&
		    size <= k->signed_size)) {
			log_info("audit: checkpoint at %llu signed in %lld ms",
			    (unsigned long long)size, ms);
			(void)finish(a, &cs->c, note_of(cs), cs->why);
			free(cs);
			return;
		}
	}
	log_info("audit: a checkpoint signature came back %lld ms after it "
	    "was asked for (%s), after the agent stopped waiting, and records "
	    "came since: dropped, the next checkpoint is signed anew", ms,
	    w->rc == 0 ? "signed" : w->err);
	free(cs);
}

/*
 * The worker free (nothing queued or in its hands), within wait_ms: 0,
 * or -1 (busy, or a signature overdue). The loop's lock is let go while
 * it waits, as in poll, so that the worker can hand over what it has:
 * the finisher may record and answer the child meanwhile.
 */
static int
worker_free(struct agent *a, int wait_ms)
{
	struct pollfd	p = { hsm_worker_fd(a->hsm_worker), POLLIN, 0 };
	int64_t		until = monotime_ms() + wait_ms;

	while (!hsm_worker_idle(a->hsm_worker)) {
		if (hsm_worker_stuck(a->hsm_worker) || monotime_ms() >= until)
			return -1;
		pthread_mutex_unlock(&a->loop_lock);
		(void)poll(&p, 1, 1);
		pthread_mutex_lock(&a->loop_lock);
		hsm_work_done(a);
	}
	return 0;
}

/*
 * The note: body, blank line, our signature line, and during a rotation
 * the previous key's line after it. NULL with err. The signatures are a
 * work item of the HSM worker, made when the worker is free; the loop
 * waits for it at most HSM_LOCK_WAIT_MS, as for its other token calls,
 * keeping its lock, so that no record comes between the tree it signs
 * and the checkpoint's own record. One the token does not answer in
 * time is left to the worker (its overdue path says the HSM is down),
 * and is "out" until it comes back (audit_ckpt_came_back): no other is
 * asked for meanwhile.
 */
static char *
sign_note(struct agent *a, struct checkpoint *c, const char *why, char *err,
    size_t errlen)
{
	struct audit_ckpt	*k = a->ckpt;
	struct ckpt_signing	*cs;
	struct hsm_work		*w;
	char			*note = NULL;
	int			 n;

	if (a->hsm_worker == NULL ||
	    worker_free(a, HSM_LOCK_WAIT_MS) == -1) {
		snprintf(err, errlen, "the token is busy or not answering");
		return NULL;
	}
	/* A rotation's record first: the checkpoint covers it. */
	if (k->prev != NULL && record_rotation(a) == -1) {
		snprintf(err, errlen, "the key rotation's record was not "
		    "written");
		return NULL;
	}
	/* The tree now: the wait may have let records in. */
	audit_tree(a->audit, &c->size, c->root);
	if (k->signed_any && c->size <= k->signed_size)
		return NULL;
	cs = xcalloc(1, sizeof(*cs));
	if ((n = checkpoint_format(c, cs->body, sizeof(cs->body))) < 0) {
		free(cs);
		snprintf(err, errlen, "the checkpoint does not format");
		return NULL;
	}
	cs->n = (size_t)n;
	cs->c = *c;
	snprintf(cs->why, sizeof(cs->why), "%s", why);
	cs->hsm = a->hsm;
	cs->key = k->key;
	memcpy(cs->key_id, k->key_id, sizeof(cs->key_id));
	cs->prev = k->prev;
	memcpy(cs->prev_id, k->prev_id, sizeof(cs->prev_id));
	snprintf(cs->origin, sizeof(cs->origin), "%s", k->origin);
	w = xcalloc(1, sizeof(*w));
	w->fn = run_ckpt_sign;
	w->arg = a->hsm;
	w->record = cs;
	w->kind = WORK_CHECKPOINT;
	w->direct = 1;
	w->submitted_ms = monotime_ms();
	if (hsm_worker_submit(a->hsm_worker, w) == -1) {
		free(cs);
		free(w);
		snprintf(err, errlen, "the token is busy or not answering");
		return NULL;
	}
	if ((w = hsm_work_wait(a, w, HSM_LOCK_WAIT_MS)) == NULL) {
		k->out = 1;
		snprintf(err, errlen, "the token has not answered in %d ms; "
		    "used if it answers before the next record",
		    HSM_LOCK_WAIT_MS);
		return NULL;
	}
	if (w->rc == -1)
		snprintf(err, errlen, "%s", w->err);
	else
		note = note_of(cs);
	free(cs);
	free(w);
	return note;
}

/*
 * The rotation's record, before the checkpoint both keys sign: the
 * verifier that trusts the old key learns the new one from it. 0 or -1.
 */
static int
record_rotation(struct agent *a)
{
	struct audit_ckpt	*k = a->ckpt;
	char			 from[512], to[512];

	if (note_ecdsa_vkey(k->origin, hsm_account_pubkey(k->prev), from,
	    sizeof(from)) < 0 || note_ecdsa_vkey(k->origin,
	    hsm_account_pubkey(k->key), to, sizeof(to)) < 0) {
		log_error("audit: the rotation's verifier keys do not format");
		return -1;
	}
	return agent_audit(a, "audit.checkpoint_key", k->origin, "ok",
	    json_pack("{s:s,s:s,s:s}", "reason", "rotation", "from", from,
	    "to", to));
}

/*
 * [state] checkpoint_dir: a copy of each checkpoint under its size, never
 * replaced, for a forwarder or a mount another host owns.
 */
static void
write_copy(const struct agent *a, uint64_t size, const char *note)
{
	char	 path[4096];

	if (a->cfg->ckpt_dir == NULL)
		return;
	if (snprintf(path, sizeof(path), "%s/checkpoint.%020llu",
	    a->cfg->ckpt_dir, (unsigned long long)size) >= (int)sizeof(path))
		return;
	if (write_file_synced(path, note, 0644, 0) == -1)
		log_warn("audit: cannot write %s (checkpoint_dir)%s", path,
		    errno == EEXIST ? ": it exists, and is kept" : "");
}

/* FILE.checkpoint: written beside, then renamed over the last one. */
static void
write_latest(const struct audit_ckpt *k, const char *note)
{
	if (write_file_synced(k->file, note, 0644, 1) == -1)
		log_warn("audit: cannot write %s", k->file);
}

/*
 * One line for the system log, the note whole in base64 ("note64="):
 * "hsmagent audit verify --checkpoint" takes the line as it is.
 */
static void
log_line(const struct checkpoint *c, const char *note, const char *why)
{
	size_t	 n = strlen(note);
	char	*b = xmalloc((n + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)b, (const unsigned char *)note,
	    (int)n);
	log_info("event=audit.checkpoint reason=%s size=%llu note64=%s", why,
	    (unsigned long long)c->size, b);
	free(b);
}

int
audit_ckpt_now(struct agent *a, const char *why)
{
	struct audit_ckpt	*k = a->ckpt;
	struct checkpoint	 c;
	char			 err[256], *note;

	if (k == NULL)
		return 0;
	if (k->out) {
		log_warn("audit: checkpoint (%s) not signed: the token has not "
		    "answered the last one asked for", why);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "%s", k->origin);
	audit_tree(a->audit, &c.size, c.root);
	/* A size is signed once: only a larger tree gets the next. */
	if (k->signed_any && c.size <= k->signed_size)
		return 0;
	err[0] = '\0';
	if ((note = sign_note(a, &c, why, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			return 0;	/* signed meanwhile */
		log_error("audit: checkpoint at %llu (%s) not signed: %s",
		    (unsigned long long)c.size, why, err);
		k->retry_ms = monotime_ms() + CKPT_RETRY_MS;
		return -1;
	}
	return finish(a, &c, note, why);
}

/*
 * The checkpoint of c, signed (note, freed here): its record, which
 * follows the last record it covers, the files, the receipts, the
 * system log's line; a rotation's previous key closed. 0 or -1.
 */
static int
finish(struct agent *a, const struct checkpoint *c, char *note,
    const char *why)
{
	struct audit_ckpt	*k = a->ckpt;
	char			 root[45];
	int			 r;

	k->signed_size = c->size;
	k->signed_any = 1;
	k->last_ms = monotime_ms();
	EVP_EncodeBlock((unsigned char *)root, c->root, 32);
	r = agent_audit(a, "audit.checkpoint", k->origin, "ok", json_pack(
	    "{s:I,s:s,s:s,s:s}", "size", (json_int_t)c->size, "root", root,
	    "reason", why, "note", note));
	write_latest(k, note);
	write_copy(a, c->size, note);
	audit_receipts_issue(k->receipts, c->size, note);
	log_line(c, note, why);
	free(note);
	if (k->prev != NULL) {
		log_info("audit: checkpoint key rotated: the checkpoint of %llu "
		    "records is signed by the previous key and the new one; "
		    "remove [state] checkpoint_previous_key_uri",
		    (unsigned long long)c->size);
		hsm_account_close(k->prev);
		k->prev = NULL;
	}
	return r;
}

int64_t
audit_ckpt_tick(struct agent *a, int64_t now)
{
	struct audit_ckpt	*k = a->ckpt;
	uint64_t		 size;
	uint8_t			 root[32];
	int64_t			 due;

	if (k == NULL || a->audit == NULL || k->out)
		return 0;	/* its coming back wakes the loop */
	if (now < k->retry_ms)
		return k->retry_ms;
	audit_tree(a->audit, &size, root);
	due = k->last_ms + (int64_t)a->cfg->ckpt_interval_s * 1000;
	/* The checkpoint record itself grows the tree by one. */
	if (size >= k->signed_size + 1 + a->cfg->ckpt_records ||
	    (size > k->signed_size + 1 && now >= due)) {
		(void)audit_ckpt_now(a, size >= k->signed_size + 1 +
		    a->cfg->ckpt_records ? "records" : "interval");
		due = now + (int64_t)a->cfg->ckpt_interval_s * 1000;
	}
	return due;
}
