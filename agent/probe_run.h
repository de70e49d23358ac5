/*
 * probe_run.h - the parent's probes: an mTLS request to [probe] url
 * through the sandboxed child and the HSM, the whole signing path end
 * to end.
 *  - hsmagentd -P runs a planned sequence of probes (and, with -S, the
 *    sandbox self-tests between them), prints each result on stdout and
 *    a closing rate; the exit status says whether every step passed;
 *  - the daemon probes every [probe] interval seconds and on SIGUSR1,
 *    into its log.
 */
#ifndef HSMAGENT_PROBE_RUN_H
#define HSMAGENT_PROBE_RUN_H

#include <stdint.h>

struct agent;

#define PROBE_MAX_COUNT		100000	/* -n */

/* -P: count probes, then, with selftest, openat and execve each. */
void	probe_run_plan(unsigned count, int selftest);
/* Advances the -P sequence (from the loop); 1 when it is over. */
int	probe_run_step(struct agent *, int64_t now);
/* The closing line of -P; its exit status (0: every step passed). */
int	probe_run_report(void);

/* The daemon: first probe now, when [probe] has an interval. */
void	probe_daemon_schedule(const struct agent *, int64_t now);
/* When the next periodic probe is due (0: none), for poll's timeout. */
int64_t	probe_daemon_next_ms(void);
/* Starts the periodic probe when due. */
void	probe_daemon_tick(struct agent *, int64_t now);
/* One probe now (SIGUSR1), logged. */
void	probe_daemon_now(struct agent *);

#endif
