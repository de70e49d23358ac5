/*
 * acme_sign_policy.h - what the parent agrees to sign for the ACME
 * connector: a JWS signing input (RFC 7515 §5.1: BASE64URL(protected)
 * "." BASE64URL(payload)) that the child built and that the parent
 * will sign with the account key in the HSM, or MAC with the External
 * Account Binding key.
 *
 * The child is untrusted, so the input is parsed here with hard caps
 * and checked against the configuration, never against anything the
 * child says about it:
 *  - account-key JWS (RFC 8555 §6.2): alg is the one the account key
 *    allows (ES256 for EC P-256, RS256 for RSA); a nonce of base64url
 *    characters; a url under one of the configured server prefixes;
 *    either jwk, equal to the account key's own JWK, or kid, also under
 *    a configured prefix (an account URL); no other header member (no
 *    crit, no b64).
 *  - EAB (RFC 8555 §7.3.4): alg HS256, kid the configured EAB key id,
 *    url under a configured prefix, no nonce, and a payload that is the
 *    account key's JWK: the binding can only ever bind our HSM key.
 *
 * That is the form. acme_sign_op_check then decides on the meaning: the
 * child names the operation, the payload is parsed as that operation
 * and must be exactly what the job in flight needs (its facts come from
 * the parent's own copy of the job, never from the child):
 *  - new account: jwk form; {"onlyReturnExisting":true}, or terms agreed
 *    with the configured contacts and, when configured, the EAB (itself
 *    checked as above, for the same url);
 *  - new order: {"identifiers": exactly the order's names};
 *  - fetch (POST-as-GET): an empty payload;
 *  - challenge response: exactly {};
 *  - finalize: {"csr": the order's CSR, byte for byte};
 *  - revoke: {"certificate": the job's certificate, "reason": its code};
 * and each only in the jobs that need it (a validation job signs
 * nothing). Everything else, key change, account update or
 * deactivation, a payload that is itself a JWS, unknown members, is
 * refused. The job-in-flight and rate checks stay in sign_policy, the
 * pinned URLs in acme_url_pin. Pure logic.
 */
#ifndef HSMAGENT_ACME_SIGN_POLICY_H
#define HSMAGENT_ACME_SIGN_POLICY_H

#include <stddef.h>

#define ACME_SIGN_MAX_INPUT	(96 * 1024)	/* a CSR in base64url, twice */
#define ACME_SIGN_MAX_PREFIXES	4

enum acme_sign_verdict {
	ACME_SIGN_OK = 0,
	ACME_SIGN_DENY_FORMAT,	/* not two strict base64url parts, not JSON */
	ACME_SIGN_DENY_ALG,	/* alg does not match the key or the mode */
	ACME_SIGN_DENY_URL,	/* url (or kid) not under a server prefix */
	ACME_SIGN_DENY_NONCE,	/* nonce missing, or present in an EAB */
	ACME_SIGN_DENY_KEY,	/* jwk or EAB payload is not our key; no
				   jwk/kid or both; wrong EAB kid */
	ACME_SIGN_DENY_HEADER,	/* a member we never send */
	ACME_SIGN_DENY_OP,	/* an operation this job never needs */
	ACME_SIGN_DENY_PAYLOAD,	/* not exactly what the operation and the
				   job call for */
	ACME_SIGN_VERDICT_MAX
};

struct acme_sign_rules {
	/*
	 * URL prefixes of the configured ACME server, each an origin and
	 * path ending in '/' ("https://acme.example/acme2/"), so that
	 * "https://acme.example.evil/" never matches.
	 */
	const char	*prefix[ACME_SIGN_MAX_PREFIXES];
	size_t		 nprefix;
	const char	*alg;		/* "ES256" or "RS256": the account key's */
	const char	*account_jwk;	/* acme_jwk() of the account key */
	const char	*eab_kid;	/* NULL: no EAB configured */
	const char	*contact;	/* "mailto:a[,mailto:b]"; NULL: none */
};

#define ACME_SIGN_MAX_NAMES	100	/* identifiers in one order */

/* What the job in flight is, from the parent's own copy of it. */
struct acme_job_facts {
	uint8_t		 action;	/* CA_ENROLL, CA_LOOKUP, ... (ipc.h) */
	const char	*sans_json;	/* the order's ["dns:a","ip:b"] */
	const uint8_t	*csr_der;	/* the order's CSR (enroll, lookup) */
	size_t		 csr_len;
	const uint8_t	*cert_der;	/* the certificate (revoke) */
	size_t		 cert_len;
	uint8_t		 reason;	/* revoke: RFC 5280 code */
};

/* A prefix as the rules want it: https://, a host, ending in '/'. */
int	acme_sign_prefix_ok(const char *prefix);

enum acme_sign_verdict acme_sign_check(const struct acme_sign_rules *,
	    const char *input, size_t len);
enum acme_sign_verdict acme_eab_check(const struct acme_sign_rules *,
	    const char *input, size_t len);
/*
 * The whole decision on one account-key JWS: the form (acme_sign_check),
 * then op (ACME_OP_*) against the job and the payload against op. On
 * ACME_SIGN_OK, url (urllen bytes) holds the request's url, for the
 * grant's audit record and the pins (acme_url_pin.h), and kid its kid
 * ("" for a newAccount, which goes by the key).
 */
enum acme_sign_verdict acme_sign_op_check(const struct acme_sign_rules *,
	    const struct acme_job_facts *, unsigned op, const char *input,
	    size_t len, char *url, size_t urllen, char *kid, size_t kidlen);
/* May a job of this action ask for op (an EAB: ACME_OP_NEW_ACCOUNT)? */
int	acme_op_allowed(unsigned op, uint8_t action);
const char	*acme_op_name(unsigned op);
const char	*acme_sign_verdict_name(enum acme_sign_verdict);

#endif
