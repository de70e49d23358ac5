/*
 * tlog_receipt.h - a certificate's receipt built from the audit log, and
 * checked offline. The receipt (tlog_proof.h) carries the ca.result
 * record that delivered the certificate (it names the order, the serial
 * and the SHA-256 of the certificate), its inclusion proof, and the
 * first signed checkpoint that covers it. Checking it needs the receipt,
 * the certificate and the checkpoint key's public half: nothing of the
 * host.
 */
#ifndef HSMAGENT_TLOG_RECEIPT_H
#define HSMAGENT_TLOG_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/*
 * From the log at path: the receipt of order (malloc'd text). 0; 1 when
 * no checkpoint covers the record yet (try again after the next); -1
 * with err (no such issued order, an unreadable log).
 */
int	tlog_receipt_build(const char *path, const char *order, char **out,
	    char *err, size_t errlen);
/* The same for the record at index (from 0): "hsmagent audit prove". */
int	tlog_prove(const char *path, uint64_t index, char **out, char *err,
	    size_t errlen);
/*
 * 1 if the receipt proves that cert_der was delivered as logged, under
 * a checkpoint signed by key; 0 with err saying what fails.
 */
int	tlog_receipt_verify(const char *receipt, size_t len,
	    const unsigned char *cert_der, size_t cert_len, EVP_PKEY *key,
	    char *err, size_t errlen);

#endif
