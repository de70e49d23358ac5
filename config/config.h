/*
 * config.h - hsmagentd.conf: one file, INI-like, parsed strictly.
 *
 *   # comment
 *   key = value            (global section)
 *   [hsm]                  (section)
 *   key = value
 *
 * Unknown sections and keys, duplicate keys, bad values and missing
 * required keys are errors reported as "FILE:LINE: message". The format
 * is documented in README.md ("Configuration").
 */
#ifndef HSMAGENT_CONFIG_H
#define HSMAGENT_CONFIG_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "poll_schedule.h"
#include "scheme.h"

#define CONFIG_MAX_FILE		(256 * 1024)	/* bytes */
#define CONFIG_MAX_LINE		4096		/* bytes, newline excluded */
#define CONFIG_MAX_URL		2048

#define CONFIG_MAX_CONNECTORS	8
#define CONFIG_MAX_ACME_PREFIXES 4	/* = ACME_SIGN_MAX_PREFIXES */

/* [connector NAME]: one CA endpoint the child may talk to. */
struct connector_cfg {
	char		*name;			/* [a-z0-9_-]{1,64} */
	char		*type;			/* a connector type of this build */
	char		*url;			/* https base URL of the CA API */
	uint32_t	 deadline_s;		/* give up on an order; default 600 */
	char		*ca_id;			/* Entrust: the CA's id */
	char		*profile_id;		/* Entrust: fixed profile, or NULL */
	char		*spki_pin;		/* "sha256//B64[;sha256//B64]" or NULL */
	char		*proxy;			/* "http://host:port" (CONNECT) or NULL */
	/* Sectigo SCM */
	char		*auth;			/* "certificate" (default) | "password" */
	char		*customer_uri;		/* the customerUri header */
	char		*login;			/* the login header */
	char		*password_file;		/* auth = password: 0600 file */
	char		*external_requester;	/* e-mail(s) for externalRequester */
	uint32_t	 org_id;		/* orgId; 0 = not set */
	uint32_t	 cert_type;		/* certType; 0 = the order's profile */
	uint32_t	 term;			/* days; default 365 */
	/* ACME (url is the directory) */
	char		*server_prefixes;	/* as written; NULL: url's origin */
	char		*prefix[CONFIG_MAX_ACME_PREFIXES];	/* what may be signed */
	size_t		 nprefix;
	char		*account_key_uri;	/* pkcs11: URI, same token */
	char		*eab_kid;		/* both EAB keys or neither */
	char		*eab_hmac_file;		/* read by the parent per MAC */
	char		*contact;		/* "mailto:a@b[,mailto:c@d]" */
	char		*preferred_chain;	/* issuer CN of the chain wanted */
	char		*http01_listen;		/* "ADDR:PORT" or NULL */
	int		 allow_tls12;		/* 0: TLS 1.3 only (default) */
	struct poll_schedule poll;		/* poll_schedule; n 0: default */
};

#define SECTIGO_URL_PASSWORD	"https://cert-manager.com/api"
#define SECTIGO_URL_CERT	"https://cert-manager.com/private/api"

struct config {
	/* global */
	char		*path;			/* the file parsed */
	char		*log_level;		/* error|warning|info|debug */
	char		*log_target;		/* stderr (default) | syslog */
	uint32_t	 shutdown_timeout_s;	/* SIGTERM: in-flight work; 20 */
	char		*connector_path;	/* connector child executable */
	char		*child_user;		/* uid the child drops to if root */
	char		*chroot_dir;		/* empty dir the child chroots to */

	/* [hsm] */
	char		*hsm_module;		/* PKCS#11 module path (absolute) */
	char		*hsm_key_uri;		/* RFC 7512 pkcs11: URI */
	char		*hsm_pin_file;		/* NULL: $CREDENTIALS_DIRECTORY/hsm-pin */
	char		*hsm_certificate;	/* PEM: leaf first, then chain */
	int		 hsm_insecure_allow_extractable;	/* default 0 */

	/* [signing] */
	uint32_t	 sign_schemes;		/* SCHEME_BIT mask; default all */
	uint32_t	 sign_rate;		/* per second, 1..100000; default 20 */
	uint32_t	 sign_burst;		/* 1..100000; default 50 */
	uint32_t	 sign_timeout_ms;	/* child wait for a reply; default 5000 */

	/* [tls] */
	char		*tls_ca_file;		/* PEM trust anchors for CA servers */
	uint32_t	 tls_timeout_s;		/* per request; 1..600, default 30 */

	/* [api] (optional section): the local socket */
	char		*api_socket;		/* path of the Unix socket */
	uint32_t	 api_mode;		/* default 0660 */
	char		*api_group;		/* NULL: the agent's own group */
	uint32_t	 api_max_conns;		/* 1..1024, default 64 */
	uint32_t	 api_idle_s;		/* 1..3600, default 30 */
	uint32_t	 api_uid_rate;		/* 1..10000, default 10 */
#define API_UID_RATE_DEFAULT	10	/* == API_BUDGET_RATE, asserted */
#define API_UID_BURST_DEFAULT	60	/* == API_BUDGET_BURST */
	uint32_t	 api_uid_burst;		/* 1..100000, default 60 */
	char		*api_policy;		/* the policy file (policy/POLICY.md) */

	/* [state] (required with [api]) */
	char		*state_dir;		/* orders.db lives here */
	char		*audit_log;		/* default STATE_DIR/audit.log */
	char		*ckpt_key_uri;		/* NULL: no signed checkpoints */
	uint32_t	 ckpt_records;		/* a checkpoint every N; 1000 */
	uint32_t	 ckpt_interval_s;	/* or every T s; 60 */
	char		*ckpt_origin;		/* NULL: host name and key ID */
	char		*ckpt_prev_key_uri;	/* the key rotated from, or NULL */
	char		*ckpt_dir;		/* a copy of each checkpoint, or NULL */

	/*
	 * The http-01 listener (RFC 8555 §8.3): one per agent, bound by the
	 * parent at start; the http01_listen every ACME connector that sets
	 * one agrees on, or NULL.
	 */
	char		*http01_listen;

	/* [connector NAME] sections */
	struct connector_cfg connectors[CONFIG_MAX_CONNECTORS];
	size_t		 nconnectors;

	/* [probe] (optional section) */
	char		*probe_url;		/* https:// URL; NULL if none */
	uint32_t	 probe_interval_s;	/* 0 = only on demand; max 86400 */
	int		 probe_allow_tls12;	/* 0: TLS 1.3 only (default) */

	/* [renewal] (optional section) */
	uint32_t	 renew_window_pct;	/* renew with this % of life left */
	uint32_t	 renew_retry_min_s;	/* first retry after a failure */
	uint32_t	 renew_retry_max_s;	/* retries back off up to this */
	uint32_t	 cert_warn_days;	/* client cert: degraded within */
};

/*
 * Parses the file at path into *cfg (zeroed first, defaults applied).
 * On error returns -1 and writes "FILE:LINE: message" (or "FILE: message")
 * to err. *cfg is then released already.
 */
int	config_load(const char *path, struct config *cfg, char *err,
	    size_t errlen);

/* Same on a memory buffer; name is used in messages. Used by the fuzzer. */
int	config_parse(const char *buf, size_t len, const char *name,
	    struct config *cfg, char *err, size_t errlen);

void	config_free(struct config *cfg);

/* The [connector NAME] section, or NULL. */
const struct connector_cfg *config_connector(const struct config *cfg,
	    const char *name);

/*
 * Whether connector c can be asked for a certificate of validity_days
 * (0: none asked for, the connector's own default). A policy maximum is
 * a cap, never a default: Sectigo then sends its term, Entrust leaves
 * the profile's validity, ACME lets the CA choose. -1 with why (naming
 * both values) for a validity the connector cannot issue, so the order
 * is refused before any CA call.
 */
int	config_connector_validity(const struct connector_cfg *c,
	    uint32_t validity_days, char *why, size_t whylen);

/*
 * "A.B.C.D:PORT" or "[IPv6]:PORT", literals only, PORT 1-65535 without
 * leading zeros: the address to bind. 0, or -1 if v is not one.
 */
int	config_listen_addr(const char *v, struct sockaddr_storage *ss,
	    socklen_t *sslen);


#endif
