/*
 * util.c - see util.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

int
read_file_capped(const char *path, size_t max, char **bufp, size_t *lenp)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	int		 fd, r = -1, saved;

	*bufp = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		goto out;
	}
	buf = xmalloc(max + 1);
	for (;;) {
		/* Read one byte past the cap to catch a file that grew. */
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			errno = EFBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	r = 0;
 out:
	saved = errno;
	freezero(buf, max + 1);
	close(fd);
	errno = saved;
	return r;
}

int
write_file_synced(const char *path, const char *text, int mode, int replace)
{
	size_t	 n = strlen(text), plen = strlen(path);
	char	*tmp = NULL;
	int	 fd, ok, e;

	if (replace) {
		tmp = xmalloc(plen + 5);
		memcpy(tmp, path, plen);
		memcpy(tmp + plen, ".new", 5);
	}
	fd = open(replace ? tmp : path, O_WRONLY | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | (replace ? O_TRUNC : O_EXCL), (mode_t)mode);
	ok = fd != -1 && write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
	e = errno;
	if (fd != -1 && close(fd) == -1 && ok) {
		ok = 0;
		e = errno;
	}
	if (ok && replace && rename(tmp, path) == -1) {
		ok = 0;
		e = errno;
	}
	if (!ok && replace && fd != -1)
		unlink(tmp);
	free(tmp);
	errno = e;
	return ok ? 0 : -1;
}

void
freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

void *
xmalloc(size_t n)
{
	void *p;

	if (n == 0)
		n = 1;
	if ((p = malloc(n)) == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		fatalx("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *q;

	if ((q = realloc(p, size == 0 ? 1 : size)) == NULL)
		fatalx("out of memory (%zu bytes)", size);
	return q;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatalx("out of memory");
	return p;
}

int64_t
monotime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
monotime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
copy_printable(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	if (dstlen == 0)
		return;
	for (i = 0; i < dstlen - 1 && src[i] != '\0'; i++)
		dst[i] = src[i] >= 0x20 && src[i] <= 0x7e ? src[i] : '?';
	dst[i] = '\0';
}

int
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

void
hex_lower(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}
