/*
 * csr.c - parsing and checking a client's CSR with OpenSSL 3.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr.h"

static const char pem_begin[] = "-----BEGIN CERTIFICATE REQUEST-----";
static const char pem_end[] = "-----END CERTIFICATE REQUEST-----";

static int
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

/* Exactly one PEM block, with only whitespace around it. */
static int
check_framing(const char *pem, size_t len, char *err, size_t errlen)
{
	const char	*b, *e;

	if (len == 0 || len > CSR_MAX_PEM || memchr(pem, '\0', len) != NULL) {
		snprintf(err, errlen, "CSR must be 1 to %d bytes of PEM text",
		    CSR_MAX_PEM);
		return -1;
	}
	b = memmem(pem, len, pem_begin, sizeof(pem_begin) - 1);
	e = memmem(pem, len, pem_end, sizeof(pem_end) - 1);
	if (b == NULL || e == NULL || e < b || !blank(pem, (size_t)(b - pem)) ||
	    !blank(e + sizeof(pem_end) - 1, len - (size_t)(e - pem) -
	    (sizeof(pem_end) - 1)) ||
	    memmem(b + 1, len - (size_t)(b - pem) - 1, pem_begin,
	    sizeof(pem_begin) - 1) != NULL) {
		snprintf(err, errlen, "expected exactly one PEM \"CERTIFICATE "
		    "REQUEST\" block and nothing else");
		return -1;
	}
	return 0;
}

static int
check_key(EVP_PKEY *pk, struct csr_info *ci, char *err, size_t errlen)
{
	char		group[64];
	size_t		glen = 0;
	BIGNUM		*e = NULL;
	int		ok;

	ci->bits = EVP_PKEY_get_bits(pk);
	if (EVP_PKEY_is_a(pk, "EC")) {
		ci->key_type = CSR_KEY_EC;
		if (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    &glen) != 1)
			group[0] = '\0';
		if (strcmp(group, "prime256v1") == 0)
			snprintf(ci->curve, sizeof(ci->curve), "p256");
		else if (strcmp(group, "secp384r1") == 0)
			snprintf(ci->curve, sizeof(ci->curve), "p384");
		else if (strcmp(group, "secp521r1") == 0)
			snprintf(ci->curve, sizeof(ci->curve), "p521");
		else {
			snprintf(err, errlen, "EC key on curve \"%.40s\": only "
			    "P-256, P-384 and P-521 are accepted", group[0] ?
			    group : "unnamed");
			return -1;
		}
		return 0;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		ci->key_type = CSR_KEY_RSA;
		if (ci->bits < 2048) {
			snprintf(err, errlen, "RSA key of %d bits is too weak "
			    "(at least 2048)", ci->bits);
			return -1;
		}
		if (ci->bits > 16384) {
			snprintf(err, errlen, "RSA key of %d bits is too large",
			    ci->bits);
			return -1;
		}
		ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
		    BN_is_word(e, 65537);
		BN_free(e);
		if (!ok) {
			snprintf(err, errlen, "RSA public exponent must be 65537");
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "key type must be EC or RSA");
	return -1;
}

static int
get_subject(X509_REQ *req, struct csr_info *ci, char *err, size_t errlen)
{
	const X509_NAME	*name = X509_REQ_get_subject_name(req);
	int		 n = X509_NAME_entry_count(name);

	for (int i = 0; i < n; i++) {
		const X509_NAME_ENTRY	*ent = X509_NAME_get_entry(name, i);
		const ASN1_STRING	*d = X509_NAME_ENTRY_get_data(ent);
		const unsigned char	*p = ASN1_STRING_get0_data(d);
		int			 len = ASN1_STRING_length(d);

		if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(ent)) != NID_commonName ||
		    ci->cn[0] != '\0') {
			ci->has_other_subject = 1;
			continue;
		}
		if (len <= 0 || len > SAN_MAX_VALUE) {
			snprintf(err, errlen, "subject CN must be 1 to %d "
			    "characters", SAN_MAX_VALUE);
			return -1;
		}
		for (int k = 0; k < len; k++) {
			if (p[k] < 0x20 || p[k] > 0x7e) {
				snprintf(err, errlen, "subject CN must be "
				    "printable ASCII");
				return -1;
			}
		}
		memcpy(ci->cn, p, (size_t)len);
		ci->cn[len] = '\0';
	}
	return 0;
}

static int
add_san(struct csr_info *ci, const GENERAL_NAME *gn, char *err, size_t errlen)
{
	char		 v[SAN_MAX_VALUE + 1], e[200];
	enum san_type	 t;
	const unsigned char *p;
	int		 len;

	if (ci->nsans >= POLICY_MAX_SANS) {
		snprintf(err, errlen, "more than %d SANs", POLICY_MAX_SANS);
		return -1;
	}
	switch (gn->type) {
	case GEN_DNS:
	case GEN_EMAIL:
		t = gn->type == GEN_DNS ? SAN_DNS : SAN_EMAIL;
		p = ASN1_STRING_get0_data(gn->d.ia5);
		len = ASN1_STRING_length(gn->d.ia5);
		if (len <= 0 || len > SAN_MAX_VALUE ||
		    memchr(p, '\0', (size_t)len) != NULL) {
			snprintf(err, errlen, "SAN of bad length or with a NUL");
			return -1;
		}
		memcpy(v, p, (size_t)len);
		v[len] = '\0';
		break;
	case GEN_IPADD:
		len = ASN1_STRING_length(gn->d.ip);
		p = ASN1_STRING_get0_data(gn->d.ip);
		t = SAN_IP;
		if ((len != 4 && len != 16) || inet_ntop(len == 4 ? AF_INET :
		    AF_INET6, p, v, sizeof(v)) == NULL) {
			snprintf(err, errlen, "IP SAN of %d bytes", len);
			return -1;
		}
		break;
	default:
		snprintf(err, errlen, "SAN of a kind other than DNS, IP or "
		    "e-mail");
		return -1;
	}
	if (san_make(t, v, &ci->sans[ci->nsans], e, sizeof(e)) == -1) {
		snprintf(err, errlen, "CSR SAN \"%.80s\": %s", v, e);
		return -1;
	}
	for (size_t i = 0; i < ci->nsans; i++) {
		if (san_equal(&ci->sans[i], &ci->sans[ci->nsans])) {
			snprintf(err, errlen, "CSR SAN \"%.80s\" repeated", v);
			return -1;
		}
	}
	ci->nsans++;
	return 0;
}

static int
get_sans(X509_REQ *req, struct csr_info *ci, char *err, size_t errlen)
{
	STACK_OF(X509_EXTENSION)	*exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES			*gns = NULL;
	int				 r = 0, crit = 0, idx = -1;

	if (exts == NULL)
		return 0;
	gns = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, &idx);
	if (gns == NULL && crit != -1) {
		snprintf(err, errlen, "subjectAltName extension is malformed "
		    "or repeated");
		r = -1;
	}
	for (int i = 0; r == 0 && gns != NULL && i < sk_GENERAL_NAME_num(gns);
	    i++)
		r = add_san(ci, sk_GENERAL_NAME_value(gns, i), err, errlen);
	/* A second subjectAltName extension: ambiguous, refuse. */
	if (r == 0 && gns != NULL &&
	    X509v3_get_ext_by_NID(exts, NID_subject_alt_name, idx) >= 0) {
		snprintf(err, errlen, "subjectAltName extension repeated");
		r = -1;
	}
	GENERAL_NAMES_free(gns);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return r;
}

int
csr_parse(const char *pem, size_t len, struct csr_info *ci, char *err,
    size_t errlen)
{
	BIO		*bio;
	X509_REQ	*req = NULL;
	EVP_PKEY	*pk;
	int		 r = -1;

	memset(ci, 0, sizeof(*ci));
	if (check_framing(pem, len, err, errlen) == -1)
		return -1;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "not a valid PKCS#10 request");
		goto out;
	}
	if ((pk = X509_REQ_get0_pubkey(req)) == NULL) {
		snprintf(err, errlen, "CSR has no usable public key");
		goto out;
	}
	if (X509_REQ_verify(req, pk) != 1) {
		snprintf(err, errlen, "CSR signature does not verify");
		goto out;
	}
	if (check_key(pk, ci, err, errlen) == -1 ||
	    get_subject(req, ci, err, errlen) == -1 ||
	    get_sans(req, ci, err, errlen) == -1)
		goto out;
	r = 0;
 out:
	X509_REQ_free(req);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}
