/*
 * sandbox.h - the connector child's confinement (Linux).
 *
 * Called once, after everything that loads lazily has been loaded and
 * the configuration has arrived, and before the first job. Layers, in
 * order: chroot + privilege drop (when root), rlimits, no_new_privs and
 * not dumpable, Landlock (as much as the kernel offers), then a seccomp
 * allow-list whose default is to kill the process. SECURITY.md describes
 * each layer and what it stops.
 */
#ifndef HSMAGENT_SANDBOX_H
#define HSMAGENT_SANDBOX_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct sandbox_params {
	int		 ipc_fd;	/* the socketpair to the parent */
	const char	*chroot_dir;	/* empty, root-owned; used when root */
	uid_t		 uid;		/* the unprivileged user (when root) */
	gid_t		 gid;
	const uint16_t	*tcp_ports;	/* the only ports connect() may reach */
	size_t		 ntcp_ports;
};

struct sandbox_report {
	int	landlock_abi;		/* 0: Landlock unavailable */
	int	landlock_fs;		/* all file access denied */
	int	landlock_net;		/* TCP connect limited to the ports */
	int	landlock_scoped;	/* no abstract sockets, no signals out */
	int	chrooted;		/* chroot + privileges dropped */
};

/* 0, or -1 with a message naming the step that failed. */
int	sandbox_enter(const struct sandbox_params *, struct sandbox_report *,
	    char *err, size_t errlen);

/* One line for the parent's log. */
void	sandbox_describe(const struct sandbox_report *, char *buf, size_t len);

#endif
