/*
 * connect_broker.h - the parent makes the child's TCP connections.
 *
 * The child may not create or connect sockets at all (seccomp). For a
 * new connection it names a job in flight and a host and port
 * (IPC_CONNECT_REQUEST); the parent checks that they are the job's own
 * (the probe's URL; a connector's URL, its ACME server prefixes, or its
 * proxy when it has one: then only that), resolves the name
 * (resolver.c, off the loop), connects without blocking, and hands the
 * connected socket over (IPC_CONNECT_REPLY, SCM_RIGHTS). A host that is
 * not the job's is a protocol violation; a name that does not resolve
 * or a connection that fails is an error reply the job reports, with
 * the name, never a sandbox matter.
 */
#ifndef HSMAGENT_CONNECT_BROKER_H
#define HSMAGENT_CONNECT_BROKER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define BROKER_MAX		16	/* connections being made at once */
#define BROKER_MAX_POLLFDS	(1 + BROKER_MAX)

struct agent;
struct ipc_msg;
struct broker;

struct broker	*broker_new(void);
void		 broker_free(struct broker *);
/* The child is gone: what it asked for is dropped (sockets closed). */
void		 broker_reset(struct broker *);

/* IPC_CONNECT_REQUEST from the child (dispatch). */
void		 broker_request(struct agent *, const struct ipc_msg *);

size_t		 broker_pollfds(struct broker *, struct pollfd *, size_t room);
void		 broker_handle(struct agent *, const struct pollfd *, size_t n);
/* max_ms, or less: the next connection deadline. */
int		 broker_timeout_ms(const struct broker *, int max_ms);

#endif
