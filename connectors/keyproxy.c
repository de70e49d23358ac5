/*
 * keyproxy.c - the proxy private key of the connector child.
 *
 * THIS IS THE ONLY FILE THAT USES OPENSSL'S DEPRECATED KEY-METHOD API
 * (RSA_METHOD, EC_KEY_METHOD, EVP_PKEY_METHOD, RSA/EC_KEY ex_data, and
 * the ENGINE that lends those EVP_PKEY_METHODs, below).
 * Why: OpenSSL 3.0 offers two ways to make libssl sign with a key it
 * does not hold, a provider or the legacy methods. Debian 12 has no
 * PKCS#11 or remote-signing provider, and a provider of our own is about
 * a thousand lines of KEYMGMT + SIGNATURE code (notes/feasibility.md
 * section 8). The legacy methods still work in 3.0: a key whose RSA or
 * EC_KEY carries a non-default method is "foreign", and EVP_PKEY_CTX
 * then uses the legacy EVP_PKEY_METHOD, whose digestsign() and sign() we
 * replace. EVP_DigestSign() (libssl's one call for CertificateVerify)
 * goes to digestsign() with the whole content, so a TLS 1.3 content is
 * recognised and only its transcript hash leaves the child; sign()
 * receives a digest with its parameters (hash, RSA padding, PSS salt
 * length), for TLS 1.2 where a connector allows it.
 * The long-term path is an OpenSSL 3 provider; OpenSSL 4 removes these
 * calls. OPENSSL_SUPPRESS_DEPRECATED is set in this file alone.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/ec.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "keyproxy.h"
#include "log.h"
#include "tls13_cv.h"

typedef int (*pmeth_sign_fn)(EVP_PKEY_CTX *, unsigned char *, size_t *,
    const unsigned char *, size_t);
typedef int (*pmeth_sign_init_fn)(EVP_PKEY_CTX *);

static keyproxy_sign_fn	 proxy_fn;
static void		*proxy_arg;
static int		 rsa_idx = -1, ec_idx = -1;
static RSA_METHOD	*rsa_meth;
static EC_KEY_METHOD	*ec_meth;
static pmeth_sign_fn	 rsa_orig_sign, ec_orig_sign;
static EVP_PKEY_METHOD	*rsa_pmeth, *ec_pmeth;	/* the application list's */
static EVP_PKEY_METHOD	*eng_rsa_pmeth, *eng_ec_pmeth;	/* the ENGINE's copies */

/*
 * ex_data holds (job_id << 2) | (allow_tls12 << 1) | 1, so "ours" is
 * simply non-NULL.
 */
static void *
tag_job(uint32_t job_id, int allow_tls12)
{
	return (void *)(((uintptr_t)job_id << 2) |
	    ((uintptr_t)(allow_tls12 != 0) << 1) | 1);
}

static int
proxy_job(EVP_PKEY *pkey, uint32_t *job_id, int *allow_tls12)
{
	void *tag = NULL;

	if (pkey == NULL)
		return 0;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
		const RSA *rsa = EVP_PKEY_get0_RSA(pkey);

		if (rsa != NULL && RSA_get_method(rsa) == rsa_meth)
			tag = RSA_get_ex_data(rsa, rsa_idx);
	} else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
		const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(pkey);

		if (ec != NULL && EC_KEY_get_method(ec) == ec_meth)
			tag = EC_KEY_get_ex_data(ec, ec_idx);
	}
	if (tag == NULL)
		return 0;
	*job_id = (uint32_t)((uintptr_t)tag >> 2);
	*allow_tls12 = ((uintptr_t)tag >> 1) & 1;
	return 1;
}

static enum sign_scheme
scheme_for(enum scheme_family fam, int md_nid)
{
	static const struct {
		enum scheme_family	fam;
		int			nid;
		enum sign_scheme	scheme;
	} map[] = {
		{ SCHEME_FAMILY_ECDSA, NID_sha256, SCHEME_ECDSA_SHA256 },
		{ SCHEME_FAMILY_ECDSA, NID_sha384, SCHEME_ECDSA_SHA384 },
		{ SCHEME_FAMILY_ECDSA, NID_sha512, SCHEME_ECDSA_SHA512 },
		{ SCHEME_FAMILY_RSA_PKCS1, NID_sha256, SCHEME_RSA_PKCS1_SHA256 },
		{ SCHEME_FAMILY_RSA_PKCS1, NID_sha384, SCHEME_RSA_PKCS1_SHA384 },
		{ SCHEME_FAMILY_RSA_PKCS1, NID_sha512, SCHEME_RSA_PKCS1_SHA512 },
		{ SCHEME_FAMILY_RSA_PSS, NID_sha256, SCHEME_RSA_PSS_SHA256 },
		{ SCHEME_FAMILY_RSA_PSS, NID_sha384, SCHEME_RSA_PSS_SHA384 },
		{ SCHEME_FAMILY_RSA_PSS, NID_sha512, SCHEME_RSA_PSS_SHA512 },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].fam == fam && map[i].nid == md_nid)
			return map[i].scheme;
	}
	return 0;
}

/* Works out the scheme from the context's parameters; 0 if unsupported. */
static enum sign_scheme
ctx_scheme(EVP_PKEY_CTX *ctx, int is_rsa)
{
	const EVP_MD	*md = NULL, *mgf1 = NULL;
	int		 pad = 0, saltlen = 0;

	if (EVP_PKEY_CTX_get_signature_md(ctx, &md) <= 0 || md == NULL)
		return 0;
	if (!is_rsa)
		return scheme_for(SCHEME_FAMILY_ECDSA, EVP_MD_get_type(md));
	if (EVP_PKEY_CTX_get_rsa_padding(ctx, &pad) <= 0)
		return 0;
	if (pad == RSA_PKCS1_PADDING)
		return scheme_for(SCHEME_FAMILY_RSA_PKCS1, EVP_MD_get_type(md));
	if (pad != RSA_PKCS1_PSS_PADDING)
		return 0;
	/* TLS uses salt = hash length and MGF1 with the same hash. */
	if (EVP_PKEY_CTX_get_rsa_pss_saltlen(ctx, &saltlen) <= 0 ||
	    (saltlen != RSA_PSS_SALTLEN_DIGEST && saltlen != EVP_MD_get_size(md)))
		return 0;
	if (EVP_PKEY_CTX_get_rsa_mgf1_md(ctx, &mgf1) > 0 && mgf1 != NULL &&
	    EVP_MD_get_type(mgf1) != EVP_MD_get_type(md))
		return 0;
	return scheme_for(SCHEME_FAMILY_RSA_PSS, EVP_MD_get_type(md));
}

/* A digest (TLS 1.2), only for a key that allows TLS 1.2. */
static int
proxy_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen, int is_rsa)
{
	EVP_PKEY		*pkey = EVP_PKEY_CTX_get0_pkey(ctx);
	uint32_t		 job_id;
	int			 tls12;
	enum sign_scheme	 scheme;
	size_t			 max = (size_t)EVP_PKEY_get_size(pkey);

	if (!proxy_job(pkey, &job_id, &tls12)) {
		pmeth_sign_fn orig = is_rsa ? rsa_orig_sign : ec_orig_sign;

		return orig != NULL ? orig(ctx, sig, siglen, tbs, tbslen) : 0;
	}
	if (sig == NULL) {		/* size query */
		*siglen = max;
		return 1;
	}
	if (!tls12) {
		log_warn("keyproxy: job %u: a bare digest to sign, and the "
		    "connector allows TLS 1.3 only: refused", job_id);
		return 0;
	}
	if ((scheme = ctx_scheme(ctx, is_rsa)) == 0 ||
	    tbslen != sign_scheme_digest_len(scheme)) {
		log_warn("keyproxy: job %u: unsupported signature parameters "
		    "(digest %zu bytes)", job_id, tbslen);
		return 0;
	}
	if (*siglen < max)
		return 0;
	if (proxy_fn(proxy_arg, job_id, 0, scheme, tbs, tbslen, sig, siglen,
	    *siglen) == -1)
		return 0;
	return 1;
}

/*
 * EVP_DigestSign() on a proxy key: the whole content. A TLS 1.3 client
 * CertificateVerify content goes to the parent as its transcript hash;
 * anything else is hashed here and signed as a TLS 1.2 digest, where the
 * key allows that.
 */
static int
proxy_digestsign(EVP_MD_CTX *mctx, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen, int is_rsa)
{
	EVP_PKEY_CTX		*ctx = EVP_MD_CTX_get_pkey_ctx(mctx);
	EVP_PKEY		*pkey = ctx ? EVP_PKEY_CTX_get0_pkey(ctx) : NULL;
	uint32_t		 job_id;
	int			 tls12;
	enum sign_scheme	 scheme;
	const uint8_t		*hash;
	size_t			 hlen, max;
	uint8_t			 dg[EVP_MAX_MD_SIZE];
	unsigned int		 n = 0;
	const EVP_MD		*md;

	if (!proxy_job(pkey, &job_id, &tls12)) {
		log_warn("keyproxy: EVP_DigestSign on a key that is no proxy");
		return 0;
	}
	max = (size_t)EVP_PKEY_get_size(pkey);
	if (sig == NULL) {		/* size query */
		*siglen = max;
		return 1;
	}
	if ((scheme = ctx_scheme(ctx, is_rsa)) == 0 || *siglen < max) {
		log_warn("keyproxy: job %u: unsupported signature parameters",
		    job_id);
		return 0;
	}
	/*
	 * The transcript hash is the cipher suite's (SHA-256 or SHA-384),
	 * not necessarily the signature scheme's: the parent hashes the
	 * content with the scheme's.
	 */
	if (tls13_cv_split(tbs, tbslen, &hash, &hlen)) {
		return proxy_fn(proxy_arg, job_id, 1, scheme, hash, hlen, sig,
		    siglen, *siglen) == 0;
	}
	if (!tls12) {
		log_warn("keyproxy: job %u: asked to sign %zu bytes that are no "
		    "TLS 1.3 CertificateVerify, and the connector allows TLS "
		    "1.3 only: refused", job_id, tbslen);
		return 0;
	}
	if (EVP_PKEY_CTX_get_signature_md(ctx, &md) <= 0 || md == NULL ||
	    EVP_Digest(tbs, tbslen, dg, &n, md, NULL) != 1 ||
	    n != sign_scheme_digest_len(scheme))
		return 0;
	return proxy_fn(proxy_arg, job_id, 0, scheme, dg, n, sig, siglen,
	    *siglen) == 0;
}

static int
proxy_rsa_digestsign(EVP_MD_CTX *mctx, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	return proxy_digestsign(mctx, sig, siglen, tbs, tbslen, 1);
}

static int
proxy_ec_digestsign(EVP_MD_CTX *mctx, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	return proxy_digestsign(mctx, sig, siglen, tbs, tbslen, 0);
}

static int
proxy_rsa_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	return proxy_sign(ctx, sig, siglen, tbs, tbslen, 1);
}

static int
proxy_ec_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	return proxy_sign(ctx, sig, siglen, tbs, tbslen, 0);
}

/*
 * Private operations below the EVP layer must never run on a proxy key:
 * there is no private key here, and no raw-RSA path to the parent.
 */
static int
refuse_rsa_priv(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	(void)flen; (void)from; (void)to; (void)rsa; (void)padding;
	log_warn("keyproxy: raw RSA private operation refused");
	return -1;
}

static int
refuse_ec_sign(int type, const unsigned char *dgst, int dlen,
    unsigned char *sig, unsigned int *siglen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *eckey)
{
	(void)type; (void)dgst; (void)dlen; (void)sig; (void)siglen;
	(void)kinv; (void)r; (void)eckey;
	log_warn("keyproxy: direct ECDSA on the proxy key refused");
	return 0;
}

static ECDSA_SIG *
refuse_ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *eckey)
{
	(void)dgst; (void)dlen; (void)kinv; (void)r; (void)eckey;
	return NULL;
}

typedef int (*pmeth_digestsign_fn)(EVP_MD_CTX *, unsigned char *, size_t *,
    const unsigned char *, size_t);

static int
hook_pmeth(int id, pmeth_sign_fn mine, pmeth_digestsign_fn digestsign,
    pmeth_sign_fn *orig, EVP_PKEY_METHOD **out)
{
	const EVP_PKEY_METHOD	*std = EVP_PKEY_meth_find(id);
	EVP_PKEY_METHOD		*m;
	pmeth_sign_init_fn	 init = NULL;

	if (std == NULL || (m = EVP_PKEY_meth_new(id, 0)) == NULL)
		return -1;
	EVP_PKEY_meth_copy(m, std);
	EVP_PKEY_meth_get_sign(std, &init, orig);
	EVP_PKEY_meth_set_sign(m, init, mine);
	EVP_PKEY_meth_set_digestsign(m, digestsign);
	if (EVP_PKEY_meth_add0(m) != 1) {
		EVP_PKEY_meth_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

/*
 * An ENGINE that offers the two methods hooked above, and nothing else.
 * It changes one thing: OpenSSL 3.0 decodes an RSA or EC public key in
 * a certificate (the CA's chain, the client certificate) with the key
 * type's own legacy method when an ENGINE is registered for that type,
 * and otherwise builds a provider decoder for every key, a lookup over
 * all decoders of every provider: 15 % of the child's CPU per mTLS
 * handshake, 0.33 ms here (bench/README.md). A program that loads
 * libp11's engine decodes so already. Everything else is as without it:
 * a context for these types made with no engine already took the hooked
 * method (added with EVP_PKEY_meth_add0), and the ENGINE hands out the
 * same methods. It touches no file, and is registered before the sandbox.
 * An ENGINE frees the methods it hands out when it goes (at exit), and
 * the application list frees its own: so the ENGINE hands out copies.
 */
static const int pmeth_nids[] = { EVP_PKEY_RSA, EVP_PKEY_EC };

static int
engine_pmeths(ENGINE *e, EVP_PKEY_METHOD **pmeth, const int **nids, int nid)
{
	(void)e;
	if (pmeth == NULL) {
		*nids = pmeth_nids;
		return (int)(sizeof(pmeth_nids) / sizeof(pmeth_nids[0]));
	}
	*pmeth = nid == EVP_PKEY_RSA ? eng_rsa_pmeth : nid == EVP_PKEY_EC ?
	    eng_ec_pmeth : NULL;
	return *pmeth != NULL;
}

static EVP_PKEY_METHOD *
copy_pmeth(int id, const EVP_PKEY_METHOD *from)
{
	EVP_PKEY_METHOD *m = EVP_PKEY_meth_new(id, 0);

	if (m != NULL)
		EVP_PKEY_meth_copy(m, from);
	return m;
}

static int
register_engine(void)
{
	ENGINE	*e;
	int	 ok;

	if ((eng_rsa_pmeth = copy_pmeth(EVP_PKEY_RSA, rsa_pmeth)) == NULL ||
	    (eng_ec_pmeth = copy_pmeth(EVP_PKEY_EC, ec_pmeth)) == NULL ||
	    (e = ENGINE_new()) == NULL) {
		EVP_PKEY_meth_free(eng_rsa_pmeth);
		EVP_PKEY_meth_free(eng_ec_pmeth);
		eng_rsa_pmeth = eng_ec_pmeth = NULL;
		return -1;
	}
	/* The engine list keeps it; the method table holds no reference. */
	ok = ENGINE_set_id(e, "hsmagent-keyproxy") == 1 &&
	    ENGINE_set_name(e, "hsmagent proxy key methods") == 1 &&
	    ENGINE_set_pkey_meths(e, engine_pmeths) == 1 &&
	    ENGINE_add(e) == 1 && ENGINE_register_pkey_meths(e) == 1;
	ENGINE_free(e);
	return ok ? 0 : -1;
}

int
keyproxy_init(keyproxy_sign_fn fn, void *arg)
{
	int (*ec_setup)(EC_KEY *, BN_CTX *, BIGNUM **, BIGNUM **) = NULL;

	proxy_fn = fn;
	proxy_arg = arg;
	if ((rsa_idx = RSA_get_ex_new_index(0, NULL, NULL, NULL, NULL)) < 0 ||
	    (ec_idx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL)) < 0)
		return -1;
	if ((rsa_meth = RSA_meth_dup(RSA_PKCS1_OpenSSL())) == NULL ||
	    RSA_meth_set1_name(rsa_meth, "hsmagent-proxy") != 1 ||
	    RSA_meth_set_priv_enc(rsa_meth, refuse_rsa_priv) != 1 ||
	    RSA_meth_set_priv_dec(rsa_meth, refuse_rsa_priv) != 1 ||
	    RSA_meth_set_flags(rsa_meth, RSA_meth_get_flags(rsa_meth) |
	    RSA_METHOD_FLAG_NO_CHECK) != 1)
		return -1;
	if ((ec_meth = EC_KEY_METHOD_new(EC_KEY_OpenSSL())) == NULL)
		return -1;
	EC_KEY_METHOD_get_sign(EC_KEY_OpenSSL(), NULL, &ec_setup, NULL);
	EC_KEY_METHOD_set_sign(ec_meth, refuse_ec_sign, ec_setup,
	    refuse_ec_sign_sig);
	if (hook_pmeth(EVP_PKEY_RSA, proxy_rsa_sign, proxy_rsa_digestsign,
	    &rsa_orig_sign, &rsa_pmeth) == -1 || hook_pmeth(EVP_PKEY_EC,
	    proxy_ec_sign, proxy_ec_digestsign, &ec_orig_sign, &ec_pmeth) == -1 ||
	    register_engine() == -1)
		return -1;
	return 0;
}

EVP_PKEY *
keyproxy_new(X509 *leaf, uint32_t job_id, int allow_tls12)
{
	EVP_PKEY	*pub = X509_get0_pubkey(leaf), *pk = NULL;
	RSA		*rsa = NULL;
	EC_KEY		*ec = NULL;

	if (pub == NULL || (pk = EVP_PKEY_new()) == NULL)
		goto fail;
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_RSA:
		/* A legacy copy we own: libssl must see our method on it. */
		if ((rsa = RSAPublicKey_dup(EVP_PKEY_get0_RSA(pub))) == NULL ||
		    RSA_set_method(rsa, rsa_meth) != 1 ||
		    RSA_set_ex_data(rsa, rsa_idx, tag_job(job_id, allow_tls12)) != 1 ||
		    EVP_PKEY_assign_RSA(pk, rsa) != 1)
			goto fail;
		return pk;
	case EVP_PKEY_EC:
		if ((ec = EC_KEY_dup(EVP_PKEY_get0_EC_KEY(pub))) == NULL ||
		    EC_KEY_set_method(ec, ec_meth) != 1 ||
		    EC_KEY_set_ex_data(ec, ec_idx, tag_job(job_id, allow_tls12)) != 1 ||
		    EVP_PKEY_assign_EC_KEY(pk, ec) != 1)
			goto fail;
		return pk;
	default:
		log_warn("keyproxy: client certificate key is neither RSA "
		    "nor EC");
	}
 fail:
	RSA_free(rsa);
	EC_KEY_free(ec);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return NULL;
}
