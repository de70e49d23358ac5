/*
 * audit_checkpoint.h - signed checkpoints of the audit log's tree
 * (SECURITY.md, "Transparency log"). Every [state] checkpoint_records
 * records or checkpoint_interval seconds, and at start and stop, the
 * tree's size and root (audit_tree) go into a C2SP tlog-checkpoint,
 * signed by a key of its own in the HSM as a type 0x02 signed note, and
 * are written three ways:
 *  - into the log, as an audit.checkpoint record with the note, which
 *    "hsmagent audit verify" checks against the public key;
 *  - to FILE.checkpoint, the latest note, replaced atomically;
 *  - to the system log as one line, a copy the host cannot rewrite
 *    once it has been forwarded;
 *  - to [state] checkpoint_dir, if set, one file per checkpoint.
 * The log keeps its origin across restarts (the latest checkpoint's).
 * A key rotation ([state] checkpoint_previous_key_uri) writes an
 * audit.checkpoint_key record naming both keys (C2SP verifier key
 * lines), then a checkpoint signed by both: a verifier that trusts the
 * old key learns the new one from a checkpoint the old key signed.
 * A checkpoint covers every record before its own: its size is the
 * number of records before it. A size is signed once; the next
 * checkpoint is of a larger tree, so two checkpoints at one size never
 * disagree.
 */
#ifndef HSMAGENT_AUDIT_CHECKPOINT_H
#define HSMAGENT_AUDIT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct agent;

/* After the login: the key checked (EC P-256), the origin set. */
int	audit_ckpt_open(struct agent *, char *err, size_t errlen);
void	audit_ckpt_close(struct agent *);
/* The checkpoint key's public half (borrowed); NULL: none. */
EVP_PKEY *audit_ckpt_pubkey(const struct agent *);
/* The key being rotated from, until its last checkpoint; else NULL. */
EVP_PKEY *audit_ckpt_prev_pubkey(const struct agent *);
/*
 * The C2SP verifier key line of a checkpoint key (for auditors, printed
 * by "credential new --role checkpoint") under the log's origin, which a
 * rotation keeps; without checkpoints yet, the origin the key would
 * give. Its length, or -1.
 */
int	audit_ckpt_vkey(const struct agent *, EVP_PKEY *pub, char *out,
	    size_t outlen);
/*
 * Receipts (audit_receipts.h): a delivery record was just written for
 * order; the receipt kept for order (malloc'd) or NULL; one made from
 * the log, kept.
 */
void	audit_ckpt_delivered(struct agent *, const char *order);
char	*audit_ckpt_receipt(struct agent *, const char *order);
void	audit_ckpt_keep_receipt(struct agent *, const char *order,
	    const char *text);
/* Signs one when due; when the next is due (0: none configured). */
int64_t	audit_ckpt_tick(struct agent *, int64_t now);
/*
 * Signs one now if the tree grew (start, stop, a receipt). 0, or -1
 * (logged). The signature is the HSM worker's: the loop waits for the
 * worker to be free, then for the signature, each at most
 * HSM_LOCK_WAIT_MS (hsm_worker.h).
 */
int	audit_ckpt_now(struct agent *, const char *why);
/*
 * dispatch.c: a checkpoint's work item back after the loop stopped
 * waiting for it: its checkpoint made if no record came since, else
 * dropped (its fields freed; not w).
 */
struct hsm_work;
void	audit_ckpt_came_back(struct agent *, struct hsm_work *);

#endif
