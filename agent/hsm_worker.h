/*
 * hsm_worker.h - PKCS#11 signatures off the event loop.
 *
 * A token can take seconds to sign (network HSMs do) or hang on a
 * partition; the parent's loop serves the local API, health and the
 * audit log, so it never waits on the token. Each signature is a work
 * item run by one worker thread, in order, under the token lock. The
 * worker then takes the loop's lock (which the loop holds except while
 * it waits in poll) and hands the item to the finisher, which writes
 * the grant's audit record and replies to the child, as the loop would:
 * the answer does not wait for the loop to wake. Without a finisher, or
 * while the worker is stopping, the loop learns of finished items
 * through a pipe and does the same.
 *
 * A signature that takes longer than the child waits for it (the
 * [signing] reply_timeout_ms) is overdue: hsm_worker_overdue() hands it
 * to the loop once, which fails it and says the HSM is down; the items
 * queued behind it come back failed, and new ones are refused, until the
 * token answers. PKCS#11 calls that stay on the loop (credential new and
 * retire, a rotation) take the token lock with a bounded wait, so a token
 * already hung in a signature makes them fail, not stall. A checkpoint's
 * signatures are work items too ("direct": the loop waits for them, at
 * most HSM_LOCK_WAIT_MS), so a token that hangs in one costs the loop
 * that wait once.
 *
 * Every submitted item comes back exactly once, to the finisher or from
 * hsm_worker_take(), overdue ones included (then the loop has already
 * answered for it).
 */
#ifndef HSMAGENT_HSM_WORKER_H
#define HSMAGENT_HSM_WORKER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm.h"

#define HSM_WORKER_MAX_QUEUE	64	/* the child asks one at a time */
#define HSM_LOCK_WAIT_MS	1000	/* the loop's own token calls */

struct hsm_work {
	/* Set by the submitter; fn runs on the worker, under the lock. */
	int		(*fn)(struct hsm_work *);
	void		 *arg;		/* for fn: the hsm, an account key */
	void		 *arg2;
	enum sign_scheme scheme;
	uint8_t		*input;		/* what fn signs: malloc'd, wiped */
	size_t		 len;
	/* The loop's own (the request it answers, the record it writes). */
	uint32_t	 req;
	uint32_t	 job_id;
	int		 kind;
	void		*record;
	long		 owner;		/* the child asking (its pid) */
	int64_t		 submitted_ms;
	int		 quiet;		/* no one waits: freed by the worker,
					   unless it went overdue */
	int		 direct;	/* handed back through the pipe, never
					   to the finisher: the loop waits for
					   it holding its lock (hsm_work_wait) */
	/* Set by the worker (or by hsm_worker_overdue for the queued). */
	int		 rc;		/* 0 or -1 with err */
	int		 readied;	/* the signature used a readied one */
	uint8_t		 sig[HSM_MAX_SIG];
	size_t		 siglen;
	char		 err[256];
	int		 overdue;	/* the loop answered for it already */
	int		 not_run;	/* failed without reaching the token */
	struct hsm_work	*next;
};

struct hsm_worker;

struct hsm_worker *hsm_worker_new(void);
/*
 * Stops the worker (what was queued comes back failed, for one more
 * hsm_worker_take); 0, or -1 if it is still inside a token call after
 * wait_ms: then the thread is left behind, and neither the worker nor
 * the token may be freed under it.
 */
int		 hsm_worker_stop(struct hsm_worker *, int wait_ms);
/* After hsm_worker_stop returned 0 (else nothing is freed). */
void		 hsm_worker_free(struct hsm_worker *);
/*
 * The finisher: fn(ctx, w) runs on the worker for each finished item, w
 * now the finisher's, with *loop_lock held (the loop must hold it
 * whenever it is not waiting in poll, and may call every hsm_worker_
 * function with it held). Items not handed over, because the worker
 * was stopping, come back from hsm_worker_take() as before. Set before
 * the first submit.
 */
void		 hsm_worker_set_finisher(struct hsm_worker *,
		    pthread_mutex_t *loop_lock,
		    void (*fn)(void *, struct hsm_work *), void *ctx);
/* Makes hsm_worker_fd() readable: the finisher wants the loop's timers
 * looked at again. */
void		 hsm_worker_wake(struct hsm_worker *);
/* Readable when finished items wait for hsm_worker_take(). */
int		 hsm_worker_fd(const struct hsm_worker *);
/*
 * Queues w (its fields up to submitted_ms set); the worker owns it
 * until it comes back. -1 (nothing queued) while a signature is overdue
 * or the queue is full.
 */
int		 hsm_worker_submit(struct hsm_worker *, struct hsm_work *);
/* The finished items, oldest first (a list through ->next), or NULL. */
struct hsm_work	*hsm_worker_take(struct hsm_worker *);
/*
 * The item the worker has been on for more than limit_ms, once: marked
 * overdue (it still comes back later), the queue behind it failed.
 * NULL if none.
 */
struct hsm_work	*hsm_worker_overdue(struct hsm_worker *, int64_t now_ms,
		    int64_t limit_ms);
/* 1 while an overdue signature has not come back. */
int		 hsm_worker_stuck(struct hsm_worker *);
/* 1 when nothing is queued, in the worker's hands or overdue. */
int		 hsm_worker_idle(struct hsm_worker *);
/* When the item in hand became overdue (0: none), for poll timeouts. */
int64_t		 hsm_worker_deadline(struct hsm_worker *, int64_t limit_ms);
/*
 * The token lock for PKCS#11 calls made on the loop: 0 when held, -1
 * if the worker kept it past wait_ms.
 */
int		 hsm_worker_lock(struct hsm_worker *, int wait_ms);
void		 hsm_worker_unlock(struct hsm_worker *);

#endif
