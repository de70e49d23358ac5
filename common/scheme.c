/*
 * scheme.c - see scheme.h.
 */
#include <string.h>

#include "scheme.h"

static const struct {
	const char		*name;
	size_t			 dlen;
	enum scheme_family	 family;
} schemes[SCHEME_MAX] = {
	[SCHEME_ECDSA_SHA256] = { "ecdsa_sha256", 32, SCHEME_FAMILY_ECDSA },
	[SCHEME_ECDSA_SHA384] = { "ecdsa_sha384", 48, SCHEME_FAMILY_ECDSA },
	[SCHEME_ECDSA_SHA512] = { "ecdsa_sha512", 64, SCHEME_FAMILY_ECDSA },
	[SCHEME_RSA_PKCS1_SHA256] = { "rsa_pkcs1_sha256", 32,
	    SCHEME_FAMILY_RSA_PKCS1 },
	[SCHEME_RSA_PKCS1_SHA384] = { "rsa_pkcs1_sha384", 48,
	    SCHEME_FAMILY_RSA_PKCS1 },
	[SCHEME_RSA_PKCS1_SHA512] = { "rsa_pkcs1_sha512", 64,
	    SCHEME_FAMILY_RSA_PKCS1 },
	[SCHEME_RSA_PSS_SHA256] = { "rsa_pss_sha256", 32,
	    SCHEME_FAMILY_RSA_PSS },
	[SCHEME_RSA_PSS_SHA384] = { "rsa_pss_sha384", 48,
	    SCHEME_FAMILY_RSA_PSS },
	[SCHEME_RSA_PSS_SHA512] = { "rsa_pss_sha512", 64,
	    SCHEME_FAMILY_RSA_PSS },
};

const char *
sign_scheme_name(enum sign_scheme s)
{
	if ((unsigned)s == 0 || (unsigned)s >= SCHEME_MAX)
		return NULL;
	return schemes[s].name;
}

enum sign_scheme
sign_scheme_from_name(const char *name)
{
	for (unsigned i = 1; i < SCHEME_MAX; i++) {
		if (strcmp(schemes[i].name, name) == 0)
			return (enum sign_scheme)i;
	}
	return 0;
}

size_t
sign_scheme_digest_len(unsigned int s)
{
	return s == 0 || s >= SCHEME_MAX ? 0 : schemes[s].dlen;
}

enum scheme_family
sign_scheme_family(unsigned int s)
{
	return s == 0 || s >= SCHEME_MAX ? SCHEME_FAMILY_NONE : schemes[s].family;
}
