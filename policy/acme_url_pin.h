/*
 * acme_url_pin.h - the URLs an ACME account-key JWS may name, pinned.
 *
 * acme_sign_policy checks that a url lies under a configured server
 * prefix and that the payload is exactly what its operation and job
 * need. A prefix still leaves the child free to aim a well-formed
 * request at any endpoint of the server; pinning narrows that to the
 * endpoints the connector really uses. The parent never parses the
 * CA's answers (the child does, behind TLS it terminates), so a pin is
 * learned from the first granted request that names it and holds from
 * then on, as ssh's known_hosts does:
 *  - per connector, for the agent's run (a restart or a reload of the
 *    connector learns them again): the directory's newAccount, newOrder
 *    and revokeCert, each from the first request of its operation, and
 *    the account URL (kid) from the first request that carries one; a
 *    kid may change only on the first kid request after a newAccount
 *    granted in the same job (the account was just looked up again);
 *  - per job: its finalize URL (one per order), at most one challenge
 *    URL per name (fetched as often as needed), and at most 2 x names + 8 distinct URLs in all
 *    (order, one authorization and one challenge per name, finalize,
 *    certificate, account, alternates);
 *  - across roles: a fetch, challenge or finalize never names a pinned
 *    directory endpoint, a challenge or finalize never the account URL,
 *    a challenge never the job's finalize URL, and the account URL is
 *    never a directory endpoint.
 * Pure logic on strings that acme_sign_policy has already checked.
 */
#ifndef HSMAGENT_ACME_URL_PIN_H
#define HSMAGENT_ACME_URL_PIN_H

#include <stddef.h>
#include <stdint.h>

#include "acme_jws.h"
#include "acme_sign_policy.h"

enum acme_pin_role {
	ACME_PIN_NEW_ACCOUNT = 0,
	ACME_PIN_NEW_ORDER,
	ACME_PIN_REVOKE,
	ACME_PIN_ACCOUNT,	/* the kid */
	ACME_PIN_ROLES
};

/* Per connector; zeroed: nothing learned yet. */
struct acme_pins {
	char	url[ACME_PIN_ROLES][ACME_MAX_URL + 1];
};

#define ACME_PIN_JOB_EXTRA	8
#define ACME_PIN_JOB_MAX	(2 * ACME_SIGN_MAX_NAMES + ACME_PIN_JOB_EXTRA)

/* Per job; zeroed: nothing learned yet. */
struct acme_job_pins {
	char		finalize[ACME_MAX_URL + 1];
	uint8_t		seen[ACME_PIN_JOB_MAX][32];	/* SHA-256 of each url */
	uint8_t		seen_ops[ACME_PIN_JOB_MAX];	/* 1 << ACME_OP_* used */
	size_t		nseen;
	unsigned	relearn_kid;	/* a newAccount was granted here */
};

/*
 * May op name url (and kid: NULL for a newAccount) in this job of
 * nnames names? ACME_SIGN_OK, ACME_SIGN_DENY_URL or ACME_SIGN_DENY_KEY
 * (a kid other than the pinned account). Learns nothing.
 */
enum acme_sign_verdict acme_pin_check(const struct acme_pins *,
	    const struct acme_job_pins *, unsigned op, const char *url,
	    const char *kid, size_t nnames);
/*
 * After the grant: learns what the request pinned. Returns a bit mask
 * of (1 << role) for each connector pin it set or changed (0: none),
 * for the grant's audit record.
 */
unsigned	acme_pin_learn(struct acme_pins *, struct acme_job_pins *,
	    unsigned op, const char *url, const char *kid);
const char	*acme_pin_role_name(enum acme_pin_role);

#endif
