/*
 * util.h - small helpers shared by both processes.
 */
#ifndef HSMAGENT_UTIL_H
#define HSMAGENT_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads a whole regular file of at most max bytes into a fresh buffer
 * with a NUL appended (not counted in *lenp). Fails (-1, errno set, with
 * EFBIG for an oversized file) rather than truncating. The buffer comes
 * from malloc; callers holding secrets release it with freezero().
 */
int	read_file_capped(const char *path, size_t max, char **bufp,
	    size_t *lenp);

/*
 * Writes text to path and syncs it: replace 1, written to "path.new" and
 * renamed over path (readers see the old file or the new, whole); 0, a
 * new file only (O_EXCL: an existing one is kept, errno EEXIST). Never
 * follows a symlink. 0, or -1 with errno.
 */
int	write_file_synced(const char *path, const char *text, int mode,
	    int replace);

/* Wipes then frees; NULL is fine. */
void	freezero(void *p, size_t len);

/* Overflow-checked allocation that aborts the process on failure. */
void	*xmalloc(size_t n);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t size);
char	*xstrdup(const char *s);

/*
 * Copies at most dstlen - 1 bytes of src, NUL-terminated, with every
 * byte outside printable ASCII replaced by '?': text bound for a log
 * line or a message the other process will print.
 */
void	copy_printable(char *dst, size_t dstlen, const char *src);

/*
 * A name as configs, policies and messages use them: 1 to max of
 * [a-z0-9_-]. Connector, profile, rule and type names.
 */
int	name_ok(const char *s, size_t max);

/*
 * Lower-case hex of n bytes into out, which holds 2 * n + 1 (NUL
 * added). Digests in records and names: one table lookup per nibble,
 * no snprintf (this runs for every audit record).
 */
void	hex_lower(const uint8_t *p, size_t n, char *out);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t	monotime_ms(void);
int64_t	monotime_us(void);

#endif
