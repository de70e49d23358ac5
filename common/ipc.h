/*
 * ipc.h - messages between hsmagentd (parent) and its connector child.
 *
 * Transport: socketpair(AF_UNIX, SOCK_SEQPACKET); one message per
 * datagram, so framing is the kernel's and a short read cannot happen.
 * Datagram = 12-byte header (u16 type, u16 zero, u32 id, u32 payload
 * length, big-endian) + payload. The payload length must equal what was
 * received; each payload is decoded field by field and must be consumed
 * exactly. Anything else is a protocol violation: the parent kills the
 * child, the child exits.
 *
 * Types below 100 travel parent -> child, 100 and up child -> parent.
 * "id" is the job id for jobs and results, the request id for signatures.
 */
#ifndef HSMAGENT_IPC_H
#define HSMAGENT_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IPC_HDR_LEN		12
/*
 * The child's exit statuses, named once for both sides of the wall: the
 * child exits with them, the parent's supervisor reads them.
 *  - CHILD_EXIT_CONFIG: it refuses its configuration (a connector type
 *    it does not have): a restart would refuse it again, so the parent
 *    stops instead of restarting it (sysexits.h EX_CONFIG).
 */
#define CHILD_EXIT_PARENT_GONE	0	/* the parent closed the socket */
#define CHILD_EXIT_SETUP	1	/* trust, chain or sandbox set-up failed */
#define CHILD_EXIT_PROTOCOL	2	/* the parent broke the protocol */
#define CHILD_EXIT_USAGE	64	/* not started by hsmagentd (EX_USAGE) */
#define CHILD_EXIT_CONFIG	78	/* configuration refused (EX_CONFIG) */

/*
 * Work the parent gives the child (a job or a self-test): the child's
 * main loop runs it, a wait for a reply keeps it for later. One list.
 */
int		 ipc_is_child_work(uint16_t type);

/* "protocol violation" for CHILD_EXIT_PROTOCOL; NULL for another status. */
const char	*child_exit_name(int status);

/* The child's fd contract: the IPC socket is fd 3, nothing past it. */
#define CHILD_IPC_FD		3
/* Jobs in flight at once: the parent sends no more, the child holds this. */
#define IPC_MAX_JOBS		64

#define IPC_MAX_PAYLOAD		(64 * 1024)
#define IPC_MAX_DGRAM		(IPC_HDR_LEN + IPC_MAX_PAYLOAD)
#define IPC_SOCKBUF		(512 * 1024)	/* SO_SNDBUF/SO_RCVBUF */

#define IPC_MAX_DIGEST		64		/* SHA-512 */
#define IPC_MAX_SIG		1024		/* RSA-8192 */
#define IPC_MAX_STR		1024
#define IPC_MAX_HOST		255
#define IPC_MAX_PATH		1024
#define IPC_MAX_URL		2048
#define IPC_MAX_BODY		(32 * 1024)
#define IPC_BLOB_CHUNK		(60 * 1024)
#define IPC_MAX_BLOB		(1024 * 1024)	/* trust store, chain */
#define IPC_MAX_PORTS		16
#define IPC_MAX_CONNECTORS	8
#define IPC_MAX_NAME		64		/* connector name, type */
#define IPC_ORDER_REF_LEN	16		/* order id, hex */
#define IPC_MAX_HANDLE		128		/* the CA's order id */
#define IPC_MAX_SERIAL		64		/* hex digits */
#define IPC_MAX_CSR		(48 * 1024)
#define IPC_MAX_SANS_JSON	(8 * 1024)
#define IPC_MAX_CERT		(16 * 1024)
#define IPC_MAX_CHAIN		(40 * 1024)
#define IPC_MAX_JWS_INPUT	(60 * 1024)	/* JWS signing input (ACME) */
#define IPC_MAX_HTTP01_TOKEN	256		/* base64url (RFC 8555 §8.3) */
/*
 * An ACME job starts no new request after this many request timeouts
 * ([tls] timeout) in the child: it hands the order back as pending (or
 * to be retried) instead. The parent's signing window for an ACME job
 * is that budget plus one more request's timeout, and no signature is
 * granted past it.
 */
#define ACME_JOB_BUDGET_REQUESTS	4

enum ipc_type {
	/* parent -> child: configuration */
	IPC_CFG_BLOB = 1,
	/* 2 was IPC_CFG_RESOLVE: names are the parent's (connect_broker). */
	IPC_CFG_DONE = 3,
	IPC_CFG_CONNECTOR = 4,
	/* parent -> child: work */
	IPC_JOB_PROBE = 10,
	IPC_JOB_CA = 11,
	IPC_SIGN_REPLY = 20,
	IPC_CONNECT_REPLY = 21,		/* with the socket, SCM_RIGHTS */
	IPC_SELFTEST = 30,

	/* child -> parent */
	IPC_READY = 100,
	IPC_SIGN_REQUEST = 101,
	IPC_JOB_RESULT = 102,
	IPC_LOG = 103,
	IPC_CA_RESULT = 104,
	IPC_JWS_SIGN_REQUEST = 105,	/* answered by IPC_SIGN_REPLY */
	IPC_HTTP01_TOKEN = 106,		/* no answer */
	IPC_TLS13_SIGN_REQUEST = 107,	/* answered by IPC_SIGN_REPLY */
	IPC_CONNECT_REQUEST = 108,	/* answered by IPC_CONNECT_REPLY */
};

enum ipc_ca_action {
	CA_ENROLL = 1,		/* submit the CSR under the order's reference */
	CA_LOOKUP = 2,		/* what does the CA know of this reference? */
	CA_REVOKE = 3,		/* revoke the order's certificate */
	CA_VALIDATE = 4,	/* at start: is the CA (and profile) there? */
};

enum ipc_ca_outcome {
	CA_ISSUED = 1,		/* cert (and chain) attached */
	CA_PENDING = 2,		/* accepted; ask again later (handle set) */
	CA_REJECTED = 3,	/* final: the CA said no (message says why) */
	CA_RETRY = 4,		/* transient: network, 5xx, 429 */
	CA_NOT_FOUND = 5,	/* lookup: the CA never saw this reference */
	CA_REVOKED = 6,		/* revoke: done */
	CA_UNKNOWN = 7,		/* lookup impossible: the CA has no client reference */
	CA_NOT_TAKEN = 8,	/* enroll: refused for now (429, 503): resubmit later */
	CA_VALID = 9,		/* validate: the CA answered as configured */
};

enum ipc_blob_kind {
	BLOB_TRUST_PEM = 1,	/* CA certificates the child trusts */
	BLOB_CHAIN_PEM = 2,	/* client certificate, then intermediates */
	BLOB_KIND_MAX
};

enum ipc_key_type {
	IPC_KEY_EC = 1,
	IPC_KEY_RSA = 2,
};

enum ipc_sign_status {
	SIGN_OK = 0,
	SIGN_REFUSED = 1,	/* policy said no; counted */
	SIGN_FAILED = 2,	/* the HSM failed */
};

/*
 * What the parent makes of an IPC_JWS_SIGN_REQUEST (ACME, RFC 8555 §6.2):
 * a signature with the account key over SHA-256 of the input (DER for
 * EC, as for TLS; the child converts it to r||s), or the EAB's HS256.
 */
enum ipc_jws_kind {
	JWS_ACCOUNT = 1,
	JWS_EAB = 2,
};

/*
 * What the child says a JWS is for (RFC 8555 §7): the parent parses the
 * payload as that operation and checks it against the job in flight
 * (acme_sign_policy.h). An EAB is only ever part of a new account.
 */
enum ipc_acme_op {
	ACME_OP_NEW_ACCOUNT = 1,	/* newAccount, incl. onlyReturnExisting */
	ACME_OP_NEW_ORDER = 2,
	ACME_OP_FETCH = 3,		/* POST-as-GET: empty payload */
	ACME_OP_CHALLENGE = 4,		/* "{}" to a challenge */
	ACME_OP_FINALIZE = 5,
	ACME_OP_REVOKE = 6,
	ACME_OP_MAX
};

enum ipc_selftest_what {
	SELFTEST_OPENAT = 1,
	SELFTEST_EXECVE = 2,
};

enum ipc_job_status {
	JOB_OK = 0,
	JOB_FAILED = 1,
};

struct ipc_msg {
	uint16_t	 type;
	uint32_t	 id;
	const uint8_t	*payload;
	size_t		 len;
	int		 fd;	/* passed with it (SCM_RIGHTS), or -1 */
	/*
	 * 1: a descriptor came with it but the kernel could not give it to
	 * us (our RLIMIT_NOFILE is reached): fd is -1. Not the sender's
	 * fault, so not malformed; the receiver decides what it means.
	 */
	int		 fd_dropped;
};

struct ipc_cfg_blob {
	uint8_t		 kind;
	uint32_t	 total;
	uint32_t	 offset;
	const uint8_t	*data;
	size_t		 len;
};


struct ipc_cfg_done {
	uint32_t	 uid;
	uint32_t	 gid;
	char		 chroot_dir[IPC_MAX_PATH + 1];
	uint32_t	 tls_timeout_s;
	uint32_t	 sign_timeout_ms;
	uint8_t		 key_type;
	uint16_t	 nports;
	uint16_t	 ports[IPC_MAX_PORTS];
	uint8_t		 http01;	/* 1: fd 4 is the http-01 listener */
};

/*
 * A connector's settings travel in two parts of IPC_CFG_CONNECTOR: what
 * every kind has, then its kind's own part, tagged. Only the part of the
 * connector's type is on the wire; the decoder refuses a part that is
 * not its type's (ipc_cfg_part_of), so no kind's settings ride along in
 * another's. Adding a kind with settings: a struct and a tag here, its
 * encoder and strict decoder in ipc.c.
 */
enum ipc_cfg_part {
	IPC_PART_NONE = 0,	/* a type with no settings of its own */
	IPC_PART_ENTRUST = 1,
	IPC_PART_SECTIGO = 2,
	IPC_PART_ACME = 3,
};

struct ipc_cfg_entrust {
	char		 ca_id[IPC_MAX_HANDLE + 1];	/* caId; may be "" */
	char		 profile_id[IPC_MAX_HANDLE + 1];	/* "" = the order's */
};

struct ipc_cfg_sectigo {
	char		 customer_uri[IPC_MAX_NAME + 1];
	char		 login[IPC_MAX_HANDLE + 1];
	char		 external_requester[IPC_MAX_STR + 1];
	uint32_t	 org_id;
	uint32_t	 cert_type;		/* 0 = the order's profile */
	uint32_t	 term;			/* days, when the order has none */
};

/* url is the directory. */
struct ipc_cfg_acme {
	char		 contact[IPC_MAX_STR + 1];	/* "mailto:..[,mailto:..]" */
	char		 preferred_chain[IPC_MAX_HANDLE + 1];	/* issuer CN */
	char		 eab_kid[IPC_MAX_STR + 1];	/* "": no EAB */
};

struct ipc_cfg_connector {
	char		 name[IPC_MAX_NAME + 1];
	char		 type[IPC_MAX_NAME + 1];
	char		 url[IPC_MAX_URL + 1];
	char		 spki_pin[IPC_MAX_STR + 1];	/* "sha256//B64;..." or "" */
	char		 proxy[IPC_MAX_URL + 1];	/* "http://host:port" or "" */
	uint8_t		 auth;			/* IPC_AUTH_* */
	uint8_t		 allow_tls12;	/* 0: TLS 1.3 only */
	/* The kind's own part: only the one of ipc_cfg_part_of(type). */
	union {
		struct ipc_cfg_entrust	 entrust;
		struct ipc_cfg_sectigo	 sectigo;
		struct ipc_cfg_acme	 acme;
	} kind;
};

/* The part a connector type's settings travel in. */
enum ipc_cfg_part ipc_cfg_part_of(const char *type);

/* How a connector authenticates besides the TLS client certificate. */
enum {
	IPC_AUTH_CERT = 0,		/* the HSM-held client certificate only */
	IPC_AUTH_PASSWORD = 1,		/* and a password in every job */
};
#define IPC_MAX_SECRET		256

struct ipc_job_ca {
	uint8_t		 action;
	char		 connector[IPC_MAX_NAME + 1];
	char		 ref[IPC_ORDER_REF_LEN + 1];
	char		 profile[IPC_MAX_NAME + 1];
	uint32_t	 validity_days;
	/*
	 * PEM, not NUL-terminated: the order's CSR; for CA_REVOKE the
	 * issued certificate (ACME revokes by certificate, not serial).
	 */
	const uint8_t	*csr;
	size_t		 csr_len;
	const uint8_t	*sans_json;
	size_t		 sans_len;
	/* CA_REVOKE */
	char		 handle[IPC_MAX_HANDLE + 1];
	char		 serial[IPC_MAX_SERIAL + 1];
	uint8_t		 reason;		/* RFC 5280 CRLReason */
	/*
	 * The connector's password (IPC_AUTH_PASSWORD only), sent with
	 * each job that needs it and wiped by the child when the job ends.
	 */
	const uint8_t	*secret;
	size_t		 secret_len;
	/*
	 * ACME only: the account key's public JWK (acme_jwk's canonical
	 * form), for newAccount and the http-01 thumbprint. With the jobs,
	 * not the configuration: the child starts before the HSM is opened.
	 */
	char		 account_jwk[IPC_MAX_STR + 1];
};

struct ipc_ca_result {
	uint8_t		 outcome;
	uint32_t	 retry_after_s;		/* CA_RETRY / CA_PENDING hint */
	char		 handle[IPC_MAX_HANDLE + 1];
	char		 renew_id[IPC_MAX_HANDLE + 1];	/* Sectigo renewId */
	char		 serial[IPC_MAX_SERIAL + 1];
	char		 message[IPC_MAX_STR + 1];
	const uint8_t	*cert;
	size_t		 cert_len;
	const uint8_t	*chain;
	size_t		 chain_len;
};

struct ipc_job_probe {
	char		 url[IPC_MAX_URL + 1];
	uint8_t		 allow_tls12;	/* 0: TLS 1.3 only */
};

struct ipc_sign_reply {
	uint8_t		 status;
	const uint8_t	*sig;
	size_t		 siglen;
};

struct ipc_selftest {
	uint8_t		 what;
};

struct ipc_ready {
	uint8_t		 landlock_abi;
	char		 sandbox[IPC_MAX_STR + 1];
};

/*
 * IPC_SIGN_REQUEST: digest is what is signed (TLS 1.2, allowed only for
 * the jobs of connectors that allow TLS 1.2). IPC_TLS13_SIGN_REQUEST, the
 * same fields: digest is the TLS 1.3 transcript hash, and the parent
 * builds the client CertificateVerify content around it (RFC 8446
 * §4.4.3) and signs that, so the signature is good for nothing else.
 */
struct ipc_sign_request {
	uint32_t	 job_id;
	uint8_t		 scheme;
	const uint8_t	*digest;
	size_t		 dlen;
};

struct ipc_jws_sign_request {
	uint32_t	 job_id;
	uint8_t		 kind;		/* JWS_* */
	uint8_t		 op;		/* ACME_OP_* */
	const uint8_t	*input;		/* b64url "." b64url, not NUL-ended */
	size_t		 len;
};

/*
 * An http-01 token the ACME job job_id waits on (add 1), or no longer
 * (add 0). The parent answers it on the port with the key authorization
 * it builds from the account key it holds; the child says which token,
 * and nothing else.
 */
struct ipc_http01_token {
	uint32_t	 job_id;
	uint8_t		 add;
	char		 token[IPC_MAX_HTTP01_TOKEN + 1];
};

/* A TCP connection for job job_id to host:port (connect_broker.h). */
struct ipc_connect_request {
	uint32_t	 job_id;
	char		 host[IPC_MAX_HOST + 1];
	uint16_t	 port;
};

/* status 0: the socket comes with it; else message says why not. */
struct ipc_connect_reply {
	uint8_t		 status;
	char		 message[IPC_MAX_STR + 1];
};

struct ipc_job_result {
	uint8_t		 status;
	uint8_t		 truncated;
	uint32_t	 http_status;
	uint32_t	 curl_code;
	char		 tls_version[32];
	char		 error[IPC_MAX_STR + 1];
	const uint8_t	*body;
	size_t		 body_len;
};

struct ipc_log {
	uint8_t		 level;
	char		 text[IPC_MAX_STR + 1];
};

/* Transport. ipc_send returns 0 or -1 (errno). */
int	ipc_send(int fd, uint16_t type, uint32_t id, const struct wbuf *);
/* The same, passing the descriptor passfd along (SCM_RIGHTS) unless -1. */
int	ipc_send_fd(int fd, uint16_t type, uint32_t id, const struct wbuf *,
	    int passfd);
/*
 * Receives one datagram into buf (IPC_MAX_DGRAM + 1 bytes) and checks
 * its header; a descriptor passed with it is msg->fd (close-on-exec),
 * the caller's to keep or close. Returns 1 with *msg filled, 0 on EOF,
 * -1 with errno set:
 * EAGAIN/EINTR (try again), EMSGSIZE or EPROTO (peer violation), other.
 */
int	ipc_recv(int fd, uint8_t *buf, size_t buflen, struct ipc_msg *);
/* Header check on a datagram already in memory (used by ipc_recv). */
int	ipc_parse(const uint8_t *dgram, size_t n, struct ipc_msg *);
/* Type name for logs; "unknown" for anything else. */
const char	*ipc_type_name(uint16_t type);

/* Payload encoders: append to an initialised wbuf (max IPC_MAX_PAYLOAD). */
int	ipc_enc_cfg_blob(struct wbuf *, const struct ipc_cfg_blob *);
int	ipc_enc_cfg_done(struct wbuf *, const struct ipc_cfg_done *);
int	ipc_enc_job_probe(struct wbuf *, const struct ipc_job_probe *);
int	ipc_enc_sign_reply(struct wbuf *, const struct ipc_sign_reply *);
int	ipc_enc_selftest(struct wbuf *, const struct ipc_selftest *);
int	ipc_enc_ready(struct wbuf *, const struct ipc_ready *);
int	ipc_enc_sign_request(struct wbuf *, const struct ipc_sign_request *);
int	ipc_enc_job_result(struct wbuf *, const struct ipc_job_result *);
int	ipc_enc_log(struct wbuf *, const struct ipc_log *);
int	ipc_enc_cfg_connector(struct wbuf *, const struct ipc_cfg_connector *);
int	ipc_enc_job_ca(struct wbuf *, const struct ipc_job_ca *);
int	ipc_enc_ca_result(struct wbuf *, const struct ipc_ca_result *);
int	ipc_enc_jws_sign_request(struct wbuf *,
	    const struct ipc_jws_sign_request *);
int	ipc_enc_http01_token(struct wbuf *, const struct ipc_http01_token *);
int	ipc_enc_connect_request(struct wbuf *,
	    const struct ipc_connect_request *);
int	ipc_enc_connect_reply(struct wbuf *, const struct ipc_connect_reply *);

/*
 * Payload decoders: strict, exact, return 0 or -1. Pointers in the
 * result point into msg->payload. The type must match the decoder.
 */
int	ipc_dec_cfg_blob(const struct ipc_msg *, struct ipc_cfg_blob *);
int	ipc_dec_cfg_done(const struct ipc_msg *, struct ipc_cfg_done *);
int	ipc_dec_job_probe(const struct ipc_msg *, struct ipc_job_probe *);
int	ipc_dec_sign_reply(const struct ipc_msg *, struct ipc_sign_reply *);
int	ipc_dec_selftest(const struct ipc_msg *, struct ipc_selftest *);
int	ipc_dec_ready(const struct ipc_msg *, struct ipc_ready *);
int	ipc_dec_sign_request(const struct ipc_msg *, struct ipc_sign_request *);
int	ipc_dec_tls13_sign_request(const struct ipc_msg *,
	    struct ipc_sign_request *);
int	ipc_dec_job_result(const struct ipc_msg *, struct ipc_job_result *);
int	ipc_dec_log(const struct ipc_msg *, struct ipc_log *);
int	ipc_dec_cfg_connector(const struct ipc_msg *,
	    struct ipc_cfg_connector *);
int	ipc_dec_job_ca(const struct ipc_msg *, struct ipc_job_ca *);
/*
 * Strict on what the parent stores: outcome known, serial lowercase hex,
 * cert and chain PEM text (printable ASCII and newlines) that issued
 * results must carry and other outcomes must not.
 */
int	ipc_dec_ca_result(const struct ipc_msg *, struct ipc_ca_result *);
/*
 * Kind and op known (an EAB only for a new account), input 1 to
 * IPC_MAX_JWS_INPUT bytes; what the input says is for acme_sign_policy
 * to judge (refused requests are counted).
 */
int	ipc_dec_jws_sign_request(const struct ipc_msg *,
	    struct ipc_jws_sign_request *);
/* add 0 or 1, a token of 1 to IPC_MAX_HTTP01_TOKEN base64url characters. */
int	ipc_dec_http01_token(const struct ipc_msg *, struct ipc_http01_token *);
/* A host name or IP literal of printable ASCII, port 1-65535. */
int	ipc_dec_connect_request(const struct ipc_msg *,
	    struct ipc_connect_request *);
int	ipc_dec_connect_reply(const struct ipc_msg *,
	    struct ipc_connect_reply *);

#endif
