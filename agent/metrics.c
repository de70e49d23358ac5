/*
 * metrics.c - the agent's counters in Prometheus text format (the
 * "metrics" operation of the local API).
 */
#include <stdio.h>

#include "agent.h"
#include "orders.h"

static void
counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help,
	    name, name, (unsigned long long)v);
}

void
metrics_write(const struct agent *a, FILE *f)
{
	static const char *const verdict[] = { "granted", "refused_scheme",
	    "refused_digest_length", "refused_no_job", "refused_rate" };
	static const char *const states[] = { "received", "awaiting_approval",
	    "submitting", "pending", "issued", "rejected", "failed",
	    "revoked" };
	const struct sign_policy *p = &a->sp;

	fprintf(f, "# HELP hsmagent_signatures_total HSM signatures asked "
	    "for by the connector child, by verdict\n"
	    "# TYPE hsmagent_signatures_total counter\n");
	for (int v = SIGN_GRANT; v <= SIGN_DENY_RATE; v++)
		fprintf(f, "hsmagent_signatures_total{verdict=\"%s\"} %llu\n",
		    verdict[v - SIGN_GRANT],
		    (unsigned long long)p->count[v]);
	counter(f, "hsmagent_hsm_sign_failures_total",
	    "signatures the HSM failed to make", p->failed);
	counter(f, "hsmagent_child_restarts_total",
	    "connector child restarts", a->child.restarts);
	counter(f, "hsmagent_sandbox_kills_total",
	    "connector children killed by seccomp (SIGSYS)",
	    a->child.sigsys_kills);
	counter(f, "hsmagent_protocol_violations_total",
	    "malformed or unexpected messages from the child",
	    a->child.violations);
	counter(f, "hsmagent_api_connections_total", "accepted connections",
	    a->api.accepted);
	counter(f, "hsmagent_api_connections_refused_total",
	    "connections refused by the limits", a->api.refused);
	counter(f, "hsmagent_api_bad_requests_total",
	    "malformed requests", a->api.bad_requests);
	fprintf(f, "# HELP hsmagent_api_requests_total requests by "
	    "operation\n# TYPE hsmagent_api_requests_total counter\n");
	for (int op = OP_ENROLL; op <= OP_VERSION; op++)
		fprintf(f, "hsmagent_api_requests_total{op=\"%s\"} %llu\n",
		    api_op_name((enum api_op)op),
		    (unsigned long long)a->api_requests[op]);
	fprintf(f, "# HELP hsmagent_orders orders by state\n"
	    "# TYPE hsmagent_orders gauge\n");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		uint64_t n = 0;

		orders_count_by_state(a->orders, states[i], &n);
		fprintf(f, "hsmagent_orders{state=\"%s\"} %llu\n", states[i],
		    (unsigned long long)n);
	}
}
