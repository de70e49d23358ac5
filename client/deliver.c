/*
 * deliver.c - see deliver.h.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "util.h"

#define DELIVER_MAX	(1024 * 1024)	/* larger is not a certificate */

/* Does path hold exactly content? Unreadable or absent: no. */
static int
same_content(const char *path, const char *content)
{
	char	*old;
	size_t	 len;
	int	 same;

	if (read_file_capped(path, DELIVER_MAX, &old, &len) == -1)
		return 0;
	same = len == strlen(content) && memcmp(old, content, len) == 0;
	free(old);
	return same;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
deliver_file(const char *path, const char *content, char *err, size_t errlen)
{
	char	 tmp[PATH_MAX], dir[PATH_MAX];
	mode_t	 mask;
	int	 fd, dfd;

	if (same_content(path, content))
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp) || (size_t)snprintf(dir, sizeof(dir), "%s", path) >=
	    sizeof(dir)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* A certificate is public: the mode a new file would get. */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) == -1 ||
	    write_all(fd, content, strlen(content)) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The rename itself must survive a crash too. */
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 1;
}

int
deliver_exec(const char *cmd)
{
	pid_t	pid;
	int	st;

	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
