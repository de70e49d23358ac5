/*
 * child.h - state of the connector child (hsmagent-connector).
 *
 * The child is exec'd by the parent with the IPC socket on fd 3. It
 * receives its whole configuration over IPC, preloads everything that
 * would otherwise be loaded lazily, enters the sandbox, and then runs
 * jobs with libcurl. It never sees the PIN, the key or the state.
 */
#ifndef HSMAGENT_CHILD_H
#define HSMAGENT_CHILD_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <openssl/x509.h>

#include "ipc.h"
#include "log.h"
#include "scheme.h"

/* CHILD_IPC_FD and IPC_MAX_JOBS: ipc.h, shared with the parent. */
#define CHILD_MAX_JOBS		IPC_MAX_JOBS
#define CHILD_MAX_DEFERRED	(2 * IPC_MAX_JOBS)	/* jobs + selftests, with room */

struct ca_xfer;
struct http01_server;

struct deferred {
	uint8_t		*dgram;
	size_t		 len;
};

struct connector_type;

/* One configured CA connector, as the child keeps it between its jobs. */
struct ca_connector {
	struct ipc_cfg_connector	 conf;
	const struct connector_type	*type;
	void				*state;	/* the type's own (state_new) */
	char				*ca_chain;	/* its CA's, last fetched */
	int64_t				 ca_chain_at;	/* when (time(NULL)) */
};

struct child {
	int			 fd;
	uint8_t			*rx;		/* IPC_MAX_DGRAM + 1 */
	uint32_t		 next_req;
	struct ipc_cfg_done	 cfg;
	/* Messages that arrived while a signature was awaited. */
	struct deferred		 deferred[CHILD_MAX_DEFERRED];
	size_t			 ndeferred;
	/* TLS material, public only. */
	X509_STORE		*store;
	X509			*leaf;
	STACK_OF(X509)		*chain;		/* intermediates */
	/* "::" CONNECT_PLACEHOLDER ":" for every transfer (probe.c). */
	struct curl_slist	*connect_to;
	CURLM			*multi;
	size_t			 njobs;
	/* CA connectors as configured (ca_job.c). */
	struct ca_connector	 conns[IPC_MAX_CONNECTORS];
	size_t			 nconns;
	/* CA jobs waiting to send their next request (ACME polling). */
	struct ca_xfer		*later[CHILD_MAX_JOBS];
	size_t			 nlater;
	/*
	 * A connection came from the parent inside curl's perform: curl
	 * goes on with it only at its next perform, so the loop does not
	 * wait (curl's own timer would hold the handshake ~200 ms).
	 */
	int			 kick;
};

/* child_ipc.c */
void	child_send(struct child *, uint16_t type, uint32_t id,
	    const struct wbuf *);
void	child_log_sink(enum log_level, const char *);
/* From now on log_*() lines travel to the parent. */
void	child_log_attach(struct child *);
int	child_sign(void *arg, uint32_t job_id, int tls13, enum sign_scheme,
	    const uint8_t *data, size_t len, uint8_t *sig, size_t *siglen,
	    size_t cap);
/*
 * One ACME JWS signature by the parent (IPC_JWS_SIGN_REQUEST): input is
 * the JWS signing input for the operation op, which the parent checks
 * the payload against. es256: the account key is P-256, and the DER
 * answer is returned as r||s. 0 with sig set, -2 if the parent refused
 * (its policy), or -1 (logged).
 */
/*
 * Tells the parent that job job_id waits on the http-01 token (add 1) or
 * no longer (add 0): the parent answers it on the port it holds, with
 * the key authorization of the account key. No answer comes back.
 */
void	child_http01_token(struct child *, uint32_t job_id, int add,
	    const char *token);
int	child_connect(struct child *, uint32_t job_id, const char *host,
	    uint16_t port, char *err, size_t errlen);
int	child_sign_jws(struct child *, uint32_t job_id, enum ipc_jws_kind,
	    enum ipc_acme_op op, int es256, const uint8_t *input, size_t len,
	    uint8_t *sig, size_t *siglen, size_t cap);
/* Blocking receive of one datagram with a deadline (ms); 1, 0 timeout. */
int	child_recv_wait(struct child *, struct ipc_msg *, int timeout_ms);
/* Copy of a work message for later (during a signature wait). */
void	child_defer(struct child *, const struct ipc_msg *);
__attribute__((noreturn)) void child_violation(const char *what);

/* tls_setup.c */
int	tls_load_trust(struct child *, const uint8_t *pem, size_t len);
int	tls_load_chain(struct child *, const uint8_t *pem, size_t len);
void	tls_warm_up(void);
/* CURLOPT_SSL_CTX_FUNCTION: installs trust, chain and the proxy key. */
CURLcode tls_ctx_callback(CURL *, void *sslctx, void *job);

/* probe.c */
int	probe_start(struct child *, uint32_t job_id, const char *url,
	    int allow_tls12);
void	probe_done(struct child *, CURL *easy, CURLcode result);

#endif
