/*
 * connect_broker.c - see connect_broker.h.
 *
 * Each request goes RESOLVING (the resolver thread has the name) then
 * CONNECTING (a non-blocking socket per address in turn) until one
 * connects, all fail, or the connector's [tls] timeout passes. Only then
 * is the child answered; it waits for that answer as it waits for a
 * signature, so nothing else of the loop waits on it.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "connect_broker.h"
#include "log.h"
#include "resolver.h"
#include "util.h"

enum breq_state { B_FREE = 0, B_RESOLVING, B_CONNECTING };

struct breq {
	enum breq_state	 state;
	uint32_t	 req;		/* the child's request id */
	uint32_t	 job;
	int		 conn;		/* connector index; -1: the probe */
	char		 host[IPC_MAX_HOST + 1];
	uint16_t	 port;
	struct resolved	 r;
	size_t		 next;		/* address to try next */
	int		 fd;		/* connecting, or -1 */
	int64_t		 deadline_ms;
	char		 err[160];	/* the last address's failure */
};

struct broker {
	struct resolver	*resolver;
	struct breq	 q[BROKER_MAX];
};

struct broker *
broker_new(void)
{
	struct broker *b = xcalloc(1, sizeof(*b));

	if ((b->resolver = resolver_new()) == NULL) {
		free(b);
		return NULL;
	}
	for (size_t i = 0; i < BROKER_MAX; i++)
		b->q[i].fd = -1;
	return b;
}

static void
breq_clear(struct breq *q)
{
	if (q->fd != -1)
		close(q->fd);
	memset(q, 0, sizeof(*q));
	q->fd = -1;
}

void
broker_reset(struct broker *b)
{
	for (size_t i = 0; b != NULL && i < BROKER_MAX; i++)
		breq_clear(&b->q[i]);
}

void
broker_free(struct broker *b)
{
	if (b == NULL)
		return;
	broker_reset(b);
	resolver_free(b->resolver);
	free(b);
}

static void
reply(struct agent *a, struct breq *q, int fd, const char *msg)
{
	struct ipc_connect_reply	 r;
	struct wbuf			 w;

	memset(&r, 0, sizeof(r));
	r.status = fd != -1 ? 0 : 1;
	copy_printable(r.message, sizeof(r.message), msg);
	wbuf_init(&w, IPC_MAX_PAYLOAD);
	ipc_enc_connect_reply(&w, &r);
	if (a->child.fd != -1 && ipc_send_fd(a->child.fd, IPC_CONNECT_REPLY,
	    q->req, &w, fd) == -1)
		log_warn("connect: cannot hand the connection to the child: %s",
		    strerror(errno));
	wbuf_free(&w);
	breq_clear(q);
}

/* A failure the connector's health and the metrics show. */
static void
failed(struct agent *a, struct breq *q, const char *msg)
{
	if (q->conn >= 0 && (size_t)q->conn < a->cfg->nconnectors) {
		a->ca_targets[q->conn].last_fail = (int64_t)time(NULL);
		snprintf(a->ca_targets[q->conn].last_error,
		    sizeof(a->ca_targets[q->conn].last_error), "%s", msg);
	}
	log_warn("connect: job %u: %s", q->job, msg);
	reply(a, q, -1, msg);
}

static int
same_target(const char *h1, uint16_t p1, const char *h2, uint16_t p2)
{
	return p1 == p2 && h2[0] != '\0' && strcasecmp(h1, h2) == 0;
}

/*
 * Is host:port where job j may go? The probe's URL; a connector's URL
 * or ACME server prefixes, or only its proxy when it has one.
 */
static int
target_ok(struct agent *a, const struct job *j, const char *host,
    uint16_t port)
{
	const struct connector_cfg	*cc;
	const struct ca_target		*t;
	char				 h[IPC_MAX_HOST + 1];
	uint16_t			 p;
	int				 ip;

	if (j->type == IPC_JOB_PROBE)
		return same_target(host, port, a->probe.host, a->probe.port);
	if (j->conn < 0 || (size_t)j->conn >= a->cfg->nconnectors)
		return 0;
	cc = &a->cfg->connectors[j->conn];
	t = &a->ca_targets[j->conn];
	if (t->proxy_port != 0)
		return same_target(host, port, t->proxy_host, t->proxy_port);
	if (same_target(host, port, t->host, t->port))
		return 1;
	for (size_t i = 0; i < cc->nprefix; i++)
		if (url_split_https(cc->prefix[i], h, sizeof(h), &p, &ip) == 0 &&
		    same_target(host, port, h, p))
			return 1;
	return 0;
}

static const char *
conn_name(struct agent *a, const struct breq *q)
{
	return q->conn < 0 ? "[probe]" : a->cfg->connectors[q->conn].name;
}

/* Starts a connect to the next address; 0 started, -1 none left. */
static int
start_next(struct agent *a, struct breq *q)
{
	while (q->next < q->r.naddrs) {
		struct sockaddr_storage	ss = q->r.addrs[q->next];
		socklen_t		len = q->r.lens[q->next++];
		int			fd;

		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(q->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(q->port);
		if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, IPPROTO_TCP)) == -1) {
			snprintf(q->err, sizeof(q->err), "socket: %s",
			    strerror(errno));
			continue;
		}
		if (connect(fd, (struct sockaddr *)&ss, len) == 0 ||
		    errno == EINPROGRESS) {
			q->fd = fd;
			q->state = B_CONNECTING;
			return 0;
		}
		snprintf(q->err, sizeof(q->err), "%s", strerror(errno));
		close(fd);
	}
	(void)a;
	return -1;
}

static void connected(struct agent *, struct breq *);

/*
 * A connect to a loopback or near address is often done by the time
 * connect() returns EINPROGRESS: one look now saves the child a turn of
 * the loop (bench/README.md, handshakes). Against a distant CA it costs
 * one system call.
 */
static void
connected_yet(struct agent *a, struct breq *q)
{
	struct pollfd p = { q->fd, POLLOUT, 0 };

	if (poll(&p, 1, 0) == 1)
		connected(a, q);
}

/* The name is known (or failed): connect, or say why not. */
static void
resolved(struct agent *a, struct breq *q)
{
	char msg[IPC_MAX_STR];

	if (q->r.error != 0) {
		a->count.dns_failures++;
		snprintf(msg, sizeof(msg), "cannot resolve %s for connector %s: "
		    "%s", q->host, conn_name(a, q), gai_strerror(q->r.error));
		failed(a, q, msg);
		return;
	}
	if (start_next(a, q) == -1) {
		snprintf(msg, sizeof(msg), "cannot connect to %s port %u for "
		    "connector %s: %s", q->host, q->port, conn_name(a, q),
		    q->err[0] ? q->err : "no address");
		failed(a, q, msg);
	} else
		connected_yet(a, q);
}

void
broker_request(struct agent *a, const struct ipc_msg *msg)
{
	struct broker			*b = a->broker;
	struct ipc_connect_request	 rq;
	struct job			*j;
	struct breq			*q = NULL;
	int				 r;

	if (!a->child.ready || ipc_dec_connect_request(msg, &rq) == -1) {
		child_kill(a, "malformed or premature connect-request");
		a->child.violations++;
		return;
	}
	j = job_find(a, rq.job_id);
	if (j == NULL || j->state != JOB_SENT) {
		/* A job that just ended: an answer, not a violation. */
		struct breq tmp = { .req = msg->id, .job = rq.job_id, .fd = -1 };

		reply(a, &tmp, -1, "no such job in flight");
		return;
	}
	if (!target_ok(a, j, rq.host, rq.port)) {
		log_warn("connect: job %u asked for %s port %u, not its CA",
		    rq.job_id, rq.host, rq.port);
		a->child.violations++;
		child_kill(a, "connection asked for a host that is not the job's");
		return;
	}
	for (size_t i = 0; b != NULL && i < BROKER_MAX && q == NULL; i++)
		if (b->q[i].state == B_FREE)
			q = &b->q[i];
	if (q == NULL) {
		struct breq tmp = { .req = msg->id, .job = rq.job_id, .fd = -1 };

		reply(a, &tmp, -1, "too many connections being made");
		return;
	}
	q->req = msg->id;
	q->job = rq.job_id;
	q->conn = j->type == IPC_JOB_PROBE ? -1 : j->conn;
	snprintf(q->host, sizeof(q->host), "%s", rq.host);
	q->port = rq.port;
	q->deadline_ms = monotime_ms() + (int64_t)a->cfg->tls_timeout_s * 1000;
	q->state = B_RESOLVING;
	hsm_prepare_for(a, j);
	if ((r = resolver_lookup(b->resolver, q->host, &q->r)) == 1)
		resolved(a, q);
	else if (r == -1) {
		q->r.error = EAI_AGAIN;
		resolved(a, q);
	}
}

size_t
broker_pollfds(struct broker *b, struct pollfd *p, size_t room)
{
	size_t	n = 0;
	int	rfd = resolver_fd(b != NULL ? b->resolver : NULL);

	if (b == NULL)
		return 0;
	if (rfd != -1 && n < room)
		p[n++] = (struct pollfd){ rfd, POLLIN, 0 };
	for (size_t i = 0; i < BROKER_MAX && n < room; i++)
		if (b->q[i].state == B_CONNECTING)
			p[n++] = (struct pollfd){ b->q[i].fd, POLLOUT, 0 };
	return n;
}

static struct breq *
by_fd(struct broker *b, int fd)
{
	for (size_t i = 0; i < BROKER_MAX; i++)
		if (b->q[i].state == B_CONNECTING && b->q[i].fd == fd)
			return &b->q[i];
	return NULL;
}

/* A connect finished: hand it over, or try the next address. */
static void
connected(struct agent *a, struct breq *q)
{
	int		 e = 0, fd = q->fd;
	socklen_t	 len = sizeof(e);
	char		 msg[IPC_MAX_STR];

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e == 0) {
		/*
		 * Handed over non-blocking: curl makes every socket it uses
		 * non-blocking itself, so making it blocking here was two
		 * system calls for nothing.
		 */
		log_debug("connect: job %u: %s port %u connected", q->job,
		    q->host, q->port);
		reply(a, q, fd, "");	/* closes our copy */
		return;
	}
	snprintf(q->err, sizeof(q->err), "%s", strerror(e));
	close(fd);
	q->fd = -1;
	if (start_next(a, q) == -1) {
		snprintf(msg, sizeof(msg), "cannot connect to %s port %u for "
		    "connector %s: %s", q->host, q->port, conn_name(a, q), q->err);
		failed(a, q, msg);
	}
}

void
broker_handle(struct agent *a, const struct pollfd *p, size_t n)
{
	struct broker	*b = a->broker;
	int64_t		 now = monotime_ms();
	char		 msg[IPC_MAX_STR];
	struct breq	*q;

	if (b == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (p[i].revents == 0)
			continue;
		if (p[i].fd == resolver_fd(b->resolver)) {
			resolver_collect(b->resolver);
			continue;
		}
		if ((q = by_fd(b, p[i].fd)) != NULL)
			connected(a, q);
	}
	/* Names that came in, and connections out of time. */
	for (size_t i = 0; i < BROKER_MAX; i++) {
		q = &b->q[i];
		if (q->state == B_RESOLVING && resolver_lookup(b->resolver,
		    q->host, &q->r) == 1)
			resolved(a, q);
		else if (q->state != B_FREE && now >= q->deadline_ms) {
			snprintf(msg, sizeof(msg), "%s %s port %u for connector "
			    "%s: no answer within %u s", q->state == B_RESOLVING ?
			    "cannot resolve" : "cannot connect to", q->host,
			    q->port, conn_name(a, q), a->cfg->tls_timeout_s);
			if (q->state == B_RESOLVING)
				a->count.dns_failures++;
			failed(a, q, msg);
		}
	}
}

int
broker_timeout_ms(const struct broker *b, int max_ms)
{
	int64_t now = monotime_ms(), t = max_ms;

	for (size_t i = 0; b != NULL && i < BROKER_MAX; i++)
		if (b->q[i].state != B_FREE && b->q[i].deadline_ms - now < t)
			t = b->q[i].deadline_ms - now;
	return t < 0 ? 0 : (int)t;
}
