/*
 * acme_jws.c - JWS for ACME without the private key; see acme_jws.h.
 *
 * JSON text is made by jansson with JSON_COMPACT | JSON_SORT_KEYS: that
 * is RFC 7638's canonical form for a JWK (sorted members, no
 * whitespace), and it makes every header we build reproducible for
 * tests.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "acme_jws.h"
#include "b64url.h"
#include "util.h"

#define JSON_FLAGS	(JSON_COMPACT | JSON_SORT_KEYS)
#define MAX_RSA_BYTES	1024		/* 8192-bit modulus */
#define MAX_PAYLOAD	(64 * 1024)	/* a CSR is the largest we send */

/*
 * A provider-native copy of the public key, through its DER
 * SubjectPublicKeyInfo: keys from an engine or libp11 are legacy keys,
 * whose parameters (coordinates, group name) OpenSSL 3 cannot read.
 */
static EVP_PKEY *
native_copy(EVP_PKEY *pub)
{
	uint8_t		*der = NULL;
	const uint8_t	*p;
	EVP_PKEY	*k = NULL;
	int		 n;

	if (pub == NULL || (n = i2d_PUBKEY(pub, &der)) <= 0)
		return NULL;
	p = der;
	k = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	return k;
}

static int
is_p256(EVP_PKEY *pub)
{
	char	 group[64];
	size_t	 n = 0;

	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC)
		return 0;
	if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &n) != 1)
		return 0;
	return strcmp(group, SN_X9_62_prime256v1) == 0;
}

const char *
acme_jws_alg(EVP_PKEY *pub)
{
	EVP_PKEY	*k = native_copy(pub);
	const char	*alg = NULL;

	if (k != NULL && is_p256(k))
		alg = "ES256";
	else if (k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		alg = "RS256";
	EVP_PKEY_free(k);
	return alg;
}

/* A big number as a base64url member: padded to pad bytes, or minimal if 0. */
static json_t *
bn_member(EVP_PKEY *pub, const char *param, size_t pad)
{
	BIGNUM	*bn = NULL;
	uint8_t	 bin[MAX_RSA_BYTES];
	char	 txt[B64URL_LEN(MAX_RSA_BYTES) + 1];
	json_t	*j = NULL;
	int	 n;

	if (EVP_PKEY_get_bn_param(pub, param, &bn) != 1)
		return NULL;
	if (pad != 0)
		n = BN_bn2binpad(bn, bin, (int)pad);
	else if (BN_num_bytes(bn) <= (int)sizeof(bin))
		n = BN_bn2bin(bn, bin);
	else
		n = -1;
	if (n > 0 && b64url_encode(bin, (size_t)n, txt, sizeof(txt)) > 0)
		j = json_string(txt);
	BN_free(bn);
	return j;
}

char *
acme_jwk(EVP_PKEY *key)
{
	EVP_PKEY *pub = native_copy(key);
	json_t	*o = NULL, *a = NULL, *b = NULL;
	char	*s = NULL;

	if (pub == NULL)
		return NULL;
	if (is_p256(pub)) {
		a = bn_member(pub, OSSL_PKEY_PARAM_EC_PUB_X, 32);
		b = bn_member(pub, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
		if (a != NULL && b != NULL)
			o = json_pack("{s:s, s:s, s:o, s:o}", "crv", "P-256",
			    "kty", "EC", "x", a, "y", b);
	} else if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA) {
		a = bn_member(pub, OSSL_PKEY_PARAM_RSA_E, 0);
		b = bn_member(pub, OSSL_PKEY_PARAM_RSA_N, 0);
		if (a != NULL && b != NULL)
			o = json_pack("{s:o, s:s, s:o}", "e", a, "kty", "RSA",
			    "n", b);
	}
	if (o == NULL) {
		/* json_pack "o" steals even on failure; only unused refs. */
		if (a != NULL && b == NULL)
			json_decref(a);
		if (b != NULL && a == NULL)
			json_decref(b);
		EVP_PKEY_free(pub);
		return NULL;
	}
	s = json_dumps(o, JSON_FLAGS);
	json_decref(o);
	EVP_PKEY_free(pub);
	return s;
}

int
acme_jwk_thumbprint(EVP_PKEY *pub, char out[ACME_THUMBPRINT_LEN + 1])
{
	uint8_t	 md[SHA256_DIGEST_LENGTH];
	char	*jwk;

	if ((jwk = acme_jwk(pub)) == NULL)
		return -1;
	SHA256((const uint8_t *)jwk, strlen(jwk), md);
	free(jwk);
	return b64url_encode(md, sizeof(md), out, ACME_THUMBPRINT_LEN + 1) ==
	    ACME_THUMBPRINT_LEN ? 0 : -1;
}

void
acme_jws_free(struct acme_jws *j)
{
	free(j->protected_b64);
	free(j->payload_b64);
	free(j->signing_input);
	memset(j, 0, sizeof(*j));
}

/* Fills j from a header object (consumed) and the payload bytes. */
static int
jws_fill(struct acme_jws *j, json_t *hdr, const char *payload, size_t len)
{
	char	*h = NULL;
	size_t	 hl, pl;
	int	 r = -1;

	memset(j, 0, sizeof(*j));
	if (hdr == NULL || len > MAX_PAYLOAD ||
	    (h = json_dumps(hdr, JSON_FLAGS)) == NULL)
		goto out;
	j->protected_b64 = b64url_encode_alloc((const uint8_t *)h, strlen(h));
	j->payload_b64 = b64url_encode_alloc((const uint8_t *)payload, len);
	if (j->protected_b64 == NULL || j->payload_b64 == NULL)
		goto out;
	hl = strlen(j->protected_b64);
	pl = strlen(j->payload_b64);
	j->signing_input = xmalloc(hl + pl + 2);
	memcpy(j->signing_input, j->protected_b64, hl);
	j->signing_input[hl] = '.';
	memcpy(j->signing_input + hl + 1, j->payload_b64, pl + 1);
	r = 0;
 out:
	if (r != 0)
		acme_jws_free(j);
	free(h);
	json_decref(hdr);
	return r;
}

static int
str_ok(const char *s, size_t max)
{
	return s != NULL && *s != '\0' && strlen(s) <= max;
}

int
acme_jws_init(struct acme_jws *j, const char *alg, const char *jwk,
    const char *kid, const char *nonce, const char *url,
    const char *payload, size_t len)
{
	json_t	*hdr, *key;

	memset(j, 0, sizeof(*j));
	if (alg == NULL || (strcmp(alg, "ES256") != 0 &&
	    strcmp(alg, "RS256") != 0) || (jwk == NULL) == (kid == NULL) ||
	    !str_ok(nonce, ACME_MAX_NONCE) || !str_ok(url, ACME_MAX_URL) ||
	    (kid != NULL && !str_ok(kid, ACME_MAX_KID)) ||
	    (payload == NULL && len != 0))
		return -1;
	if (jwk != NULL) {
		if ((key = json_loads(jwk, JSON_REJECT_DUPLICATES, NULL)) ==
		    NULL || !json_is_object(key)) {
			json_decref(key);
			return -1;
		}
		hdr = json_pack("{s:s, s:o, s:s, s:s}", "alg", alg, "jwk", key,
		    "nonce", nonce, "url", url);
	} else
		hdr = json_pack("{s:s, s:s, s:s, s:s}", "alg", alg, "kid", kid,
		    "nonce", nonce, "url", url);
	return jws_fill(j, hdr, payload, len);
}

int
acme_eab_init(struct acme_jws *j, const char *eab_kid, const char *url,
    const char *account_jwk)
{
	memset(j, 0, sizeof(*j));
	if (!str_ok(eab_kid, ACME_MAX_KID) || !str_ok(url, ACME_MAX_URL) ||
	    account_jwk == NULL)
		return -1;
	return jws_fill(j, json_pack("{s:s, s:s, s:s}", "alg", "HS256",
	    "kid", eab_kid, "url", url), account_jwk, strlen(account_jwk));
}

char *
acme_jws_serialize(const struct acme_jws *j, const uint8_t *sig,
    size_t siglen)
{
	json_t	*o;
	char	*s, *sig64;

	if (j->protected_b64 == NULL || sig == NULL || siglen == 0 ||
	    siglen > MAX_RSA_BYTES ||
	    (sig64 = b64url_encode_alloc(sig, siglen)) == NULL)
		return NULL;
	o = json_pack("{s:s, s:s, s:s}", "protected", j->protected_b64,
	    "payload", j->payload_b64, "signature", sig64);
	free(sig64);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_FLAGS);
	json_decref(o);
	return s;
}

int
acme_ecdsa_der_to_raw(const uint8_t *der, size_t len, uint8_t *raw,
    size_t rawlen)
{
	ECDSA_SIG	*sig;
	const uint8_t	*p = der;
	const BIGNUM	*r, *s;
	uint8_t		*back = NULL;
	size_t		 half = rawlen / 2;
	int		 n, ret = -1;

	if (der == NULL || len == 0 || len > 256 || rawlen == 0 ||
	    rawlen % 2 != 0 || rawlen > 132)
		return -1;
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return -1;
	/* Nothing after the SEQUENCE, and DER, not BER: re-encode, compare. */
	if (p != der + len || (n = i2d_ECDSA_SIG(sig, &back)) < 0 ||
	    (size_t)n != len || memcmp(back, der, len) != 0)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_is_negative(r) || BN_is_negative(s) || BN_is_zero(r) ||
	    BN_is_zero(s) || BN_num_bytes(r) > (int)half ||
	    BN_num_bytes(s) > (int)half)
		goto out;
	if (BN_bn2binpad(r, raw, (int)half) != (int)half ||
	    BN_bn2binpad(s, raw + half, (int)half) != (int)half)
		goto out;
	ret = (int)rawlen;
 out:
	OPENSSL_free(back);
	ECDSA_SIG_free(sig);
	return ret;
}

int
acme_hs256(const uint8_t *key, size_t keylen, const char *input,
    size_t inlen, uint8_t mac[ACME_HS256_LEN])
{
	unsigned int	 n = 0;

	/* RFC 7518 §3.2: a key at least as long as the hash. */
	if (key == NULL || keylen < ACME_HS256_LEN || keylen > 1024 ||
	    input == NULL)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)keylen, (const uint8_t *)input,
	    inlen, mac, &n) == NULL || n != ACME_HS256_LEN)
		return -1;
	return 0;
}
