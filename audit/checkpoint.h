/*
 * checkpoint.h - the body of a C2SP tlog-checkpoint: the origin line
 * (the log's name), the tree size in decimal, the root hash in base64,
 * then optional extension lines; every line ends in '\n'. Parsed
 * strictly (no leading zeros, canonical base64 of exactly 32 bytes, an
 * origin that is a valid key name, at most CHECKPOINT_MAX_EXT extension
 * lines) from the text of a signed note (signed_note.h).
 */
#ifndef HSMAGENT_CHECKPOINT_H
#define HSMAGENT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

#define CHECKPOINT_MAX_ORIGIN	256
#define CHECKPOINT_MAX_EXT	16

struct checkpoint {
	char		origin[CHECKPOINT_MAX_ORIGIN + 1];
	uint64_t	size;
	merkle_hash	root;
};

/* text (textlen bytes, ending in '\n'): 0, or -1 with err. */
int	checkpoint_parse(const char *text, size_t textlen,
	    struct checkpoint *, char *err, size_t errlen);
/* The body for c into out; its length, or -1. */
int	checkpoint_format(const struct checkpoint *, char *out,
	    size_t outlen);

#endif
