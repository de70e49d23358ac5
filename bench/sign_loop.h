/*
 * sign_loop.h - the signing loop both sides of sign_ratio_* run: N
 * signatures with EVP_DigestSign (SHA-256; PSS with salt = hash length
 * for RSA, as TLS 1.3 signs), timed. With tls13 each message is a TLS
 * 1.3 client CertificateVerify content around a 32-byte transcript hash
 * (what a handshake signs, and all the agent signs by default); without,
 * 130 bytes of anything (TLS 1.2's digest path, allow_tls12 only).
 */
#ifndef HSMAGENT_BENCH_SIGN_LOOP_H
#define HSMAGENT_BENCH_SIGN_LOOP_H

#include <stdint.h>

#include <openssl/evp.h>

/* The loop's figures: its whole time, and each signature's percentiles. */
struct bench_sign_times {
	int64_t	total_us;
	int64_t	p50_ns;
	int64_t	p99_ns;
};

/* 0 with the times; -1 with *failed_at the signature (1-based). */
int	bench_sign_loop(EVP_PKEY *, long n, int tls13,
	    struct bench_sign_times *, long *failed_at);

#endif
