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
	EVP_PKEY		*key;
	struct merkle_frontier	 tree;
	struct tlog_result	*res;
	uint64_t		 good_size;	/* the last checkpoint that held */
	int			 have_kept;
	struct checkpoint	 kept;
};

/* A note, verified under the key, and its checkpoint. 0, or -1 with why. */
static int
open_note(EVP_PKEY *key, const char *text, size_t len, struct checkpoint *c,
    char *why, size_t whylen)
{
	static struct note	 n;	/* 100 signatures: not on the stack */

	if (note_parse(text, len, &n, why, whylen) == -1 ||
	    checkpoint_parse(n.text, n.textlen, c, why, whylen) == -1)
		return -1;
	return note_verify_ecdsa(&n, c->origin, key, why, whylen) ? 0 : -1;
}

/* The record at index i is a checkpoint: it must hold for the tree so far. */
static int
check_record(struct walk *w, const char *line, size_t len, char *msg,
    size_t msglen)
{
	json_t			*r = json_loadb(line, len, 0, NULL);
	const char		*note;
	struct checkpoint	 c;
	merkle_hash		 root;
	char			 why[160];
	uint64_t		 i = w->tree.size;
	int			 ok = -1;

	/* The substring matched; the record's own event decides. */
	if (r == NULL || !json_is_string(json_object_get(r, "event")) ||
	    strcmp(json_string_value(json_object_get(r, "event")),
	    "audit.checkpoint") != 0) {
		json_decref(r);
		return 0;
	}
	note = json_string_value(json_object_get(json_object_get(r,
	    "details"), "note"));
	if (note == NULL)
		snprintf(msg, msglen, "record %llu: a checkpoint record "
		    "without its note", (unsigned long long)i + 1);
	else if (open_note(w->key, note, strlen(note), &c, why,
	    sizeof(why)) == -1)
		snprintf(msg, msglen, "record %llu: its checkpoint does not "
		    "verify under the key (%s)", (unsigned long long)i + 1,
		    why);
	else if (c.size != i)
		snprintf(msg, msglen, "record %llu: its checkpoint is of %llu "
		    "records, not of the %llu before it",
		    (unsigned long long)i + 1, (unsigned long long)c.size,
		    (unsigned long long)i);
	else {
		merkle_frontier_root(&w->tree, root);
		if (memcmp(root, c.root, sizeof(root)) != 0)
			snprintf(msg, msglen, "record %llu: the signed root "
			    "of the first %llu records is not theirs: a record "
			    "from %llu to %llu was changed",
			    (unsigned long long)i + 1, (unsigned long long)i,
			    (unsigned long long)w->good_size + 1,
			    (unsigned long long)i);
		else {
			w->res->checkpoints++;
			w->res->last_size = i;
			w->good_size = i;
			ok = 0;
		}
	}
	json_decref(r);
	return ok;
}

/* The checkpoint kept elsewhere, when the tree reaches its size. */
static int
check_kept(struct walk *w, char *msg, size_t msglen)
{
	merkle_hash root;

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

int
tlog_verify_file(const char *path, EVP_PKEY *key, const char *kept,
    size_t kept_len, struct tlog_result *res, char *msg, size_t msglen)
{
	static struct walk	 w;
	FILE			*f;
	char			*line = NULL, why[160];
	size_t			 cap = 0;
	ssize_t			 n;
	merkle_hash		 leaf;
	int			 r = 0;

	memset(&w, 0, sizeof(w));
	memset(res, 0, sizeof(*res));
	w.key = key;
	w.res = res;
	merkle_frontier_init(&w.tree);
	if (kept != NULL) {
		if (open_note(key, kept, kept_len, &w.kept, why,
		    sizeof(why)) == -1) {
			snprintf(msg, msglen, "the kept checkpoint: %s", why);
			return 1;
		}
		w.have_kept = 1;
	}
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (r == 0 && (n = getline(&line, &cap, f)) > 0) {
		if (w.have_kept && w.tree.size == w.kept.size &&
		    check_kept(&w, msg, msglen) == -1)
			r = 1;
		else if (line[n - 1] != '\n' || n > AUDIT_MAX_LINE + 1) {
			snprintf(msg, msglen, "record %llu: cut short",
			    (unsigned long long)w.tree.size + 1);
			r = 1;
		} else if (strstr(line, "\"event\":\"audit.checkpoint\"") !=
		    NULL && check_record(&w, line, (size_t)n - 1, msg,
		    msglen) == -1)
			r = 1;
		merkle_leaf(line, n > 0 ? (size_t)n - 1 : 0, leaf);
		merkle_frontier_add(&w.tree, leaf);
	}
	free(line);
	fclose(f);
	res->records = r == 0 ? w.tree.size : 0;
	if (r != 0)
		return r;
	if (w.have_kept && w.tree.size == w.kept.size)
		return check_kept(&w, msg, msglen) == -1 ? 1 : 0;
	if (w.have_kept && w.tree.size < w.kept.size) {
		snprintf(msg, msglen, "the log has %llu records, the kept "
		    "checkpoint %llu: records %llu to %llu were cut",
		    (unsigned long long)w.tree.size,
		    (unsigned long long)w.kept.size,
		    (unsigned long long)w.tree.size + 1,
		    (unsigned long long)w.kept.size);
		return 1;
	}
	if (res->checkpoints == 0) {
		snprintf(msg, msglen, "no checkpoint in the log");
		return 1;
	}
	return 0;
}
