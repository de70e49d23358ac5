/*
 * csr_gen.h - test CSRs made with OpenSSL, for test_csr and test_policy.
 *
 * csr_make("EC", "P-256", "/CN=a.example.com", "DNS:a.example.com", 0)
 * returns PEM (free() it). bad_sig corrupts the signature after signing.
 */
#ifndef HSMAGENT_TEST_CSR_GEN_H
#define HSMAGENT_TEST_CSR_GEN_H

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static EVP_PKEY *
csr_key(const char *type, const char *param)
{
	if (strcmp(type, "RSA") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)strtoul(param, NULL, 10));
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
}

static char *
csr_make(const char *type, const char *param, const char *subject,
    const char *san, int bad_sig)
{
	X509_REQ			*req = X509_REQ_new();
	EVP_PKEY			*pk = csr_key(type, param);
	X509_NAME			*name = X509_NAME_new();
	STACK_OF(X509_EXTENSION)	*exts = sk_X509_EXTENSION_new_null();
	BIO				*bio = BIO_new(BIO_s_mem());
	char				*pem, *p;
	long				 len;
	char				 subj[256], *tok, *save = NULL;

	if (req == NULL || pk == NULL || name == NULL || exts == NULL ||
	    bio == NULL)
		abort();
	snprintf(subj, sizeof(subj), "%s", subject);
	for (tok = strtok_r(subj, "/", &save); tok != NULL;
	    tok = strtok_r(NULL, "/", &save)) {
		char *eq = strchr(tok, '=');

		*eq = '\0';
		X509_NAME_add_entry_by_txt(name, tok, MBSTRING_UTF8,
		    (unsigned char *)eq + 1, -1, -1, 0);
	}
	X509_REQ_set_subject_name(req, name);
	X509_REQ_set_pubkey(req, pk);
	if (san != NULL) {
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL,
		    NID_subject_alt_name, san);

		if (ext == NULL)
			abort();
		sk_X509_EXTENSION_push(exts, ext);
		X509_REQ_add_extensions(req, exts);
	}
	X509_REQ_sign(req, pk, EVP_sha256());
	if (bad_sig) {
		const ASN1_BIT_STRING	*sig;
		const X509_ALGOR	*alg;

		X509_REQ_get0_signature(req, &sig, &alg);
		((ASN1_BIT_STRING *)sig)->data[sig->length / 2] ^= 0x01;
	}
	PEM_write_bio_X509_REQ(bio, req);
	len = BIO_get_mem_data(bio, &p);
	pem = malloc((size_t)len + 1);
	memcpy(pem, p, (size_t)len);
	pem[len] = '\0';
	BIO_free(bio);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	EVP_PKEY_free(pk);
	X509_REQ_free(req);
	return pem;
}

#endif
