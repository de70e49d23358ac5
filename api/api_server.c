/*
 * api_server.c - the local API socket of the parent.
 *
 * All sockets are non-blocking and served from the agent's one poll()
 * loop. Limits, so that no client can starve another or the agent:
 *   - a request line of at most API_MAX_LINE bytes (longer: an error
 *     reply, then the connection is closed);
 *   - at most API_MAX_OUT bytes of replies queued for a client that
 *     does not read (more: the connection is closed);
 *   - idle connections (no byte either way, no reply queued, no enroll
 *     waiting) are closed after idle_timeout;
 *   - one uid may hold at most a quarter of the slots; past that, or
 *     when every slot is taken, the connection idle the longest (of that
 *     uid, or of all) is closed to make room; a client that waits on an
 *     order is never evicted.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "api_server.h"
#include "peer_ident.h"
#include "log.h"
#include "util.h"

static int
fail(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "[api] socket %s: %s: %s", path, what,
	    strerror(errno));
	return -1;
}

/* A stale socket from an earlier run may go; anything else stays. */
static int
remove_stale(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : fail(err, errlen, "lstat", path);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "[api] socket %s exists and is not a "
		    "socket; refusing to replace it", path);
		return -1;
	}
	if (unlink(path) == -1)
		return fail(err, errlen, "unlink", path);
	return 0;
}

/* Takes the socket systemd passed (fd), else binds path itself. */
static int
bind_socket(struct api_server *s, const char *path, uint32_t mode,
    const char *group, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct group		*gr = NULL;
	mode_t			 old;
	int			 r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "[api] socket path longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (group != NULL && (gr = getgrnam(group)) == NULL) {
		snprintf(err, errlen, "[api] group %s does not exist", group);
		return -1;
	}
	if (remove_stale(path, err, errlen) == -1)
		return -1;
	if ((s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return fail(err, errlen, "socket", path);
	/* Never reachable with a wider mode, not even for a moment. */
	old = umask(0177);
	r = bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	/*
	 * By path, but never through a symlink (the directory is the
	 * agent's alone, path_trust.c; this is the second lock): glibc's
	 * AT_SYMLINK_NOFOLLOW refuses a symlink instead of following it.
	 */
	if (r == -1 || fchmodat(AT_FDCWD, path, (mode_t)mode,
	    AT_SYMLINK_NOFOLLOW) == -1 ||
	    (gr != NULL && lchown(path, (uid_t)-1, gr->gr_gid) == -1) ||
	    listen(s->lfd, 128) == -1) {
		fail(err, errlen, "bind/chmod/chown/listen", path);
		close(s->lfd);
		s->lfd = -1;
		return -1;
	}
	return 0;
}

int
api_listen(struct api_server *s, const char *path, int inherited,
    uint32_t mode, const char *group, size_t max_conns, uint32_t idle_s,
    char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->lfd = inherited;
	/* An inherited socket's mode and group are the socket unit's. */
	s->inherited = inherited != -1;
	if (!s->inherited && bind_socket(s, path, mode, group, err,
	    errlen) == -1)
		return -1;
	s->path = xstrdup(path);
	s->max = max_conns;
	s->per_uid = max_conns / 4 > 0 ? max_conns / 4 : 1;
	s->idle_ms = (int64_t)idle_s * 1000;
	s->conns = xcalloc(max_conns, sizeof(*s->conns));
	for (size_t i = 0; i < max_conns; i++)
		s->conns[i].fd = -1;
	return 0;
}

/*
 * No new connections (shutdown); those open are served to the end.
 * The socket node goes unless systemd owns it.
 */
void
api_stop_listening(struct api_server *s)
{
	if (s->lfd == -1)
		return;
	close(s->lfd);
	s->lfd = -1;
	if (!s->inherited && s->path != NULL)
		unlink(s->path);
}

static void
conn_close(struct agent *a, struct api_conn *c)
{
	if (c->fd == -1)
		return;
	if (a != NULL)
		api_ops_conn_closed(a, c);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void
api_close_all(struct api_server *s)
{
	if (s->conns != NULL)
		for (size_t i = 0; i < s->max; i++)
			conn_close(NULL, &s->conns[i]);
	free(s->conns);
	s->conns = NULL;
	api_stop_listening(s);
	free(s->path);
	s->path = NULL;
}

size_t
api_open_connections(const struct api_server *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->max; i++)
		n += s->conns[i].fd != -1;
	return n;
}

/* Fills in who is on the other end, as the kernel saw it at connect. */
static int
identify(struct api_conn *c)
{
	struct ucred	 uc;
	socklen_t	 len = sizeof(uc);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 ||
	    len != sizeof(uc))
		return -1;
	c->uid = uc.uid;
	c->gid = uc.gid;
	c->pid = uc.pid;
	peer_ident(uc.uid, uc.gid, monotime_ms(), c->user, sizeof(c->user),
	    c->groups, API_MAX_GROUPS, &c->ngroups);
	return 0;
}

static struct api_conn *
free_slot(struct api_server *s)
{
	for (size_t i = 0; i < s->max; i++)
		if (s->conns[i].fd == -1)
			return &s->conns[i];
	return NULL;
}

static size_t
count_uid(const struct api_server *s, uid_t uid)
{
	size_t n = 0;

	for (size_t i = 0; i < s->max; i++)
		n += s->conns[i].fd != -1 && s->conns[i].uid == uid;
	return n;
}

/*
 * The connection idle the longest that is not waiting on an order:
 * among one uid's (uid_only) or among all.
 */
static struct api_conn *
evictable(struct api_server *s, int uid_only, uid_t uid)
{
	struct api_conn *best = NULL;

	for (size_t i = 0; i < s->max; i++) {
		struct api_conn *c = &s->conns[i];

		if (c->fd == -1 || c->waiting[0] != '\0' ||
		    (uid_only && c->uid != uid))
			continue;
		if (best == NULL || c->last_ms < best->last_ms)
			best = c;
	}
	return best;
}

static void
refuse(struct agent *a, struct api_server *s, int fd, const struct api_conn *who,
    const char *why)
{
	static const char line[] = "{\"ok\":false,\"error\":{\"code\":"
	    "\"busy\",\"message\":\"too many connections\"}}\n";

	/* Best effort: the socket is fresh, the line fits its buffer. */
	if (write(fd, line, sizeof(line) - 1) < 0)
		(void)0;
	close(fd);
	s->refused++;
	api_ops_refused(a, who, why);
}

/* 0 when nothing more waits to be accepted (or accept fails). */
static int
accept_one(struct agent *a, struct api_server *s, int64_t now)
{
	struct api_conn	 tmp, *c = NULL, *victim;
	int		 fd;

	if ((fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno == ECONNABORTED || errno == EINTR)
			return 1;
		if (errno != EAGAIN)
			log_warn("api: accept: %s", strerror(errno));
		return 0;
	}
	memset(&tmp, 0, sizeof(tmp));
	tmp.fd = fd;
	if (identify(&tmp) == -1) {
		log_warn("api: SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return 1;
	}
	/*
	 * Full (for this uid, or at all): the longest-idle connection makes
	 * room, so a client that hoards idle connections churns its own and
	 * one that connects, asks and reads is always served.
	 */
	victim = NULL;
	if (count_uid(s, tmp.uid) >= s->per_uid &&
	    (victim = evictable(s, 1, tmp.uid)) == NULL) {
		refuse(a, s, fd, &tmp, "per-uid connection limit");
		return 1;
	}
	if (victim == NULL && (c = free_slot(s)) == NULL &&
	    (victim = evictable(s, 0, 0)) == NULL) {
		refuse(a, s, fd, &tmp, "connection limit");
		return 1;
	}
	if (victim != NULL) {
		s->evicted++;
		log_debug("api: connection %llu (uid %ld) closed to make room",
		    (unsigned long long)victim->serial, (long)victim->uid);
		conn_close(a, victim);
		c = victim;
	}
	*c = tmp;
	c->serial = ++s->next_serial;
	/* Most requests are a line of a few hundred bytes; a CSR, a few KiB. */
	c->incap = API_IN_START;
	c->in = xmalloc(c->incap);
	s->trim_pending = 1;
	s->trim_at = 0;
	c->last_ms = now;
	s->accepted++;
	log_debug("api: connection %llu from uid %ld pid %ld",
	    (unsigned long long)c->serial, (long)c->uid, (long)c->pid);
	return 1;
}

static void
queue(struct api_conn *c, const char *data, size_t len)
{
	if (c->closing > 1)
		return;
	if (c->outlen + len > API_MAX_OUT) {
		/* It does not read its replies: stop talking to it. */
		c->closing = 2;
		return;
	}
	if (c->outlen + len > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;

		while (cap < c->outlen + len)
			cap *= 2;
		c->out = xrealloc(c->out, cap);
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
	/*
	 * A reply queued is activity: the idle clock starts again here, so
	 * the answer an enroll --wait was owed for minutes or days is not
	 * taken for idleness and dropped before it is written.
	 */
	c->last_ms = monotime_ms();
}

void
api_reply(struct api_conn *c, json_t *reply)
{
	char *s = json_dumps(reply, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(reply);
	if (s == NULL) {
		c->closing = 2;
		return;
	}
	queue(c, s, strlen(s));
	queue(c, "\n", 1);
	free(s);
}

void
api_reply_error(struct api_conn *c, const char *code, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_reply(c, json_pack("{s:b,s:{s:s,s:s}}", "ok", 0, "error",
	    "code", code, "message", msg));
}

/*
 * One request line. Anything that may write an audit record (all but
 * health, metrics and version; a bad line too) takes a token of the
 * uid's budget first (api_budget.h); a connection is closed after a few
 * bad lines.
 */
static void
handle_line(struct agent *a, struct api_server *s, struct api_conn *c,
    const char *line, size_t len, int64_t now)
{
	struct api_request	req;
	char			err[512];

	if (api_request_parse(line, len, &req, err, sizeof(err)) == -1) {
		s->bad_requests++;
		if (api_budget_take(&s->budget, (uint32_t)c->uid, now))
			api_ops_bad_request(a, c, err);
		if (++c->bad_lines >= API_BAD_LINES_MAX) {
			api_reply_error(c, "bad_request", "%s; %d bad requests: "
			    "closing the connection", err, API_BAD_LINES_MAX);
			c->closing = 1;
		} else
			api_reply_error(c, "bad_request", "%s", err);
		return;
	}
	if (req.op != OP_HEALTH && req.op != OP_METRICS &&
	    req.op != OP_VERSION && !api_budget_take(&s->budget,
	    (uint32_t)c->uid, now)) {
		api_reply_error(c, "busy", "uid %ld asks more than %u times a "
		    "second: try again shortly", (long)c->uid,
		    (unsigned)api_budget_rate(&s->budget));
		api_request_free(&req);
		return;
	}
	api_ops_handle(a, c, &req);
	api_request_free(&req);
}

static void
read_conn(struct agent *a, struct api_server *s, struct api_conn *c,
    int64_t now)
{
	ssize_t	n;
	char	*nl;

	if (c->inlen == c->incap && c->incap < API_MAX_LINE + 1) {
		c->incap = c->incap * 2 > API_MAX_LINE + 1 ? API_MAX_LINE + 1 :
		    c->incap * 2;
		c->in = xrealloc(c->in, c->incap);
	}
	n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		conn_close(a, c);
		return;
	}
	if (n < 0)
		return;
	c->last_ms = now;
	c->inlen += (size_t)n;
	while (c->closing == 0 &&
	    (nl = memchr(c->in, '\n', c->inlen)) != NULL) {
		size_t len = (size_t)(nl - c->in);

		handle_line(a, s, c, c->in, len, now);
		memmove(c->in, nl + 1, c->inlen - len - 1);
		c->inlen -= len + 1;
	}
	if (c->inlen > API_MAX_LINE) {
		s->bad_requests++;
		if (api_budget_take(&s->budget, (uint32_t)c->uid, now))
			api_ops_bad_request(a, c, "request line too long");
		api_reply_error(c, "bad_request", "request line longer than "
		    "%d bytes; closing the connection", API_MAX_LINE);
		c->closing = 1;
		c->inlen = 0;
	}
}

static void
write_conn(struct agent *a, struct api_conn *c, int64_t now)
{
	ssize_t n;

	if (c->outlen == 0)
		return;
	n = write(c->fd, c->out, c->outlen);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(a, c);
		return;
	}
	memmove(c->out, c->out + n, c->outlen - (size_t)n);
	c->outlen -= (size_t)n;
	c->last_ms = now;
}

size_t
api_pollfds(struct api_server *s, struct pollfd *pfd, size_t room)
{
	size_t n = 0;

	if (s->lfd == -1 || room == 0)
		return 0;
	pfd[n++] = (struct pollfd){ s->lfd, POLLIN, 0 };
	for (size_t i = 0; i < s->max && n < room; i++) {
		struct api_conn *c = &s->conns[i];
		short ev = 0;

		if (c->fd == -1)
			continue;
		if (c->closing == 0)
			ev |= POLLIN;
		if (c->outlen > 0)
			ev |= POLLOUT;
		pfd[n++] = (struct pollfd){ c->fd, ev, 0 };
	}
	return n;
}

static struct api_conn *
by_fd(struct api_server *s, int fd)
{
	for (size_t i = 0; i < s->max; i++)
		if (s->conns[i].fd == fd)
			return &s->conns[i];
	return NULL;
}

void
api_handle(struct agent *a, struct api_server *s, const struct pollfd *pfd,
    size_t n, int64_t now)
{
	for (size_t i = 1; i < n; i++) {
		struct api_conn *c = by_fd(s, pfd[i].fd);

		if (c == NULL || pfd[i].revents == 0)
			continue;
		if (pfd[i].revents & POLLIN)
			read_conn(a, s, c, now);
		/*
		 * A reply just made goes out now: the socket is nearly always
		 * writable, and waiting for POLLOUT cost every request one
		 * more turn of the loop. What does not fit waits for it.
		 */
		if (c->fd != -1 && c->outlen > 0)
			write_conn(a, c, now);
		if (c->fd != -1 && (pfd[i].revents & (POLLERR | POLLNVAL)))
			conn_close(a, c);
		if (c->fd != -1 && (pfd[i].revents & POLLHUP) &&
		    !(pfd[i].revents & POLLIN))
			conn_close(a, c);
		if (c->fd != -1 && ((c->closing == 1 && c->outlen == 0) ||
		    c->closing > 1))
			conn_close(a, c);
	}
	/* New connections last: their slots are then known to be free. */
	if (n > 0 && (pfd[0].revents & POLLIN))
		for (int k = 0; k < 16 && accept_one(a, s, now); k++)
			;
}

int64_t
api_tick(struct api_server *s, int64_t now)
{
	int64_t next = 0;
	size_t	open = 0;

	for (size_t i = 0; s->conns != NULL && i < s->max; i++) {
		struct api_conn *c = &s->conns[i];
		int64_t due;

		if (c->fd == -1)
			continue;
		open++;
		if (c->waiting[0] != '\0')
			continue;
		due = c->last_ms + s->idle_ms;
		if (now >= due) {
			s->timed_out++;
			log_debug("api: connection %llu idle, closed",
			    (unsigned long long)c->serial);
			conn_close(NULL, c);
			open--;
			continue;
		}
		if (next == 0 || due < next)
			next = due;
	}
	/*
	 * Fifty clients at once leave megabytes of freed buffers in the
	 * heap; glibc keeps them. Two seconds after the last connection
	 * closed, they go back.
	 */
	if (s->trim_pending && open == 0) {
		if (s->trim_at == 0)
			s->trim_at = now + API_TRIM_DELAY_MS;
		if (now >= s->trim_at) {
			malloc_trim(0);
			s->trim_pending = 0;
			s->trim_at = 0;
		} else if (next == 0 || s->trim_at < next)
			next = s->trim_at;
	}
	return next;
}
