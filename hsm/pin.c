/*
 * pin.c - see pin.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pin.h"
#include "util.h"

int
pin_read(const char *path, char **pinp, size_t *capp, char *err,
    size_t errlen)
{
	char		 cpath[PATH_MAX];
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0, cap = PIN_MAX_LEN + 2;
	int		 fd = -1, r = -1;

	*pinp = NULL;
	*capp = 0;
	if (path == NULL) {
		const char *dir = getenv("CREDENTIALS_DIRECTORY");

		if (dir == NULL || *dir != '/') {
			snprintf(err, errlen, "no pin_file configured and no "
			    "systemd credential ($CREDENTIALS_DIRECTORY/hsm-pin)");
			return -1;
		}
		if ((size_t)snprintf(cpath, sizeof(cpath), "%s/hsm-pin", dir) >=
		    sizeof(cpath)) {
			snprintf(err, errlen, "credential path too long");
			return -1;
		}
		path = cpath;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "PIN file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "PIN file %s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "PIN file %s: mode %04o lets group or "
		    "others read it; chmod 0600 or 0400", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen, "PIN file %s: owned by uid %u, expected "
		    "root or uid %u", path, (unsigned)st.st_uid,
		    (unsigned)geteuid());
		goto out;
	}
	buf = xmalloc(cap);
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "PIN file %s: %s", path,
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
	if (len == 0 || len > PIN_MAX_LEN || memchr(buf, '\0', len) != NULL ||
	    memchr(buf, '\n', len) != NULL) {
		snprintf(err, errlen, "PIN file %s: empty, longer than %d "
		    "bytes, or holding more than one line", path, PIN_MAX_LEN);
		goto out;
	}
	buf[len] = '\0';
	*pinp = buf;
	*capp = cap;
	buf = NULL;
	r = 0;
 out:
	freezero(buf, cap);
	if (fd != -1)
		close(fd);
	return r;
}
