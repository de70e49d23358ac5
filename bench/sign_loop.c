/*
 * sign_loop.c - see sign_loop.h.
 */
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <string.h>

#include "sign_loop.h"
#include "util.h"

static int
sign_once(EVP_PKEY *key, const unsigned char *msg, size_t len)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	 sig[1024];
	size_t		 siglen = sizeof(sig);
	int		 ok;

	ok = md != NULL &&
	    EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) == 1 &&
	    (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) ==
	    1)) && EVP_DigestSign(md, sig, &siglen, msg, len) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int
bench_sign_loop(EVP_PKEY *key, long n, int64_t *us, long *failed_at)
{
	unsigned char	msg[128];
	int64_t		t0 = monotime_us();

	memset(msg, 0x5a, sizeof(msg));
	for (long i = 0; i < n; i++) {
		msg[0] = (unsigned char)i;
		if (sign_once(key, msg, sizeof(msg)) == -1) {
			*failed_at = i + 1;
			return -1;
		}
	}
	*us = monotime_us() - t0;
	return 0;
}
