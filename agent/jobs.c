/*
 * jobs.c - the parent's table of jobs given to the child. A job in
 * state JOB_SENT is "in flight": only then may the child obtain a
 * signature naming it.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "util.h"

struct job *
job_new(struct agent *a, const char *url, job_done_fn done)
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
		j->done = done;
		snprintf(j->url, sizeof(j->url), "%s", url);
		jobs_send_queued(a);
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
job_release(struct job *j)
{
	memset(j, 0, sizeof(*j));
}

void
jobs_send_queued(struct agent *a)
{
	if (!a->child.ready || a->child.selftest)
		return;
	for (size_t i = 0; i < AGENT_MAX_JOBS; i++) {
		struct job		*j = &a->jobs[i];
		struct ipc_job_probe	 p;
		struct wbuf		 b;

		if (j->state != JOB_QUEUED)
			continue;
		snprintf(p.url, sizeof(p.url), "%s", j->url);
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		ipc_enc_job_probe(&b, &p);
		if (child_send(a, IPC_JOB_PROBE, j->id, &b) == 0) {
			j->state = JOB_SENT;
			j->deadline_ms = monotime_ms() +
			    (int64_t)a->cfg->tls_timeout_s * 1000 + JOB_GRACE_MS;
		}
		wbuf_free(&b);
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
		j->done(a, j, NULL, error);
		job_release(j);
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
