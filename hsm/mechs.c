/*
 * mechs.c - what a key's signatures need from its token, checked when the
 * key is taken into use (start, a reopening, a rotated certificate), so
 * that a token that cannot do it is named at once, in one line, and not
 * at the first TLS handshake.
 *
 * Tokens differ here (README.md, "PKCS#11 modules"): SoftHSM2 does every
 * mechanism and ignores CKA_ALLOWED_MECHANISMS; tpm2-pkcs11 1.9 sets
 * CKA_ALLOWED_MECHANISMS on its keys, signs with CKM_RSA_PKCS_PSS (salt =
 * digest length only) but leaves it out of C_GetMechanismList. So the
 * mechanism list alone would refuse a token that works, and trusting it
 * alone would accept a token that refuses the salt length TLS 1.3 wants.
 * For each mechanism the key's role needs:
 *   1. the key's CKA_ALLOWED_MECHANISMS, when the token sets one, must
 *      hold it;
 *   2. a test signature of a random digest with exactly the parameters
 *      the agent uses (hsm_sign_obj), verified here with the key's public
 *      key, must pass. The digest is random and the signature is thrown
 *      away: it signs nothing anyone could use.
 * Whether the token lists the mechanism only changes what is logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "hsm_int.h"
#include "log.h"

struct need {
	CK_MECHANISM_TYPE	 mech;
	const char		*mech_name;
	enum sign_scheme	 scheme;	/* the test signature's */
	const char		*params;	/* for messages, or "" */
	const char		*why;		/* what needs it */
	int			 required;	/* else: a warning */
};

static const struct need tls_ec[] = {
	{ CKM_ECDSA, "CKM_ECDSA", SCHEME_ECDSA_SHA256, "",
	    "every TLS signature with an EC key", 1 },
};
static const struct need tls_rsa[] = {
	{ CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS", SCHEME_RSA_PSS_SHA256,
	    " (salt = digest length)", "TLS 1.3 with an RSA key", 1 },
	{ CKM_RSA_PKCS, "CKM_RSA_PKCS", SCHEME_RSA_PKCS1_SHA256, "",
	    "a TLS 1.2 server that asks for PKCS#1 v1.5 (TLS 1.3 and "
	    "other servers are not affected)", 0 },
};
static const struct need jws_ec[] = {
	{ CKM_ECDSA, "CKM_ECDSA", SCHEME_ECDSA_SHA256, "",
	    "ES256 signatures (ACME account, audit checkpoint)", 1 },
};
static const struct need jws_rsa[] = {
	{ CKM_RSA_PKCS, "CKM_RSA_PKCS", SCHEME_RSA_PKCS1_SHA256, "",
	    "RS256 signatures (ACME account, audit checkpoint)", 1 },
};

/* Does the key's CKA_ALLOWED_MECHANISMS allow mech? 1 also when unset. */
static int
allowed(struct hsm *h, CK_OBJECT_HANDLE obj, CK_MECHANISM_TYPE mech)
{
	CK_ATTRIBUTE		 a = { CKA_ALLOWED_MECHANISMS, NULL, 0 };
	CK_MECHANISM_TYPE	*m;
	CK_ULONG		 n;
	int			 ok = 0;

	if (h->fl->C_GetAttributeValue(h->sess, obj, &a, 1) != CKR_OK ||
	    a.ulValueLen == 0 || a.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    a.ulValueLen % sizeof(CK_MECHANISM_TYPE) != 0 ||
	    a.ulValueLen > 1024 * sizeof(CK_MECHANISM_TYPE))
		return 1;	/* not set: no restriction */
	m = calloc(1, a.ulValueLen);
	if (m == NULL)
		return 1;
	a.pValue = m;
	if (h->fl->C_GetAttributeValue(h->sess, obj, &a, 1) != CKR_OK) {
		free(m);
		return 1;
	}
	n = a.ulValueLen / sizeof(CK_MECHANISM_TYPE);
	for (CK_ULONG i = 0; i < n; i++)
		if (m[i] == mech)
			ok = 1;
	free(m);
	return ok;
}

/*
 * Is mech in the token's C_GetMechanismList, with CKF_SIGN? (tpm2-pkcs11
 * answers C_GetMechanismInfo for CKM_RSA_PKCS_PSS but leaves it out of
 * the list: the list is what tools and operators see.)
 */
static int
listed(struct hsm *h, CK_MECHANISM_TYPE mech)
{
	CK_SLOT_ID		 slot = PKCS11_get_slotid_from_slot(h->slot);
	CK_MECHANISM_TYPE	*m;
	CK_MECHANISM_INFO	 info;
	CK_ULONG		 n = 0;
	int			 in = 0;

	if (h->fl->C_GetMechanismList(slot, NULL, &n) != CKR_OK || n == 0 ||
	    n > 4096 || (m = calloc(n, sizeof(*m))) == NULL)
		return 0;
	if (h->fl->C_GetMechanismList(slot, m, &n) == CKR_OK)
		for (CK_ULONG i = 0; i < n; i++)
			if (m[i] == mech)
				in = 1;
	free(m);
	memset(&info, 0, sizeof(info));
	return in && h->fl->C_GetMechanismInfo(slot, mech, &info) == CKR_OK &&
	    (info.flags & CKF_SIGN) != 0;
}

/* Verifies sig over dgst as the scheme says; 1 if it does. */
static int
verifies(EVP_PKEY *pub, enum sign_scheme scheme, const uint8_t *dgst,
    size_t dlen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX	*c;
	int		 ok = 0;

	if ((c = EVP_PKEY_CTX_new(pub, NULL)) == NULL)
		return 0;
	if (EVP_PKEY_verify_init(c) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1)
		goto out;
	switch (sign_scheme_family(scheme)) {
	case SCHEME_FAMILY_RSA_PSS:
		if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(c, (int)dlen) != 1)
			goto out;
		break;
	case SCHEME_FAMILY_RSA_PKCS1:
		if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1)
			goto out;
		break;
	default:
		break;
	}
	ok = EVP_PKEY_verify(c, sig, siglen, dgst, dlen) == 1;
 out:
	EVP_PKEY_CTX_free(c);
	return ok;
}

int
hsm_check_mechs(struct hsm *h, CK_OBJECT_HANDLE obj, enum hsm_key_type type,
    int bits, EVP_PKEY *pub, enum hsm_role role, const char *name,
    char *err, size_t errlen)
{
	const struct need	*needs;
	size_t			 n;
	const char		*tok = h->slot->token->label;

	if (role == HSM_ROLE_TLS) {
		needs = type == HSM_KEY_EC ? tls_ec : tls_rsa;
		n = type == HSM_KEY_EC ? 1 : 2;
	} else {
		needs = type == HSM_KEY_EC ? jws_ec : jws_rsa;
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct need	*nd = &needs[i];
		uint8_t			 dgst[32], sig[HSM_MAX_SIG];
		size_t			 siglen = 0;
		char			 line[512], detail[256];
		int			 is_listed = listed(h, nd->mech);

		if (!allowed(h, obj, nd->mech)) {
			snprintf(line, sizeof(line), "key '%s': its "
			    "CKA_ALLOWED_MECHANISMS does not include %s, which "
			    "%s needs", name, nd->mech_name, nd->why);
			goto missing;
		}
		if (RAND_bytes(dgst, sizeof(dgst)) != 1) {
			snprintf(err, errlen, "no random bytes for the test "
			    "signature");
			return -1;
		}
		if (hsm_sign_obj(h, obj, type, bits, nd->scheme, dgst,
		    sizeof(dgst), sig, &siglen, detail, sizeof(detail)) == -1) {
			h->last_rv = CKR_OK;	/* no token fault to recover */
		} else if (!verifies(pub, nd->scheme, dgst, sizeof(dgst), sig,
		    siglen)) {
			snprintf(detail, sizeof(detail), "its signature does "
			    "not verify with the key's public key");
		} else {
			if (!is_listed)
				log_info("hsm: token '%s' does not list %s in its "
				    "mechanism list, but signs with it%s: checked "
				    "with a test signature for key '%s'", tok,
				    nd->mech_name, nd->params, name);
			continue;
		}
		snprintf(line, sizeof(line), "token '%s' cannot sign with %s%s "
		    "for key '%s', which %s needs: %s, and a test signature "
		    "failed (%s)", tok, nd->mech_name, nd->params, name, nd->why,
		    is_listed ? "it is in the mechanism list" :
		    "it is not in the mechanism list", detail);
 missing:
		if (nd->required) {
			snprintf(err, errlen, "%s", line);
			return -1;
		}
		log_warn("hsm: %s", line);
	}
	return 0;
}
