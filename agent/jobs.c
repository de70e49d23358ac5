/*
 * jobs.c - the parent's table of jobs given to the child. A job in
 * state JOB_SENT is "in flight": only then may the child obtain a
 * signature naming it.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "connector_kind.h"
#include "http01_server.h"
#include "log.h"
#include "util.h"

static struct job *
job_alloc(struct agent *a, uint16_t type)
{
	for (size_t i = 0; i < AGENT_MAX_JOBS; i++) {
		struct job *j = &a->jobs[i];

		if (j->state != JOB_FREE)
			continue;
		memset(j, 0, sizeof(*j));
		/* Ids are never 0 and never reused while the agent runs. */
		if (++a->next_job == 0)
			++a->next_job;
		j->id = a->next_job;
		j->state = JOB_QUEUED;
		j->type = type;
		return j;
	}
	return NULL;
}

struct job *
job_new_probe(struct agent *a, const char *url, job_done_fn done)
{
	struct job		*j = job_alloc(a, IPC_JOB_PROBE);
	struct ipc_job_probe	 p;

	if (j == NULL)
		return NULL;
	j->done = done;
	memset(&p, 0, sizeof(p));
	snprintf(p.url, sizeof(p.url), "%s", url);
	p.allow_tls12 = a->cfg->probe_allow_tls12 ? 1 : 0;
	wbuf_init(&j->payload, IPC_MAX_PAYLOAD);
	ipc_enc_job_probe(&j->payload, &p);
	jobs_send_queued(a);
	return j;
}

/* The index of the connector a CA job names (for its metrics), or -1. */
static int
job_connector(const struct agent *a, const struct wbuf *payload)
{
	struct ipc_msg		m = { IPC_JOB_CA, 0, payload->data, payload->len,
				    -1, 0 };
	struct ipc_job_ca	jc;

	if (ipc_dec_job_ca(&m, &jc) == -1)
		return -1;
	for (size_t i = 0; i < a->cfg->nconnectors; i++)
		if (strcmp(a->cfg->connectors[i].name, jc.connector) == 0)
			return (int)i;
	return -1;
}

struct job *
job_new_ca(struct agent *a, struct wbuf *payload, ca_done_fn done,
    const char *order, uint8_t action)
{
	struct job *j = job_alloc(a, IPC_JOB_CA);

	if (j == NULL) {
		wbuf_free(payload);
		return NULL;
	}
	j->ca_done = done;
	j->conn = job_connector(a, payload);
	j->payload = *payload;
	memset(payload, 0, sizeof(*payload));
	snprintf(j->order, sizeof(j->order), "%s", order);
	j->ca_action = action;
	jobs_send_queued(a);
	return j;
}

struct job *
job_for_order(struct agent *a, const char *order)
{
	for (size_t i = 0; i < AGENT_MAX_JOBS; i++) {
		struct job *j = &a->jobs[i];

		if (j->state != JOB_FREE && j->type == IPC_JOB_CA &&
		    strcmp(j->order, order) == 0)
			return j;
	}
	return NULL;
}

struct job *
job_find(struct agent *a, uint32_t id)
{
	for (size_t i = 0; i < AGENT_MAX_JOBS; i++) {
		if (a->jobs[i].state != JOB_FREE && a->jobs[i].id == id)
			return &a->jobs[i];
	}
	return NULL;
}

void
job_release(struct agent *a, struct job *j)
{
	/* Its http-01 tokens go with it: none is answered for a dead job. */
	http01_job_ended(a->http01, j->id);
	hsm_forget_for(a, j);
	wbuf_free(&j->payload);
	free(j->acme_pins);
	memset(j, 0, sizeof(*j));
}

/* The kind of the job's connector; NULL for a probe. */
static const struct connector_kind *
job_kind(const struct agent *a, const struct job *j)
{
	if (j->type != IPC_JOB_CA || j->conn < 0 ||
	    (size_t)j->conn >= a->cfg->nconnectors)
		return NULL;
	return connector_kind_of(&a->cfg->connectors[j->conn]);
}

/*
 * How long the child may take before the job counts as hung: its
 * kind's request timeouts (one; an ACME job is a run of requests),
 * plus grace. Each signature it obtains starts that time again: a long
 * order lives while it makes progress, a hung child is still caught.
 */
static int64_t
job_requests(const struct agent *a, const struct job *j)
{
	const struct connector_kind *k = job_kind(a, j);

	return k != NULL ? k->job_requests : 1;
}

void
job_alive(struct agent *a, struct job *j)
{
	int64_t requests;

	if (j == NULL)
		return;
	requests = job_requests(a, j);
	j->deadline_ms = monotime_ms() + requests *
	    (int64_t)a->cfg->tls_timeout_s * 1000 + JOB_GRACE_MS;
	/* A job ends with its signing window, whatever it was granted. */
	if (j->sign_until_ms != 0 && j->deadline_ms > j->sign_until_ms)
		j->deadline_ms = j->sign_until_ms;
}

/*
 * The signing window, from the job's send: one request's timeout and
 * grace, and for an ACME job (a run of requests) the child's budget for
 * one job (ACME_JOB_BUDGET_REQUESTS timeouts) before it; no grant
 * extends it (job_alive stops there).
 */
static int64_t
job_sign_window_ms(const struct agent *a, const struct job *j)
{
	const struct connector_kind	*k = job_kind(a, j);
	int64_t				 requests = k != NULL ?
					    k->window_requests : 1;

	return requests * (int64_t)a->cfg->tls_timeout_s * 1000 + JOB_GRACE_MS;
}

/* Does the job's connector (or the probe) allow TLS 1.2 signatures? */
int
job_allows_tls12(const struct agent *a, const struct job *j)
{
	if (j->type == IPC_JOB_PROBE)
		return a->cfg->probe_allow_tls12;
	return j->conn >= 0 && (size_t)j->conn < a->cfg->nconnectors &&
	    a->cfg->connectors[j->conn].allow_tls12;
}

/*
 * May the job's CA ask for the client certificate? A probe's and a
 * certificate-authenticated CA's do; an ACME server and Sectigo's
 * password API do not.
 */
int
job_presents_tls_key(const struct agent *a, const struct job *j)
{
	const struct connector_kind	*k = job_kind(a, j);
	const char			*auth;

	if (j->type != IPC_JOB_CA)
		return 1;
	if (k == NULL || k->has_account_key)
		return 0;
	auth = a->cfg->connectors[j->conn].auth;
	return auth == NULL || strcmp(auth, "password") != 0;
}

const char *
job_connector_name(const struct agent *a, const struct job *j)
{
	if (j == NULL || j->type != IPC_JOB_CA || j->conn < 0 ||
	    (size_t)j->conn >= a->cfg->nconnectors)
		return "";
	return a->cfg->connectors[j->conn].name;
}

void
jobs_send_queued(struct agent *a)
{
	if (!a->child.ready || a->child.selftest)
		return;
	for (size_t i = 0; i < AGENT_MAX_JOBS; i++) {
		struct job *j = &a->jobs[i];

		if (j->state != JOB_QUEUED)
			continue;
		if (child_send(a, j->type, j->id, &j->payload) == 0) {
			j->state = JOB_SENT;
			j->sent_ms = monotime_ms();
			j->sign_until_ms = j->sent_ms + job_sign_window_ms(a, j);
			job_alive(a, j);
		}
		if (!a->child.ready)
			return;		/* the send failed and killed it */
	}
}

void
jobs_fail_sent(struct agent *a, const char *error)
{
	for (size_t i = 0; i < AGENT_MAX_JOBS; i++) {
		struct job *j = &a->jobs[i];

		if (j->state != JOB_SENT)
			continue;
		if (j->type == IPC_JOB_CA)
			j->ca_done(a, j, NULL, error);
		else
			j->done(a, j, NULL, error);
		job_release(a, j);
	}
}

int64_t
jobs_next_deadline(const struct agent *a)
{
	int64_t next = 0;

	for (size_t i = 0; i < AGENT_MAX_JOBS; i++) {
		const struct job *j = &a->jobs[i];

		if (j->state == JOB_SENT && (next == 0 || j->deadline_ms < next))
			next = j->deadline_ms;
	}
	return next;
}

int
jobs_active(const struct agent *a)
{
	int n = 0;

	for (size_t i = 0; i < AGENT_MAX_JOBS; i++)
		n += a->jobs[i].state != JOB_FREE;
	return n;
}

int
jobs_room(const struct agent *a)
{
	return AGENT_MAX_JOBS - jobs_active(a);
}
