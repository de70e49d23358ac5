/*
 * fuzz_acme_sign.c - the parent's check of the JWS and EAB signing
 * inputs the ACME connector child asks it to sign: arbitrary bytes from
 * the (untrusted) child, the form checks, and the typed check of every
 * operation against an enrollment and a revocation job (the first byte
 * picks the operation, the rest is the input).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "acme_sign_policy.h"
#include "acme_url_pin.h"
#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* RFC 7515 A.3's P-256 key, as acme_jwk() writes it. */
static const char jwk[] =
    "{\"crv\":\"P-256\",\"kty\":\"EC\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_sign_rules	 r = {
		.prefix = { "https://localhost:14000/", "https://ca.test/acme/" },
		.nprefix = 2,
		.alg = "ES256",
		.account_jwk = jwk,
		.eab_kid = "kid-1",
		.contact = "mailto:a@example.org,mailto:b@example.org",
	};
	struct acme_job_facts	 enroll = { .action = CA_ENROLL,
	    .sans_json = "[\"dns:a.test\",\"ip:192.0.2.1\"]", .csr_der = der,
	    .csr_len = sizeof(der) };
	struct acme_job_facts	 revoke = { .action = CA_REVOKE,
	    .sans_json = "[\"dns:a.test\"]", .cert_der = der,
	    .cert_len = sizeof(der), .reason = 1 };
	static struct acme_pins		pins;
	static struct acme_job_pins	jp;
	char			 url[1100], kid[1100];

	(void)acme_sign_check(&r, (const char *)data, size);
	(void)acme_eab_check(&r, (const char *)data, size);
	if (size > 0) {
		(void)acme_sign_op_check(&r, &revoke, data[0] % 8,
		    (const char *)data + 1, size - 1, url, sizeof(url), kid,
		    sizeof(kid));
		/* What passes goes through the pins, as the parent does. */
		if (acme_sign_op_check(&r, &enroll, data[0] % 8,
		    (const char *)data + 1, size - 1, url, sizeof(url), kid,
		    sizeof(kid)) == ACME_SIGN_OK && acme_pin_check(&pins, &jp,
		    data[0] % 8, url, kid[0] ? kid : NULL, 2) == ACME_SIGN_OK)
			(void)acme_pin_learn(&pins, &jp, data[0] % 8, url,
			    kid[0] ? kid : NULL);
		if (data[0] & 0x80)	/* a new job, now and then */
			memset(&jp, 0, sizeof(jp));
	}
	return 0;
}
