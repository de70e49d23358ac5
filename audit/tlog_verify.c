/*
 * tlog_verify.c - see tlog_verify.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "checkpoint.h"
#include "merkle.h"
#include "signed_note.h"
#include "tlog_verify.h"

struct walk {
	EVP_PKEY		*trusted[TLOG_MAX_KEYS];	/* borrowed */
	size_t			 ntrusted;
	/* Every key trusted so far, for the kept checkpoint; some owned. */
	EVP_PKEY		*known[2 * TLOG_MAX_KEYS];
	int			 owned[2 * TLOG_MAX_KEYS];
	size_t			 nknown;
	/* A rotation recorded and not yet signed by both keys. */
	EVP_PKEY		*to;			/* in known[] */
	size_t			 from;			/* in trusted[] */
	uint64_t		 rotation_at;		/* its index */
	struct merkle_frontier	 tree;
	struct tlog_result	*res;
	uint64_t		 good_size;	/* the last checkpoint that held */
	int			 have_kept;
	struct checkpoint	 kept;
	const char		*kept_text;
	size_t			 kept_len;
};

/*
 * Does the note verify under the keys? Every key with a line must
 * verify (a bad line for a known key rejects the note, as the spec
 * asks), and at least one must have a line. 0, or -1 with why.
 */
static int
verify_under(const struct note *n, const char *origin, EVP_PKEY *const *keys,
    size_t nkeys, char *why, size_t whylen)
{
	int	 any = 0;

	snprintf(why, whylen, "no signature by a trusted key");
	for (size_t i = 0; i < nkeys; i++) {
		if (!note_has_sig(n, origin, keys[i]))
			continue;
		if (!note_verify_ecdsa(n, origin, keys[i], why, whylen))
			return -1;
		any = 1;
	}
	return any ? 0 : -1;
}

/* A note and its checkpoint, parsed. 0, or -1 with why. */
static int
open_note(const char *text, size_t len, struct note *n, struct checkpoint *c,
    char *why, size_t whylen)
{
	if (note_parse(text, len, n, why, whylen) == -1 ||
	    checkpoint_parse(n->text, n->textlen, c, why, whylen) == -1)
		return -1;
	return 0;
}

static const char *
detail(json_t *r, const char *k)
{
	return json_string_value(json_object_get(json_object_get(r,
	    "details"), k));
}

/*
 * The record at index i is a key rotation: "from" must be trusted; "to"
 * is trusted once the next checkpoint carries both signatures.
 */
static int
check_rotation(struct walk *w, json_t *r, char *msg, size_t msglen)
{
	const char	*from = detail(r, "from"), *to = detail(r, "to");
	char		 name[NOTE_MAX_NAME + 1], why[160];
	uint8_t		 id[4];
	EVP_PKEY	*f = NULL, *t = NULL;
	uint64_t	 i = w->tree.size;
	size_t		 k;

	if (from == NULL || to == NULL || note_vkey_parse(from, strlen(from),
	    name, id, &f, why, sizeof(why)) == -1 || note_vkey_parse(to,
	    strlen(to), name, id, &t, why, sizeof(why)) == -1) {
		snprintf(msg, msglen, "record %llu: a key rotation without "
		    "two verifier keys", (unsigned long long)i + 1);
		goto fail;
	}
	for (k = 0; k < w->ntrusted; k++)
		if (EVP_PKEY_eq(w->trusted[k], f) == 1)
			break;
	if (k == w->ntrusted) {
		snprintf(msg, msglen, "record %llu: a key rotation from a key "
		    "that is not trusted here", (unsigned long long)i + 1);
		goto fail;
	}
	if (w->nknown == sizeof(w->known) / sizeof(w->known[0])) {
		snprintf(msg, msglen, "record %llu: more than %d key "
		    "rotations", (unsigned long long)i + 1, TLOG_MAX_KEYS);
		goto fail;
	}
	EVP_PKEY_free(f);
	w->owned[w->nknown] = 1;
	w->known[w->nknown++] = t;
	w->to = t;
	w->from = k;
	w->rotation_at = i;
	return 0;
 fail:
	EVP_PKEY_free(f);
	EVP_PKEY_free(t);
	return -1;
}

/* The record at index i is a checkpoint: it must hold for the tree so far. */
static int
check_checkpoint(struct walk *w, json_t *r, char *msg, size_t msglen)
{
	static struct note	 n;	/* 100 signatures: not on the stack */
	const char		*note = detail(r, "note");
	struct checkpoint	 c;
	merkle_hash		 root;
	char			 why[160];
	uint64_t		 i = w->tree.size;
	EVP_PKEY		*both[2];

	if (note == NULL) {
		snprintf(msg, msglen, "record %llu: a checkpoint record "
		    "without its note", (unsigned long long)i + 1);
		return -1;
	}
	if (open_note(note, strlen(note), &n, &c, why, sizeof(why)) == -1) {
		snprintf(msg, msglen, "record %llu: its checkpoint does not "
		    "parse (%s)", (unsigned long long)i + 1, why);
		return -1;
	}
	if (w->to != NULL) {
		both[0] = w->trusted[w->from];
		both[1] = w->to;
		if (!note_has_sig(&n, c.origin, both[0]) ||
		    !note_has_sig(&n, c.origin, both[1]) ||
		    verify_under(&n, c.origin, both, 2, why, sizeof(why)) ==
		    -1) {
			snprintf(msg, msglen, "record %llu: the checkpoint "
			    "after the key rotation of record %llu is not "
			    "signed by both keys", (unsigned long long)i + 1,
			    (unsigned long long)w->rotation_at + 1);
			return -1;
		}
	}
	if (verify_under(&n, c.origin, w->trusted, w->ntrusted, why,
	    sizeof(why)) == -1) {
		snprintf(msg, msglen, "record %llu: its checkpoint does not "
		    "verify under the key (%s)", (unsigned long long)i + 1,
		    why);
		return -1;
	}
	if (w->to != NULL) {
		w->trusted[w->from] = w->to;
		w->to = NULL;
		w->res->rotations++;
	}
	if (c.size != i) {
		snprintf(msg, msglen, "record %llu: its checkpoint is of %llu "
		    "records, not of the %llu before it",
		    (unsigned long long)i + 1, (unsigned long long)c.size,
		    (unsigned long long)i);
		return -1;
	}
	merkle_frontier_root(&w->tree, root);
	if (memcmp(root, c.root, sizeof(root)) != 0) {
		snprintf(msg, msglen, "record %llu: the signed root of the "
		    "first %llu records is not theirs: a record from %llu to "
		    "%llu was changed", (unsigned long long)i + 1,
		    (unsigned long long)i, (unsigned long long)w->good_size + 1,
		    (unsigned long long)i);
		return -1;
	}
	w->res->checkpoints++;
	w->res->last_size = i;
	w->good_size = i;
	return 0;
}

/* A record that names a checkpoint event: checked by its own event. */
static int
check_record(struct walk *w, const char *line, size_t len, char *msg,
    size_t msglen)
{
	json_t		*r = json_loadb(line, len, 0, NULL);
	const char	*ev = json_string_value(json_object_get(r, "event"));
	int		 ok = 0;

	/* The substring matched; the record's own event decides. */
	if (ev != NULL && strcmp(ev, "audit.checkpoint") == 0)
		ok = check_checkpoint(w, r, msg, msglen);
	else if (ev != NULL && strcmp(ev, "audit.checkpoint_key") == 0)
		ok = check_rotation(w, r, msg, msglen);
	json_decref(r);
	return ok;
}

/*
 * The checkpoint kept elsewhere, when the tree reaches its size: signed
 * by a key trusted so far, and of this tree.
 */
static int
check_kept(struct walk *w, char *msg, size_t msglen)
{
	static struct note	 n;
	struct checkpoint	 c;
	merkle_hash		 root;
	char			 why[160];

	if (open_note(w->kept_text, w->kept_len, &n, &c, why, sizeof(why)) ==
	    -1 || verify_under(&n, c.origin, w->known, w->nknown, why,
	    sizeof(why)) == -1) {
		snprintf(msg, msglen, "the kept checkpoint: %s", why);
		return -1;
	}
	merkle_frontier_root(&w->tree, root);
	if (memcmp(root, w->kept.root, sizeof(root)) == 0) {
		w->res->extends = 1;
		return 0;
	}
	snprintf(msg, msglen, "the log is not an extension of the kept "
	    "checkpoint of %llu records: a record from %llu to %llu was "
	    "changed since it was signed", (unsigned long long)w->kept.size,
	    (unsigned long long)(w->good_size < w->kept.size ? w->good_size :
	    0) + 1, (unsigned long long)w->kept.size);
	return -1;
}

static int
walk_file(struct walk *w, FILE *f, char *msg, size_t msglen)
{
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	merkle_hash	 leaf;
	int		 r = 0;

	while (r == 0 && (n = getline(&line, &cap, f)) > 0) {
		if (w->have_kept && w->tree.size == w->kept.size &&
		    check_kept(w, msg, msglen) == -1)
			r = 1;
		else if (line[n - 1] != '\n' || n > AUDIT_MAX_LINE + 1) {
			snprintf(msg, msglen, "record %llu: cut short",
			    (unsigned long long)w->tree.size + 1);
			r = 1;
		} else if (strstr(line, "\"event\":\"audit.checkpoint") !=
		    NULL && check_record(w, line, (size_t)n - 1, msg,
		    msglen) == -1)
			r = 1;
		merkle_leaf(line, n > 0 ? (size_t)n - 1 : 0, leaf);
		merkle_frontier_add(&w->tree, leaf);
	}
	free(line);
	if (r != 0)
		return r;
	if (w->have_kept && w->tree.size == w->kept.size)
		return check_kept(w, msg, msglen) == -1 ? 1 : 0;
	if (w->have_kept && w->tree.size < w->kept.size) {
		static struct note nt;
		struct checkpoint c;
		char why[160];

		/* A forged "kept" checkpoint must not pass as a cut tail. */
		if (open_note(w->kept_text, w->kept_len, &nt, &c, why,
		    sizeof(why)) == -1 || verify_under(&nt, c.origin,
		    w->known, w->nknown, why, sizeof(why)) == -1)
			snprintf(msg, msglen, "the kept checkpoint: %s", why);
		else
			snprintf(msg, msglen, "the log has %llu records, the "
			    "kept checkpoint %llu: records %llu to %llu were "
			    "cut", (unsigned long long)w->tree.size,
			    (unsigned long long)w->kept.size,
			    (unsigned long long)w->tree.size + 1,
			    (unsigned long long)w->kept.size);
		return 1;
	}
	if (w->res->checkpoints == 0) {
		snprintf(msg, msglen, "no checkpoint in the log");
		return 1;
	}
	if (w->to != NULL) {
		snprintf(msg, msglen, "the key rotation of record %llu has no "
		    "checkpoint signed by both keys after it",
		    (unsigned long long)w->rotation_at + 1);
		return 1;
	}
	return 0;
}

int
tlog_verify_file(const char *path, EVP_PKEY *const *keys, size_t nkeys,
    const char *kept, size_t kept_len, struct tlog_result *res, char *msg,
    size_t msglen)
{
	static struct walk	 w;
	static struct note	 n;
	FILE			*f;
	char			 why[160];
	int			 r;

	memset(&w, 0, sizeof(w));
	memset(res, 0, sizeof(*res));
	if (nkeys == 0 || nkeys > TLOG_MAX_KEYS) {
		snprintf(msg, msglen, "from 1 to %d keys", TLOG_MAX_KEYS);
		return -1;
	}
	for (size_t i = 0; i < nkeys; i++)
		w.trusted[i] = w.known[i] = keys[i];
	w.ntrusted = w.nknown = nkeys;
	w.res = res;
	merkle_frontier_init(&w.tree);
	if (kept != NULL) {
		if (open_note(kept, kept_len, &n, &w.kept, why,
		    sizeof(why)) == -1) {
			snprintf(msg, msglen, "the kept checkpoint: %s", why);
			return 1;
		}
		w.have_kept = 1;
		w.kept_text = kept;
		w.kept_len = kept_len;
	}
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = walk_file(&w, f, msg, msglen);
	fclose(f);
	for (size_t i = 0; i < w.nknown; i++)
		if (w.owned[i])
			EVP_PKEY_free(w.known[i]);
	res->records = r == 0 ? w.tree.size : 0;
	return r;
}
