/*
 * cert_hash.c - an issued certificate's hash, taken from its PEM text
 * without parsing the certificate.
 *
 * The certificate comes from the CA through the child: network data the
 * parent stores and hands to its client, and otherwise has no need to
 * read. Parsing it (PEM_read_bio_X509, then i2d_X509 to get the DER
 * back) was 15 % of the parent's samples in a profile of enrollments:
 * OpenSSL 3.0 looks up a decoder for the public key inside each
 * certificate it parses (bench/README.md). The block's base64 is all that is decoded
 * here. The DER must be one whole element, as it is when the
 * certificate parses: a parsed certificate's DER is the bytes it was
 * parsed from, and a verifier that parses the stored PEM hashes the
 * same bytes. Anything else (bytes after the element, a length that
 * runs past the block) names no hash: the stored text is then not one
 * certificate, and the record does not say it is.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cert_hash.h"
#include "util.h"

/* A certificate is a SEQUENCE; its length in at most 4 bytes. */
static int
one_der_element(const unsigned char *d, long n)
{
	size_t	len, hdr;

	if (n < 2 || d[0] != 0x30)
		return 0;
	if (d[1] < 0x80) {
		len = d[1];
		hdr = 2;
	} else {
		size_t k = d[1] & 0x7f;

		if (k == 0 || k > 4 || (size_t)n < 2 + k)
			return 0;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = (len << 8) | d[2 + i];
		hdr = 2 + k;
	}
	return len == (size_t)n - hdr;
}

int
cert_pem_sha256(const char *pem, char hex[65])
{
	BIO		*b = BIO_new_mem_buf(pem, -1);
	char		*name = NULL, *header = NULL;
	unsigned char	*der = NULL, md[32];
	unsigned int	 mdlen = 0;
	long		 n = 0;
	int		 r = -1;

	/*
	 * PEM_read_bio decodes a block without decrypting it or asking for
	 * a password; the blocks before the certificate are skipped, as
	 * PEM_read_bio_X509 skipped them. The input is one stored
	 * certificate (IPC_MAX_CERT), so the loop is bounded by it.
	 */
	while (b != NULL && PEM_read_bio(b, &name, &header, &der, &n) == 1) {
		if (strcmp(name, PEM_STRING_X509) == 0)
			break;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(der);
		name = header = NULL;
		der = NULL;
	}
	if (der != NULL && header[0] == '\0' && one_der_element(der, n) &&
	    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == sizeof(md)) {
		hex_lower(md, sizeof(md), hex);
		r = 0;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(b);
	ERR_clear_error();
	return r;
}
