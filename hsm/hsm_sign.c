/*
 * hsm_sign.c - signatures with explicit PKCS#11 mechanisms (hsm.h): the
 * digest wrapped as the scheme's mechanism wants it, the token's answer
 * checked and put as TLS wants it, and the C_SignInit readied ahead for
 * a handshake (hsm_prepare). hsm.c finds the token and the key and
 * recovers from token faults; this file only signs on its sessions.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "hsm.h"
#include "hsm_int.h"
#include "util.h"

/* DER DigestInfo prefixes, RFC 8017 section 9.2 note 1. */
static const uint8_t di_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	0x04, 0x20 };
static const uint8_t di_sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09,
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
	0x04, 0x30 };
static const uint8_t di_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09,
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00,
	0x04, 0x40 };

/* PKCS#11 returns ECDSA as r||s; TLS wants a DER ECDSA-Sig-Value. */
int
ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t *out,
    size_t *outlen)
{
	ECDSA_SIG	*s = NULL;
	BIGNUM		*r = NULL, *ss = NULL;
	unsigned char	*p = out;
	int		 n, ret = -1;

	if (rawlen == 0 || rawlen % 2 != 0 || rawlen > 2 * 66)
		return -1;
	if ((s = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, (int)rawlen / 2, NULL)) == NULL ||
	    (ss = BN_bin2bn(raw + rawlen / 2, (int)rawlen / 2, NULL)) == NULL ||
	    ECDSA_SIG_set0(s, r, ss) != 1)
		goto out;
	r = ss = NULL;
	if ((n = i2d_ECDSA_SIG(s, NULL)) <= 0 || (size_t)n > HSM_MAX_SIG ||
	    i2d_ECDSA_SIG(s, &p) != n)
		goto out;
	*outlen = (size_t)n;
	ret = 0;
 out:
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return ret;
}

/*
 * The mechanism that signs under scheme: CKM_ECDSA over the digest,
 * CKM_RSA_PKCS over a DigestInfo, CKM_RSA_PKCS_PSS with its parameters
 * in *pss. -1 for a scheme that is none of them.
 */
static int
scheme_mech(enum sign_scheme scheme, CK_MECHANISM *mech,
    CK_RSA_PKCS_PSS_PARAMS *pss)
{
	size_t	 dlen = sign_scheme_digest_len(scheme);

	memset(mech, 0, sizeof(*mech));
	switch (sign_scheme_family(scheme)) {
	case SCHEME_FAMILY_ECDSA:
		mech->mechanism = CKM_ECDSA;
		return 0;
	case SCHEME_FAMILY_RSA_PKCS1:
		mech->mechanism = CKM_RSA_PKCS;
		return 0;
	case SCHEME_FAMILY_RSA_PSS:
		/* Salt length = hash length, as TLS 1.3 requires (RFC 8446 4.2.3). */
		pss->hashAlg = dlen == 32 ? CKM_SHA256 : dlen == 48 ?
		    CKM_SHA384 : CKM_SHA512;
		pss->mgf = dlen == 32 ? CKG_MGF1_SHA256 : dlen == 48 ?
		    CKG_MGF1_SHA384 : CKG_MGF1_SHA512;
		pss->sLen = dlen;
		mech->mechanism = CKM_RSA_PKCS_PSS;
		mech->pParameter = pss;
		mech->ulParameterLen = sizeof(*pss);
		return 0;
	default:
		return -1;
	}
}

/* Do the two schemes sign with the same mechanism and parameters? */
static int
same_mech(enum sign_scheme a, enum sign_scheme b)
{
	enum scheme_family fam = sign_scheme_family(a);

	return fam == sign_scheme_family(b) && (fam != SCHEME_FAMILY_RSA_PSS ||
	    sign_scheme_digest_len(a) == sign_scheme_digest_len(b));
}

void
hsm_drop_prepared(struct hsm *h)
{
	if (h->have_psess && h->fl != NULL)
		h->fl->C_CloseSession(h->psess);
	h->have_psess = 0;
	h->prep_active = 0;
}

void
hsm_forget_prepared(struct hsm *h, uint32_t owner)
{
	if (h->prep_active && h->prep_owner == owner)
		hsm_drop_prepared(h);
}

int
hsm_prepare(struct hsm *h, enum sign_scheme scheme, uint32_t owner)
{
	/*
	 * Another job's, still young, stays its own. Else never one left
	 * from before: a fresh C_SignInit, a fresh age. An operation cannot
	 * be ended without a signature but by closing its session (PKCS#11
	 * 2.40); a session whose operation was used is kept.
	 */
	if (owner == 0 || (h->prep_active && h->prep_owner != owner &&
	    monotime_ms() - h->prep_ms <= HSM_PREPARED_MS))
		return -1;
	if (h->prep_active)
		hsm_drop_prepared(h);
	if (!h->have_sess || sign_scheme_family(scheme) == SCHEME_FAMILY_NONE ||
	    (sign_scheme_family(scheme) == SCHEME_FAMILY_ECDSA) !=
	    (h->type == HSM_KEY_EC) || scheme_mech(scheme, &h->prep_mech,
	    &h->prep_pss) == -1)
		return -1;
	if (!h->have_psess && h->fl->C_OpenSession(
	    PKCS11_get_slotid_from_slot(h->slot), CKF_SERIAL_SESSION, NULL,
	    NULL, &h->psess) != CKR_OK)
		return -1;
	h->have_psess = 1;
	if (h->fl->C_SignInit(h->psess, &h->prep_mech, h->obj) != CKR_OK) {
		hsm_drop_prepared(h);
		return -1;
	}
	h->prep_active = 1;
	h->prep_obj = h->obj;
	h->prep_owner = owner;
	h->prep_scheme = scheme;
	h->prep_ms = monotime_ms();
	return 0;
}

/*
 * What C_Sign is given: the digest, or for PKCS#1 v1.5 the DigestInfo
 * around it. in has room for 19 + 64 bytes; its length, or 0 if the
 * digest does not fit the scheme or the scheme the key.
 */
static size_t
sign_input(enum sign_scheme scheme, enum hsm_key_type type,
    const uint8_t *dgst, size_t dlen, uint8_t *in, char *err, size_t errlen)
{
	enum scheme_family	 fam = sign_scheme_family(scheme);
	const uint8_t		*prefix;

	if (dlen != sign_scheme_digest_len(scheme) || dlen > 64) {
		snprintf(err, errlen, "digest length %zu does not fit scheme",
		    dlen);
		return 0;
	}
	if ((fam == SCHEME_FAMILY_ECDSA) != (type == HSM_KEY_EC)) {
		snprintf(err, errlen, "scheme %s does not fit the key",
		    sign_scheme_name(scheme));
		return 0;
	}
	if (fam != SCHEME_FAMILY_RSA_PKCS1) {
		memcpy(in, dgst, dlen);
		return dlen;
	}
	prefix = dlen == 32 ? di_sha256 : dlen == 48 ? di_sha384 : di_sha512;
	memcpy(in, prefix, sizeof(di_sha256));
	memcpy(in + sizeof(di_sha256), dgst, dlen);
	return sizeof(di_sha256) + dlen;
}

/* The token's answer as TLS wants it: DER for ECDSA, checked in size. */
static int
sign_output(enum sign_scheme scheme, int bits, const uint8_t *raw,
    CK_ULONG rawlen, uint8_t *sig, size_t *siglen, char *err, size_t errlen)
{
	size_t	 ec_half = (size_t)(bits + 7) / 8;

	if (sign_scheme_family(scheme) == SCHEME_FAMILY_ECDSA) {
		if (rawlen != 2 * ec_half ||
		    ecdsa_raw_to_der(raw, rawlen, sig, siglen) == -1) {
			snprintf(err, errlen, "token returned a malformed "
			    "ECDSA signature (%lu bytes)", (unsigned long)rawlen);
			return -1;
		}
		return 0;
	}
	if (rawlen != (CK_ULONG)(bits + 7) / 8 || rawlen > HSM_MAX_SIG) {
		snprintf(err, errlen, "token returned %lu bytes for a %d-bit "
		    "RSA key", (unsigned long)rawlen, bits);
		return -1;
	}
	memcpy(sig, raw, rawlen);
	*siglen = rawlen;
	return 0;
}

/*
 * The prepared signing, when it is owner's, for this key and mechanism
 * and still young: C_Sign alone. 1 when there is none to use (another
 * owner's is left for it, any other dropped), 0 signed, -1 failed (then
 * the caller signs the ordinary way, which reports the token's error).
 */
static int
sign_prepared(struct hsm *h, uint32_t owner, enum sign_scheme scheme,
    const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen)
{
	uint8_t		 in[19 + 64], raw[HSM_MAX_SIG];
	CK_ULONG	 rawlen = sizeof(raw);
	size_t		 inlen;
	char		 err[8];
	int		 r = -1;

	if (!h->prep_active)
		return 1;
	if (h->prep_obj != h->obj ||
	    monotime_ms() - h->prep_ms > HSM_PREPARED_MS) {
		hsm_drop_prepared(h);
		return 1;
	}
	/* Another job's signature: its own operation stays on psess. */
	if (owner != h->prep_owner)
		return 1;
	if (!same_mech(h->prep_scheme, scheme)) {
		hsm_drop_prepared(h);
		return 1;
	}
	/* C_Sign ends the operation, whatever it answers but for a length. */
	h->prep_active = 0;
	if ((inlen = sign_input(scheme, h->type, dgst, dlen, in, err,
	    sizeof(err))) != 0 && h->fl->C_Sign(h->psess, in, inlen, raw,
	    &rawlen) == CKR_OK)
		r = sign_output(scheme, h->bits, raw, rawlen, sig, siglen, err,
		    sizeof(err));
	explicit_bzero(in, sizeof(in));
	explicit_bzero(raw, sizeof(raw));
	if (r == -1)
		hsm_drop_prepared(h);
	else
		h->prep_used++;
	return r;
}

uint64_t
hsm_prepared_used(const struct hsm *h)
{
	return h->prep_used;
}

int
hsm_sign(struct hsm *h, uint32_t owner, enum sign_scheme scheme,
    const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen,
    char *err, size_t errlen)
{
	if (h->have_sess && sign_prepared(h, owner, scheme, dgst, dlen, sig,
	    siglen) == 0)
		return 0;
	if (h->have_sess && hsm_sign_obj(h, h->obj, h->type, h->bits, scheme,
	    dgst, dlen, sig, siglen, err, errlen) == 0)
		return 0;
	if (hsm_recover(h, err, errlen) == -1)
		return -1;
	return hsm_sign_obj(h, h->obj, h->type, h->bits, scheme, dgst, dlen,
	    sig, siglen, err, errlen);
}

int
hsm_sign_obj(struct hsm *h, CK_OBJECT_HANDLE obj, enum hsm_key_type type,
    int bits, enum sign_scheme scheme, const uint8_t *dgst, size_t dlen,
    uint8_t *sig, size_t *siglen, char *err, size_t errlen)
{
	CK_RSA_PKCS_PSS_PARAMS	 pss;
	CK_MECHANISM		 mech;
	uint8_t			 in[19 + 64], raw[HSM_MAX_SIG];
	size_t			 inlen;
	CK_ULONG		 rawlen = sizeof(raw);
	CK_RV			 rv;

	if ((inlen = sign_input(scheme, type, dgst, dlen, in, err,
	    errlen)) == 0)
		return -1;
	if (scheme_mech(scheme, &mech, &pss) == -1) {
		snprintf(err, errlen, "unknown scheme %u", (unsigned)scheme);
		explicit_bzero(in, sizeof(in));
		return -1;
	}
	h->last_rv = CKR_OK;
	if ((rv = h->fl->C_SignInit(h->sess, &mech, obj)) != CKR_OK ||
	    (rv = h->fl->C_Sign(h->sess, in, inlen, raw, &rawlen)) != CKR_OK) {
		h->last_rv = rv;
		snprintf(err, errlen, "C_Sign(%s): %s (0x%lx)",
		    sign_scheme_name(scheme), ckr_name(rv), (unsigned long)rv);
		explicit_bzero(in, sizeof(in));
		return -1;
	}
	explicit_bzero(in, sizeof(in));
	return sign_output(scheme, bits, raw, rawlen, sig, siglen, err, errlen);
}
