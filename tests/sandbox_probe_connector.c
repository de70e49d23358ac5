/*
 * sandbox_probe_connector.c - test builds only: a connector type whose
 * "request" is a breakout attempt, run inside the real sandboxed child
 * when a CA job for it starts. The order's profile names the attempt:
 *
 *   open-file      openat("/etc/passwd")             killed (seccomp)
 *   exec           execve("/bin/true")               killed (seccomp)
 *   unix-socket    socket(AF_UNIX, SOCK_STREAM)      killed (seccomp)
 *   ptrace-parent  ptrace(PTRACE_ATTACH, parent)     killed (seccomp)
 *   write-state    creat(URL path + "/probe")        killed (seccomp)
 *   connect-N      TCP connect to 127.0.0.1:N        refused (Landlock
 *                                                    ABI >= 4)
 * A killed child is the parent's to report (sandbox.violation, the
 * sandbox kill counter); an attempt that returns is rejected with what
 * happened, so a test sees "NOT stopped" if the sandbox let it through.
 * The product child (connectors/registry.c) has no such type.
 */
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connector.h"
#include "log.h"

static int
returned(struct ca_xfer *x, const char *what, long rc)
{
	snprintf(x->prep_error, sizeof(x->prep_error), "%s was NOT stopped "
	    "(rc %ld, errno %d)", what, rc, errno);
	log_error("sandbox probe: %s", x->prep_error);
	return -1;
}

static int
probe_connect(struct ca_xfer *x, int port)
{
	struct sockaddr_in	sin;
	int			fd = socket(AF_INET, SOCK_STREAM, 0), rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = fd == -1 ? -1 : connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	if (rc == -1 && (errno == EACCES || errno == EPERM)) {
		snprintf(x->prep_error, sizeof(x->prep_error), "connect to port "
		    "%d refused by the sandbox: %s", port, strerror(errno));
		log_error("sandbox probe: %s", x->prep_error);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (fd != -1)
		close(fd);
	return returned(x, "connect", rc);
}

static int
probe_prepare(struct ca_xfer *x)
{
	const char	*p = x->profile;
	char		 path[IPC_MAX_URL + 16];
	const char	*u;
	char		*const argv[] = { "/bin/true", NULL };
	char		*const envp[] = { NULL };

	if (strcmp(p, "open-file") == 0)
		return returned(x, "openat", syscall(SYS_openat, AT_FDCWD,
		    "/etc/passwd", O_RDONLY));
	if (strcmp(p, "exec") == 0)
		return returned(x, "execve", syscall(SYS_execve, "/bin/true",
		    argv, envp));
	if (strcmp(p, "unix-socket") == 0)
		return returned(x, "socket(AF_UNIX)", syscall(SYS_socket,
		    AF_UNIX, SOCK_STREAM, 0));
	if (strcmp(p, "ptrace-parent") == 0)
		return returned(x, "ptrace", syscall(SYS_ptrace, PTRACE_ATTACH,
		    getppid(), 0, 0));
	if (strcmp(p, "write-state") == 0) {
		/* https://host:port/STATE/DIR: the directory to write to. */
		u = strchr(x->conf->url + 8, '/');
		snprintf(path, sizeof(path), "%s/probe", u ? u : "/tmp");
		return returned(x, "openat(O_CREAT) in the state directory",
		    syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT,
		    0600));
	}
	if (strncmp(p, "connect-", 8) == 0)
		return probe_connect(x, atoi(p + 8));
	snprintf(x->prep_error, sizeof(x->prep_error), "no probe %s", p);
	return -1;
}

static void
probe_parse(struct ca_xfer *x, long http, struct ipc_ca_result *r)
{
	(void)x;
	(void)http;
	r->outcome = CA_REJECTED;
}

const struct connector_type sandbox_probe_connector = {
	.name = "sandbox-probe",
	/* A dead child must not be retried into another death. */
	.lookup_needs_handle = 1,
	.prepare = probe_prepare,
	.parse = probe_parse,
};
