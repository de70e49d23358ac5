/*
 * http01_server.c - the http-01 responder; see http01_server.h.
 *
 * Every connection is read, parsed (acme_http01_parse, which is fuzzed)
 * and answered within one small buffer each; nothing from the network
 * is kept past the connection, and nothing of it reaches the rest of the
 * parent but a token to look up.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme_http01.h"
#include "b64url.h"
#include "http01_server.h"
#include "log.h"
#include "util.h"

#define KEYAUTH_MAX	(ACME_HTTP01_MAX_TOKEN + 1 + ACME_THUMBPRINT_LEN)
#define RESPONSE_MAX	(KEYAUTH_MAX + 256)	/* headers are ~120 bytes */
#define LOG_PER_SECOND	5	/* lines about requests: anyone can make them */
#define PAUSE_MS	1000	/* after accept fails for want of fds */

struct http01_token {
	char	 token[ACME_HTTP01_MAX_TOKEN + 1];	/* "": free */
	char	 keyauth[KEYAUTH_MAX + 1];
	uint32_t job;			/* the job that registered it */
};

struct http01_conn {
	int	 fd;			/* -1: free */
	int64_t	 deadline_ms;
	size_t	 len;			/* request bytes read */
	char	 req[ACME_HTTP01_MAX_REQUEST];
	size_t	 outlen, outoff;	/* answer: outlen > 0 once decided */
	char	 out[RESPONSE_MAX];
};

struct http01_server {
	int			 lfd;
	size_t			 ntokens;
	struct http01_token	 tokens[HTTP01_MAX_TOKENS];
	struct http01_conn	 conns[HTTP01_MAX_CONNS];
	int64_t			 paused_until_ms;
	int64_t			 log_second;
	unsigned		 log_count;
	uint64_t		 refused;	/* over the connection cap */
};

int
http01_fd_ok(int fd)
{
	int		 v = 0;
	socklen_t	 len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == -1 ||
	    v != SOCK_STREAM)
		return 0;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) == -1 ||
	    (v != AF_INET && v != AF_INET6))
		return 0;
	len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 &&
	    v == 1;
}

struct http01_server *
http01_server_new(int fd)
{
	struct http01_server *s;

	if (!http01_fd_ok(fd))
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->lfd = fd;
	for (size_t i = 0; i < HTTP01_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	return s;
}

static void	conn_close(struct http01_conn *);

void
http01_server_free(struct http01_server *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < HTTP01_MAX_CONNS; i++)
		if (s->conns[i].fd != -1)
			conn_close(&s->conns[i]);
	free(s);
}

/* A registration of token (by job, unless job is 0: any). */
static struct http01_token *
token_find(struct http01_server *s, const char *token, uint32_t job)
{
	for (size_t i = 0; i < HTTP01_MAX_TOKENS; i++)
		if (s->tokens[i].token[0] != '\0' &&
		    strcmp(s->tokens[i].token, token) == 0 &&
		    (job == 0 || s->tokens[i].job == job))
			return &s->tokens[i];
	return NULL;
}

/*
 * "TOKEN.THUMBPRINT" as acme_key_authorization() makes it, with a
 * base64url token and the base64url of a SHA-256: it goes out as a
 * response body, so nothing else may reach it.
 */
static int
keyauth_ok(const char *token, const char *ka)
{
	char		 again[KEYAUTH_MAX + 1];
	uint8_t		 sha[32];
	size_t		 n = strlen(token);
	const char	*thumb = ka + n + 1;

	return strncmp(ka, token, n) == 0 && ka[n] == '.' &&
	    b64url_decode(thumb, strlen(thumb), sha, sizeof(sha)) ==
	    sizeof(sha) && acme_key_authorization(token, thumb, again,
	    sizeof(again)) == 0;
}

int
http01_token_add(struct http01_server *s, uint32_t job, const char *token,
    const char *ka)
{
	struct http01_token	*t;
	size_t			 mine = 0;

	if (s == NULL || job == 0 || token == NULL || ka == NULL ||
	    strlen(token) > ACME_HTTP01_MAX_TOKEN || !keyauth_ok(token, ka))
		return -1;
	if (token_find(s, token, job) != NULL)
		return 0;
	for (size_t i = 0; i < HTTP01_MAX_TOKENS; i++)
		mine += s->tokens[i].token[0] != '\0' && s->tokens[i].job == job;
	if (s->ntokens == HTTP01_MAX_TOKENS || mine >= HTTP01_MAX_PER_JOB)
		return -1;
	for (t = s->tokens; t->token[0] != '\0'; t++)
		;
	s->ntokens++;
	/* Both lengths were checked against the fields by keyauth_ok(). */
	memcpy(t->token, token, strlen(token) + 1);
	memcpy(t->keyauth, ka, strlen(ka) + 1);
	t->job = job;
	return 0;
}

int
http01_token_del(struct http01_server *s, uint32_t job, const char *token)
{
	struct http01_token *t;

	if (s == NULL || token == NULL || job == 0 ||
	    (t = token_find(s, token, job)) == NULL)
		return -1;
	memset(t, 0, sizeof(*t));
	s->ntokens--;
	return 0;
}

size_t
http01_job_ended(struct http01_server *s, uint32_t job)
{
	size_t n = 0;

	for (size_t i = 0; s != NULL && job != 0 && i < HTTP01_MAX_TOKENS; i++)
		if (s->tokens[i].token[0] != '\0' && s->tokens[i].job == job) {
			memset(&s->tokens[i], 0, sizeof(s->tokens[i]));
			s->ntokens--;
			n++;
		}
	return n;
}

size_t
http01_tokens(const struct http01_server *s)
{
	return s == NULL ? 0 : s->ntokens;
}

size_t
http01_pollfds(struct http01_server *s, struct pollfd *p, size_t room)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	/* Answered only while an order needs it. */
	if (s->ntokens > 0 && monotime_ms() >= s->paused_until_ms && n < room)
		p[n++] = (struct pollfd){ s->lfd, POLLIN, 0 };
	for (size_t i = 0; i < HTTP01_MAX_CONNS && n < room; i++) {
		struct http01_conn *k = &s->conns[i];

		if (k->fd != -1)
			p[n++] = (struct pollfd){ k->fd, k->outlen > 0 ?
			    POLLOUT : POLLIN, 0 };
	}
	return n;
}

static void
conn_close(struct http01_conn *k)
{
	close(k->fd);
	k->fd = -1;
	k->len = k->outlen = k->outoff = 0;
}

/* Lines about requests from anyone: a few a second, not a flood. */
static int
may_log(struct http01_server *s, int64_t now)
{
	if (now / 1000 != s->log_second) {
		s->log_second = now / 1000;
		s->log_count = 0;
	}
	return s->log_count++ < LOG_PER_SECOND;
}

static void
accept_one(struct http01_server *s, int64_t now)
{
	struct http01_conn	*k = NULL;
	int			 fd;

	if ((fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* Level-triggered: polling again now would spin. */
			s->paused_until_ms = now + PAUSE_MS;
			log_warn("http-01: accept: %s", strerror(errno));
		}
		return;
	}
	for (size_t i = 0; i < HTTP01_MAX_CONNS && k == NULL; i++)
		if (s->conns[i].fd == -1)
			k = &s->conns[i];
	if (k == NULL) {
		/* Closed, not queued: the cap is what the loop will hold. */
		close(fd);
		if (s->refused++ % 100 == 0)
			log_info("http-01: %d connections open: closing new ones "
			    "(%llu so far)", HTTP01_MAX_CONNS,
			    (unsigned long long)s->refused);
		return;
	}
	k->fd = fd;
	k->deadline_ms = now + HTTP01_CONN_MS;
	k->len = k->outlen = k->outoff = 0;
}

/* The answer to a complete request; it goes out as the socket allows. */
static void
decide(struct http01_server *s, struct http01_conn *k,
    enum acme_http01_parse r, const char *token, int64_t now)
{
	const struct http01_token	*t = NULL;
	int				 w;

	if (r == HTTP01_CHALLENGE)
		t = token_find(s, token, 0);
	if (may_log(s, now)) {
		if (t != NULL)
			log_info("http-01: answered the challenge for token %s",
			    token);
		else if (r == HTTP01_CHALLENGE)
			log_info("http-01: 404 for unknown token %s", token);
		else
			log_debug("http-01: 404 for a request that is no "
			    "challenge");
	}
	w = acme_http01_response(t != NULL ? t->keyauth : NULL, k->out,
	    sizeof(k->out));
	if (w <= 0) {
		conn_close(k);
		return;
	}
	k->outlen = (size_t)w;
	k->outoff = 0;
}

static void
conn_read(struct http01_server *s, struct http01_conn *k, int64_t now)
{
	char			 token[ACME_HTTP01_MAX_TOKEN + 1];
	enum acme_http01_parse	 r;
	ssize_t			 n;

	n = recv(k->fd, k->req + k->len, sizeof(k->req) - k->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(k);
		return;
	}
	k->len += (size_t)n;
	r = acme_http01_parse(k->req, k->len, token);
	if (r == HTTP01_INCOMPLETE)
		return;
	if (r == HTTP01_BAD) {
		if (may_log(s, now))
			log_debug("http-01: closing a connection: not an "
			    "HTTP/1.x request within %d bytes",
			    ACME_HTTP01_MAX_REQUEST);
		conn_close(k);
		return;
	}
	decide(s, k, r, token, now);
}

static void
conn_write(struct http01_conn *k)
{
	ssize_t n;

	n = send(k->fd, k->out + k->outoff, k->outlen - k->outoff,
	    MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(k);
		return;
	}
	k->outoff += (size_t)n;
	/* "Connection: close": the answer is the whole exchange. */
	if (k->outoff == k->outlen)
		conn_close(k);
}

static struct http01_conn *
conn_by_fd(struct http01_server *s, int fd)
{
	for (size_t i = 0; i < HTTP01_MAX_CONNS; i++)
		if (s->conns[i].fd == fd)
			return &s->conns[i];
	return NULL;
}

void
http01_handle(struct http01_server *s, const struct pollfd *w, size_t n)
{
	struct http01_conn	*k;
	int64_t			 now = monotime_ms();

	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (w[i].revents == 0)
			continue;
		if (w[i].fd == s->lfd) {
			accept_one(s, now);
			continue;
		}
		if ((k = conn_by_fd(s, w[i].fd)) == NULL)
			continue;
		if (k->outlen > 0)
			conn_write(k);
		else
			conn_read(s, k, now);
	}
	for (size_t i = 0; i < HTTP01_MAX_CONNS; i++) {
		k = &s->conns[i];
		if (k->fd != -1 && now >= k->deadline_ms) {
			if (may_log(s, now))
				log_debug("http-01: closing a connection: no "
				    "complete exchange within %d ms",
				    HTTP01_CONN_MS);
			conn_close(k);
		}
	}
}

int
http01_timeout_ms(const struct http01_server *s, int max_ms)
{
	int64_t now, t = max_ms;

	if (s == NULL)
		return max_ms;
	now = monotime_ms();
	for (size_t i = 0; i < HTTP01_MAX_CONNS; i++)
		if (s->conns[i].fd != -1 && s->conns[i].deadline_ms - now < t)
			t = s->conns[i].deadline_ms - now;
	if (s->ntokens > 0 && s->paused_until_ms > now &&
	    s->paused_until_ms - now < t)
		t = s->paused_until_ms - now;
	return t < 0 ? 0 : (int)t;
}
