/*
 * test_signed_note.c - checkpoints as C2SP signed notes: a checkpoint
 * body made, signed (type 0x02: ECDSA P-256 over SHA-256 of the text,
 * DER) and verified; the published sumdb example parsed; every way a
 * note or a checkpoint can be malformed refused; a changed text, another
 * key or another name never verifies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "checkpoint.h"
#include "signed_note.h"
#include "tlog_proof.h"

static EVP_PKEY *
p256(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

/* text + "\n" + a signature line of k under name. */
static size_t
sign_note(EVP_PKEY *k, const char *name, const char *text, char *out,
    size_t outlen)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	uint8_t		 sig[NOTE_MAX_SIG], id[4];
	size_t		 siglen = sizeof(sig), n = strlen(text);
	int		 l;

	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k),
	    1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen,
	    (const uint8_t *)text, n), 1);
	EVP_MD_CTX_free(md);
	assert_int_equal(note_ecdsa_key_id(k, id), 0);
	memcpy(out, text, n);
	out[n] = '\n';
	l = note_sig_line(name, id, sig, siglen, out + n + 1, outlen - n - 1);
	assert_true(l > 0);
	return n + 1 + (size_t)l;
}

static void
test_sign_and_verify(void **state)
{
	struct checkpoint	 c, d;
	static struct note	 n;
	EVP_PKEY		*k = p256(), *other = p256();
	char			 body[512], buf[1024], err[128];
	size_t			 len;
	unsigned char		*der = NULL;
	uint8_t			 h[32], id[4];
	int			 dl;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "hsmagent.example/host-1");
	c.size = 1234;
	memset(c.root, 0xab, sizeof(c.root));
	assert_true(checkpoint_format(&c, body, sizeof(body)) > 0);
	assert_string_equal(body, "hsmagent.example/host-1\n1234\n"
	    "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n");
	len = sign_note(k, "hsmagent.example/host-1", body, buf, sizeof(buf));
	assert_int_equal(note_parse(buf, len, &n, err, sizeof(err)), 0);
	assert_int_equal(n.nsigs, 1);
	assert_int_equal(n.textlen, strlen(body));
	assert_int_equal(note_verify_ecdsa(&n, "hsmagent.example/host-1", k,
	    err, sizeof(err)), 1);
	assert_int_equal(checkpoint_parse(n.text, n.textlen, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.size, 1234);
	assert_memory_equal(d.root, c.root, 32);
	/* The key ID is SHA-256 of the DER SubjectPublicKeyInfo, cut to 4. */
	dl = i2d_PUBKEY(k, &der);
	SHA256(der, (size_t)dl, h);
	OPENSSL_free(der);
	assert_int_equal(note_ecdsa_key_id(k, id), 0);
	assert_memory_equal(id, h, 4);
	/* Another key, another name: no signature of theirs. */
	assert_int_equal(note_verify_ecdsa(&n, "hsmagent.example/host-1",
	    other, err, sizeof(err)), 0);
	assert_string_equal(err, "no signature by the key");
	assert_int_equal(note_verify_ecdsa(&n, "other", k, err, sizeof(err)),
	    0);
	/* A changed text (a larger tree) under the same signature. */
	buf[24] = '9';
	assert_int_equal(note_parse(buf, len, &n, err, sizeof(err)), 0);
	assert_int_equal(note_verify_ecdsa(&n, "hsmagent.example/host-1", k,
	    err, sizeof(err)), 0);
	assert_string_equal(err, "the signature does not verify under the "
	    "key");
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

/*
 * Verifier key lines: ours read back to the same key; Rekor's published
 * P-256 key (the form Go's note verifiers for type 0x02 take) parses
 * under its real hash and not under the placeholder its docs show; a
 * changed hash, type, key or name is refused.
 */
static void
test_vkey(void **state)
{
	static const char rekor_key[] = "AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABN"
	    "htmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRo"
	    "Vj//QP22Ni4Qt9DPfkWLc=";
	EVP_PKEY	*k = p256(), *got = NULL;
	char		 line[512], bad[512], name[NOTE_MAX_NAME + 1], err[160];
	uint8_t		 id[4], want[4];
	int		 n;

	(void)state;
	n = note_ecdsa_vkey("hsmagent/host-1/abcd", k, line, sizeof(line));
	assert_true(n > 0);
	assert_int_equal(note_vkey_parse(line, (size_t)n, name, id, &got, err,
	    sizeof(err)), 0);
	assert_string_equal(name, "hsmagent/host-1/abcd");
	assert_int_equal(note_ecdsa_key_id(k, want), 0);
	assert_memory_equal(id, want, 4);
	assert_int_equal(EVP_PKEY_eq(k, got), 1);
	EVP_PKEY_free(got);
	assert_int_equal(note_ecdsa_vkey("bad+name", k, line, sizeof(line)),
	    -1);
	assert_int_equal(note_ecdsa_vkey("x", k, line, 20), -1);

	snprintf(bad, sizeof(bad), "rekor.sigstore.dev+c0d23d6a+%s", rekor_key);
	assert_int_equal(note_vkey_parse(bad, strlen(bad), name, id, &got, err,
	    sizeof(err)), 0);
	assert_string_equal(name, "rekor.sigstore.dev");
	EVP_PKEY_free(got);
	snprintf(bad, sizeof(bad), "rekor.sigstore.dev+12345678+%s", rekor_key);
	assert_int_equal(note_vkey_parse(bad, strlen(bad), name, id, &got, err,
	    sizeof(err)), -1);
	assert_null(got);
	assert_non_null(strstr(err, "hash"));
	snprintf(bad, sizeof(bad), "rekor.sigstore.dev+C0D23D6A+%s", rekor_key);
	assert_int_equal(note_vkey_parse(bad, strlen(bad), name, id, &got, err,
	    sizeof(err)), -1);
	/* Type 0x01 (Ed25519) is not ours. */
	snprintf(bad, sizeof(bad), "rekor.sigstore.dev+c0d23d6a+AT%s",
	    rekor_key + 2);
	assert_int_equal(note_vkey_parse(bad, strlen(bad), name, id, &got, err,
	    sizeof(err)), -1);
	for (const char *b = "+c0d23d6a+Ag==\0x+c0d23d6a\0x+c0d23d6a+\0"
	    "x+c0d2+AjBZ\0x y+c0d23d6a+AjBZ\0"; *b != '\0'; b += strlen(b) + 1)
		assert_int_equal(note_vkey_parse(b, strlen(b), name, id, &got,
		    err, sizeof(err)), -1);
	EVP_PKEY_free(k);
}

/* golang.org/x/mod/sumdb/note's example: parsed, not verified (Ed25519). */
static void
test_published_example(void **state)
{
	static const char ex[] =
	    "If you think cryptography is the answer to your problem,\n"
	    "then you don't know what your problem is.\n"
	    "\n"
	    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZI"
	    "nNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
	static struct note	n;
	char			err[128];

	(void)state;
	assert_int_equal(note_parse(ex, sizeof(ex) - 1, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n.nsigs, 1);
	assert_string_equal(n.sigs[0].name, "PeterNeumann");
	assert_int_equal(n.sigs[0].siglen, 64);
	assert_int_equal(n.textlen, 99);
}

static void
test_malformed_notes(void **state)
{
	static const char *const bad[] = {
		"",
		"text\n",				/* no blank line */
		"text\n\n",				/* no signature */
		"text\n\n-- k AAAAAAA=\n",		/* not an em dash */
		"text\n\n\xe2\x80\x94 k\n",		/* no signature part */
		"text\n\n\xe2\x80\x94 k+1 AAAAAAA=\n",	/* '+' in the name */
		"text\n\n\xe2\x80\x94  AAAAAAA=\n",	/* empty name */
		"text\n\n\xe2\x80\x94 k AAAAAAB=\n",	/* trailing bits set */
		"text\n\n\xe2\x80\x94 k AAAA\n",	/* 3 bytes: no key ID */
		"text\n\n\xe2\x80\x94 k AAAA AAA=\n",	/* space inside */
		"te\x01xt\n\n\xe2\x80\x94 k AAAAAAA=\n",	/* control char */
		"text\n\n\xe2\x80\x94 k AAAAAAA=",	/* no final newline */
		"text\n\n\xe2\x80\x94 k AAAAAAA=\n\n",	/* blank line after */
	};
	static struct note	 n;
	static char		 many[NOTE_MAX_LEN + 2];
	char			 err[128];
	size_t			 len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(note_parse(bad[i], strlen(bad[i]), &n, err,
		    sizeof(err)), -1);
	/* The good one next to them parses. */
	assert_int_equal(note_parse("text\n\n\xe2\x80\x94 k AAAAAAA=\n",
	    strlen("text\n\n\xe2\x80\x94 k AAAAAAA=\n"), &n, err,
	    sizeof(err)), 0);
	/* 100 signatures pass, 101 do not. */
	len = (size_t)snprintf(many, sizeof(many), "t\n\n");
	for (int i = 0; i < 101; i++) {
		if (i == 100) {
			assert_int_equal(note_parse(many, len, &n, err,
			    sizeof(err)), 0);
			assert_int_equal(n.nsigs, 100);
		}
		len += (size_t)snprintf(many + len, sizeof(many) - len,
		    "\xe2\x80\x94 k%d AAAAAAA=\n", i);
	}
	assert_int_equal(note_parse(many, len, &n, err, sizeof(err)), -1);
	/* Longer than the cap. */
	memset(many, 'a', sizeof(many));
	many[sizeof(many) - 1] = '\n';
	assert_int_equal(note_parse(many, sizeof(many), &n, err, sizeof(err)),
	    -1);
}

static void
test_malformed_checkpoints(void **state)
{
	static const char *const bad[] = {
		"o\n1\n",				/* two lines */
		"o\n01\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
		"o\n-1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
		"o\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6t=\n",
		"o\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s\n",
		"o o\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
		("o\n9223372036854775808\n"
		    "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"),
		"o\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n",
		"o\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=",
	};
	struct checkpoint	 c;
	char			 err[128], t[4096];
	size_t			 len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(checkpoint_parse(bad[i], strlen(bad[i]), &c,
		    err, sizeof(err)), -1);
	len = (size_t)snprintf(t, sizeof(t), "o\n0\n"
	    "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n");
	for (int i = 0; i <= CHECKPOINT_MAX_EXT; i++) {
		assert_int_equal(checkpoint_parse(t, len, &c, err, sizeof(err)),
		    i <= CHECKPOINT_MAX_EXT ? 0 : -1);
		len += (size_t)snprintf(t + len, sizeof(t) - len, "ext %d\n",
		    i);
	}
	assert_int_equal(checkpoint_parse(t, len, &c, err, sizeof(err)), -1);
	assert_int_equal(c.size, 0);
}

/* Receipts: C2SP's example layout, a round trip, and what is refused. */
static void
test_tlog_proof(void **state)
{
	static const char ex[] = "c2sp.org/tlog-proof@v1\n"
	    "extra YWdl\n"
	    "index 73894\n"
	    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
	    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
	    "\n"
	    "example.com/fancylog\n109482\n"
	    "sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n"
	    "\xe2\x80\x94 example.com/fancylog AAAAAAA=\n";
	static const char *const bad[] = {
		"c2sp.org/tlog-proof@v2\nindex 1\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex 01\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex -1\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx\n",
		"c2sp.org/tlog-proof@v1\nextra A\nindex 1\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex 1\n",
		"c2sp.org/tlog-proof@v1\n\nx\n",
	};
	struct tlog_proof	 t, u;
	char			 err[128], *txt;

	(void)state;
	assert_int_equal(tlog_proof_parse(ex, sizeof(ex) - 1, &t, err,
	    sizeof(err)), 0);
	assert_int_equal(t.index, 73894);
	assert_int_equal(t.npath, 2);
	assert_int_equal(t.extra_len, 3);
	assert_memory_equal(t.extra, "age", 3);
	assert_int_equal(strncmp(t.note, "example.com/fancylog\n", 21), 0);
	txt = tlog_proof_format(&t, t.note);
	assert_string_equal(txt, ex);
	assert_int_equal(tlog_proof_parse(txt, strlen(txt), &u, err,
	    sizeof(err)), 0);
	assert_memory_equal(u.path, t.path, 2 * MERKLE_HASH_LEN);
	tlog_proof_free(&u);
	free(txt);
	tlog_proof_free(&t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tlog_proof_parse(bad[i], strlen(bad[i]), &t,
		    err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_and_verify),
		cmocka_unit_test(test_published_example),
		cmocka_unit_test(test_vkey),
		cmocka_unit_test(test_malformed_notes),
		cmocka_unit_test(test_malformed_checkpoints),
		cmocka_unit_test(test_tlog_proof),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
