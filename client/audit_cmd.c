/*
 * audit_cmd.c - "hsmagent audit": the audit log checked offline, by an
 * auditor with the log and the checkpoint keys' public halves alone
 * (README, "For auditors"). Nothing here talks to the agent.
 *
 *   audit verify LOG [--no-head] [--key PEM | --vkey LINE]...
 *                [--checkpoint FILE]
 *   audit prove LOG INDEX
 *   audit receipt LOG ORDER
 *   audit verify-receipt RECEIPT CERT (--key PEM | --vkey LINE)
 *   audit vkey --key PEM --origin NAME
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit.h"
#include "audit_cmd.h"
#include "exit_codes.h"
#include "signed_note.h"
#include "tlog_proof.h"
#include "tlog_receipt.h"
#include "tlog_verify.h"
#include "util.h"

/*
 * A checkpoint kept elsewhere: the note itself (FILE.checkpoint), or a
 * line of the system log carrying it as "note64=BASE64". malloc'd.
 */
static char *
kept_note(const char *path, size_t *len)
{
	char	*buf = NULL, *b64, *end, *note;
	size_t	 n;
	int	 m;

	if (read_file_capped(path, NOTE_MAX_LEN * 2, &buf, &n) == -1)
		return NULL;
	if ((b64 = strstr(buf, "note64=")) == NULL) {
		*len = n;
		return buf;
	}
	b64 += 7;
	for (end = b64; *end != '\0' && !isspace((unsigned char)*end); end++)
		;
	note = xmalloc((size_t)(end - b64) / 4 * 3 + 1);
	m = (end - b64) % 4 == 0 ? EVP_DecodeBlock((unsigned char *)note,
	    (unsigned char *)b64, (int)(end - b64)) : -1;
	free(buf);
	if (m < 0) {
		free(note);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as bytes: the note ends at '\n'. */
	while (m > 0 && note[m - 1] != '\n')
		m--;
	*len = (size_t)m;
	return note;
}

/*
 * The trusted keys of --key PEM and --vkey LINE options, in order; each
 * a P-256 key (a checkpoint key). 0, or -1 having said why.
 */
struct keyset {
	EVP_PKEY	*k[TLOG_MAX_KEYS];
	size_t		 n;
};

/* Takes k (freed if the set is full). 0 or -1. */
static int
keyset_add(struct keyset *ks, EVP_PKEY *k)
{
	if (ks->n == TLOG_MAX_KEYS) {
		fprintf(stderr, "hsmagent: at most %d keys\n", TLOG_MAX_KEYS);
		EVP_PKEY_free(k);
		return -1;
	}
	ks->k[ks->n++] = k;
	return 0;
}

static int
add_pem(struct keyset *ks, const char *file)
{
	EVP_PKEY	*k = NULL;
	uint8_t		 id[4];
	FILE		*f;

	if ((f = fopen(file, "re")) != NULL) {
		k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (k == NULL || note_ecdsa_key_id(k, id) == -1) {
		fprintf(stderr, "hsmagent: %s: not a PEM P-256 public key\n",
		    file);
		EVP_PKEY_free(k);
		return -1;
	}
	return keyset_add(ks, k);
}

static int
add_vkey(struct keyset *ks, const char *line)
{
	char		 name[NOTE_MAX_NAME + 1], err[160];
	uint8_t		 id[4];
	EVP_PKEY	*k;

	if (note_vkey_parse(line, strlen(line), name, id, &k, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "hsmagent: --vkey: %s\n", err);
		return -1;
	}
	return keyset_add(ks, k);
}

static void
keyset_free(struct keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		EVP_PKEY_free(ks->k[i]);
	ks->n = 0;
}

/* The transparency log, under the keys [--checkpoint FILE]. */
static int
audit_tlog(const char *path, struct keyset *ks, const char *keptfile)
{
	struct tlog_result	 res;
	char			*kept = NULL, msg[512];
	size_t			 kept_len = 0;
	int			 r;

	if (keptfile != NULL && (kept = kept_note(keptfile, &kept_len)) ==
	    NULL) {
		fprintf(stderr, "hsmagent: %s: not a checkpoint\n", keptfile);
		return EX_ERROR;
	}
	r = tlog_verify_file(path, ks->k, ks->n, kept, kept_len, &res, msg,
	    sizeof(msg));
	free(kept);
	if (r != 0) {
		fprintf(stderr, "%s: %s\n", path, msg);
		return EX_ERROR;
	}
	printf("%s: %llu checkpoints verified, the last of %llu records",
	    path, (unsigned long long)res.checkpoints,
	    (unsigned long long)res.last_size);
	if (res.rotations > 0)
		printf("; %llu key rotation%s followed",
		    (unsigned long long)res.rotations, res.rotations > 1 ? "s" :
		    "");
	if (keptfile != NULL)
		printf("; extends the kept checkpoint");
	printf("\n");
	return EX_DONE;
}

/* audit receipt LOG ORDER: the receipt, from a log the caller can read. */
static int
audit_receipt(const char *log, const char *order)
{
	char	*out = NULL, err[256];
	int	 r = tlog_receipt_build(log, order, &out, err, sizeof(err));

	if (r == 1) {
		fprintf(stderr, "hsmagent: order %s is in the log but no "
		    "checkpoint covers it yet; ask again after the next\n",
		    order);
		return EX_ERROR;
	}
	if (r == -1) {
		fprintf(stderr, "hsmagent: %s\n", err);
		return EX_ERROR;
	}
	fputs(out, stdout);
	free(out);
	return EX_DONE;
}

/* audit prove LOG INDEX: the inclusion proof of record INDEX (from 0). */
static int
audit_prove(const char *log, const char *index)
{
	char			*out = NULL, err[256], *end;
	unsigned long long	 i;
	int			 r;

	errno = 0;
	i = strtoull(index, &end, 10);
	if (index[0] < '0' || index[0] > '9' || *end != '\0' || errno != 0)
		return AUDIT_CMD_USAGE;
	if ((r = tlog_prove(log, (uint64_t)i, &out, err, sizeof(err))) == 1)
		fprintf(stderr, "hsmagent: no checkpoint covers record %llu "
		    "yet\n", i);
	else if (r == -1)
		fprintf(stderr, "hsmagent: %s\n", err);
	else
		fputs(out, stdout);
	free(out);
	return r == 0 ? EX_DONE : EX_ERROR;
}

/*
 * audit verify-receipt RECEIPT CERT (--key PEM | --vkey LINE): offline,
 * nothing else.
 */
static int
audit_verify_receipt(const char *receipt, const char *cert, EVP_PKEY *key)
{
	X509		*x = NULL;
	FILE		*f;
	char		*buf = NULL, err[256];
	unsigned char	*der = NULL;
	size_t		 len;
	int		 n = -1, ok = 0;

	if ((f = fopen(cert, "re")) != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (x != NULL)
		n = i2d_X509(x, &der);
	if (n <= 0 || read_file_capped(receipt,
	    TLOG_PROOF_MAX_EXTRA * 2 + NOTE_MAX_LEN, &buf, &len) == -1)
		snprintf(err, sizeof(err), "cannot read %s", n <= 0 ? cert :
		    receipt);
	else
		ok = tlog_receipt_verify(buf, len, der, (size_t)n, key, err,
		    sizeof(err));
	if (ok)
		printf("%s: the certificate was delivered as logged, under a "
		    "signed checkpoint\n", cert);
	else
		fprintf(stderr, "%s: %s\n", receipt, err);
	free(buf);
	OPENSSL_free(der);
	X509_free(x);
	return ok ? EX_DONE : EX_ERROR;
}

/* audit vkey --key PEM --origin NAME: the verifier key line of a key. */
static int
audit_vkey(const char *keyfile, const char *origin)
{
	struct keyset	 ks = { { NULL }, 0 };
	char		 line[512];

	if (add_pem(&ks, keyfile) == -1)
		return EX_ERROR;
	if (note_ecdsa_vkey(origin, ks.k[0], line, sizeof(line)) < 0) {
		fprintf(stderr, "hsmagent: \"%.80s\" is not a key name (no "
		    "space, no '+')\n", origin);
		keyset_free(&ks);
		return EX_USAGE;
	}
	puts(line);
	keyset_free(&ks);
	return EX_DONE;
}

/* verify LOG [--no-head] [--key PEM | --vkey LINE]... [--checkpoint F] */
static int
audit_verify(int argc, char *argv[])
{
	struct keyset	 ks = { { NULL }, 0 };
	uint64_t	 n = 0, bad = 0;
	const char	*kept = NULL;
	char		 msg[512];
	int		 r;

	for (int i = 3; i < argc; i += 2) {
		if (strcmp(argv[i], "--no-head") == 0) {
			audit_verify_no_head = 1;
			i--;
			continue;
		}
		r = 0;
		if (i + 1 >= argc)
			r = AUDIT_CMD_USAGE;
		else if (strcmp(argv[i], "--key") == 0)
			r = add_pem(&ks, argv[i + 1]) == -1 ? EX_ERROR : 0;
		else if (strcmp(argv[i], "--vkey") == 0)
			r = add_vkey(&ks, argv[i + 1]) == -1 ? EX_ERROR : 0;
		else if (strcmp(argv[i], "--checkpoint") == 0 && kept == NULL)
			kept = argv[i + 1];
		else
			r = AUDIT_CMD_USAGE;
		if (r != 0) {
			keyset_free(&ks);
			return r;
		}
	}
	if (kept != NULL && ks.n == 0) {
		fprintf(stderr, "hsmagent: --checkpoint needs --key or --vkey, "
		    "the checkpoint key's public half\n");
		return EX_USAGE;
	}
	r = audit_verify_file(argv[2], &n, &bad, msg, sizeof(msg));
	if (r != 0) {
		fprintf(stderr, "%s: %s\n", argv[2], msg);
		keyset_free(&ks);
		return EX_ERROR;
	}
	printf("%s: intact, %llu records\n", argv[2], (unsigned long long)n);
	r = ks.n == 0 ? EX_DONE : audit_tlog(argv[2], &ks, kept);
	keyset_free(&ks);
	return r;
}

int
audit_cmd(int argc, char *argv[])
{
	struct keyset	 ks = { { NULL }, 0 };
	int		 r;

	if (argc == 4 && strcmp(argv[1], "receipt") == 0)
		return audit_receipt(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "prove") == 0)
		return audit_prove(argv[2], argv[3]);
	if (argc == 6 && strcmp(argv[1], "vkey") == 0 &&
	    strcmp(argv[2], "--key") == 0 && strcmp(argv[4], "--origin") == 0)
		return audit_vkey(argv[3], argv[5]);
	if (argc == 6 && strcmp(argv[1], "verify-receipt") == 0) {
		if (strcmp(argv[4], "--key") == 0)
			r = add_pem(&ks, argv[5]);
		else if (strcmp(argv[4], "--vkey") == 0)
			r = add_vkey(&ks, argv[5]);
		else
			return AUDIT_CMD_USAGE;
		if (r == -1)
			return EX_ERROR;
		r = audit_verify_receipt(argv[2], argv[3], ks.k[0]);
		keyset_free(&ks);
		return r;
	}
	if (argc >= 3 && strcmp(argv[1], "verify") == 0)
		return audit_verify(argc, argv);
	return AUDIT_CMD_USAGE;
}
