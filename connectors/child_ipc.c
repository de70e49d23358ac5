/*
 * child_ipc.c - the child's side of the IPC channel: sending, the
 * signature round trip (keyproxy_sign_fn), log forwarding.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "acme_jws.h"
#include "child.h"
#include "log.h"
#include "util.h"

static struct child *log_child;

__attribute__((noreturn)) void
child_violation(const char *what)
{
	/* The parent broke the protocol or vanished: nothing safe is left. */
	log_error("ipc: %s; exiting", what);
	_exit(CHILD_EXIT_PROTOCOL);
}

void
child_send(struct child *c, uint16_t type, uint32_t id, const struct wbuf *b)
{
	if (ipc_send(c->fd, type, id, b) == -1) {
		if (errno == EPIPE || errno == ECONNRESET)
			_exit(CHILD_EXIT_PARENT_GONE);		/* parent gone */
		log_set_sink(NULL);
		child_violation("cannot send to the parent");
	}
}

/* Printable ASCII only: the parent prints these lines into its log. */
void
child_log_sink(enum log_level level, const char *text)
{
	struct ipc_log	 m;
	struct wbuf	 b;

	if (log_child == NULL)
		return;
	m.level = (uint8_t)level;
	copy_printable(m.text, sizeof(m.text), text);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_log(&b, &m);
	if (ipc_send(log_child->fd, IPC_LOG, 0, &b) == -1 &&
	    (errno == EPIPE || errno == ECONNRESET))
		_exit(CHILD_EXIT_PARENT_GONE);
	wbuf_free(&b);
}

void
child_log_attach(struct child *c)
{
	log_child = c;
	log_set_sink(child_log_sink);
}

int
child_recv_wait(struct child *c, struct ipc_msg *msg, int timeout_ms)
{
	int64_t deadline = monotime_ms() + timeout_ms;

	for (;;) {
		struct pollfd	 pfd = { c->fd, POLLIN, 0 };
		int64_t		 left = deadline - monotime_ms();
		int		 r;

		if (left < 0)
			return 0;
		if ((r = poll(&pfd, 1, (int)left)) == -1) {
			if (errno == EINTR)
				continue;
			child_violation("poll failed");
		}
		if (r == 0)
			return 0;
		r = ipc_recv(c->fd, c->rx, IPC_MAX_DGRAM + 1, msg);
		if (r == 1)
			return 1;
		if (r == 0)
			_exit(CHILD_EXIT_PARENT_GONE);		/* parent closed: quietly end */
		if (errno == EAGAIN || errno == EINTR)
			continue;
		child_violation("malformed datagram from the parent");
	}
}

void
child_defer(struct child *c, const struct ipc_msg *msg)
{
	struct deferred *d;
	size_t len = IPC_HDR_LEN + msg->len;

	if (c->ndeferred == CHILD_MAX_DEFERRED)
		child_violation("too many messages during a signature wait");
	d = &c->deferred[c->ndeferred++];
	d->dgram = xmalloc(len);
	memcpy(d->dgram, msg->payload - IPC_HDR_LEN, len);
	d->len = len;
	/* The copy is the only one: the receive buffer may hold a password. */
	explicit_bzero((uint8_t *)(uintptr_t)(msg->payload - IPC_HDR_LEN), len);
}

/*
 * A message that is not the one a wait is for: a job is kept for the
 * main loop; a late answer to an earlier, timed-out request (a
 * connection or a signature) is dropped; anything else is a violation.
 */
static void
aside(struct child *c, struct ipc_msg *msg, const char *waiting_for)
{
	char why[64];

	if (ipc_is_child_work(msg->type)) {
		if (msg->fd != -1)
			child_violation("a descriptor with a job");
		child_defer(c, msg);
		return;
	}
	switch (msg->type) {
	case IPC_CONNECT_REPLY:
		if (msg->fd != -1)
			close(msg->fd);
		return;
	case IPC_SIGN_REPLY:
		if (msg->fd != -1)
			child_violation("a descriptor with a sign-reply");
		return;
	default:
		snprintf(why, sizeof(why), "unexpected message while waiting "
		    "for %s", waiting_for);
		child_violation(why);
	}
}

/*
 * The wait for the IPC_SIGN_REPLY to request req, shared by the TLS
 * and the JWS signatures. A reply that arrives after its request timed
 * out has an older id and is skipped (relayd's cookie rule); work
 * messages that arrive meanwhile are kept for the main loop. 0 with rp
 * set for SIGN_OK; -2 (logged) when the parent refused, -1 (logged) on
 * timeout or failure.
 */
static int
await_sign_reply(struct child *c, uint32_t req, uint32_t job_id,
    struct ipc_sign_reply *rp)
{
	struct ipc_msg	 msg;
	int64_t		 deadline = monotime_ms() + c->cfg.sign_timeout_ms;

	for (;;) {
		int64_t left = deadline - monotime_ms();

		if (left <= 0 || child_recv_wait(c, &msg, (int)left) == 0) {
			log_warn("keyproxy: job %u: no signature from the "
			    "parent within %u ms", job_id,
			    c->cfg.sign_timeout_ms);
			return -1;
		}
		switch (msg.type) {
		case IPC_SIGN_REPLY:
			if (msg.fd != -1)
				child_violation("a descriptor with a sign-reply");
			if (msg.id < req)
				continue;	/* late answer to a timed-out request */
			if (msg.id != req || ipc_dec_sign_reply(&msg, rp) == -1)
				child_violation("bad sign-reply");
			if (rp->status != SIGN_OK) {
				log_warn("keyproxy: job %u: parent %s the "
				    "signature", job_id, rp->status ==
				    SIGN_REFUSED ? "refused" : "failed");
				return rp->status == SIGN_REFUSED ? -2 : -1;
			}
			return 0;
		default:
			aside(c, &msg, "a signature");
		}
	}
}

/* keyproxy_sign_fn: runs inside libssl's handshake, so it answers synchronously. */
int
child_sign(void *arg, uint32_t job_id, int tls13, enum sign_scheme scheme,
    const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen,
    size_t cap)
{
	struct child		*c = arg;
	struct ipc_sign_request	 rq = { job_id, (uint8_t)scheme, data, len };
	struct ipc_sign_reply	 rp;
	struct wbuf		 b;
	uint32_t		 req = ++c->next_req;

	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_sign_request(&b, &rq);
	child_send(c, tls13 ? IPC_TLS13_SIGN_REQUEST : IPC_SIGN_REQUEST, req,
	    &b);
	wbuf_free(&b);
	if (await_sign_reply(c, req, job_id, &rp) < 0)
		return -1;
	if (rp.siglen > cap)
		child_violation("signature larger than the key");
	memcpy(sig, rp.sig, rp.siglen);
	*siglen = rp.siglen;
	return 0;
}

/*
 * A connection for job job_id to host:port, made by the parent (the
 * child may not make sockets): the request, then the wait for its answer
 * as for a signature, work that comes meanwhile kept for later. The
 * connected socket, or -1 with err saying why.
 */
int
child_connect(struct child *c, uint32_t job_id, const char *host,
    uint16_t port, char *err, size_t errlen)
{
	struct ipc_connect_request	 rq;
	struct ipc_connect_reply	 rp;
	struct ipc_msg			 msg;
	struct wbuf			 b;
	uint32_t			 req = ++c->next_req;
	/* The parent gives up at [tls] timeout; a little more here. */
	int64_t				 deadline = monotime_ms() +
					    (int64_t)c->cfg.tls_timeout_s * 1000 +
					    2000;

	memset(&rq, 0, sizeof(rq));
	rq.job_id = job_id;
	rq.port = port;
	if (strlen(host) > IPC_MAX_HOST) {
		snprintf(err, errlen, "host name too long");
		return -1;
	}
	snprintf(rq.host, sizeof(rq.host), "%s", host);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_connect_request(&b, &rq);
	child_send(c, IPC_CONNECT_REQUEST, req, &b);
	wbuf_free(&b);
	for (;;) {
		int64_t left = deadline - monotime_ms();

		if (left <= 0 || child_recv_wait(c, &msg, (int)left) == 0) {
			snprintf(err, errlen, "no connection to %s port %u from "
			    "the agent within %u s", host, port,
			    c->cfg.tls_timeout_s + 2);
			return -1;
		}
		switch (msg.type) {
		case IPC_CONNECT_REPLY:
			if (msg.id != req) {	/* a late answer: dropped */
				if (msg.fd != -1)
					close(msg.fd);
				continue;
			}
			if (ipc_dec_connect_reply(&msg, &rp) == -1 ||
			    (rp.status == 0) != (msg.fd != -1 ||
			    msg.fd_dropped))
				child_violation("bad connect-reply");
			if (msg.fd_dropped) {
				snprintf(err, errlen, "the connection to %s port "
				    "%u could not be received: the child has "
				    "too many open descriptors", host, port);
				return -1;
			}
			if (rp.status != 0) {
				snprintf(err, errlen, "%s", rp.message);
				return -1;
			}
			return msg.fd;
		default:
			aside(c, &msg, "a connection");
		}
	}
}

void
child_http01_token(struct child *c, uint32_t job_id, int add,
    const char *token)
{
	struct ipc_http01_token	 m;
	struct wbuf		 b;

	memset(&m, 0, sizeof(m));
	m.job_id = job_id;
	m.add = add ? 1 : 0;
	snprintf(m.token, sizeof(m.token), "%s", token);
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_http01_token(&b, &m);
	child_send(c, IPC_HTTP01_TOKEN, 0, &b);
	wbuf_free(&b);
}

/*
 * The ACME connector's signature (RFC 8555 §6.2): the parent checks the
 * signing input and answers with the account key's signature (DER for
 * EC, as for TLS) or the EAB's HS256. JWS wants ES256 as r||s (RFC 7518
 * §3.4), converted here so the parent's answer is the same for both
 * uses of the HSM. An answer of the wrong shape is the parent's fault.
 */
int
child_sign_jws(struct child *c, uint32_t job_id, enum ipc_jws_kind kind,
    enum ipc_acme_op op, int es256, const uint8_t *input, size_t len,
    uint8_t *sig, size_t *siglen, size_t cap)
{
	struct ipc_jws_sign_request	 rq = { job_id, (uint8_t)kind,
					    (uint8_t)op, input, len };
	struct ipc_sign_reply		 rp;
	struct wbuf			 b;
	uint32_t			 req = ++c->next_req;
	int				 r;

	/* The parent kills a child that sends more: refuse it here. */
	if (len == 0 || len > IPC_MAX_JWS_INPUT) {
		log_warn("acme: job %u: signing input of %zu bytes", job_id,
		    len);
		return -1;
	}
	wbuf_init(&b, IPC_MAX_PAYLOAD);
	ipc_enc_jws_sign_request(&b, &rq);
	child_send(c, IPC_JWS_SIGN_REQUEST, req, &b);
	wbuf_free(&b);
	if ((r = await_sign_reply(c, req, job_id, &rp)) < 0)
		return r;
	if (kind == JWS_ACCOUNT && es256) {
		if (cap < ACME_P256_SIG_LEN || acme_ecdsa_der_to_raw(rp.sig,
		    rp.siglen, sig, ACME_P256_SIG_LEN) == -1)
			child_violation("ES256 answer is no P-256 signature");
		*siglen = ACME_P256_SIG_LEN;
		return 0;
	}
	if (rp.siglen > cap || (kind == JWS_EAB && rp.siglen !=
	    ACME_HS256_LEN))
		child_violation("JWS signature of the wrong size");
	memcpy(sig, rp.sig, rp.siglen);
	*siglen = rp.siglen;
	return 0;
}
