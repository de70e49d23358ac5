/*
 * sign_loop.h - the signing loop both sides of sign_ratio_* run: N
 * signatures over a 128-byte message with EVP_DigestSign (SHA-256; PSS
 * with salt = hash length for RSA, as TLS 1.3 signs), timed.
 */
#ifndef HSMAGENT_BENCH_SIGN_LOOP_H
#define HSMAGENT_BENCH_SIGN_LOOP_H

#include <stdint.h>

#include <openssl/evp.h>

/* 0 with *us the time taken; -1 with *failed_at the signature (1-based). */
int	bench_sign_loop(EVP_PKEY *, long n, int64_t *us, long *failed_at);

#endif
