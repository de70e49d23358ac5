/*
 * test_hsm.c - hsm/ against a real SoftHSM2 token made by
 * softhsm-fixtures/make-fixtures.sh. The fixture directory comes from
 * $HSMAGENT_FIXTURES (its env.sh names the files; no secrets in it).
 *
 * Every scheme is signed through hsm_sign() and verified with the
 * certificate's public key; every refusal gives its own message.
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
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "hsm.h"

static char fx[512];

static const char *
path(const char *name)
{
	static char buf[8][600];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", fx, name);
	return buf[i];
}

static const char *
module(void)
{
	const char *m = getenv("HSM_MODULE");

	return m ? m : "/usr/lib/softhsm/libsofthsm2.so";
}

static struct hsm *
open_key(const char *uri, const char *cert, const char *pin, int allow,
    char *err, size_t errlen)
{
	struct hsm_params p = { module(), uri, path(pin), path(cert), allow };

	return hsm_open(&p, err, errlen);
}

static int
verify(const char *cert, enum sign_scheme s, const uint8_t *d, size_t dlen,
    const uint8_t *sig, size_t siglen)
{
	FILE		*f = fopen(path(cert), "r");
	X509		*x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	EVP_PKEY_CTX	*ctx = x ? EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL) : NULL;
	const EVP_MD	*md = dlen == 32 ? EVP_sha256() : dlen == 48 ?
			    EVP_sha384() : EVP_sha512();
	int		 ok = 0;

	if (ctx && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, md) == 1) {
		if (sign_scheme_family(s) == SCHEME_FAMILY_RSA_PSS) {
			EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING);
			EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)dlen);
		} else if (sign_scheme_family(s) == SCHEME_FAMILY_RSA_PKCS1)
			EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
		ok = EVP_PKEY_verify(ctx, sig, siglen, d, dlen) == 1;
	}
	EVP_PKEY_CTX_free(ctx);
	X509_free(x);
	if (f)
		fclose(f);
	return ok;
}

static void
sign_all(const char *uri, const char *cert, int is_ec)
{
	char		 err[512];
	struct hsm	*h = open_key(uri, cert, "pin", 0, err, sizeof(err));
	uint8_t		 d[64], sig[HSM_MAX_SIG];
	size_t		 siglen;

	if (h == NULL)
		fail_msg("hsm_open: %s", err);
	assert_int_equal(hsm_key_type(h), is_ec ? HSM_KEY_EC : HSM_KEY_RSA);
	for (unsigned s = 1; s < SCHEME_MAX; s++) {
		size_t dlen = sign_scheme_digest_len(s);
		int fits = (sign_scheme_family(s) == SCHEME_FAMILY_ECDSA) == is_ec;

		memset(d, (int)s, sizeof(d));
		int r = hsm_sign(h, s, d, dlen, sig, &siglen, err, sizeof(err));
		if (!fits) {
			assert_int_equal(r, -1);
			continue;
		}
		if (r != 0)
			fail_msg("%s: %s", sign_scheme_name(s), err);
		if (!verify(cert, s, d, dlen, sig, siglen))
			fail_msg("%s: signature does not verify", sign_scheme_name(s));
		/* A digest of the wrong length never reaches the token. */
		assert_int_equal(hsm_sign(h, s, d, dlen - 1, sig, &siglen, err,
		    sizeof(err)), -1);
	}
	hsm_close(h);
}

static void
test_ec_signs_every_ec_scheme(void **state)
{
	(void)state;
	sign_all(getenv("EC_KEY_URI"), "client-ec.crt", 1);
}

static void
test_rsa_signs_every_rsa_scheme(void **state)
{
	(void)state;
	sign_all(getenv("RSA_KEY_URI"), "client-rsa.crt", 0);
}

static void
expect_open_error(const char *uri, const char *cert, const char *pin,
    int allow, const char *needle)
{
	char		 err[512] = "";
	struct hsm	*h = open_key(uri, cert, pin, allow, err, sizeof(err));

	if (h != NULL) {
		hsm_close(h);
		fail_msg("hsm_open succeeded; expected '%s'", needle);
	}
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' lacks '%s'", err, needle);
}

static void
test_refusals(void **state)
{
	char err[512];
	struct hsm *h;

	(void)state;
	expect_open_error(getenv("EC_KEY_URI"), "client-ec.crt", "wrong-pin",
	    0, "none will be retried");
	expect_open_error(getenv("EXTRACTABLE_KEY_URI"),
	    "client-extractable.crt", "pin", 0, "cannot leave the HSM");
	expect_open_error(getenv("EC_KEY_URI"), "client-mismatch.crt", "pin",
	    0, "does not match");
	expect_open_error(getenv("EC_KEY_URI"), "client-rsa.crt", "pin", 0,
	    "does not match");
	expect_open_error("pkcs11:token=no-such-token;object=gw-ec",
	    "client-ec.crt", "pin", 0, "no token matches");
	expect_open_error("pkcs11:token=hsmagent-test;object=no-such-key",
	    "client-ec.crt", "pin", 0, "no private key matches");
	/* The explicit test override lets the extractable key through. */
	h = open_key(getenv("EXTRACTABLE_KEY_URI"), "client-extractable.crt",
	    "pin", 1, err, sizeof(err));
	if (h == NULL)
		fail_msg("override: %s", err);
	hsm_close(h);
}

static void
test_missing_module(void **state)
{
	struct hsm_params p = { "/nonexistent/libpkcs11.so",
	    getenv("EC_KEY_URI"), path("pin"), path("client-ec.crt"), 0 };
	char err[512];

	(void)state;
	assert_null(hsm_open(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/libpkcs11.so"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_signs_every_ec_scheme),
		cmocka_unit_test(test_rsa_signs_every_rsa_scheme),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_missing_module),
	};
	const char *d = getenv("HSMAGENT_FIXTURES");

	if (d == NULL || getenv("EC_KEY_URI") == NULL) {
		fprintf(stderr, "test_hsm: set HSMAGENT_FIXTURES and source "
		    "its env.sh (the Makefile does)\n");
		return 1;
	}
	snprintf(fx, sizeof(fx), "%s", d);
	return cmocka_run_group_tests_name("hsm", tests, NULL, NULL);
}
