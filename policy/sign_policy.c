/*
 * sign_policy.c - see sign_policy.h.
 */
#include <string.h>

#include "sign_policy.h"

void
sign_policy_init(struct sign_policy *p, uint32_t mask, int key_is_ec,
    uint32_t rate, uint32_t burst, int64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	for (unsigned s = 1; s < SCHEME_MAX; s++) {
		int ec = sign_scheme_family(s) == SCHEME_FAMILY_ECDSA;

		if ((mask & SCHEME_BIT(s)) && ec == (key_is_ec != 0))
			p->allowed |= SCHEME_BIT(s);
	}
	p->rate = rate;
	p->burst = burst;
	p->tokens = burst;
	p->last_ms = now_ms;
}

static int
take_token(struct sign_policy *p, int64_t now_ms)
{
	if (now_ms > p->last_ms) {
		p->tokens += (double)(now_ms - p->last_ms) * p->rate / 1000.0;
		if (p->tokens > p->burst)
			p->tokens = p->burst;
		p->last_ms = now_ms;
	}
	if (p->tokens < 1.0)
		return 0;
	p->tokens -= 1.0;
	return 1;
}

enum sign_verdict
sign_policy_check(struct sign_policy *p, unsigned scheme, size_t dlen,
    int job_in_flight, int64_t now_ms)
{
	enum sign_verdict v;

	if (scheme == 0 || scheme >= SCHEME_MAX ||
	    (p->allowed & SCHEME_BIT(scheme)) == 0)
		v = SIGN_DENY_SCHEME;
	else if (dlen != sign_scheme_digest_len(scheme))
		v = SIGN_DENY_LENGTH;
	else
		return sign_policy_check_job(p, job_in_flight, now_ms);
	p->count[v]++;
	return v;
}

enum sign_verdict
sign_policy_check_job(struct sign_policy *p, int job_in_flight,
    int64_t now_ms)
{
	enum sign_verdict v;

	if (!job_in_flight)
		v = SIGN_DENY_NO_JOB;
	else if (!take_token(p, now_ms))
		v = SIGN_DENY_RATE;
	else
		v = SIGN_GRANT;
	p->count[v]++;
	return v;
}

const char *
sign_verdict_name(enum sign_verdict v)
{
	static const char *const names[SIGN_VERDICT_MAX] = {
		"granted", "refused-scheme", "refused-digest-length",
		"refused-no-job", "refused-rate", "refused-tls12",
	};

	return (unsigned)v < SIGN_VERDICT_MAX ? names[v] : "unknown";
}

uint64_t
sign_policy_refused(const struct sign_policy *p)
{
	uint64_t n = 0;

	for (int v = SIGN_GRANT + 1; v < SIGN_VERDICT_MAX; v++)
		n += p->count[v];
	return n;
}
