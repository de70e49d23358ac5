/*
 * http01_listen.c - the http-01 challenge port (RFC 8555 §8.3), bound
 * by the parent at start.
 *
 * Port 80 needs privileges the child does not have, and what answers
 * must not be the process that talks to the CA: so the parent binds once,
 * at start, and answers it itself (http01_server.c), with the tokens the
 * ACME jobs in flight named and the key authorization of the account key
 * it holds. The child never holds the socket.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

#define HTTP01_BACKLOG	16	/* = the responder's connection cap */

/* The first ACME connector that names the address, for messages. */
static const char *
http01_owner(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nconnectors; i++)
		if (cfg->connectors[i].http01_listen != NULL)
			return cfg->connectors[i].name;
	return "?";
}

int
http01_listen_open(struct agent *a, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*addr = a->cfg->http01_listen;
	const char		*step = "socket";
	int			 fd = -1, on = 1, e;

	a->http01_fd = -1;
	if (addr == NULL)
		return 0;
	if (config_listen_addr(addr, &ss, &sslen) == -1) {
		e = EINVAL;
		goto fail;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		goto bad;
	step = "SO_REUSEADDR";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto bad;
	/*
	 * No IPV6_V6ONLY of our own: "[::]:80" takes IPv4 too where the
	 * system's default allows (net.ipv6.bindv6only = 0), which is what
	 * one listener for a name with A and AAAA records needs.
	 */
	step = "bind";
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		goto bad;
	step = "listen";
	if (listen(fd, HTTP01_BACKLOG) == -1)
		goto bad;
	a->http01_fd = fd;
	log_info("http-01: listening on %s for the ACME connectors", addr);
	return 0;
 bad:
	e = errno;
 fail:
	if (fd != -1)
		close(fd);
	snprintf(err, errlen, "[connector %s] http01_listen %s: %s: %s",
	    http01_owner(a->cfg), addr, step, strerror(e));
	return -1;
}

void
http01_listen_close(struct agent *a)
{
	if (a->http01_fd != -1)
		close(a->http01_fd);
	a->http01_fd = -1;
}
