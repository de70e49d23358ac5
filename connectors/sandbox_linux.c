/*
 * sandbox_linux.c - confinement of the connector child on Linux.
 *
 * The child parses everything the network sends it (TLS, HTTP, JSON from
 * CA gateways), so we assume it can be taken over and make that worth
 * little: no files, no exec, no new privileges, no sockets but TCP, and
 * (where Landlock can say so) TCP only to the configured CA ports. Every
 * layer is applied in the same order at each start; a step that fails
 * stops the child (the parent logs why and does not run unconfined).
 *
 * Lazy loaders (tz data, OpenSSL tables and DRBG, curl, trust store,
 * client chain) have all run before we get here: connector_main.c.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "landlock_compat.h"
#include "sandbox.h"
#include "child_limits.h"

/*
 * Descriptors: a connection for each job the parent may run at once, the
 * idle ones curl keeps (both capped in connector_main.c), and 32 for the
 * rest (stdio, IPC, the http-01 listener, curl's wakeup pair). Past the
 * limit a connection the parent passes cannot be received: that job fails
 * (child_connect), the child goes on.
 */
#define CHILD_NOFILE	(CHILD_MAX_CONNECTIONS + 32)

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANITIZER_BUILD	1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD	1
#endif

static int
fail(char *err, size_t errlen, const char *step, int e)
{
	snprintf(err, errlen, "%s: %s", step, strerror(e));
	return -1;
}

/*
 * The chroot directory must be empty and only root may change it:
 * otherwise whoever can write there could give the child files to read
 * or a place to leave some.
 */
static int
check_chroot_dir(const char *dir, char *err, size_t errlen)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;

	if (dir == NULL || dir[0] != '/') {
		snprintf(err, errlen, "chroot_dir must be an absolute path");
		return -1;
	}
	if (lstat(dir, &st) == -1) {
		snprintf(err, errlen, "chroot_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "chroot_dir %s must be a directory owned "
		    "by root and writable by nobody else", dir);
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "chroot_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			/* de lives in d: use it before closedir(). */
			snprintf(err, errlen, "chroot_dir %s is not empty "
			    "(found \"%.64s\")", dir, de->d_name);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

static int
chroot_and_drop(const struct sandbox_params *p, char *err, size_t errlen)
{
	if (p->uid == 0 || p->gid == 0) {
		snprintf(err, errlen, "refusing to run the child as root");
		return -1;
	}
	if (check_chroot_dir(p->chroot_dir, err, errlen) == -1)
		return -1;
	if (chroot(p->chroot_dir) == -1)
		return fail(err, errlen, "chroot", errno);
	if (chdir("/") == -1)
		return fail(err, errlen, "chdir /", errno);
	if (setgroups(1, &p->gid) == -1)
		return fail(err, errlen, "setgroups", errno);
	if (setresgid(p->gid, p->gid, p->gid) == -1)
		return fail(err, errlen, "setresgid", errno);
	if (setresuid(p->uid, p->uid, p->uid) == -1)
		return fail(err, errlen, "setresuid", errno);
	/* Belt and braces: the drop must not be reversible. */
	if (setuid(0) != -1 || setgid(0) != -1) {
		snprintf(err, errlen, "privileges could be regained after the drop");
		return -1;
	}
	return 0;
}

static int
set_limit(int resource, rlim_t v, const char *name, char *err, size_t errlen)
{
	struct rlimit rl = { v, v };

	if (setrlimit(resource, &rl) == -1)
		return fail(err, errlen, name, errno);
	return 0;
}

static int
set_rlimits(int dropped, char *err, size_t errlen)
{
	if (set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE", err, errlen) == -1 ||
	    set_limit(RLIMIT_FSIZE, 0, "RLIMIT_FSIZE", err, errlen) == -1 ||
	    set_limit(RLIMIT_NOFILE, CHILD_NOFILE, "RLIMIT_NOFILE", err,
	    errlen) == -1)
		return -1;
	/*
	 * No new processes. Only meaningful once we run as our own user:
	 * unprivileged test runs may share a uid with busy processes.
	 */
	if (dropped && set_limit(RLIMIT_NPROC, 0, "RLIMIT_NPROC", err,
	    errlen) == -1)
		return -1;
	return 0;
}

/*
 * Landlock, as far as the running kernel goes: every file access right
 * it knows is handled and none is granted; with ABI 4, TCP bind is
 * handled and connect is granted to the CA ports only; with ABI 6,
 * abstract Unix sockets and signals outside the domain are blocked. A
 * kernel without Landlock leaves the other layers to do the work.
 */
static int
apply_landlock(const struct sandbox_params *p, struct sandbox_report *rep,
    char *err, size_t errlen)
{
	struct ll_ruleset_attr	attr;
	int			abi, fd, e;

	abi = ll_create_ruleset(NULL, 0, LL_CREATE_RULESET_VERSION);
	if (abi < 0) {
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			return 0;	/* not built in, or disabled at boot */
		return fail(err, errlen, "landlock ABI probe", errno);
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LL_FS_ABI1;
	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 4)
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
	/* Older kernels reject a struct larger than they know. */
	fd = ll_create_ruleset(&attr, abi >= 6 ? sizeof(attr) :
	    abi >= 4 ? offsetof(struct ll_ruleset_attr, scoped) :
	    offsetof(struct ll_ruleset_attr, handled_access_net), 0);
	if (fd == -1)
		return fail(err, errlen, "landlock_create_ruleset", errno);
	for (size_t i = 0; abi >= 4 && i < p->ntcp_ports; i++) {
		struct ll_net_port_attr np = { LL_NET_CONNECT_TCP,
		    p->tcp_ports[i] };

		if (ll_add_rule(fd, LL_RULE_NET_PORT, &np, 0) == -1) {
			e = errno;
			close(fd);
			return fail(err, errlen, "landlock_add_rule (port)", e);
		}
	}
	if (ll_restrict_self(fd, 0) == -1) {
		e = errno;
		close(fd);
		return fail(err, errlen, "landlock_restrict_self", e);
	}
	close(fd);
	rep->landlock_abi = abi;
	rep->landlock_fs = 1;
	rep->landlock_net = abi >= 4;
	rep->landlock_scoped = abi >= 6;
	return 0;
}

/*
 * Argument comparisons. libseccomp's SCMP_Ax() macros leave datum_b out
 * of their initialisers, which clang's -Wmissing-field-initializers
 * rejects; these spell every field.
 */
#define ARG_EQ(n, v)	((struct scmp_arg_cmp){ .arg = (n), \
	.op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)(v), .datum_b = 0 })
#define ARG_MASKED(n, m, v) ((struct scmp_arg_cmp){ .arg = (n), \
	.op = SCMP_CMP_MASKED_EQ, .datum_a = (scmp_datum_t)(m), \
	.datum_b = (scmp_datum_t)(v) })

/* One allow rule, with or without argument checks. */
#define ALLOW(sc)	rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sc), 0, NULL)
#define ALLOW_IF(sc, ...) do {						\
	struct scmp_arg_cmp c_[] = { __VA_ARGS__ };			\
	if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sc),			\
	    sizeof(c_) / sizeof(c_[0]), c_) == -1)			\
		goto bad;						\
} while (0)

static int
rule(scmp_filter_ctx ctx, uint32_t action, int sc, unsigned n,
    const struct scmp_arg_cmp *cmp)
{
	int rc = seccomp_rule_add_array(ctx, action, sc, n, cmp);

	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/*
 * The allow-list is what an event loop of libcurl's multi interface,
 * OpenSSL's TLS client and glibc's malloc need once everything is
 * loaded (measured with strace on EC and RSA probes, TLS 1.2 and 1.3).
 * Anything else kills the process: the parent sees SIGSYS.
 */
static int
apply_seccomp(char *err, size_t errlen)
{
	scmp_filter_ctx	ctx;
	int		rc;
	pid_t		self = getpid();

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* A foreign-architecture system call is killed before anything. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0) {
		errno = -rc;
		goto bad;
	}

	/* I/O on descriptors we already hold. */
	if (ALLOW(read) == -1 || ALLOW(write) == -1 || ALLOW(readv) == -1 ||
	    ALLOW(writev) == -1 || ALLOW(close) == -1 || ALLOW(poll) == -1 ||
	    ALLOW(ppoll) == -1 || ALLOW(recvfrom) == -1 ||
	    ALLOW(recvmsg) == -1 ||
	    ALLOW(getsockopt) == -1 || ALLOW(setsockopt) == -1 ||
	    ALLOW(getsockname) == -1 || ALLOW(getpeername) == -1 ||
	    ALLOW(shutdown) == -1 || ALLOW(fstat) == -1)
		goto bad;
	/* send()/sendto() on connected sockets only: no destination. */
	ALLOW_IF(sendto, ARG_EQ(4, 0));
	/* sendmsg for the IPC datagrams; a socket it may use is connected. */
	if (ALLOW(sendmsg) == -1)
		goto bad;
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFL));
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFL));
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFD));
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFD));
	ALLOW_IF(ioctl, ARG_EQ(1, FIONREAD));
	ALLOW_IF(ioctl, ARG_EQ(1, FIONBIO));
	/* glibc's stdio asks fstatat(fd, "", AT_EMPTY_PATH) on first use. */
	ALLOW_IF(newfstatat, ARG_EQ(3, AT_EMPTY_PATH));

	/*
	 * No socket and no connect at all: every connection is made by the
	 * parent, to the job's own CA, and handed over (connect_broker.c).
	 * So no MPTCP past Landlock, no other host on the CA's port, no
	 * DNS. socketpair(AF_UNIX) reaches nothing: curl's multi wakeup.
	 * No accept, bind or listen: the parent answers http-01.
	 * connect() itself never reaches the kernel: it "succeeds in the
	 * background" (EINPROGRESS) and does nothing. libcurl 7.88 calls it
	 * on the socket it was told is connected (curl issue 10626, fixed
	 * in 8.0); the socket is connected already, so curl then finds it
	 * writable with no error, and an attacker's connect goes nowhere.
	 */
	ALLOW_IF(socketpair, ARG_EQ(0, AF_UNIX));
	if (rule(ctx, SCMP_ACT_ERRNO(EINPROGRESS), SCMP_SYS(connect), 0,
	    NULL) == -1)
		goto bad;

	/* Memory: never executable. */
	ALLOW_IF(mmap, ARG_MASKED(2, PROT_EXEC, 0));
	ALLOW_IF(mprotect, ARG_MASKED(2, PROT_EXEC, 0));
	if (ALLOW(brk) == -1 || ALLOW(munmap) == -1 || ALLOW(mremap) == -1 ||
	    ALLOW(madvise) == -1 || ALLOW(futex) == -1)
		goto bad;

	/* Time, randomness, identity, signals to ourselves, the end. */
	if (ALLOW(clock_gettime) == -1 || ALLOW(clock_getres) == -1 ||
	    ALLOW(gettimeofday) == -1 || ALLOW(nanosleep) == -1 ||
	    ALLOW(clock_nanosleep) == -1 || ALLOW(getrandom) == -1 ||
	    ALLOW(getpid) == -1 || ALLOW(gettid) == -1 ||
	    ALLOW(rt_sigaction) == -1 || ALLOW(rt_sigprocmask) == -1 ||
	    ALLOW(rt_sigreturn) == -1 || ALLOW(restart_syscall) == -1 ||
	    ALLOW(exit) == -1 || ALLOW(exit_group) == -1)
		goto bad;
	/* abort() raises SIGABRT at itself. */
	ALLOW_IF(tgkill, ARG_EQ(0, (scmp_datum_t)self));

	/*
	 * Threads fail softly rather than kill: glibc tries clone3 first
	 * and falls back to clone on ENOSYS; clone then fails with EPERM,
	 * so curl's threaded resolver reports an error for a name that was
	 * not resolved in advance (names come with CURLOPT_RESOLVE).
	 */
	if (rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL) == -1 ||
	    rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 0, NULL) == -1)
		goto bad;

#ifdef SANITIZER_BUILD
	/*
	 * Sanitizer builds only: what the ASan/UBSan runtime calls on its
	 * own (allocator housekeeping, reports). LeakSanitizer cannot run
	 * its ptrace-based check under this filter; the child leaves with
	 * _exit(), which skips it.
	 */
	if (ALLOW(sched_yield) == -1 || ALLOW(sigaltstack) == -1 ||
	    ALLOW(prctl) == -1 || ALLOW(getrlimit) == -1 ||
	    ALLOW(prlimit64) == -1 || ALLOW(sched_getaffinity) == -1)
		goto bad;
#endif

	if ((rc = seccomp_load(ctx)) < 0) {
		errno = -rc;
		goto bad;
	}
	seccomp_release(ctx);
	return 0;
 bad:
	rc = errno;
	seccomp_release(ctx);
	return fail(err, errlen, "seccomp filter", rc);
}

#undef ALLOW
#undef ALLOW_IF
#undef ARG_EQ
#undef ARG_MASKED

int
sandbox_enter(const struct sandbox_params *p, struct sandbox_report *rep,
    char *err, size_t errlen)
{
	memset(rep, 0, sizeof(*rep));
	if (geteuid() == 0) {
		if (chroot_and_drop(p, err, errlen) == -1)
			return -1;
		rep->chrooted = 1;
	}
	if (set_rlimits(rep->chrooted, err, errlen) == -1)
		return -1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return fail(err, errlen, "PR_SET_DUMPABLE", errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return fail(err, errlen, "PR_SET_NO_NEW_PRIVS", errno);
	if (apply_landlock(p, rep, err, errlen) == -1)
		return -1;
	return apply_seccomp(err, errlen);
}

void
sandbox_describe(const struct sandbox_report *rep, char *buf, size_t len)
{
	char ll[96];

	if (rep->landlock_abi == 0)
		snprintf(ll, sizeof(ll), "landlock unavailable");
	else
		snprintf(ll, sizeof(ll), "landlock abi %d (fs deny-all%s%s)",
		    rep->landlock_abi, rep->landlock_net ?
		    ", tcp connect to CA ports only" : ", no network rules",
		    rep->landlock_scoped ? ", scoped" : "");
	snprintf(buf, len, "seccomp kill-by-default, no_new_privs, %s, %s, "
	    "rlimits core/fsize 0", ll, rep->chrooted ?
	    "chroot + unprivileged uid" : "not root: no chroot");
}
