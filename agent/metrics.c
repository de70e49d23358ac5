/*
 * metrics.c - the agent's counters in Prometheus text format (the
 * "metrics" operation of the local API).
 */
#include <stdio.h>

#include "agent.h"
#include "orders.h"
#include "tracked.h"

static void
counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help,
	    name, name, (unsigned long long)v);
}

static void
gauge_head(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

struct tracked_metric {
	FILE	*f;
	int	 which;		/* 0 not_after, 1 renew_at, 2 attempts */
};

static int
tracked_metrics(const struct tracked *t, void *arg)
{
	static const char *const name[] = { "not_after_seconds",
	    "renew_at_seconds", "failed_attempts" };
	struct tracked_metric	*m = arg;
	long long		 v = m->which == 0 ? t->not_after :
				    m->which == 1 ? t->renew_at : t->attempts;

	/* Names are [a-z0-9._-]: nothing to escape in a label. */
	fprintf(m->f, "hsmagent_tracked_%s{name=\"%s\"} %lld\n",
	    name[m->which], t->name, v);
	return 0;
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
	for (int op = OP_ENROLL; op <= OP_LAST; op++)
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
	gauge_head(f, "hsmagent_client_certificate_not_after_seconds",
	    "expiry of the gateway client certificate (unix time)");
	fprintf(f, "hsmagent_client_certificate_not_after_seconds %lld\n",
	    (long long)a->cert_not_after);
	for (int w = 0; w < 3; w++) {
		struct tracked_metric m = { f, w };

		gauge_head(f, w == 0 ? "hsmagent_tracked_not_after_seconds" :
		    w == 1 ? "hsmagent_tracked_renew_at_seconds" :
		    "hsmagent_tracked_failed_attempts", w == 0 ? "expiry of each "
		    "tracked certificate (unix time; 0 not issued)" : w == 1 ?
		    "when each tracked certificate's renewal window opens" :
		    "failed renewal attempts since the last issue");
		tracked_list(a->orders, -1, tracked_metrics, &m);
	}
}
