/*
 * metrics.c - the agent's counters in Prometheus text format (the
 * "metrics" operation of the local API). Times are absolute unix
 * seconds: Prometheus computes what is left (cert-manager's habit).
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

static void
latency_lines(FILE *f, const char *connector, const struct ca_latency *l)
{
	uint64_t cum = 0;

	for (size_t b = 0; b < CA_LATENCY_BUCKETS; b++) {
		cum += l->bucket[b];
		fprintf(f, "hsmagent_ca_request_duration_seconds_bucket"
		    "{connector=\"%s\",le=\"%g\"} %llu\n", connector,
		    ca_latency_bounds[b], (unsigned long long)cum);
	}
	fprintf(f, "hsmagent_ca_request_duration_seconds_bucket{connector="
	    "\"%s\",le=\"+Inf\"} %llu\n"
	    "hsmagent_ca_request_duration_seconds_sum{connector=\"%s\"} %.3f\n"
	    "hsmagent_ca_request_duration_seconds_count{connector=\"%s\"} "
	    "%llu\n", connector, (unsigned long long)l->count, connector,
	    l->sum, connector, (unsigned long long)l->count);
}

static void
ca_metrics(const struct agent *a, FILE *f)
{
	fprintf(f, "# HELP hsmagent_ca_request_duration_seconds CA calls "
	    "through the connector child, job sent to answer, by connector "
	    "(\"probe\": the [probe] URL)\n"
	    "# TYPE hsmagent_ca_request_duration_seconds histogram\n");
	for (size_t i = 0; i < a->cfg->nconnectors; i++)
		latency_lines(f, a->cfg->connectors[i].name,
		    &a->ca_targets[i].latency);
	if (a->cfg->probe_url != NULL)
		latency_lines(f, "probe", &a->ca_latency);
	/* Times of last events: no sample until the event happened. */
	for (int w = 0; w < 2; w++) {
		gauge_head(f, w == 0 ?
		    "hsmagent_ca_last_success_timestamp_seconds" :
		    "hsmagent_ca_last_failure_timestamp_seconds", w == 0 ?
		    "last CA call that got an answer (unix time)" : "last CA "
		    "call that got none: network, 5xx, 429 (unix time)");
		for (size_t i = 0; i < a->cfg->nconnectors; i++) {
			int64_t t = w == 0 ? a->ca_targets[i].last_ok :
			    a->ca_targets[i].last_fail;

			if (t > 0)
				fprintf(f, "hsmagent_ca_last_%s_timestamp_seconds"
				    "{connector=\"%s\"} %lld\n", w == 0 ?
				    "success" : "failure",
				    a->cfg->connectors[i].name, (long long)t);
		}
	}
}

static void
agent_metrics(struct agent *a, FILE *f)
{
	static const char *const cause[CHILD_CAUSES] = { "exited", "signal",
	    "sandbox", "killed", "rotation", "reload" };
	json_t			*checks = json_object(), *reasons = json_array();
	enum health_status	 hs = health_eval(a, checks, reasons);

	json_decref(checks);
	json_decref(reasons);
	gauge_head(f, "hsmagent_health", "1 for the current health status "
	    "(hsmagent health)");
	for (int i = HEALTH_OK; i <= HEALTH_DOWN; i++)
		fprintf(f, "hsmagent_health{status=\"%s\"} %d\n",
		    health_name((enum health_status)i), (int)hs == i);
	gauge_head(f, "hsmagent_build_info", "1, labelled with this build's "
	    "version");
	fprintf(f, "hsmagent_build_info{version=\"%s\"} 1\n",
	    HSMAGENT_VERSION);
	gauge_head(f, "hsmagent_start_time_seconds", "when the agent started "
	    "(unix time)");
	fprintf(f, "hsmagent_start_time_seconds %lld\n",
	    (long long)a->started_at);
	fprintf(f, "# HELP hsmagent_child_exits_total connector child ends, "
	    "by cause (each is followed by a restart)\n"
	    "# TYPE hsmagent_child_exits_total counter\n");
	for (int c = 0; c < CHILD_CAUSES; c++)
		fprintf(f, "hsmagent_child_exits_total{cause=\"%s\"} %llu\n",
		    cause[c], (unsigned long long)a->child.ends[c]);
	fprintf(f, "# HELP hsmagent_config_reloads_total SIGHUP reloads, by "
	    "outcome\n# TYPE hsmagent_config_reloads_total counter\n"
	    "hsmagent_config_reloads_total{outcome=\"ok\"} %llu\n"
	    "hsmagent_config_reloads_total{outcome=\"failed\"} %llu\n",
	    (unsigned long long)a->count.reloads[0],
	    (unsigned long long)a->count.reloads[1]);
}

void
metrics_write(struct agent *a, FILE *f)
{
	static const char *const verdict[] = { "granted", "refused_scheme",
	    "refused_digest_length", "refused_no_job", "refused_rate",
	    "refused_tls12" };
	static const enum order_state states[] = { ORDER_RECEIVED,
	    ORDER_AWAITING_APPROVAL, ORDER_SUBMITTING, ORDER_PENDING,
	    ORDER_ISSUED, ORDER_REJECTED, ORDER_FAILED, ORDER_REVOKED };
	const struct sign_policy *p = &a->sp;

	fprintf(f, "# HELP hsmagent_signatures_total HSM signatures asked "
	    "for by the connector child, by verdict\n"
	    "# TYPE hsmagent_signatures_total counter\n");
	for (int v = SIGN_GRANT; v <= SIGN_DENY_TLS12; v++)
		fprintf(f, "hsmagent_signatures_total{verdict=\"%s\"} %llu\n",
		    verdict[v - SIGN_GRANT],
		    (unsigned long long)p->count[v]);
	counter(f, "hsmagent_hsm_sign_failures_total",
	    "signatures the HSM failed to make", p->failed);
	counter(f, "hsmagent_hsm_sign_timeouts_total",
	    "signatures the token did not answer within reply_timeout_ms",
	    a->count.hsm_overdue);
	counter(f, "hsmagent_hsm_signatures_readied_total",
	    "TLS signatures the token was readied for (C_SignInit ahead: once "
	    "a job at its connection, then, on two CPUs or more, after each "
	    "of its signatures but its first)", a->count.tls_readied);
	counter(f, "hsmagent_hsm_signatures_readied_used_total",
	    "TLS signatures made with a readied C_SignInit (C_Sign alone)",
	    a->count.tls_readied_used);
	counter(f, "hsmagent_acme_signatures_refused_total",
	    "ACME JWS refused for what they say (acme_sign_policy)",
	    a->count.acme_refused);
	counter(f, "hsmagent_signatures_withheld_total",
	    "signatures made but not given to the child: their audit record "
	    "could not be written", a->count.sign_unrecorded);
	counter(f, "hsmagent_dns_failures_total",
	    "CA host names that could not be resolved for a connection",
	    a->count.dns_failures);
	counter(f, "hsmagent_child_log_lines_dropped_total",
	    "connector child log lines over the rate limit", a->child.log_dropped);
	counter(f, "hsmagent_child_restarts_total",
	    "connector child restarts", a->child.restarts);
	counter(f, "hsmagent_sandbox_kills_total",
	    "sandbox violations: connector children killed by seccomp "
	    "(SIGSYS)", a->child.sigsys_kills);
	counter(f, "hsmagent_protocol_violations_total",
	    "malformed or unexpected messages from the child",
	    a->child.violations);
	counter(f, "hsmagent_api_connections_total", "accepted connections",
	    a->api.accepted);
	counter(f, "hsmagent_api_connections_refused_total",
	    "connections refused by the limits", a->api.refused);
	counter(f, "hsmagent_api_bad_requests_total",
	    "malformed requests", a->api.bad_requests);
	counter(f, "hsmagent_api_throttled_total",
	    "requests refused because their uid was over its budget",
	    a->api.budget.refused_total);
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
		fprintf(f, "hsmagent_orders{state=\"%s\"} %llu\n",
		    order_state_name(states[i]), (unsigned long long)n);
	}
	gauge_head(f, "hsmagent_client_certificate_not_after_seconds",
	    "expiry of the gateway client certificate (unix time)");
	fprintf(f, "hsmagent_client_certificate_not_after_seconds %lld\n",
	    (long long)a->pub.cert_not_after);
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
	ca_metrics(a, f);
	agent_metrics(a, f);
}
