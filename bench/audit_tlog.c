/*
 * audit_tlog.c - what the transparency log costs, for the benchmarks
 * (bench/README.md, "Audit log").
 *
 *   bench-audit append DIR N
 *       N records appended and synced (audit_append, as the agent writes
 *       them), then the same lines through the tree alone (leaf hash and
 *       frontier, what audit_append adds to the chain): prints
 *       "append: N records in X us; tree: N leaves in Y us".
 *   bench-audit checkpoint DIR N MODULE KEY_URI PIN_FILE CERT CKPT_URI
 *       N checkpoints as the agent makes them (audit_checkpoint.c): the
 *       note signed by the checkpoint key in the token, its record
 *       appended and synced, FILE.checkpoint written and renamed; and N
 *       plain synced records beside them, interleaved: prints
 *       "checkpoint: N in X us; record: N in Y us".
 *   bench-audit grant DIR N
 *       N sign.granted records as the signing path writes them, between
 *       the token's answer and the reply: flat details, the record
 *       appended unsynced (audit_append_fields_deferred; the sync comes
 *       later, off the path). Prints "grant: N records in X us".
 *   bench-audit gen FILE N PUB_OUT
 *       a log of N records as the agent writes them, a checkpoint every
 *       1000 signed by a P-256 key made here (its public half to
 *       PUB_OUT), for timing "hsmagent audit verify" on a large log.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit.h"
#include "checkpoint.h"
#include "hsm.h"
#include "hsm_account.h"
#include "merkle.h"
#include "signed_note.h"
#include "util.h"

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "bench-audit: %s: %s\n", what, err);
	exit(1);
}

/* What a delivery record carries: the size of a typical line. */
static json_t *
delivery(unsigned long i)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:I}", "connector", "entrust",
	    "profile", "server", "serial", "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
	    "cert_sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c"
	    "d15d6c15b0f00a08", "n", (json_int_t)i);
}

static struct audit *
open_log(const char *dir, const char *name)
{
	char		 path[4096], err[256];
	struct audit	*a;

	/* A new log: an old head would say records were cut. */
	snprintf(path, sizeof(path), "%s/%s.head", dir, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	if ((a = audit_open(path, err, sizeof(err))) == NULL)
		die(path, err);
	return a;
}

static int
cmd_append(const char *dir, unsigned long n)
{
	struct audit		*a = open_log(dir, "append.log");
	struct merkle_frontier	 f;
	merkle_hash		 leaf, root;
	FILE			*in;
	char			*line = NULL, path[4096];
	size_t			 cap = 0;
	ssize_t			 len;
	long long		 t0, t1, t2;

	t0 = now_us();
	for (unsigned long i = 0; i < n; i++) {
		json_t *d = delivery(i);

		if (audit_append(a, "ca.result", NULL, "order", "issued", d) ==
		    -1)
			die("append", "failed");
		json_decref(d);
	}
	t1 = now_us();
	audit_close(a);
	snprintf(path, sizeof(path), "%s/append.log", dir);
	if ((in = fopen(path, "re")) == NULL)
		die(path, "cannot read");
	/* The lines in memory first: the tree's own cost, not the disk's. */
	{
		char	**lines = xcalloc(n, sizeof(*lines));
		size_t	 *lens = xcalloc(n, sizeof(*lens)), k = 0;

		while (k < n && (len = getline(&line, &cap, in)) > 0) {
			lines[k] = xmalloc((size_t)len);
			memcpy(lines[k], line, (size_t)len);
			lens[k++] = (size_t)len - 1;
		}
		t2 = now_us();
		merkle_frontier_init(&f);
		for (size_t i = 0; i < k; i++) {
			merkle_leaf(lines[i], lens[i], leaf);
			merkle_frontier_add(&f, leaf);
		}
		merkle_frontier_root(&f, root);
		t2 = now_us() - t2;
		for (size_t i = 0; i < k; i++)
			free(lines[i]);
		free(lines);
		free(lens);
	}
	free(line);
	fclose(in);
	printf("append: %lu records in %lld us; tree: %lu leaves in %lld us\n",
	    n, t1 - t0, n, t2);
	return 0;
}

/*
 * The grant records of TLS 1.3 signatures as dispatch.c writes them:
 * flat details (audit_fields), no jansson.
 */
static int
cmd_grant(const char *dir, unsigned long n)
{
	struct audit	*a = open_log(dir, "grant.log");
	long long	 t0, t1;

	t0 = now_us();
	for (unsigned long i = 0; i < n; i++) {
		struct audit_fields d = { .n = 0 };

		audit_fields_str(&d, "connector", "entrust");
		audit_fields_str(&d, "content_sha256", "3f2a9c0e5b1d4f6a8c7e9b0d"
		    "2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f90");
		audit_fields_int(&d, "job", (long long)(i % 1000 + 1));
		audit_fields_str(&d, "scheme", "ecdsa_secp256r1_sha256");
		audit_fields_str(&d, "tls", "1.3");
		if (audit_append_fields_deferred(a, "sign.granted", NULL, NULL,
		    "ok", &d) == -1)
			die("grant", "failed");
	}
	t1 = now_us();
	audit_close(a);
	printf("grant: %lu records in %lld us\n", n, t1 - t0);
	return 0;
}

/* FILE.checkpoint as the agent writes it: beside, synced, renamed. */
static void
write_latest(const char *file, const char *note)
{
	char	 tmp[4200];
	int	 fd;

	snprintf(tmp, sizeof(tmp), "%s.new", file);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
	    -1 || write(fd, note, strlen(note)) != (ssize_t)strlen(note) ||
	    fsync(fd) == -1 || close(fd) == -1 || rename(tmp, file) == -1)
		die(file, "cannot write");
}

static int
cmd_checkpoint(char *argv[], unsigned long n)
{
	struct hsm_params	 p = { argv[4], argv[5], argv[6], argv[7], 0,
				    NULL };
	struct hsm		*h;
	struct hsm_account	*k;
	struct audit		*ck, *plain;
	struct checkpoint	 c;
	char			 err[256], body[512], line[512], note[1024];
	char			 file[4096], root64[45];
	uint8_t			 sig[HSM_MAX_SIG], id[4];
	size_t			 siglen;
	long long		 tc = 0, tr = 0, t0;
	int			 m;

	if ((h = hsm_open(&p, err, sizeof(err))) == NULL)
		die("hsm_open", err);
	if ((k = hsm_account_open(h, argv[8], 0, err, sizeof(err))) == NULL)
		die("checkpoint key", err);
	if (note_ecdsa_key_id(hsm_account_pubkey(k), id) == -1)
		die("checkpoint key", "not P-256");
	ck = open_log(argv[2], "ckpt.log");
	plain = open_log(argv[2], "plain.log");
	snprintf(file, sizeof(file), "%s/ckpt.log.checkpoint", argv[2]);
	for (unsigned long i = 0; i < n; i++) {
		json_t *d = delivery(i);

		/* A record to cover, in each log, outside the timed part. */
		if (audit_append(ck, "ca.result", NULL, "o", "issued", d) == -1)
			die("append", "failed");
		t0 = now_us();
		memset(&c, 0, sizeof(c));
		snprintf(c.origin, sizeof(c.origin), "bench.example/audit");
		audit_tree(ck, &c.size, c.root);
		if ((m = checkpoint_format(&c, body, sizeof(body))) < 0 ||
		    hsm_account_sign(h, k, (const uint8_t *)body, (size_t)m, sig,
		    &siglen, err, sizeof(err)) == -1 ||
		    note_sig_line(c.origin, id, sig, siglen, line,
		    sizeof(line)) < 0)
			die("sign", err);
		snprintf(note, sizeof(note), "%s\n%s", body, line);
		EVP_EncodeBlock((unsigned char *)root64, c.root, 32);
		json_decref(d);
		d = json_pack("{s:I,s:s,s:s,s:s}", "size", (json_int_t)c.size,
		    "root", root64, "reason", "records", "note", note);
		if (audit_append(ck, "audit.checkpoint", NULL, c.origin, "ok",
		    d) == -1)
			die("append", "failed");
		write_latest(file, note);
		tc += now_us() - t0;
		t0 = now_us();
		if (audit_append(plain, "audit.checkpoint", NULL, c.origin, "ok",
		    d) == -1)
			die("append", "failed");
		tr += now_us() - t0;
		json_decref(d);
	}
	audit_close(ck);
	audit_close(plain);
	hsm_account_close(k);
	hsm_close(h);
	printf("checkpoint: %lu in %lld us; record: %lu in %lld us\n", n, tc,
	    n, tr);
	return 0;
}

static int
cmd_gen(const char *path, unsigned long n, const char *pub_out)
{
	EVP_PKEY	*key = EVP_EC_gen("P-256");
	EVP_MD_CTX	*md;
	struct audit	*a;
	struct checkpoint c;
	char		 err[256], body[512], line[512], note[1024], root64[45];
	uint8_t		 sig[128], id[4];
	size_t		 siglen;
	FILE		*f;
	int		 m;

	unlink(path);
	if (key == NULL || note_ecdsa_key_id(key, id) == -1)
		die("key", "cannot make a P-256 key");
	if ((f = fopen(pub_out, "we")) == NULL || PEM_write_PUBKEY(f, key) != 1
	    || fclose(f) != 0)
		die(pub_out, "cannot write");
	if ((a = audit_open(path, err, sizeof(err))) == NULL)
		die(path, err);
	for (unsigned long i = 1; i <= n; i++) {
		json_t *d;

		if (i % 1000 != 0) {
			d = delivery(i);
			if (audit_append_deferred(a, "ca.result", NULL, "o",
			    "issued", d) == -1)
				die("append", "failed");
			json_decref(d);
			continue;
		}
		memset(&c, 0, sizeof(c));
		snprintf(c.origin, sizeof(c.origin), "bench.example/audit");
		audit_tree(a, &c.size, c.root);
		siglen = sizeof(sig);
		md = EVP_MD_CTX_new();
		if ((m = checkpoint_format(&c, body, sizeof(body))) < 0 ||
		    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
		    EVP_DigestSign(md, sig, &siglen, (const uint8_t *)body,
		    (size_t)m) != 1 || note_sig_line(c.origin, id, sig, siglen,
		    line, sizeof(line)) < 0)
			die("sign", "failed");
		EVP_MD_CTX_free(md);
		snprintf(note, sizeof(note), "%s\n%s", body, line);
		EVP_EncodeBlock((unsigned char *)root64, c.root, 32);
		d = json_pack("{s:I,s:s,s:s,s:s}", "size", (json_int_t)c.size,
		    "root", root64, "reason", "records", "note", note);
		if (audit_append_deferred(a, "audit.checkpoint", NULL, c.origin,
		    "ok", d) == -1)
			die("append", "failed");
		json_decref(d);
	}
	audit_sync(a);
	audit_close(a);
	EVP_PKEY_free(key);
	printf("gen: %lu records in %s\n", n, path);
	return 0;
}

int
main(int argc, char *argv[])
{
	unsigned long n = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;

	if (argc == 4 && strcmp(argv[1], "append") == 0 && n > 0)
		return cmd_append(argv[2], n);
	if (argc == 9 && strcmp(argv[1], "checkpoint") == 0 && n > 0)
		return cmd_checkpoint(argv, n);
	if (argc == 4 && strcmp(argv[1], "grant") == 0 && n > 0)
		return cmd_grant(argv[2], n);
	if (argc == 5 && strcmp(argv[1], "gen") == 0 && n > 0)
		return cmd_gen(argv[2], n, argv[4]);
	fprintf(stderr, "usage: bench-audit append DIR N | checkpoint DIR N "
	    "MODULE KEY_URI PIN_FILE CERT CKPT_URI | grant DIR N | gen FILE N "
	    "PUB_OUT\n");
	return 2;
}
