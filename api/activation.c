/*
 * activation.c - socket activation: sd_listen_fds(3) by hand. systemd
 * passes listening sockets from fd 3 on and names our pid in LISTEN_PID
 * (so a child that inherits the environment does not take them too).
 * We accept exactly one: a listening AF_UNIX stream socket bound to the
 * configured [api] socket path, so that the unit and the configuration
 * cannot silently disagree.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define LISTEN_FDS_START	3

int
activation_fd(const char *path, char *err, size_t errlen)
{
	const char		*pid = getenv("LISTEN_PID");
	const char		*fds = getenv("LISTEN_FDS");
	struct sockaddr_un	 sun;
	socklen_t		 len = sizeof(sun);
	int			 fd = LISTEN_FDS_START, type = 0, acc = 0;
	socklen_t		 olen = sizeof(int);

	if (pid == NULL || fds == NULL ||
	    strtol(pid, NULL, 10) != (long)getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strcmp(fds, "1") != 0) {
		snprintf(err, errlen, "socket activation: expected one socket, "
		    "got LISTEN_FDS=%.16s", fds);
		return -2;
	}
	memset(&sun, 0, sizeof(sun));
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) == -1 ||
	    type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &olen) == -1 ||
	    !acc || getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    sun.sun_family != AF_UNIX) {
		snprintf(err, errlen, "socket activation: fd 3 is not a "
		    "listening Unix stream socket");
		return -2;
	}
	if (strncmp(sun.sun_path, path, sizeof(sun.sun_path)) != 0) {
		snprintf(err, errlen, "socket activation: the socket is %.*s, "
		    "[api] socket is %s", (int)sizeof(sun.sun_path),
		    sun.sun_path, path);
		return -2;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "socket activation: fcntl: %s",
		    strerror(errno));
		return -2;
	}
	return fd;
}
