/*
 * fuzz_acme_sign.c - the parent's check of the JWS and EAB signing
 * inputs the ACME connector child asks it to sign: arbitrary bytes from
 * the (untrusted) child, both checks, one rule set.
 */
#include <stddef.h>
#include <stdint.h>

#include "acme_sign_policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* RFC 7515 A.3's P-256 key, as acme_jwk() writes it. */
static const char jwk[] =
    "{\"crv\":\"P-256\",\"kty\":\"EC\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_sign_rules	 r = {
		.prefix = { "https://localhost:14000/", "https://ca.test/acme/" },
		.nprefix = 2,
		.alg = "ES256",
		.account_jwk = jwk,
		.eab_kid = "kid-1",
	};

	(void)acme_sign_check(&r, (const char *)data, size);
	(void)acme_eab_check(&r, (const char *)data, size);
	return 0;
}
