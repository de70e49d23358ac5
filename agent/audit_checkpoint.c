/*
 * audit_checkpoint.c - see audit_checkpoint.h.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent.h"
#include "audit.h"
#include "audit_checkpoint.h"
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
	uint64_t		 signed_size;	/* the last size signed */
	int			 signed_any;
	int64_t			 last_ms;
	char			*file;		/* AUDIT.checkpoint */
};

/* "hsmagent/HOST/KEYID": which agent, and which key signs for it. */
static void
default_origin(struct audit_ckpt *k)
{
	char	 host[128];

	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '+')
			*p = '_';
	snprintf(k->origin, sizeof(k->origin), "hsmagent/%s/%02x%02x%02x%02x",
	    host, k->key_id[0], k->key_id[1], k->key_id[2], k->key_id[3]);
}

int
audit_ckpt_open(struct agent *a, char *err, size_t errlen)
{
	const struct config	*cfg = a->cfg;
	struct audit_ckpt	*k;
	EVP_PKEY		*pub;

	if (cfg->ckpt_key_uri == NULL || a->audit == NULL)
		return 0;
	k = xcalloc(1, sizeof(*k));
	if ((k->key = hsm_account_open(a->hsm, cfg->ckpt_key_uri,
	    cfg->hsm_insecure_allow_extractable, err, errlen)) == NULL)
		goto fail;
	pub = hsm_account_pubkey(k->key);
	if (note_ecdsa_key_id(pub, k->key_id) == -1) {
		snprintf(err, errlen, "[state] checkpoint_key_uri: the key is "
		    "not EC P-256 (checkpoints are signed notes of type "
		    "0x02, ECDSA P-256)");
		goto fail;
	}
	if (cfg->ckpt_origin != NULL)
		snprintf(k->origin, sizeof(k->origin), "%s", cfg->ckpt_origin);
	else
		default_origin(k);
	k->file = xmalloc(strlen(audit_file(a->audit)) + 12);
	sprintf(k->file, "%s.checkpoint", audit_file(a->audit));
	a->ckpt = k;
	log_info("audit: checkpoints of %s signed by %s", k->origin,
	    cfg->ckpt_key_uri);
	return 0;
 fail:
	hsm_account_close(k->key);
	free(k);
	return -1;
}

EVP_PKEY *
audit_ckpt_pubkey(const struct agent *a)
{
	return a->ckpt != NULL ? hsm_account_pubkey(a->ckpt->key) : NULL;
}

void
audit_ckpt_close(struct agent *a)
{
	if (a->ckpt == NULL)
		return;
	hsm_account_close(a->ckpt->key);
	free(a->ckpt->file);
	free(a->ckpt);
	a->ckpt = NULL;
}

/* The note: body, blank line, our signature line. NULL with err. */
static char *
sign_note(struct agent *a, const struct checkpoint *c, char *err,
    size_t errlen)
{
	struct audit_ckpt	*k = a->ckpt;
	char			 body[CHECKPOINT_MAX_ORIGIN + 128];
	char			 line[NOTE_MAX_NAME + 160], *note;
	uint8_t			 sig[HSM_MAX_SIG];
	size_t			 siglen = 0;
	int			 n, r;

	if ((n = checkpoint_format(c, body, sizeof(body))) < 0) {
		snprintf(err, errlen, "the checkpoint does not format");
		return NULL;
	}
	if (hsm_worker_lock(a->hsm_worker, HSM_LOCK_WAIT_MS) == -1) {
		snprintf(err, errlen, "the token is busy");
		return NULL;
	}
	r = hsm_account_sign(a->hsm, k->key, (const uint8_t *)body,
	    (size_t)n, sig, &siglen, err, errlen);
	hsm_worker_unlock(a->hsm_worker);
	if (r == -1 || note_sig_line(k->origin, k->key_id, sig, siglen, line,
	    sizeof(line)) < 0) {
		if (r == 0)
			snprintf(err, errlen, "the signature does not fit a "
			    "note");
		return NULL;
	}
	note = xmalloc((size_t)n + 1 + strlen(line) + 1);
	sprintf(note, "%s\n%s", body, line);
	return note;
}

/* FILE.checkpoint: written beside, then renamed over the last one. */
static void
write_latest(const struct audit_ckpt *k, const char *note)
{
	char	*tmp = xmalloc(strlen(k->file) + 8);
	int	 fd, ok;

	sprintf(tmp, "%s.new", k->file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	ok = fd != -1 && write(fd, note, strlen(note)) ==
	    (ssize_t)strlen(note) && fsync(fd) == 0;
	if (fd != -1)
		close(fd);
	if (!ok || rename(tmp, k->file) == -1) {
		log_warn("audit: cannot write %s", k->file);
		unlink(tmp);
	}
	free(tmp);
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
	char			 err[256], root[45], *note;
	int			 r;

	if (k == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "%s", k->origin);
	audit_tree(a->audit, &c.size, c.root);
	/* A size is signed once: only a larger tree gets the next. */
	if (k->signed_any && c.size <= k->signed_size)
		return 0;
	if ((note = sign_note(a, &c, err, sizeof(err))) == NULL) {
		log_error("audit: checkpoint at %llu not signed: %s",
		    (unsigned long long)c.size, err);
		return -1;
	}
	k->signed_size = c.size;
	k->signed_any = 1;
	k->last_ms = monotime_ms();
	EVP_EncodeBlock((unsigned char *)root, c.root, 32);
	r = agent_audit(a, "audit.checkpoint", k->origin, "ok", json_pack(
	    "{s:I,s:s,s:s,s:s}", "size", (json_int_t)c.size, "root", root,
	    "reason", why, "note", note));
	write_latest(k, note);
	log_line(&c, note, why);
	free(note);
	return r;
}

int64_t
audit_ckpt_tick(struct agent *a, int64_t now)
{
	struct audit_ckpt	*k = a->ckpt;
	uint64_t		 size;
	uint8_t			 root[32];
	int64_t			 due;

	if (k == NULL || a->audit == NULL)
		return 0;
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
