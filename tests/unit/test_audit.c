/*
 * test_audit.c - the audit log: a chain that verifies, and every edit,
 * deletion, reordering or truncation of any one record named by line.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "audit.h"
#include "merkle.h"

#define NREC	6

static char	dir[64], path[96], head[112];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hsmagent-audit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(head, sizeof(head), "%s.head", path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(head);
	rmdir(dir);
	return 0;
}

static void
write_log(void)
{
	struct audit_actor	 who = { 1000, 1000, 4242, "alice" };
	struct audit		*a;
	char			 err[256];

	unlink(path);
	unlink(head);
	assert_non_null(a = audit_open(path, err, sizeof(err)));
	for (int i = 0; i < NREC; i++) {
		/* An "outcome" inside details must not confuse the writer. */
		json_t *d = json_pack("{s:i,s:s,s:s}", "n", i, "note",
		    "caf\xc3\xa9", "outcome", "x\",\"outcome\":");

		assert_int_equal(audit_append(a, i % 2 ? "order.request" :
		    "agent.start", i % 2 ? &who : NULL, i % 3 ? "0123abcd" : NULL,
		    "ok", d), 0);
		json_decref(d);
	}
	assert_int_equal(audit_last_seq(a), NREC);
	audit_close(a);
}

/* The log's lines, each with its newline. */
static size_t
read_lines(char lines[][4096])
{
	FILE	*f = fopen(path, "r");
	size_t	 n = 0;

	assert_non_null(f);
	while (n < NREC + 2 && fgets(lines[n], 4096, f) != NULL)
		n++;
	fclose(f);
	return n;
}

static void
write_lines(char lines[][4096], const int *order, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputs(lines[order[i]], f);
	fclose(f);
}

static void
expect_bad(uint64_t line, const char *needle)
{
	uint64_t	n, bad;
	char		msg[512], want[32];

	assert_int_equal(audit_verify_file(path, &n, &bad, msg, sizeof(msg)), 1);
	if (bad != line)
		fail_msg("bad line %llu, expected %llu (%s)",
		    (unsigned long long)bad, (unsigned long long)line, msg);
	snprintf(want, sizeof(want), "line %llu", (unsigned long long)line);
	assert_non_null(strstr(msg, want));
	if (needle != NULL && strstr(msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

static void
test_intact(void **state)
{
	uint64_t	 n, bad;
	char		 msg[256], lines[NREC + 2][4096];

	(void)state;
	write_log();
	assert_int_equal(audit_verify_file(path, &n, &bad, msg, sizeof(msg)), 0);
	assert_int_equal(n, NREC);
	assert_int_equal(read_lines(lines), NREC);
	assert_non_null(strstr(lines[0], "\"seq\":1,"));
	assert_non_null(strstr(lines[0], "\"actor\":null"));
	assert_non_null(strstr(lines[1], "\"user\":\"alice\""));
	assert_non_null(strstr(lines[1], "caf\\u00E9"));
	/* Each line is its record in canonical form (sorted, compact). */
	for (size_t i = 0; i < NREC; i++) {
		json_t	*r = json_loads(lines[i], 0, NULL);
		char	*c;

		assert_non_null(r);
		assert_non_null(c = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENSURE_ASCII));
		assert_int_equal(strlen(c) + 1, strlen(lines[i]));
		assert_memory_equal(c, lines[i], strlen(c));
		free(c);
		json_decref(r);
	}
}

static void
test_edit_each(void **state)
{
	char	lines[NREC + 2][4096];
	int	order[NREC];

	(void)state;
	for (int i = 0; i < NREC; i++)
		order[i] = i;
	for (int i = 0; i < NREC; i++) {
		char *p;

		write_log();
		read_lines(lines);
		assert_non_null(p = strstr(lines[i], "\"outcome\":\"ok\""));
		p[11] = 'O';		/* "ok" -> "Ok" */
		write_lines(lines, order, NREC);
		expect_bad((uint64_t)i + 1, "hash mismatch");
	}
}

static void
test_delete_each(void **state)
{
	char	lines[NREC + 2][4096];
	int	order[NREC];

	(void)state;
	for (int i = 0; i < NREC; i++) {
		size_t k = 0;

		write_log();
		read_lines(lines);
		for (int j = 0; j < NREC; j++)
			if (j != i)
				order[k++] = j;
		write_lines(lines, order, k);
		if (i == NREC - 1) {
			/*
			 * The chain of the rest is intact: the head file is
			 * what shows a record cut from the end.
			 */
			char err[256];

			expect_bad(NREC, "removed from the end");
			assert_null(audit_open(path, err, sizeof(err)));
			assert_non_null(strstr(err, "records were removed"));
			continue;
		}
		/* The record now on line i+1 has the wrong seq. */
		expect_bad((uint64_t)i + 1, "deleted or reordered");
	}
}

static void
test_swap_each(void **state)
{
	char	lines[NREC + 2][4096];
	int	order[NREC];

	(void)state;
	for (int i = 0; i + 1 < NREC; i++) {
		write_log();
		read_lines(lines);
		for (int j = 0; j < NREC; j++)
			order[j] = j;
		order[i] = i + 1;
		order[i + 1] = i;
		write_lines(lines, order, NREC);
		expect_bad((uint64_t)i + 1, "deleted or reordered");
	}
}

static void
test_truncated_and_forged(void **state)
{
	char		 lines[NREC + 2][4096], err[256];
	int		 order[NREC];
	FILE		*f;

	(void)state;
	for (int j = 0; j < NREC; j++)
		order[j] = j;
	/* Last line cut in the middle. */
	write_log();
	read_lines(lines);
	lines[NREC - 1][strlen(lines[NREC - 1]) / 2] = '\0';
	write_lines(lines, order, NREC);
	expect_bad(NREC, "truncated");
	/* The agent refuses to extend a damaged log. */
	assert_null(audit_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "truncated"));

	/* A record whose own hash is right but whose prev is not. */
	write_log();
	read_lines(lines);
	f = fopen(path, "a");
	assert_non_null(f);
	{
		json_t	*r = json_loads(lines[NREC - 1], 0, NULL);
		char	*s;

		json_object_set_new(r, "seq", json_integer(NREC + 1));
		json_object_set_new(r, "prev", json_string(
		    "1111111111111111111111111111111111111111111111111111111111111111"));
		json_object_del(r, "hash");
		/* Recompute a valid hash for the forged content. */
		s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENSURE_ASCII);
		{
			unsigned char md[32];
			unsigned int mdlen;
			char hex[65];

			EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL);
			for (int k = 0; k < 32; k++)
				snprintf(hex + 2 * k, 3, "%02x", md[k]);
			json_object_set_new(r, "hash", json_string(hex));
		}
		free(s);
		s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENSURE_ASCII);
		fprintf(f, "%s\n", s);
		free(s);
		json_decref(r);
	}
	fclose(f);
	expect_bad(NREC + 1, "prev does not match");

	/* Extra member, wrong type. */
	write_log();
	read_lines(lines);
	{
		char *p = strstr(lines[2], "\"seq\":3");

		assert_non_null(p);
		memcpy(p, "\"seq\":\"", 7);	/* breaks the JSON or type */
	}
	write_lines(lines, order, NREC);
	expect_bad(3, NULL);
}

static void
test_reopen_continues(void **state)
{
	struct audit	*a;
	char		 err[256], msg[256];
	uint64_t	 n, bad;

	(void)state;
	write_log();
	assert_non_null(a = audit_open(path, err, sizeof(err)));
	assert_int_equal(audit_last_seq(a), NREC);
	/* A second agent on the same log is refused. */
	{
		struct audit *b = audit_open(path, err, sizeof(err));

		assert_null(b);
		assert_non_null(strstr(err, "in use"));
	}
	assert_int_equal(audit_append(a, "agent.stop", NULL, NULL, "ok", NULL),
	    0);
	assert_int_equal(audit_append(a, "Bad-Event", NULL, NULL, "ok", NULL),
	    -1);
	audit_close(a);
	assert_int_equal(audit_verify_file(path, &n, &bad, msg, sizeof(msg)), 0);
	assert_int_equal(n, NREC + 1);
}

/* The head file's seq ("SEQ HASH"). */
static unsigned long long
head_seq(void)
{
	FILE			*f = fopen(head, "r");
	unsigned long long	 seq = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%llu", &seq), 1);
	fclose(f);
	return seq;
}

/*
 * Deferred records (granted signatures) are in the log at once and
 * chained like the rest; the head moves only when they are synced, so
 * it never claims more than the disk holds. A crash between the write
 * and the sync leaves the head behind, which reopening accepts.
 */
static void
test_deferred_sync(void **state)
{
	struct audit	*a;
	char		 err[256], msg[256], old_head[256];
	uint64_t	 n, bad;
	FILE		*f;
	size_t		 hl;

	(void)state;
	unlink(path);
	unlink(head);
	assert_non_null(a = audit_open(path, err, sizeof(err)));
	assert_int_equal(audit_append(a, "agent.start", NULL, NULL, "ok",
	    NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(audit_append_deferred(a, "sign.granted", NULL,
		    NULL, "ok", NULL), 0);
	assert_int_equal(audit_unsynced(a), 3);
	assert_int_equal(audit_verify_file(path, &n, &bad, msg, sizeof(msg)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(head_seq(), 1);
	assert_int_equal(audit_sync(a), 0);
	assert_int_equal(audit_unsynced(a), 0);
	assert_int_equal(head_seq(), 4);
	/* A synced record takes the deferred ones before it along. */
	assert_int_equal(audit_append_deferred(a, "sign.granted", NULL, NULL,
	    "ok", NULL), 0);
	assert_int_equal(audit_append(a, "order.request", NULL, NULL, "ok",
	    NULL), 0);
	assert_int_equal(audit_unsynced(a), 0);
	assert_int_equal(head_seq(), 6);
	/* Crash before the sync: the head on disk still says 6. */
	assert_non_null(f = fopen(head, "r"));
	hl = fread(old_head, 1, sizeof(old_head), f);
	fclose(f);
	assert_int_equal(audit_append_deferred(a, "sign.granted", NULL, NULL,
	    "ok", NULL), 0);
	audit_close(a);
	assert_int_equal(head_seq(), 7);
	assert_non_null(f = fopen(head, "w"));
	assert_int_equal(fwrite(old_head, 1, hl, f), hl);
	fclose(f);
	assert_int_equal(audit_verify_file(path, &n, &bad, msg, sizeof(msg)), 0);
	assert_non_null(a = audit_open(path, err, sizeof(err)));
	assert_int_equal(audit_last_seq(a), 7);
	assert_int_equal(head_seq(), 7);
	audit_close(a);
}

/*
 * A failed write refuses appends (fail closed) until the log is sound
 * again: a partial line the failure left is cut, nothing recorded is
 * lost, and appending resumes when the disk takes writes again.
 */
static void
test_write_failure_then_recovery(void **state)
{
	struct audit	*a;
	char		 err[256], msg[256], moved[300];
	int		 ro, fd;
	uint64_t	 n, bad;

	(void)state;
	write_log();
	assert_non_null(a = audit_open(path, err, sizeof(err)));
	/* The same file, but writes fail (as on a full or read-only disk). */
	assert_true((ro = open(path, O_RDONLY)) != -1);
	audit_test_set_fd(a, ro);
	assert_int_equal(audit_append(a, "order.request", NULL, NULL, "ok",
	    NULL), -1);
	assert_int_equal(audit_append(a, "order.request", NULL, NULL, "ok",
	    NULL), -1);
	assert_false(audit_healthy(a));
	/* The disk is back, with half a record the failure left behind. */
	assert_true((fd = open(path, O_RDWR | O_APPEND)) != -1);
	assert_int_equal(write(fd, "{\"seq\":99,\"ti", 14), 14);
	audit_test_set_fd(a, fd);
	assert_int_equal(audit_append(a, "order.request", NULL, NULL, "ok",
	    NULL), 0);
	assert_true(audit_healthy(a));
	/* Moved away: refused; back in place: appending again. */
	snprintf(moved, sizeof(moved), "%s.moved", path);
	assert_int_equal(rename(path, moved), 0);
	assert_false(audit_healthy(a));
	assert_int_equal(audit_append(a, "order.request", NULL, NULL, "ok",
	    NULL), -1);
	assert_int_equal(rename(moved, path), 0);
	assert_int_equal(audit_append(a, "order.request", NULL, NULL, "ok",
	    NULL), 0);
	audit_close(a);
	if (audit_verify_file(path, &n, &bad, msg, sizeof(msg)) != 0)
		fail_msg("verify: %s (line %llu)", msg, (unsigned long long)bad);
	assert_int_equal(n, NREC + 2);
}

static void
test_verify_buf(void **state)
{
	uint64_t	n, bad;
	char		msg[256];

	(void)state;
	assert_int_equal(audit_verify_buf("", 0, &n, &bad, msg, sizeof(msg)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(audit_verify_buf("{}\n", 3, &n, &bad, msg,
	    sizeof(msg)), 1);
	assert_int_equal(bad, 1);
	assert_int_equal(audit_verify_buf("x", 1, &n, &bad, msg, sizeof(msg)),
	    1);
}

/* The root the file's lines give, computed apart from the writer. */
static void
root_of_file(uint64_t *n, merkle_hash root)
{
	static merkle_hash	 leaves[128];
	char			 line[AUDIT_MAX_LINE + 2];
	FILE			*f = fopen(path, "r");

	assert_non_null(f);
	*n = 0;
	while (fgets(line, sizeof(line), f) != NULL && *n < 128)
		merkle_leaf(line, strcspn(line, "\n"), leaves[(*n)++]);
	fclose(f);
	merkle_root(leaves, *n, root);
}

/* The writer's tree: a leaf per line, across a reopen and a foreign line. */
static void
test_tree(void **state)
{
	struct audit	*a;
	char		 err[256];
	uint64_t	 n, m;
	merkle_hash	 r, want;

	(void)state;
	unlink(path);
	unlink(head);
	assert_non_null(a = audit_open(path, err, sizeof(err)));
	audit_tree(a, &n, r);
	merkle_root(NULL, 0, want);
	assert_int_equal(n, 0);
	assert_memory_equal(r, want, 32);
	for (int i = 0; i < 37; i++)
		assert_int_equal(audit_append(a, i % 3 ? "order.request" :
		    "sign.granted", NULL, "x", "ok", NULL), 0);
	audit_tree(a, &n, r);
	root_of_file(&m, want);
	assert_int_equal(n, 37);
	assert_int_equal(m, 37);
	assert_memory_equal(r, want, 32);
	audit_close(a);
	/* Reopened: the tree is read back from the file. */
	assert_non_null(a = audit_open(path, err, sizeof(err)));
	audit_tree(a, &n, r);
	assert_int_equal(n, 37);
	assert_memory_equal(r, want, 32);
	assert_int_equal(audit_append_deferred(a, "sign.granted", NULL, NULL,
	    "ok", NULL), 0);
	audit_tree(a, &n, r);
	root_of_file(&m, want);
	assert_int_equal(n, 38);
	assert_memory_equal(r, want, 32);
	audit_close(a);
}

/*
 * The writer builds each line by hand (audit.c, record_line): every
 * line must be byte for byte jansson's canonical dump of itself, which
 * is what a verifier hashes again. Strings that need escaping, UTF-8,
 * DEL, negative and large integers, nested and empty details; then a
 * string that is not UTF-8 and a record over the cap, each refused with
 * nothing written and the chain going on.
 */
static void
test_canonical_line(void **state)
{
	static const char *nasty[] = { "plain", "", "q\"uote", "back\\slash",
	    "ctl\x01\x1f\ttab\nnl\r", "del\x7f",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", "sl/ash", "</script>",
	    "\\u0000" };
	size_t			 nn = sizeof(nasty) / sizeof(nasty[0]), k = 0;
	struct audit		*a;
	char			 err[256], line[8192], *big;
	FILE			*f;
	uint64_t		 n = 0, bad = 0;

	(void)state;
	unlink(path);
	unlink(head);
	assert_non_null(a = audit_open(path, err, sizeof(err)));
	for (size_t i = 0; i < nn; i++) {
		struct audit_actor who = { (long)i - 1, 4294967295L,
		    9223372036854775807L, nasty[i] };
		json_t *d = json_pack("{s:s,s:{s:[s,i,n,b,f]},s:{}}",
		    nasty[(i + 1) % nn], nasty[i], "z\xc3\xa9", nasty[(i + 2) %
		    nn], "a", -7, 1, 0.5, "empty");

		assert_non_null(d);
		assert_int_equal(audit_append(a, "order.request", i % 2 ? &who :
		    NULL, i % 3 ? nasty[(i + 3) % nn] : NULL, nasty[i], i % 4 ?
		    d : NULL), 0);
		json_decref(d);
	}
	/* Not UTF-8: refused, nothing written. */
	assert_int_equal(audit_append(a, "order.request", NULL, "bad\xff",
	    "ok", NULL), -1);
	assert_int_equal(audit_append(a, "order.request", NULL, NULL,
	    "bad\xc3", NULL), -1);
	/* Over the line cap: refused, nothing written. */
	big = malloc(AUDIT_MAX_LINE + 1);
	assert_non_null(big);
	memset(big, 'x', AUDIT_MAX_LINE);
	big[AUDIT_MAX_LINE] = '\0';
	assert_int_equal(audit_append(a, "order.request", NULL, big, "ok",
	    NULL), -1);
	free(big);
	/* Flat details (the signing path's), the same canonical form. */
	for (size_t i = 0; i < nn; i++) {
		struct audit_fields fl = { .n = 0 };

		audit_fields_str(&fl, "connector", nasty[i]);
		audit_fields_str(&fl, "content_sha256", nasty[(i + 1) % nn]);
		audit_fields_int(&fl, "job", (long long)i * -1000000007LL);
		audit_fields_str(&fl, "scheme", "ecdsa_secp256r1_sha256");
		audit_fields_str(&fl, "tls", "1.3");
		assert_int_equal(audit_append_fields_deferred(a, "sign.granted",
		    NULL, NULL, "ok", &fl), 0);
	}
	/* Out of order, repeated, too many or too long: refused, unwritten. */
	{
		static const char	*keys[] = { "a", "b", "c", "d", "e",
					    "f", "g", "h", "i" };
		struct audit_fields	 fl = { .n = 0 };
		char			 longv[600];

		assert_int_equal(sizeof(keys) / sizeof(keys[0]),
		    AUDIT_FIELDS_MAX + 1);

		audit_fields_str(&fl, "tls", "1.3");
		audit_fields_int(&fl, "job", 1);
		assert_int_equal(audit_append_fields_deferred(a, "sign.granted",
		    NULL, NULL, "ok", &fl), -1);
		memset(&fl, 0, sizeof(fl));
		audit_fields_int(&fl, "job", 1);
		audit_fields_int(&fl, "job", 2);
		assert_int_equal(audit_append_fields_deferred(a, "sign.granted",
		    NULL, NULL, "ok", &fl), -1);
		memset(&fl, 0, sizeof(fl));
		for (size_t i = 0; i <= AUDIT_FIELDS_MAX; i++)
			audit_fields_int(&fl, keys[i], 1);
		assert_int_equal(audit_append_fields_deferred(a, "sign.granted",
		    NULL, NULL, "ok", &fl), -1);
		memset(&fl, 0, sizeof(fl));
		memset(longv, 'v', sizeof(longv) - 1);
		longv[sizeof(longv) - 1] = '\0';
		audit_fields_str(&fl, "connector", longv);
		assert_int_equal(audit_append_fields_deferred(a, "sign.granted",
		    NULL, NULL, "ok", &fl), -1);
		memset(&fl, 0, sizeof(fl));
		audit_fields_str(&fl, "connector", "bad\xff");
		assert_int_equal(audit_append_fields_deferred(a, "sign.granted",
		    NULL, NULL, "ok", &fl), -1);
		assert_int_equal(audit_append_fields_deferred(a, "sign.granted",
		    NULL, NULL, "ok", NULL), -1);
	}
	assert_int_equal(audit_append(a, "agent.stop", NULL, NULL, "ok", NULL),
	    0);
	assert_int_equal(audit_last_seq(a), 2 * nn + 1);
	audit_close(a);

	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t	 len = strlen(line);
		json_t	*r;
		char	*canon;

		assert_true(len > 1 && line[len - 1] == '\n');
		line[--len] = '\0';
		assert_non_null(r = json_loads(line, JSON_REJECT_DUPLICATES,
		    NULL));
		assert_non_null(canon = json_dumps(r, JSON_COMPACT |
		    JSON_SORT_KEYS | JSON_ENSURE_ASCII));
		assert_string_equal(line, canon);
		free(canon);
		json_decref(r);
		k++;
	}
	fclose(f);
	assert_int_equal(k, 2 * nn + 1);
	assert_int_equal(audit_verify_file(path, &n, &bad, err, sizeof(err)),
	    0);
	assert_int_equal(n, 2 * nn + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intact),
		cmocka_unit_test(test_edit_each),
		cmocka_unit_test(test_delete_each),
		cmocka_unit_test(test_swap_each),
		cmocka_unit_test(test_truncated_and_forged),
		cmocka_unit_test(test_reopen_continues),
		cmocka_unit_test(test_deferred_sync),
		cmocka_unit_test(test_write_failure_then_recovery),
		cmocka_unit_test(test_verify_buf),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_canonical_line),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
