/*
 * secret_file.c - see secret_file.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret_file.h"
#include "util.h"

int
secret_file_read(const char *path, const char *what, size_t max,
    char **outp, size_t *capp, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0, cap = max + 2;
	int		 fd = -1, r = -1;

	*outp = NULL;
	*capp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s file %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s file %s: not a regular file", what,
		    path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s file %s: mode %04o lets group or "
		    "others read it; chmod 0600 or 0400", what, path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen, "%s file %s: owned by uid %u, expected "
		    "root or uid %u", what, path, (unsigned)st.st_uid,
		    (unsigned)geteuid());
		goto out;
	}
	buf = xmalloc(cap);
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s file %s: %s", what, path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap - 1)
			break;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0 || len > max) {
		snprintf(err, errlen, "%s file %s: empty, or longer than %zu "
		    "bytes", what, path, max);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL || memchr(buf, '\n', len) !=
	    NULL) {
		snprintf(err, errlen, "%s file %s: more than one line, or a NUL "
		    "byte", what, path);
		goto out;
	}
	buf[len] = '\0';
	*outp = buf;
	*capp = cap;
	buf = NULL;
	r = 0;
 out:
	freezero(buf, cap);
	if (fd != -1)
		close(fd);
	return r;
}
