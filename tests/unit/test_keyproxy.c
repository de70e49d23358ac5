/*
 * test_keyproxy.c - the child's OpenSSL set-up after keyproxy_init():
 *  - certificate public keys (EC, RSA) decode the legacy way, without
 *    OpenSSL 3.0's per-key decoder lookup, and a certificate signature
 *    check still takes the issuer's signature and refuses a forged or
 *    foreign one;
 *  - the proxy key still sends a TLS 1.3 CertificateVerify to the sign
 *    function as its transcript hash alone, and what that function signs
 *    verifies against the certificate;
 *  - a bare digest on a TLS 1.3-only proxy key never reaches it;
 *  - a certificate's key still matches its CSR's, and no other key
 *    (ca_job.c and pem_bundle.c pick the CA's certificate so).
 * The real keys are made before keyproxy_init(), as the parent's are in
 * another process: after it, "EC" contexts made by name are legacy ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "keyproxy.h"
#include "tls13_cv.h"

struct keypair {
	EVP_PKEY	*key;		/* the real key, provider-made */
	uint8_t		*der;		/* its self-signed certificate */
	int		 derlen;
	uint8_t		*req;		/* a CSR for it */
	int		 reqlen;
};

static struct keypair	ec, rsa, other;

/*
 * What the parent would do: build the content again, hash it and sign
 * the digest. (In this process a real EC or RSA key's EVP_DigestSign
 * would meet the proxy's hook, which signs for proxy keys only; the
 * digest goes to the standard method's sign.)
 */
static int		 calls;
static uint32_t		 seen_job;
static int		 seen_tls13;
static size_t		 seen_len;
static EVP_PKEY		*signer;

/* RSA-PSS as TLS 1.3 signs: the digest's length of salt. 1 if set. */
static int
use_pss(EVP_PKEY_CTX *pc)
{
	return EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1;
}

static int
sign_fn(void *arg, uint32_t job_id, int tls13, enum sign_scheme scheme,
    const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen,
    size_t cap)
{
	EVP_PKEY_CTX	*pc = EVP_PKEY_CTX_new(signer, NULL);
	uint8_t		 content[TLS13_CV_MAX], dg[32];
	int		 n, ok;

	(void)arg;
	calls++;
	seen_job = job_id;
	seen_tls13 = tls13;
	seen_len = len;
	*siglen = cap;
	ok = pc != NULL && tls13 && (n = tls13_cv_content(data, len, content,
	    sizeof(content))) > 0 &&
	    EVP_Digest(content, (size_t)n, dg, NULL, EVP_sha256(), NULL) == 1 &&
	    EVP_PKEY_sign_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
	    (scheme != SCHEME_RSA_PSS_SHA256 || use_pss(pc)) &&
	    EVP_PKEY_sign(pc, sig, siglen, dg, sizeof(dg)) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : -1;
}

static void
self_signed(struct keypair *kp, EVP_PKEY *key, const char *cn)
{
	X509		*x = X509_new();
	X509_NAME	*name = X509_NAME_new();
	X509_REQ	*r = X509_REQ_new();

	assert_non_null(key);
	kp->key = key;
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	kp->der = NULL;
	assert_true((kp->derlen = i2d_X509(x, &kp->der)) > 0);
	assert_non_null(r);
	assert_int_equal(X509_REQ_set_subject_name(r, name), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, key), 1);
	assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
	kp->req = NULL;
	assert_true((kp->reqlen = i2d_X509_REQ(r, &kp->req)) > 0);
	X509_REQ_free(r);
	X509_NAME_free(name);
	X509_free(x);
}

static int
group_setup(void **state)
{
	(void)state;
	self_signed(&ec, EVP_EC_gen("P-256"), "ec");
	self_signed(&rsa, EVP_RSA_gen(2048), "rsa");
	self_signed(&other, EVP_EC_gen("P-256"), "other");
	return keyproxy_init(sign_fn, NULL) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	struct keypair *all[] = { &ec, &rsa, &other };

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		EVP_PKEY_free(all[i]->key);
		OPENSSL_free(all[i]->der);
		OPENSSL_free(all[i]->req);
	}
	return 0;
}

static X509 *
parse(const struct keypair *kp)
{
	const uint8_t	*p = kp->der;
	X509		*x = d2i_X509(NULL, &p, kp->derlen);

	assert_non_null(x);
	return x;
}

static void
legacy_decode_and_verify(const struct keypair *kp, int base_id)
{
	X509		*x = parse(kp), *o = parse(&other);
	EVP_PKEY	*pub = X509_get0_pubkey(x);
	uint8_t		*bad = malloc((size_t)kp->derlen);
	const uint8_t	*p = bad;
	X509		*forged;

	assert_non_null(pub);
	assert_int_equal(EVP_PKEY_get_base_id(pub), base_id);
	/* Decoded by the key type's own method, not a provider's decoder. */
	assert_null(EVP_PKEY_get0_provider(pub));
	assert_int_equal(X509_verify(x, pub), 1);
	/* Signed by another key: refused. */
	assert_true(X509_verify(o, pub) <= 0);
	/* The last byte of the signature changed: refused. */
	memcpy(bad, kp->der, (size_t)kp->derlen);
	bad[kp->derlen - 1] ^= 0x01;
	forged = d2i_X509(NULL, &p, kp->derlen);
	assert_non_null(forged);
	assert_true(X509_verify(forged, pub) <= 0);
	X509_free(forged);
	free(bad);
	X509_free(o);
	X509_free(x);
}

static void
test_ec_certificate(void **state)
{
	(void)state;
	legacy_decode_and_verify(&ec, EVP_PKEY_EC);
}

static void
test_rsa_certificate(void **state)
{
	(void)state;
	legacy_decode_and_verify(&rsa, EVP_PKEY_RSA);
}

static void
proxy_signs_tls13(const struct keypair *kp, int pss)
{
	X509		*x = parse(kp);
	EVP_PKEY	*proxy = keyproxy_new(x, 41, 0);
	EVP_MD_CTX	*m = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pc = NULL;
	uint8_t		 hash[32], content[TLS13_CV_MAX], sig[512];
	size_t		 siglen = sizeof(sig);
	int		 n;

	assert_non_null(proxy);
	memset(hash, 0xa5, sizeof(hash));
	n = tls13_cv_content(hash, sizeof(hash), content, sizeof(content));
	assert_true(n > 0);
	calls = 0;
	signer = kp->key;
	assert_int_equal(EVP_DigestSignInit(m, &pc, EVP_sha256(), NULL, proxy),
	    1);
	if (pss)
		assert_int_equal(use_pss(pc), 1);
	assert_int_equal(EVP_DigestSign(m, sig, &siglen, content, (size_t)n),
	    1);
	assert_int_equal(calls, 1);
	assert_int_equal(seen_job, 41);
	assert_int_equal(seen_tls13, 1);
	assert_int_equal(seen_len, sizeof(hash));
	/* What came back verifies against the certificate's key. */
	EVP_MD_CTX_reset(m);
	pc = NULL;
	assert_int_equal(EVP_DigestVerifyInit(m, &pc, EVP_sha256(), NULL,
	    X509_get0_pubkey(x)), 1);
	if (pss)
		assert_int_equal(use_pss(pc), 1);
	assert_int_equal(EVP_DigestVerify(m, sig, siglen, content, (size_t)n),
	    1);
	/* The proxy matches its certificate, as SSL_CTX_use_PrivateKey asks. */
	assert_int_equal(X509_check_private_key(x, proxy), 1);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(proxy);
	X509_free(x);
}

static void
test_proxy_ec_tls13(void **state)
{
	(void)state;
	proxy_signs_tls13(&ec, 0);
}

static void
test_proxy_rsa_pss_tls13(void **state)
{
	(void)state;
	proxy_signs_tls13(&rsa, 1);
}

/* TLS 1.3 only: a digest, or any other content, is refused in the child. */
static void
test_proxy_refuses_other_content(void **state)
{
	X509		*x = parse(&ec);
	EVP_PKEY	*proxy = keyproxy_new(x, 42, 0);
	EVP_MD_CTX	*m = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pc;
	uint8_t		 dg[32], sig[256];
	size_t		 siglen = sizeof(sig);
	static const char jws[] = "eyJhbGciOiJFUzI1NiJ9.e30";

	(void)state;
	assert_non_null(proxy);
	calls = 0;
	assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, proxy),
	    1);
	assert_int_not_equal(EVP_DigestSign(m, sig, &siglen,
	    (const uint8_t *)jws, sizeof(jws) - 1), 1);
	memset(dg, 0x11, sizeof(dg));
	siglen = sizeof(sig);
	assert_non_null(pc = EVP_PKEY_CTX_new(proxy, NULL));
	assert_int_equal(EVP_PKEY_sign_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()), 1);
	assert_int_not_equal(EVP_PKEY_sign(pc, sig, &siglen, dg, sizeof(dg)),
	    1);
	assert_int_equal(calls, 0);
	EVP_PKEY_CTX_free(pc);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(proxy);
	X509_free(x);
}

static X509_REQ *
parse_req(const struct keypair *kp)
{
	const uint8_t	*p = kp->req;
	X509_REQ	*r = d2i_X509_REQ(NULL, &p, kp->reqlen);

	assert_non_null(r);
	return r;
}

static void
test_certificate_matches_csr(void **state)
{
	X509		*x = parse(&ec);
	X509_REQ	*same = parse_req(&ec), *oth = parse_req(&other),
			*rsareq = parse_req(&rsa);

	(void)state;
	assert_int_equal(X509_REQ_verify(same, X509_REQ_get0_pubkey(same)), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x),
	    X509_REQ_get0_pubkey(same)), 1);
	assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(x),
	    X509_REQ_get0_pubkey(oth)), 1);
	assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(x),
	    X509_REQ_get0_pubkey(rsareq)), 1);
	/* Against the same key made by the provider: still the same key. */
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), ec.key), 1);
	assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(x), other.key), 1);
	X509_REQ_free(rsareq);
	X509_REQ_free(oth);
	X509_REQ_free(same);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_certificate),
		cmocka_unit_test(test_rsa_certificate),
		cmocka_unit_test(test_proxy_ec_tls13),
		cmocka_unit_test(test_proxy_rsa_pss_tls13),
		cmocka_unit_test(test_proxy_refuses_other_content),
		cmocka_unit_test(test_certificate_matches_csr),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
