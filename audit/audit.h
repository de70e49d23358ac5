/*
 * audit.h - the tamper-evident audit log.
 *
 * JSON Lines, append-only. Each record is one object with exactly:
 *   seq      1, 2, 3, ... without gaps
 *   time     UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ"
 *   event    [a-z_.]{1,64}, e.g. "policy.decision"
 *   actor    {"uid","gid","pid","user"} of a local client, or null for
 *            the agent itself
 *   target   string or null (an order id, a key URI, ...)
 *   outcome  string ("ok", "denied", "failed", ...)
 *   details  object
 *   prev     hex SHA-256 of the previous record (64 zeros for seq 1)
 *   hash     hex SHA-256 of this record without "hash"
 * "Without hash" means the record serialised as jansson does with
 * JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII; the line on disk is
 * the whole record in the same form. An auditor can recompute it:
 *
 *   import hashlib, json, re
 *   prev = "0" * 64
 *   for n, line in enumerate(open("audit.log"), 1):
 *       r = json.loads(line); h = r.pop("hash")
 *       c = json.dumps(r, sort_keys=True, separators=(",", ":"))
 *       c = re.sub(r"\\u([0-9a-f]{4})",      # jansson writes \u00E9
 *                  lambda m: "\\u" + m[1].upper(), c)
 *       assert r["seq"] == n and r["prev"] == prev, n
 *       assert hashlib.sha256(c.encode()).hexdigest() == h, n
 *       prev = h
 *
 * Each record is fsync'ed before audit_append() returns. A record that
 * cannot be written makes the caller refuse what it was about to do.
 * audit_append_deferred() is for the one high-rate event, a granted
 * signature, and for a record a synced one follows at once (an order's
 * request, before its decision): the record is written (it survives a
 * crash of the agent) but fsync'ed with the next synced record or by
 * audit_sync(), which the agent calls within AUDIT_SYNC_MS. Only a
 * crash of the kernel or a power cut inside that window can lose such
 * records; the head is rewritten only after the sync, so it never
 * claims what the disk lacks. (SECURITY.md, "Deferred records".)
 *
 * FILE.head ("SEQ HASH", rewritten after each record) records where the
 * log ends: the chain cannot show records cut from the end, the head
 * can. audit_open() refuses a log shorter than its head; verification
 * names the first missing line.
 */
#ifndef HSMAGENT_AUDIT_H
#define HSMAGENT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define AUDIT_MAX_LINE	(64 * 1024)
#define AUDIT_SYNC_MS	1000	/* a deferred record reaches the disk by then */

struct audit_actor {
	long		 uid, gid, pid;
	const char	*user;		/* NULL: "" */
};

struct audit;

/*
 * Opens (creating, 0600) for appending, continuing the chain from the
 * last record, which must be intact: a damaged log is not extended.
 * Holds an exclusive lock so that two agents cannot interleave.
 */
struct audit	*audit_open(const char *path, char *err, size_t errlen);
/*
 * Appends one record and syncs it. details may be NULL; it is not
 * consumed. 0, or -1 if the record is not safely on disk: then this
 * handle refuses every later record too (the chain's state is unknown).
 */
int		 audit_append(struct audit *, const char *event,
		    const struct audit_actor *actor, const char *target,
		    const char *outcome, json_t *details);
/* Written now, synced later: see above. Same return as audit_append(). */
int		 audit_append_deferred(struct audit *, const char *event,
		    const struct audit_actor *actor, const char *target,
		    const char *outcome, json_t *details);

/*
 * Details of string and integer members only, written without jansson:
 * the record the signing path writes before each answer. Keys are the
 * caller's literals, added in strictly ascending byte order (the order
 * the canonical form sorts them in); string values are copied. A key
 * out of order, too many members or values over the store's room mark
 * the details failed, and a record with them is then refused.
 */
#define AUDIT_FIELDS_MAX	8
struct audit_fields {
	struct {
		const char	*key;
		size_t		 at;	/* a string's offset in store */
		long long	 i;
		int		 is_int;
	}		 f[AUDIT_FIELDS_MAX];
	size_t		 n, used;
	int		 failed;
	char		 store[512];
};
void		 audit_fields_str(struct audit_fields *, const char *key,
		    const char *value);
void		 audit_fields_int(struct audit_fields *, const char *key,
		    long long value);
/* audit_append_deferred() with flat details (never NULL). */
int		 audit_append_fields_deferred(struct audit *,
		    const char *event, const struct audit_actor *actor,
		    const char *target, const char *outcome,
		    const struct audit_fields *details);

/*
 * Was the last append written, and is the file at the log's path still
 * the one open? After a failed write each audit_append() first cuts a
 * torn tail and checks the chain's end (recovery), then tries again:
 * appending resumes by itself when the disk takes writes again.
 */
int		 audit_healthy(struct audit *);
/*
 * The RFC 6962 tree over the log's lines (leaf = SHA-256(0x00 || the
 * line without its newline), merkle.h): its size and root, kept current
 * by each append and rebuilt from the file at open.
 */
void		 audit_tree(const struct audit *, uint64_t *size,
		    uint8_t root[32]);
/*
 * Called for each line appended, before its leaf joins the tree: the
 * frontier then is the tree of the lines before it (its size the line's
 * index), as merkle_inclusion_proof_at needs it. NULL: none.
 */
struct merkle_frontier;
typedef void (*audit_leaf_hook)(void *ctx, const struct merkle_frontier *,
    const uint8_t leaf[32], const char *line, size_t len);
void		 audit_set_leaf_hook(struct audit *, audit_leaf_hook, void *ctx);
/* The log's path, as opened. */
const char	*audit_file(const struct audit *);
/* Deferred records not yet on disk; audit_sync() puts them there (0/-1). */
uint64_t	 audit_unsynced(const struct audit *);
int		 audit_sync(struct audit *);
uint64_t	 audit_last_seq(const struct audit *);
void		 audit_close(struct audit *);

/*
 * Checks a whole log. 0: intact (*nrecords set). 1: the first bad record
 * is named in msg ("line N ...") and *bad_line. -1: unreadable (msg).
 */
/* Set: a missing FILE.head is not a failure ("audit verify --no-head"). */
extern int	audit_verify_no_head;
int	audit_verify_file(const char *path, uint64_t *nrecords,
	    uint64_t *bad_line, char *msg, size_t msglen);
int	audit_verify_buf(const char *buf, size_t len, uint64_t *nrecords,
	    uint64_t *bad_line, char *msg, size_t msglen);

/* Tests only: point the handle at another fd (e.g. /dev/full). */
void	audit_test_set_fd(struct audit *, int fd);

#endif
