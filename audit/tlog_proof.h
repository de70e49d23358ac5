/*
 * tlog_proof.h - a receipt: the C2SP tlog-proof layout, an offline proof
 * that a record is in the log under a signed checkpoint.
 *
 *   c2sp.org/tlog-proof@v1
 *   extra BASE64          (here: the record's line itself)
 *   index N               (the record's position, from 0)
 *   BASE64                (the inclusion proof, one hash a line)
 *   ...
 *                         (an empty line)
 *   the signed checkpoint note
 *
 * Parsed strictly and capped (the note by signed_note.h), fuzzed
 * (fuzz_note); the record goes in "extra" so that the receipt alone
 * shows what was logged (the order, the certificate's hash).
 */
#ifndef HSMAGENT_TLOG_PROOF_H
#define HSMAGENT_TLOG_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

#define TLOG_PROOF_MAX_EXTRA	(64 * 1024)	/* an audit line's cap */

struct tlog_proof {
	uint8_t		*extra;		/* malloc'd; the record line */
	size_t		 extra_len;
	uint64_t	 index;
	merkle_hash	 path[MERKLE_MAX_PROOF];
	size_t		 npath;
	const char	*note;		/* into the parsed buffer */
	size_t		 note_len;
};

/* 0, or -1 with err. */
int	tlog_proof_parse(const char *buf, size_t len, struct tlog_proof *,
	    char *err, size_t errlen);
void	tlog_proof_free(struct tlog_proof *);
/* The text (malloc'd) of a proof whose note is note. */
char	*tlog_proof_format(const struct tlog_proof *, const char *note);

#endif
