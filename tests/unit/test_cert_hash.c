/*
 * test_cert_hash.c - the hash a ca.result record names: for a real
 * certificate, the SHA-256 of the DER that parsing and re-encoding it
 * gives (what a receipt's verifier hashes); blocks before it skipped;
 * no hash for a block that is not one whole DER element (bytes after
 * it, cut short), for an encrypted block, or for no block at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cert_hash.h"
#include "util.h"

static unsigned char	*der1, *der2;
static int		 len1, len2;

/* A self-signed P-256 certificate's DER. */
static int
make_cert(unsigned char **der, const char *cn)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	X509_NAME	*nm = X509_get_subject_name(x);
	int		 n;

	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	n = i2d_X509(x, der);
	assert_true(n > 0);
	X509_free(x);
	EVP_PKEY_free(k);
	return n;
}

static int
setup(void **state)
{
	(void)state;
	len1 = make_cert(&der1, "one.example");
	len2 = make_cert(&der2, "two.example");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	OPENSSL_free(der1);
	OPENSSL_free(der2);
	return 0;
}

/* PEM text of the blocks given as (name, header, data, len) in turn. */
static char *
pem_of(int nblocks, ...)
{
	BIO	*b = BIO_new(BIO_s_mem());
	va_list	 ap;
	char	*p, *out;
	long	 n;

	va_start(ap, nblocks);
	for (int i = 0; i < nblocks; i++) {
		const char		*name = va_arg(ap, const char *);
		const char		*hdr = va_arg(ap, const char *);
		const unsigned char	*d = va_arg(ap, const unsigned char *);
		long			 len = va_arg(ap, long);

		assert_true(PEM_write_bio(b, name, hdr, d, len) > 0);
	}
	va_end(ap);
	n = BIO_get_mem_data(b, &p);
	out = calloc(1, (size_t)n + 1);
	assert_non_null(out);
	memcpy(out, p, (size_t)n);
	BIO_free(b);
	return out;
}

static void
sha_hex(const unsigned char *d, size_t n, char hex[65])
{
	unsigned char	md[32];
	unsigned int	mdlen = 0;

	assert_int_equal(EVP_Digest(d, n, md, &mdlen, EVP_sha256(), NULL), 1);
	hex_lower(md, sizeof(md), hex);
}

/* What the parse-and-re-encode way gives: the verifier's hash. */
static void
parsed_hex(const char *pem, char hex[65])
{
	BIO		*b = BIO_new_mem_buf(pem, -1);
	X509		*x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	unsigned char	*der = NULL;
	int		 n;

	assert_non_null(x);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	sha_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(b);
}

static void
test_same_as_parsed(void **state)
{
	char	*pem, got[65], want[65];

	(void)state;
	pem = pem_of(1, "CERTIFICATE", "", der1, (long)len1);
	assert_int_equal(cert_pem_sha256(pem, got), 0);
	parsed_hex(pem, want);
	assert_string_equal(got, want);
	sha_hex(der1, (size_t)len1, want);
	assert_string_equal(got, want);
	free(pem);

	/* A chain: the first certificate's, not the second's. */
	pem = pem_of(2, "CERTIFICATE", "", der1, (long)len1,
	    "CERTIFICATE", "", der2, (long)len2);
	assert_int_equal(cert_pem_sha256(pem, got), 0);
	assert_string_equal(got, want);
	free(pem);

	/* Another block first: skipped, as the parser skipped it. */
	pem = pem_of(2, "PUBLIC KEY", "", der2, (long)len2,
	    "CERTIFICATE", "", der1, (long)len1);
	assert_int_equal(cert_pem_sha256(pem, got), 0);
	parsed_hex(pem, want);
	assert_string_equal(got, want);
	free(pem);
}

static void
test_not_one_element(void **state)
{
	unsigned char	*d = malloc((size_t)len1 + 3);
	char		*pem, got[65];

	(void)state;
	assert_non_null(d);
	memcpy(d, der1, (size_t)len1);
	memcpy(d + len1, "\x05\x00\x00", 3);

	/* Bytes after the certificate. */
	pem = pem_of(1, "CERTIFICATE", "", d, (long)len1 + 3);
	assert_int_equal(cert_pem_sha256(pem, got), -1);
	free(pem);
	/* Cut short by one byte. */
	pem = pem_of(1, "CERTIFICATE", "", d, (long)len1 - 1);
	assert_int_equal(cert_pem_sha256(pem, got), -1);
	free(pem);
	/* Not a SEQUENCE. */
	d[0] = 0x31;
	pem = pem_of(1, "CERTIFICATE", "", d, (long)len1);
	assert_int_equal(cert_pem_sha256(pem, got), -1);
	free(pem);
	/* A length of 5 bytes, and one of 0 bytes (indefinite). */
	memcpy(d, "\x30\x85\x00\x00\x00\x00\x01\x00", 8);
	pem = pem_of(1, "CERTIFICATE", "", d, 8L);
	assert_int_equal(cert_pem_sha256(pem, got), -1);
	free(pem);
	memcpy(d, "\x30\x80\x00\x00", 4);
	pem = pem_of(1, "CERTIFICATE", "", d, 4L);
	assert_int_equal(cert_pem_sha256(pem, got), -1);
	free(pem);
	/* A short form that fits: one whole (if empty) element. */
	memcpy(d, "\x30\x00", 2);
	pem = pem_of(1, "CERTIFICATE", "", d, 2L);
	assert_int_equal(cert_pem_sha256(pem, got), 0);
	free(pem);
	free(d);
}

static void
test_no_certificate(void **state)
{
	char	*pem, got[65];

	(void)state;
	assert_int_equal(cert_pem_sha256("", got), -1);
	assert_int_equal(cert_pem_sha256("not PEM at all\n", got), -1);
	pem = pem_of(1, "PUBLIC KEY", "", der1, (long)len1);
	assert_int_equal(cert_pem_sha256(pem, got), -1);
	free(pem);
	/* Encrypted: never decrypted, never a password asked for. */
	pem = pem_of(1, "CERTIFICATE",
	    "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
	    "00112233445566778899AABBCCDDEEFF\n", der1, (long)len1);
	assert_int_equal(cert_pem_sha256(pem, got), -1);
	free(pem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_parsed),
		cmocka_unit_test(test_not_one_element),
		cmocka_unit_test(test_no_certificate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
