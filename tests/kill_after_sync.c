/*
 * kill_after_sync.c - an LD_PRELOAD library for test_records_order.sh:
 * the agent dies (SIGKILL, nothing flushed or cleaned up) right after the
 * Nth sync of one file has returned, as a crash or a power cut at that
 * instant would leave it: what that sync made durable is there, nothing
 * after it is. Or, instead of dying, the disk fills at that instant: the
 * next K writes to that file fail with ENOSPC, and then space is back.
 *
 * Armed by a file (HSMAGENT_TEST_KILL_ARM names it) holding
 * "CALL SUFFIX N" or "CALL SUFFIX N full K": CALL is fsync or
 * fdatasync, SUFFIX the end of the synced file's path (orders.db-wal,
 * audit.log). The count starts when the file appears; the file is
 * removed as the process dies or the disk fills, so a restarted agent
 * runs on. Unarmed, each sync costs one access(2).
 * Never built into the product, never instrumented.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long	seen;		/* matching syncs since armed */
static unsigned long	full_left;	/* writes still to fail */
static char		full_suffix[128];

/* Does fd's path end in suffix? */
static int
fd_is(int fd, const char *suffix)
{
	char		 link[64], path[4096];
	size_t		 slen = strlen(suffix);
	ssize_t		 r;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((r = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[r] = '\0';
	return (size_t)r >= slen && strcmp(path + r - slen, suffix) == 0;
}

/* 1 when this sync is the one to die after (or to fill the disk after). */
static int
due(const char *call, int fd)
{
	const char	*arm = getenv("HSMAGENT_TEST_KILL_ARM");
	char		 want[16], suffix[128], mode[8] = "";
	unsigned long	 n, k = 0;
	FILE		*f;
	int		 got;

	if (arm == NULL || access(arm, F_OK) != 0) {
		seen = 0;
		return 0;
	}
	if ((f = fopen(arm, "r")) == NULL)
		return 0;
	got = fscanf(f, "%15s %127s %lu %7s %lu", want, suffix, &n, mode, &k);
	fclose(f);
	if ((got != 3 && (got != 5 || strcmp(mode, "full") != 0 || k == 0)) ||
	    strcmp(want, call) != 0 || !fd_is(fd, suffix))
		return 0;
	if (++seen < n)
		return 0;
	unlink(arm);
	if (got == 5) {
		snprintf(full_suffix, sizeof(full_suffix), "%s", suffix);
		full_left = k;
		return 0;
	}
	return 1;
}

/* A write the full disk refuses. */
static int
refused(int fd)
{
	if (full_left == 0 || !fd_is(fd, full_suffix))
		return 0;
	full_left--;
	errno = ENOSPC;
	return 1;
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(
		    RTLD_NEXT, "pwrite64");
	if (refused(fd))
		return -1;
	return real != NULL ? real(fd, buf, n, off) : -1;
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite64(fd, buf, n, off);
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
		    "write");
	if (refused(fd))
		return -1;
	return real != NULL ? real(fd, buf, n) : -1;
}

static int
call_real(const char *name, int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);

	return real != NULL ? real(fd) : -1;
}

int
fsync(int fd)
{
	int r = call_real("fsync", fd);

	if (r == 0 && due("fsync", fd))
		kill(getpid(), SIGKILL);
	return r;
}

int
fdatasync(int fd)
{
	int r = call_real("fdatasync", fd);

	if (r == 0 && due("fdatasync", fd))
		kill(getpid(), SIGKILL);
	return r;
}
