/*
 * agent.h - state of hsmagentd, the parent ("keyholder").
 *
 * The parent holds the PKCS#11 session and never parses network data.
 * It supervises one connector child (exec'd, sandboxed), gives it jobs,
 * and answers its signature requests under the signing policy.
 */
#ifndef HSMAGENT_AGENT_H
#define HSMAGENT_AGENT_H

#include <sys/stat.h>
#include <sys/types.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "api_server.h"
#include "config.h"
#include "hsm.h"
#include "ipc.h"
#include "sign_policy.h"
#include "version.h"

struct acme_signer;
struct acme_job_pins;
struct audit_ckpt;
struct http01_server;
struct broker;
struct hsm_worker;
struct audit;
struct order;
struct orders;
struct policy;

/*
 * hsmagentd's exit codes (sysexits.h): a supervisor retries 1, never 78
 * (the configuration is wrong) or 77 (the PIN is: a retry would spend
 * a PIN attempt of a token that locks after a few). hsmagentd(8).
 */
#define AGENT_EXIT_CONFIG	78
#define AGENT_EXIT_CREDENTIAL	77

#define AGENT_MAX_JOBS		IPC_MAX_JOBS	/* the child holds as many */
#define JOB_GRACE_MS		10000	/* past the child's own timeout */
#define RESTART_MIN_MS		250
#define RESTART_MAX_MS		30000
#define CHILD_STABLE_MS		60000	/* resets the backoff */
#define CHILD_READY_MS		15000	/* spawn to READY */
#define CHILD_LOG_RATE		20	/* child log lines a second, */
#define CHILD_LOG_BURST		200	/* and at once */
#define CHILD_LOG_FLOOD_MS	60000	/* health says so this long after */

struct agent;
struct job;

typedef void (*job_done_fn)(struct agent *, struct job *,
    const struct ipc_job_result *, const char *error);
/* A CA job's end: r, or NULL with error (child died, deadline). */
typedef void (*ca_done_fn)(struct agent *, struct job *,
    const struct ipc_ca_result *r, const char *error);

enum job_state {
	JOB_FREE = 0,
	JOB_QUEUED,		/* waits for a ready child */
	JOB_SENT,		/* in flight: signatures may be granted */
};

struct job {
	enum job_state	 state;
	uint32_t	 id;
	int64_t		 deadline_ms;
	uint16_t	 type;		/* IPC_JOB_PROBE or IPC_JOB_CA */
	struct wbuf	 payload;	/* encoded once, sent when the child is ready */
	job_done_fn	 done;		/* IPC_JOB_PROBE */
	ca_done_fn	 ca_done;	/* IPC_JOB_CA */
	char		 order[IPC_ORDER_REF_LEN + 1];
	uint8_t		 ca_action;
	uint8_t		 reason;	/* CA_REVOKE: RFC 5280 code */
	int		 target;	/* CA_VALIDATE: index of the connector */
	int		 conn;		/* IPC_JOB_CA: its connector's index */
	int64_t		 sent_ms;	/* when it went to the child */
	int64_t		 sign_until_ms;	/* no signature after (no grant moves it) */
	struct acme_job_pins *acme_pins; /* its URLs (acme_url_pin.h); lazily */
	int		 tls_readied;	/* hsm_prepare_for ran for it (once) */
	uint32_t	 tls_granted;	/* TLS signatures given (ready_next) */
};

/* Why a connector child ended (metrics: restarts by cause). */
enum child_cause {
	CHILD_EXITED = 0,	/* by itself */
	CHILD_SIGNALED,		/* a signal other than SIGSYS */
	CHILD_SANDBOX,		/* SIGSYS: seccomp stopped a system call */
	CHILD_KILLED,		/* by us: protocol violation, hung, no READY */
	CHILD_ROTATION,		/* new client certificate */
	CHILD_RELOAD,		/* new connector settings (SIGHUP) */
	CHILD_CAUSES
};

/* a->child_refresh: restart the child when idle, and why. */
#define CHILD_REFRESH_ROTATION	1
#define CHILD_REFRESH_RELOAD	2

/* CA round trips (job sent to result), seconds: the histogram's bounds. */
#define CA_LATENCY_BUCKETS	10
extern const double ca_latency_bounds[CA_LATENCY_BUCKETS];

struct child_proc {
	pid_t		 pid;		/* 0: none */
	int		 fd;		/* -1: none */
	int		 ready;
	int64_t		 started_ms;
	int64_t		 restart_at_ms;	/* 0: no restart pending */
	unsigned	 backoff;	/* consecutive short lives */
	uint8_t		 selftest;	/* SELFTEST_* in progress, or 0 */
	int		 selftest_ok;	/* last self-test saw SIGSYS */
	uint64_t	 restarts;
	uint64_t	 sigsys_kills;
	uint64_t	 violations;
	/* Its log lines: a token bucket, so a hijacked child cannot flood. */
	double		 log_tokens;
	int64_t		 log_last_ms;
	uint64_t	 log_dropped;	/* in all */
	uint64_t	 log_dropped_told;	/* as of the last summary line */
	int64_t		 log_dropped_ms;	/* last drop, monotime */
	int		 stop_cause;	/* set before we end it, else -1 */
	uint64_t	 ends[CHILD_CAUSES];
	int		 config_refused;	/* exited CHILD_EXIT_CONFIG: stop */
};

/* A connector's host and port, split from its URL at startup. */
struct ca_latency {
	uint64_t	 bucket[CA_LATENCY_BUCKETS];	/* not cumulative */
	uint64_t	 count;
	double		 sum;		/* seconds */
};

struct ca_target {
	char		 host[IPC_MAX_HOST + 1];
	uint16_t	 port;
	int		 is_ip;
	int		 checked;	/* 0 not yet, 1 fine, -1 failed */
	/* Its HTTP proxy (CONNECT), if configured. */
	char		 proxy_host[IPC_MAX_HOST + 1];
	uint16_t	 proxy_port;
	int		 proxy_is_ip;
	char		 status[IPC_MAX_STR + 1];
	/* The last CA call's outcome: can the CA be reached? */
	int64_t		 last_ok;	/* unix time, 0: none yet */
	int64_t		 last_fail;
	char		 last_error[IPC_MAX_STR + 1];
	struct ca_latency latency;	/* its calls, job sent to answer */
};

/* Public material for the child, read at start and at each rotation. */
struct agent_public {
	char		*trust_pem;	/* [tls] ca_file */
	size_t		 trust_len;
	char		*chain_pem;	/* [hsm] certificate: leaf, chain */
	size_t		 chain_len;
	int		 key_type;	/* IPC_KEY_* of the leaf */
	int64_t		 cert_not_before, cert_not_after;	/* the leaf's */
};

/* The client credential as last loaded, and its rotation (cred_watch.c). */
struct agent_cred {
	struct stat	 st;		/* the certificate file's */
	char		 error[IPC_MAX_STR + 1];	/* "" if fine */
	/* The key a rotation switched away from: "credential retire" it. */
	char		 retirable_id[129];
	int64_t		 next_check_ms;
};

/* [probe] url, split. */
struct probe_target {
	char		 host[IPC_MAX_HOST + 1];
	uint16_t	 port;
	int		 host_is_ip;
};

/* What metrics and the stop summary count, besides sign_policy's. */
struct agent_counters {
	uint64_t	 acme_refused;	/* by acme_sign_policy and the pins */
	uint64_t	 sign_unrecorded;	/* made, withheld: no audit */
	uint64_t	 hsm_overdue;	/* signatures past the deadline */
	uint64_t	 tls_readied;	/* readying submitted (hsm_prepare_for,
					   ready_next) */
	uint64_t	 tls_readied_used; /* signatures made with one */
	uint64_t	 http01_refused;	/* token registrations */
	uint64_t	 dns_failures;
	uint64_t	 reloads[2];	/* SIGHUP: ok, failed */
};

struct agent {
	struct config		*cfg;
	struct hsm		*hsm;
	struct sign_policy	 sp;
	struct child_proc	 child;
	struct job		 jobs[AGENT_MAX_JOBS];
	uint32_t		 next_job;
	uint8_t			*rx;		/* IPC_MAX_DGRAM + 1 */
	int			 debug;
	int			 sigfd;
	struct agent_public	 pub;
	uid_t			 child_uid;
	gid_t			 child_gid;
	/* Local API, policy, orders, audit (NULL/closed without [api]). */
	struct api_server	 api;
	struct policy		*policy;
	struct orders		*orders;
	struct audit		*audit;
	struct audit_ckpt	*ckpt;		/* signed checkpoints; NULL: none */
	int64_t			 audit_dirty_ms; /* first deferred record unsynced */
	uint64_t		 api_requests[OP_LAST + 1];
	int64_t			 started_ms;
	int			 ready_told;	/* READY=1 sent (first sandboxed child) */
	int64_t			 started_at;	/* unix time */
	int			 draining;	/* SIGTERM: finishing jobs */
	struct ca_latency	 ca_latency;	/* the probe's calls */
	struct ca_target	 ca_targets[CONFIG_MAX_CONNECTORS];
	/* auth = password: the password (freezero(p, cap)), else NULL. */
	char			*conn_password[CONFIG_MAX_CONNECTORS];
	size_t			 conn_password_cap[CONFIG_MAX_CONNECTORS];
	int64_t			 next_orders_tick_ms;
	/* Issued or revoked orders whose audit record is owed (orders.h). */
	int			 records_owed;
	int64_t			 next_owed_ms;
	/* Due orders left waiting for a free job: taken as one frees. */
	int			 orders_backlog;
	int			 connectors_validated;	/* asked once */
	struct agent_cred	 cred;
	char			 hsm_error[IPC_MAX_STR + 1];	/* "" if signing works */
	enum sign_scheme	 tls_scheme;	/* the TLS key's last; 0: none yet */
	int			 cpus;		/* ready_next: CPUs we may use, */
	int64_t			 cpus_at_ms;	/* as seen then */
	/* PKCS#11 signatures run here, off the loop (hsm_worker.h). */
	struct hsm_worker	*hsm_worker;
	/*
	 * Held by the loop except while it waits in poll: the worker
	 * finishes a signature (record, reply) holding it. Everything in
	 * struct agent is the loop's, and so guarded by it.
	 */
	pthread_mutex_t		 loop_lock;
	/* ACME connectors: the parent's JWS signers, by connector name. */
	struct acme_signer	*acme[CONFIG_MAX_CONNECTORS];
	size_t			 nacme;
	int			 child_refresh;	/* restart the child when idle */
	/* The http-01 listener (http01_listen.c), fd 4 in every child; -1. */
	int			 http01_fd;
	struct http01_server	*http01;	/* answers it; NULL: no port */
	/* The child's connections, made here (connect_broker.c). */
	struct broker		*broker;
	struct probe_target	 probe;
	struct agent_counters	 count;
	/*
	 * Who hears that an order changed or failed: the local API's
	 * waiting clients (local_api_open sets them; NULL without [api]).
	 * The orders room calls them and never the API itself.
	 */
	void			(*order_changed)(struct agent *, const char *id);
	void			(*order_error)(struct agent *, const char *id,
				    const char *code, const char *msg);
};

/* jobs.c */
struct job	*job_new_probe(struct agent *, const char *url, job_done_fn);
/* Takes the encoded payload (an ipc_job_ca). */
struct job	*job_new_ca(struct agent *, struct wbuf *, ca_done_fn,
		    const char *order, uint8_t action);
struct job	*job_for_order(struct agent *, const char *order);
struct job	*job_find(struct agent *, uint32_t id);
void		 job_release(struct agent *, struct job *);
/* The job's deadline from now (sent, or progressing: an ACME signature). */
void		 job_alive(struct agent *, struct job *);
const char	*job_connector_name(const struct agent *, const struct job *);
int		 job_allows_tls12(const struct agent *, const struct job *);
int		 job_presents_tls_key(const struct agent *, const struct job *);
void		 jobs_send_queued(struct agent *);
/* Fails every job in flight (child died) with error. */
void		 jobs_fail_sent(struct agent *, const char *error);
int64_t		 jobs_next_deadline(const struct agent *);
int		 jobs_active(const struct agent *);
int		 jobs_room(const struct agent *);

/* supervisor.c */
int	child_spawn(struct agent *);
void	child_kill(struct agent *, const char *why);
void	child_reap(struct agent *);
void	child_tick(struct agent *, int64_t now_ms);
int	child_send(struct agent *, uint16_t type, uint32_t id,
	    const struct wbuf *);

/* http01_listen.c: bound before the first child, kept for restarts */
int	http01_listen_open(struct agent *, char *err, size_t errlen);
void	http01_listen_close(struct agent *);

/* dispatch.c */
/* What an HSM work item is for (struct hsm_work's kind). */
enum hsm_work_kind {
	WORK_TLS = 1, WORK_ACCOUNT, WORK_EAB, WORK_PREPARE, WORK_FORGET,
	WORK_CHECKPOINT
};
void	child_readable(struct agent *);
/* The HSM worker's finished signatures; an overdue one (health down). */
void	hsm_work_done(struct agent *);
struct hsm_work;
void	hsm_work_finish(void *agent, struct hsm_work *);
void	hsm_work_tick(struct agent *, int64_t now_ms);
/*
 * Waits up to wait_ms for mine (submitted "direct") and returns it;
 * NULL if it has not come back (it will, to hsm_work_done). Holding the
 * loop's lock throughout: nothing is recorded meanwhile.
 */
struct hsm_work *hsm_work_wait(struct agent *, struct hsm_work *mine,
	    int wait_ms);
/* The TLS key's next signature readied while the job connects. */
void	hsm_prepare_for(struct agent *, struct job *);
/* The job ends: what was readied for it and not used ends too. */
void	hsm_forget_for(struct agent *, const struct job *);
/* After the child was reaped: the log lines it sent before it ended. */
void	child_last_words(struct agent *);

/* resolve.c */
int	url_split_https(const char *url, char *host, size_t hostlen,
	    uint16_t *port, int *is_ip);
int	url_split(const char *url, const char *scheme, uint16_t dport,
	    char *host, size_t hostlen, uint16_t *port, int *is_ip);

/* order_flow.c: an order's way from "received" to a final state */
void	order_submit(struct agent *, const char *id);
int	order_revoke(struct agent *, const struct order *, int reason,
	    const char **code, char *err, size_t errlen);
/* Polls and resumes orders whose time has come (after a restart, too). */
void	orders_tick(struct agent *, int64_t now_ms);
/* Writes the records orders owe (orders_set_issued), oldest first. */
void	orders_pay_records(struct agent *);
/* Once, when the first child is ready: is each CA there as configured? */
void	connectors_validate(struct agent *);

/* api_ops.c (besides the hooks in api_server.h) */
void	api_ops_answer_order(struct agent *, struct api_conn *, const char *id,
	    int wait);
void	api_ops_order_changed(struct agent *, const char *id);
/* Ends the waits on an order with an error reply (e.g. revoke failed). */
void	api_ops_order_error(struct agent *, const char *id, const char *code,
	    const char *msg);
struct api_request;
int	api_ops_new_order(struct agent *, struct api_conn *,
	    struct api_request *, char *id /* ORDER_ID_LEN + 1 */);
int64_t	api_ops_budget_tick(struct agent *, int64_t now_ms);
int	api_ops_audit(struct agent *, struct api_conn *, const char *event,
	    const char *target, const char *outcome, json_t *details);
int	api_ops_may_see(struct agent *, const struct api_conn *,
	    uint32_t owner_uid);
int	api_ops_is_admin(struct agent *, const struct api_conn *);

/* api_credential.c: a new gateway key in the HSM; the old one retired */
void	api_credential_handle(struct agent *, struct api_conn *,
	    struct api_request *);

/* api_chain.c: ca_chain, the CA certificates a connector's orders came with */
void	api_chain_handle(struct agent *, struct api_conn *,
	    struct api_request *);

/* api_track.c: track, untrack, fetch, tracked */
void	api_track_handle(struct agent *, struct api_conn *,
	    struct api_request *);
json_t	*api_track_health(struct agent *, int64_t now, int *degraded);

/* tracking.c: keeping tracked certificates renewed */
void	tracking_tick(struct agent *);
int64_t	tracking_renew_at(const struct config *, int64_t not_before,
	    int64_t not_after);
/* A PEM certificate's validity in unix seconds. 0 or -1. */
int	pem_cert_dates(const char *pem, int64_t *not_before,
	    int64_t *not_after);

/* agent_audit.c: records with the agent as actor; consumes details */
int	agent_audit(struct agent *, const char *event, const char *target,
	    const char *outcome, json_t *details);
/* Written now, fsync'ed within AUDIT_SYNC_MS (granted signatures only). */
int	agent_audit_deferred(struct agent *, const char *event,
	    const char *target, const char *outcome, json_t *details);
/* The same with flat details (audit.h): the TLS signing path's record. */
struct audit_fields;
int	agent_audit_fields_deferred(struct agent *, const char *event,
	    const char *outcome, const struct audit_fields *details);
/* Syncs deferred records when due; returns when it is next due, or 0. */
int64_t	agent_audit_tick(struct agent *, int64_t now);
void	file_sha256_hex(const char *path, char out[65]);

/* local_api.c */
int	local_api_open(struct agent *, int check_only, char *err,
	    size_t errlen);
void	local_api_close(struct agent *, const char *why, int failed);

/* cred_watch.c: client-certificate rotation without a restart */
/*
 * config_check.c: beyond the syntax, without a login. At every start the
 * users, groups and directories (and a warning for a policy rule that
 * names no configured connector); with test_only (-t) that rule is an
 * error, and the PIN file, the connector types and the token's public
 * objects are checked, saying on out what could not be.
 */
int	config_check(const struct agent *, int test_only, FILE *out,
	    char *err, size_t errlen);

/* path_trust.c: who can write what the agent trusts (StrictModes). */
int	path_trust_check(const struct config *, char *err, size_t errlen);

/* key_roles.c: no two roles share a key (TLS client key, ACME accounts). */
int	key_roles_check(const struct agent *, const char *cert_pem, size_t len,
	    char *err, size_t errlen);

void	cred_watch_init(struct agent *);
void	cred_watch_tick(struct agent *, int64_t now_ms);
/* hsmagentd.c */
int	leaf_key_type(const char *pem, size_t len, int *type);

/* metrics.c */
void	metrics_write(struct agent *, FILE *);

/* notify.c: sd_notify(3) by hand; no-ops without $NOTIFY_SOCKET */
void	notify_ready(const char *status);
void	notify_reloading(void);
void	notify_stopping(const char *status);
void	notify_status(const char *status);

/* activation.c: socket activation (sd_listen_fds(3) by hand) */
/* The inherited listening socket for path, -1 if none, -2 (err) if unfit. */
int	activation_fd(const char *path, char *err, size_t errlen);

/* reload.c: SIGHUP, and the settings it may change */
void	agent_reload(struct agent *);
int	connector_passwords_load(const struct config *, char **pw,
	    size_t *cap, char *err, size_t errlen);
void	connector_passwords_free(char **pw, size_t *cap);
int	connector_targets_split(const struct config *, struct ca_target *,
	    char *err, size_t errlen);
int	probe_target_split(const struct config *, char *host, size_t hostlen,
	    uint16_t *port, int *is_ip, char *err, size_t errlen);

/* health.c: what "hsmagent health" and the metrics report */
enum health_status { HEALTH_OK = 0, HEALTH_DEGRADED, HEALTH_DOWN };
/* Fills checks (name -> "ok" or why not) and reasons; returns the status. */
enum health_status health_eval(struct agent *, json_t *checks, json_t *reasons);
const char *health_name(enum health_status);

#endif
