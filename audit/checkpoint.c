/*
 * checkpoint.c - see checkpoint.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "checkpoint.h"
#include "signed_note.h"

static int
fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "checkpoint: %s", why);
	return -1;
}

/* A tree size: decimal, no sign, no leading zero, below 2^63. */
static int
parse_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > INT64_MAX)
		return -1;
	*out = v;
	return 0;
}

/* 44 characters of canonical base64 for exactly 32 bytes. */
static int
parse_root(const char *s, size_t len, merkle_hash out)
{
	uint8_t	 buf[33];
	char	 again[45];

	if (len != 44 || s[43] != '=' || s[42] == '=' ||
	    EVP_DecodeBlock(buf, (const unsigned char *)s, 44) != 33 ||
	    EVP_EncodeBlock((unsigned char *)again, buf, 32) != 44 ||
	    memcmp(again, s, 44) != 0)
		return -1;
	memcpy(out, buf, MERKLE_HASH_LEN);
	return 0;
}

int
checkpoint_parse(const char *text, size_t textlen, struct checkpoint *c,
    char *err, size_t errlen)
{
	const char	*p = text, *end = text + textlen, *nl[3];
	size_t		 ext = 0;

	memset(c, 0, sizeof(*c));
	if (textlen == 0 || text[textlen - 1] != '\n')
		return fail(err, errlen, "not lines of text");
	for (int i = 0; i < 3; i++) {
		if ((nl[i] = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return fail(err, errlen, "fewer than three lines");
		p = nl[i] + 1;
	}
	if (!note_name_ok(text, (size_t)(nl[0] - text)) ||
	    (size_t)(nl[0] - text) > CHECKPOINT_MAX_ORIGIN)
		return fail(err, errlen, "the origin line is not a log name");
	memcpy(c->origin, text, (size_t)(nl[0] - text));
	if (parse_size(nl[0] + 1, (size_t)(nl[1] - nl[0] - 1), &c->size) == -1)
		return fail(err, errlen, "the size line is not a decimal "
		    "tree size");
	if (parse_root(nl[1] + 1, (size_t)(nl[2] - nl[1] - 1), c->root) == -1)
		return fail(err, errlen, "the root line is not the base64 of "
		    "32 bytes");
	/* Extension lines: each non-empty; counted, not interpreted. */
	for (; p < end; p = (const char *)memchr(p, '\n',
	    (size_t)(end - p)) + 1) {
		if (*p == '\n' || ++ext > CHECKPOINT_MAX_EXT)
			return fail(err, errlen, "an empty or a seventeenth "
			    "extension line");
	}
	return 0;
}

int
checkpoint_format(const struct checkpoint *c, char *out, size_t outlen)
{
	char	 b64[45];
	int	 n;

	if (!note_name_ok(c->origin, strlen(c->origin)))
		return -1;
	EVP_EncodeBlock((unsigned char *)b64, c->root, MERKLE_HASH_LEN);
	n = snprintf(out, outlen, "%s\n%" PRIu64 "\n%s\n", c->origin,
	    c->size, b64);
	return n > 0 && (size_t)n < outlen ? n : -1;
}
