/*
 * tls13_cv.h - the content a TLS 1.3 client signs in CertificateVerify
 * (RFC 8446 §4.4.3): 64 bytes of 0x20, the context string
 * "TLS 1.3, client CertificateVerify", one 0x00, the transcript hash.
 *
 * The child recognises it in what libssl asks its proxy key to sign and
 * sends the parent the transcript hash only; the parent builds the
 * content around it and signs that. A signature made so is over a
 * content that starts with 64 spaces and the client context: it is no
 * JWS, CSR or anything else a CA would take.
 */
#ifndef HSMAGENT_TLS13_CV_H
#define HSMAGENT_TLS13_CV_H

#include <stddef.h>
#include <stdint.h>

#define TLS13_CV_PREFIX_LEN	(64 + 33 + 1)
#define TLS13_CV_MAX		(TLS13_CV_PREFIX_LEN + 64)

/* The content for a transcript hash of 32, 48 or 64 bytes; its length or -1. */
int	tls13_cv_content(const uint8_t *hash, size_t hlen, uint8_t *out,
	    size_t cap);
/*
 * Is tbs a client CertificateVerify content? 1 with *hash and *hlen
 * pointing at its transcript hash (32, 48 or 64 bytes), else 0.
 */
int	tls13_cv_split(const uint8_t *tbs, size_t len, const uint8_t **hash,
	    size_t *hlen);

#endif
