/*
 * acme_jws.h - the JSON Web Signature pieces of ACME (RFC 8555 §6.2,
 * RFC 7515), with no I/O and no private key: the account key stays in
 * the HSM and the parent signs what these functions build.
 *
 * The child builds a request with acme_jws_init(), sends its
 * signing_input to the parent, and puts the answer into the flattened
 * JSON form with acme_jws_serialize(). The External Account Binding
 * (RFC 8555 §7.3.4) is an inner JWS: HS256 over the account's JWK.
 * The parent uses acme_jwk() to know the exact JWK it may bind.
 */
#ifndef HSMAGENT_ACME_JWS_H
#define HSMAGENT_ACME_JWS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define ACME_MAX_URL		1024
#define ACME_MAX_NONCE		256
#define ACME_MAX_KID		1024	/* an account URL, or an EAB key id */
#define ACME_THUMBPRINT_LEN	43	/* base64url of a SHA-256 */
#define ACME_P256_SIG_LEN	64	/* r || s, 32 bytes each */
#define ACME_HS256_LEN		32

struct acme_jws {
	char	*protected_b64;
	char	*payload_b64;
	char	*signing_input;		/* protected_b64 "." payload_b64 */
};

/*
 * The public key as a JWK in the RFC 7638 §3 canonical form: required
 * members only, sorted, no whitespace. EC P-256 {"crv","kty","x","y"}
 * (coordinates 32 bytes each), RSA {"e","kty","n"}. This one string is
 * the "jwk" header value and the EAB payload. malloc'd; NULL for any
 * other key.
 */
char	*acme_jwk(EVP_PKEY *pub);
/* RFC 7638 thumbprint (SHA-256), base64url: the http-01 key authorization. */
int	 acme_jwk_thumbprint(EVP_PKEY *pub, char out[ACME_THUMBPRINT_LEN + 1]);
/* "ES256" for an EC P-256 key, "RS256" for RSA, NULL otherwise. */
const char *acme_jws_alg(EVP_PKEY *pub);

/*
 * Builds the protected header {alg, jwk | kid, nonce, url} and the
 * payload. Exactly one of jwk (JSON text from acme_jwk) and kid (the
 * account URL) is set; nonce is required. A payload of length 0 is the
 * empty payload of POST-as-GET (RFC 8555 §6.3). 0 or -1 (bad argument).
 */
int	acme_jws_init(struct acme_jws *, const char *alg, const char *jwk,
	    const char *kid, const char *nonce, const char *url,
	    const char *payload, size_t len);
/*
 * The EAB inner JWS: header {alg: HS256, kid: eab_kid, url: the
 * newAccount URL}, no nonce; payload the account JWK. 0 or -1.
 */
int	acme_eab_init(struct acme_jws *, const char *eab_kid,
	    const char *url, const char *account_jwk);
void	acme_jws_free(struct acme_jws *);

/* {"protected":..,"payload":..,"signature":..}, malloc'd, or NULL. */
char	*acme_jws_serialize(const struct acme_jws *, const uint8_t *sig,
	    size_t siglen);
/*
 * A DER ECDSA-Sig-Value (what hsm_sign returns, as TLS wants it) to
 * the JWS form (RFC 7518 §3.4): r and s as unsigned big-endian
 * integers of exactly half of rawlen bytes each. Strict DER, nothing
 * trailing, r and s in range of the size. Returns rawlen or -1.
 */
int	acme_ecdsa_der_to_raw(const uint8_t *der, size_t len, uint8_t *raw,
	    size_t rawlen);

/* HMAC-SHA256 (HS256) of input under key. 0 or -1. */
int	acme_hs256(const uint8_t *key, size_t keylen, const char *input,
	    size_t inlen, uint8_t mac[ACME_HS256_LEN]);

#endif
