/*
 * hsm_worker.c - see hsm_worker.h.
 *
 * One thread, one FIFO, one mutex for the queues (mu) and one for the
 * token (token). The worker takes an item under mu, runs it under token
 * only, and puts it on the done list under mu, then writes a byte to
 * the pipe. The loop never takes token except through hsm_worker_lock's
 * bounded wait, so no call of the loop can wait on the token for long.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hsm_worker.h"
#include "util.h"

struct hsm_worker {
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_mutex_t	 token;
	int		 pipe[2];	/* [0] the loop polls, [1] the worker */
	struct hsm_work	*queue, **queue_tail;
	size_t		 nqueued;
	struct hsm_work	*done, **done_tail;
	struct hsm_work	*current;	/* in the worker's hands */
	int64_t		 current_since_ms;
	int		 stuck;		/* current is overdue */
	int		 quit;
	int		 running;	/* the thread exists */
	int		 exited;
	/* hsm_worker_set_finisher(): set before the first submit. */
	pthread_mutex_t	*loop_lock;
	void		(*finish)(void *, struct hsm_work *);
	void		*finish_ctx;
};

static void
append(struct hsm_work ***tail, struct hsm_work *w)
{
	w->next = NULL;
	**tail = w;
	*tail = &w->next;
}

/* Called with mu held. */
static void
finish_locked(struct hsm_worker *hw, struct hsm_work *w)
{
	char	 c = 'd';

	append(&hw->done_tail, w);
	/* The pipe only wakes the loop; a full pipe has woken it already. */
	(void)!write(hw->pipe[1], &c, 1);
}

/* The worker's hands are empty (mu held): nothing can be overdue. */
static void
no_current(struct hsm_worker *hw)
{
	hw->current = NULL;
	hw->current_since_ms = 0;
	hw->stuck = 0;
}

/*
 * The loop's lock, for the finisher: 0 when held; -1 once the worker is
 * told to quit while waiting for it (the loop may be stopping it with
 * the lock held). Never called holding mu: the lock order is the loop's
 * lock, then mu.
 */
static int
take_loop_lock(struct hsm_worker *hw)
{
	struct timespec	 until;
	int		 quit;

	for (;;) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 10 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_sec++;
			until.tv_nsec -= 1000 * 1000 * 1000;
		}
		if (pthread_mutex_timedlock(hw->loop_lock, &until) == 0)
			return 0;
		pthread_mutex_lock(&hw->mu);
		quit = hw->quit;
		pthread_mutex_unlock(&hw->mu);
		if (quit)
			return -1;
	}
}

/*
 * A finished item, with a finisher: handed over on this thread, under
 * the loop's lock, so that the answer reaches the child without waking
 * the loop first (one thread switch and the pipe's three system calls
 * fewer per signature). The item stops being current before the
 * finisher runs: the loop, once it has the lock again, cannot take it
 * for overdue. 0, or -1 when the loop's path must take it (stopping).
 */
static int
finish_on_worker(struct hsm_worker *hw, struct hsm_work *w)
{
	if (hw->finish == NULL || take_loop_lock(hw) == -1)
		return -1;
	pthread_mutex_lock(&hw->mu);
	no_current(hw);
	pthread_mutex_unlock(&hw->mu);
	hw->finish(hw->finish_ctx, w);
	pthread_mutex_unlock(hw->loop_lock);
	return 0;
}

static void	free_list(struct hsm_work *);

/*
 * An item no one waits for, back in time: freed here, without the loop's
 * lock. 0; -1 when it went overdue, and the loop, which answered for it,
 * must see it come back.
 */
static int
forget_quiet(struct hsm_worker *hw, struct hsm_work *w)
{
	pthread_mutex_lock(&hw->mu);
	if (w->overdue) {
		pthread_mutex_unlock(&hw->mu);
		return -1;
	}
	no_current(hw);
	pthread_mutex_unlock(&hw->mu);
	w->next = NULL;
	free_list(w);
	return 0;
}

static void *
worker_main(void *arg)
{
	struct hsm_worker	*hw = arg;
	struct hsm_work		*w;

	pthread_mutex_lock(&hw->mu);
	for (;;) {
		while (!hw->quit && hw->queue == NULL)
			pthread_cond_wait(&hw->cv, &hw->mu);
		if (hw->quit) {
			/* Stopping: what never ran comes back failed. */
			while ((w = hw->queue) != NULL) {
				hw->queue = w->next;
				w->rc = -1;
				w->not_run = 1;
				snprintf(w->err, sizeof(w->err), "the agent is "
				    "stopping");
				finish_locked(hw, w);
			}
			hw->queue_tail = &hw->queue;
			hw->nqueued = 0;
			break;
		}
		w = hw->queue;
		if ((hw->queue = w->next) == NULL)
			hw->queue_tail = &hw->queue;
		hw->nqueued--;
		hw->current = w;
		hw->current_since_ms = monotime_ms();
		pthread_mutex_unlock(&hw->mu);

		pthread_mutex_lock(&hw->token);
		w->siglen = 0;
		w->err[0] = '\0';
		w->rc = w->fn(w);
		pthread_mutex_unlock(&hw->token);

		if (w->quiet && forget_quiet(hw, w) == 0) {
			pthread_mutex_lock(&hw->mu);
			continue;
		}
		if (!w->direct && finish_on_worker(hw, w) == 0) {
			pthread_mutex_lock(&hw->mu);
			continue;
		}
		pthread_mutex_lock(&hw->mu);
		no_current(hw);
		finish_locked(hw, w);
	}
	hw->exited = 1;
	pthread_mutex_unlock(&hw->mu);
	return NULL;
}

struct hsm_worker *
hsm_worker_new(void)
{
	struct hsm_worker *hw = xcalloc(1, sizeof(*hw));

	hw->queue_tail = &hw->queue;
	hw->done_tail = &hw->done;
	if (pipe2(hw->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		free(hw);
		return NULL;
	}
	pthread_mutex_init(&hw->mu, NULL);
	pthread_cond_init(&hw->cv, NULL);
	pthread_mutex_init(&hw->token, NULL);
	if (pthread_create(&hw->thread, NULL, worker_main, hw) != 0) {
		close(hw->pipe[0]);
		close(hw->pipe[1]);
		free(hw);
		return NULL;
	}
	hw->running = 1;
	return hw;
}

static void
free_list(struct hsm_work *w)
{
	struct hsm_work *next;

	for (; w != NULL; w = next) {
		next = w->next;
		if (w->input != NULL)
			explicit_bzero(w->input, w->len);
		free(w->input);
		explicit_bzero(w->sig, sizeof(w->sig));
		free(w);
	}
}

int
hsm_worker_stop(struct hsm_worker *hw, int wait_ms)
{
	int64_t	 until = monotime_ms() + wait_ms;
	int	 exited;

	if (hw == NULL || !hw->running)
		return 0;
	pthread_mutex_lock(&hw->mu);
	hw->quit = 1;
	pthread_cond_signal(&hw->cv);
	pthread_mutex_unlock(&hw->mu);
	for (;;) {
		pthread_mutex_lock(&hw->mu);
		exited = hw->exited;
		pthread_mutex_unlock(&hw->mu);
		if (exited || monotime_ms() >= until)
			break;
		usleep(10000);
	}
	if (!exited)
		return -1;	/* inside the token: left as it is */
	pthread_join(hw->thread, NULL);
	hw->running = 0;
	return 0;
}

void
hsm_worker_free(struct hsm_worker *hw)
{
	if (hw == NULL || hw->running)
		return;		/* a thread still in the token keeps it */
	free_list(hw->queue);
	free_list(hw->done);
	close(hw->pipe[0]);
	close(hw->pipe[1]);
	pthread_mutex_destroy(&hw->mu);
	pthread_cond_destroy(&hw->cv);
	pthread_mutex_destroy(&hw->token);
	free(hw);
}

void
hsm_worker_set_finisher(struct hsm_worker *hw, pthread_mutex_t *loop_lock,
    void (*finish)(void *, struct hsm_work *), void *ctx)
{
	pthread_mutex_lock(&hw->mu);
	hw->loop_lock = loop_lock;
	hw->finish = finish;
	hw->finish_ctx = ctx;
	pthread_mutex_unlock(&hw->mu);
}

void
hsm_worker_wake(struct hsm_worker *hw)
{
	char c = 'w';

	(void)!write(hw->pipe[1], &c, 1);
}

int
hsm_worker_fd(const struct hsm_worker *hw)
{
	return hw->pipe[0];
}

int
hsm_worker_submit(struct hsm_worker *hw, struct hsm_work *w)
{
	int r = -1;

	pthread_mutex_lock(&hw->mu);
	if (!hw->stuck && hw->nqueued < HSM_WORKER_MAX_QUEUE) {
		w->overdue = 0;
		w->not_run = 0;
		append(&hw->queue_tail, w);
		hw->nqueued++;
		r = 0;
	}
	pthread_mutex_unlock(&hw->mu);
	/*
	 * Woken after mu is free: woken inside it, the worker on the other
	 * CPU would wake only to sleep on mu again. It tests the queue
	 * under mu, so the wake-up cannot be lost.
	 */
	if (r == 0)
		pthread_cond_signal(&hw->cv);
	return r;
}

struct hsm_work *
hsm_worker_take(struct hsm_worker *hw)
{
	struct hsm_work	*list;
	char		 buf[64];

	/* One read empties it unless it came back full: one wake-up byte
	 * per finished signature, and this runs after each. */
	while (read(hw->pipe[0], buf, sizeof(buf)) == (ssize_t)sizeof(buf))
		;
	pthread_mutex_lock(&hw->mu);
	list = hw->done;
	hw->done = NULL;
	hw->done_tail = &hw->done;
	pthread_mutex_unlock(&hw->mu);
	return list;
}

struct hsm_work *
hsm_worker_overdue(struct hsm_worker *hw, int64_t now_ms, int64_t limit_ms)
{
	struct hsm_work	*w = NULL, *q, *next;

	pthread_mutex_lock(&hw->mu);
	if (hw->current != NULL && !hw->stuck &&
	    now_ms - hw->current_since_ms > limit_ms) {
		w = hw->current;
		w->overdue = 1;
		hw->stuck = 1;
		/* Behind a token that does not answer: failed now. */
		for (q = hw->queue; q != NULL; q = next) {
			next = q->next;
			q->rc = -1;
			q->not_run = 1;
			q->siglen = 0;
			snprintf(q->err, sizeof(q->err), "queued behind a "
			    "signature the HSM has not answered");
			finish_locked(hw, q);
		}
		hw->queue = NULL;
		hw->queue_tail = &hw->queue;
		hw->nqueued = 0;
	}
	pthread_mutex_unlock(&hw->mu);
	return w;
}

int
hsm_worker_idle(struct hsm_worker *hw)
{
	int i;

	pthread_mutex_lock(&hw->mu);
	i = hw->current == NULL && hw->queue == NULL && !hw->stuck;
	pthread_mutex_unlock(&hw->mu);
	return i;
}

int
hsm_worker_stuck(struct hsm_worker *hw)
{
	int s;

	pthread_mutex_lock(&hw->mu);
	s = hw->stuck;
	pthread_mutex_unlock(&hw->mu);
	return s;
}

int64_t
hsm_worker_deadline(struct hsm_worker *hw, int64_t limit_ms)
{
	int64_t t = 0;

	pthread_mutex_lock(&hw->mu);
	if (hw->current != NULL && !hw->stuck)
		t = hw->current_since_ms + limit_ms + 1;
	pthread_mutex_unlock(&hw->mu);
	return t;
}

int
hsm_worker_lock(struct hsm_worker *hw, int wait_ms)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_mutex_timedlock(&hw->token, &ts) == 0 ? 0 : -1;
}

void
hsm_worker_unlock(struct hsm_worker *hw)
{
	pthread_mutex_unlock(&hw->token);
}
