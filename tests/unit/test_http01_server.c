/*
 * test_http01_server.c - the parent's http-01 responder on a real
 * socket: a listener on 127.0.0.1:0 stands in for the parent's port,
 * clients connect and ask, and the test drives the server the way the
 * parent's loop does (pollfds, poll, handle). Tokens belong to jobs.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acme_http01.h"
#include "http01_server.h"
#include "util.h"

#define TOK	"hlUdgZySK3_j9WwyowrbdLMyw7o-DMa1ryWxBWyxhz4"
#define THUMB	"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
#define KA	TOK "." THUMB
#define GET(t)	"GET " ACME_HTTP01_PREFIX t " HTTP/1.1\r\nHost: a.example\r\n" \
		"User-Agent: Pebble\r\nAccept: */*\r\n\r\n"

struct fixture {
	struct http01_server *s;
	int		 lfd;
	uint16_t	 port;
};

static int
setup(void **state)
{
	struct fixture		*f = xcalloc(1, sizeof(*f));
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->lfd == -1 || bind(f->lfd, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1 || listen(f->lfd, 16) == -1 ||
	    getsockname(f->lfd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	f->port = ntohs(sin.sin_port);
	if ((f->s = http01_server_new(f->lfd)) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	http01_server_free(f->s);
	close(f->lfd);
	free(f);
	return 0;
}

/* One turn of the parent's loop. */
static void
turn(struct http01_server *s, int timeout_ms)
{
	struct pollfd	p[HTTP01_MAX_POLLFDS];
	size_t		n = http01_pollfds(s, p, HTTP01_MAX_POLLFDS);

	assert_true(poll(p, n, http01_timeout_ms(s, timeout_ms)) >= 0);
	http01_handle(s, p, n);
}

static int
client(uint16_t port)
{
	struct sockaddr_in	sin;
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	assert_true(fd != -1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/*
 * Turns the server until the client's connection ends; what the client
 * received, NUL-terminated. -1: no end within two seconds.
 */
static ssize_t
until_closed(struct http01_server *c, int fd, char *out, size_t cap)
{
	size_t	 got = 0;
	ssize_t	 n;

	for (int i = 0; i < 400; i++) {
		turn(c, 5);
		while ((n = recv(fd, out + got, cap - 1 - got,
		    MSG_DONTWAIT)) > 0)
			got += (size_t)n;
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			out[got] = '\0';
			return (ssize_t)got;
		}
	}
	return -1;
}

static ssize_t
ask(struct fixture *f, const char *req, size_t len, char *out, size_t cap)
{
	int	 fd = client(f->port);
	ssize_t	 n;

	assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	n = until_closed(f->s, fd, out, cap);
	close(fd);
	return n;
}

static void
test_registered_token(void **state)
{
	struct fixture	*f = *state;
	char		 out[2048];
	const char	*body;

	assert_int_equal(http01_token_add(f->s, 1, TOK, KA), 0);
	assert_true(ask(f, GET(TOK), strlen(GET(TOK)), out, sizeof(out)) > 0);
	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(out, "Content-Length: 87\r\n"));
	assert_non_null(body = strstr(out, "\r\n\r\n"));
	/* Exactly the key authorization: nothing before or after it. */
	assert_string_equal(body + 4, KA);
}

static void
test_unknown_token_and_other_paths(void **state)
{
	struct fixture	*f = *state;
	char		 out[2048];
	const char	*other = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";

	assert_int_equal(http01_token_add(f->s, 1, TOK, KA), 0);
	assert_true(ask(f, GET("unknownToken"), strlen(GET("unknownToken")),
	    out, sizeof(out)) > 0);
	assert_true(strncmp(out, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	assert_null(strstr(out, THUMB));
	assert_true(ask(f, other, strlen(other), out, sizeof(out)) > 0);
	assert_true(strncmp(out, "HTTP/1.1 404 ", 13) == 0);
}

/* A request in pieces, as a slow client sends it, is still answered. */
static void
test_request_in_pieces(void **state)
{
	struct fixture	*f = *state;
	char		 out[2048];
	const char	*req = GET(TOK);
	int		 fd;

	assert_int_equal(http01_token_add(f->s, 1, TOK, KA), 0);
	fd = client(f->port);
	assert_int_equal(send(fd, req, 20, 0), 20);
	for (int i = 0; i < 5; i++)
		turn(f->s, 5);
	assert_int_equal(send(fd, req + 20, strlen(req) - 20, 0),
	    (ssize_t)(strlen(req) - 20));
	assert_true(until_closed(f->s, fd, out, sizeof(out)) > 0);
	close(fd);
	assert_non_null(strstr(out, "\r\n\r\n" KA));
}

static void
test_token_del(void **state)
{
	struct fixture	*f = *state;
	char		 out[2048];
	struct pollfd	 w[HTTP01_MAX_POLLFDS];

	assert_int_equal(http01_token_add(f->s, 1, TOK, KA), 0);
	assert_int_equal(http01_token_add(f->s, 1, "second", "second." THUMB),
	    0);
	assert_int_equal(http01_token_del(f->s, 1, TOK), 0);
	assert_int_equal(http01_token_del(f->s, 1, TOK), -1);	/* once only */
	assert_int_equal(http01_token_del(f->s, 1, "never-added"), -1);
	assert_int_equal(http01_token_del(f->s, 2, "second"), -1);	/* not its */
	assert_true(ask(f, GET(TOK), strlen(GET(TOK)), out, sizeof(out)) > 0);
	assert_true(strncmp(out, "HTTP/1.1 404 ", 13) == 0);
	assert_int_equal(http01_token_del(f->s, 1, "second"), 0);
	assert_int_equal(http01_pollfds(f->s, w, HTTP01_MAX_POLLFDS), 0);
	/* Two jobs on one authorization: answered until both are done. */
	assert_int_equal(http01_token_add(f->s, 1, TOK, KA), 0);
	assert_int_equal(http01_token_add(f->s, 2, TOK, KA), 0);
	assert_int_equal(http01_token_del(f->s, 1, TOK), 0);
	assert_true(ask(f, GET(TOK), strlen(GET(TOK)), out, sizeof(out)) > 0);
	assert_true(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
	/* A job that ends takes its tokens along. */
	assert_int_equal(http01_token_add(f->s, 2, "third", "third." THUMB), 0);
	assert_int_equal(http01_job_ended(f->s, 2), 2);
	assert_int_equal(http01_tokens(f->s), 0);
	assert_int_equal(http01_pollfds(f->s, w, HTTP01_MAX_POLLFDS), 0);
	/* Not even a 404: the port is not served without a token. */
	assert_int_equal(ask(f, GET(TOK), strlen(GET(TOK)), out, sizeof(out)),
	    -1);
}

/* "Answered only while an order needs it": no token, no listener. */
static void
test_listener_polled_only_with_tokens(void **state)
{
	struct fixture		*f = *state;
	struct pollfd		 w[HTTP01_MAX_POLLFDS];

	assert_int_equal(http01_pollfds(f->s, w, HTTP01_MAX_POLLFDS), 0);
	assert_int_equal(http01_token_add(f->s, 1, TOK, KA), 0);
	assert_int_equal(http01_pollfds(f->s, w, HTTP01_MAX_POLLFDS), 1);
	assert_int_equal(w[0].fd, f->lfd);
	assert_int_equal(w[0].events, POLLIN);
	/* No room, no entry. */
	assert_int_equal(http01_pollfds(f->s, w, 0), 0);
	http01_token_del(f->s, 1, TOK);
	assert_int_equal(http01_pollfds(f->s, w, HTTP01_MAX_POLLFDS), 0);
	/* Nothing open, nothing due: the caller's own timeout stands. */
	assert_int_equal(http01_timeout_ms(f->s, 1000), 1000);
}

/* Past the cap: closed, never answered 200, whatever follows. */
static void
test_oversized_request(void **state)
{
	struct fixture	*f = *state;
	char		 req[ACME_HTTP01_MAX_REQUEST + 1024], out[2048];
	size_t		 n = strlen(GET(TOK)) - 2;

	assert_int_equal(http01_token_add(f->s, 1, TOK, KA), 0);
	/* The request line of a good request, then headers without end. */
	memcpy(req, GET(TOK), n);
	memset(req + n, 'a', sizeof(req) - n - 4);
	memcpy(req + sizeof(req) - 4, "\r\n\r\n", 4);
	assert_true(ask(f, req, sizeof(req), out, sizeof(out)) >= 0);
	assert_null(strstr(out, "200 OK"));
	assert_null(strstr(out, THUMB));
}

static void
test_connection_cap(void **state)
{
	struct fixture		*f = *state;
	struct pollfd		 w[HTTP01_MAX_POLLFDS];
	int			 fds[HTTP01_MAX_CONNS], extra, t;
	char			 out[256];

	assert_int_equal(http01_token_add(f->s, 1, TOK, KA), 0);
	for (int i = 0; i < HTTP01_MAX_CONNS; i++) {
		fds[i] = client(f->port);
		turn(f->s, 50);
	}
	assert_int_equal(http01_pollfds(f->s, w, HTTP01_MAX_POLLFDS),
	    1 + HTTP01_MAX_CONNS);
	/* Each one has its deadline: the loop's timeout comes down to it. */
	t = http01_timeout_ms(f->s, 60000);
	assert_true(t > 0 && t <= HTTP01_CONN_MS);
	/* One more: accepted and closed at once, not queued. */
	extra = client(f->port);
	assert_true(until_closed(f->s, extra, out, sizeof(out)) == 0);
	close(extra);
	assert_int_equal(http01_pollfds(f->s, w, HTTP01_MAX_POLLFDS),
	    1 + HTTP01_MAX_CONNS);
	/* The ones inside are still served. */
	assert_int_equal(send(fds[0], GET(TOK), strlen(GET(TOK)), 0),
	    (ssize_t)strlen(GET(TOK)));
	assert_true(until_closed(f->s, fds[0], out, sizeof(out)) > 0);
	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	for (int i = 0; i < HTTP01_MAX_CONNS; i++)
		close(fds[i]);
}

static void
test_token_table(void **state)
{
	struct fixture	*f = *state;
	char		 tok[16], ka[80];

	assert_int_equal(http01_token_add(NULL, 1, TOK, KA), -1);
	assert_int_equal(http01_token_add(f->s, 0, TOK, KA), -1);	/* no job */
	assert_int_equal(http01_token_add(f->s, 1, "", "." THUMB), -1);
	assert_int_equal(http01_token_add(f->s, 1, "a/b", "a/b." THUMB), -1);
	assert_int_equal(http01_token_add(f->s, 1, TOK, "other." THUMB), -1);
	assert_int_equal(http01_token_add(f->s, 1, TOK, TOK ".short"), -1);
	assert_int_equal(http01_token_add(f->s, 1, TOK, KA "\r\nX: y"), -1);
	assert_int_equal(http01_token_add(f->s, 1, TOK, NULL), -1);
	/* At most HTTP01_MAX_PER_JOB for one job. */
	for (int i = 0; i < HTTP01_MAX_PER_JOB; i++) {
		snprintf(tok, sizeof(tok), "j%d", i);
		snprintf(ka, sizeof(ka), "%s.%s", tok, THUMB);
		assert_int_equal(http01_token_add(f->s, 7, tok, ka), 0);
	}
	assert_int_equal(http01_token_add(f->s, 7, TOK, KA), -1);
	assert_int_equal(http01_job_ended(f->s, 7), HTTP01_MAX_PER_JOB);
	/* At most HTTP01_MAX_TOKENS in all. */
	for (int i = 0; i < HTTP01_MAX_TOKENS; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		snprintf(ka, sizeof(ka), "%s.%s", tok, THUMB);
		assert_int_equal(http01_token_add(f->s, (uint32_t)(100 + i), tok,
		    ka), 0);
	}
	assert_int_equal(http01_token_add(f->s, 1, TOK, KA), -1);
	/* The same registration again: nothing new, fine even when full. */
	assert_int_equal(http01_token_add(f->s, 103, "t3", "t3." THUMB), 0);
	assert_int_equal(http01_token_del(f->s, 103, "t3"), 0);
	assert_int_equal(http01_token_add(f->s, 1, TOK, KA), 0);
	assert_int_equal(http01_tokens(f->s), HTTP01_MAX_TOKENS);
}

static void
test_fd_check(void **state)
{
	struct fixture	*f = *state;
	int		 udp = socket(AF_INET, SOCK_DGRAM, 0);
	int		 tcp = socket(AF_INET, SOCK_STREAM, 0);
	int		 sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_true(http01_fd_ok(f->lfd));
	assert_false(http01_fd_ok(udp));
	assert_false(http01_fd_ok(tcp));	/* not listening */
	assert_false(http01_fd_ok(sp[0]));
	assert_false(http01_fd_ok(-1));
	assert_null(http01_server_new(tcp));
	close(udp);
	close(tcp);
	close(sp[0]);
	close(sp[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registered_token, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_unknown_token_and_other_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_in_pieces, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_del, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_listener_polled_only_with_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_request, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_connection_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_table, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fd_check, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
