/*
 * tls_server.c - the local TLS server of handshake_ratio_*: one process,
 * one connection at a time, a full handshake each time (no session
 * cache, no tickets), the client certificate required and verified
 * against CA_FILE, and the smallest HTTP answer. It costs the clients
 * little besides the handshake, so the ratio shows the clients, not the
 * server (openssl s_server -www builds a page per request).
 *
 * usage: tls-server PORT CERT KEY CA_FILE     (127.0.0.1 only)
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"

static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
    "Content-Length: 3\r\nConnection: close\r\n\r\nok\n";

static int
listen_on(int port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 128) == -1)
		fatal("listen on 127.0.0.1:%d", port);
	return fd;
}

/* Reads until the end of the request head (or EOF, or 16 KiB). */
static int
read_request(SSL *ssl)
{
	char	buf[16384];
	size_t	len = 0;
	int	n;

	while (len < sizeof(buf) - 1) {
		if ((n = SSL_read(ssl, buf + len, (int)(sizeof(buf) - 1 -
		    len))) <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return 0;
	}
	return -1;
}

int
main(int argc, char *argv[])
{
	SSL_CTX	*ctx;
	int	 lfd;

	if (argc != 5) {
		fprintf(stderr, "usage: tls-server PORT CERT KEY CA_FILE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, argv[4], NULL) != 1)
		fatalx("cannot set up TLS with %s and %s", argv[2], argv[3]);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	lfd = listen_on(atoi(argv[1]));
	for (;;) {
		SSL	*ssl;
		int	 fd = accept(lfd, NULL, NULL);

		if (fd == -1)
			continue;
		if ((ssl = SSL_new(ctx)) != NULL && SSL_set_fd(ssl, fd) == 1 &&
		    SSL_accept(ssl) == 1 && read_request(ssl) == 0 &&
		    SSL_write(ssl, answer, sizeof(answer) - 1) > 0)
			SSL_shutdown(ssl);
		ERR_clear_error();
		SSL_free(ssl);
		close(fd);
	}
}
