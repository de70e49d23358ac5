/*
 * signed_note.c - see signed_note.h.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "signed_note.h"

#define DASH	"\xe2\x80\x94 "	/* U+2014 and a space */
#define DASHLEN	4

static int
fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -1;
}

int
note_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > NOTE_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] <= 0x20 || name[i] == 0x7f ||
		    name[i] == '+')
			return 0;
	return 1;
}

/*
 * Standard base64 with padding, canonical: decoded, then encoded again
 * and compared, so one value has one text (EVP_DecodeBlock alone skips
 * whitespace and ignores trailing bits). The decoded length, or -1.
 */
static int
b64_decode(const char *s, size_t len, uint8_t *out, size_t outlen)
{
	uint8_t	 buf[1 + NOTE_MAX_SPKI + 3];	/* > 4 + NOTE_MAX_SIG */
	char	 again[(sizeof(buf) + 2) / 3 * 4 + 1];
	int	 n, pad = 0;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(buf))
		return -1;
	if ((n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len)) < 0)
		return -1;
	pad = (s[len - 1] == '=') + (len > 1 && s[len - 2] == '=');
	n -= pad;
	if (n <= 0 || (size_t)n > outlen ||
	    EVP_EncodeBlock((unsigned char *)again, buf, n) != (int)len ||
	    memcmp(again, s, len) != 0)
		return -1;
	memcpy(out, buf, (size_t)n);
	return n;
}

/* One signature line (without its '\n'). */
static int
parse_sig(const char *l, size_t len, struct note_sig *s)
{
	const char	*sp;
	uint8_t		 raw[4 + NOTE_MAX_SIG];
	int		 n;

	if (len < DASHLEN || memcmp(l, DASH, DASHLEN) != 0)
		return -1;
	l += DASHLEN;
	len -= DASHLEN;
	if ((sp = memchr(l, ' ', len)) == NULL ||
	    !note_name_ok(l, (size_t)(sp - l)))
		return -1;
	memcpy(s->name, l, (size_t)(sp - l));
	s->name[sp - l] = '\0';
	len -= (size_t)(sp - l) + 1;
	if ((n = b64_decode(sp + 1, len, raw, sizeof(raw))) < 5)
		return -1;
	memcpy(s->key_id, raw, 4);
	s->siglen = (size_t)n - 4;
	memcpy(s->sig, raw + 4, s->siglen);
	return 0;
}

/* Printable UTF-8 text lines: no control character but '\n'. */
static int
text_ok(const char *t, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)t[i] < 0x20 && t[i] != '\n') ||
		    t[i] == 0x7f)
			return 0;
	return 1;
}

int
note_parse(const char *buf, size_t len, struct note *n, char *err,
    size_t errlen)
{
	const char	*sep = NULL, *p, *end = buf + len, *nl;

	memset(n, 0, sizeof(*n));
	if (len == 0 || len > NOTE_MAX_LEN || buf[len - 1] != '\n')
		return fail(err, errlen, "not a signed note (empty, too long "
		    "or not ending in a newline)");
	/* The last blank line splits text from signatures. */
	for (p = buf; p + 1 < end; p++)
		if (p[0] == '\n' && p[1] == '\n')
			sep = p;
	if (sep == NULL || !text_ok(buf, (size_t)(sep - buf) + 1))
		return fail(err, errlen, "no signature block, or control "
		    "characters in the text");
	n->text = buf;
	n->textlen = (size_t)(sep - buf) + 1;
	for (p = sep + 2; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (n->nsigs >= NOTE_MAX_SIGS)
			return fail(err, errlen, "more than 100 signatures");
		if (parse_sig(p, (size_t)(nl - p), &n->sigs[n->nsigs]) == -1)
			return fail(err, errlen, "a malformed signature line");
		n->nsigs++;
	}
	return n->nsigs > 0 ? 0 : fail(err, errlen, "no signature");
}

int
note_ecdsa_key_id(EVP_PKEY *pub, uint8_t id[4])
{
	unsigned char	*der = NULL;
	uint8_t		 h[SHA256_DIGEST_LENGTH];
	int		 n;

	if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC ||
	    EVP_PKEY_get_bits(pub) != 256 ||
	    (n = i2d_PUBKEY(pub, &der)) <= 0)
		return -1;
	SHA256(der, (size_t)n, h);
	OPENSSL_free(der);
	memcpy(id, h, 4);
	return 0;
}

int
note_ecdsa_vkey(const char *name, EVP_PKEY *pub, char *out, size_t outlen)
{
	unsigned char	*der = NULL;
	uint8_t		 id[4], raw[1 + NOTE_MAX_SPKI];
	char		 b64[4 * ((sizeof(raw) + 2) / 3) + 1];
	int		 n, r;

	if (!note_name_ok(name, strlen(name)) ||
	    note_ecdsa_key_id(pub, id) == -1 ||
	    (n = i2d_PUBKEY(pub, &der)) <= 0)
		return -1;
	if ((size_t)n > NOTE_MAX_SPKI) {
		OPENSSL_free(der);
		return -1;
	}
	raw[0] = NOTE_SIG_ECDSA;
	memcpy(raw + 1, der, (size_t)n);
	OPENSSL_free(der);
	EVP_EncodeBlock((unsigned char *)b64, raw, n + 1);
	r = snprintf(out, outlen, "%s+%02x%02x%02x%02x+%s", name, id[0], id[1],
	    id[2], id[3], b64);
	return r < 0 || (size_t)r >= outlen ? -1 : r;
}

int
note_vkey_parse(const char *line, size_t len, char *name, uint8_t id[4],
    EVP_PKEY **pub, char *err, size_t errlen)
{
	const char		*p1, *p2;
	uint8_t			 raw[1 + NOTE_MAX_SPKI], want[4];
	const unsigned char	*d;
	EVP_PKEY		*k;
	int			 n;

	*pub = NULL;
	if ((p1 = memchr(line, '+', len)) == NULL || (size_t)(p1 - line) >
	    NOTE_MAX_NAME || !note_name_ok(line, (size_t)(p1 - line)) ||
	    (size_t)(line + len - p1) < 10 || p1[9] != '+')
		return fail(err, errlen, "not a verifier key "
		    "(name+hash+key)");
	p2 = p1 + 9;
	for (int i = 0; i < 8; i++) {
		int c = p1[1 + i], v = c >= '0' && c <= '9' ? c - '0' :
		    c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return fail(err, errlen, "the verifier key's hash is "
			    "not 8 lower-case hex digits");
		if (i % 2 == 0)
			id[i / 2] = (uint8_t)(v << 4);
		else
			id[i / 2] |= (uint8_t)v;
	}
	if ((n = b64_decode(p2 + 1, (size_t)(line + len - p2 - 1), raw,
	    sizeof(raw))) < 2 || raw[0] != NOTE_SIG_ECDSA)
		return fail(err, errlen, "the verifier key is not of type 0x02 "
		    "(ECDSA P-256) in canonical base64");
	d = raw + 1;
	if ((k = d2i_PUBKEY(NULL, &d, n - 1)) == NULL || d != raw + n ||
	    note_ecdsa_key_id(k, want) == -1 || memcmp(want, id, 4) != 0) {
		EVP_PKEY_free(k);
		ERR_clear_error();
		return fail(err, errlen, "the verifier key is not a P-256 "
		    "SubjectPublicKeyInfo whose SHA-256 begins with its hash");
	}
	memcpy(name, line, (size_t)(p1 - line));
	name[p1 - line] = '\0';
	*pub = k;
	return 0;
}

static int
verifies(EVP_PKEY *pub, const struct note *n, const struct note_sig *s)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	int		 ok;

	ok = md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    pub) == 1 && EVP_DigestVerify(md, s->sig, s->siglen,
	    (const unsigned char *)n->text, n->textlen) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

int
note_has_sig(const struct note *n, const char *name, EVP_PKEY *pub)
{
	uint8_t id[4];

	if (note_ecdsa_key_id(pub, id) == -1)
		return 0;
	for (size_t i = 0; i < n->nsigs; i++)
		if (strcmp(n->sigs[i].name, name) == 0 &&
		    memcmp(n->sigs[i].key_id, id, 4) == 0)
			return 1;
	return 0;
}

int
note_verify_ecdsa(const struct note *n, const char *name, EVP_PKEY *pub,
    char *err, size_t errlen)
{
	uint8_t id[4];

	if (note_ecdsa_key_id(pub, id) == -1) {
		fail(err, errlen, "the verifier key is not an EC P-256 key");
		return 0;
	}
	/* The first line for our key decides, as Go's note.Open. */
	for (size_t i = 0; i < n->nsigs; i++) {
		if (strcmp(n->sigs[i].name, name) != 0 ||
		    memcmp(n->sigs[i].key_id, id, 4) != 0)
			continue;
		if (verifies(pub, n, &n->sigs[i]))
			return 1;
		fail(err, errlen, "the signature does not verify under the "
		    "key");
		return 0;
	}
	fail(err, errlen, "no signature by the key");
	return 0;
}

int
note_sig_line(const char *name, const uint8_t id[4], const uint8_t *sig,
    size_t siglen, char *out, size_t outlen)
{
	uint8_t	 raw[4 + NOTE_MAX_SIG];
	char	 b64[(sizeof(raw) + 2) / 3 * 4 + 1];
	int	 n;

	if (!note_name_ok(name, strlen(name)) || siglen == 0 ||
	    siglen > NOTE_MAX_SIG)
		return -1;
	memcpy(raw, id, 4);
	memcpy(raw + 4, sig, siglen);
	EVP_EncodeBlock((unsigned char *)b64, raw, (int)(4 + siglen));
	n = snprintf(out, outlen, DASH "%s %s\n", name, b64);
	return n > 0 && (size_t)n < outlen ? n : -1;
}
