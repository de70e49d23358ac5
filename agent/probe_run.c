/*
 * probe_run.c - see probe_run.h.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "probe_run.h"
#include "util.h"

#define SELFTEST_WAIT_MS	5000

enum step_kind { STEP_PROBE, STEP_SELFTEST };

struct step {
	enum step_kind	 kind;
	uint8_t		 what;		/* SELFTEST_* */
	unsigned	 repeat;	/* STEP_PROBE: this many, one at a time */
};

/* The -P command: a sequence of probe and self-test steps. */
static struct {
	struct step	 steps[64];
	size_t		 nsteps, cur;
	int		 running;
	int64_t		 deadline;
	int		 failures;
	unsigned	 probes_ok;
	unsigned	 done;		/* of the current step's repeats */
	int64_t		 first_us, last_us;	/* probes: start, end */
} run;

/* Network data reaches the terminal printable, or as '.'. */
static void
print_body(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ch = p[i];

		putchar((ch >= 0x20 && ch <= 0x7e) || ch == '\n' || ch == '\t' ?
		    ch : '.');
	}
	if (n > 0 && p[n - 1] != '\n')
		putchar('\n');
}

static void
probe_cmd_done(struct agent *a, struct job *j, const struct ipc_job_result *r,
    const char *error)
{
	if (r == NULL || r->status != JOB_OK) {
		printf("probe %u: %s: FAILED: %s\n", j->id, a->cfg->probe_url,
		    r ? r->error : error);
		run.failures++;
	} else {
		printf("probe %u: %s: HTTP %u, %s, %zu bytes%s\n", j->id,
		    a->cfg->probe_url, r->http_status, r->tls_version, r->body_len,
		    r->truncated ? " (truncated)" : "");
		print_body(r->body, r->body_len);
		run.probes_ok++;
	}
	fflush(stdout);
	run.last_us = monotime_us();
	run.running = 0;
	if (++run.done >= run.steps[run.cur].repeat) {
		run.done = 0;
		run.cur++;
	}
}

static void
probe_daemon_done(struct agent *a, struct job *j,
    const struct ipc_job_result *r, const char *error)
{
	(void)j;
	if (r == NULL || r->status != JOB_OK)
		log_warn("probe: %s: failed: %s", a->cfg->probe_url,
		    r ? r->error : error);
	else
		log_info("probe: %s: HTTP %u over %s, %zu bytes",
		    a->cfg->probe_url, r->http_status, r->tls_version,
		    r->body_len);
}

static void
start_probe(struct agent *a, job_done_fn done)
{
	if (job_new_probe(a, a->cfg->probe_url, done) == NULL)
		log_warn("probe: too many jobs in flight");
}

int
probe_run_step(struct agent *a, int64_t now)
{
	struct step *s;

	if (run.cur >= run.nsteps)
		return 1;
	s = &run.steps[run.cur];
	if (s->kind == STEP_PROBE) {
		if (!run.running) {
			run.running = 1;
			if (run.first_us == 0)
				run.first_us = monotime_us();
			start_probe(a, probe_cmd_done);
		}
		return 0;
	}
	if (!run.running) {
		struct ipc_selftest	 st = { s->what };
		struct wbuf		 b;

		if (!a->child.ready)
			return 0;
		wbuf_init(&b, IPC_MAX_PAYLOAD);
		ipc_enc_selftest(&b, &st);
		a->child.selftest = s->what;
		a->child.selftest_ok = 0;
		printf("sandbox self-test: asking child %ld to call %s\n",
		    (long)a->child.pid, s->what == SELFTEST_OPENAT ? "openat" :
		    "execve");
		child_send(a, IPC_SELFTEST, 0, &b);
		wbuf_free(&b);
		run.running = 1;
		run.deadline = now + SELFTEST_WAIT_MS;
		return 0;
	}
	if (a->child.pid == 0 || now > run.deadline) {
		const char *name = s->what == SELFTEST_OPENAT ? "openat" : "execve";

		if (a->child.pid != 0)
			child_kill(a, "self-test: child survived");
		if (a->child.pid == 0 && a->child.selftest_ok)
			printf("sandbox self-test: %s: child killed by SIGSYS: "
			    "ok\n", name);
		else {
			printf("sandbox self-test: %s: child was NOT killed by "
			    "SIGSYS: FAILED\n", name);
			run.failures++;
		}
		fflush(stdout);
		a->child.selftest = 0;
		run.running = 0;
		run.cur++;
	}
	return 0;
}

void
probe_run_plan(unsigned count, int selftest)
{
	run.steps[run.nsteps++] = (struct step){ STEP_PROBE, 0, count };
	if (!selftest)
		return;
	run.steps[run.nsteps++] = (struct step){ STEP_SELFTEST, SELFTEST_OPENAT, 1 };
	run.steps[run.nsteps++] = (struct step){ STEP_PROBE, 0, 1 };
	run.steps[run.nsteps++] = (struct step){ STEP_SELFTEST, SELFTEST_EXECVE, 1 };
	run.steps[run.nsteps++] = (struct step){ STEP_PROBE, 0, 1 };
}

int
probe_run_report(void)
{
	/* Sequential full handshakes: the rate is the path's throughput. */
	printf("%u probes succeeded, %d steps failed; %.1f probes per "
	    "second\n", run.probes_ok, run.failures, run.last_us >
	    run.first_us ? (double)run.probes_ok * 1e6 /
	    (double)(run.last_us - run.first_us) : 0.0);
	return run.failures == 0 ? 0 : 1;
}

static int64_t	 next_probe_ms;		/* the daemon's; 0: none */

void
probe_daemon_schedule(const struct agent *a, int64_t now)
{
	if (a->cfg->probe_url != NULL && a->cfg->probe_interval_s > 0)
		next_probe_ms = now;
}

int64_t
probe_daemon_next_ms(void)
{
	return next_probe_ms;
}

void
probe_daemon_tick(struct agent *a, int64_t now)
{
	if (next_probe_ms == 0 || now < next_probe_ms)
		return;
	start_probe(a, probe_daemon_done);
	next_probe_ms = now + (int64_t)a->cfg->probe_interval_s * 1000;
}

void
probe_daemon_now(struct agent *a)
{
	if (a->cfg->probe_url != NULL)
		start_probe(a, probe_daemon_done);
}
