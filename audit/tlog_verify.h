/*
 * tlog_verify.h - the audit log checked as a transparency log, offline,
 * with the checkpoint key's public half alone: the tree recomputed from
 * the log's lines; every audit.checkpoint record's note verified under
 * the key, its size the number of records before it and its root the
 * recomputed one; and, given a checkpoint kept elsewhere (an earlier
 * FILE.checkpoint, a line from the system log), the log proved to extend
 * it: a cut tail, a rewritten record or a fork fails, naming where.
 */
#ifndef HSMAGENT_TLOG_VERIFY_H
#define HSMAGENT_TLOG_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct tlog_result {
	uint64_t	records;
	uint64_t	checkpoints;	/* in the log, each verified */
	uint64_t	last_size;	/* the last one's size */
	int		extends;	/* the kept checkpoint, if given, holds */
};

/*
 * 0 when all holds; 1 with msg naming the first failure (and the index
 * of the first record it puts in doubt); -1 if the file cannot be read.
 * kept (kept_len bytes) is a signed checkpoint note, or NULL.
 */
int	tlog_verify_file(const char *path, EVP_PKEY *key, const char *kept,
	    size_t kept_len, struct tlog_result *, char *msg, size_t msglen);

#endif
