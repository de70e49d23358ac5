/*
 * pem_bundle.c - see pem_bundle.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pem_bundle.h"
#include "util.h"

static char *
pem_of(X509 *x)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *s = NULL;
	long	 n;

	if (b != NULL && PEM_write_bio_X509(b, x) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0) {
		s = xmalloc((size_t)n + 1);
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

static int
append(char **out, size_t *len, X509 *x)
{
	char	*p = pem_of(x);
	size_t	 n;

	if (p == NULL)
		return -1;
	n = strlen(p);
	*out = xrealloc(*out, *len + n + 1);
	memcpy(*out + *len, p, n + 1);
	*len += n;
	free(p);
	return 0;
}

int
pem_bundle_split(const char *body, size_t len, const char *csr_pem,
    char **cert, char **chain, char *why, size_t whylen)
{
	X509		*certs[PEM_BUNDLE_MAX_CERTS + 1];
	BIO		*b = NULL, *rb = NULL;
	X509_REQ	*req = NULL;
	size_t		 n = 0, leaf = 0, clen = 0;
	int		 found = 0, r = -1;

	*cert = *chain = NULL;
	if (len > INT32_MAX || (b = BIO_new_mem_buf(body, (int)len)) == NULL ||
	    (rb = BIO_new_mem_buf(csr_pem, -1)) == NULL ||
	    (req = PEM_read_bio_X509_REQ(rb, NULL, NULL, NULL)) == NULL) {
		snprintf(why, whylen, "cannot read the order's CSR");
		goto out;
	}
	/* PEM_read_bio_X509 skips blocks of other types. */
	while (n <= PEM_BUNDLE_MAX_CERTS &&
	    (certs[n] = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		n++;
	if (n == 0 || n > PEM_BUNDLE_MAX_CERTS) {
		snprintf(why, whylen, n == 0 ? "no certificate in the CA's "
		    "answer" : "more than %d certificates in the CA's answer",
		    PEM_BUNDLE_MAX_CERTS);
		goto out;
	}
	for (size_t i = 0; i < n && !found; i++) {
		if (EVP_PKEY_eq(X509_get0_pubkey(certs[i]),
		    X509_REQ_get0_pubkey(req)) == 1) {
			leaf = i;
			found = 1;
		}
	}
	if (!found) {
		snprintf(why, whylen, "the CA returned no certificate for the "
		    "CSR's key");
		goto out;
	}
	*chain = xstrdup("");
	/* Leaf first (x509): chain as given; leaf last (x509R): reversed. */
	for (size_t k = 0; k < n; k++) {
		size_t i = leaf == n - 1 && n > 1 ? n - 1 - k : k;

		if (i != leaf && append(chain, &clen, certs[i]) == -1)
			goto out;
	}
	if ((*cert = pem_of(certs[leaf])) == NULL)
		goto out;
	r = 0;
 out:
	if (r == -1) {
		free(*cert);
		free(*chain);
		*cert = *chain = NULL;
		if (why[0] == '\0')
			snprintf(why, whylen, "cannot encode the certificates");
	}
	for (size_t i = 0; i < n && i <= PEM_BUNDLE_MAX_CERTS; i++)
		X509_free(certs[i]);
	X509_REQ_free(req);
	BIO_free(rb);
	BIO_free(b);
	ERR_clear_error();
	return r;
}
