/*
 * csr.h - a PKCS#10 request from a local client, parsed and checked.
 *
 * PEM only, one "CERTIFICATE REQUEST" block and nothing else, at most
 * 48 KiB. Its signature must verify with its own key (proof that the
 * requester holds the key). Keys: EC on P-256, P-384 or P-521, or RSA
 * of 2048 bits or more with exponent 65537; anything weaker is refused
 * here, before any policy is asked. SANs come from the extension
 * request (DNS, IP, e-mail; any other kind is refused).
 */
#ifndef HSMAGENT_CSR_H
#define HSMAGENT_CSR_H

#include <stddef.h>

#include "san.h"

#define CSR_MAX_PEM	(48 * 1024)

enum csr_key_type {
	CSR_KEY_EC = 1,
	CSR_KEY_RSA,
};

struct csr_info {
	enum csr_key_type key_type;
	int		 bits;
	char		 curve[8];		/* "p256", "p384", "p521" */
	char		 cn[SAN_MAX_VALUE + 1];	/* "" if none */
	int		 has_other_subject;	/* RDNs besides one CN */
	struct san	 sans[POLICY_MAX_SANS];
	size_t		 nsans;
};

int	csr_parse(const char *pem, size_t len, struct csr_info *, char *err,
	    size_t errlen);

#endif
