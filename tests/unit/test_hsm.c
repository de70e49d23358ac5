/*
 * test_hsm.c - hsm/ against a real SoftHSM2 token made by
 * softhsm-fixtures/make-fixtures.sh. The fixture directory comes from
 * $HSMAGENT_FIXTURES (its env.sh names the files; no secrets in it).
 *
 * Every scheme is signed through hsm_sign() and verified with the
 * certificate's public key; every refusal gives its own message. The
 * ACME account key (hsm_account) signs JWS that acme_sign_policy lets
 * through, verified as a CA would.
 */
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
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "acme_jws.h"
#include "acme_sign_policy.h"
#include "acme_signer.h"
#include "b64url.h"
#include "ipc.h"
#include "hsm.h"
#include "hsm_account.h"
#include "hsm_int.h"

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
	struct hsm_params p = { module(), uri, path(pin), path(cert), allow,
	    NULL };

	return hsm_open(&p, err, errlen);
}

/* open_key with the fixture's PIN and no override; the test fails if not. */
static struct hsm *
must_open(const char *uri, const char *cert)
{
	char		 err[512];
	struct hsm	*h = open_key(uri, cert, "pin", 0, err, sizeof(err));

	if (h == NULL)
		fail_msg("hsm_open: %s", err);
	return h;
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
	struct hsm	*h = must_open(uri, cert);
	uint8_t		 d[64], sig[HSM_MAX_SIG];
	size_t		 siglen;

	assert_int_equal(hsm_key_type(h), is_ec ? HSM_KEY_EC : HSM_KEY_RSA);
	for (unsigned s = 1; s < SCHEME_MAX; s++) {
		size_t dlen = sign_scheme_digest_len(s);
		int fits = (sign_scheme_family(s) == SCHEME_FAMILY_ECDSA) == is_ec;

		memset(d, (int)s, sizeof(d));
		int r = hsm_sign(h, 0, s, d, dlen, sig, &siglen, err,
		    sizeof(err));
		if (!fits) {
			assert_int_equal(r, -1);
			continue;
		}
		if (r != 0)
			fail_msg("%s: %s", sign_scheme_name(s), err);
		if (!verify(cert, s, d, dlen, sig, siglen))
			fail_msg("%s: signature does not verify", sign_scheme_name(s));
		/* A digest of the wrong length never reaches the token. */
		assert_int_equal(hsm_sign(h, 0, s, d, dlen - 1, sig, &siglen, err,
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

/* The job the tests ready signatures for, and another. */
#define JOB	7
#define OTHER_JOB 8

/*
 * hsm_sign for job under s of a digest of s's length; does it verify
 * with cert?
 */
static int
job_signs(struct hsm *h, uint32_t job, enum sign_scheme s, const char *cert)
{
	uint8_t		 d[64], sig[HSM_MAX_SIG];
	size_t		 siglen = 0, dlen = sign_scheme_digest_len(s);
	char		 err[512];

	memset(d, 0x5a + (int)s, sizeof(d));
	if (hsm_sign(h, job, s, d, dlen, sig, &siglen, err, sizeof(err)) != 0)
		fail_msg("%s: %s", sign_scheme_name(s), err);
	return verify(cert, s, d, dlen, sig, siglen);
}

static int
signs_for(struct hsm *h, enum sign_scheme s, const char *cert)
{
	return job_signs(h, JOB, s, cert);
}

/*
 * A signature readied ahead (hsm_prepare) is used once, by the same key
 * and mechanism: then C_Sign alone (the readied session stays, its
 * operation ended). For another mechanism, another key, or when it is
 * older than HSM_PREPARED_MS it is dropped and the signature made the
 * ordinary way: each verifies with the right certificate, which a
 * readied operation used for the wrong one would not.
 */
static void
prepared_schemes(const char *uri, const char *cert, enum sign_scheme first,
    enum sign_scheme last)
{
	struct hsm	*h = must_open(uri, cert);

	for (enum sign_scheme s = first; s <= last; s++) {
		for (enum sign_scheme t = first; t <= last; t++) {
			assert_int_equal(hsm_prepare(h, s, JOB), 0);
			assert_true(h->prep_active && h->have_psess);
			if (!signs_for(h, t, cert))
				fail_msg("readied %s, signed %s: does not verify",
				    sign_scheme_name(s), sign_scheme_name(t));
			assert_false(h->prep_active);
			/* Used (its session kept), or dropped with it. */
			assert_int_equal(h->have_psess,
			    sign_scheme_family(s) == sign_scheme_family(t) &&
			    (sign_scheme_family(s) != SCHEME_FAMILY_RSA_PSS ||
			    s == t));
			/* Nothing left readied: the next one is ordinary. */
			assert_true(signs_for(h, t, cert));
		}
	}
	/* Too old: dropped, not used. */
	assert_int_equal(hsm_prepare(h, first, JOB), 0);
	h->prep_ms -= HSM_PREPARED_MS + 1;
	assert_true(signs_for(h, first, cert));
	assert_false(h->have_psess);
	/* A scheme of the other family is not readied at all. */
	assert_int_equal(hsm_prepare(h, first == SCHEME_ECDSA_SHA256 ?
	    SCHEME_RSA_PSS_SHA256 : SCHEME_ECDSA_SHA256, JOB), -1);
	assert_false(h->prep_active);
	/* For no job: not readied. */
	assert_int_equal(hsm_prepare(h, first, 0), -1);
	assert_false(h->prep_active);
	/*
	 * Another job's signature, and one for no job, sign the ordinary
	 * way and leave it to its job, which then uses it.
	 */
	assert_int_equal(hsm_prepare(h, first, JOB), 0);
	assert_true(job_signs(h, OTHER_JOB, first, cert));
	assert_true(job_signs(h, 0, first, cert));
	assert_true(h->prep_active);
	/* The first keeps it: another job cannot ready over it... */
	assert_int_equal(hsm_prepare(h, first, OTHER_JOB), -1);
	assert_true(h->prep_active && h->prep_owner == JOB);
	/* ...nor end it; its own job does. */
	hsm_forget_prepared(h, OTHER_JOB);
	assert_true(h->prep_active);
	assert_true(signs_for(h, first, cert));
	assert_true(h->have_psess && !h->prep_active);
	/* Its job may ready again over its own. */
	assert_int_equal(hsm_prepare(h, first, JOB), 0);
	assert_int_equal(hsm_prepare(h, first, JOB), 0);
	assert_true(h->prep_active && h->prep_owner == JOB);
	/* Grown old, another job's readying replaces it. */
	h->prep_ms -= HSM_PREPARED_MS + 1;
	assert_int_equal(hsm_prepare(h, first, OTHER_JOB), 0);
	assert_true(h->prep_active && h->prep_owner == OTHER_JOB);
	/* Its job ended: it ends, session and all. */
	hsm_forget_prepared(h, OTHER_JOB);
	assert_false(h->prep_active || h->have_psess);
	assert_true(job_signs(h, OTHER_JOB, first, cert));
	hsm_close(h);
}

static void
test_prepared_ec(void **state)
{
	(void)state;
	prepared_schemes(getenv("EC_KEY_URI"), "client-ec.crt",
	    SCHEME_ECDSA_SHA256, SCHEME_ECDSA_SHA512);
}

static void
test_prepared_rsa(void **state)
{
	(void)state;
	prepared_schemes(getenv("RSA_KEY_URI"), "client-rsa.crt",
	    SCHEME_RSA_PKCS1_SHA256, SCHEME_RSA_PSS_SHA512);
}

/*
 * Readied for one key, the agent switches to another (a rotation): the
 * signature is the new key's. And the other calls of the token, an
 * account key's signature among them, go on while one is readied.
 */
static void
test_prepared_other_key(void **state)
{
	char			 err[512];
	struct hsm		*h = must_open(getenv("EC_KEY_URI"),
				    "client-ec.crt");
	struct hsm_account	*ak;
	uint8_t			 sig[HSM_MAX_SIG];
	size_t			 siglen = 0;
	int			 switched = 0;
	static const uint8_t	 in[] = "e30.e30";

	(void)state;
	assert_int_equal(hsm_prepare(h, SCHEME_ECDSA_SHA256, JOB), 0);
	ak = hsm_account_open(h, getenv("ACME_EC_KEY_URI"), 0, err,
	    sizeof(err));
	if (ak == NULL)
		fail_msg("hsm_account_open: %s", err);
	if (hsm_account_sign(h, ak, in, sizeof(in) - 1, sig, &siglen, err,
	    sizeof(err)) != 0)
		fail_msg("account key, one readied: %s", err);
	hsm_account_close(ak);
	assert_true(h->prep_active);
	if (hsm_use_cert(h, path("client-extractable.crt"), 1, &switched, err,
	    sizeof(err)) != 0)
		fail_msg("hsm_use_cert: %s", err);
	assert_int_equal(switched, 1);
	/* Ended with the switch: the old key is not held for retiring. */
	assert_false(h->prep_active || h->have_psess);
	if (!signs_for(h, SCHEME_ECDSA_SHA256, "client-extractable.crt"))
		fail_msg("readied for the old key, signed with it");
	assert_false(h->have_psess);
	/* Readied for the new key: used. */
	assert_int_equal(hsm_prepare(h, SCHEME_ECDSA_SHA256, JOB), 0);
	assert_true(signs_for(h, SCHEME_ECDSA_SHA256, "client-extractable.crt"));
	assert_true(h->have_psess && !h->prep_active);
	hsm_close(h);
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
	enum hsm_fail fail = HSM_FAIL_OTHER;
	struct hsm_params p = { "/nonexistent/libpkcs11.so",
	    getenv("EC_KEY_URI"), path("pin"), path("client-ec.crt"), 0,
	    &fail };
	char err[512];

	(void)state;
	assert_null(hsm_open(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/libpkcs11.so"));
	/* A module that is not there is the configuration's fault. */
	assert_int_equal(fail, HSM_FAIL_CONFIG);
}
/* A certificate from the fixture CA for the CSR's key, written to out. */
static void
certify(const char *csr_pem, const char *out)
{
	BIO		*b = BIO_new_mem_buf(csr_pem, -1);
	X509_REQ	*req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	FILE		*f = fopen(path("ca.key"), "r");
	EVP_PKEY	*cakey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	X509		*ca = NULL, *x = X509_new();
	FILE		*g;

	if (f)
		fclose(f);
	f = fopen(path("ca.crt"), "r");
	ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	assert_non_null(req);
	assert_non_null(cakey);
	assert_non_null(ca);
	/* The CSR must carry a valid signature made in the token. */
	assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_set_version(x, X509_VERSION_3);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_set_subject_name(x, X509_REQ_get_subject_name(req));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, X509_REQ_get0_pubkey(req));
	assert_true(X509_sign(x, cakey, EVP_sha256()) > 0);
	assert_non_null(g = fopen(out, "w"));
	PEM_write_X509(g, x);
	fclose(g);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	X509_REQ_free(req);
	BIO_free(b);
}

/*
 * A new credential: made in the token, its CSR signed there; once a
 * certificate for it is installed the agent signs with it; the old key
 * can then be retired, the one in use never.
 */
static void
test_new_credential(void **state)
{
	char			 err[512], old_id[80], cur[80], label[80];
	char			 certfile[] = "/tmp/hsmagent-newcred.XXXXXX";
	struct hsm		*h = must_open(getenv("EC_KEY_URI"),
				    "client-ec.crt");
	struct hsm_keygen	 kg = { HSM_KEY_EC, 0, "rotated.example", NULL };
	struct hsm_newkey	 nk, rk;
	struct hsm_keygen	 rg = { HSM_KEY_RSA, 2048, "rsa.example", NULL };
	uint8_t			 d[32], sig[HSM_MAX_SIG];
	size_t			 siglen;
	int			 fd, switched;

	(void)state;
	hsm_current_id(h, old_id, sizeof(old_id));
	assert_string_equal(old_id, "01");
	if (hsm_keygen(h, &kg, &nk, err, sizeof(err)) == -1)
		fail_msg("hsm_keygen: %s", err);
	assert_int_equal(strlen(nk.id_hex), 32);
	assert_int_equal(strncmp(nk.label, "hsmagent-", 9), 0);
	assert_int_equal(nk.bits, 256);
	assert_non_null(strstr(nk.csr_pem, "BEGIN CERTIFICATE REQUEST"));
	/* RSA on request; then retired again: not the key in use. */
	if (hsm_keygen(h, &rg, &rk, err, sizeof(err)) == -1)
		fail_msg("hsm_keygen rsa: %s", err);
	assert_int_equal(rk.bits, 2048);
	certify(rk.csr_pem, "/dev/null");
	assert_int_equal(hsm_retire(h, rk.id_hex, label, sizeof(label), err,
	    sizeof(err)), 0);
	assert_string_equal(label, rk.label);
	assert_int_equal(hsm_retire(h, rk.id_hex, label, sizeof(label), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no key with id"));
	free(rk.csr_pem);
	free(rk.pub_pem);
	/* No subject: no CSR (the checkpoint key), the public key only. */
	{
		struct hsm_keygen	 cg = { HSM_KEY_EC, 256, NULL,
					    "hsmagent-checkpoint" };
		struct hsm_newkey	 ck;

		if (hsm_keygen(h, &cg, &ck, err, sizeof(err)) == -1)
			fail_msg("hsm_keygen without a CSR: %s", err);
		assert_null(ck.csr_pem);
		assert_non_null(strstr(ck.pub_pem, "BEGIN PUBLIC KEY"));
		assert_int_equal(strncmp(ck.label, "hsmagent-checkpoint-",
		    20), 0);
		assert_int_equal(hsm_retire(h, ck.id_hex, label,
		    sizeof(label), err, sizeof(err)), 0);
		free(ck.pub_pem);
	}
	/* The certificate for the new key arrives: the agent switches. */
	assert_true((fd = mkstemp(certfile)) != -1);
	close(fd);
	certify(nk.csr_pem, certfile);
	if (hsm_use_cert(h, certfile, 0, &switched, err, sizeof(err)) == -1)
		fail_msg("hsm_use_cert: %s", err);
	assert_int_equal(switched, 1);
	hsm_current_id(h, cur, sizeof(cur));
	assert_string_equal(cur, nk.id_hex);
	memset(d, 7, sizeof(d));
	if (hsm_sign(h, 0, SCHEME_ECDSA_SHA256, d, sizeof(d), sig, &siglen, err,
	    sizeof(err)) == -1)
		fail_msg("hsm_sign with the new key: %s", err);
	assert_int_equal(hsm_retire(h, nk.id_hex, label, sizeof(label), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "the one in use"));
	/* Back to the fixture key, and the new one retired: token as before. */
	if (hsm_use_cert(h, path("client-ec.crt"), 0, &switched, err,
	    sizeof(err)) == -1)
		fail_msg("back to the fixture key: %s", err);
	assert_int_equal(hsm_retire(h, nk.id_hex, label, sizeof(label), err,
	    sizeof(err)), 0);
	assert_int_equal(hsm_retire(h, "zz", label, sizeof(label), err,
	    sizeof(err)), -1);
	unlink(certfile);
	free(nk.csr_pem);
	free(nk.pub_pem);
	hsm_close(h);
}

/*
 * One ACME request end to end without the network: built as the child
 * builds it, checked as the parent checks it, signed by the account key
 * in the token, put in JWS form and verified with the account's key.
 */
static void
acme_jws_roundtrip(struct hsm *h, const char *account_uri, const char *alg)
{
	char			 err[512], *jwk;
	struct hsm_account	*ak = hsm_account_open(h, account_uri, 0, err,
	    sizeof(err));
	struct acme_jws		 j;
	struct acme_sign_rules	 rules = { .prefix = { "https://ca.test/" },
	    .nprefix = 1, .eab_kid = "kid-1" };
	uint8_t			 sig[HSM_MAX_SIG], raw[ACME_P256_SIG_LEN];
	size_t			 siglen = 0;
	EVP_MD_CTX		*md = EVP_MD_CTX_new();

	if (ak == NULL)
		fail_msg("hsm_account_open: %s", err);
	assert_string_equal(hsm_account_alg(ak), alg);
	jwk = acme_jwk(hsm_account_pubkey(ak));
	assert_non_null(jwk);
	rules.alg = alg;
	rules.account_jwk = jwk;
	assert_int_equal(acme_jws_init(&j, alg, jwk, NULL, "bm9uY2U",
	    "https://ca.test/new-acct", "{}", 2), 0);
	assert_int_equal(acme_sign_check(&rules, j.signing_input,
	    strlen(j.signing_input)), ACME_SIGN_OK);
	if (hsm_account_sign(h, ak, (const uint8_t *)j.signing_input,
	    strlen(j.signing_input), sig, &siglen, err, sizeof(err)) != 0)
		fail_msg("hsm_account_sign: %s", err);
	/* What the CA verifies: DER for OpenSSL, after r||s for EC. */
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    hsm_account_pubkey(ak)), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, siglen,
	    (const uint8_t *)j.signing_input, strlen(j.signing_input)), 1);
	if (strcmp(alg, "ES256") == 0)
		assert_int_equal(acme_ecdsa_der_to_raw(sig, siglen, raw,
		    sizeof(raw)), ACME_P256_SIG_LEN);
	else
		assert_int_equal(siglen, 256);
	EVP_MD_CTX_free(md);
	acme_jws_free(&j);
	free(jwk);
	hsm_account_close(ak);
}

static void
test_acme_account_key(void **state)
{
	char		 err[512];
	struct hsm	*h = must_open(getenv("EC_KEY_URI"), "client-ec.crt");

	(void)state;
	/* The account key may be the client key, or another on the token. */
	acme_jws_roundtrip(h, getenv("EC_KEY_URI"), "ES256");
	acme_jws_roundtrip(h, getenv("RSA_KEY_URI"), "RS256");
	/* Refused: extractable, another token, no such key, a bad URI. */
	assert_null(hsm_account_open(h, getenv("EXTRACTABLE_KEY_URI"), 0, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "extractable"));
	assert_null(hsm_account_open(h, "pkcs11:token=other;object=gw-ec", 0,
	    err, sizeof(err)));
	assert_non_null(strstr(err, "not on the agent's token"));
	assert_null(hsm_account_open(h, "pkcs11:token=hsmagent-test;object=nope",
	    0, err, sizeof(err)));
	assert_non_null(strstr(err, "no private key matches"));
	assert_null(hsm_account_open(h, "pkcs11:token=hsmagent-test;slot-id=1",
	    0, err, sizeof(err)));
	hsm_close(h);
}

/*
 * A token fault under the account key (our session closed behind our
 * back): hsm_account_sign opens a new session and signs, as hsm_sign.
 */
static void
test_acme_account_reconnect(void **state)
{
	char			 err[512];
	struct hsm		*h = must_open(getenv("EC_KEY_URI"),
				    "client-ec.crt");
	struct hsm_account	*ak;
	uint8_t			 sig[HSM_MAX_SIG];
	size_t			 siglen = 0;
	static const uint8_t	 in[] = "e30.e30";

	(void)state;
	ak = hsm_account_open(h, getenv("RSA_KEY_URI"), 0, err, sizeof(err));
	assert_non_null(ak);
	assert_int_equal(h->fl->C_CloseSession(h->sess), CKR_OK);
	if (hsm_account_sign(h, ak, in, sizeof(in) - 1, sig, &siglen, err,
	    sizeof(err)) == -1)
		fail_msg("hsm_account_sign after a lost session: %s", err);
	assert_int_equal(siglen, 256);
	/* Once more, on the new session. */
	assert_int_equal(hsm_account_sign(h, ak, in, sizeof(in) - 1, sig,
	    &siglen, err, sizeof(err)), 0);
	hsm_account_close(ak);
	hsm_close(h);
}

/* A 32-byte EAB key, base64url in a 0600 file; its bytes in key. */
static void
eab_key_file(char *path, size_t pathlen, uint8_t key[32])
{
	char	 txt[64];
	int	 fd;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	b64url_encode(key, 32, txt, sizeof(txt));
	snprintf(path, pathlen, "/tmp/test-hsm-eab.XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
	close(fd);
}

/* A request during an enrollment job: a challenge answer ("{}"), or an EAB. */
static enum acme_sign_verdict
answer(struct acme_signer *s, struct hsm *h, uint8_t kind, const char *in,
    uint8_t *sig, size_t *siglen, int *failed)
{
	static const struct acme_job_facts enroll = { .action = CA_ENROLL,
	    .sans_json = "[\"dns:a.test\"]" };
	static struct acme_job_pins	 pins;	/* one job for the whole test */
	struct acme_sign_req	 rq = { .kind = kind, .op = kind == JWS_EAB ?
	    ACME_OP_NEW_ACCOUNT : ACME_OP_CHALLENGE, .input =
	    (const uint8_t *)in, .len = strlen(in), .facts = &enroll,
	    .nnames = 1, .job_pins = &pins };
	char			 err[256];

	return acme_signer_answer(s, h, &rq, sig, siglen, failed, err,
	    sizeof(err));
}

static void
test_acme_signer(void **state)
{
	const char *const	 pfx[] = { "https://ca.test/acme/" };
	const char *const	 badpfx[] = { "https://ca.test" };
	char			 err[512], kf[64], *rsa_jwk;
	struct hsm		*h = must_open(getenv("EC_KEY_URI"),
				    "client-ec.crt");
	struct acme_signer	 s;
	struct hsm_account	*rsa;
	struct acme_jws		 j;
	uint8_t			 key[32], sig[HSM_MAX_SIG], mac[64];
	size_t			 siglen;
	int			 failed;

	(void)state;
	eab_key_file(kf, sizeof(kf), key);
	assert_int_equal(acme_signer_init(&s, h, getenv("EC_KEY_URI"), 0,
	    badpfx, 1, NULL, NULL, NULL, err, sizeof(err)), -1);
	assert_int_equal(acme_signer_init(&s, h, getenv("EC_KEY_URI"), 0, pfx,
	    1, "kid-1", NULL, NULL, err, sizeof(err)), -1);
	if (acme_signer_init(&s, h, getenv("EC_KEY_URI"), 0, pfx, 1, "kid-1",
	    kf, NULL, err, sizeof(err)) != 0)
		fail_msg("acme_signer_init: %s", err);

	/* An account request: checked, signed, verifiable. */
	assert_int_equal(acme_jws_init(&j, "ES256", NULL,
	    "https://ca.test/acme/acct/1", "n0", "https://ca.test/acme/order",
	    "{}", 2), 0);
	assert_int_equal(answer(&s, h, JWS_ACCOUNT, j.signing_input, sig,
	    &siglen, &failed), ACME_SIGN_OK);
	assert_false(failed);
	assert_int_equal(acme_ecdsa_der_to_raw(sig, siglen, mac, 64), 64);
	/* The grant pinned the account; another kid is refused. */
	assert_string_equal(s.pins.url[ACME_PIN_ACCOUNT],
	    "https://ca.test/acme/acct/1");
	acme_jws_free(&j);
	assert_int_equal(acme_jws_init(&j, "ES256", NULL,
	    "https://ca.test/acme/acct/2", "n0", "https://ca.test/acme/order",
	    "{}", 2), 0);
	assert_int_equal(answer(&s, h, JWS_ACCOUNT, j.signing_input, sig,
	    &siglen, &failed), ACME_SIGN_DENY_KEY);
	acme_jws_free(&j);
	assert_int_equal(acme_jws_init(&j, "ES256", NULL,
	    "https://ca.test/acme/acct/1", "n0", "https://ca.test/acme/order",
	    "{}", 2), 0);
	/* The same input as an EAB is refused: an EAB has no nonce. */
	assert_int_equal(answer(&s, h, JWS_EAB, j.signing_input, sig, &siglen,
	    &failed), ACME_SIGN_DENY_NONCE);
	assert_int_equal(siglen, 0);
	acme_jws_free(&j);
	assert_int_equal(acme_jws_init(&j, "ES256", NULL,
	    "https://ca.test/acme/acct/1", "n0", "https://ca.test/other/x",
	    "{}", 2), 0);
	assert_int_equal(answer(&s, h, JWS_ACCOUNT, j.signing_input, sig,
	    &siglen, &failed), ACME_SIGN_DENY_URL);
	acme_jws_free(&j);

	/* The EAB: MACed with the file's key, for our key only. */
	assert_int_equal(acme_eab_init(&j, "kid-1",
	    "https://ca.test/acme/new-acct", s.jwk), 0);
	assert_int_equal(answer(&s, h, JWS_EAB, j.signing_input, sig, &siglen,
	    &failed), ACME_SIGN_OK);
	assert_int_equal(siglen, 32);
	assert_int_equal(acme_hs256(key, 32, j.signing_input,
	    strlen(j.signing_input), mac), 0);
	assert_memory_equal(sig, mac, 32);
	assert_int_equal(answer(&s, h, 9, j.signing_input, sig, &siglen,
	    &failed), ACME_SIGN_DENY_FORMAT);
	/* Without its key file: granted by the checks, failed. */
	unlink(kf);
	assert_int_equal(answer(&s, h, JWS_EAB, j.signing_input, sig, &siglen,
	    &failed), ACME_SIGN_OK);
	assert_true(failed);
	assert_int_equal(siglen, 0);
	acme_jws_free(&j);
	rsa = hsm_account_open(h, getenv("RSA_KEY_URI"), 0, err, sizeof(err));
	assert_non_null(rsa);
	rsa_jwk = acme_jwk(hsm_account_pubkey(rsa));
	assert_int_equal(acme_eab_init(&j, "kid-1",
	    "https://ca.test/acme/new-acct", rsa_jwk), 0);
	assert_int_equal(answer(&s, h, JWS_EAB, j.signing_input, sig, &siglen,
	    &failed), ACME_SIGN_DENY_KEY);
	acme_jws_free(&j);
	free(rsa_jwk);
	hsm_account_close(rsa);
	acme_signer_free(&s);
	hsm_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_signs_every_ec_scheme),
		cmocka_unit_test(test_rsa_signs_every_rsa_scheme),
		cmocka_unit_test(test_prepared_ec),
		cmocka_unit_test(test_prepared_rsa),
		cmocka_unit_test(test_prepared_other_key),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_missing_module),
		cmocka_unit_test(test_new_credential),
		cmocka_unit_test(test_acme_account_key),
		cmocka_unit_test(test_acme_account_reconnect),
		cmocka_unit_test(test_acme_signer),
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
