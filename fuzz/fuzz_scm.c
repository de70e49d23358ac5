/*
 * fuzz_scm.c - the Sectigo SCM answer parsers on arbitrary bodies: the
 * classification for each action and a spread of HTTP statuses, the
 * collect bundle split (PEM from the network) and the types check. The
 * certificates decode as in the child: with keyproxy.c's ENGINE, by the
 * key type's legacy method.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "keyproxy.h"
#include "pem_bundle.h"
#include "sectigo_msg.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Nothing here signs: a proxy key is never made. */
static int
no_sign(void *arg, uint32_t job_id, int tls13, enum sign_scheme scheme,
    const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen,
    size_t cap)
{
	(void)arg; (void)job_id; (void)tls13; (void)scheme; (void)data;
	(void)len; (void)sig; (void)siglen; (void)cap;
	return -1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (keyproxy_init(no_sign, NULL) == -1)
		abort();
	return 0;
}

/* The leaf key's CSR of the corpus bundle, so that the split can succeed. */
static const char csr[] =
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIHKMHECAQAwDzENMAsGA1UEAwwEbGVhZjBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
    "A0IABG27iSTLRhbhLD+MTBqORgZG5vIgvhWBq4PgpuSmss98wHedaEKMah+iY2es\n"
    "YX+V3bmnk/RnfqVDXm4nj+BsJ9CgADAKBggqhkjOPQQDAgNJADBGAiEA1BtNOawO\n"
    "28p2g6k3ddGUIoEcCfFy/gaJzR5c7rXZORkCIQCtvytrouKfbSLeLOKfWB9PR6Kr\n"
    "1pAIz4YPRZMCAwQLcA==\n"
    "-----END CERTIFICATE REQUEST-----\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long	 http[] = { 200, 204, 400, 401, 404, 429, 503 };
	struct scm_answer	 a;
	char			 why[256] = "", *cert, *chain;

	if (size < 1)
		return 0;
	scm_parse((uint8_t)(1 + data[0] % 4), http[data[0] / 4 % 7],
	    (const char *)data + 1, size - 1, "1001", &a);
	if (pem_bundle_split((const char *)data + 1, size - 1, csr, &cert,
	    &chain, why, sizeof(why)) == 0) {
		free(cert);
		free(chain);
	}
	(void)scm_check_types((const char *)data + 1, size - 1, 423, 365, why,
	    sizeof(why));
	return 0;
}
