/*
 * acme_http01.h - the http-01 challenge answer (RFC 8555 §8.3) as pure
 * functions: the child reads a request from the CA's validation server
 * on the listening socket the parent opened before the sandbox, and
 * answers with the key authorization of a token an order is waiting on.
 *
 * Requests come from the network, from anyone who can reach the port:
 * only "GET /.well-known/acme-challenge/TOKEN HTTP/1.x" with a
 * base64url token is understood, within a small cap; the headers are
 * read to their end and otherwise ignored (RFC 8555 §8.3: the Host is
 * the identifier, the server follows no redirect we would send).
 */
#ifndef HSMAGENT_ACME_HTTP01_H
#define HSMAGENT_ACME_HTTP01_H

#include <stddef.h>

#include "acme_jws.h"

#define ACME_HTTP01_MAX_REQUEST	4096	/* request line and headers */
#define ACME_HTTP01_PREFIX	"/.well-known/acme-challenge/"
#define ACME_HTTP01_MAX_TOKEN	256

enum acme_http01_parse {
	HTTP01_INCOMPLETE = 0,	/* no blank line yet: read more */
	HTTP01_CHALLENGE,	/* a challenge path: token set */
	HTTP01_NOT_FOUND,	/* a well-formed request for something else */
	HTTP01_BAD,		/* not HTTP/1.x, or over the cap: close */
};

/*
 * Classifies the bytes received so far on one connection. token has
 * room for ACME_HTTP01_MAX_TOKEN + 1.
 */
enum acme_http01_parse acme_http01_parse(const char *buf, size_t len,
	    char *token);

/*
 * The key authorization "TOKEN.THUMBPRINT" (§8.1) into dst; -1 if the
 * token is not base64url, the thumbprint not ACME_THUMBPRINT_LEN
 * characters (acme_jwk_thumbprint), or dst too small.
 */
int	acme_key_authorization(const char *token, const char *thumbprint,
	    char *dst, size_t dstlen);

/*
 * A complete HTTP/1.1 response (status 200 with body, or 404 with
 * none), "Connection: close", into dst; its length, or -1 if it does
 * not fit.
 */
int	acme_http01_response(const char *body, char *dst, size_t dstlen);

#endif
