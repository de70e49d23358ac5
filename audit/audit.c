/*
 * audit.c - the hash-chained audit log: append with fsync, verify.
 *
 * The chain makes an edit, a deletion or a reordering of any record
 * visible to audit_verify_*(): each record's hash covers its content
 * and the previous record's hash, and sequence numbers have no gaps.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"
#include "buf.h"
#include "merkle.h"
#include "util.h"

#define HASH_HEX	64
#define DUMP_FLAGS	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

/*
 * FILE.head holds the seq and hash of the last record, rewritten in
 * place after each append. The chain alone cannot show that records
 * were cut from the end of the log; the head file can (unless it is
 * rewritten too, which is why the log should also leave the host).
 * The head is written only after the log is fsync'ed, and is not synced
 * itself: after a power cut it can only be behind the log, which is
 * accepted, never ahead (one 87-byte write at offset 0 does not tear).
 * That saves a sync per record, half of the audit log's cost.
 */
#define HEAD_LEN	(20 + 1 + HASH_HEX + 1)

struct audit {
	int		 fd;
	int		 hfd;		/* FILE.head */
	char		*path;
	int		 broken;	/* a write failed: recover() first */
	uint64_t	 seq;		/* of the last record */
	char		 prev[HASH_HEX + 1];
	uint64_t	 unsynced;	/* deferred records not yet fsync'ed */
	off_t		 end;		/* the log's size after our last write */
	dev_t		 dev;		/* the file fd is open on: a path that */
	ino_t		 ino;		/* names another one means it moved */
	struct merkle_frontier tree;	/* RFC 6962, a leaf per line (merkle.h) */
	EVP_MD		*sha256;	/* fetched once, for every record */
	EVP_MD_CTX	*md;		/* the record's and the leaf's hash */
	time_t		 sec;		/* the second second_text names */
	char		 second_text[24];	/* "YYYY-MM-DDTHH:MM:SS" */
	audit_leaf_hook	 hook;		/* told of each line appended */
	void		*hook_ctx;
};

int	audit_verify_no_head;

static const char zero_hash[HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static int
sha256_hex(const char *s, size_t len, char out[HASH_HEX + 1])
{
	unsigned char	md[32];
	unsigned int	mdlen = 0;

	if (EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md))
		return -1;
	hex_lower(md, sizeof(md), out);
	return 0;
}

/* The hash of a record: its canonical form without the "hash" member. */
static int
record_hash(json_t *rec, char out[HASH_HEX + 1])
{
	json_t	*copy = json_copy(rec);
	char	*s;
	int	 r;

	if (copy == NULL)
		return -1;
	json_object_del(copy, "hash");
	s = json_dumps(copy, DUMP_FLAGS);
	json_decref(copy);
	if (s == NULL)
		return -1;
	r = sha256_hex(s, strlen(s), out);
	free(s);
	return r;
}

static int
valid_event(const char *e)
{
	size_t n = strlen(e);

	if (n == 0 || n > 64)
		return 0;
	for (; *e != '\0'; e++)
		if (!((*e >= 'a' && *e <= 'z') || *e == '_' || *e == '.'))
			return 0;
	return 1;
}

static int
is_hex64(const char *s)
{
	if (s == NULL || strlen(s) != HASH_HEX)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* ---- the head file ------------------------------------------------------ */

/* 1 and the values if the head file holds a record, 0 if empty, -1 bad. */
static int
head_read(int fd, uint64_t *seq, char hash[HASH_HEX + 1])
{
	char			 buf[HEAD_LEN + 1];
	ssize_t			 n = pread(fd, buf, HEAD_LEN, 0);
	unsigned long long	 s;

	if (n == 0)
		return 0;
	if (n != HEAD_LEN || buf[20] != ' ' || buf[HEAD_LEN - 1] != '\n')
		return -1;
	buf[HEAD_LEN - 1] = '\0';
	buf[20] = '\0';
	if (strspn(buf, "0123456789") != 20 || !is_hex64(buf + 21))
		return -1;
	s = strtoull(buf, NULL, 10);
	*seq = (uint64_t)s;
	memcpy(hash, buf + 21, HASH_HEX + 1);
	return 1;
}

static int
head_write(int fd, uint64_t seq, const char *hash)
{
	char buf[HEAD_LEN + 1];

	snprintf(buf, sizeof(buf), "%020llu %s\n", (unsigned long long)seq,
	    hash);
	if (pwrite(fd, buf, HEAD_LEN, 0) != HEAD_LEN)
		return -1;
	return 0;
}

static int
open_head(const char *path, int flags)
{
	char hp[4200];

	snprintf(hp, sizeof(hp), "%s.head", path);
	return open(hp, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* ---- verification ------------------------------------------------------ */

struct verifier {
	uint64_t	line;
	uint64_t	seq;
	char		prev[HASH_HEX + 1];
};

static int
check_actor(json_t *a)
{
	if (json_is_null(a))
		return 0;
	if (!json_is_object(a) || json_object_size(a) != 4 ||
	    !json_is_integer(json_object_get(a, "uid")) ||
	    !json_is_integer(json_object_get(a, "gid")) ||
	    !json_is_integer(json_object_get(a, "pid")) ||
	    !json_is_string(json_object_get(a, "user")))
		return -1;
	return 0;
}

/* Shape: exactly the nine members, each of its type. */
static const char *
check_shape(json_t *r)
{
	json_t *t;

	if (!json_is_object(r))
		return "not a JSON object";
	if (json_object_size(r) != 9)
		return "wrong number of members";
	if (!json_is_integer(json_object_get(r, "seq")))
		return "missing or mistyped member seq";
	if (!json_is_string(json_object_get(r, "time")))
		return "missing or mistyped member time";
	if (!json_is_string(json_object_get(r, "event")) ||
	    !valid_event(json_string_value(json_object_get(r, "event"))))
		return "missing or mistyped member event";
	if (json_object_get(r, "actor") == NULL ||
	    check_actor(json_object_get(r, "actor")) == -1)
		return "missing or mistyped member actor";
	t = json_object_get(r, "target");
	if (t == NULL || !(json_is_null(t) || json_is_string(t)))
		return "missing or mistyped member target";
	if (!json_is_string(json_object_get(r, "outcome")))
		return "missing or mistyped member outcome";
	if (!json_is_object(json_object_get(r, "details")))
		return "missing or mistyped member details";
	if (!is_hex64(json_string_value(json_object_get(r, "prev"))))
		return "missing or mistyped member prev";
	if (!is_hex64(json_string_value(json_object_get(r, "hash"))))
		return "missing or mistyped member hash";
	return NULL;
}

/* One line (without its newline): 0 fine, 1 bad with msg. */
static int
verify_line(struct verifier *v, const char *line, size_t len, char *msg,
    size_t msglen)
{
	json_error_t	 e;
	json_t		*r;
	const char	*why;
	char		 h[HASH_HEX + 1];
	json_int_t	 seq;

	v->line++;
	if (len > AUDIT_MAX_LINE) {
		snprintf(msg, msglen, "line %llu: longer than 64 KiB",
		    (unsigned long long)v->line);
		return 1;
	}
	if ((r = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e)) == NULL) {
		snprintf(msg, msglen, "line %llu: not valid JSON (%s)",
		    (unsigned long long)v->line, e.text);
		return 1;
	}
	if ((why = check_shape(r)) != NULL) {
		snprintf(msg, msglen, "line %llu: %s",
		    (unsigned long long)v->line, why);
		goto bad;
	}
	seq = json_integer_value(json_object_get(r, "seq"));
	if (seq < 0 || (uint64_t)seq != v->seq + 1) {
		snprintf(msg, msglen, "line %llu: seq %lld, expected %llu "
		    "(record deleted or reordered)",
		    (unsigned long long)v->line, (long long)seq,
		    (unsigned long long)v->seq + 1);
		goto bad;
	}
	if (record_hash(r, h) == -1 ||
	    strcmp(h, json_string_value(json_object_get(r, "hash"))) != 0) {
		snprintf(msg, msglen, "line %llu (seq %lld): hash mismatch "
		    "(record edited)", (unsigned long long)v->line,
		    (long long)seq);
		goto bad;
	}
	if (strcmp(v->prev, json_string_value(json_object_get(r, "prev"))) !=
	    0) {
		snprintf(msg, msglen, "line %llu (seq %lld): prev does not "
		    "match the hash of the record before it",
		    (unsigned long long)v->line, (long long)seq);
		goto bad;
	}
	v->seq = (uint64_t)seq;
	memcpy(v->prev, h, sizeof(v->prev));
	json_decref(r);
	return 0;
 bad:
	json_decref(r);
	return 1;
}

int
audit_verify_buf(const char *buf, size_t len, uint64_t *nrecords,
    uint64_t *bad_line, char *msg, size_t msglen)
{
	struct verifier	v;
	size_t		off = 0;

	memset(&v, 0, sizeof(v));
	memcpy(v.prev, zero_hash, sizeof(v.prev));
	*nrecords = 0;
	*bad_line = 0;
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);

		if (nl == NULL) {
			*bad_line = v.line + 1;
			snprintf(msg, msglen, "line %llu: no newline at the end "
			    "(truncated record)", (unsigned long long)*bad_line);
			return 1;
		}
		if (verify_line(&v, buf + off, (size_t)(nl - buf - off), msg,
		    msglen) != 0) {
			*bad_line = v.line;
			return 1;
		}
		off = (size_t)(nl - buf) + 1;
	}
	*nrecords = v.seq;
	snprintf(msg, msglen, "intact, %llu records",
	    (unsigned long long)v.seq);
	return 0;
}

/*
 * The head file, if there is one, must not be ahead of the log: that
 * would mean records were removed from the end. (Behind by one is the
 * window between the log's fsync and the head's.)
 */
static int
verify_head(const char *path, const struct verifier *v, uint64_t *bad_line,
    char *msg, size_t msglen)
{
	uint64_t	seq;
	char		hash[HASH_HEX + 1];
	int		fd = open_head(path, O_RDONLY), r;

	/* Without it a cut tail cannot be seen: a failure, unless waived. */
	if (fd == -1 && errno == ENOENT && !audit_verify_no_head) {
		snprintf(msg, msglen, "%s.head is missing: records cut from "
		    "the end could not be seen (hsmagent audit verify --no-head "
		    "checks the chain without it)", path);
		return 1;
	}
	if (fd == -1)
		return errno == ENOENT ? 0 : 1;
	r = head_read(fd, &seq, hash);
	close(fd);
	if (r == -1) {
		snprintf(msg, msglen, "%s.head is damaged", path);
		return 1;
	}
	if (r == 1 && seq > v->seq) {
		*bad_line = v->line + 1;
		snprintf(msg, msglen, "line %llu: missing: the log ends at seq "
		    "%llu but %s.head records seq %llu (records removed from "
		    "the end)", (unsigned long long)*bad_line,
		    (unsigned long long)v->seq, path, (unsigned long long)seq);
		return 1;
	}
	if (r == 1 && seq == v->seq && strcmp(hash, v->prev) != 0) {
		*bad_line = v->line;
		snprintf(msg, msglen, "line %llu: the last record's hash is "
		    "not the one %s.head records", (unsigned long long)v->line,
		    path);
		return 1;
	}
	return 0;
}

int
audit_verify_file(const char *path, uint64_t *nrecords, uint64_t *bad_line,
    char *msg, size_t msglen)
{
	struct verifier	 v;
	FILE		*f;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	int		 r = 0;

	*nrecords = 0;
	*bad_line = 0;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -1;
	}
	memset(&v, 0, sizeof(v));
	memcpy(v.prev, zero_hash, sizeof(v.prev));
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') {
			*bad_line = v.line + 1;
			snprintf(msg, msglen, "line %llu: no newline at the end "
			    "(truncated record)", (unsigned long long)*bad_line);
			r = 1;
			break;
		}
		if (verify_line(&v, line, (size_t)n - 1, msg, msglen) != 0) {
			*bad_line = v.line;
			r = 1;
			break;
		}
	}
	if (r == 0 && ferror(f)) {
		snprintf(msg, msglen, "%s: read error", path);
		r = -1;
	}
	free(line);
	fclose(f);
	if (r == 0)
		r = verify_head(path, &v, bad_line, msg, msglen);
	if (r == 0) {
		*nrecords = v.seq;
		snprintf(msg, msglen, "intact, %llu records",
		    (unsigned long long)v.seq);
	}
	return r;
}

/* ---- appending --------------------------------------------------------- */

/*
 * The tree of the lines on disk, read from the start: at open, and when
 * the file changed under us. Streamed in AUDIT_MAX_LINE chunks; a line
 * longer than that (which verification refuses anyway) fails it.
 */
static int
tree_rebuild(struct audit *a)
{
	char		*buf = xmalloc(2 * AUDIT_MAX_LINE + 2);
	size_t		 have = 0, start;
	off_t		 off = 0;
	ssize_t		 n;
	merkle_hash	 leaf;
	char		*nl;

	merkle_frontier_init(&a->tree);
	for (;;) {
		n = pread(a->fd, buf + have, 2 * AUDIT_MAX_LINE + 1 - have,
		    off);
		if (n < 0)
			break;
		off += n;
		have += (size_t)n;
		start = 0;
		while ((nl = memchr(buf + start, '\n', have - start)) != NULL) {
			merkle_leaf(buf + start, (size_t)(nl - buf - start),
			    leaf);
			merkle_frontier_add(&a->tree, leaf);
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (n == 0 || have > AUDIT_MAX_LINE)
			break;
	}
	free(buf);
	return n == 0 && have == 0 ? 0 : -1;
}

const char *
audit_file(const struct audit *a)
{
	return a->path;
}

void
audit_set_leaf_hook(struct audit *a, audit_leaf_hook hook, void *ctx)
{
	a->hook = hook;
	a->hook_ctx = ctx;
}

void
audit_tree(const struct audit *a, uint64_t *size, uint8_t root[32])
{
	*size = a->tree.size;
	merkle_frontier_root(&a->tree, root);
}

/* The last line of the file, read backwards in at most 64 KiB. */
static char *
read_last_line(int fd, off_t size, size_t *lenp)
{
	size_t	 want = size > AUDIT_MAX_LINE + 1 ? AUDIT_MAX_LINE + 1 :
	    (size_t)size;
	char	*buf = xmalloc(want + 1);
	ssize_t	 n;
	size_t	 end, start;

	n = pread(fd, buf, want, size - (off_t)want);
	if (n != (ssize_t)want || buf[want - 1] != '\n') {
		free(buf);
		return NULL;
	}
	end = want - 1;
	start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (start == 0 && (off_t)want < size) {
		free(buf);		/* longer than the cap */
		return NULL;
	}
	memmove(buf, buf + start, end - start);
	buf[end - start] = '\0';
	*lenp = end - start;
	return buf;
}

static int
resume_chain(struct audit *a, char *err, size_t errlen)
{
	struct stat	 st;
	struct verifier	 v;
	json_t		*r;
	json_error_t	 e;
	char		*line, msg[256];
	size_t		 len;

	if (fstat(a->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		return -1;
	}
	if (st.st_size == 0)
		return 0;
	if ((line = read_last_line(a->fd, st.st_size, &len)) == NULL) {
		snprintf(err, errlen, "the last record is truncated or too "
		    "long; run \"hsmagent audit verify\" and repair the log");
		return -1;
	}
	/* Check the last record on its own: shape and hash. */
	memset(&v, 0, sizeof(v));
	if ((r = json_loadb(line, len, 0, &e)) == NULL ||
	    check_shape(r) != NULL) {
		json_decref(r);
		free(line);
		snprintf(err, errlen, "the last record is damaged; run "
		    "\"hsmagent audit verify\"");
		return -1;
	}
	v.seq = (uint64_t)json_integer_value(json_object_get(r, "seq")) - 1;
	snprintf(v.prev, sizeof(v.prev), "%s",
	    json_string_value(json_object_get(r, "prev")));
	json_decref(r);
	if (verify_line(&v, line, len, msg, sizeof(msg)) != 0) {
		free(line);
		snprintf(err, errlen, "the last record does not verify "
		    "(%.160s)", msg);
		return -1;
	}
	free(line);
	a->seq = v.seq;
	memcpy(a->prev, v.prev, sizeof(a->prev));
	if (tree_rebuild(a) == -1) {
		snprintf(err, errlen, "cannot read the log back for its tree");
		return -1;
	}
	return 0;
}

/* A log shorter than its head file lost records: do not extend it. */
static int
check_head(struct audit *a, char *err, size_t errlen)
{
	uint64_t	seq;
	char		hash[HASH_HEX + 1];
	int		r = head_read(a->hfd, &seq, hash);

	if (r == -1) {
		snprintf(err, errlen, "the head file is damaged");
		return -1;
	}
	if (r == 1 && (seq > a->seq || (seq == a->seq &&
	    strcmp(hash, a->prev) != 0))) {
		snprintf(err, errlen, "the log ends at seq %llu but its head "
		    "file records seq %llu: records were removed",
		    (unsigned long long)a->seq, (unsigned long long)seq);
		return -1;
	}
	if (a->seq > 0 && (r == 0 || seq < a->seq))
		return head_write(a->hfd, a->seq, a->prev);
	return 0;
}

/* Notes which file fd is open on, for same_file(). */
static int
note_file(struct audit *a)
{
	struct stat f;

	if (fstat(a->fd, &f) == -1)
		return -1;
	a->dev = f.st_dev;
	a->ino = f.st_ino;
	return 0;
}

static void
hash_free(struct audit *a)
{
	EVP_MD_CTX_free(a->md);
	EVP_MD_free(a->sha256);
}

struct audit *
audit_open(const char *path, char *err, size_t errlen)
{
	struct audit	*a = xcalloc(1, sizeof(*a));
	char		 e[256];

	memcpy(a->prev, zero_hash, sizeof(a->prev));
	if ((a->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (a->md = EVP_MD_CTX_new()) == NULL) {
		snprintf(err, errlen, "audit log %s: no SHA-256", path);
		EVP_MD_free(a->sha256);
		free(a);
		return NULL;
	}
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (a->fd == -1) {
		snprintf(err, errlen, "audit log %s: %s", path, strerror(errno));
		hash_free(a);
		free(a);
		return NULL;
	}
	a->path = xstrdup(path);
	if (note_file(a) == -1) {
		snprintf(err, errlen, "audit log %s: %s", path, strerror(errno));
		goto fail;
	}
	if (flock(a->fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "audit log %s: %s", path, errno ==
		    EWOULDBLOCK ? "in use by another process" :
		    strerror(errno));
		goto fail;
	}
	if (resume_chain(a, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "audit log %s: %s", path, e);
		goto fail;
	}
	if ((a->hfd = open_head(path, O_RDWR | O_CREAT)) == -1) {
		snprintf(err, errlen, "audit log %s.head: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (check_head(a, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "audit log %s: %s", path, e);
		close(a->hfd);
		goto fail;
	}
	a->end = lseek(a->fd, 0, SEEK_END);
	return a;
 fail:
	close(a->fd);
	free(a->path);
	hash_free(a);
	free(a);
	return NULL;
}

/*
 * "YYYY-MM-DDTHH:MM:SS.mmmZ". strftime runs once a second: the records
 * of one second share its text.
 */
static void
utc_now(struct audit *a, char buf[32])
{
	struct timespec	ts;
	struct tm	tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != a->sec || a->second_text[0] == '\0') {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(a->second_text, sizeof(a->second_text),
		    "%Y-%m-%dT%H:%M:%S", &tm);
		a->sec = ts.tv_sec;
	}
	snprintf(buf, 32, "%.19s.%03dZ", a->second_text,
	    (int)(ts.tv_nsec / 1000000));
}

/*
 * A record's line, written out by hand in the canonical form
 * (DUMP_FLAGS: keys sorted, compact, ASCII), byte for byte what
 * json_dumps makes of the record and what audit_verify_*() hash again:
 * test_audit compares the two. Only details goes through jansson. The
 * line is a wbuf capped at AUDIT_MAX_LINE + 1 (room for the newline):
 * its sticky failure means too long, or a string jansson refused, and
 * the record is then refused unwritten.
 */
static void
put(struct wbuf *l, const char *s, size_t n)
{
	(void)wbuf_put(l, s, n);
}

static void
put_s(struct wbuf *l, const char *s)
{
	put(l, s, strlen(s));
}

static void
put_int(struct wbuf *l, long long v)
{
	char n[24];

	put(l, n, (size_t)snprintf(n, sizeof(n), "%lld", v));
}

/*
 * A JSON string. Printable ASCII other than the quote and backslash is
 * written as it is, as jansson writes it; anything else (escapes, UTF-8
 * to \u, invalid UTF-8 refused) is jansson's own encoding of it.
 */
static void
put_str(struct wbuf *l, const char *s)
{
	const char	*c;
	json_t		*j;
	char		*d;

	for (c = s; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\')
			break;
	if (*c == '\0') {
		put(l, "\"", 1);
		put(l, s, (size_t)(c - s));
		put(l, "\"", 1);
		return;
	}
	if ((j = json_string(s)) == NULL || (d = json_dumps(j, DUMP_FLAGS |
	    JSON_ENCODE_ANY)) == NULL) {
		json_decref(j);
		l->failed = 1;
		return;
	}
	put_s(l, d);
	free(d);
	json_decref(j);
}

/*
 * The new record's line into l, with its hash in h: the canonical form
 * without "hash" is hashed, and "hash" then goes where sorting puts it,
 * between "event" and "outcome". 0, or -1 (nothing to write).
 */
static void
put_fields(struct wbuf *l, const struct audit_fields *d)
{
	if (d->failed) {
		l->failed = 1;
		return;
	}
	put(l, "{", 1);
	for (size_t i = 0; i < d->n; i++) {
		if (i > 0)
			put(l, ",", 1);
		put_str(l, d->f[i].key);
		put(l, ":", 1);
		if (d->f[i].is_int)
			put_int(l, d->f[i].i);
		else
			put_str(l, d->store + d->f[i].at);
	}
	put(l, "}", 1);
}

static int
record_line(struct audit *a, struct wbuf *l, char h[HASH_HEX + 1],
    const char *event, const struct audit_actor *actor, const char *target,
    const char *outcome, json_t *details, const struct audit_fields *flat)
{
	static const char	 hash_key[] = ",\"hash\":\"";
	char			 when[32], *det;
	unsigned char		 md[32];
	unsigned int		 mdlen = 0;
	size_t			 head, at;

	put_s(l, "{\"actor\":");
	if (actor == NULL)
		put_s(l, "null");
	else {
		put_s(l, "{\"gid\":");
		put_int(l, actor->gid);
		put_s(l, ",\"pid\":");
		put_int(l, actor->pid);
		put_s(l, ",\"uid\":");
		put_int(l, actor->uid);
		put_s(l, ",\"user\":");
		put_str(l, actor->user ? actor->user : "");
		put_s(l, "}");
	}
	put_s(l, ",\"details\":");
	if (flat != NULL)
		put_fields(l, flat);
	else if (details == NULL)
		put_s(l, "{}");
	else if ((det = json_dumps(details, DUMP_FLAGS)) == NULL)
		l->failed = 1;
	else {
		put_s(l, det);
		free(det);
	}
	put_s(l, ",\"event\":");
	put_str(l, event);
	head = l->len;
	/* Room for the hash member, filled in once the hash is known. */
	put(l, hash_key, sizeof(hash_key) - 1);
	put(l, zero_hash, HASH_HEX);
	put(l, "\"", 1);
	at = l->len;
	put_s(l, ",\"outcome\":");
	put_str(l, outcome);
	put_s(l, ",\"prev\":\"");
	put(l, a->prev, HASH_HEX);
	put_s(l, "\",\"seq\":");
	put_int(l, (long long)(a->seq + 1));
	put_s(l, ",\"target\":");
	if (target == NULL)
		put_s(l, "null");
	else
		put_str(l, target);
	utc_now(a, when);
	put_s(l, ",\"time\":");
	put_str(l, when);
	put_s(l, "}");
	if (l->failed || l->len > AUDIT_MAX_LINE)
		return -1;
	if (EVP_DigestInit_ex(a->md, a->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(a->md, (char *)l->data, head) != 1 ||
	    EVP_DigestUpdate(a->md, (char *)l->data + at, l->len - at) != 1 ||
	    EVP_DigestFinal_ex(a->md, md, &mdlen) != 1 || mdlen != sizeof(md))
		return -1;
	hex_lower(md, sizeof(md), h);
	memcpy((char *)l->data + head + sizeof(hash_key) - 1, h, HASH_HEX);
	put(l, "\n", 1);
	return l->failed ? -1 : 0;
}

static int
write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Is the file at the log's path still the one we append to? One stat()
 * on every append (the signing path's records too): the fd's file does
 * not change, so its identity is kept from the open, and the size the
 * path's stat gives is that file's when they are the same.
 */
static int
same_file(const struct audit *a, off_t *size)
{
	struct stat p;

	if (stat(a->path, &p) == -1 || p.st_dev != a->dev ||
	    p.st_ino != a->ino)
		return 0;
	if (size != NULL)
		*size = p.st_size;
	return 1;
}

/*
 * After a failed append (disk full, read-only, I/O error): cut off a
 * partial line the failure may have left (the write that made it
 * failed, so nothing relied on it), and check that the log ends with
 * our last record again. 0 when appending may go on.
 */
static int
recover(struct audit *a)
{
	struct stat	 st;
	char		*tail, *line;
	size_t		 want, n, len;
	off_t		 end;
	json_t		*r;
	int		 ok;

	if (fstat(a->fd, &st) == -1)
		return -1;
	/* Back to just after the last newline (within one record's cap). */
	want = st.st_size > AUDIT_MAX_LINE + 1 ? AUDIT_MAX_LINE + 1 :
	    (size_t)st.st_size;
	tail = xmalloc(want + 1);
	if (pread(a->fd, tail, want, st.st_size - (off_t)want) !=
	    (ssize_t)want) {
		free(tail);
		return -1;
	}
	for (n = want; n > 0 && tail[n - 1] != '\n'; n--)
		;
	free(tail);
	if (n == 0 && (off_t)want < st.st_size)
		return -1;
	end = st.st_size - (off_t)(want - n);
	if (end != st.st_size && (ftruncate(a->fd, end) == -1 ||
	    fsync(a->fd) == -1))
		return -1;
	if (a->seq == 0)
		ok = end == 0;
	else {
		if (end == 0 || (line = read_last_line(a->fd, end, &len)) ==
		    NULL)
			return -1;
		r = json_loadb(line, len, 0, NULL);
		ok = r != NULL && (uint64_t)json_integer_value(json_object_get(r,
		    "seq")) == a->seq && json_is_string(json_object_get(r,
		    "hash")) && strcmp(json_string_value(json_object_get(r,
		    "hash")), a->prev) == 0;
		json_decref(r);
		free(line);
	}
	if (!ok || head_write(a->hfd, a->seq, a->prev) == -1)
		return -1;
	a->broken = 0;
	return 0;
}

/* Does the log end with a whole line (or is it empty)? */
static int
ends_clean(const struct audit *a)
{
	struct stat	st;
	char		c;

	return fstat(a->fd, &st) == 0 && (st.st_size == 0 ||
	    (pread(a->fd, &c, 1, st.st_size - 1) == 1 && c == '\n'));
}

int
audit_healthy(struct audit *a)
{
	return a != NULL && same_file(a, NULL) && !a->broken;
}

/*
 * sync: fsync the log, then the head. Deferred records (sync 0) are
 * written at once, so they outlive a crash of the agent, but reach the
 * disk with the next synced record or audit_sync(); the head is left
 * alone until then, so on disk it never runs ahead of the log.
 */
static int
append_record(struct audit *a, int sync, const char *event,
    const struct audit_actor *actor, const char *target, const char *outcome,
    json_t *details, const struct audit_fields *flat)
{
	struct wbuf	 l;
	const char	*line;
	char		 h[HASH_HEX + 1];
	off_t		 before;
	size_t		 len;
	int		 r = -1;

	if (a == NULL || !valid_event(event) || outcome == NULL ||
	    (details != NULL && !json_is_object(details)))
		return -1;
	/*
	 * Moved or deleted under us: records would go nowhere anyone reads.
	 * A torn tail (a failed write, a crash mid-record) is cut first.
	 */
	if (!same_file(a, &before))
		return -1;
	/* Not as we left it: someone else wrote, or our last write failed. */
	if (a->broken || before != a->end) {
		if ((!a->broken && ends_clean(a)) || recover(a) == 0)
			a->end = lseek(a->fd, 0, SEEK_END);
		else
			return -1;
		/* Lines we did not write, or a cut tail: count them anew. */
		if (tree_rebuild(a) == -1)
			return -1;
		before = a->end;
	}
	wbuf_init(&l, AUDIT_MAX_LINE + 1);
	if (record_line(a, &l, h, event, actor, target, outcome, details,
	    flat) == -1) {
		/* Nothing written: the chain is intact, only this is refused. */
		wbuf_free(&l);
		return -1;
	}
	line = (const char *)l.data;
	if (write_all(a->fd, line, l.len) == 0 &&
	    (!sync || fsync(a->fd) == 0))
		r = 0;
	if (r == 0) {
		merkle_hash leaf;

		merkle_leaf_with(a->md, a->sha256, line, l.len - 1, leaf);
		if (a->hook != NULL)
			a->hook(a->hook_ctx, &a->tree, leaf, line, l.len - 1);
		merkle_frontier_add(&a->tree, leaf);
	}
	len = l.len - 1;
	wbuf_free(&l);
	if (r == -1) {
		/*
		 * A partial line would break the chain for every reader:
		 * cut it off if we can; appending waits for recover().
		 */
		if (before != -1 && ftruncate(a->fd, before) == 0)
			(void)fsync(a->fd);
		a->broken = 1;
		return -1;
	}
	a->end = before + (off_t)len + 1;
	a->seq++;
	memcpy(a->prev, h, sizeof(a->prev));
	if (!sync) {
		a->unsynced++;
		return 0;
	}
	a->unsynced = 0;
	if (head_write(a->hfd, a->seq, a->prev) == -1) {
		a->broken = 1;
		return -1;
	}
	return 0;
}

int
audit_append(struct audit *a, const char *event,
    const struct audit_actor *actor, const char *target, const char *outcome,
    json_t *details)
{
	return append_record(a, 1, event, actor, target, outcome, details,
	    NULL);
}

int
audit_append_deferred(struct audit *a, const char *event,
    const struct audit_actor *actor, const char *target, const char *outcome,
    json_t *details)
{
	return append_record(a, 0, event, actor, target, outcome, details,
	    NULL);
}

int
audit_append_fields_deferred(struct audit *a, const char *event,
    const struct audit_actor *actor, const char *target, const char *outcome,
    const struct audit_fields *details)
{
	if (details == NULL)
		return -1;
	return append_record(a, 0, event, actor, target, outcome, NULL,
	    details);
}

/* The next member, if its key sorts after the last one's; else failed. */
static int
field_next(struct audit_fields *d, const char *key)
{
	if (d->failed || d->n == AUDIT_FIELDS_MAX || key == NULL ||
	    (d->n > 0 && strcmp(d->f[d->n - 1].key, key) >= 0)) {
		d->failed = 1;
		return -1;
	}
	d->f[d->n].key = key;
	return 0;
}

void
audit_fields_str(struct audit_fields *d, const char *key, const char *value)
{
	size_t n;

	if (field_next(d, key) == -1)
		return;
	if (value == NULL || (n = strlen(value)) >= sizeof(d->store) - d->used) {
		d->failed = 1;
		return;
	}
	memcpy(d->store + d->used, value, n + 1);
	d->f[d->n].at = d->used;
	d->f[d->n].is_int = 0;
	d->used += n + 1;
	d->n++;
}

void
audit_fields_int(struct audit_fields *d, const char *key, long long value)
{
	if (field_next(d, key) == -1)
		return;
	d->f[d->n].i = value;
	d->f[d->n].is_int = 1;
	d->n++;
}

uint64_t
audit_unsynced(const struct audit *a)
{
	return a == NULL ? 0 : a->unsynced;
}

int
audit_sync(struct audit *a)
{
	if (a == NULL || a->unsynced == 0)
		return 0;
	if (fsync(a->fd) == -1 || head_write(a->hfd, a->seq, a->prev) == -1) {
		a->broken = 1;
		return -1;
	}
	a->unsynced = 0;
	return 0;
}

uint64_t
audit_last_seq(const struct audit *a)
{
	return a->seq;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	(void)audit_sync(a);
	close(a->fd);
	close(a->hfd);
	free(a->path);
	hash_free(a);
	free(a);
}

void
audit_test_set_fd(struct audit *a, int fd)
{
	close(a->fd);
	a->fd = fd;
	(void)note_file(a);
}
