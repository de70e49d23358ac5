/*
 * hsm_account.h - the ACME account key: a second private key on the
 * token the agent is logged in to, used only to sign ACME requests
 * (JWS, RFC 8555 §6.2) that acme_sign_policy has let through.
 *
 * It is selected by its own pkcs11: URI, which must name the same token
 * (one login, one PIN), and checked like the main key: EC P-256 or RSA,
 * may sign, sensitive and never extractable. It is found again by
 * CKA_ID and label for every signature, so a reconnect to the token
 * (new session, new handles) needs nothing from here.
 */
#ifndef HSMAGENT_HSM_ACCOUNT_H
#define HSMAGENT_HSM_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsm.h"

struct hsm_account;

struct hsm_account *hsm_account_open(struct hsm *, const char *key_uri,
	    int allow_extractable, char *err, size_t errlen);
void	hsm_account_close(struct hsm_account *);
/* The public key (borrowed): its JWK is what the CA knows the account by. */
EVP_PKEY *hsm_account_pubkey(const struct hsm_account *);
/* "ES256" or "RS256". */
const char *hsm_account_alg(const struct hsm_account *);

/*
 * Signs SHA-256 of the signing input: CKM_ECDSA (returned as DER, as
 * hsm_sign does; the child makes r||s of it) or CKM_RSA_PKCS over the
 * DigestInfo. sig has room for HSM_MAX_SIG bytes. 0 or -1 with err.
 */
int	hsm_account_sign(struct hsm *, const struct hsm_account *,
	    const uint8_t *input, size_t len, uint8_t *sig, size_t *siglen,
	    char *err, size_t errlen);

#endif
