/*
 * b64url.h - base64url without padding (RFC 7515 §2, RFC 4648 §5), the
 * encoding of every JWS part and JWK member. Both processes use it: the
 * child to build JWS, the parent to read the protected header it is
 * asked to sign (policy/acme_sign_policy.c).
 */
#ifndef HSMAGENT_B64URL_H
#define HSMAGENT_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters b64url_encode writes for n bytes, without the NUL. */
#define B64URL_LEN(n)	(((n) / 3) * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))

/*
 * Encodes len bytes into dst (room for B64URL_LEN(len) + 1), NUL-
 * terminated. Returns the length written, or -1 if dst is too small.
 */
int	b64url_encode(const uint8_t *src, size_t len, char *dst,
	    size_t dstlen);
/* The same into a fresh buffer (xmalloc). */
char	*b64url_encode_alloc(const uint8_t *src, size_t len);

/*
 * Decodes exactly len characters. Strict: only [A-Za-z0-9_-], no
 * padding, no whitespace, no length of 1 mod 4, and the unused low bits
 * of the last character zero (one encoding per value). Writes at most
 * dstlen bytes; returns the number decoded, or -1.
 */
int	b64url_decode(const char *src, size_t len, uint8_t *dst,
	    size_t dstlen);

#endif
