/*
 * connector.h - CA connectors inside the sandboxed child.
 *
 * A connector type turns one CA job (enroll or look up an order by the
 * agent's reference) into an HTTPS request, and the CA's response into
 * an outcome. ca_job.c does the rest the same way for every CA: the
 * transfer (mTLS with the proxy key), size caps, and the checks on an
 * issued certificate (its key is the CSR's; the serial is read from it).
 *
 * The product's types are listed in connectors/registry.c; a test build
 * links tests/ connectors instead (the product ships no fake CA).
 */
#ifndef HSMAGENT_CONNECTOR_H
#define HSMAGENT_CONNECTOR_H

#include <curl/curl.h>

#include "ipc.h"
#include "probe_job.h"

#define CA_MAX_RESPONSE		(256 * 1024)	/* bytes read from a CA */

struct ca_xfer;
struct ca_connector;

struct connector_type {
	const char	*name;
	/* Lookups need the CA's handle (no search by client reference). */
	int		 lookup_needs_handle;
	/* prepare() and parse() handle CA_VALIDATE (else it is skipped). */
	int		 can_validate;
	/*
	 * Request: URL, method, headers, body on x->t.easy. 0, or -1 (with
	 * x->prep_error set when the order itself cannot be expressed: the
	 * job is then rejected with it, not retried).
	 */
	int		(*prepare)(struct ca_xfer *);
	/*
	 * Response: fills r (outcome, handle, message, retry_after_s) and,
	 * for CA_ISSUED, x->cert and x->chain (malloc'd PEM text).
	 */
	void		(*parse)(struct ca_xfer *, long http,
			    struct ipc_ca_result *r);
	/*
	 * Optional, for CAs whose issued answer may lack the chain: a GET
	 * for the CA's own certificate and chain on x->t.easy, and the PEM
	 * (malloc'd) from its 200 answer, or NULL.
	 */
	int		(*prepare_chain)(struct ca_xfer *);
	char	       *(*parse_chain)(const char *body, size_t len);
	/*
	 * Optional, for protocols of several requests per job (ACME): the
	 * outcome of a transfer that got no answer, when the type knows
	 * better than the rule for one-request types (it may set
	 * r->handle), and its per-job state (x->state), freed with the job.
	 */
	uint8_t		(*on_failure)(struct ca_xfer *, struct ipc_ca_result *r);
	void		(*free_state)(struct ca_xfer *);
	/*
	 * Optional: what the type keeps for one configured connector
	 * between its jobs (ACME: the directory, the account URL, unused
	 * nonces), made when the connector is configured, reached from a
	 * job as x->conn->state.
	 */
	void	       *(*conn_state_new)(const struct ipc_cfg_connector *);
};

/* How long the child keeps a CA chain fetched with prepare_chain. */
#define CA_CHAIN_CACHE_S	3600

struct ca_xfer {
	struct probe_job		 t;	/* first: see probe_job.h */
	uint8_t				 action;
	char				 ref[IPC_ORDER_REF_LEN + 1];
	char				 profile[IPC_MAX_NAME + 1];
	uint32_t			 validity_days;
	char				 serial[IPC_MAX_SERIAL + 1];	/* revoke */
	char				 handle[IPC_MAX_HANDLE + 1];
	uint8_t				 reason;
	char				*csr;		/* PEM, NUL-terminated */
	char				*sans_json;	/* JSON array text */
	const struct ipc_cfg_connector	*conf;		/* &conn->conf */
	const struct connector_type	*type;		/* conn->type */
	struct ca_connector		*conn;		/* child.h */
	struct curl_slist		*headers;
	char				*post;		/* request body */
	long				 retry_after;	/* seconds, or -1 */
	char				*cert, *chain;	/* from parse() */
	char				 prep_error[256];
	/* IPC_AUTH_PASSWORD: the password for this job only, wiped at its end. */
	char				*secret;
	size_t				 secret_len;
	/* Second stage: issued without a chain, the CA's is being read. */
	int				 fetching_chain;
	struct ipc_ca_result		 issued;	/* sent when it ends */
	/* ACME: the account's public JWK, from the job. */
	char				 account_jwk[IPC_MAX_STR + 1];
	/*
	 * Several requests per job: parse() sets next (and next_delay_ms,
	 * for polling) instead of an outcome, and prepare() is called again
	 * on a fresh transfer for the next request.
	 */
	int				 next;
	unsigned			 next_delay_ms;
	int64_t				 due_ms;	/* monotime_ms() */
	void				*state;
};

/* registry.c (or a test registry): NULL-terminated. */
extern const struct connector_type *const connector_types[];

/* ca_job.c */
struct child;
/* Appends "name: value" to x->headers, leaving no copy behind. 0 or -1. */
int	ca_add_header(struct ca_xfer *, const char *name, const char *value);
int	ca_configure(struct child *, const struct ipc_cfg_connector *);
void	ca_start(struct child *, uint32_t job_id, const struct ipc_job_ca *);
void	ca_done(struct child *, struct ca_xfer *, CURLcode);
/* Delayed requests (x->next_delay_ms): ms until the first is due, at most max. */
int	ca_wait_ms(struct child *, int max);
/* Starts the delayed requests that are due. */
void	ca_run_due(struct child *);

#endif
