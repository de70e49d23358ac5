/*
 * test_orders.c - the orders store: round trips, the state machine,
 * compare-and-set, durability across a killed process, the schema
 * version check; the live order a repeated submission finds, and the
 * newest chain a connector's orders came with; which changes sync the
 * disk (counted by a VFS under SQLite) and which indexes a look reads.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "orders.h"
#include "tracked.h"

static char	dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hsmagent-orders.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct orders *
open_db(void)
{
	struct orders	*o;
	char		 err[256];

	if ((o = orders_open(dir, err, sizeof(err))) == NULL)
		fail_msg("orders_open: %s", err);
	return o;
}

static void
new_order(struct orders *o, struct order *ord, uint32_t uid,
    const char *state)
{
	char err[256];

	memset(ord, 0, sizeof(*ord));
	ord->uid = uid;
	ord->gid = uid;
	ord->pid = 42;
	ord->user = "alice";
	ord->connector = "entrust";
	ord->profile = "server";
	ord->rule = "web";
	ord->csr_pem = "PEM";
	ord->sans_json = "[\"dns:a.example.com\"]";
	ord->validity_days = 90;
	if (state != NULL)
		ord->state = order_state_of(state);
	if (orders_create(o, ord, err, sizeof(err)) != 0)
		fail_msg("orders_create: %s", err);
}

static void
test_round_trip(void **state)
{
	struct orders	*o = open_db();
	struct order	 a, b, c;
	struct stat	 st;
	char		 path[128];

	(void)state;
	new_order(o, &a, 1000, NULL);
	assert_int_equal(strlen(a.id), ORDER_ID_LEN);
	assert_int_equal(strspn(a.id, "0123456789abcdef"), ORDER_ID_LEN);
	new_order(o, &c, 1000, NULL);
	assert_string_not_equal(a.id, c.id);
	assert_int_equal(orders_get(o, a.id, &b), 1);
	assert_int_equal(b.state, ORDER_RECEIVED);
	assert_int_equal(b.uid, 1000);
	assert_int_equal(b.pid, 42);
	assert_string_equal(b.user, "alice");
	assert_string_equal(b.connector, "entrust");
	assert_string_equal(b.rule, "web");
	assert_string_equal(b.csr_pem, "PEM");
	assert_string_equal(b.sans_json, "[\"dns:a.example.com\"]");
	assert_int_equal(b.validity_days, 90);
	assert_null(b.ca_handle);
	assert_int_equal(b.has_approver, 0);
	order_free(&b);
	assert_int_equal(orders_get(o, "0000000000000000", &b), 0);
	snprintf(path, sizeof(path), "%s/orders.db", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	orders_close(o);
}

static void
test_state_machine(void **state)
{
	struct orders	*o = open_db();
	struct order	 a, b;
	char		 err[256];

	(void)state;
	new_order(o, &a, 1, "awaiting_approval");
	/* Not allowed: skipping approval, or going backwards. */
	assert_int_equal(orders_set_state(o, a.id, ORDER_AWAITING_APPROVAL,
	    ORDER_SUBMITTING, err, sizeof(err)), -1);
	assert_int_equal(orders_set_state(o, a.id, ORDER_AWAITING_APPROVAL,
	    ORDER_ISSUED, err, sizeof(err)), -1);
	/* Compare-and-set: a stale from-state changes nothing. */
	assert_int_equal(orders_set_state(o, a.id, ORDER_RECEIVED, ORDER_SUBMITTING,
	    err, sizeof(err)), 0);
	assert_int_equal(orders_set_approver(o, a.id, 2000), 0);
	assert_int_equal(orders_set_state(o, a.id, ORDER_AWAITING_APPROVAL,
	    ORDER_RECEIVED, err, sizeof(err)), 1);
	assert_int_equal(orders_set_state(o, a.id, ORDER_RECEIVED, ORDER_SUBMITTING,
	    err, sizeof(err)), 1);
	assert_int_equal(orders_set_ca_handle(o, a.id, "ca-77", "rn-1"), 0);
	assert_int_equal(orders_set_state(o, a.id, ORDER_SUBMITTING, ORDER_PENDING,
	    err, sizeof(err)), 1);
	assert_int_equal(orders_record_attempt(o, a.id, 12345, "HTTP 503"), 0);
	assert_int_equal(orders_set_issued(o, a.id, "CERT", "CHAIN", "0a1b",
	    NULL, NULL), 0);
	/* Issued twice: refused. */
	assert_int_equal(orders_set_issued(o, a.id, "X", "Y", "ff", "h", NULL),
	    -1);
	assert_int_equal(orders_set_failed(o, a.id, ORDER_FAILED, "late"), -1);
	assert_int_equal(orders_get(o, a.id, &b), 1);
	assert_int_equal(b.state, ORDER_ISSUED);
	assert_int_equal(b.has_approver, 1);
	assert_int_equal(b.approver_uid, 2000);
	assert_string_equal(b.ca_handle, "ca-77");
	assert_string_equal(b.ca_renew_id, "rn-1");
	assert_int_equal(b.attempts, 1);
	assert_string_equal(b.cert_pem, "CERT");
	assert_string_equal(b.serial, "0a1b");
	order_free(&b);
	assert_int_equal(orders_find_by_serial(o, "0a1b", &b), 1);
	assert_string_equal(b.id, a.id);
	order_free(&b);
	/* Issued at once: the CA's handle comes in the same write. */
	{
		struct order c, d;

		new_order(o, &c, 1000, NULL);
		assert_int_equal(orders_set_state(o, c.id, ORDER_RECEIVED,
		    ORDER_SUBMITTING, err, sizeof(err)), 1);
		assert_int_equal(orders_set_issued(o, c.id, "C2", "", "0c",
		    "h-9", "rn-9"), 0);
		assert_int_equal(orders_get(o, c.id, &d), 1);
		assert_string_equal(d.ca_handle, "h-9");
		assert_string_equal(d.ca_renew_id, "rn-9");
		order_free(&d);
	}
	assert_int_equal(orders_set_revoked(o, a.id, "keyCompromise"), 0);
	assert_int_equal(orders_set_revoked(o, a.id, "keyCompromise"), -1);
	/* A new order cannot start anywhere but the beginning. */
	memset(&b, 0, sizeof(b));
	b.state = ORDER_ISSUED;
	b.connector = b.profile = b.csr_pem = "x";
	assert_int_equal(orders_create(o, &b, err, sizeof(err)), -1);
	orders_close(o);
}

/* One name table: every state round-trips; other text is unknown. */
static void
test_state_names(void **state)
{
	(void)state;
	for (int s = ORDER_RECEIVED; s < ORDER_UNKNOWN; s++) {
		assert_int_equal(order_state_of(order_state_name(
		    (enum order_state)s)), s);
		assert_int_equal(order_state_final((enum order_state)s),
		    s == ORDER_ISSUED || s == ORDER_REJECTED ||
		    s == ORDER_FAILED || s == ORDER_REVOKED);
	}
	assert_string_equal(order_state_name(ORDER_AWAITING_APPROVAL),
	    "awaiting_approval");
	assert_int_equal(order_state_of("Issued"), ORDER_UNKNOWN);
	assert_int_equal(order_state_of(""), ORDER_UNKNOWN);
	assert_int_equal(order_state_of(NULL), ORDER_UNKNOWN);
	assert_true(order_state_final(ORDER_UNKNOWN));
	assert_string_equal(order_state_name(ORDER_STATES), "unknown");
}

static int
count_cb(const struct order *ord, void *arg)
{
	(void)ord;
	(*(int *)arg)++;
	return 0;
}

static void
test_lists(void **state)
{
	struct orders	*o = open_db();
	struct order	 a;
	uint64_t	 n = 0;
	int		 mine = 0, all = 0, limited = 0;

	(void)state;
	for (int i = 0; i < 5; i++)
		new_order(o, &a, i % 2 ? 7 : 8, NULL);
	assert_int_equal(orders_list(o, 7, 1000, count_cb, &mine), 0);
	assert_int_equal(mine, 2);
	assert_int_equal(orders_list(o, -1, 1000, count_cb, &all), 0);
	assert_true(all >= 5);
	assert_int_equal(orders_list(o, -1, 3, count_cb, &limited), 0);
	assert_int_equal(limited, 3);
	assert_int_equal(orders_count_by_state(o, ORDER_RECEIVED, &n), 0);
	assert_true(n >= 5);
	orders_close(o);
}

/*
 * A process moves an order to "submitting" and is killed without
 * closing anything: the order is there afterwards, resumable.
 */
static int
find_cb(const struct order *ord, void *arg)
{
	if (strcmp(ord->id, arg) == 0)
		((char *)arg)[0] = '!';
	return 0;
}

static void
test_survives_kill(void **state)
{
	int		 fds[2], status;
	char		 id[ORDER_ID_LEN + 1] = "";
	pid_t		 pid;
	struct orders	*o;
	struct order	 b;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		struct orders	*c = open_db();
		struct order	 a;
		char		 err[256];

		new_order(c, &a, 5, NULL);
		if (orders_set_state(c, a.id, ORDER_RECEIVED, ORDER_SUBMITTING, err,
		    sizeof(err)) != 1)
			_exit(2);
		if (write(fds[1], a.id, ORDER_ID_LEN) != ORDER_ID_LEN)
			_exit(3);
		raise(SIGKILL);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], id, ORDER_ID_LEN), ORDER_ID_LEN);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	o = open_db();
	assert_int_equal(orders_get(o, id, &b), 1);
	assert_int_equal(b.state, ORDER_SUBMITTING);
	order_free(&b);
	assert_int_equal(orders_list_resumable(o, (int64_t)time(NULL), find_cb,
	    id), 0);
	assert_int_equal(id[0], '!');
	orders_close(o);
}

/* The poll tick reads only the orders due: later and stopped ones stay. */
static void
test_resumable_due(void **state)
{
	struct orders	*o;
	struct order	 a, b, c;
	char		 ida[ORDER_ID_LEN + 1], idb[ORDER_ID_LEN + 1];
	char		 idc[ORDER_ID_LEN + 1], err[256];
	int64_t		 now = (int64_t)time(NULL);

	(void)state;
	o = open_db();
	new_order(o, &a, 1000, NULL);
	new_order(o, &b, 1000, NULL);
	new_order(o, &c, 1000, NULL);
	assert_int_equal(orders_set_state(o, b.id, ORDER_RECEIVED, ORDER_SUBMITTING,
	    err, sizeof(err)), 1);
	assert_int_equal(orders_record_attempt(o, b.id, now + 100, NULL), 0);
	assert_int_equal(orders_set_state(o, c.id, ORDER_RECEIVED, ORDER_SUBMITTING,
	    err, sizeof(err)), 1);
	assert_int_equal(orders_stop_polling(o, c.id, "deadline"), 0);
	memcpy(ida, a.id, sizeof(ida));
	memcpy(idb, b.id, sizeof(idb));
	memcpy(idc, c.id, sizeof(idc));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(orders_list_resumable(o, now, find_cb, ida), 0);
		assert_int_equal(orders_list_resumable(o, now, find_cb, idb), 0);
		assert_int_equal(orders_list_resumable(o, now + 200, find_cb,
		    idc), 0);
	}
	assert_int_equal(ida[0], '!');		/* received, due now */
	assert_int_not_equal(idb[0], '!');	/* due in 100 s */
	assert_int_not_equal(idc[0], '!');	/* stopped */
	assert_int_equal(orders_list_resumable(o, now + 200, find_cb, idb), 0);
	assert_int_equal(idb[0], '!');
	orders_close(o);
}

/*
 * The once-a-second look for due orders reads only the due ones: with
 * 500 pending orders not yet due (each with a CSR of the usual size), it
 * touches a handful of pages, not every pending row (orders_due index).
 * A database made before that index gets it when opened.
 */
static void
test_due_reads_only_due(void **state)
{
	struct orders	*o;
	struct order	 ord;
	char		 err[256], due[ORDER_ID_LEN + 1], *csr;
	int64_t		 now = (int64_t)time(NULL);
	int		 hit = 0, miss = 0, hi = 0;
	uint64_t	 count = 0, scanned;
	sqlite3_stmt	*st;

	(void)state;
	csr = malloc(4096);
	assert_non_null(csr);
	memset(csr, 'C', 4095);
	csr[4095] = '\0';
	o = open_db();
	for (int i = 0; i < 500; i++) {
		memset(&ord, 0, sizeof(ord));
		ord.uid = ord.gid = 1000;
		ord.user = "alice";
		ord.connector = "entrust";
		ord.profile = "server";
		ord.csr_pem = csr;
		ord.sans_json = "[\"dns:a.example.com\"]";
		ord.validity_days = 90;
		assert_int_equal(orders_create(o, &ord, err, sizeof(err)), 0);
		assert_int_equal(orders_set_state(o, ord.id, ORDER_RECEIVED,
		    ORDER_SUBMITTING, err, sizeof(err)), 1);
		assert_int_equal(orders_record_attempt(o, ord.id,
		    now + 1000 + i, NULL), 0);
	}
	free(csr);
	new_order(o, &ord, 1000, NULL);
	memcpy(due, ord.id, sizeof(due));
	/* As an older agent left it: an index on state, none on when due. */
	assert_int_equal(sqlite3_exec(orders_sqlite(o), "DROP INDEX orders_due; "
	    "CREATE INDEX orders_state ON orders (state)", NULL, NULL, NULL),
	    SQLITE_OK);
	orders_close(o);
	o = open_db();
	assert_int_equal(sqlite3_prepare_v2(orders_sqlite(o), "SELECT "
	    "group_concat(name, ' ') FROM (SELECT name FROM sqlite_master "
	    "WHERE type = 'index' AND name IN ('orders_due', 'orders_state') "
	    "ORDER BY name)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0),
	    "orders_due");
	sqlite3_finalize(st);

	sqlite3_db_status(orders_sqlite(o), SQLITE_DBSTATUS_CACHE_HIT, &hit, &hi,
	    1);
	sqlite3_db_status(orders_sqlite(o), SQLITE_DBSTATUS_CACHE_MISS, &miss,
	    &hi, 1);
	assert_int_equal(orders_list_resumable(o, now, find_cb, due), 0);
	assert_int_equal(due[0], '!');
	sqlite3_db_status(orders_sqlite(o), SQLITE_DBSTATUS_CACHE_HIT, &hit, &hi,
	    0);
	sqlite3_db_status(orders_sqlite(o), SQLITE_DBSTATUS_CACHE_MISS, &miss,
	    &hi, 0);
	if (hit + miss > 32)
		fail_msg("the look for due orders touched %d pages for the 1 "
		    "due of 501", hit + miss);
	/*
	 * A count by state reads the index that replaced orders_state, and
	 * counts what a scan of the table counts (the group's earlier tests
	 * left orders of their own).
	 */
	assert_int_equal(sqlite3_prepare_v2(orders_sqlite(o), "SELECT count(*) "
	    "FROM orders NOT INDEXED WHERE state = 'submitting'", -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	scanned = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	assert_true(scanned >= 500);
	sqlite3_db_status(orders_sqlite(o), SQLITE_DBSTATUS_CACHE_HIT, &hit, &hi,
	    1);
	sqlite3_db_status(orders_sqlite(o), SQLITE_DBSTATUS_CACHE_MISS, &miss,
	    &hi, 1);
	assert_int_equal(orders_count_by_state(o, ORDER_SUBMITTING, &count),
	    0);
	assert_int_equal(count, scanned);
	sqlite3_db_status(orders_sqlite(o), SQLITE_DBSTATUS_CACHE_HIT, &hit, &hi,
	    0);
	sqlite3_db_status(orders_sqlite(o), SQLITE_DBSTATUS_CACHE_MISS, &miss,
	    &hi, 0);
	if (hit + miss > 32)
		fail_msg("counting %llu orders by state touched %d pages",
		    (unsigned long long)count, hit + miss);
	orders_close(o);
}

/*
 * A VFS that forwards to the default one and counts the syncs of every
 * file it opens (the database and its WAL): what reaches the disk's
 * cache flush, seen from below SQLite.
 */
struct counted_file {
	sqlite3_file	 base;
	sqlite3_file	*real;		/* the default VFS's, right after */
};

static int	syncs;
static sqlite3_vfs	counting_vfs;
#define REAL(f)	(((struct counted_file *)(f))->real)

static int cf_close(sqlite3_file *f)
{ return REAL(f)->pMethods->xClose(REAL(f)); }
static int cf_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{ return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int cf_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{ return REAL(f)->pMethods->xWrite(REAL(f), b, n, o); }
static int cf_truncate(sqlite3_file *f, sqlite3_int64 n)
{ return REAL(f)->pMethods->xTruncate(REAL(f), n); }
static int cf_sync(sqlite3_file *f, int flags)
{ syncs++; return REAL(f)->pMethods->xSync(REAL(f), flags); }
static int cf_size(sqlite3_file *f, sqlite3_int64 *n)
{ return REAL(f)->pMethods->xFileSize(REAL(f), n); }
static int cf_lock(sqlite3_file *f, int l)
{ return REAL(f)->pMethods->xLock(REAL(f), l); }
static int cf_unlock(sqlite3_file *f, int l)
{ return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int cf_reserved(sqlite3_file *f, int *r)
{ return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int cf_control(sqlite3_file *f, int op, void *a)
{ return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int cf_sector(sqlite3_file *f)
{ return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int cf_device(sqlite3_file *f)
{ return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int cf_shm_map(sqlite3_file *f, int i, int sz, int ext,
    void volatile **p)
{ return REAL(f)->pMethods->xShmMap(REAL(f), i, sz, ext, p); }
static int cf_shm_lock(sqlite3_file *f, int off, int n, int flags)
{ return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags); }
static void cf_shm_barrier(sqlite3_file *f)
{ REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int cf_shm_unmap(sqlite3_file *f, int del)
{ return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }

/* Version 2: the WAL's shared memory, and no memory-mapped I/O. */
static const sqlite3_io_methods counted_methods = {
	2, cf_close, cf_read, cf_write, cf_truncate, cf_sync, cf_size,
	cf_lock, cf_unlock, cf_reserved, cf_control, cf_sector, cf_device,
	cf_shm_map, cf_shm_lock, cf_shm_barrier, cf_shm_unmap, NULL, NULL
};

static int
cf_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags,
    int *out)
{
	sqlite3_vfs	*real = v->pAppData;
	int		 rc;

	REAL(f) = (sqlite3_file *)((struct counted_file *)f + 1);
	f->pMethods = NULL;
	rc = real->xOpen(real, name, REAL(f), flags, out);
	if (REAL(f)->pMethods != NULL)
		f->pMethods = &counted_methods;
	return rc;
}

/* The counting VFS as the default, for the databases opened next. */
static void
count_syncs(int on)
{
	sqlite3_vfs *real;

	if (!on) {
		assert_int_equal(sqlite3_vfs_unregister(&counting_vfs),
		    SQLITE_OK);
		return;
	}
	real = sqlite3_vfs_find(NULL);
	assert_non_null(real);
	counting_vfs = *real;
	counting_vfs.zName = "count-syncs";
	counting_vfs.szOsFile = (int)sizeof(struct counted_file) +
	    real->szOsFile;
	counting_vfs.pAppData = real;
	counting_vfs.xOpen = cf_open;
	counting_vfs.pNext = NULL;
	assert_int_equal(sqlite3_vfs_register(&counting_vfs, 1), SQLITE_OK);
}

/*
 * A poll's bookkeeping, and the note that an owed record was written,
 * reach the disk with the next synced change, not with a sync of their
 * own; every other change still syncs.
 */
static void
test_attempt_unsynced(void **state)
{
	struct orders	*o;
	struct order	 ord, got, b, c;
	char		 err[256];
	int64_t		 when = (int64_t)time(NULL) + 600;

	(void)state;
	count_syncs(1);
	o = open_db();
	new_order(o, &ord, 1000, NULL);
	assert_int_equal(orders_set_state(o, ord.id, ORDER_RECEIVED,
	    ORDER_SUBMITTING, err, sizeof(err)), 1);
	/*
	 * No checkpoint falls due in what follows, and the WAL's first
	 * frame after one (whose header SQLite syncs) is behind us.
	 */
	assert_int_equal(sqlite3_exec(orders_sqlite(o),
	    "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(orders_set_approver(o, ord.id, 1000), 0);

	syncs = 0;
	for (int i = 0; i < 10; i++)
		assert_int_equal(orders_record_attempt(o, ord.id, when,
		    "busy"), 0);
	assert_int_equal(syncs, 0);
	assert_int_equal(orders_get(o, ord.id, &got), 1);
	assert_int_equal(got.next_poll, when);
	assert_int_equal(got.attempts, 10);
	assert_string_equal(got.last_error, "busy");
	order_free(&got);

	/* Back to FULL: the change of state syncs, and with it the attempt. */
	syncs = 0;
	assert_int_equal(orders_set_state(o, ord.id, ORDER_SUBMITTING,
	    ORDER_PENDING, err, sizeof(err)), 1);
	assert_true(syncs >= 1);
	syncs = 0;
	assert_int_equal(orders_set_ca_handle(o, ord.id, "h-1", NULL), 0);
	assert_true(syncs >= 1);
	/* Issued syncs; paying the record it owes does not. */
	syncs = 0;
	assert_int_equal(orders_set_issued(o, ord.id, "C", "", "01", NULL,
	    NULL), 0);
	assert_true(syncs >= 1);
	syncs = 0;
	assert_int_equal(orders_record_paid(o, ord.id), 0);
	assert_int_equal(syncs, 0);
	assert_int_equal(orders_get(o, ord.id, &got), 1);
	assert_int_equal(got.record_owed, 0);
	order_free(&got);

	/*
	 * A new order stored unsynced: no sync; its submission's synced
	 * change of state takes it along, and orders_sync() then has
	 * nothing to do. Left waiting, orders_sync() syncs it, once.
	 */
	memset(&b, 0, sizeof(b));
	b.connector = b.profile = b.csr_pem = "x";
	syncs = 0;
	assert_int_equal(orders_create_unsynced(o, &b, err, sizeof(err)), 0);
	assert_int_equal(syncs, 0);
	assert_int_equal(orders_set_state(o, b.id, ORDER_RECEIVED,
	    ORDER_SUBMITTING, err, sizeof(err)), 1);
	assert_true(syncs >= 1);
	syncs = 0;
	assert_int_equal(orders_sync(o), 0);
	assert_int_equal(syncs, 0);
	memset(&c, 0, sizeof(c));
	c.connector = c.profile = c.csr_pem = "x";
	assert_int_equal(orders_create_unsynced(o, &c, err, sizeof(err)), 0);
	assert_int_equal(syncs, 0);
	assert_int_equal(orders_get(o, c.id, &got), 1);
	assert_int_equal(got.state, ORDER_RECEIVED);
	order_free(&got);
	assert_int_equal(orders_sync(o), 0);
	assert_true(syncs >= 1);
	syncs = 0;
	assert_int_equal(orders_sync(o), 0);
	assert_int_equal(syncs, 0);
	/* A change that matched nothing synced nothing: still owed. */
	assert_int_equal(orders_record_attempt(o, c.id, when, "x"), 0);
	assert_int_equal(orders_set_state(o, c.id, ORDER_PENDING,
	    ORDER_ISSUED, err, sizeof(err)), 0);
	syncs = 0;
	assert_int_equal(orders_sync(o), 0);
	assert_true(syncs >= 1);
	assert_true(orders_healthy(o));
	orders_close(o);
	count_syncs(0);
}

static void
test_schema_checks(void **state)
{
	char		 path[128], err[256], sub[96];
	sqlite3		*db;
	FILE		*f;

	struct orders	*o;
	struct order	 a, b;

	(void)state;
	/*
	 * Version 1 (no ca_renew_id, no record_owed) is upgraded in place,
	 * orders kept.
	 */
	o = open_db();
	new_order(o, &a, 1000, NULL);
	orders_close(o);
	snprintf(path, sizeof(path), "%s/orders.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP INDEX orders_owed; "
	    "ALTER TABLE orders DROP COLUMN record_owed; "
	    "ALTER TABLE orders DROP COLUMN "
	    "ca_renew_id; DROP TABLE tracked; UPDATE schema_version SET "
	    "version = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	o = open_db();
	assert_int_equal(orders_set_ca_handle(o, a.id, "55", "rn"), 0);
	assert_int_equal(orders_set_ca_handle(o, a.id, "56", NULL), 0);
	assert_int_equal(orders_get(o, a.id, &b), 1);
	assert_string_equal(b.ca_handle, "56");
	assert_string_equal(b.ca_renew_id, "rn");
	order_free(&b);
	/* The tracked table came with the upgrade. */
	assert_int_equal(sqlite3_exec(orders_sqlite(o), "SELECT count(*) FROM "
	    "tracked", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(b.record_owed, 0);
	orders_close(o);
	/* Version 2 (no record_owed): the column added, nothing owed. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP INDEX orders_owed; "
	    "ALTER TABLE orders DROP COLUMN record_owed; UPDATE "
	    "schema_version SET version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	o = open_db();
	assert_int_equal(orders_get(o, a.id, &b), 1);
	assert_int_equal(b.record_owed, 0);
	assert_string_equal(b.ca_handle, "56");
	order_free(&b);
	assert_int_equal(orders_set_state(o, a.id, ORDER_RECEIVED,
	    ORDER_SUBMITTING, err, sizeof(err)), 1);
	assert_int_equal(orders_set_issued(o, a.id, "C", "", "01", NULL, NULL),
	    0);
	assert_int_equal(orders_get(o, a.id, &b), 1);
	assert_int_equal(b.record_owed, 1);
	order_free(&b);
	orders_close(o);
	/* A newer schema is refused. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET "
	    "version = 4", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(orders_open(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "newer hsmagent"));
	/* Not a database at all. */
	snprintf(sub, sizeof(sub), "%s/junk", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/orders.db", sub);
	assert_non_null(f = fopen(path, "w"));
	fputs("this is not sqlite, just text that is long enough......\n", f);
	fclose(f);
	assert_null(orders_open(sub, err, sizeof(err)));
	/* A database of someone else's. */
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(orders_open(sub, err, sizeof(err)));
	assert_non_null(strstr(err, "not an hsmagent orders database"));
}

static int
count_tracked(const struct tracked *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
	return 0;
}

/* Tracked certificates: unique names, owners, the renewal bookkeeping. */
static void
test_tracked(void **state)
{
	struct orders	*o;
	struct tracked	 t, b;
	char		 err[256], path[160];
	int		 n = 0;

	(void)state;
	/* A database of its own: the schema test leaves a "newer" one. */
	snprintf(path, sizeof(path), "%s/tracked", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	if ((o = orders_open(path, err, sizeof(err))) == NULL)
		fail_msg("orders_open: %s", err);
	assert_true(tracked_name_ok("web.example.com"));
	assert_true(tracked_name_ok("a-1_b"));
	assert_false(tracked_name_ok(".web"));
	assert_false(tracked_name_ok("a/b"));
	assert_false(tracked_name_ok(""));
	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "web");
	t.uid = 1000;
	t.gid = 1000;
	t.user = "alice";
	t.connector = "entrust";
	t.profile = "tls";
	t.csr_pem = "PEM";
	t.sans_json = "[\"dns:web.example.com\"]";
	t.order_id = "0123456789abcdef";
	assert_int_equal(tracked_create(o, &t, err, sizeof(err)), 0);
	assert_int_equal(tracked_create(o, &t, err, sizeof(err)), 1);
	assert_int_equal(tracked_set_issued(o, "web", "0123456789abcdef", 100,
	    400, 300), 0);
	assert_int_equal(tracked_set_failed(o, "web", 350, "the CA said no"),
	    0);
	assert_int_equal(tracked_get(o, "web", &b), 1);
	assert_string_equal(b.issued_order, "0123456789abcdef");
	assert_null(b.order_id);
	assert_int_equal(b.not_after, 400);
	assert_int_equal(b.renew_at, 300);
	assert_int_equal(b.attempts, 1);
	assert_int_equal(b.next_attempt, 350);
	assert_string_equal(b.last_error, "the CA said no");
	tracked_free(&b);
	/* A new issue clears the failures. */
	assert_int_equal(tracked_set_order(o, "web", "fedcba9876543210"), 0);
	assert_int_equal(tracked_set_issued(o, "web", "fedcba9876543210", 300,
	    600, 500), 0);
	assert_int_equal(tracked_get(o, "web", &b), 1);
	assert_int_equal(b.attempts, 0);
	assert_null(b.last_error);
	assert_string_equal(b.order_id, "fedcba9876543210");
	tracked_free(&b);
	assert_int_equal(tracked_list(o, 1000, count_tracked, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(tracked_list(o, 1001, count_tracked, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(tracked_delete(o, "web"), 0);
	assert_int_equal(tracked_get(o, "web", &b), 0);
	assert_int_equal(tracked_delete(o, "web"), -1);
	orders_close(o);
}

/*
 * A repeated submission (certmonger's SUBMIT run again) finds the
 * caller's live order for the same connector, profile and CSR, and
 * nothing once that order is final, or for another caller, profile or
 * CSR.
 */
static void
test_find_live(void **state)
{
	struct orders	*o = open_db();
	struct order	 a, b, c, f;
	char		 err[256];

	(void)state;
	new_order(o, &a, 4242, NULL);
	assert_int_equal(orders_find_live(o, 4242, "entrust", "server", "PEM",
	    &f), 1);
	assert_string_equal(f.id, a.id);
	order_free(&f);
	/* Another caller, profile, connector or CSR: none. */
	assert_int_equal(orders_find_live(o, 4243, "entrust", "server", "PEM",
	    &f), 0);
	assert_int_equal(orders_find_live(o, 4242, "entrust", "client", "PEM",
	    &f), 0);
	assert_int_equal(orders_find_live(o, 4242, "sectigo", "server", "PEM",
	    &f), 0);
	assert_int_equal(orders_find_live(o, 4242, "entrust", "server",
	    "PEM2", &f), 0);
	/* Waiting for approval, submitting, pending: still live. */
	new_order(o, &b, 4244, "awaiting_approval");
	assert_int_equal(orders_find_live(o, 4244, "entrust", "server", "PEM",
	    &f), 1);
	assert_string_equal(f.id, b.id);
	order_free(&f);
	assert_int_equal(orders_set_state(o, a.id, ORDER_RECEIVED, ORDER_SUBMITTING,
	    err, sizeof(err)), 1);
	assert_int_equal(orders_set_state(o, a.id, ORDER_SUBMITTING, ORDER_PENDING,
	    err, sizeof(err)), 1);
	assert_int_equal(orders_find_live(o, 4242, "entrust", "server", "PEM",
	    &f), 1);
	assert_int_equal(f.state, ORDER_PENDING);
	order_free(&f);
	/* Issued: a new submission is a renewal, not a retry. */
	assert_int_equal(orders_set_issued(o, a.id, "CERT", "", "01", NULL,
	    NULL), 0);
	assert_int_equal(orders_find_live(o, 4242, "entrust", "server", "PEM",
	    &f), 0);
	/* Of two live ones, the newest. */
	new_order(o, &b, 4245, NULL);
	new_order(o, &c, 4245, NULL);
	assert_int_equal(orders_find_live(o, 4245, "entrust", "server", "PEM",
	    &f), 1);
	assert_string_equal(f.id, c.id);
	order_free(&f);
	assert_int_equal(orders_set_failed(o, c.id, ORDER_REJECTED, "no"), 0);
	assert_int_equal(orders_find_live(o, 4245, "entrust", "server", "PEM",
	    &f), 1);
	assert_string_equal(f.id, b.id);
	order_free(&f);
	orders_close(o);
}

/*
 * An id chosen before the order is stored (the decision is recorded
 * with it first): kept as given, refused when it is not one of ours or
 * is taken, and nothing stored then.
 */
static void
test_chosen_id(void **state)
{
	struct orders	*o = open_db();
	struct order	 a, b, got;
	char		 err[256];
	int		 n = 0, before = 0;

	(void)state;
	assert_int_equal(orders_list(o, -1, 1000, count_cb, &before), 0);
	memset(&a, 0, sizeof(a));
	a.connector = "entrust";
	a.profile = "server";
	a.csr_pem = "PEM";
	assert_int_equal(orders_new_id(a.id), 0);
	b = a;
	assert_int_equal(orders_create(o, &a, err, sizeof(err)), 0);
	assert_int_equal(orders_get(o, b.id, &got), 1);
	assert_string_equal(got.id, b.id);
	order_free(&got);
	/* Taken. */
	assert_int_equal(orders_create(o, &b, err, sizeof(err)), -1);
	/* Not sixteen lowercase hex digits. */
	snprintf(b.id, sizeof(b.id), "%s", "0123456789ABCDEF");
	assert_int_equal(orders_create(o, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an order id"));
	snprintf(b.id, sizeof(b.id), "%s", "0123456789abcde");
	assert_int_equal(orders_create(o, &b, err, sizeof(err)), -1);
	snprintf(b.id, sizeof(b.id), "%s", "../../etc/passw");
	assert_int_equal(orders_create(o, &b, err, sizeof(err)), -1);
	assert_int_equal(orders_list(o, -1, 1000, count_cb, &n), 0);
	assert_int_equal(n, before + 1);
	orders_close(o);
}

/* What the tests before this one left owed: paid, for a clean slate. */
static int
pay_cb(const struct order *ord, void *arg)
{
	return orders_record_paid(arg, ord->id);
}

static int
owed_cb(const struct order *ord, void *arg)
{
	char *ids = arg;

	strcat(ids, ord->id);
	strcat(ids, ord->state == ORDER_ISSUED ? ":issued " : ":revoked ");
	return 0;
}

/*
 * Issued and revoked orders owe their audit record until it is paid;
 * paying is committed unsynced (a repeat if a power cut takes it, never
 * a sync on the path), and nothing else owes one.
 */
static void
test_record_owed(void **state)
{
	struct orders	*o = open_db();
	struct order	 a, b, c, got;
	char		 err[256], ids[256] = "", want[256];

	(void)state;
	assert_int_equal(orders_list_owed(o, 1000, pay_cb, o), 0);
	new_order(o, &a, 7, NULL);
	new_order(o, &b, 7, NULL);
	new_order(o, &c, 7, NULL);
	for (int i = 0; i < 2; i++)
		assert_int_equal(orders_set_state(o, i ? b.id : a.id,
		    ORDER_RECEIVED, ORDER_SUBMITTING, err, sizeof(err)), 1);
	/* Neither a new order nor a failed one owes anything here. */
	assert_int_equal(orders_set_failed(o, c.id, ORDER_FAILED, "x"), 0);
	assert_int_equal(orders_list_owed(o, 100, owed_cb, ids), 0);
	assert_string_equal(ids, "");
	assert_int_equal(orders_set_issued(o, a.id, "CERT", "", "0a", "h",
	    NULL), 0);
	assert_int_equal(orders_set_issued(o, b.id, "CERT", "", "0b", NULL,
	    NULL), 0);
	assert_int_equal(orders_list_owed(o, 100, owed_cb, ids), 0);
	snprintf(want, sizeof(want), "%s:issued %s:issued ", a.id, b.id);
	/* Oldest change first; the same second orders by id. */
	if (strcmp(a.id, b.id) > 0)
		snprintf(want, sizeof(want), "%s:issued %s:issued ", b.id,
		    a.id);
	assert_string_equal(ids, want);
	/* At most limit of them, the oldest change first. */
	ids[0] = '\0';
	assert_int_equal(orders_list_owed(o, 1, owed_cb, ids), 0);
	assert_int_equal(strlen(ids), ORDER_ID_LEN + strlen(":issued "));
	assert_int_equal(strncmp(ids, want, strlen(ids)), 0);
	assert_int_equal(orders_record_paid(o, a.id), 0);
	assert_int_equal(orders_get(o, a.id, &got), 1);
	assert_int_equal(got.record_owed, 0);
	order_free(&got);
	/* Paying twice, or for an order that owes nothing, is a no-op. */
	assert_int_equal(orders_record_paid(o, a.id), 0);
	assert_int_equal(orders_record_paid(o, c.id), 0);
	assert_int_equal(orders_record_paid(o, b.id), 0);
	assert_int_equal(orders_set_revoked(o, a.id, "keyCompromise"), 0);
	ids[0] = '\0';
	assert_int_equal(orders_list_owed(o, 100, owed_cb, ids), 0);
	snprintf(want, sizeof(want), "%s:revoked ", a.id);
	assert_string_equal(ids, want);
	orders_close(o);
	/* Owed survives a reopen (what a restart pays). */
	o = open_db();
	ids[0] = '\0';
	assert_int_equal(orders_list_owed(o, 100, owed_cb, ids), 0);
	assert_string_equal(ids, want);
	orders_close(o);
}

static void
test_latest_chain(void **state)
{
	struct orders	*o = open_db();
	struct order	 a, b;
	char		 err[256], *chain;

	(void)state;
	assert_int_equal(orders_latest_chain(o, "cmchain", &chain), 0);
	assert_null(chain);
	memset(&a, 0, sizeof(a));
	a.uid = 7;
	a.connector = "cmchain";
	a.profile = "p";
	a.csr_pem = "PEM";
	assert_int_equal(orders_create(o, &a, err, sizeof(err)), 0);
	b = a;
	b.id[0] = '\0';	/* a new id: a's is taken */
	assert_int_equal(orders_create(o, &b, err, sizeof(err)), 0);
	assert_int_equal(orders_set_state(o, a.id, ORDER_RECEIVED, ORDER_SUBMITTING,
	    err, sizeof(err)), 1);
	/* Issued without a chain: still none known. */
	assert_int_equal(orders_set_issued(o, a.id, "CERT", "", "02", NULL,
	    NULL), 0);
	assert_int_equal(orders_latest_chain(o, "cmchain", &chain), 0);
	assert_int_equal(orders_set_state(o, b.id, ORDER_RECEIVED, ORDER_SUBMITTING,
	    err, sizeof(err)), 1);
	assert_int_equal(orders_set_issued(o, b.id, "CERT", "CHAIN-B", "03",
	    NULL, NULL), 0);
	assert_int_equal(orders_latest_chain(o, "cmchain", &chain), 1);
	assert_string_equal(chain, "CHAIN-B");
	free(chain);
	assert_int_equal(orders_latest_chain(o, "other", &chain), 0);
	orders_close(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_state_machine),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_find_live),
		cmocka_unit_test(test_latest_chain),
		cmocka_unit_test(test_chosen_id),
		cmocka_unit_test(test_record_owed),
		cmocka_unit_test(test_survives_kill),
		cmocka_unit_test(test_resumable_due),
		cmocka_unit_test(test_due_reads_only_due),
		cmocka_unit_test(test_attempt_unsynced),
		cmocka_unit_test(test_schema_checks),
		cmocka_unit_test(test_tracked),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
