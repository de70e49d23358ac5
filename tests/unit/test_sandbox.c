/*
 * test_sandbox.c - the connector sandbox from the inside: what it lets
 * through, what kills the process, and what it refuses to start with.
 *
 * Each case forks; the child enters the sandbox and tries one thing; the
 * parent reads the outcome (exit code, signal, or a byte on a pipe).
 * Run as root (make test): chroot and privilege drop are part of it.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

#define NOBODY	65534

static char	 root_dir[64];
static int	 listen_ok = -1;
static uint16_t	 port_ok;

static int
listener(uint16_t *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 8) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(root_dir, sizeof(root_dir), "/tmp/hsmagent-sbx.XXXXXX");
	if (mkdtemp(root_dir) == NULL || chmod(root_dir, 0755) == -1)
		return -1;
	listen_ok = listener(&port_ok);
	return listen_ok == -1 ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(listen_ok);
	rmdir(root_dir);
	return 0;
}

static void
params(struct sandbox_params *p, const uint16_t *ports, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->ipc_fd = -1;
	p->chroot_dir = root_dir;
	p->uid = NOBODY;
	p->gid = NOBODY;
	p->tcp_ports = ports;
	p->ntcp_ports = n;
}

/* Exit codes the child uses to say where it stopped. */
enum { X_OK_ = 0, X_ENTER = 10, X_WRONG = 11 };

static int
enter_or_exit(struct sandbox_report *rep)
{
	struct sandbox_params	p;
	char			err[256];
	static uint16_t		ports[1];

	ports[0] = port_ok;
	params(&p, ports, 1);
	if (sandbox_enter(&p, rep, err, sizeof(err)) == -1) {
		fprintf(stderr, "sandbox_enter: %s\n", err);
		_exit(X_ENTER);
	}
	return 0;
}

/* Runs fn in a sandboxed child; returns the raw wait status. */
static int
run_child(void (*fn)(const struct sandbox_report *))
{
	struct sandbox_report	rep;
	pid_t			pid;
	int			status;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		enter_or_exit(&rep);
		fn(&rep);
		_exit(X_OK_);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
assert_killed_by_sigsys(int status)
{
	if (!WIFSIGNALED(status))
		fail_msg("child was not killed (exit %d)", WEXITSTATUS(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void
assert_exit(int status, int code)
{
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), code);
}

static void
do_openat(const struct sandbox_report *r)
{
	(void)r;
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
	_exit(X_WRONG);
}

static void
do_execve(const struct sandbox_report *r)
{
	char *const argv[] = { "/bin/true", NULL }, *const envp[] = { NULL };

	(void)r;
	syscall(SYS_execve, "/bin/true", argv, envp);
	_exit(X_WRONG);
}

static void
do_unix_socket(const struct sandbox_report *r)
{
	(void)r;
	syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	_exit(X_WRONG);
}

static void
do_udp_socket(const struct sandbox_report *r)
{
	(void)r;
	syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	_exit(X_WRONG);
}

static void
do_exec_mmap(const struct sandbox_report *r)
{
	(void)r;
	syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	_exit(X_WRONG);
}

static void
test_forbidden_calls_kill(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_child(do_openat));
	assert_killed_by_sigsys(run_child(do_execve));
	assert_killed_by_sigsys(run_child(do_unix_socket));
	assert_killed_by_sigsys(run_child(do_udp_socket));
	assert_killed_by_sigsys(run_child(do_exec_mmap));
}

static void
do_accept_other(const struct sandbox_report *r)
{
	(void)r;
	accept4(listen_ok, NULL, NULL, SOCK_NONBLOCK);
	_exit(X_WRONG);
}

static void
do_bind(const struct sandbox_report *r)
{
	struct sockaddr_in	sin;
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)r;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	syscall(SYS_bind, fd, (struct sockaddr *)&sin, sizeof(sin));
	_exit(X_WRONG);
}

/*
 * No listening of any kind: accept4 (even on a listener the parent might
 * hold) and bind kill. The parent answers http-01 itself.
 */
static void
test_no_accept_no_bind(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_child(do_accept_other));
	assert_killed_by_sigsys(run_child(do_bind));
}

/*
 * A TCP socket opened before the sandbox (as the parent's connected
 * sockets arrive): connect() on it is answered "in progress" by seccomp
 * and never reaches the kernel, so the listener sees no connection.
 */
static int	preopened = -1;

static void
do_connect_preopened(const struct sandbox_report *r)
{
	struct sockaddr_in	sin;

	(void)r;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port_ok);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(preopened, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		_exit(20);
	_exit(errno == EINPROGRESS ? 1 : 22);
}

static void
do_tcp_socket(const struct sandbox_report *r)
{
	(void)r;
	socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	_exit(X_WRONG);
}

static void
test_tcp_socket_and_connect(void **state)
{
	struct pollfd	pfd;
	int		status;

	(void)state;
	/* The child may not open a socket of its own, not even TCP. */
	assert_killed_by_sigsys(run_child(do_tcp_socket));
	assert_true((preopened = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) != -1);
	status = run_child(do_connect_preopened);
	close(preopened);
	preopened = -1;
	assert_false(WIFSIGNALED(status));
	if (WEXITSTATUS(status) != 1)
		fail_msg("connect check failed with code %d (20: connected, "
		    "22: wrong errno)", WEXITSTATUS(status));
	/* Nothing reached the listener. */
	pfd.fd = listen_ok;
	pfd.events = POLLIN;
	pfd.revents = 0;
	assert_int_equal(poll(&pfd, 1, 200), 0);
}

/*
 * From outside: /proc/PID of a confined process that waits on a pipe
 * shows seccomp filter mode, no_new_privs, the unprivileged user and the
 * chroot (the child itself may not even ask for its uid).
 */
static void
test_status_seen_from_outside(void **state)
{
	struct sandbox_report	rep;
	char			path[64], buf[8192], root[128], uidline[64];
	int			go[2], ready[2], status, fd;
	ssize_t			n;
	pid_t			pid;
	char			c = 0;

	(void)state;
	if (geteuid() != 0)
		fail_msg("run as root: the privilege drop is part of the test");
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(go[1]);
		close(ready[0]);
		enter_or_exit(&rep);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(X_WRONG);
		_exit(X_OK_);
	}
	close(go[0]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\nSeccomp:\t2\n"));
	assert_non_null(strstr(buf, "\nNoNewPrivs:\t1\n"));
	snprintf(uidline, sizeof(uidline), "\nUid:\t%d\t%d\t%d\t%d\n", NOBODY,
	    NOBODY, NOBODY, NOBODY);
	assert_non_null(strstr(buf, uidline));
	snprintf(path, sizeof(path), "/proc/%ld/root", (long)pid);
	n = readlink(path, root, sizeof(root) - 1);
	assert_true(n > 0);
	root[n] = '\0';
	assert_string_equal(root, root_dir);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit(status, X_OK_);
	close(go[1]);
	close(ready[0]);
}

static void
test_unprivileged_start(void **state)
{
	struct sandbox_report	rep;
	struct sandbox_params	p;
	char			err[256];
	pid_t			pid;
	int			status;

	(void)state;
	fflush(NULL);
	if ((pid = fork()) == 0) {
		/* As a user already: no chroot, the other layers still hold. */
		if (setresgid(NOBODY, NOBODY, NOBODY) == -1 ||
		    setresuid(NOBODY, NOBODY, NOBODY) == -1)
			_exit(40);
		params(&p, &port_ok, 1);
		if (sandbox_enter(&p, &rep, err, sizeof(err)) == -1)
			_exit(X_ENTER);
		if (rep.chrooted)
			_exit(41);
		syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
		_exit(X_WRONG);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_killed_by_sigsys(status);
}

/* sandbox_enter() in a child that reports its message through a pipe. */
static void
expect_enter_error(const char *dir, const char *needle)
{
	struct sandbox_report	rep;
	struct sandbox_params	p;
	char			err[256] = "", got[256];
	int			fds[2], status;
	ssize_t			n;
	pid_t			pid;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		params(&p, &port_ok, 1);
		p.chroot_dir = dir;
		if (sandbox_enter(&p, &rep, err, sizeof(err)) == 0)
			_exit(X_OK_);
		if (write(fds[1], err, strlen(err)) < 0)
			_exit(X_WRONG);
		_exit(X_ENTER);
	}
	close(fds[1]);
	n = read(fds[0], got, sizeof(got) - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit(status, X_ENTER);
	assert_true(n > 0);
	got[n] = '\0';
	if (strstr(got, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", got, needle);
}

static void
test_bad_chroot_dir_refused(void **state)
{
	char	path[128];
	int	fd;

	(void)state;
	/* Not empty. */
	snprintf(path, sizeof(path), "%s/file", root_dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	expect_enter_error(root_dir, "is not empty");
	unlink(path);
	/* Writable by the group. */
	assert_int_equal(chmod(root_dir, 0775), 0);
	expect_enter_error(root_dir, "writable by nobody else");
	assert_int_equal(chmod(root_dir, 0755), 0);
	/* Missing. */
	expect_enter_error("/nonexistent/hsmagent-empty", "No such file");
	/* Relative. */
	expect_enter_error("empty", "absolute");
}

static void
test_describe(void **state)
{
	struct sandbox_report	r;
	char			buf[256];

	(void)state;
	memset(&r, 0, sizeof(r));
	r.landlock_abi = 6;
	r.landlock_fs = r.landlock_net = r.landlock_scoped = r.chrooted = 1;
	sandbox_describe(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "seccomp"));
	assert_non_null(strstr(buf, "landlock abi 6"));
	assert_non_null(strstr(buf, "CA ports only"));
	assert_non_null(strstr(buf, "chroot"));
	r.landlock_abi = 0;
	r.landlock_net = 0;
	sandbox_describe(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "landlock unavailable"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_calls_kill),
		cmocka_unit_test(test_tcp_socket_and_connect),
		cmocka_unit_test(test_no_accept_no_bind),
		cmocka_unit_test(test_status_seen_from_outside),
		cmocka_unit_test(test_unprivileged_start),
		cmocka_unit_test(test_bad_chroot_dir_refused),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
