/*
 * buf.c - see buf.h.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

void
wbuf_init(struct wbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
wbuf_free(struct wbuf *b)
{
	freezero(b->data, b->cap);
	memset(b, 0, sizeof(*b));
}

void
wbuf_reset(struct wbuf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	b->len = 0;
	b->failed = 0;
}

int
wbuf_put(struct wbuf *b, const void *p, size_t n)
{
	if (b->failed || n > b->max - b->len) {
		b->failed = 1;
		return -1;
	}
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		uint8_t *nd;

		while (ncap < b->len + n)
			ncap = ncap > b->max / 2 ? b->max : ncap * 2;
		nd = xmalloc(ncap);
		if (b->len > 0)
			memcpy(nd, b->data, b->len);
		freezero(b->data, b->cap);
		b->data = nd;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
wbuf_put_u8(struct wbuf *b, uint8_t v)
{
	return wbuf_put(b, &v, 1);
}

int
wbuf_put_u16(struct wbuf *b, uint16_t v)
{
	uint8_t d[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return wbuf_put(b, d, sizeof(d));
}

int
wbuf_put_u32(struct wbuf *b, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	return wbuf_put(b, d, sizeof(d));
}

int
wbuf_put_u64(struct wbuf *b, uint64_t v)
{
	if (wbuf_put_u32(b, (uint32_t)(v >> 32)) == -1)
		return -1;
	return wbuf_put_u32(b, (uint32_t)v);
}

int
wbuf_put_bytes(struct wbuf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		b->failed = 1;
		return -1;
	}
	if (wbuf_put_u32(b, (uint32_t)n) == -1)
		return -1;
	return wbuf_put(b, p, n);
}

int
wbuf_put_cstr(struct wbuf *b, const char *s)
{
	return wbuf_put_bytes(b, s, s == NULL ? 0 : strlen(s));
}

int
wbuf_poke_u32(struct wbuf *b, size_t off, uint32_t v)
{
	if (b->failed || off > b->len || b->len - off < 4)
		return -1;
	b->data[off] = (uint8_t)(v >> 24);
	b->data[off + 1] = (uint8_t)(v >> 16);
	b->data[off + 2] = (uint8_t)(v >> 8);
	b->data[off + 3] = (uint8_t)v;
	return 0;
}

void
rbuf_init(struct rbuf *r, const void *p, size_t n)
{
	r->data = p;
	r->len = n;
	r->off = 0;
}

size_t
rbuf_left(const struct rbuf *r)
{
	return r->len - r->off;
}

int
rbuf_get(struct rbuf *r, void *p, size_t n)
{
	if (n > rbuf_left(r))
		return -1;
	if (n > 0)
		memcpy(p, r->data + r->off, n);
	r->off += n;
	return 0;
}

int
rbuf_get_u8(struct rbuf *r, uint8_t *v)
{
	return rbuf_get(r, v, 1);
}

int
rbuf_get_u16(struct rbuf *r, uint16_t *v)
{
	uint8_t d[2];

	if (rbuf_get(r, d, sizeof(d)) == -1)
		return -1;
	*v = (uint16_t)((d[0] << 8) | d[1]);
	return 0;
}

int
rbuf_get_u32(struct rbuf *r, uint32_t *v)
{
	uint8_t d[4];

	if (rbuf_get(r, d, sizeof(d)) == -1)
		return -1;
	*v = ((uint32_t)d[0] << 24) | ((uint32_t)d[1] << 16) |
	    ((uint32_t)d[2] << 8) | d[3];
	return 0;
}

int
rbuf_get_u64(struct rbuf *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (rbuf_get_u32(r, &hi) == -1 || rbuf_get_u32(r, &lo) == -1)
		return -1;
	*v = ((uint64_t)hi << 32) | lo;
	return 0;
}

int
rbuf_get_bytes(struct rbuf *r, const uint8_t **p, size_t *n, size_t max)
{
	uint32_t len;
	size_t save = r->off;

	if (rbuf_get_u32(r, &len) == -1)
		return -1;
	if (len > max || len > rbuf_left(r)) {
		r->off = save;
		return -1;
	}
	*p = r->data + r->off;
	*n = len;
	r->off += len;
	return 0;
}

int
rbuf_get_cstr(struct rbuf *r, char *dst, size_t dstlen, size_t max)
{
	const uint8_t *p;
	size_t n, save = r->off;

	if (dstlen == 0 || max >= dstlen)
		return -1;
	if (rbuf_get_bytes(r, &p, &n, max) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e) {
			r->off = save;
			return -1;
		}
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

int
rbuf_end(const struct rbuf *r)
{
	return r->off == r->len ? 0 : -1;
}
