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
 *   tcp-socket     socket(AF_INET, SOCK_STREAM)      killed (seccomp)
 *   mptcp-socket   socket(AF_INET, SOCK_STREAM,      killed (seccomp)
 *                  IPPROTO_MPTCP)
 *   connect-loN    connect(fd 3, 127.0.0.1:N) or     never reaches the
 *   connect-twoN   (127.0.0.2:N): the only sockets   kernel (seccomp
 *                  the child holds are the parent's  answers EINPROGRESS)
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

/*
 * A connect on a socket the child holds (the IPC socket, fd 3: it can
 * make no other) to addr:port. Executed by the kernel it would fail
 * with EAFNOSUPPORT on that AF_UNIX socket; the sandbox answers
 * EINPROGRESS without running it, and the test's listener sees nothing.
 */
static int
probe_connect(struct ca_xfer *x, const char *spec)
{
	struct sockaddr_in	sin;
	const char		*addr, *port;
	long			rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (strncmp(spec, "lo", 2) == 0) {
		addr = "127.0.0.1";
		port = spec + 2;
	} else if (strncmp(spec, "two", 3) == 0) {
		addr = "127.0.0.2";
		port = spec + 3;
	} else
		return returned(x, "connect (bad probe)", -1);
	sin.sin_port = htons((uint16_t)atoi(port));
	inet_pton(AF_INET, addr, &sin.sin_addr);
	rc = syscall(SYS_connect, 3, (struct sockaddr *)&sin, sizeof(sin));
	if (rc == -1 && errno == EINPROGRESS) {
		snprintf(x->prep_error, sizeof(x->prep_error), "connect to %s "
		    "port %s never reached the kernel (the sandbox answered "
		    "EINPROGRESS)", addr, port);
		log_error("sandbox probe: %s", x->prep_error);
		return -1;
	}
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
	if (strcmp(p, "tcp-socket") == 0)
		return returned(x, "socket(AF_INET, SOCK_STREAM)",
		    syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
	if (strcmp(p, "mptcp-socket") == 0)
		return returned(x, "socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP)",
		    syscall(SYS_socket, AF_INET, SOCK_STREAM, 262));
	if (strncmp(p, "connect-", 8) == 0)
		return probe_connect(x, p + 8);
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
