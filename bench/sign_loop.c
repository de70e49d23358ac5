/*
 * sign_loop.c - see sign_loop.h.
 */
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"
#include "sign_loop.h"
#include "tls13_cv.h"
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
bench_sign_loop(EVP_PKEY *key, long n, int tls13, struct bench_sign_times *t,
    long *failed_at)
{
	unsigned char	msg[TLS13_CV_MAX], hash[32];
	size_t		len = 130;
	int64_t		t0 = monotime_us(), s0;
	/* Each signature's time, for its percentiles: the same on both sides. */
	int64_t		*each = xcalloc((size_t)n, sizeof(*each));

	memset(msg, 0x5a, sizeof(msg));
	memset(hash, 0xa5, sizeof(hash));
	for (long i = 0; i < n; i++) {
		hash[0] = (unsigned char)i;
		hash[1] = (unsigned char)(i >> 8);
		if (tls13) {
			int l = tls13_cv_content(hash, sizeof(hash), msg,
			    sizeof(msg));

			if (l == -1) {
				*failed_at = i + 1;
				free(each);
				return -1;
			}
			len = (size_t)l;
		} else
			memcpy(msg, hash, 2);
		s0 = bench_now_ns();
		if (sign_once(key, msg, len) == -1) {
			*failed_at = i + 1;
			free(each);
			return -1;
		}
		each[i] = bench_now_ns() - s0;
	}
	t->total_us = monotime_us() - t0;
	qsort(each, (size_t)n, sizeof(*each), bench_cmp_i64);
	t->p50_ns = each[(n - 1) / 2];
	t->p99_ns = each[(n * 99 - 1) / 100];
	free(each);
	return 0;
}
