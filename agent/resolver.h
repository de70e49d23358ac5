/*
 * resolver.h - name resolution for the connections the parent makes on
 * the child's behalf, off the event loop.
 *
 * getaddrinfo() blocks for as long as DNS takes (seconds when a server
 * is down), and the parent's loop serves the local API, health and the
 * audit writer: so one worker thread does the lookups, one at a time,
 * and answers through a pipe the loop polls. Answers are cached for
 * RESOLVER_TTL_MS (getaddrinfo gives no TTL: this is the bound on how
 * long a changed address can go unnoticed), failures for a shorter
 * RESOLVER_NEG_TTL_MS. The thread touches nothing but its two pipes and
 * the libc resolver; the PKCS#11 session stays with the main thread.
 */
#ifndef HSMAGENT_RESOLVER_H
#define HSMAGENT_RESOLVER_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define RESOLVER_TTL_MS		10000
#define RESOLVER_NEG_TTL_MS	5000
#define RESOLVER_MAX_ADDRS	8
#define RESOLVER_MAX_HOST	255

struct resolver;

struct resolved {
	int			 error;		/* 0, or a getaddrinfo EAI_* */
	size_t			 naddrs;
	struct sockaddr_storage	 addrs[RESOLVER_MAX_ADDRS];
	socklen_t		 lens[RESOLVER_MAX_ADDRS];
};

/* The thread and its pipes; NULL (errno) if they cannot be made. */
struct resolver	*resolver_new(void);
void		 resolver_free(struct resolver *);

/*
 * host's addresses: 1 with *out set from the cache (or at once for an
 * IP literal), 0 when a lookup is under way (resolver_fd turns readable
 * when it ends), -1 if none could be started.
 */
int		 resolver_lookup(struct resolver *, const char *host,
		    struct resolved *out);
/* The fd to poll for answers (POLLIN), -1 if none. */
int		 resolver_fd(const struct resolver *);
/* After POLLIN: takes the answers into the cache; how many came. */
size_t		 resolver_collect(struct resolver *);

#endif
