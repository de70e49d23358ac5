/*
 * keyproxy.h - the child's stand-in for the HSM key.
 *
 * keyproxy_new() returns an EVP_PKEY holding only the client
 * certificate's public key. When libssl signs with it (TLS 1.2 or 1.3
 * CertificateVerify), the signature is computed by the parent: the proxy
 * passes (job id, scheme, digest) to the function given to
 * keyproxy_init(), which carries it over IPC and returns the signature.
 * Only digests travel, never padded blocks, so the parent chooses the
 * PKCS#11 mechanism and is never asked for a raw RSA operation.
 * Mirrors hsm_sign() in the parent (OpenSSH's mm_* / mm_answer_* pairs).
 */
#ifndef HSMAGENT_KEYPROXY_H
#define HSMAGENT_KEYPROXY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "scheme.h"

/* Returns 0 with sig/siglen filled (siglen <= cap), -1 on any failure. */
typedef int (*keyproxy_sign_fn)(void *arg, uint32_t job_id,
    enum sign_scheme scheme, const uint8_t *dgst, size_t dlen,
    uint8_t *sig, size_t *siglen, size_t cap);

/* Once per process, before the sandbox: registers the method hooks. */
int		 keyproxy_init(keyproxy_sign_fn fn, void *arg);
/* A proxy key for the certificate's public key, tagged with job_id. */
EVP_PKEY	*keyproxy_new(X509 *leaf, uint32_t job_id);

#endif
