/*
 * sign_policy.h - when the parent agrees to sign for the child.
 *
 * A signature is granted only if: the scheme is on the allow-list and
 * fits the key type, the digest length is the scheme's hash length, the
 * parent has a job in flight with the child for the job id named in the
 * request, and a token bucket (rate per second, burst) has a token.
 * Every decision is counted by outcome. Pure logic: no I/O, no clock.
 */
#ifndef HSMAGENT_SIGN_POLICY_H
#define HSMAGENT_SIGN_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "scheme.h"

enum sign_verdict {
	SIGN_GRANT = 0,
	SIGN_DENY_SCHEME,	/* unknown, not allowed, or wrong key type */
	SIGN_DENY_LENGTH,	/* digest length does not fit the scheme */
	SIGN_DENY_NO_JOB,	/* no job in flight with that id */
	SIGN_DENY_RATE,		/* rate limit */
	SIGN_DENY_TLS12,	/* a digest for a job whose connector allows
				   TLS 1.3 only (the caller decides) */
	SIGN_VERDICT_MAX
};

struct sign_policy {
	uint32_t	 allowed;	/* SCHEME_BIT mask, key type applied */
	double		 rate;		/* tokens per second */
	double		 burst;		/* bucket size */
	double		 tokens;
	int64_t		 last_ms;
	uint64_t	 count[SIGN_VERDICT_MAX];
	uint64_t	 failed;	/* granted but the HSM failed */
};

/* key_is_ec selects which families of the allowed mask survive. */
void	sign_policy_init(struct sign_policy *, uint32_t scheme_mask,
	    int key_is_ec, uint32_t rate, uint32_t burst, int64_t now_ms);
enum sign_verdict sign_policy_check(struct sign_policy *, unsigned scheme,
	    size_t dlen, int job_in_flight, int64_t now_ms);
/*
 * What a request with no scheme of its own (ACME's JWS, whose content
 * acme_sign_policy checks) shares with the others: a job in flight and
 * the rate. Counted with them.
 */
enum sign_verdict sign_policy_check_job(struct sign_policy *,
	    int job_in_flight, int64_t now_ms);
const char	*sign_verdict_name(enum sign_verdict);
uint64_t	 sign_policy_refused(const struct sign_policy *);

#endif
