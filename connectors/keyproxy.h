/*
 * keyproxy.h - the child's stand-in for the HSM key.
 *
 * keyproxy_new() returns an EVP_PKEY holding only the client
 * certificate's public key. When libssl signs with it (CertificateVerify)
 * the signature is computed by the parent: the proxy passes what it was
 * asked to sign to the function given to keyproxy_init(), which carries
 * it over IPC and returns the signature.
 *  - TLS 1.3: libssl hands over the whole content (RFC 8446 §4.4.3); the
 *    proxy checks that it is a client CertificateVerify content and sends
 *    only the transcript hash: the parent builds the content again and
 *    signs that, so the signature is good for nothing else.
 *  - TLS 1.2, only for a key made with allow_tls12: the digest of what
 *    libssl hands over. Anything else is refused here.
 * Never a padded block: the parent chooses the PKCS#11 mechanism and is
 * never asked for a raw RSA operation. Mirrors hsm_sign() in the parent
 * (OpenSSH's mm_* / mm_answer_* pairs).
 */
#ifndef HSMAGENT_KEYPROXY_H
#define HSMAGENT_KEYPROXY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "scheme.h"

/*
 * tls13: data is a TLS 1.3 transcript hash, else a TLS 1.2 digest.
 * Returns 0 with sig/siglen filled (siglen <= cap), -1 on any failure.
 */
typedef int (*keyproxy_sign_fn)(void *arg, uint32_t job_id, int tls13,
    enum sign_scheme scheme, const uint8_t *data, size_t len,
    uint8_t *sig, size_t *siglen, size_t cap);

/* Once per process, before the sandbox: registers the method hooks. */
int		 keyproxy_init(keyproxy_sign_fn fn, void *arg);
/*
 * A proxy key for the certificate's public key, tagged with job_id;
 * allow_tls12: it may sign TLS 1.2 digests too.
 */
EVP_PKEY	*keyproxy_new(X509 *leaf, uint32_t job_id, int allow_tls12);

#endif
