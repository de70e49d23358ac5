/*
 * signed_note.h - C2SP signed-note: a text and one or more signature
 * lines, "— <key name> <base64(key ID || signature)>", after a blank
 * line. The agent signs its audit checkpoints as type 0x02 notes: ECDSA
 * P-256 over SHA-256 of the text (everything up to and including the
 * newline before the blank line), the signature in DER, the key ID the
 * first 4 bytes of SHA-256 of the key's DER SubjectPublicKeyInfo.
 *
 * Notes come from files an attacker may have written: parsed strictly
 * (split at the last blank line as Go's note.Open does, every signature
 * line well formed, canonical base64, at most NOTE_MAX_SIGS lines and
 * NOTE_MAX_LEN bytes) and fuzzed (fuzz_note).
 */
#ifndef HSMAGENT_SIGNED_NOTE_H
#define HSMAGENT_SIGNED_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define NOTE_MAX_LEN		(16 * 1024)
#define NOTE_MAX_SIGS		100
#define NOTE_MAX_NAME		256
#define NOTE_MAX_SIG		80	/* DER ECDSA P-256 is at most 72 */
#define NOTE_MAX_SPKI		128	/* DER SPKI of P-256 is 91 */
#define NOTE_SIG_ECDSA		0x02	/* the signature type byte */

struct note_sig {
	char		 name[NOTE_MAX_NAME + 1];
	uint8_t		 key_id[4];
	uint8_t		 sig[NOTE_MAX_SIG];
	size_t		 siglen;
};

struct note {
	const char	*text;		/* into the parsed buffer */
	size_t		 textlen;	/* ends with '\n' */
	struct note_sig	 sigs[NOTE_MAX_SIGS];
	size_t		 nsigs;
};

/* 0, or -1 with err; n->text points into buf. */
int	note_parse(const char *buf, size_t len, struct note *n, char *err,
	    size_t errlen);
/* The type 0x02 key ID of a P-256 public key. 0, or -1. */
int	note_ecdsa_key_id(EVP_PKEY *pub, uint8_t id[4]);
/*
 * The verifier key line auditors are given, as Go's note verifiers and
 * Rekor read it: "name+hex(key ID)+base64(0x02 || DER SPKI)". Its
 * length, or -1 (not P-256, bad name, out too small).
 */
int	note_ecdsa_vkey(const char *name, EVP_PKEY *pub, char *out,
	    size_t outlen);
/*
 * Reads a verifier key line (len bytes, no newline): name (NOTE_MAX_NAME
 * + 1 bytes), key ID and the public key (the caller frees it), checked:
 * type 0x02, a P-256 SPKI with nothing after it, the hash its key ID.
 * 0, or -1 with err.
 */
int	note_vkey_parse(const char *line, size_t len, char *name,
	    uint8_t id[4], EVP_PKEY **pub, char *err, size_t errlen);
/* Does n carry a line (valid or not) for name's key pub? 1 or 0. */
int	note_has_sig(const struct note *, const char *name, EVP_PKEY *pub);
/*
 * Does n carry a valid signature of name's key pub? 1 yes; 0 no, with
 * err saying why (no line for the key, or one that does not verify: a
 * line for our key that fails rejects the note, as the spec asks).
 */
int	note_verify_ecdsa(const struct note *, const char *name,
	    EVP_PKEY *pub, char *err, size_t errlen);
/*
 * "— name base64(id || sig)\n" into out; its length, or -1 if out is
 * too small or name is not a valid key name.
 */
int	note_sig_line(const char *name, const uint8_t id[4],
	    const uint8_t *sig, size_t siglen, char *out, size_t outlen);
/* A key name: non-empty, printable, no space and no '+'. */
int	note_name_ok(const char *name, size_t len);

#endif
