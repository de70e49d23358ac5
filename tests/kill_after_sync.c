/*
 * kill_after_sync.c - an LD_PRELOAD library for test_records_order.sh:
 * the agent dies (SIGKILL, nothing flushed or cleaned up) right after the
 * Nth sync of one file has returned, as a crash or a power cut at that
 * instant would leave it: what that sync made durable is there, nothing
 * after it is.
 *
 * Armed by a file (HSMAGENT_TEST_KILL_ARM names it) holding
 * "CALL SUFFIX N": CALL is fsync or fdatasync, SUFFIX the end of the
 * synced file's path (orders.db-wal, audit.log). The count starts when
 * the file appears; the file is removed as the process dies, so a
 * restarted agent runs on. Unarmed, each sync costs one access(2).
 * Never built into the product, never instrumented.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long	seen;		/* matching syncs since armed */

/* 1 when this sync is the one to die after. */
static int
due(const char *call, int fd)
{
	const char	*arm = getenv("HSMAGENT_TEST_KILL_ARM");
	char		 want[16], suffix[128], link[64], path[4096];
	unsigned long	 n;
	size_t		 len, slen;
	ssize_t		 r;
	FILE		*f;
	int		 ok;

	if (arm == NULL || access(arm, F_OK) != 0) {
		seen = 0;
		return 0;
	}
	if ((f = fopen(arm, "r")) == NULL)
		return 0;
	ok = fscanf(f, "%15s %127s %lu", want, suffix, &n) == 3;
	fclose(f);
	if (!ok || strcmp(want, call) != 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((r = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[r] = '\0';
	len = (size_t)r;
	slen = strlen(suffix);
	if (len < slen || strcmp(path + len - slen, suffix) != 0)
		return 0;
	if (++seen < n)
		return 0;
	unlink(arm);
	return 1;
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
