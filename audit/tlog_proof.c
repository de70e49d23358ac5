/*
 * tlog_proof.c - see tlog_proof.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "signed_note.h"
#include "tlog_proof.h"
#include "util.h"

#define HEADER		"c2sp.org/tlog-proof@v1\n"

static int
fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "receipt: %s", why);
	return -1;
}

/* Canonical standard base64 of at most max bytes; the length or -1. */
static long
b64(const char *s, size_t len, uint8_t *out, size_t max)
{
	size_t	 n;
	char	*again;
	int	 m, pad;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > max + 2)
		return -1;
	if ((m = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len)) < 0)
		return -1;
	pad = (s[len - 1] == '=') + (s[len - 2] == '=');
	n = (size_t)m - (size_t)pad;
	if (n > max)
		return -1;
	again = xmalloc(len + 1);
	m = EVP_EncodeBlock((unsigned char *)again, out, (int)n);
	m = m == (int)len && memcmp(again, s, len) == 0;
	free(again);
	return m ? (long)n : -1;
}

/* The next line: [*p, nl); NULL at the end. */
static const char *
next_line(const char *p, const char *end)
{
	return p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
}

int
tlog_proof_parse(const char *buf, size_t len, struct tlog_proof *t,
    char *err, size_t errlen)
{
	const char	*p = buf, *end = buf + len, *nl;
	uint8_t		*tmp;
	long		 n;

	memset(t, 0, sizeof(*t));
	if (len > TLOG_PROOF_MAX_EXTRA * 2 + NOTE_MAX_LEN ||
	    len < sizeof(HEADER) - 1 || memcmp(p, HEADER, sizeof(HEADER) - 1))
		return fail(err, errlen, "not a c2sp.org/tlog-proof@v1");
	p += sizeof(HEADER) - 1;
	if ((nl = next_line(p, end)) != NULL && nl - p > 6 &&
	    memcmp(p, "extra ", 6) == 0) {
		tmp = xmalloc(TLOG_PROOF_MAX_EXTRA + 3);
		if ((n = b64(p + 6, (size_t)(nl - p - 6), tmp,
		    TLOG_PROOF_MAX_EXTRA)) < 0) {
			free(tmp);
			return fail(err, errlen, "extra is not base64");
		}
		t->extra = tmp;
		t->extra_len = (size_t)n;
		p = nl + 1;
	}
	if ((nl = next_line(p, end)) == NULL || nl - p < 7 ||
	    memcmp(p, "index ", 6) != 0 || (p[6] == '0' && nl - p > 7) ||
	    (size_t)(nl - p - 6) > 19 ||
	    strspn(p + 6, "0123456789") != (size_t)(nl - p - 6))
		goto bad_index;
	t->index = strtoull(p + 6, NULL, 10);
	if (t->index > INT64_MAX)
		goto bad_index;
	for (p = nl + 1; (nl = next_line(p, end)) != NULL && nl != p;
	    p = nl + 1) {
		uint8_t h[MERKLE_HASH_LEN + 3];

		if (t->npath >= MERKLE_MAX_PROOF ||
		    b64(p, (size_t)(nl - p), h, MERKLE_HASH_LEN) !=
		    MERKLE_HASH_LEN) {
			tlog_proof_free(t);
			return fail(err, errlen, "a proof line is not a hash");
		}
		memcpy(t->path[t->npath++], h, MERKLE_HASH_LEN);
	}
	if (nl == NULL) {
		tlog_proof_free(t);
		return fail(err, errlen, "no checkpoint after the proof");
	}
	t->note = nl + 1;
	t->note_len = (size_t)(end - t->note);
	return 0;
 bad_index:
	tlog_proof_free(t);
	return fail(err, errlen, "no index line, or not a decimal index");
}

void
tlog_proof_free(struct tlog_proof *t)
{
	free(t->extra);
	t->extra = NULL;
	t->extra_len = 0;
}

char *
tlog_proof_format(const struct tlog_proof *t, const char *note)
{
	size_t	 cap = sizeof(HEADER) + 6 + (t->extra_len + 2) / 3 * 4 + 32 +
		    t->npath * 46 + strlen(note) + 2, n;
	char	*out = xmalloc(cap);

	n = (size_t)snprintf(out, cap, "%s", HEADER);
	if (t->extra_len > 0) {
		n += (size_t)snprintf(out + n, cap - n, "extra ");
		n += (size_t)EVP_EncodeBlock((unsigned char *)out + n,
		    t->extra, (int)t->extra_len);
		out[n++] = '\n';
	}
	n += (size_t)snprintf(out + n, cap - n, "index %llu\n",
	    (unsigned long long)t->index);
	for (size_t i = 0; i < t->npath; i++) {
		n += (size_t)EVP_EncodeBlock((unsigned char *)out + n,
		    t->path[i], MERKLE_HASH_LEN);
		out[n++] = '\n';
	}
	snprintf(out + n, cap - n, "\n%s", note);
	return out;
}
