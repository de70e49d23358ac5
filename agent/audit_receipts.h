/*
 * audit_receipts.h - receipts made as the checkpoints are signed, so
 * that asking for one costs a file read, not a read of the whole log.
 *
 * The audit writer tells us of every line it appends (audit.h's leaf
 * hook). When a delivery record (ca.result, issued) is written, we keep
 * the tree's frontier as it was before it (its left siblings) and, from
 * then on, the leaf hashes of the lines after it (its right siblings):
 * at the next checkpoint its inclusion proof is made from those alone
 * (merkle_inclusion_proof_at) and the receipt, with that checkpoint's
 * note, is written to AUDIT.receipts/ORDER.tlog-proof. What is kept is
 * bounded: at most RECEIPTS_MAX_PENDING deliveries and RECEIPTS_MAX_LEAVES
 * leaves between two checkpoints; past that, or if a line was appended
 * that we were not told of, the pending receipts are dropped and made
 * from the log when asked (tlog_receipt.h), once, then kept.
 */
#ifndef HSMAGENT_AUDIT_RECEIPTS_H
#define HSMAGENT_AUDIT_RECEIPTS_H

#include <stddef.h>
#include <stdint.h>

#define RECEIPTS_MAX_PENDING	4096
#define RECEIPTS_MAX_LEAVES	(1u << 20)	/* 32 MiB of leaf hashes */

struct audit;
struct audit_receipts;

/* For the log at path: its receipts directory made (0700). NULL: not. */
struct audit_receipts *audit_receipts_new(struct audit *, const char *path);
void	audit_receipts_free(struct audit_receipts *);
/* The record just appended delivered order's certificate. */
void	audit_receipts_delivered(struct audit_receipts *, const char *order);
/* A checkpoint of size, its note: receipts for what it covers. */
void	audit_receipts_issue(struct audit_receipts *, uint64_t size,
	    const char *note);
/* The kept receipt of order (malloc'd), or NULL. */
char	*audit_receipts_read(struct audit_receipts *, const char *order);
/* Keeps a receipt made from the log. 0 or -1. */
int	audit_receipts_store(struct audit_receipts *, const char *order,
	    const char *text);

#endif
