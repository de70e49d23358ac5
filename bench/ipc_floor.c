/*
 * ipc_floor.c - the round trip through the agent's walls with no work
 * in it: the floor under sign_overhead_us.
 *
 *   ipc-floor MODE N
 *
 * A child process sends N datagrams of a sign request's size over a
 * SOCK_SEQPACKET socketpair and waits for each answer, the way the
 * connector child asks for a signature (sendmsg, poll, recvmsg). The
 * parent answers each with a datagram of a signature's size:
 *   direct  its one thread polls, reads and answers (two switches);
 *   worker  its loop thread polls and reads, hands the request to a
 *           second thread under a mutex and condition variable, and
 *           that thread answers (three switches: the agent's path,
 *           agent/hsm_worker.c).
 * No policy, no HSM, no audit record: what is left of the agent's
 * overhead above this line is its own work. Prints
 *   round trips N in US us; p50 NS ns, p99 NS ns
 * Run it pinned (taskset -c 0) beside the pinned sign rounds.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"

#define REQ_LEN	96	/* a TLS 1.3 sign request: header, job, hash */
#define REP_LEN	96	/* a P-256 signature and its header */

struct handoff {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 pending;	/* requests read, not answered */
	int		 quit;
	int		 fd;
};

static int
send_dgram(int fd, size_t len)
{
	char		buf[REQ_LEN > REP_LEN ? REQ_LEN : REP_LEN];
	struct iovec	iov = { buf, len };
	struct msghdr	m = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(buf, 'x', len);
	return sendmsg(fd, &m, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* 1 a datagram, 0 end of stream, -1 nothing queued or an error. */
static int
recv_dgram(int fd)
{
	char		buf[256];
	struct iovec	iov = { buf, sizeof(buf) };
	struct msghdr	m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t		n = recvmsg(fd, &m, MSG_DONTWAIT);

	return n > 0 ? 1 : n == 0 ? 0 : -1;
}

static int
wait_readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	while (poll(&p, 1, -1) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

static void *
worker_main(void *arg)
{
	struct handoff *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->quit && h->pending == 0)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->quit)
			break;
		h->pending--;
		pthread_mutex_unlock(&h->mu);
		if (send_dgram(h->fd, REP_LEN) == -1)
			exit(1);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* The parent: answers until the child hangs up. */
static void
serve(int fd, int use_worker)
{
	struct handoff	h = { .fd = fd };
	pthread_t	t;
	int		r;

	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	if (use_worker && pthread_create(&t, NULL, worker_main, &h) != 0)
		exit(1);
	for (;;) {
		if (wait_readable(fd) == -1 || (r = recv_dgram(fd)) == 0)
			break;
		if (r == -1)
			continue;
		if (!use_worker) {
			if (send_dgram(fd, REP_LEN) == -1)
				break;
			continue;
		}
		pthread_mutex_lock(&h.mu);
		h.pending++;
		pthread_mutex_unlock(&h.mu);
		pthread_cond_signal(&h.cv);
	}
	if (use_worker) {
		pthread_mutex_lock(&h.mu);
		h.quit = 1;
		pthread_mutex_unlock(&h.mu);
		pthread_cond_signal(&h.cv);
		pthread_join(t, NULL);
	}
}

int
main(int argc, char **argv)
{
	int		 sv[2], use_worker, status;
	long		 n, i;
	int64_t		*each, t0, s;
	pid_t		 pid;

	if (argc != 3 || (strcmp(argv[1], "direct") != 0 &&
	    strcmp(argv[1], "worker") != 0) || (n = atol(argv[2])) < 2) {
		fprintf(stderr, "usage: ipc-floor direct|worker N\n");
		return 2;
	}
	use_worker = strcmp(argv[1], "worker") == 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return 1;
	if ((pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		close(sv[0]);
		serve(sv[1], use_worker);
		_exit(0);
	}
	close(sv[1]);
	if ((each = calloc((size_t)n, sizeof(*each))) == NULL)
		return 1;
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		s = bench_now_ns();
		if (send_dgram(sv[0], REQ_LEN) == -1 ||
		    wait_readable(sv[0]) == -1 || recv_dgram(sv[0]) != 1) {
			fprintf(stderr, "ipc-floor: round trip %ld failed\n", i);
			return 1;
		}
		each[i] = bench_now_ns() - s;
	}
	t0 = bench_now_ns() - t0;
	close(sv[0]);
	waitpid(pid, &status, 0);
	qsort(each, (size_t)n, sizeof(*each), bench_cmp_i64);
	printf("round trips %ld in %lld us; p50 %lld ns, p99 %lld ns\n", n,
	    (long long)(t0 / 1000), (long long)each[n / 2],
	    (long long)each[n * 99 / 100]);
	free(each);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
