/*
 * keygen.c - a new gateway credential made inside the token, its CSR
 * signed there, and the retirement of the old key.
 *
 * C_GenerateKeyPair runs on the agent's own logged-in session (see
 * hsm.c) with a template that keeps the private key in the token:
 * CKA_SENSITIVE true, CKA_EXTRACTABLE false, signing only. What the
 * token made is then read back and checked (CKA_LOCAL, NEVER_EXTRACTABLE,
 * ALWAYS_SENSITIVE): a token that ignored the template loses the key
 * again rather than hand out a weaker one. The CSR's to-be-signed bytes
 * are hashed here and signed with C_Sign under the new key, like any
 * handshake signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsm_int.h"
#include "log.h"
#include "util.h"

/* DER of the curve OIDs, as CKA_EC_PARAMS takes them. */
static const uint8_t oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
	0x22 };

static void
hex_of(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	hex_lower(p, n < outlen / 2 ? n : (outlen - 1) / 2, out);
}

static int
unhex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	size_t len = strlen(s);

	if (len == 0 || len % 2 != 0 || len / 2 > cap ||
	    strspn(s, "0123456789abcdef") != len)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

/*
 * A read-write session for the few calls that change the token; the
 * signing session stays read-only. Logged in already: login state
 * belongs to the application, not to a session.
 */
static int
open_rw(struct hsm *h, CK_SESSION_HANDLE *s, char *err, size_t errlen)
{
	CK_RV rv = h->fl->C_OpenSession(PKCS11_get_slotid_from_slot(h->slot),
	    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);

	if (rv != CKR_OK) {
		snprintf(err, errlen, "C_OpenSession (read-write): %s",
		    ckr_name(rv));
		return -1;
	}
	return 0;
}

/* One attribute's value, malloc'd (NULL if absent or unreadable). */
static uint8_t *
get_attr(struct hsm *h, CK_SESSION_HANDLE sess, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, size_t *len)
{
	CK_ATTRIBUTE	 a = { type, NULL, 0 };
	uint8_t		*v;

	if (h->fl->C_GetAttributeValue(sess, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == (CK_ULONG)-1 || a.ulValueLen > 4096)
		return NULL;
	v = xmalloc(a.ulValueLen + 1);
	a.pValue = v;
	if (h->fl->C_GetAttributeValue(sess, o, &a, 1) != CKR_OK) {
		free(v);
		return NULL;
	}
	*len = a.ulValueLen;
	return v;
}

/* The public key object as an EVP_PKEY (EC P-256/P-384 or RSA). */
static EVP_PKEY *
public_key(struct hsm *h, CK_SESSION_HANDLE sess, CK_OBJECT_HANDLE pub,
    enum hsm_key_type type)
{
	OSSL_PARAM_BLD	*b = OSSL_PARAM_BLD_new();
	OSSL_PARAM	*params = NULL;
	/* The builder keeps pointers until _to_param(): all live to "out". */
	ASN1_OCTET_STRING *os = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pk = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	uint8_t		*a1 = NULL, *a2 = NULL;
	size_t		 l1 = 0, l2 = 0;

	if (b == NULL)
		return NULL;
	if (type == HSM_KEY_EC) {
		const unsigned char	*p;
		const char		*group;

		if ((a1 = get_attr(h, sess, pub, CKA_EC_PARAMS, &l1)) == NULL ||
		    (a2 = get_attr(h, sess, pub, CKA_EC_POINT, &l2)) == NULL)
			goto out;
		if (l1 == sizeof(oid_p256) && memcmp(a1, oid_p256, l1) == 0)
			group = "prime256v1";
		else if (l1 == sizeof(oid_p384) && memcmp(a1, oid_p384, l1) ==
		    0)
			group = "secp384r1";
		else
			goto out;
		/* CKA_EC_POINT is the point inside a DER OCTET STRING. */
		p = a2;
		if ((os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)l2)) == NULL ||
		    p != a2 + l2)
			goto out;
		if (OSSL_PARAM_BLD_push_utf8_string(b,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(b,
		    OSSL_PKEY_PARAM_PUB_KEY, ASN1_STRING_get0_data(os),
		    (size_t)ASN1_STRING_length(os)) != 1)
			goto out;
	} else {
		if ((a1 = get_attr(h, sess, pub, CKA_MODULUS, &l1)) == NULL ||
		    (a2 = get_attr(h, sess, pub, CKA_PUBLIC_EXPONENT, &l2)) == NULL ||
		    (n = BN_bin2bn(a1, (int)l1, NULL)) == NULL ||
		    (e = BN_bin2bn(a2, (int)l2, NULL)) == NULL ||
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) != 1)
			goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type == HSM_KEY_EC ? "EC" :
	    "RSA", NULL)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
 out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	ASN1_OCTET_STRING_free(os);
	BN_free(n);
	BN_free(e);
	free(a1);
	free(a2);
	ERR_clear_error();
	return pk;
}

/* The key stays in the token: what it says, checked after the fact. */
static int
check_new_key(struct hsm *h, CK_SESSION_HANDLE sess, CK_OBJECT_HANDLE priv,
    char *err, size_t errlen)
{
	CK_BBOOL	 sens = 0, extr = 1, local = 0, never = 0, always = 0;
	CK_BBOOL	 sign = 0, use[3] = { 0, 0, 0 };
	CK_ATTRIBUTE	 a[] = {
		{ CKA_SENSITIVE, &sens, sizeof(sens) },
		{ CKA_EXTRACTABLE, &extr, sizeof(extr) },
		{ CKA_LOCAL, &local, sizeof(local) },
		{ CKA_NEVER_EXTRACTABLE, &never, sizeof(never) },
		{ CKA_ALWAYS_SENSITIVE, &always, sizeof(always) },
		{ CKA_SIGN, &sign, sizeof(sign) },
	};
	static const CK_ATTRIBUTE_TYPE	 other[3] = { CKA_DECRYPT,
		CKA_UNWRAP, CKA_DERIVE };
	static const char		*other_name[3] = { "CKA_DECRYPT",
		"CKA_UNWRAP", "CKA_DERIVE" };
	CK_RV		 rv;

	static const char	*a_name[6] = { "CKA_SENSITIVE",
		"CKA_EXTRACTABLE", "CKA_LOCAL", "CKA_NEVER_EXTRACTABLE",
		"CKA_ALWAYS_SENSITIVE", "CKA_SIGN" };

	/* One by one: a token that lacks one is named with it. */
	for (int i = 0; i < 6; i++)
		if ((rv = h->fl->C_GetAttributeValue(sess, priv, &a[i], 1)) !=
		    CKR_OK) {
			snprintf(err, errlen, "cannot read the new key's %s "
			    "(%s, 0x%lx)", a_name[i], ckr_name(rv),
			    (unsigned long)rv);
			return -1;
		}
	if (!sens || extr || !local || !never || !always) {
		snprintf(err, errlen, "the token made a key that could leave it "
		    "(sensitive %d, extractable %d, local %d, never extractable "
		    "%d, always sensitive %d)", sens, extr, local, never, always);
		return -1;
	}
	/* A signing credential signs, and does nothing else. */
	for (int i = 0; i < 3; i++) {
		CK_ATTRIBUTE b = { other[i], &use[i], sizeof(use[i]) };

		if (h->fl->C_GetAttributeValue(sess, priv, &b, 1) != CKR_OK)
			use[i] = CK_FALSE;	/* absent: it cannot */
		if (use[i]) {
			snprintf(err, errlen, "the token made a key that may "
			    "do more than sign (%s true, and the token did not "
			    "let the agent turn it off): a credential must only "
			    "sign", other_name[i]);
			return -1;
		}
	}
	if (!sign) {
		snprintf(err, errlen, "the token made a key that may not sign");
		return -1;
	}
	return 0;
}

/* Are pub and priv the new key pair's objects (class and CKA_ID)? */
static int
handles_are_new_key(struct hsm *h, CK_SESSION_HANDLE rw, CK_OBJECT_HANDLE pub,
    CK_OBJECT_HANDLE priv, const uint8_t *id, size_t idlen)
{
	CK_OBJECT_HANDLE	 o[2] = { pub, priv };
	CK_OBJECT_CLASS		 want[2] = { CKO_PUBLIC_KEY, CKO_PRIVATE_KEY };

	if (pub == priv)
		return -1;
	for (int i = 0; i < 2; i++) {
		CK_OBJECT_CLASS	 cls = (CK_OBJECT_CLASS)-1;
		uint8_t		 got[16];
		CK_ATTRIBUTE	 a[2] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_ID, got, sizeof(got) },
		};

		if (idlen != sizeof(got) ||
		    h->fl->C_GetAttributeValue(rw, o[i], a, 2) != CKR_OK ||
		    cls != want[i] || a[1].ulValueLen != idlen ||
		    memcmp(got, id, idlen) != 0)
			return -1;
	}
	return 0;
}

/*
 * The key made without "false" uses may have them all: turn them off
 * where the token lets us (C_SetAttributeValue); check_new_key decides.
 */
static void
narrow_uses(struct hsm *h, CK_SESSION_HANDLE rw, CK_OBJECT_HANDLE priv,
    CK_OBJECT_HANDLE pub)
{
	CK_BBOOL	 no = CK_FALSE;
	CK_ATTRIBUTE	 a[] = {
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
	};
	CK_ATTRIBUTE	 e = { CKA_ENCRYPT, &no, sizeof(no) };
	CK_RV		 rv;

	for (int i = 0; i < 3; i++)
		if ((rv = h->fl->C_SetAttributeValue(rw, priv, &a[i], 1)) !=
		    CKR_OK)
			log_info("hsm: C_SetAttributeValue(0x%lx false) on the "
			    "new key: %s", (unsigned long)a[i].type,
			    ckr_name(rv));
	(void)h->fl->C_SetAttributeValue(rw, pub, &e, 1);
}

/* The CSR: subject CN, the new public key, signed by the new key. */
static char *
make_csr(struct hsm *h, CK_OBJECT_HANDLE priv, EVP_PKEY *pub,
    enum hsm_key_type type, const char *cn, char *err, size_t errlen)
{
	X509_REQ	*req = X509_REQ_new();
	X509_NAME	*name = X509_NAME_new();
	X509_ALGOR	*alg = X509_ALGOR_new();
	ASN1_BIT_STRING	*bits = NULL;
	unsigned char	*tbs = NULL, md[32];
	uint8_t		 sig[HSM_MAX_SIG];
	size_t		 siglen = sizeof(sig);
	unsigned int	 mdlen = 0;
	int		 tbslen;
	BIO		*b = NULL;
	char		*pem = NULL, *p;
	long		 n;

	if (req == NULL || name == NULL || alg == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, pub) != 1 ||
	    (tbslen = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0 ||
	    EVP_Digest(tbs, (size_t)tbslen, md, &mdlen, EVP_sha256(), NULL) !=
	    1) {
		snprintf(err, errlen, "cannot build the CSR");
		goto out;
	}
	if (hsm_sign_obj(h, priv, type, EVP_PKEY_get_bits(pub), type ==
	    HSM_KEY_EC ? SCHEME_ECDSA_SHA256 : SCHEME_RSA_PKCS1_SHA256, md,
	    mdlen, sig, &siglen, err, errlen) == -1)
		goto out;
	X509_ALGOR_set0(alg, OBJ_nid2obj(type == HSM_KEY_EC ?
	    NID_ecdsa_with_SHA256 : NID_sha256WithRSAEncryption),
	    type == HSM_KEY_EC ? V_ASN1_UNDEF : V_ASN1_NULL, NULL);
	if ((bits = ASN1_BIT_STRING_new()) == NULL ||
	    ASN1_BIT_STRING_set(bits, sig, (int)siglen) != 1 ||
	    X509_REQ_set1_signature_algo(req, alg) != 1) {
		ASN1_BIT_STRING_free(bits);
		snprintf(err, errlen, "cannot set the CSR's signature");
		goto out;
	}
	/* No unused bits: a whole signature. */
	bits->flags &= ~0x07;
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	/* The token's signature must verify before anyone sees the CSR. */
	if (X509_REQ_verify(req, pub) != 1) {
		snprintf(err, errlen, "the new key's signature on the CSR does "
		    "not verify");
		goto out;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(b, req) != 1 ||
	    (n = BIO_get_mem_data(b, &p)) <= 0) {
		snprintf(err, errlen, "cannot write the CSR");
		goto out;
	}
	pem = xmalloc((size_t)n + 1);
	memcpy(pem, p, (size_t)n);
	pem[n] = '\0';
 out:
	BIO_free(b);
	OPENSSL_free(tbs);
	X509_ALGOR_free(alg);
	X509_NAME_free(name);
	X509_REQ_free(req);
	ERR_clear_error();
	return pem;
}

/* The public key as PEM (SubjectPublicKeyInfo), malloc'd; NULL with err. */
static char *
pub_pem(EVP_PKEY *pk, char *err, size_t errlen)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*data, *pem = NULL;
	long	 len;

	if (b != NULL && PEM_write_bio_PUBKEY(b, pk) == 1 &&
	    (len = BIO_get_mem_data(b, &data)) > 0) {
		pem = xmalloc((size_t)len + 1);
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
	} else
		snprintf(err, errlen, "cannot write the new public key");
	BIO_free(b);
	ERR_clear_error();
	return pem;
}

int
hsm_keygen(struct hsm *h, const struct hsm_keygen *kg, struct hsm_newkey *out,
    char *err, size_t errlen)
{
	CK_BBOOL		 yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG		 modbits = kg->bits;
	uint8_t			 id[16], exp[] = { 0x01, 0x00, 0x01 };
	char			 label[64];
	CK_MECHANISM		 mech = { kg->type == HSM_KEY_EC ?
				    CKM_EC_KEY_PAIR_GEN :
				    CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE		 pub[6], priv[10];
	CK_ULONG		 np = 0, nv = 0;
	CK_OBJECT_HANDLE	 hpub, hpriv;
	CK_SESSION_HANDLE	 rw;
	EVP_PKEY		*pk = NULL;
	CK_RV			 rv;
	CK_MECHANISM_INFO	 mi;
	int			 narrow = 0;
	time_t			 now = time(NULL);
	struct tm		 tm;
	int			 n;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (!hsm_usable(h, err, errlen))
		return -1;
	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
		snprintf(err, errlen, "getrandom failed");
		return -1;
	}
	gmtime_r(&now, &tm);
	n = snprintf(label, sizeof(label), "%s-", kg->label_prefix != NULL ?
	    kg->label_prefix : "hsmagent");
	if (n < 0 || (size_t)n >= sizeof(label) - 20) {
		snprintf(err, errlen, "the key label prefix is too long");
		return -1;
	}
	strftime(label + n, sizeof(label) - (size_t)n, "%Y%m%dT%H%M%SZ", &tm);
	pub[np++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_VERIFY, &yes, sizeof(yes) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_LABEL, label, strlen(label) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_ID, id, sizeof(id) };
	if (kg->type == HSM_KEY_EC)
		pub[np++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)oid_p256,
		    sizeof(oid_p256) };
	else {
		pub[np++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &modbits,
		    sizeof(modbits) };
		pub[np++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, exp,
		    sizeof(exp) };
	}
	priv[nv++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_PRIVATE, &yes, sizeof(yes) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &yes, sizeof(yes) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &no, sizeof(no) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_SIGN, &yes, sizeof(yes) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_DECRYPT, &no, sizeof(no) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_UNWRAP, &no, sizeof(no) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_DERIVE, &no, sizeof(no) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_LABEL, label, strlen(label) };
	priv[nv++] = (CK_ATTRIBUTE){ CKA_ID, id, sizeof(id) };
	/* A size the token says it cannot make is named, not tried. */
	memset(&mi, 0, sizeof(mi));
	if (kg->type == HSM_KEY_RSA && h->fl->C_GetMechanismInfo(
	    PKCS11_get_slotid_from_slot(h->slot), CKM_RSA_PKCS_KEY_PAIR_GEN,
	    &mi) == CKR_OK && mi.ulMaxKeySize != 0 &&
	    (modbits > mi.ulMaxKeySize || modbits < mi.ulMinKeySize)) {
		snprintf(err, errlen, "token '%s' makes RSA keys of %lu to %lu "
		    "bits (CKM_RSA_PKCS_KEY_PAIR_GEN), not %lu",
		    h->slot->token->label, (unsigned long)mi.ulMinKeySize,
		    (unsigned long)mi.ulMaxKeySize, (unsigned long)modbits);
		return -1;
	}
	if (open_rw(h, &rw, err, errlen) == -1)
		return -1;
	rv = h->fl->C_GenerateKeyPair(rw, &mech, pub, np, priv, nv, &hpub,
	    &hpriv);
	/*
	 * tpm2-pkcs11 takes the key's uses from its TPM template and fails
	 * (CKR_GENERAL_ERROR, "User specified and TPM specified attr
	 * mismatch") when the template also says what the key may not do.
	 * Asked again without the three "false" uses (the last three before
	 * the label); what the token made is checked (check_new_key), and a
	 * key that may decrypt, unwrap or derive is destroyed.
	 */
	if (rv == CKR_GENERAL_ERROR || rv == CKR_TEMPLATE_INCONSISTENT ||
	    rv == CKR_ATTRIBUTE_VALUE_INVALID) {
		log_info("hsm: token '%s' refused a key template with "
		    "CKA_DECRYPT, CKA_UNWRAP and CKA_DERIVE false (%s); asking "
		    "again without them, the new key's uses checked after",
		    h->slot->token->label, ckr_name(rv));
		priv[nv - 5] = priv[nv - 2];	/* CKA_LABEL */
		priv[nv - 4] = priv[nv - 1];	/* CKA_ID */
		nv -= 3;
		rv = h->fl->C_GenerateKeyPair(rw, &mech, pub, np, priv, nv,
		    &hpub, &hpriv);
		narrow = 1;
	}
	if (rv != CKR_OK) {
		snprintf(err, errlen, "C_GenerateKeyPair: %s (0x%lx)",
		    ckr_name(rv), (unsigned long)rv);
		h->fl->C_CloseSession(rw);
		return -1;
	}
	/* Handles that are not the new key's are never used, not even to
	 * destroy (they would name other keys). */
	if (handles_are_new_key(h, rw, hpub, hpriv, id, sizeof(id)) == -1) {
		snprintf(err, errlen, "token '%s' answered C_GenerateKeyPair "
		    "with object handles that are not the new key's: key %s "
		    "was made but is not used; restart the agent and retire "
		    "it", h->slot->token->label, label);
		h->fl->C_CloseSession(rw);
		return -1;
	}
	if (narrow)
		narrow_uses(h, rw, hpriv, hpub);
	if (check_new_key(h, rw, hpriv, err, errlen) == -1 ||
	    (pk = public_key(h, rw, hpub, kg->type)) == NULL ||
	    (out->pub_pem = pub_pem(pk, err, errlen)) == NULL ||
	    (kg->subject_cn != NULL && (out->csr_pem = make_csr(h, hpriv, pk,
	    kg->type, kg->subject_cn, err, errlen)) == NULL)) {
		if (pk == NULL && err[0] == '\0')
			snprintf(err, errlen, "cannot read the new public key");
		/* Nothing half-made stays on the token. */
		free(out->pub_pem);
		out->pub_pem = NULL;
		h->fl->C_DestroyObject(rw, hpriv);
		h->fl->C_DestroyObject(rw, hpub);
		h->fl->C_CloseSession(rw);
		EVP_PKEY_free(pk);
		return -1;
	}
	h->fl->C_CloseSession(rw);
	hex_of(id, sizeof(id), out->id_hex, sizeof(out->id_hex));
	snprintf(out->label, sizeof(out->label), "%s", label);
	out->bits = EVP_PKEY_get_bits(pk);
	EVP_PKEY_free(pk);
	return 0;
}

void
hsm_current_id(const struct hsm *h, char *hex, size_t len)
{
	if (h->key == NULL)
		hex[0] = '\0';
	else
		hex_of(h->key->id, h->key->id_len, hex, len);
}

int
hsm_uri_key_id(struct hsm *h, const char *uri, char *hex, size_t len)
{
	struct p11uri	 u;
	PKCS11_KEY	*k = NULL;
	char		 err[256];
	int		 n;

	hex[0] = '\0';
	if (h->slot == NULL || p11uri_parse(uri, &u, err, sizeof(err)) == -1)
		return -1;
	n = (int)hsm_match_keys(h->slot->token, &u, &k, err, sizeof(err));
	p11uri_free(&u);
	if (n != 1 || k == NULL)
		return -1;
	hex_of(k->id, k->id_len, hex, len);
	return 0;
}

void
hsm_id_uri(const struct hsm *h, const char *id_hex, char *uri, size_t len)
{
	size_t	 n = (size_t)snprintf(uri, len, "pkcs11:token=%s;id=",
		    h->slot != NULL ? h->slot->token->label : "?");

	for (size_t i = 0; id_hex[i] != '\0' && id_hex[i + 1] != '\0' &&
	    n + 4 < len; i += 2)
		n += (size_t)snprintf(uri + n, len - n, "%%%c%c", id_hex[i],
		    id_hex[i + 1]);
	snprintf(uri + n, len - n, ";type=private");
}

int
hsm_retire(struct hsm *h, const char *id_hex, char *label, size_t labellen,
    char *err, size_t errlen)
{
	uint8_t			 id[64];
	size_t			 idlen;
	CK_OBJECT_CLASS		 classes[2] = { CKO_PRIVATE_KEY,
				    CKO_PUBLIC_KEY };
	CK_OBJECT_HANDLE	 objs[4];
	CK_ULONG		 found;
	CK_RV			 rv;
	int			 destroyed = 0, r = -1;
	uint8_t			*l;
	size_t			 llen;
	CK_SESSION_HANDLE	 sess;

	label[0] = '\0';
	if (!hsm_usable(h, err, errlen))
		return -1;
	if (unhex(id_hex, id, sizeof(id), &idlen) == -1) {
		snprintf(err, errlen, "a key id is lowercase hex");
		return -1;
	}
	if (idlen == h->key->id_len && memcmp(id, h->key->id, idlen) == 0) {
		snprintf(err, errlen, "key %s is the one in use", id_hex);
		return -1;
	}
	if (open_rw(h, &sess, err, errlen) == -1)
		return -1;
	for (int c = 0; c < 2; c++) {
		CK_ATTRIBUTE t[2] = {
			{ CKA_CLASS, &classes[c], sizeof(classes[c]) },
			{ CKA_ID, id, idlen },
		};

		found = 0;
		if ((rv = h->fl->C_FindObjectsInit(sess, t, 2)) != CKR_OK ||
		    (rv = h->fl->C_FindObjects(sess, objs, 4, &found)) !=
		    CKR_OK) {
			snprintf(err, errlen, "C_FindObjects: %s", ckr_name(rv));
			goto out;
		}
		h->fl->C_FindObjectsFinal(sess);
		if (found > 1) {
			snprintf(err, errlen, "%lu keys share id %s; remove them "
			    "by hand", (unsigned long)found, id_hex);
			goto out;
		}
		if (found == 0)
			continue;
		if (c == 0 && (l = get_attr(h, sess, objs[0], CKA_LABEL, &llen)) !=
		    NULL) {
			snprintf(label, labellen, "%.*s", (int)llen, l);
			free(l);
		}
		if ((rv = h->fl->C_DestroyObject(sess, objs[0])) != CKR_OK) {
			snprintf(err, errlen, "C_DestroyObject: %s",
			    ckr_name(rv));
			goto out;
		}
		destroyed++;
	}
	if (destroyed == 0)
		snprintf(err, errlen, "no key with id %s on the token", id_hex);
	else
		r = 0;
 out:
	h->fl->C_CloseSession(sess);
	/*
	 * tpm2-pkcs11 1.9 numbers a new object by how many it holds: after
	 * a destroy, the next key it makes gets the handles of keys it
	 * already has (two objects, one handle; test_tpm_ca.sh). Loading the
	 * module again numbers them afresh.
	 */
	if (destroyed > 0) {
		char e2[256];

		if (hsm_reload(h, e2, sizeof(e2)) == -1)
			log_warn("hsm: reloading the module after the key was "
			    "destroyed: %s (tried again at the next signature)",
			    e2);
	}
	return r;
}
