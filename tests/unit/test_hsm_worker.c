/*
 * test_hsm_worker.c - the HSM worker with a token that answers when the
 * test says so: order kept, every item back once, an overdue signature
 * handed over once with the queue behind it failed and new work refused
 * until the token answers, the loop's token lock bounded, a stop that
 * fails what never ran and refuses to free under a hung call; with a
 * finisher, each item handed to it on the worker only while the loop
 * lets go of its lock, and a stop with the lock held not deadlocked; a
 * quiet item freed by the worker unless it goes overdue; a direct item
 * handed back through take even with a finisher, and idle meaning
 * nothing queued, in hand or overdue.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hsm_worker.h"
#include "util.h"

/* The fake token: fn blocks while gate is closed. */
static pthread_mutex_t	gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	gate_cv = PTHREAD_COND_INITIALIZER;
static int		gate_open = 1;
static int		order[16], norder;

static void
gate(int open)
{
	pthread_mutex_lock(&gate_mu);
	gate_open = open;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

static int
fake_sign(struct hsm_work *w)
{
	pthread_mutex_lock(&gate_mu);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	if (norder < (int)(sizeof(order) / sizeof(order[0])))
		order[norder++] = (int)w->req;
	pthread_mutex_unlock(&gate_mu);
	memset(w->sig, 0xab, 8);
	w->siglen = 8;
	return 0;
}

static struct hsm_work *
item(uint32_t req)
{
	struct hsm_work *w = xcalloc(1, sizeof(*w));

	w->fn = fake_sign;
	w->req = req;
	w->input = xmalloc(4);
	memcpy(w->input, "abcd", 4);
	w->len = 4;
	return w;
}

static void
release(struct hsm_work *w)
{
	free(w->input);
	free(w);
}

/* Waits up to 5 s for n items back; returns them as an array. */
static size_t
collect(struct hsm_worker *hw, struct hsm_work **out, size_t n)
{
	struct pollfd	 p = { hsm_worker_fd(hw), POLLIN, 0 };
	size_t		 got = 0;
	int64_t		 until = monotime_ms() + 5000;

	while (got < n && monotime_ms() < until) {
		struct hsm_work *w, *next;

		(void)poll(&p, 1, 100);
		for (w = hsm_worker_take(hw); w != NULL; w = next) {
			next = w->next;
			out[got++] = w;
		}
	}
	return got;
}

static void
test_in_order_each_once(void **state)
{
	struct hsm_worker	*hw = hsm_worker_new();
	struct hsm_work		*back[8];

	(void)state;
	norder = 0;
	gate(1);
	assert_non_null(hw);
	for (uint32_t i = 1; i <= 5; i++)
		assert_int_equal(hsm_worker_submit(hw, item(i)), 0);
	assert_int_equal(collect(hw, back, 5), 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(back[i]->req, (uint32_t)i + 1);
		assert_int_equal(back[i]->rc, 0);
		assert_int_equal(back[i]->siglen, 8);
		assert_int_equal(back[i]->overdue, 0);
		assert_int_equal(order[i], i + 1);
		release(back[i]);
	}
	/* Nothing more comes back. */
	assert_null(hsm_worker_take(hw));
	assert_int_equal(hsm_worker_stop(hw, 1000), 0);
	hsm_worker_free(hw);
}

static void
test_overdue_then_recovered(void **state)
{
	struct hsm_worker	*hw = hsm_worker_new();
	struct hsm_work		*back[8], *late, *refused = item(9);
	int64_t			 t0;

	(void)state;
	norder = 0;
	gate(0);			/* the token hangs */
	assert_int_equal(hsm_worker_submit(hw, item(1)), 0);
	assert_int_equal(hsm_worker_submit(hw, item(2)), 0);
	assert_int_equal(hsm_worker_submit(hw, item(3)), 0);
	usleep(100000);
	t0 = monotime_ms();
	/* Not yet overdue at 10 s; the deadline says when. */
	assert_null(hsm_worker_overdue(hw, t0, 10000));
	assert_true(hsm_worker_deadline(hw, 10000) > t0);
	/* Overdue at 50 ms: item 1, once. */
	late = hsm_worker_overdue(hw, t0, 50);
	assert_non_null(late);
	assert_int_equal(late->req, 1);
	assert_int_equal(late->overdue, 1);
	assert_null(hsm_worker_overdue(hw, t0 + 1000, 50));
	assert_int_equal(hsm_worker_stuck(hw), 1);
	/* The two queued behind it come back failed, without the token. */
	assert_int_equal(collect(hw, back, 2), 2);
	assert_int_equal(back[0]->req, 2);
	assert_int_equal(back[1]->req, 3);
	assert_int_equal(back[0]->rc, -1);
	assert_int_equal(back[0]->not_run, 1);
	assert_non_null(strstr(back[1]->err, "has not answered"));
	release(back[0]);
	release(back[1]);
	/* New work is refused while it hangs; the loop's lock is bounded. */
	assert_int_equal(hsm_worker_submit(hw, refused), -1);
	t0 = monotime_ms();
	assert_int_equal(hsm_worker_lock(hw, 200), -1);
	assert_true(monotime_ms() - t0 < 2000);
	/* The token answers: item 1 comes back, still marked overdue. */
	gate(1);
	assert_int_equal(collect(hw, back, 1), 1);
	assert_ptr_equal(back[0], late);
	assert_int_equal(late->overdue, 1);
	assert_int_equal(late->rc, 0);
	release(late);
	assert_int_equal(hsm_worker_stuck(hw), 0);
	assert_int_equal(hsm_worker_submit(hw, refused), 0);
	assert_int_equal(collect(hw, back, 1), 1);
	assert_int_equal(back[0]->rc, 0);
	release(back[0]);
	assert_int_equal(hsm_worker_lock(hw, 200), 0);
	hsm_worker_unlock(hw);
	assert_int_equal(hsm_worker_stop(hw, 1000), 0);
	hsm_worker_free(hw);
}

static void
test_queue_cap(void **state)
{
	struct hsm_worker	*hw = hsm_worker_new();
	struct hsm_work		*back[HSM_WORKER_MAX_QUEUE + 2], *extra;
	size_t			 n;

	(void)state;
	gate(0);
	/* One in the worker's hands, then a full queue. */
	assert_int_equal(hsm_worker_submit(hw, item(0)), 0);
	usleep(100000);
	for (uint32_t i = 1; i <= HSM_WORKER_MAX_QUEUE; i++)
		assert_int_equal(hsm_worker_submit(hw, item(i)), 0);
	extra = item(999);
	assert_int_equal(hsm_worker_submit(hw, extra), -1);
	release(extra);
	gate(1);
	n = collect(hw, back, HSM_WORKER_MAX_QUEUE + 1);
	assert_int_equal(n, HSM_WORKER_MAX_QUEUE + 1);
	for (size_t i = 0; i < n; i++)
		release(back[i]);
	assert_int_equal(hsm_worker_stop(hw, 1000), 0);
	hsm_worker_free(hw);
}

static void
test_stop(void **state)
{
	struct hsm_worker	*hw = hsm_worker_new();
	struct hsm_work		*back[4];

	(void)state;
	gate(0);
	assert_int_equal(hsm_worker_submit(hw, item(1)), 0);
	assert_int_equal(hsm_worker_submit(hw, item(2)), 0);
	usleep(100000);
	/* Inside the token: not stopped, not freed. */
	assert_int_equal(hsm_worker_stop(hw, 200), -1);
	hsm_worker_free(hw);		/* a no-op while the thread lives */
	gate(1);
	assert_int_equal(hsm_worker_stop(hw, 2000), 0);
	/* Item 1 ran; item 2 never did and comes back failed. */
	assert_int_equal(collect(hw, back, 2), 2);
	assert_int_equal(back[0]->rc, 0);
	assert_int_equal(back[1]->rc, -1);
	assert_int_equal(back[1]->not_run, 1);
	assert_non_null(strstr(back[1]->err, "stopping"));
	release(back[0]);
	release(back[1]);
	hsm_worker_free(hw);
}

/* The finisher: what it was given, and whether it held the lock. */
static pthread_mutex_t	 loop_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hsm_work	*finished[8];
static int		 nfinished, finished_unlocked;

static void
finisher(void *ctx, struct hsm_work *w)
{
	(void)ctx;
	/* Held by the worker: a trylock from the same thread fails. */
	if (pthread_mutex_trylock(&loop_lock) == 0) {
		finished_unlocked++;
		pthread_mutex_unlock(&loop_lock);
	}
	if (nfinished < 8)
		finished[nfinished++] = w;
}

static int
finished_count(void)
{
	int n;

	pthread_mutex_lock(&loop_lock);
	n = nfinished;
	pthread_mutex_unlock(&loop_lock);
	return n;
}

static void
test_finisher(void **state)
{
	struct hsm_worker	*hw = hsm_worker_new();
	struct hsm_work		*back[4];
	int64_t			 until;

	(void)state;
	gate(1);
	nfinished = finished_unlocked = 0;
	hsm_worker_set_finisher(hw, &loop_lock, finisher, NULL);
	/* The loop holds its lock: the item is signed but not handed on. */
	pthread_mutex_lock(&loop_lock);
	assert_int_equal(hsm_worker_submit(hw, item(1)), 0);
	usleep(200000);
	assert_int_equal(nfinished, 0);
	assert_null(hsm_worker_take(hw));
	/* The loop waits (lets go): the finisher gets it, under the lock. */
	pthread_mutex_unlock(&loop_lock);
	for (until = monotime_ms() + 5000; finished_count() < 1 &&
	    monotime_ms() < until; )
		usleep(1000);
	pthread_mutex_lock(&loop_lock);
	assert_int_equal(nfinished, 1);
	assert_int_equal(finished_unlocked, 0);
	assert_int_equal(finished[0]->req, 1);
	assert_int_equal(finished[0]->rc, 0);
	assert_int_equal(finished[0]->siglen, 8);
	release(finished[0]);
	/* Not current any more: nothing is overdue, new work is taken. */
	assert_null(hsm_worker_overdue(hw, monotime_ms() + 100000, 1));
	assert_int_equal(hsm_worker_deadline(hw, 1), 0);
	/* Stopping with the lock held (the loop's shutdown): no deadlock;
	 * the signed item comes back through take instead. */
	assert_int_equal(hsm_worker_submit(hw, item(2)), 0);
	usleep(200000);
	assert_int_equal(hsm_worker_stop(hw, 2000), 0);
	assert_int_equal(nfinished, 1);
	assert_int_equal(collect(hw, back, 1), 1);
	assert_int_equal(back[0]->req, 2);
	assert_int_equal(back[0]->rc, 0);
	release(back[0]);
	pthread_mutex_unlock(&loop_lock);
	hsm_worker_free(hw);
}

/*
 * A quiet item (hsm_prepare's): run in its turn, never handed back when
 * it finishes in time (valgrind and LSan see it freed), the items around
 * it kept in order; one that goes overdue is handed over and comes back
 * once, as a signature would, and the queue behind it is failed.
 */
static void
test_quiet(void **state)
{
	struct hsm_worker	*hw = hsm_worker_new();
	struct hsm_work		*back[4], *q, *late;

	(void)state;
	norder = 0;
	gate(1);
	assert_int_equal(hsm_worker_submit(hw, item(1)), 0);
	q = item(2);
	q->quiet = 1;
	assert_int_equal(hsm_worker_submit(hw, q), 0);
	assert_int_equal(hsm_worker_submit(hw, item(3)), 0);
	assert_int_equal(collect(hw, back, 2), 2);
	assert_int_equal(back[0]->req, 1);
	assert_int_equal(back[1]->req, 3);
	release(back[0]);
	release(back[1]);
	assert_int_equal(norder, 3);
	assert_int_equal(order[1], 2);
	usleep(100000);
	assert_null(hsm_worker_take(hw));

	gate(0);			/* the token hangs in the quiet one */
	q = item(4);
	q->quiet = 1;
	assert_int_equal(hsm_worker_submit(hw, q), 0);
	assert_int_equal(hsm_worker_submit(hw, item(5)), 0);
	usleep(100000);
	late = hsm_worker_overdue(hw, monotime_ms(), 50);
	assert_ptr_equal(late, q);
	assert_int_equal(collect(hw, back, 1), 1);
	assert_int_equal(back[0]->req, 5);
	assert_int_equal(back[0]->not_run, 1);
	release(back[0]);
	gate(1);
	assert_int_equal(collect(hw, back, 1), 1);
	assert_ptr_equal(back[0], q);
	assert_int_equal(q->overdue, 1);
	release(q);
	assert_int_equal(hsm_worker_stuck(hw), 0);
	assert_int_equal(hsm_worker_stop(hw, 1000), 0);
	hsm_worker_free(hw);
}

/*
 * A direct item (a checkpoint's signature): with a finisher set and the
 * loop holding its lock, it comes back through take, not to the
 * finisher, so the loop can wait for it without letting go of the lock.
 * Idle only with nothing queued or in hand and nothing overdue.
 */
static void
test_direct(void **state)
{
	struct hsm_worker	*hw = hsm_worker_new();
	struct hsm_work		*back[2], *d;

	(void)state;
	gate(1);
	nfinished = finished_unlocked = 0;
	hsm_worker_set_finisher(hw, &loop_lock, finisher, NULL);
	assert_int_equal(hsm_worker_idle(hw), 1);
	pthread_mutex_lock(&loop_lock);
	gate(0);
	d = item(7);
	d->direct = 1;
	assert_int_equal(hsm_worker_submit(hw, d), 0);
	usleep(100000);
	assert_int_equal(hsm_worker_idle(hw), 0);	/* in the worker's hands */
	gate(1);
	assert_int_equal(collect(hw, back, 1), 1);	/* lock still held */
	assert_ptr_equal(back[0], d);
	assert_int_equal(d->rc, 0);
	assert_int_equal(nfinished, 0);
	release(d);
	assert_int_equal(hsm_worker_idle(hw), 1);
	/* Overdue: not idle until it comes back. */
	gate(0);
	d = item(8);
	d->direct = 1;
	assert_int_equal(hsm_worker_submit(hw, d), 0);
	usleep(100000);
	assert_ptr_equal(hsm_worker_overdue(hw, monotime_ms(), 50), d);
	gate(1);
	assert_int_equal(collect(hw, back, 1), 1);
	assert_ptr_equal(back[0], d);
	assert_int_equal(d->overdue, 1);
	release(d);
	assert_int_equal(hsm_worker_idle(hw), 1);
	pthread_mutex_unlock(&loop_lock);
	assert_int_equal(nfinished, 0);
	assert_int_equal(hsm_worker_stop(hw, 1000), 0);
	hsm_worker_free(hw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_each_once),
		cmocka_unit_test(test_overdue_then_recovered),
		cmocka_unit_test(test_queue_cap),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_finisher),
		cmocka_unit_test(test_quiet),
		cmocka_unit_test(test_direct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
