/*
 * buf.h - bounds-checked serialisation for IPC payloads.
 *
 * Writers grow up to a hard cap; readers never read past the end. Every
 * field is written and read one at a time, big-endian, never as a raw
 * struct (OpenSSH's sshbuf habit): a peer built differently, or a hostile
 * one, cannot make us misread memory. All functions return 0 or -1.
 */
#ifndef HSMAGENT_BUF_H
#define HSMAGENT_BUF_H

#include <stddef.h>
#include <stdint.h>

struct wbuf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;		/* allocated */
	size_t	 max;		/* hard limit on len */
	int	 failed;	/* sticky: an earlier put overflowed */
};

struct rbuf {
	const uint8_t	*data;
	size_t		 len;
	size_t		 off;
};

void	wbuf_init(struct wbuf *, size_t max);
/* Wipes before freeing: payloads may hold signatures or secrets. */
void	wbuf_free(struct wbuf *);
void	wbuf_reset(struct wbuf *);
int	wbuf_put(struct wbuf *, const void *, size_t);
int	wbuf_put_u8(struct wbuf *, uint8_t);
int	wbuf_put_u16(struct wbuf *, uint16_t);
int	wbuf_put_u32(struct wbuf *, uint32_t);
int	wbuf_put_u64(struct wbuf *, uint64_t);
/* u32 length, then the bytes. */
int	wbuf_put_bytes(struct wbuf *, const void *, size_t);
/* Like put_bytes for a C string (no NUL on the wire). */
int	wbuf_put_cstr(struct wbuf *, const char *);
/* Overwrite 4 bytes at off (used to patch a length after the fact). */
int	wbuf_poke_u32(struct wbuf *, size_t off, uint32_t);

void	rbuf_init(struct rbuf *, const void *, size_t);
size_t	rbuf_left(const struct rbuf *);
int	rbuf_get(struct rbuf *, void *, size_t);
int	rbuf_get_u8(struct rbuf *, uint8_t *);
int	rbuf_get_u16(struct rbuf *, uint16_t *);
int	rbuf_get_u32(struct rbuf *, uint32_t *);
int	rbuf_get_u64(struct rbuf *, uint64_t *);
/* u32 length (must be <= max), then a pointer into the buffer. */
int	rbuf_get_bytes(struct rbuf *, const uint8_t **, size_t *, size_t max);
/*
 * A string field of at most max bytes with no NUL and only printable
 * ASCII (0x20-0x7e): copied into dst (size dstlen > max), NUL-terminated.
 */
int	rbuf_get_cstr(struct rbuf *, char *dst, size_t dstlen, size_t max);
/* 0 if every byte was consumed: decoders reject trailing garbage. */
int	rbuf_end(const struct rbuf *);

#endif
