/*
 * cert_hash.h - the SHA-256 an issued certificate is named by in its
 * ca.result record, the hash a receipt's verifier takes of the DER
 * (hsmagent audit verify-receipt).
 */
#ifndef HSMAGENT_CERT_HASH_H
#define HSMAGENT_CERT_HASH_H

/*
 * Hex SHA-256 of the DER in the first CERTIFICATE block of pem (NUL-
 * terminated): 0, or -1 when there is no such block, it has headers
 * (encrypted), or it is not one whole DER element.
 */
int	cert_pem_sha256(const char *pem, char hex[65]);

#endif
