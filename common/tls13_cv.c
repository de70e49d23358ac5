/*
 * tls13_cv.c - see tls13_cv.h.
 */
#include <string.h>

#include "tls13_cv.h"

static const char context[] = "TLS 1.3, client CertificateVerify";

static int
hash_len_ok(size_t hlen)
{
	return hlen == 32 || hlen == 48 || hlen == 64;
}

int
tls13_cv_content(const uint8_t *hash, size_t hlen, uint8_t *out, size_t cap)
{
	if (hash == NULL || !hash_len_ok(hlen) ||
	    cap < TLS13_CV_PREFIX_LEN + hlen)
		return -1;
	memset(out, 0x20, 64);
	memcpy(out + 64, context, sizeof(context) - 1);
	out[64 + sizeof(context) - 1] = 0x00;
	memcpy(out + TLS13_CV_PREFIX_LEN, hash, hlen);
	return (int)(TLS13_CV_PREFIX_LEN + hlen);
}

int
tls13_cv_split(const uint8_t *tbs, size_t len, const uint8_t **hash,
    size_t *hlen)
{
	uint8_t	 prefix[TLS13_CV_PREFIX_LEN];

	if (tbs == NULL || len <= TLS13_CV_PREFIX_LEN ||
	    !hash_len_ok(len - TLS13_CV_PREFIX_LEN))
		return 0;
	memset(prefix, 0x20, 64);
	memcpy(prefix + 64, context, sizeof(context) - 1);
	prefix[TLS13_CV_PREFIX_LEN - 1] = 0x00;
	if (memcmp(tbs, prefix, sizeof(prefix)) != 0)
		return 0;
	*hash = tbs + TLS13_CV_PREFIX_LEN;
	*hlen = len - TLS13_CV_PREFIX_LEN;
	return 1;
}
