/*
 * acme_http01.c - the http-01 answer; see acme_http01.h.
 */
#include <stdio.h>
#include <string.h>

#include "acme_http01.h"

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
token_ok(const char *t, size_t n)
{
	return n > 0 && n <= ACME_HTTP01_MAX_TOKEN &&
	    strspn(t, b64url_chars) >= n;
}

enum acme_http01_parse
acme_http01_parse(const char *buf, size_t len, char *token)
{
	const char	*eol, *sp1, *sp2, *path, *end = NULL;
	size_t		 plen, pl = sizeof(ACME_HTTP01_PREFIX) - 1, i;

	token[0] = '\0';
	if (len > ACME_HTTP01_MAX_REQUEST)
		return HTTP01_BAD;
	/* The end of the headers: the first empty line (CRLF or LF). */
	for (i = 0; i + 1 < len && end == NULL; i++) {
		if (buf[i] == '\0')
			return HTTP01_BAD;
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			end = buf + i;
		else if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0)
			end = buf + i;
	}
	if (end == NULL)
		return len == ACME_HTTP01_MAX_REQUEST ? HTTP01_BAD :
		    HTTP01_INCOMPLETE;
	/* Request line: METHOD SP PATH SP HTTP/1.x (end + 1 is in buf). */
	if ((eol = memchr(buf, '\n', (size_t)(end - buf) + 2)) == NULL)
		return HTTP01_BAD;
	if (eol > buf && eol[-1] == '\r')
		eol--;
	if ((sp1 = memchr(buf, ' ', (size_t)(eol - buf))) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) == NULL ||
	    (size_t)(eol - sp2 - 1) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 &&
	    memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return HTTP01_BAD;
	path = sp1 + 1;
	plen = (size_t)(sp2 - path);
	if ((size_t)(sp1 - buf) != 3 || memcmp(buf, "GET", 3) != 0 ||
	    plen <= pl || memcmp(path, ACME_HTTP01_PREFIX, pl) != 0 ||
	    !token_ok(path + pl, plen - pl))
		return HTTP01_NOT_FOUND;
	memcpy(token, path + pl, plen - pl);
	token[plen - pl] = '\0';
	return HTTP01_CHALLENGE;
}

int
acme_key_authorization(const char *token,
    const char *thumbprint, char *dst, size_t dstlen)
{
	size_t	 n = token != NULL ? strlen(token) : 0;
	int	 w;

	if (!token_ok(token, n) || strlen(thumbprint) != ACME_THUMBPRINT_LEN)
		return -1;
	w = snprintf(dst, dstlen, "%s.%s", token, thumbprint);
	return w < 0 || (size_t)w >= dstlen ? -1 : 0;
}

int
acme_http01_response(const char *body, char *dst, size_t dstlen)
{
	int	 w;

	if (body != NULL)
		w = snprintf(dst, dstlen, "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/octet-stream\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    strlen(body), body);
	else
		w = snprintf(dst, dstlen, "HTTP/1.1 404 Not Found\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n");
	return w < 0 || (size_t)w >= dstlen ? -1 : w;
}
