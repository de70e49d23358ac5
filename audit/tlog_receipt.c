/*
 * tlog_receipt.c - see tlog_receipt.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "audit.h"
#include "checkpoint.h"
#include "merkle.h"
#include "signed_note.h"
#include "tlog_proof.h"
#include "tlog_receipt.h"
#include "util.h"

#define MAX_LEAVES	(16u * 1024 * 1024)	/* 512 MiB of hashes: refused */

static int
is_event(json_t *r, const char *event)
{
	const char *e = json_string_value(json_object_get(r, "event"));

	return e != NULL && strcmp(e, event) == 0;
}

/* The record that delivered order: ca.result, issued, its target. */
static int
is_delivery(json_t *r, const char *order)
{
	const char *t = json_string_value(json_object_get(r, "target"));
	const char *o = json_string_value(json_object_get(r, "outcome"));

	return is_event(r, "ca.result") && t != NULL && o != NULL &&
	    strcmp(t, order) == 0 && strcmp(o, "issued") == 0;
}

struct scan {
	merkle_hash	*leaves;
	size_t		 n, cap;
	long long	 at;		/* the delivery's index, -1: none yet */
	char		*record;	/* its line */
	char		*note;		/* the first checkpoint past it */
};

static void
add_leaf(struct scan *s, const char *line, size_t len)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->leaves = xrealloc(s->leaves, s->cap * sizeof(*s->leaves));
	}
	merkle_leaf(line, len, s->leaves[s->n++]);
}

/*
 * One line; 1 when the scan has what it needs: the record (the order's
 * delivery, or the one at index want when order is NULL), then the
 * first checkpoint after it.
 */
static int
scan_line(struct scan *s, const char *order, uint64_t want,
    const char *line, size_t len)
{
	json_t		*r = NULL;
	const char	*note;
	int		 done = 0;

	if ((order != NULL && strstr(line, order) != NULL) || (s->at >= 0 &&
	    strstr(line, "audit.checkpoint") != NULL))
		r = json_loadb(line, len, 0, NULL);
	if (order == NULL && s->at < 0 && s->n == want) {
		s->at = (long long)s->n;
		s->record = xmalloc(len + 1);
		memcpy(s->record, line, len);
		s->record[len] = '\0';
	} else if (r != NULL && s->at < 0 && is_delivery(r, order)) {
		s->at = (long long)s->n;
		s->record = xmalloc(len + 1);
		memcpy(s->record, line, len);
		s->record[len] = '\0';
	} else if (r != NULL && s->at >= 0 && is_event(r,
	    "audit.checkpoint") && (note = json_string_value(json_object_get(
	    json_object_get(r, "details"), "note"))) != NULL) {
		s->note = xstrdup(note);
		done = 1;
	}
	json_decref(r);
	return done;
}

static int	build(const char *, const char *, uint64_t, char **, char *,
		    size_t);

int
tlog_receipt_build(const char *path, const char *order, char **out,
    char *err, size_t errlen)
{
	return build(path, order, 0, out, err, errlen);
}

int
tlog_prove(const char *path, uint64_t index, char **out, char *err,
    size_t errlen)
{
	return build(path, NULL, index, out, err, errlen);
}

static int
build(const char *path, const char *order, uint64_t want, char **out,
    char *err, size_t errlen)
{
	struct scan		 s;
	struct tlog_proof	 t;
	FILE			*f;
	char			*line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;
	int			 np, r = -1;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	s.at = -1;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) > 0 && s.n < MAX_LEAVES) {
		if (line[n - 1] != '\n')
			break;
		line[n - 1] = '\0';
		if (scan_line(&s, order, want, line, (size_t)n - 1))
			break;
		add_leaf(&s, line, (size_t)n - 1);
	}
	free(line);
	fclose(f);
	if (s.at < 0 && order != NULL)
		snprintf(err, errlen, "no certificate of order %s in the log",
		    order);
	else if (s.at < 0)
		snprintf(err, errlen, "the log has no record %llu",
		    (unsigned long long)want + 1);
	else if (s.note == NULL)
		r = 1;		/* delivered; no checkpoint yet */
	else {
		memset(&t, 0, sizeof(t));
		t.extra = (uint8_t *)s.record;
		t.extra_len = strlen(s.record);
		t.index = (uint64_t)s.at;
		/* The checkpoint's size is the records before it: s.n. */
		np = merkle_inclusion_proof(s.leaves, s.n, t.index, t.path,
		    MERKLE_MAX_PROOF);
		if (np >= 0) {
			t.npath = (size_t)np;
			*out = tlog_proof_format(&t, s.note);
			r = 0;
		} else
			snprintf(err, errlen, "no inclusion proof");
	}
	free(s.leaves);
	free(s.record);
	free(s.note);
	return r;
}

/* The record names cert: its details' cert_sha256 is the DER's. */
static int
names_cert(const uint8_t *rec, size_t len, const unsigned char *der,
    size_t der_len, char *err, size_t errlen)
{
	json_t		*r = json_loadb((const char *)rec, len, 0, NULL);
	const char	*h;
	unsigned char	 md[32];
	char		 hex[65];
	unsigned int	 mdlen = 0;
	int		 ok = 0;

	h = json_string_value(json_object_get(json_object_get(r, "details"),
	    "cert_sha256"));
	if (r == NULL || !is_event(r, "ca.result") || h == NULL)
		snprintf(err, errlen, "the logged record is not a delivered "
		    "certificate");
	else if (EVP_Digest(der, der_len, md, &mdlen, EVP_sha256(), NULL) != 1)
		snprintf(err, errlen, "cannot hash the certificate");
	else {
		hex_lower(md, 32, hex);
		ok = strcmp(hex, h) == 0;
		if (!ok)
			snprintf(err, errlen, "the receipt is for another "
			    "certificate (%.16s...)", h);
	}
	json_decref(r);
	return ok;
}

int
tlog_receipt_verify(const char *receipt, size_t len,
    const unsigned char *cert_der, size_t cert_len, EVP_PKEY *key, char *err,
    size_t errlen)
{
	static struct note	 n;
	struct tlog_proof	 t;
	struct checkpoint	 c;
	merkle_hash		 leaf;
	int			 ok = 0;

	if (tlog_proof_parse(receipt, len, &t, err, errlen) == -1)
		return 0;
	if (note_parse(t.note, t.note_len, &n, err, errlen) == -1 ||
	    checkpoint_parse(n.text, n.textlen, &c, err, errlen) == -1 ||
	    !note_verify_ecdsa(&n, c.origin, key, err, errlen))
		goto out;
	merkle_leaf(t.extra, t.extra_len, leaf);
	if (!merkle_verify_inclusion(leaf, t.index, c.size, t.path, t.npath,
	    c.root)) {
		snprintf(err, errlen, "the record is not in the checkpointed "
		    "tree (index %llu of %llu)", (unsigned long long)t.index,
		    (unsigned long long)c.size);
		goto out;
	}
	ok = names_cert(t.extra, t.extra_len, cert_der, cert_len, err,
	    errlen);
 out:
	tlog_proof_free(&t);
	return ok;
}
