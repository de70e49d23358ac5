/*
 * acme_msg.h - ACME (RFC 8555) resources parsed without any I/O, so
 * that they can be unit-tested and fuzzed on their own: the directory,
 * an order, an authorization with its http-01 challenge, an account,
 * and RFC 7807 problem documents; and Retry-After.
 *
 * Bodies come from the network: any bytes, bounded by the caller. Every
 * field is checked for type and size; URLs must be https and plain
 * (printable, no spaces, no userinfo); unknown fields are ignored (RFC
 * 8555 §7.1 lets servers add them). A parser returns 0 or -1 with a
 * reason in why.
 */
#ifndef HSMAGENT_ACME_MSG_H
#define HSMAGENT_ACME_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "acme_jws.h"

#define ACME_MAX_BODY		(256 * 1024)	/* a JSON resource */
#define ACME_MAX_AUTHZ		100		/* per order */
#define ACME_MAX_TOKEN		256
#define ACME_MAX_IDENT		253		/* a DNS name */
#define ACME_MAX_PROBLEM_TYPE	256
#define ACME_MAX_DETAIL		1024
#define ACME_PROBLEM_NS		"urn:ietf:params:acme:error:"

struct acme_directory {
	char	new_nonce[ACME_MAX_URL + 1];
	char	new_account[ACME_MAX_URL + 1];
	char	new_order[ACME_MAX_URL + 1];
	char	revoke_cert[ACME_MAX_URL + 1];
	char	terms_of_service[ACME_MAX_URL + 1];	/* may be "" */
	int	eab_required;		/* meta.externalAccountRequired */
};

struct acme_problem {
	char	type[ACME_MAX_PROBLEM_TYPE + 1];	/* "" if absent */
	char	detail[ACME_MAX_DETAIL + 1];		/* printable only */
	int	status;					/* 0 if absent */
};

enum acme_status {
	ACME_ST_UNKNOWN = 0,
	ACME_ST_PENDING,
	ACME_ST_READY,
	ACME_ST_PROCESSING,
	ACME_ST_VALID,
	ACME_ST_INVALID,
	ACME_ST_DEACTIVATED,
	ACME_ST_EXPIRED,
	ACME_ST_REVOKED,
};

struct acme_order {
	enum acme_status	 status;
	size_t			 nauthz;
	char			(*authz)[ACME_MAX_URL + 1];	/* malloc'd */
	char			 finalize[ACME_MAX_URL + 1];
	char			 certificate[ACME_MAX_URL + 1];	/* "" until valid */
	struct acme_problem	 error;		/* type "" if none */
};

struct acme_authz {
	enum acme_status	 status;
	char			 ident_type[8];		/* "dns" or "ip" */
	char			 ident[ACME_MAX_IDENT + 1];
	int			 wildcard;
	/* The http-01 challenge, if offered (has_http01). */
	int			 has_http01;
	enum acme_status	 http01_status;
	char			 http01_url[ACME_MAX_URL + 1];
	char			 http01_token[ACME_MAX_TOKEN + 1];
};

/* An https URL with a host, printable with no space, no userinfo, fits. */
int	acme_url_ok(const char *);

int	acme_parse_directory(const char *body, size_t len,
	    struct acme_directory *, char *why, size_t whylen);
int	acme_parse_order(const char *body, size_t len, struct acme_order *,
	    char *why, size_t whylen);
void	acme_order_free(struct acme_order *);
int	acme_parse_authz(const char *body, size_t len, struct acme_authz *,
	    char *why, size_t whylen);
/* An account object's status (RFC 8555 §7.1.2). */
int	acme_parse_account(const char *body, size_t len, enum acme_status *,
	    char *why, size_t whylen);
/*
 * An RFC 7807 problem document. Never fails: what is not one leaves
 * type "" and a detail saying so, for the caller to report with the
 * HTTP status.
 */
void	acme_parse_problem(const char *body, size_t len, struct acme_problem *);
/* Is p the ACME error name ("badNonce") in the ACME namespace? */
int	acme_problem_is(const struct acme_problem *, const char *name);

/* A Replay-Nonce value (RFC 8555 §6.5.1): 1 to ACME_MAX_NONCE base64url. */
int	acme_nonce_ok(const char *value);
/*
 * One Link header value: 0 with url set if it is <URL>;rel="alternate"
 * (RFC 8555 §7.4.2, another chain for the certificate) with an https
 * URL (acme_url_ok); -1 for anything else.
 */
int	acme_link_alternate(const char *value, char url[ACME_MAX_URL + 1]);

/*
 * Retry-After (RFC 9110 §10.2.3): delay-seconds, or an IMF-fixdate
 * relative to now. Seconds to wait, clamped to [0, max]; -1 if value
 * is neither.
 */
long	acme_retry_after(const char *value, time_t now, long max);

#endif
