/*
 * acme_http01_server.h - the http-01 challenge responder (RFC 8555
 * §8.3) in the connector child.
 *
 * The parent binds the port and hands the listening socket over as fd
 * 4 (cfg-done says so); the child cannot bind anything. The ACME
 * connector registers the token of each authorization that waits on
 * http-01 and removes it when the authorization is decided; the port is
 * polled only while a token is registered. Anyone who can reach the
 * port may ask: the answer is the key authorization of a registered
 * token (public: the CA publishes the token, the thumbprint is of a
 * public key), 404 for anything else. Caps: HTTP01_MAX_TOKENS tokens,
 * HTTP01_MAX_CONNS connections (one more is accepted and closed at
 * once, so nothing queues behind the cap), ACME_HTTP01_MAX_REQUEST
 * bytes and HTTP01_CONN_MS per connection.
 */
#ifndef HSMAGENT_ACME_HTTP01_SERVER_H
#define HSMAGENT_ACME_HTTP01_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#define HTTP01_MAX_TOKENS	64
#define HTTP01_MAX_CONNS	16
#define HTTP01_CONN_MS		5000	/* accept to answer, per connection */
/* Waitfds http01_waitfds() may append: the listener and each connection. */
#define HTTP01_MAX_WAITFDS	(1 + HTTP01_MAX_CONNS)

struct child;

/*
 * Is fd a listening TCP socket (IPv4 or IPv6)? The child's check of fd
 * 4 before it trusts cfg-done's http01 flag.
 */
int	http01_fd_ok(int fd);
/*
 * Takes fd (a non-blocking listening TCP socket: fd 4 in the child,
 * the test's own in unit tests) as the listener. 0, or -1 if it is not
 * one.
 */
int	http01_init(struct child *, int fd);
/* Closes the connections (not the listener, which is the caller's). */
void	http01_free(struct child *);

/* Is there a listener (the parent opened one)? */
int	http01_available(const struct child *);
/*
 * While an authorization waits on http-01: 0, or -1 (no listener, table
 * full, bad token). key_authorization must be "TOKEN.THUMBPRINT"
 * (acme_key_authorization). Two jobs may wait on one authorization (a
 * CA may give two orders for a name the same pending one): a token is
 * counted, answered until each add has had its del.
 */
int	http01_token_add(struct child *, const char *token,
	    const char *key_authorization);
void	http01_token_del(struct child *, const char *token);

/*
 * For the main loop's curl_multi_poll: appends the listener (only while
 * a token is registered) and the open connections to w (room entries at
 * most, HTTP01_MAX_WAITFDS is enough); returns how many.
 */
unsigned http01_waitfds(struct child *, struct curl_waitfd *w,
	    unsigned room);
/* After the poll: accepts, reads and answers what w's revents say. */
void	http01_handle(struct child *, const struct curl_waitfd *w,
	    unsigned n);
/* max_ms, or less: the time to the next connection deadline. */
int	http01_timeout_ms(const struct child *, int max_ms);

#endif
