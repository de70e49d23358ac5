/*
 * tlog_verify.h - the audit log checked as a transparency log, offline,
 * with the checkpoint keys' public halves alone: the tree recomputed
 * from the log's lines; every audit.checkpoint record's note verified
 * under a trusted key, its size the number of records before it and its
 * root the recomputed one; and, given a checkpoint kept elsewhere (an
 * earlier FILE.checkpoint, a line from the system log), the log proved
 * to extend it: a cut tail, a rewritten record or a fork fails, naming
 * where.
 *
 * Key rotation: the keys given are trusted at the start of the log. An
 * audit.checkpoint_key record names a trusted key ("from") and a new one
 * ("to") as C2SP verifier key lines; the next checkpoint must be signed
 * by both, and from then on the new key replaces the old. A rotation
 * from a key not trusted, or a checkpoint after it that lacks either
 * signature, fails. So an auditor who holds the first key follows the
 * log through every rotation the old keys signed.
 */
#ifndef HSMAGENT_TLOG_VERIFY_H
#define HSMAGENT_TLOG_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define TLOG_MAX_KEYS	8	/* keys given, and rotations followed */

struct tlog_result {
	uint64_t	records;
	uint64_t	checkpoints;	/* in the log, each verified */
	uint64_t	last_size;	/* the last one's size */
	uint64_t	rotations;	/* key rotations followed */
	int		extends;	/* the kept checkpoint, if given, holds */
};

/*
 * 0 when all holds; 1 with msg naming the first failure (and the index
 * of the first record it puts in doubt); -1 if the file cannot be read.
 * keys: nkeys (1 to TLOG_MAX_KEYS) trusted keys, borrowed. kept
 * (kept_len bytes) is a signed checkpoint note, or NULL.
 */
int	tlog_verify_file(const char *path, EVP_PKEY *const *keys,
	    size_t nkeys, const char *kept, size_t kept_len,
	    struct tlog_result *, char *msg, size_t msglen);

#endif
