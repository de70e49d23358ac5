/*
 * test_acme_jws.c - base64url and the ACME JWS pieces against the
 * RFCs' own examples: RFC 4648 §10 (base64url), RFC 7638 §3.1 (JWK
 * thumbprint), RFC 7515 A.1 (HS256) and A.3 (ES256, verified through
 * our DER <-> raw conversion), and the exact headers ACME requests and
 * the External Account Binding carry (RFC 8555 §6.2, §7.3.4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "acme_jws.h"
#include "b64url.h"
#include "jws_vectors.h"

/* RFC 7515 A.3: the P-256 key and its example JWS. */
static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char a3_input[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
static const char a3_sig[] =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
    "pmWQxfKTUJqPP3-Kg6NU1Q";

/* RFC 7638 §3.1: the RSA key and its thumbprint. */
static const char r7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char r7638_thumb[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";


static size_t
dec(const char *s, uint8_t *out, size_t outlen)
{
	int	n = b64url_decode(s, strlen(s), out, outlen);

	assert_true(n >= 0);
	return (size_t)n;
}

/* A public key of type ("EC", "RSA") from the params in b (freed). */
static EVP_PKEY *
key_from(const char *type, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM	*p = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX	*ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY	*k = NULL;

	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	return k;
}

static EVP_PKEY *
p256_from_xy(const char *x, const char *y)
{
	uint8_t		 pt[65];
	OSSL_PARAM_BLD	*b;

	pt[0] = 0x04;
	assert_int_equal(dec(x, pt + 1, 32), 32);
	assert_int_equal(dec(y, pt + 33, 32), 32);
	b = OSSL_PARAM_BLD_new();
	OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    sizeof(pt));
	return key_from("EC", b);
}

static EVP_PKEY *
rsa_from_ne(const char *n64, const char *e64)
{
	uint8_t		 n[512], e[8];
	size_t		 nl = dec(n64, n, sizeof(n)), el = dec(e64, e, sizeof(e));
	BIGNUM		*bn = BN_bin2bn(n, (int)nl, NULL);
	BIGNUM		*be = BN_bin2bn(e, (int)el, NULL);
	OSSL_PARAM_BLD	*b = OSSL_PARAM_BLD_new();
	EVP_PKEY	*k;

	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
	k = key_from("RSA", b);
	BN_free(bn);
	BN_free(be);
	return k;
}

/* raw r||s -> DER, the inverse of acme_ecdsa_der_to_raw, for checking. */
static int
raw_to_der(const uint8_t *raw, size_t len, uint8_t **der)
{
	ECDSA_SIG	*s = ECDSA_SIG_new();
	int		 n;

	ECDSA_SIG_set0(s, BN_bin2bn(raw, (int)len / 2, NULL),
	    BN_bin2bn(raw + len / 2, (int)len / 2, NULL));
	*der = NULL;
	n = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	return n;
}

static int
verify_es256(EVP_PKEY *k, const char *input, const uint8_t *raw)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	uint8_t		*der;
	int		 n = raw_to_der(raw, 64, &der), ok;

	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestVerify(md, der, (size_t)n, (const uint8_t *)input,
	    strlen(input)) == 1;
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok;
}

static void
test_b64url(void **state)
{
	static const struct { const char *bin, *txt; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" }, { "\xfb\xff", "-_8" },
	};
	static const char *bad[] = { "Zg==", "Z", "Zh", "Zm9", "Zm9v\n",
	    "Zm+v", "Zm/v", "Zm9v Zg" };
	char	 out[32];
	uint8_t	 bin[32];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(b64url_encode((const uint8_t *)v[i].bin,
		    strlen(v[i].bin), out, sizeof(out)), strlen(v[i].txt));
		assert_string_equal(out, v[i].txt);
		assert_int_equal(B64URL_LEN(strlen(v[i].bin)), strlen(v[i].txt));
		assert_int_equal(b64url_decode(v[i].txt, strlen(v[i].txt), bin,
		    sizeof(bin)), strlen(v[i].bin));
		assert_memory_equal(bin, v[i].bin, strlen(v[i].bin));
	}
	/* "Zm9" leaves a nonzero unused bit ('9' = 61 = 111101). */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(b64url_decode(bad[i], strlen(bad[i]), bin,
		    sizeof(bin)), -1);
	/* The output bound holds exactly. */
	assert_int_equal(b64url_encode((const uint8_t *)"foo", 3, out, 4), -1);
	assert_int_equal(b64url_encode((const uint8_t *)"foo", 3, out, 5), 4);
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, bin, 5), -1);
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, bin, 6), 6);
}

static void
test_jwk_p256_rfc7515(void **state)
{
	EVP_PKEY	*k = p256_from_xy(a3_x, a3_y);
	char		*jwk, want[256], thumb[ACME_THUMBPRINT_LEN + 1];
	uint8_t		 raw[64];

	(void)state;
	jwk = acme_jwk(k);
	snprintf(want, sizeof(want),
	    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
	    a3_x, a3_y);
	assert_string_equal(jwk, want);
	free(jwk);
	assert_string_equal(acme_jws_alg(k), "ES256");
	assert_int_equal(acme_jwk_thumbprint(k, thumb), 0);
	assert_int_equal(strlen(thumb), ACME_THUMBPRINT_LEN);
	/* The RFC's signature verifies under the key we rebuilt. */
	assert_int_equal(dec(a3_sig, raw, sizeof(raw)), 64);
	assert_true(verify_es256(k, a3_input, raw));
	raw[5] ^= 1;
	assert_false(verify_es256(k, a3_input, raw));
	EVP_PKEY_free(k);
}

static void
test_thumbprint_rfc7638(void **state)
{
	EVP_PKEY	*k = rsa_from_ne(r7638_n, "AQAB");
	char		*jwk, thumb[ACME_THUMBPRINT_LEN + 1];

	(void)state;
	assert_int_equal(acme_jwk_thumbprint(k, thumb), 0);
	assert_string_equal(thumb, r7638_thumb);
	jwk = acme_jwk(k);
	assert_int_equal(strncmp(jwk, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7",
	    30), 0);
	free(jwk);
	assert_string_equal(acme_jws_alg(k), "RS256");
	EVP_PKEY_free(k);
}

static void
test_other_keys_refused(void **state)
{
	EVP_PKEY	*k = EVP_EC_gen("secp384r1");
	char		 thumb[ACME_THUMBPRINT_LEN + 1];

	(void)state;
	assert_non_null(k);
	assert_null(acme_jwk(k));
	assert_null(acme_jws_alg(k));
	assert_int_equal(acme_jwk_thumbprint(k, thumb), -1);
	EVP_PKEY_free(k);
	assert_null(acme_jwk(NULL));
}

/* The protected header decoded, as a JSON object. */
static json_t *
header_of(const struct acme_jws *j)
{
	uint8_t	 h[4096];
	int	 n = b64url_decode(j->protected_b64, strlen(j->protected_b64),
	    h, sizeof(h));

	assert_true(n > 0);
	return json_loadb((const char *)h, (size_t)n, 0, NULL);
}

static void
test_jws_headers(void **state)
{
	EVP_PKEY	*k = p256_from_xy(a3_x, a3_y);
	char		*jwk = acme_jwk(k), *txt;
	struct acme_jws	 j;
	json_t		*h;
	uint8_t		 sig[64] = { 1, 2, 3 };

	(void)state;
	/* newAccount: the JWK, no kid. */
	assert_int_equal(acme_jws_init(&j, "ES256", jwk, NULL, "n0nce",
	    "https://ca.test/new-acct", "{}", 2), 0);
	h = header_of(&j);
	assert_string_equal(json_string_value(json_object_get(h, "alg")),
	    "ES256");
	assert_string_equal(json_string_value(json_object_get(h, "nonce")),
	    "n0nce");
	assert_string_equal(json_string_value(json_object_get(h, "url")),
	    "https://ca.test/new-acct");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(h, "jwk"), "x")), a3_x);
	assert_null(json_object_get(h, "kid"));
	json_decref(h);
	assert_string_equal(j.payload_b64, "e30");
	assert_int_equal(strncmp(j.signing_input, j.protected_b64,
	    strlen(j.protected_b64)), 0);
	assert_string_equal(j.signing_input + strlen(j.protected_b64), ".e30");
	txt = acme_jws_serialize(&j, sig, sizeof(sig));
	h = json_loads(txt, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(h, "payload")),
	    "e30");
	assert_int_equal(strlen(json_string_value(json_object_get(h,
	    "signature"))), B64URL_LEN(64));
	json_decref(h);
	free(txt);
	acme_jws_free(&j);

	/* POST-as-GET with the account URL: empty payload, kid, no jwk. */
	assert_int_equal(acme_jws_init(&j, "ES256", NULL,
	    "https://ca.test/acct/1", "n1", "https://ca.test/order/7", "", 0),
	    0);
	assert_string_equal(j.payload_b64, "");
	assert_int_equal(j.signing_input[strlen(j.signing_input) - 1], '.');
	h = header_of(&j);
	assert_string_equal(json_string_value(json_object_get(h, "kid")),
	    "https://ca.test/acct/1");
	assert_null(json_object_get(h, "jwk"));
	json_decref(h);
	acme_jws_free(&j);

	/* Refused: both or neither of jwk and kid, no nonce, other alg. */
	assert_int_equal(acme_jws_init(&j, "ES256", jwk, "k", "n", "u", "", 0),
	    -1);
	assert_int_equal(acme_jws_init(&j, "ES256", NULL, NULL, "n", "u", "",
	    0), -1);
	assert_int_equal(acme_jws_init(&j, "ES256", jwk, NULL, NULL, "u", "",
	    0), -1);
	assert_int_equal(acme_jws_init(&j, "ES256", jwk, NULL, "", "u", "", 0),
	    -1);
	assert_int_equal(acme_jws_init(&j, "HS256", jwk, NULL, "n", "u", "", 0),
	    -1);
	assert_int_equal(acme_jws_init(&j, "none", jwk, NULL, "n", "u", "", 0),
	    -1);
	assert_int_equal(acme_jws_init(&j, "ES256", "[1]", NULL, "n", "u", "",
	    0), -1);
	assert_null(j.signing_input);
	free(jwk);
	EVP_PKEY_free(k);
}

static void
test_eab(void **state)
{
	EVP_PKEY	*k = p256_from_xy(a3_x, a3_y);
	char		*jwk = acme_jwk(k);
	struct acme_jws	 j;
	json_t		*h;
	uint8_t		 payload[256];
	int		 n;

	(void)state;
	assert_int_equal(acme_eab_init(&j, "kid-1",
	    "https://ca.test/new-acct", jwk), 0);
	h = header_of(&j);
	/* RFC 8555 §7.3.4: alg MAC, kid, url; no nonce, no jwk. */
	assert_string_equal(json_string_value(json_object_get(h, "alg")),
	    "HS256");
	assert_string_equal(json_string_value(json_object_get(h, "kid")),
	    "kid-1");
	assert_string_equal(json_string_value(json_object_get(h, "url")),
	    "https://ca.test/new-acct");
	assert_int_equal(json_object_size(h), 3);
	json_decref(h);
	n = b64url_decode(j.payload_b64, strlen(j.payload_b64), payload,
	    sizeof(payload));
	assert_int_equal(n, strlen(jwk));
	assert_memory_equal(payload, jwk, strlen(jwk));
	acme_jws_free(&j);
	assert_int_equal(acme_eab_init(&j, "", "u", jwk), -1);
	assert_int_equal(acme_eab_init(&j, "k", "u", NULL), -1);
	free(jwk);
	EVP_PKEY_free(k);
}

static void
test_hs256_rfc7515(void **state)
{
	uint8_t	 key[64], mac[ACME_HS256_LEN];
	char	 txt[64];
	size_t	 kl = dec(a1_key, key, sizeof(key));

	(void)state;
	assert_int_equal(acme_hs256(key, kl, a1_input, strlen(a1_input), mac),
	    0);
	b64url_encode(mac, sizeof(mac), txt, sizeof(txt));
	assert_string_equal(txt, a1_mac);
	/* A key shorter than the hash is refused (RFC 7518 §3.2). */
	assert_int_equal(acme_hs256(key, 31, a1_input, strlen(a1_input), mac),
	    -1);
}

static void
test_der_to_raw(void **state)
{
	EVP_PKEY	*k = EVP_EC_gen("prime256v1");
	EVP_MD_CTX	*md;
	uint8_t		 der[80], raw[64], *re, big[33];
	size_t		 dl;
	int		 i, n;
	ECDSA_SIG	*s;
	static const char msg[] = "a.b";

	(void)state;
	/* Real signatures, many (so that short r and s turn up), round trip. */
	for (i = 0; i < 64; i++) {
		md = EVP_MD_CTX_new();
		dl = sizeof(der);
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(),
		    NULL, k), 1);
		assert_int_equal(EVP_DigestSign(md, der, &dl,
		    (const uint8_t *)msg, 3), 1);
		EVP_MD_CTX_free(md);
		assert_int_equal(acme_ecdsa_der_to_raw(der, dl, raw, 64), 64);
		assert_true(verify_es256(k, msg, raw));
		/* Trailing bytes and truncation are refused. */
		der[dl] = 0;
		assert_int_equal(acme_ecdsa_der_to_raw(der, dl + 1, raw, 64), -1);
		assert_int_equal(acme_ecdsa_der_to_raw(der, dl - 1, raw, 64), -1);
	}
	/* r = 1, s = 2: padded to 32 bytes each. */
	n = raw_to_der((const uint8_t *)"\x01\x02", 2, &re);
	assert_int_equal(acme_ecdsa_der_to_raw(re, (size_t)n, raw, 64), 64);
	assert_int_equal(raw[31], 1);
	assert_int_equal(raw[63], 2);
	assert_int_equal(raw[0] | raw[30] | raw[32] | raw[62], 0);
	OPENSSL_free(re);
	/* An r of 33 significant bytes does not fit P-256. */
	memset(big, 0x7f, sizeof(big));
	s = ECDSA_SIG_new();
	ECDSA_SIG_set0(s, BN_bin2bn(big, 33, NULL), BN_bin2bn(big, 1, NULL));
	re = NULL;
	n = i2d_ECDSA_SIG(s, &re);
	ECDSA_SIG_free(s);
	assert_int_equal(acme_ecdsa_der_to_raw(re, (size_t)n, raw, 64), -1);
	OPENSSL_free(re);
	/* BER (a long-form length where DER has a short one) is refused. */
	{
		static const uint8_t ber[] = { 0x30, 0x81, 0x06, 0x02, 0x01,
		    0x01, 0x02, 0x01, 0x02 };
		assert_int_equal(acme_ecdsa_der_to_raw(ber, sizeof(ber), raw,
		    64), -1);
	}
	assert_int_equal(acme_ecdsa_der_to_raw(der, 0, raw, 64), -1);
	assert_int_equal(acme_ecdsa_der_to_raw(der, 8, raw, 63), -1);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_jwk_p256_rfc7515),
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_other_keys_refused),
		cmocka_unit_test(test_jws_headers),
		cmocka_unit_test(test_eab),
		cmocka_unit_test(test_hs256_rfc7515),
		cmocka_unit_test(test_der_to_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
