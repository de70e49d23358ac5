/*
 * audit_receipts.c - see audit_receipts.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_receipts.h"
#include "log.h"
#include "merkle.h"
#include "tlog_proof.h"
#include "util.h"

struct pending {
	char			 order[64];
	uint64_t		 index;
	struct merkle_frontier	 left;		/* the tree before it */
	char			*line;
	size_t			 len;
};

struct audit_receipts {
	char			*dir;
	/* The line last appended, in case it is a delivery. */
	uint64_t		 last_index;
	struct merkle_frontier	 last_left;
	merkle_hash		 last_leaf;
	char			*last_line;
	size_t			 last_len, last_cap;
	int			 have_last;
	struct pending		*pend;
	size_t			 npend;
	merkle_hash		*leaves;	/* leaves[i]: line base + i */
	uint64_t		 base;
	size_t			 nleaves, capleaves;
};

static void
drop_pending(struct audit_receipts *r, const char *why)
{
	if (r->npend > 0)
		log_warn("audit: %zu receipt%s not made at the checkpoint (%s); "
		    "each is made from the log when first asked for", r->npend,
		    r->npend > 1 ? "s" : "", why);
	for (size_t i = 0; i < r->npend; i++)
		free(r->pend[i].line);
	r->npend = 0;
	r->nleaves = 0;
}

static void
on_leaf(void *ctx, const struct merkle_frontier *before, const uint8_t leaf[32],
    const char *line, size_t len)
{
	struct audit_receipts *r = ctx;

	if (r->npend > 0) {
		if (before->size != r->base + r->nleaves)
			drop_pending(r, "the log moved under us");
		else if (r->nleaves == RECEIPTS_MAX_LEAVES)
			drop_pending(r, "too many records since the last "
			    "checkpoint");
		else {
			if (r->nleaves == r->capleaves) {
				r->capleaves = r->capleaves ? r->capleaves * 2 :
				    1024;
				r->leaves = xrealloc(r->leaves, r->capleaves *
				    sizeof(*r->leaves));
			}
			memcpy(r->leaves[r->nleaves++], leaf, MERKLE_HASH_LEN);
		}
	}
	if (len + 1 > r->last_cap) {
		r->last_cap = len + 1;
		r->last_line = xrealloc(r->last_line, r->last_cap);
	}
	memcpy(r->last_line, line, len);
	r->last_len = len;
	r->last_index = before->size;
	r->last_left = *before;
	memcpy(r->last_leaf, leaf, MERKLE_HASH_LEN);
	r->have_last = 1;
}

struct audit_receipts *
audit_receipts_new(struct audit *a, const char *path)
{
	struct audit_receipts	*r = xcalloc(1, sizeof(*r));

	r->dir = xmalloc(strlen(path) + 10);
	sprintf(r->dir, "%s.receipts", path);
	if (mkdir(r->dir, 0700) == -1 && errno != EEXIST) {
		log_warn("audit: cannot make %s: receipts are made from the "
		    "log each time", r->dir);
		free(r->dir);
		free(r);
		return NULL;
	}
	audit_set_leaf_hook(a, on_leaf, r);
	return r;
}

void
audit_receipts_free(struct audit_receipts *r)
{
	if (r == NULL)
		return;
	drop_pending(r, "the agent stops");
	free(r->pend);
	free(r->leaves);
	free(r->last_line);
	free(r->dir);
	free(r);
}

void
audit_receipts_delivered(struct audit_receipts *r, const char *order)
{
	struct pending *p;

	if (r == NULL || !r->have_last || strlen(order) >= sizeof(p->order))
		return;
	if (r->npend == RECEIPTS_MAX_PENDING) {
		log_warn("audit: more than %d deliveries before a checkpoint: "
		    "the receipt of %s is made from the log when asked for",
		    RECEIPTS_MAX_PENDING, order);
		return;
	}
	if (r->npend == 0) {
		r->base = r->last_index;
		r->nleaves = 0;
		if (r->capleaves == 0) {
			r->capleaves = 1024;
			r->leaves = xmalloc(r->capleaves *
			    sizeof(*r->leaves));
		}
		memcpy(r->leaves[r->nleaves++], r->last_leaf, MERKLE_HASH_LEN);
		if (r->pend == NULL)
			r->pend = xmalloc(RECEIPTS_MAX_PENDING *
			    sizeof(*r->pend));
	}
	p = &r->pend[r->npend++];
	snprintf(p->order, sizeof(p->order), "%s", order);
	p->index = r->last_index;
	p->left = r->last_left;
	p->line = xmalloc(r->last_len);
	memcpy(p->line, r->last_line, r->last_len);
	p->len = r->last_len;
}

static char *
receipt_path(const struct audit_receipts *r, const char *order)
{
	char *path;

	/* Order ids are hex (orders.c); anything else is not ours. */
	if (order[0] == '\0' || strlen(order) > 63 || strspn(order,
	    "0123456789abcdef") != strlen(order))
		return NULL;
	path = xmalloc(strlen(r->dir) + strlen(order) + 16);
	sprintf(path, "%s/%s.tlog-proof", r->dir, order);
	return path;
}

int
audit_receipts_store(struct audit_receipts *r, const char *order,
    const char *text)
{
	char	*path;
	int	 rc;

	if (r == NULL || (path = receipt_path(r, order)) == NULL)
		return -1;
	if ((rc = write_file_synced(path, text, 0600, 1)) == -1)
		log_warn("audit: cannot write %s", path);
	free(path);
	return rc;
}

void
audit_receipts_issue(struct audit_receipts *r, uint64_t size,
    const char *note)
{
	struct tlog_proof	 tp;
	struct pending		*p;
	char			*text;
	int			 n;

	if (r == NULL || r->npend == 0)
		return;
	if (r->base + r->nleaves < size) {
		drop_pending(r, "records missing from the receipts' leaves");
		return;
	}
	for (size_t i = 0; i < r->npend; i++) {
		p = &r->pend[i];
		memset(&tp, 0, sizeof(tp));
		if (p->index >= size || (n = merkle_inclusion_proof_at(&p->left,
		    r->leaves + (p->index - r->base), size, tp.path,
		    MERKLE_MAX_PROOF)) < 0) {
			log_warn("audit: no proof for the receipt of %s",
			    p->order);
			continue;
		}
		tp.extra = (uint8_t *)p->line;
		tp.extra_len = p->len;
		tp.index = p->index;
		tp.npath = (size_t)n;
		if ((text = tlog_proof_format(&tp, note)) != NULL) {
			(void)audit_receipts_store(r, p->order, text);
			free(text);
		}
	}
	for (size_t i = 0; i < r->npend; i++)
		free(r->pend[i].line);
	r->npend = 0;
	r->nleaves = 0;
}

char *
audit_receipts_read(struct audit_receipts *r, const char *order)
{
	char	*path, *buf = NULL;
	size_t	 len;

	if (r == NULL || (path = receipt_path(r, order)) == NULL)
		return NULL;
	if (read_file_capped(path, 2 * TLOG_PROOF_MAX_EXTRA + 64 * 1024, &buf,
	    &len) == -1)
		buf = NULL;
	free(path);
	return buf;
}
