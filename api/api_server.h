/*
 * api_server.h - the local API socket: connections, framing, limits.
 *
 * A Unix stream socket; one JSON object per line each way. The peer is
 * identified by the kernel (SO_PEERCRED) at accept time. Every
 * connection has a capped input line, a capped output queue and an idle
 * timer; one client that misbehaves loses only its own connection.
 */
#ifndef HSMAGENT_API_SERVER_H
#define HSMAGENT_API_SERVER_H

#include <sys/types.h>

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api_budget.h"
#include "api_request.h"

#define API_IN_START		4096	/* a connection's first input buffer */
#define API_TRIM_DELAY_MS	2000
#define API_MAX_OUT		(4 * 1024 * 1024)	/* queued reply bytes */
#define API_MAX_GROUPS		64
#define API_USER_MAX		32
#define API_WAIT_PER_ORDER	4	/* connections waiting on one order */

struct agent;

struct api_conn {
	int		 fd;		/* -1: slot free */
	uint64_t	 serial;	/* connection number, for logs */
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	char		 user[API_USER_MAX + 1];
	gid_t		 groups[API_MAX_GROUPS];
	size_t		 ngroups;
	char		*in;		/* grows to API_MAX_LINE + 1 */
	size_t		 inlen, incap;
	char		*out;
	size_t		 outlen, outcap;
	int64_t		 last_ms;	/* last byte in or out */
	int		 closing;	/* close once out is flushed */
	unsigned	 bad_lines;	/* then closed at API_BAD_LINES_MAX */
	char		 waiting[API_ORDER_ID_LEN + 1];	/* enroll --wait */
};

struct api_server {
	int		 lfd;
	int		 inherited;	/* lfd came from systemd */
	char		*path;
	struct api_conn	*conns;
	size_t		 max;		/* slots */
	size_t		 per_uid;	/* open connections one uid may hold */
	int64_t		 idle_ms;
	uint64_t	 next_serial;
	uint64_t	 accepted, refused, evicted, timed_out, bad_requests;
	struct api_budget budget;	/* per uid, before any audit record */
	/* After a burst: freed buffers go back to the kernel when idle. */
	int		 trim_pending;
	int64_t		 trim_at;
};

/*
 * Binds and listens, or takes inherited (socket activation; -1: none);
 * 0 or -1 with a message.
 */
int	api_listen(struct api_server *, const char *path, int inherited,
	    uint32_t mode, const char *group, size_t max_conns, uint32_t idle_s,
	    char *err, size_t errlen);
void	api_stop_listening(struct api_server *);
void	api_close_all(struct api_server *);

/* Adds the listener and connections to pfd; returns how many. */
size_t	api_pollfds(struct api_server *, struct pollfd *, size_t room);
/* Handles what poll() reported for the fds api_pollfds() added. */
void	api_handle(struct agent *, struct api_server *, const struct pollfd *,
	    size_t n, int64_t now_ms);
/* Idle timeouts; returns the next deadline in ms (0: none). */
int64_t	api_tick(struct api_server *, int64_t now_ms);

/* Queue one reply line (consumes reply). */
void	api_reply(struct api_conn *, json_t *reply);
void	api_reply_error(struct api_conn *, const char *code, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
size_t	api_open_connections(const struct api_server *);

/* Implemented by api_ops.c: one parsed request from c. */
/* Every operation of api_request.c's table has its handler (at start). */
int	api_ops_complete(void);
void	api_ops_handle(struct agent *, struct api_conn *,
	    struct api_request *);
/* A connection is going away (drops any wait it had). */
void	api_ops_conn_closed(struct agent *, struct api_conn *);
/* Audit hooks for what never becomes a request. */
void	api_ops_refused(struct agent *, const struct api_conn *who,
	    const char *why);
void	api_ops_bad_request(struct agent *, const struct api_conn *,
	    const char *why);

#endif
