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
 *    once it has been forwarded.
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
/* Signs one when due; when the next is due (0: none configured). */
int64_t	audit_ckpt_tick(struct agent *, int64_t now);
/* Signs one now if the tree grew (start, stop). 0, or -1 (logged). */
int	audit_ckpt_now(struct agent *, const char *why);

#endif
