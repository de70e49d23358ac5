/*
 * resolve.c - name resolution for the child, done by the parent.
 *
 * The sandboxed child cannot read /etc/hosts or resolv.conf, and curl's
 * threaded resolver would need threads it is not allowed. So the parent
 * resolves the configured CA hosts before each child starts (a restarted
 * child gets fresh answers) and hands the addresses over; the child pins
 * them with CURLOPT_RESOLVE, keeping the name for SNI and verification.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
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

/* Sends the addresses of host to the child for CURLOPT_RESOLVE. */
static int
resolve_host(struct agent *a, const char *host, uint16_t port)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	int		 rc, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		/* The child starts anyway; its jobs fail with "cannot resolve". */
		log_warn("resolve: %s: %s", host, gai_strerror(rc));
		return 0;
	}
	for (ai = res; ai != NULL && n < IPC_MAX_RESOLVE; ai = ai->ai_next) {
		struct ipc_cfg_resolve	 r;
		struct wbuf		 b;
		const void		*addr;
		int			 sent;

		if (ai->ai_family == AF_INET)
			addr = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			addr = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		memset(&r, 0, sizeof(r));
		snprintf(r.host, sizeof(r.host), "%s", host);
		r.port = port;
		if (inet_ntop(ai->ai_family, addr, r.addr, sizeof(r.addr)) == NULL)
			continue;
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		ipc_enc_cfg_resolve(&b, &r);
		sent = child_send(a, IPC_CFG_RESOLVE, 0, &b);
		wbuf_free(&b);
		if (sent == -1) {
			freeaddrinfo(res);
			return -1;
		}
		n++;
	}
	freeaddrinfo(res);
	log_debug("resolve: %s: %d addresses for the child", host, n);
	return 0;
}

/*
 * Names are resolved here, before each child starts, because the child
 * can read neither /etc/hosts nor resolv.conf: the probe host and every
 * connector's host.
 */
int
resolve_send(struct agent *a)
{
	if (a->probe_host[0] != '\0' && !a->probe_host_is_ip &&
	    resolve_host(a, a->probe_host, a->probe_port) == -1)
		return -1;
	for (size_t i = 0; i < a->cfg->nconnectors; i++) {
		const struct ca_target *t = &a->ca_targets[i];

		if (!t->is_ip && resolve_host(a, t->host, t->port) == -1)
			return -1;
		if (t->proxy_port != 0 && !t->proxy_is_ip &&
		    resolve_host(a, t->proxy_host, t->proxy_port) == -1)
			return -1;
	}
	return 0;
}
