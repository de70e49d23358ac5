/*
 * resolver.c - see resolver.h.
 *
 * The main thread writes a host name (one line, at most
 * RESOLVER_MAX_HOST bytes) into the request pipe; the worker answers
 * with a fixed-size record (the name and a struct resolved) on the
 * answer pipe. Both pipes carry whole records under PIPE_BUF, so reads
 * and writes are atomic. A name is asked once while its lookup is under
 * way; the cache holds RESOLVER_CACHE names, the oldest goes first.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolver.h"
#include "util.h"

#define RESOLVER_CACHE	32

struct answer {
	char		host[RESOLVER_MAX_HOST + 1];
	struct resolved	r;
};

struct entry {
	char		host[RESOLVER_MAX_HOST + 1];	/* "": free */
	int		pending;
	int64_t		expires_ms;
	struct resolved	r;
};

struct resolver {
	int		req[2];		/* main -> worker */
	int		ans[2];		/* worker -> main */
	pthread_t	thread;
	struct entry	cache[RESOLVER_CACHE];
};

/* Whole records on both pipes: writes up to PIPE_BUF are atomic. */
_Static_assert(sizeof(struct answer) <= PIPE_BUF, "an answer is one write");

static void *
worker(void *arg)
{
	struct resolver	*s = arg;
	char		 host[RESOLVER_MAX_HOST + 1];
	struct answer	 a;
	struct addrinfo	 hints, *res, *ai;
	ssize_t		 n;

	for (;;) {
		n = read(s->req[0], host, sizeof(host));
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return NULL;	/* the main thread closed the pipe */
		}
		if (n != (ssize_t)sizeof(host))
			continue;	/* cannot happen: records are whole */
		host[sizeof(host) - 1] = '\0';
		memset(&a, 0, sizeof(a));
		memcpy(a.host, host, sizeof(a.host));
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		res = NULL;
		if ((a.r.error = getaddrinfo(host, NULL, &hints, &res)) == 0) {
			for (ai = res; ai != NULL && a.r.naddrs <
			    RESOLVER_MAX_ADDRS; ai = ai->ai_next) {
				if ((ai->ai_family != AF_INET &&
				    ai->ai_family != AF_INET6) ||
				    ai->ai_addrlen > sizeof(a.r.addrs[0]))
					continue;
				memcpy(&a.r.addrs[a.r.naddrs], ai->ai_addr,
				    ai->ai_addrlen);
				a.r.lens[a.r.naddrs++] = ai->ai_addrlen;
			}
			if (a.r.naddrs == 0)
				a.r.error = EAI_NODATA;
		}
		if (res != NULL)
			freeaddrinfo(res);
		while (write(s->ans[1], &a, sizeof(a)) == -1 && errno == EINTR)
			;
	}
}

struct resolver *
resolver_new(void)
{
	struct resolver *s = xcalloc(1, sizeof(*s));

	s->req[0] = s->req[1] = s->ans[0] = s->ans[1] = -1;
	if (pipe2(s->req, O_CLOEXEC) == -1 ||
	    pipe2(s->ans, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    fcntl(s->req[1], F_SETFL, O_NONBLOCK) == -1 ||
	    pthread_create(&s->thread, NULL, worker, s) != 0) {
		for (int i = 0; i < 2; i++) {
			if (s->req[i] != -1)
				close(s->req[i]);
			if (s->ans[i] != -1)
				close(s->ans[i]);
		}
		free(s);
		return NULL;
	}
	return s;
}

void
resolver_free(struct resolver *s)
{
	if (s == NULL)
		return;
	close(s->req[1]);	/* the worker's read ends: it returns */
	pthread_join(s->thread, NULL);
	close(s->req[0]);
	close(s->ans[0]);
	close(s->ans[1]);
	free(s);
}

int
resolver_fd(const struct resolver *s)
{
	return s == NULL ? -1 : s->ans[0];
}

/* An IP literal needs no lookup. */
static int
literal(const char *host, struct resolved *out)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&out->addrs[0];
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&out->addrs[0];

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		out->lens[0] = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		out->lens[0] = sizeof(*sin6);
	} else
		return 0;
	out->naddrs = 1;
	return 1;
}

static struct entry *
find(struct resolver *s, const char *host)
{
	for (size_t i = 0; i < RESOLVER_CACHE; i++)
		if (strcmp(s->cache[i].host, host) == 0)
			return &s->cache[i];
	return NULL;
}

/* A free entry, or the oldest that is not waiting on its lookup. */
static struct entry *
slot(struct resolver *s)
{
	struct entry *best = NULL;

	for (size_t i = 0; i < RESOLVER_CACHE; i++) {
		struct entry *e = &s->cache[i];

		if (e->host[0] == '\0')
			return e;
		if (!e->pending && (best == NULL ||
		    e->expires_ms < best->expires_ms))
			best = e;
	}
	return best;
}

int
resolver_lookup(struct resolver *s, const char *host, struct resolved *out)
{
	struct entry	*e;
	int64_t		 now = monotime_ms();
	size_t		 n = strlen(host);

	if (literal(host, out))
		return 1;
	if (s == NULL || n == 0 || n > RESOLVER_MAX_HOST)
		return -1;
	if ((e = find(s, host)) != NULL) {
		if (e->pending)
			return 0;
		if (now < e->expires_ms) {
			*out = e->r;
			return 1;
		}
	} else if ((e = slot(s)) == NULL)
		return -1;
	{
		char rec[RESOLVER_MAX_HOST + 1];

		memset(rec, 0, sizeof(rec));
		memcpy(rec, host, n);
		if (write(s->req[1], rec, sizeof(rec)) != (ssize_t)sizeof(rec))
			return -1;
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->host, host, n + 1);
	e->pending = 1;
	return 0;
}

size_t
resolver_collect(struct resolver *s)
{
	struct answer	 a;
	struct entry	*e;
	size_t		 got = 0;

	while (s != NULL && read(s->ans[0], &a, sizeof(a)) == (ssize_t)sizeof(a)) {
		a.host[sizeof(a.host) - 1] = '\0';
		if ((e = find(s, a.host)) == NULL)
			continue;
		e->r = a.r;
		e->pending = 0;
		e->expires_ms = monotime_ms() + (a.r.error == 0 ?
		    RESOLVER_TTL_MS : RESOLVER_NEG_TTL_MS);
		got++;
	}
	return got;
}
