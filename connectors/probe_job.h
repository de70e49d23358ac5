/*
 * probe_job.h - one HTTPS request over mTLS, run by the child: the
 * probe job, and the transfer state shared with the TLS callback.
 */
#ifndef HSMAGENT_PROBE_JOB_H
#define HSMAGENT_PROBE_JOB_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "ipc.h"

/* Bytes read before a response is abandoned; IPC_MAX_BODY are kept. */
#define PROBE_MAX_READ		(1024 * 1024)
/*
 * What curl is told to connect to (TEST-NET-1, RFC 5737): it never is;
 * the socket comes from the parent, connected to the real host. Being a
 * literal, it spares curl a name lookup the sandbox does not allow.
 */
#define CONNECT_PLACEHOLDER	"192.0.2.1"

struct child;

enum transfer_kind {
	XFER_PROBE = 0,
	XFER_CA,		/* a connectors/ca_job.c transfer */
};

/*
 * One transfer. A CA job embeds this as its first member, so the TLS
 * callback and the multi loop can treat both alike.
 */
struct probe_job {
	enum transfer_kind kind;
	uint32_t	 id;
	struct child	*child;
	CURL		*easy;
	EVP_PKEY	*key;		/* proxy key tagged with id */
	uint8_t		*body;		/* body_cap bytes */
	size_t		 body_len;
	size_t		 body_cap;
	size_t		 read_total;
	int		 truncated;
	int		 oversized;	/* past PROBE_MAX_READ: abandoned */
	int		 allow_tls12;	/* 0: TLS 1.3 only */
	/* The proxy, when the connector has one: all connections go there. */
	char		 proxy_host[IPC_MAX_HOST + 1];
	uint16_t	 proxy_port;
	char		 connect_error[IPC_MAX_STR];	/* from the parent */
	char		 tls_version[32];
	char		 errbuf[CURL_ERROR_SIZE];
};

/*
 * Sets the options every transfer shares (https only, TLS >= 1.2, our
 * trust store and proxy key, pinned addresses, no proxy from the
 * environment, timeouts, capped body) on j->easy for url. A proxy, if
 * any, is split into j->proxy_host and j->proxy_port first. 0 or -1.
 */
int	transfer_setup(struct child *, struct probe_job *, const char *url);
/*
 * What went wrong with a transfer, in words: curl's, except where curl's
 * would mislead (an answer over the cap is no "failure writing output";
 * a server without TLS 1.3 is told apart, with the key that allows 1.2).
 */
void	transfer_error(const struct probe_job *, CURLcode, char *buf,
	    size_t len);

#endif
