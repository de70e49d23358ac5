/*
 * b64url.c - base64url without padding; see b64url.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "b64url.h"
#include "util.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
b64url_encode(const uint8_t *src, size_t len, char *dst, size_t dstlen)
{
	size_t	 i, o = 0;
	uint32_t v;

	if (len > (SIZE_MAX - 4) / 4 * 3 || dstlen < B64URL_LEN(len) + 1 ||
	    B64URL_LEN(len) > INT32_MAX)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 |
		    src[i + 2];
		dst[o++] = alphabet[v >> 18 & 63];
		dst[o++] = alphabet[v >> 12 & 63];
		dst[o++] = alphabet[v >> 6 & 63];
		dst[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)src[i] << 16;
		dst[o++] = alphabet[v >> 18 & 63];
		dst[o++] = alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
		dst[o++] = alphabet[v >> 18 & 63];
		dst[o++] = alphabet[v >> 12 & 63];
		dst[o++] = alphabet[v >> 6 & 63];
	}
	dst[o] = '\0';
	return (int)o;
}

char *
b64url_encode_alloc(const uint8_t *src, size_t len)
{
	char	*s;
	size_t	 n;

	if (len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	n = B64URL_LEN(len) + 1;
	s = xmalloc(n);
	if (b64url_encode(src, len, s, n) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int
sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
b64url_decode(const char *src, size_t len, uint8_t *dst, size_t dstlen)
{
	size_t	 i, o = 0, rem = len % 4;
	uint32_t v = 0;
	int	 s, n = 0;

	if (rem == 1 || len / 4 * 3 + (rem ? rem - 1 : 0) > dstlen ||
	    len > INT32_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if ((s = sextet(src[i])) < 0)
			return -1;
		v = v << 6 | (uint32_t)s;
		if (++n == 4) {
			dst[o++] = v >> 16 & 0xff;
			dst[o++] = v >> 8 & 0xff;
			dst[o++] = v & 0xff;
			v = 0;
			n = 0;
		}
	}
	if (n == 2) {
		if (v & 0x0f)		/* 4 unused bits */
			return -1;
		dst[o++] = v >> 4 & 0xff;
	} else if (n == 3) {
		if (v & 0x03)		/* 2 unused bits */
			return -1;
		dst[o++] = v >> 10 & 0xff;
		dst[o++] = v >> 2 & 0xff;
	}
	return (int)o;
}
