/*
 * resolve.c - the host and port of the URLs the parent connects to on
 * the child's behalf (connect_broker.c), split once from the
 * configuration. Names are resolved when a connection is made
 * (resolver.c), never by the child.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"

/* Splits an https:// URL already validated by the config parser. */
int
url_split_https(const char *url, char *host, size_t hostlen, uint16_t *port,
    int *is_ip)
{
	return url_split(url, "https://", 443, host, hostlen, port, is_ip);
}

/* scheme is "https://" or "http://" (a proxy); dport its default port. */
int
url_split(const char *url, const char *scheme, uint16_t dport, char *host,
    size_t hostlen, uint16_t *port, int *is_ip)
{
	const char	*h, *end;
	size_t		 n;
	unsigned char	 tmp[16];

	if (strncmp(url, scheme, strlen(scheme)) != 0)
		return -1;
	h = url + strlen(scheme);
	*port = dport;
	if (*h == '[') {		/* IPv6 literal */
		if ((end = strchr(h, ']')) == NULL)
			return -1;
		n = (size_t)(end - h - 1);
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, h + 1, n);
		host[n] = '\0';
		end++;
	} else {
		end = h + strcspn(h, ":/?");
		n = (size_t)(end - h);
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, h, n);
		host[n] = '\0';
	}
	if (*end == ':') {
		char *e;
		unsigned long p = strtoul(end + 1, &e, 10);

		if (e == end + 1 || p == 0 || p > 65535 ||
		    (*e != '\0' && *e != '/' && *e != '?'))
			return -1;
		*port = (uint16_t)p;
	}
	*is_ip = inet_pton(AF_INET, host, tmp) == 1 ||
	    inet_pton(AF_INET6, host, tmp) == 1;
	return 0;
}
