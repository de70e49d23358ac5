/*
 * acme_eab.h - the External Account Binding MAC (RFC 8555 §7.3.4),
 * computed in the parent: the HMAC key is the CA's credential for the
 * external account and never reaches the child (SECURITY.md, "ACME").
 */
#ifndef HSMAGENT_ACME_EAB_H
#define HSMAGENT_ACME_EAB_H

#include <stddef.h>
#include <stdint.h>

#include "acme_jws.h"

#define ACME_EAB_MAX_KEY	1024	/* decoded bytes */

/*
 * HS256 of the signing input under the key in path: base64url text as
 * CAs hand it out (Pebble, step-ca, Entrust, Sectigo), one line, read
 * under secret_file rules for this one request and wiped after it. The
 * caller has checked the input (acme_eab_check). 0, or -1 with err,
 * which never holds the key.
 */
int	acme_eab_mac(const char *path, const char *input, size_t len,
	    uint8_t mac[ACME_HS256_LEN], char *err, size_t errlen);

#endif
