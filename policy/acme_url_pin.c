/*
 * acme_url_pin.c - see acme_url_pin.h.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "acme_url_pin.h"
#include "ipc.h"

/* The connector pin an operation's url goes to; -1: none. */
static int
dir_role(unsigned op)
{
	switch (op) {
	case ACME_OP_NEW_ACCOUNT:	return ACME_PIN_NEW_ACCOUNT;
	case ACME_OP_NEW_ORDER:		return ACME_PIN_NEW_ORDER;
	case ACME_OP_REVOKE:		return ACME_PIN_REVOKE;
	default:			return -1;
	}
}

static int
is_pinned(const struct acme_pins *p, int role, const char *url)
{
	return p->url[role][0] != '\0' && strcmp(p->url[role], url) == 0;
}

/* Does url name one of the directory's pinned endpoints, but role? */
static int
names_other_endpoint(const struct acme_pins *p, int role, const char *url)
{
	for (int r = ACME_PIN_NEW_ACCOUNT; r <= ACME_PIN_REVOKE; r++)
		if (r != role && is_pinned(p, r, url))
			return 1;
	return 0;
}

static void
url_hash(const char *url, uint8_t h[32])
{
	SHA256((const unsigned char *)url, strlen(url), h);
}

/* Index of url among the job's urls, or -1. */
static long
seen_at(const struct acme_job_pins *j, const uint8_t h[32])
{
	for (size_t i = 0; i < j->nseen; i++)
		if (memcmp(j->seen[i], h, 32) == 0)
			return (long)i;
	return -1;
}

static size_t
seen_challenges(const struct acme_job_pins *j)
{
	size_t	 n = 0;

	for (size_t i = 0; i < j->nseen; i++)
		n += (j->seen_ops[i] & (1u << ACME_OP_CHALLENGE)) != 0;
	return n;
}

static enum acme_sign_verdict
kid_check(const struct acme_pins *p, const struct acme_job_pins *j,
    const char *kid)
{
	if (names_other_endpoint(p, -1, kid))
		return ACME_SIGN_DENY_KEY;
	if (p->url[ACME_PIN_ACCOUNT][0] == '\0' || j->relearn_kid)
		return ACME_SIGN_OK;
	return is_pinned(p, ACME_PIN_ACCOUNT, kid) ? ACME_SIGN_OK :
	    ACME_SIGN_DENY_KEY;
}

enum acme_sign_verdict
acme_pin_check(const struct acme_pins *p, const struct acme_job_pins *j,
    unsigned op, const char *url, const char *kid, size_t nnames)
{
	uint8_t	 h[32];
	long	 at;
	int	 role = dir_role(op);

	if (url == NULL || strlen(url) > ACME_MAX_URL ||
	    (kid != NULL && strlen(kid) > ACME_MAX_URL))
		return ACME_SIGN_DENY_URL;
	if (kid != NULL && kid_check(p, j, kid) != ACME_SIGN_OK)
		return ACME_SIGN_DENY_KEY;
	/* A directory endpoint: the one learned, and no other's. */
	if (role >= 0)
		return (p->url[role][0] == '\0' || is_pinned(p, role, url)) &&
		    !names_other_endpoint(p, role, url) &&
		    !is_pinned(p, ACME_PIN_ACCOUNT, url) ? ACME_SIGN_OK :
		    ACME_SIGN_DENY_URL;
	/* The order's own URLs: never an endpoint of another role. */
	if (names_other_endpoint(p, -1, url))
		return ACME_SIGN_DENY_URL;
	if ((op == ACME_OP_CHALLENGE || op == ACME_OP_FINALIZE) &&
	    is_pinned(p, ACME_PIN_ACCOUNT, url))
		return ACME_SIGN_DENY_URL;
	if (op == ACME_OP_FINALIZE && j->finalize[0] != '\0' &&
	    strcmp(j->finalize, url) != 0)
		return ACME_SIGN_DENY_URL;
	if (op == ACME_OP_CHALLENGE && j->finalize[0] != '\0' &&
	    strcmp(j->finalize, url) == 0)
		return ACME_SIGN_DENY_URL;
	url_hash(url, h);
	at = seen_at(j, h);
	if (at < 0 && (j->nseen >= 2 * nnames + ACME_PIN_JOB_EXTRA ||
	    j->nseen >= ACME_PIN_JOB_MAX))
		return ACME_SIGN_DENY_URL;
	/* One challenge per name: a url answered before, or a new one. */
	if (op == ACME_OP_CHALLENGE && (at < 0 ||
	    !(j->seen_ops[at] & (1u << ACME_OP_CHALLENGE))) &&
	    seen_challenges(j) >= nnames)
		return ACME_SIGN_DENY_URL;
	return ACME_SIGN_OK;
}

static unsigned
pin(struct acme_pins *p, int role, const char *url)
{
	if (strcmp(p->url[role], url) == 0)
		return 0;
	snprintf(p->url[role], sizeof(p->url[role]), "%s", url);
	return 1u << role;
}

unsigned
acme_pin_learn(struct acme_pins *p, struct acme_job_pins *j, unsigned op,
    const char *url, const char *kid)
{
	unsigned	 learned = 0;
	uint8_t		 h[32];
	long		 at;
	int		 role = dir_role(op);

	if (kid != NULL && (p->url[ACME_PIN_ACCOUNT][0] == '\0' ||
	    j->relearn_kid)) {
		learned |= pin(p, ACME_PIN_ACCOUNT, kid);
		j->relearn_kid = 0;
	}
	if (role >= 0 && p->url[role][0] == '\0')
		learned |= pin(p, role, url);
	if (op == ACME_OP_NEW_ACCOUNT)
		j->relearn_kid = 1;
	if (role >= 0)
		return learned;
	if (op == ACME_OP_FINALIZE && j->finalize[0] == '\0')
		snprintf(j->finalize, sizeof(j->finalize), "%s", url);
	url_hash(url, h);
	if ((at = seen_at(j, h)) < 0 && j->nseen < ACME_PIN_JOB_MAX) {
		memcpy(j->seen[j->nseen], h, 32);
		at = (long)j->nseen++;
	}
	if (at >= 0)
		j->seen_ops[at] |= (uint8_t)(1u << op);
	return learned;
}

const char *
acme_pin_role_name(enum acme_pin_role r)
{
	static const char *const names[ACME_PIN_ROLES] = {
		"newAccount", "newOrder", "revokeCert", "account",
	};

	return (unsigned)r < ACME_PIN_ROLES ? names[r] : "unknown";
}
