/*
 * scheme.h - the signature schemes the parent will produce for the
 * child: TLS SignatureScheme families restricted to SHA-2. Both
 * processes use these numbers on the wire (IPC_SIGN_REQUEST).
 */
#ifndef HSMAGENT_SCHEME_H
#define HSMAGENT_SCHEME_H

#include <stddef.h>

enum sign_scheme {
	SCHEME_ECDSA_SHA256 = 1,
	SCHEME_ECDSA_SHA384,
	SCHEME_ECDSA_SHA512,
	SCHEME_RSA_PKCS1_SHA256,
	SCHEME_RSA_PKCS1_SHA384,
	SCHEME_RSA_PKCS1_SHA512,
	SCHEME_RSA_PSS_SHA256,
	SCHEME_RSA_PSS_SHA384,
	SCHEME_RSA_PSS_SHA512,
	SCHEME_MAX			/* one past the last */
};
#define SCHEME_BIT(s)		(1u << (s))
#define SCHEME_ALL_MASK		(((1u << SCHEME_MAX) - 1) & ~1u)

enum scheme_family {
	SCHEME_FAMILY_NONE = 0,
	SCHEME_FAMILY_ECDSA,
	SCHEME_FAMILY_RSA_PKCS1,
	SCHEME_FAMILY_RSA_PSS,
};

/* "ecdsa_sha256" etc. <-> enum; NULL / 0 when unknown. */
const char	*sign_scheme_name(enum sign_scheme s);
enum sign_scheme sign_scheme_from_name(const char *name);
/* Digest length in bytes (32, 48, 64); 0 for an unknown scheme. */
size_t		 sign_scheme_digest_len(unsigned int s);
enum scheme_family sign_scheme_family(unsigned int s);

#endif
