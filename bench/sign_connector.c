/*
 * sign_connector.c - benchmark builds only (linked into the test child,
 * never the product): a connector type whose "request" is a run of
 * signatures with the job's proxy key, the way libssl makes them
 * (EVP_DigestSign: SHA-256, PSS for RSA as TLS 1.3 uses), each one
 * answered by the parent over IPC and the HSM. The profile "sign-N"
 * says how many TLS 1.3 CertificateVerify contents, "sign12-N" how many
 * TLS 1.2 digests (a connector with allow_tls12 = yes); the job is
 * rejected with "signed N in T us, p50 X ns, p99 Y ns", which
 * bench/run.sh reads. So the figure covers the whole privsep path:
 * sandboxed child -> IPC -> sign policy -> HSM -> audit -> IPC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "sign_loop.h"

#define BENCH_MAX_SIGNS	1000000

static int
bench_prepare(struct ca_xfer *x)
{
	long		 n, failed = 0;
	struct bench_sign_times t;
	char		*end;

	int		 tls13 = strncmp(x->profile, "sign-", 5) == 0;
	size_t		 skip = tls13 ? 5 : 7;

	if ((!tls13 && strncmp(x->profile, "sign12-", 7) != 0) ||
	    (n = strtol(x->profile + skip, &end, 10)) < 1 || *end != '\0' ||
	    n > BENCH_MAX_SIGNS) {
		snprintf(x->prep_error, sizeof(x->prep_error), "profile %s: "
		    "want sign-N or sign12-N, 1 <= N <= %d", x->profile,
		    BENCH_MAX_SIGNS);
		return -1;
	}
	if (bench_sign_loop(x->t.key, n, tls13, &t, &failed) == -1) {
		snprintf(x->prep_error, sizeof(x->prep_error),
		    "signature %ld of %ld failed", failed, n);
		return -1;
	}
	snprintf(x->prep_error, sizeof(x->prep_error), "signed %ld in %lld us, "
	    "p50 %lld ns, p99 %lld ns", n, (long long)t.total_us,
	    (long long)t.p50_ns, (long long)t.p99_ns);
	return -1;
}

static void
bench_parse(struct ca_xfer *x, long http, struct ipc_ca_result *r)
{
	(void)x;
	(void)http;
	r->outcome = CA_REJECTED;
}

const struct connector_type bench_sign_connector = {
	.name = "bench-sign",
	.lookup_needs_handle = 1,
	.prepare = bench_prepare,
	.parse = bench_parse,
};
