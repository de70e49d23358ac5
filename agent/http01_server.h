/*
 * http01_server.h - the http-01 challenge responder (RFC 8555 §8.3), in
 * the parent.
 *
 * The parent binds the port at start (http01_listen.c) and answers it
 * itself: the connector child never holds the socket. A token is
 * answered only while the parent has registered it for an ACME job in
 * flight that asked for it (IPC_HTTP01_TOKEN), and the answer is the key
 * authorization the parent builds from the account key's own thumbprint:
 * a hijacked child can make the port answer a token of its choosing, but
 * only with our account's thumbprint, which validates nothing for an
 * account of the attacker's. The port is polled only while a token is
 * registered. Anyone who can reach it may ask: the answer is the key
 * authorization of a registered token (public: the CA publishes the
 * token, the thumbprint is of a public key), 404 for anything else, and
 * requests are parsed by acme_http01_parse (fuzzed) within a small cap.
 * Caps: HTTP01_MAX_TOKENS registrations, HTTP01_MAX_CONNS connections
 * (one more is accepted and closed at once, so nothing queues behind the
 * cap), ACME_HTTP01_MAX_REQUEST bytes and HTTP01_CONN_MS per connection.
 */
#ifndef HSMAGENT_HTTP01_SERVER_H
#define HSMAGENT_HTTP01_SERVER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP01_MAX_TOKENS	64
#define HTTP01_MAX_PER_JOB	8	/* a job answers one authorization at a time */
#define HTTP01_MAX_CONNS	16
#define HTTP01_CONN_MS		5000	/* accept to answer, per connection */
/* Pollfds http01_pollfds() may fill: the listener and each connection. */
#define HTTP01_MAX_POLLFDS	(1 + HTTP01_MAX_CONNS)

struct http01_server;

/* Is fd a listening TCP socket (IPv4 or IPv6)? */
int	http01_fd_ok(int fd);
/*
 * A responder on fd (a non-blocking listening TCP socket, the caller's
 * to close), or NULL if it is not one.
 */
struct http01_server *http01_server_new(int fd);
/* Closes the connections (not the listener). NULL is fine. */
void	http01_server_free(struct http01_server *);

/*
 * Registers token for job with its key authorization ("TOKEN.THUMBPRINT",
 * acme_key_authorization). 0, or -1: bad token or key authorization,
 * table full, or the job has HTTP01_MAX_PER_JOB already. Two jobs may
 * register one token (two orders may wait on one authorization): it is
 * answered while any registration stands.
 */
int	http01_token_add(struct http01_server *, uint32_t job,
	    const char *token, const char *key_authorization);
/* Drops job's registration of token (0), or -1 if it had none. */
int	http01_token_del(struct http01_server *, uint32_t job,
	    const char *token);
/* Drops every registration of job (it ended); how many there were. */
size_t	http01_job_ended(struct http01_server *, uint32_t job);
/* Registrations standing (for health and tests). */
size_t	http01_tokens(const struct http01_server *);

/*
 * For the main loop's poll(): the listener (only while a token is
 * registered) and the open connections, at most room; how many.
 */
size_t	http01_pollfds(struct http01_server *, struct pollfd *p, size_t room);
/* After the poll: accepts, reads and answers what p's revents say. */
void	http01_handle(struct http01_server *, const struct pollfd *p,
	    size_t n);
/* max_ms, or less: the time to the next connection deadline. */
int	http01_timeout_ms(const struct http01_server *, int max_ms);

#endif
