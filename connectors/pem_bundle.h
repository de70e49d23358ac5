/*
 * pem_bundle.h - a CA's answer of several PEM certificates (Sectigo's
 * collect, ACME's certificate download) into the one issued for the
 * order's key and the rest as its chain. Shared by the connector types
 * that get bundles; untrusted input, capped, fuzzed (fuzz_scm).
 */
#ifndef HSMAGENT_PEM_BUNDLE_H
#define HSMAGENT_PEM_BUNDLE_H

#include <stddef.h>

#define PEM_BUNDLE_MAX_CERTS	10	/* certificates in one answer */

/*
 * body (PEM, in either order, other block types skipped) into the
 * certificate whose key is the CSR's and the rest as its chain, issuer
 * first (both malloc'd, normalised PEM). -1 with why if it holds no
 * certificate, more than PEM_BUNDLE_MAX_CERTS, or none for the CSR's
 * key.
 */
int	pem_bundle_split(const char *body, size_t len, const char *csr_pem,
	    char **cert, char **chain, char *why, size_t whylen);

#endif
