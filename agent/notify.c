/*
 * notify.c - the sd_notify(3) protocol written by hand: one datagram of
 * "KEY=VALUE" lines to $NOTIFY_SOCKET (a leading '@' is the abstract
 * namespace), so the agent needs no libsystemd. Without the variable
 * every call does nothing.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

static void	notify_send(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

static void
notify_send(const char *fmt, ...)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;
	char			 msg[512];
	va_list			 ap;
	int			 fd, n;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&sun, len) == -1)
		log_warn("notify: cannot reach the service manager");
	close(fd);
}

void
notify_ready(const char *status)
{
	notify_send("READY=1\nSTATUS=%s\nMAINPID=%ld", status, (long)getpid());
}

/* RELOADING=1 with the time systemd >= 253 wants; READY=1 ends it. */
void
notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_send("RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
}

void
notify_stopping(const char *status)
{
	notify_send("STOPPING=1\nSTATUS=%s", status);
}

void
notify_status(const char *status)
{
	notify_send("STATUS=%s", status);
}
