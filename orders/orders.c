/*
 * orders.c - the orders table in SQLite.
 *
 * WAL with synchronous=FULL: a change is on disk when its statement
 * returns, so "submitting" is durable before the CA is called. The one
 * exception is a poll's bookkeeping (orders_record_attempt), which a
 * crash may lose and nothing needs to keep. Every statement is prepared
 * with bound parameters; no SQL is built from strings.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "orders.h"
#include "util.h"

#define STMT_CACHE	24

struct orders {
	sqlite3	*db;
	char	*path;
	dev_t	 dev;
	ino_t	 ino;
	int	 sync_lost;	/* synchronous=FULL could not be restored */
	int	 unsynced;	/* committed at NORMAL since the last sync */
	int	 in_unsynced;	/* between unsynced_begin and _end */
	/* Prepared once, reset after each use: parsing SQL cost as much as
	 * running it. Keyed by the SQL text's address (string literals). */
	struct {
		const char	*sql;
		sqlite3_stmt	*st;
	}	 stmts[STMT_CACHE];
};

/*
 * The statement for sql, ready to bind (NULL on error). Each use ends
 * with sqlite3_reset(), which also ends a reading statement's snapshot.
 */
static sqlite3_stmt *
prep(struct orders *o, const char *sql)
{
	sqlite3_stmt	*st;
	size_t		 i;

	for (i = 0; i < STMT_CACHE && o->stmts[i].sql != NULL; i++)
		if (o->stmts[i].sql == sql) {
			sqlite3_clear_bindings(o->stmts[i].st);
			return o->stmts[i].st;
		}
	if (sqlite3_prepare_v3(o->db, sql, -1, i < STMT_CACHE ?
	    SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) != SQLITE_OK)
		return NULL;
	if (i == STMT_CACHE) {
		/* More call sites than slots (cannot happen): one-off use. */
		log_warn("orders: statement cache full");
		return st;
	}
	o->stmts[i].sql = sql;
	o->stmts[i].st = st;
	return st;
}

/* The end of a use of prep()'s statement. */
static void
done(struct orders *o, sqlite3_stmt *st)
{
	for (size_t i = 0; i < STMT_CACHE && o->stmts[i].sql != NULL; i++)
		if (o->stmts[i].st == st) {
			sqlite3_reset(st);
			return;
		}
	sqlite3_finalize(st);
}

/* Tracked certificates (tracked.c): in the schema and in the v2 upgrade. */
#define TRACKED_TABLE \
    "CREATE TABLE tracked (" \
    " name TEXT PRIMARY KEY NOT NULL," \
    " created INTEGER NOT NULL, updated INTEGER NOT NULL," \
    " uid INTEGER NOT NULL, gid INTEGER NOT NULL, user TEXT NOT NULL," \
    " connector TEXT NOT NULL, profile TEXT NOT NULL, csr_pem TEXT NOT NULL," \
    " sans_json TEXT NOT NULL, validity_days INTEGER NOT NULL," \
    " order_id TEXT, issued_order TEXT," \
    " not_before INTEGER NOT NULL DEFAULT 0," \
    " not_after INTEGER NOT NULL DEFAULT 0," \
    " renew_at INTEGER NOT NULL DEFAULT 0," \
    " next_attempt INTEGER NOT NULL DEFAULT 0," \
    " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);"

/*
 * The orders due for a submission or a poll (orders_list_resumable),
 * found without reading the others: by state alone, every second's
 * look read each pending order's row, a thousand rows a second for a
 * thousand pending orders. The index on state alone that older agents
 * made is a prefix of this one (counts by state use this one), so it
 * goes: one index less to write on every change of state. Both are done
 * on each open, for a database made without them: an index changes no
 * data, so the version stays.
 */
#define ORDERS_DUE_INDEX \
    "DROP INDEX IF EXISTS orders_state;" \
    "CREATE INDEX IF NOT EXISTS orders_due ON orders (state, next_poll);" \
    ORDERS_OWED_INDEX

/*
 * The orders whose change of state (issued, revoked) is stored but whose
 * audit record is not yet known to be written (record_owed): a partial
 * index, so that finding them reads nothing while there are none.
 */
#define ORDERS_OWED_INDEX \
    "CREATE INDEX IF NOT EXISTS orders_owed ON orders (id) " \
    "WHERE record_owed = 1;"

static const char schema[] =
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "INSERT INTO schema_version VALUES (3);"
    "CREATE TABLE orders ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " uid INTEGER NOT NULL, gid INTEGER NOT NULL, pid INTEGER NOT NULL,"
    " user TEXT NOT NULL, connector TEXT NOT NULL, profile TEXT NOT NULL,"
    " rule TEXT, csr_pem TEXT NOT NULL, sans_json TEXT NOT NULL,"
    " validity_days INTEGER NOT NULL, state TEXT NOT NULL,"
    " approver_uid INTEGER, ca_handle TEXT,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_poll INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
    " cert_pem TEXT, chain_pem TEXT, serial TEXT, revoke_reason TEXT,"
    " poll_since INTEGER NOT NULL DEFAULT 0, ca_renew_id TEXT,"
    " record_owed INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX orders_uid ON orders (uid, created);"
    "CREATE INDEX orders_serial ON orders (serial);"
    ORDERS_DUE_INDEX
    TRACKED_TABLE;

/* Version 1 to 2: the CA's renewal id, and tracked certificates. */
static const char upgrade_v2[] =
    "ALTER TABLE orders ADD COLUMN ca_renew_id TEXT;"
    TRACKED_TABLE
    "UPDATE schema_version SET version = 2;";

/* Version 2 to 3: the audit record an order's last change still owes. */
static const char upgrade_v3[] =
    "ALTER TABLE orders ADD COLUMN record_owed INTEGER NOT NULL DEFAULT 0;"
    "UPDATE schema_version SET version = 3;";

#define COLUMNS	"id, created, updated, uid, gid, pid, user, connector, " \
	"profile, rule, csr_pem, sans_json, validity_days, state, " \
	"approver_uid, ca_handle, attempts, next_poll, last_error, cert_pem, " \
	"chain_pem, serial, revoke_reason, poll_since, ca_renew_id, " \
	"record_owed"

/* The one name table of the states: orders.db, the API, metrics. */
static const char *const state_names[ORDER_STATES] = {
	[ORDER_RECEIVED] = "received",
	[ORDER_AWAITING_APPROVAL] = "awaiting_approval",
	[ORDER_SUBMITTING] = "submitting",
	[ORDER_PENDING] = "pending",
	[ORDER_ISSUED] = "issued",
	[ORDER_REVOKED] = "revoked",
	[ORDER_REJECTED] = "rejected",
	[ORDER_FAILED] = "failed",
	[ORDER_UNKNOWN] = "unknown",
};

const char *
order_state_name(enum order_state s)
{
	return (unsigned)s < ORDER_STATES ? state_names[s] : "unknown";
}

enum order_state
order_state_of(const char *s)
{
	for (int i = 0; s != NULL && i < ORDER_UNKNOWN; i++)
		if (strcmp(state_names[i], s) == 0)
			return (enum order_state)i;
	return ORDER_UNKNOWN;
}

int
order_state_final(enum order_state s)
{
	return s == ORDER_ISSUED || s == ORDER_REJECTED || s == ORDER_FAILED ||
	    s == ORDER_REVOKED || s == ORDER_UNKNOWN;
}

/* Allowed transitions; anything else is a bug in the caller. */
static const struct {
	enum order_state from, to;
} transitions[] = {
	{ ORDER_RECEIVED, ORDER_AWAITING_APPROVAL },
	{ ORDER_AWAITING_APPROVAL, ORDER_RECEIVED },
	{ ORDER_RECEIVED, ORDER_SUBMITTING },
	{ ORDER_SUBMITTING, ORDER_PENDING },
	/* The CA did not take it (429, 503). */
	{ ORDER_SUBMITTING, ORDER_RECEIVED },
	{ ORDER_SUBMITTING, ORDER_ISSUED },
	{ ORDER_PENDING, ORDER_ISSUED },
	{ ORDER_ISSUED, ORDER_REVOKED },
	{ ORDER_RECEIVED, ORDER_REJECTED },
	{ ORDER_AWAITING_APPROVAL, ORDER_REJECTED },
	{ ORDER_SUBMITTING, ORDER_REJECTED },
	{ ORDER_PENDING, ORDER_REJECTED },
	{ ORDER_RECEIVED, ORDER_FAILED },
	{ ORDER_AWAITING_APPROVAL, ORDER_FAILED },
	{ ORDER_SUBMITTING, ORDER_FAILED },
	{ ORDER_PENDING, ORDER_FAILED },
};

static int
allowed(enum order_state from, enum order_state to)
{
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if (transitions[i].from == from && transitions[i].to == to)
			return 1;
	return 0;
}

static int
exec(struct orders *o, const char *sql)
{
	return sqlite3_exec(o->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/*
 * After a write that changed rows: committed at FULL, its sync of the
 * WAL took every frame before it too, unsynced ones included.
 */
static void
wrote(struct orders *o)
{
	if (!o->in_unsynced && sqlite3_changes(o->db) > 0)
		o->unsynced = 0;
}

/* The schema: created on an empty file, checked otherwise. */
static int
check_schema(struct orders *o, char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	int		 n = 0, version = -1, rc;

	if (sqlite3_prepare_v2(o->db, "SELECT count(*) FROM sqlite_master",
	    -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "not an SQLite database (%s)",
		    sqlite3_errmsg(o->db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (n == 0) {
		if (exec(o, "BEGIN") == -1 || exec(o, schema) == -1 ||
		    exec(o, "COMMIT") == -1) {
			snprintf(err, errlen, "cannot create the schema: %s",
			    sqlite3_errmsg(o->db));
			return -1;
		}
		return 0;
	}
	rc = sqlite3_prepare_v2(o->db, "SELECT version FROM schema_version",
	    -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	/* Older versions are brought up to this one, a step at a time. */
	if (version == 1 || version == 2) {
		if (exec(o, "BEGIN") == -1 || (version == 1 &&
		    exec(o, upgrade_v2) == -1) || exec(o, upgrade_v3) == -1 ||
		    exec(o, "COMMIT") == -1) {
			snprintf(err, errlen, "cannot upgrade the schema from "
			    "version %d: %s", version, sqlite3_errmsg(o->db));
			(void)exec(o, "ROLLBACK");
			return -1;
		}
		version = ORDERS_SCHEMA_VERSION;
	}
	if (version == ORDERS_SCHEMA_VERSION) {
		if (exec(o, ORDERS_DUE_INDEX) == -1) {
			snprintf(err, errlen, "cannot index the orders by when "
			    "they are due: %s", sqlite3_errmsg(o->db));
			return -1;
		}
		return 0;
	}
	if (version > ORDERS_SCHEMA_VERSION)
		snprintf(err, errlen, "schema version %d was created by a newer "
		    "hsmagent (this one knows %d)", version,
		    ORDERS_SCHEMA_VERSION);
	else
		snprintf(err, errlen, "not an hsmagent orders database (no "
		    "schema version)");
	return -1;
}

sqlite3 *
orders_sqlite(struct orders *o)
{
	return o->db;
}

/*
 * Is the file at the path still the database we write? SQLite keeps
 * writing to a file that was deleted or replaced under it: changes
 * that would vanish at the next start. Refused instead.
 */
int
orders_healthy(struct orders *o)
{
	struct stat st;

	return !o->sync_lost && stat(o->path, &st) == 0 &&
	    st.st_dev == o->dev && st.st_ino == o->ino;
}

struct orders *
orders_open(const char *dir, char *err, size_t errlen)
{
	struct orders	*o = xcalloc(1, sizeof(*o));
	char		 path[4200], e[256];
	struct stat	 st;
	int		 fd;

	snprintf(path, sizeof(path), "%s/orders.db", dir);
	/* Created 0600 by us, whatever the umask; never through a link. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(o);
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		free(o);
		return NULL;
	}
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	close(fd);
	if (sqlite3_open_v2(path, &o->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, o->db ?
		    sqlite3_errmsg(o->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(o->db, 5000);
	if (exec(o, "PRAGMA journal_mode=WAL") == -1 ||
	    exec(o, "PRAGMA synchronous=FULL") == -1 ||
	    /* Lookups go by index; the kernel's page cache holds the rest. */
	    exec(o, "PRAGMA cache_size=-512") == -1 ||
	    exec(o, "PRAGMA foreign_keys=ON") == -1) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(o->db));
		goto fail;
	}
	if (check_schema(o, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "%s: %s", path, e);
		goto fail;
	}
	o->path = xstrdup(path);
	return o;
 fail:
	sqlite3_close(o->db);
	free(o);
	return NULL;
}

void
orders_close(struct orders *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < STMT_CACHE && o->stmts[i].sql != NULL; i++)
		sqlite3_finalize(o->stmts[i].st);
	sqlite3_close(o->db);
	free(o->path);
	free(o);
}

void
order_free(struct order *o)
{
	free(o->user);
	free(o->connector);
	free(o->profile);
	free(o->rule);
	free(o->csr_pem);
	free(o->sans_json);
	free(o->ca_handle);
	free(o->ca_renew_id);
	free(o->last_error);
	free(o->cert_pem);
	free(o->chain_pem);
	free(o->serial);
	free(o->revoke_reason);
	memset(o, 0, sizeof(*o));
}

char *
db_col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s == NULL ? NULL : xstrdup((const char *)s);
}

static void
row_to_order(sqlite3_stmt *st, struct order *o)
{
	const unsigned char *s;

	memset(o, 0, sizeof(*o));
	s = sqlite3_column_text(st, 0);
	snprintf(o->id, sizeof(o->id), "%s", s ? (const char *)s : "");
	o->created = sqlite3_column_int64(st, 1);
	o->updated = sqlite3_column_int64(st, 2);
	o->uid = (uint32_t)sqlite3_column_int64(st, 3);
	o->gid = (uint32_t)sqlite3_column_int64(st, 4);
	o->pid = (int32_t)sqlite3_column_int64(st, 5);
	o->user = db_col_str(st, 6);
	o->connector = db_col_str(st, 7);
	o->profile = db_col_str(st, 8);
	o->rule = db_col_str(st, 9);
	o->csr_pem = db_col_str(st, 10);
	o->sans_json = db_col_str(st, 11);
	o->validity_days = (uint32_t)sqlite3_column_int64(st, 12);
	s = sqlite3_column_text(st, 13);
	o->state = order_state_of((const char *)s);
	o->has_approver = sqlite3_column_type(st, 14) != SQLITE_NULL;
	o->approver_uid = (uint32_t)sqlite3_column_int64(st, 14);
	o->ca_handle = db_col_str(st, 15);
	o->attempts = (uint32_t)sqlite3_column_int64(st, 16);
	o->next_poll = sqlite3_column_int64(st, 17);
	o->last_error = db_col_str(st, 18);
	o->cert_pem = db_col_str(st, 19);
	o->chain_pem = db_col_str(st, 20);
	o->serial = db_col_str(st, 21);
	o->revoke_reason = db_col_str(st, 22);
	o->poll_since = sqlite3_column_int64(st, 23);
	o->ca_renew_id = db_col_str(st, 24);
	o->record_owed = sqlite3_column_int(st, 25) != 0;
}

void
db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

int
orders_new_id(char out[ORDER_ID_LEN + 1])
{
	unsigned char r[ORDER_ID_LEN / 2];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	hex_lower(r, sizeof(r), out);
	return 0;
}

int
orders_create(struct orders *o, struct order *ord, char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (!orders_healthy(o)) {
		snprintf(err, errlen, "the database file was moved or deleted");
		return -1;
	}
	if (ord->state != ORDER_RECEIVED &&
	    ord->state != ORDER_AWAITING_APPROVAL) {
		snprintf(err, errlen, "a new order starts as received or "
		    "awaiting_approval, not %s", order_state_name(ord->state));
		return -1;
	}
	if (ord->id[0] == '\0' && orders_new_id(ord->id) == -1) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	if (strlen(ord->id) != ORDER_ID_LEN ||
	    strspn(ord->id, "0123456789abcdef") != ORDER_ID_LEN) {
		snprintf(err, errlen, "not an order id: \"%.*s\"",
		    ORDER_ID_LEN + 1, ord->id);
		return -1;
	}
	ord->created = ord->updated = (int64_t)time(NULL);
	if ((st = prep(o, "INSERT INTO orders (id, created, "
	    "updated, uid, gid, pid, user, connector, profile, rule, csr_pem, "
	    "sans_json, validity_days, state, poll_since) VALUES (?1, ?2, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?2)")) == NULL)
		goto dberr;
	sqlite3_bind_text(st, 1, ord->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, ord->created);
	sqlite3_bind_int64(st, 3, ord->uid);
	sqlite3_bind_int64(st, 4, ord->gid);
	sqlite3_bind_int64(st, 5, ord->pid);
	db_bind_text(st, 6, ord->user ? ord->user : "");
	db_bind_text(st, 7, ord->connector);
	db_bind_text(st, 8, ord->profile);
	db_bind_text(st, 9, ord->rule);
	db_bind_text(st, 10, ord->csr_pem);
	db_bind_text(st, 11, ord->sans_json ? ord->sans_json : "[]");
	sqlite3_bind_int64(st, 12, ord->validity_days);
	db_bind_text(st, 13, order_state_name(ord->state));
	rc = sqlite3_step(st);
	done(o, st);
	if (rc == SQLITE_DONE) {
		wrote(o);
		return 0;
	}
 dberr:
	snprintf(err, errlen, "cannot store the order: %s",
	    sqlite3_errmsg(o->db));
	return -1;
}

/* Steps prep()'s st for one order and resets it: 1 found, 0 none, -1. */
static int
one_row(struct orders *o, sqlite3_stmt *st, struct order *out)
{
	int rc, r = -1;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_to_order(st, out);
		r = 1;
	} else if (rc == SQLITE_DONE)
		r = 0;
	done(o, st);
	return r;
}

static int
get_one(struct orders *o, const char *sql, const char *key,
    struct order *out)
{
	sqlite3_stmt *st;

	if ((st = prep(o, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	return one_row(o, st, out);
}

int
orders_get(struct orders *o, const char *id, struct order *out)
{
	return get_one(o, "SELECT " COLUMNS " FROM orders WHERE id = ?1", id,
	    out);
}

int
orders_find_by_serial(struct orders *o, const char *serial,
    struct order *out)
{
	return get_one(o, "SELECT " COLUMNS " FROM orders WHERE serial = ?1 "
	    "ORDER BY created DESC LIMIT 1", serial, out);
}

int
orders_find_live(struct orders *o, uint32_t uid, const char *connector,
    const char *profile, const char *csr_pem, struct order *out)
{
	sqlite3_stmt *st;

	/* The uid index narrows it; the CSR is compared whole. */
	if ((st = prep(o, "SELECT " COLUMNS " FROM orders WHERE "
	    "uid = ?1 AND connector = ?2 AND profile = ?3 AND csr_pem = ?4 "
	    "AND state IN ('received', 'awaiting_approval', 'submitting', "
	    "'pending') ORDER BY created DESC, rowid DESC LIMIT 1")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, uid);
	db_bind_text(st, 2, connector);
	db_bind_text(st, 3, profile);
	db_bind_text(st, 4, csr_pem);
	return one_row(o, st, out);
}

int
orders_latest_chain(struct orders *o, const char *connector, char **chain)
{
	sqlite3_stmt	*st;
	int		 rc, r = -1;

	*chain = NULL;
	if ((st = prep(o, "SELECT chain_pem FROM orders WHERE "
	    "connector = ?1 AND state IN ('issued', 'revoked') AND chain_pem "
	    "IS NOT NULL AND chain_pem != '' ORDER BY updated DESC, rowid "
	    "DESC LIMIT 1")) == NULL)
		return -1;
	db_bind_text(st, 1, connector);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (*chain = db_col_str(st, 0)) != NULL)
		r = 1;
	else if (rc == SQLITE_DONE)
		r = 0;
	done(o, st);
	return r;
}

/* Runs an UPDATE on one order; returns the number of rows changed. */
static int
update(struct orders *o, const char *sql, const char *id, const char *a1,
    const char *a2, const char *a3, int64_t n)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (!orders_healthy(o) ||
	    (st = prep(o, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	db_bind_text(st, 3, a1);
	db_bind_text(st, 4, a2);
	db_bind_text(st, 5, a3);
	sqlite3_bind_int64(st, 6, n);
	rc = sqlite3_step(st);
	done(o, st);
	if (rc != SQLITE_DONE)
		return -1;
	wrote(o);
	return sqlite3_changes(o->db);
}

int
orders_set_state(struct orders *o, const char *id, enum order_state from,
    enum order_state to, char *err, size_t errlen)
{
	int n;

	if (!allowed(from, to)) {
		snprintf(err, errlen, "order %s: %s -> %s is not a transition",
		    id, order_state_name(from), order_state_name(to));
		return -1;
	}
	n = update(o, "UPDATE orders SET state = ?4, updated = ?2 WHERE "
	    "id = ?1 AND state = ?3", id, order_state_name(from),
	    order_state_name(to), NULL, 0);
	if (n == -1)
		snprintf(err, errlen, "order %s: %s", id, sqlite3_errmsg(o->db));
	return n < 0 ? -1 : n > 0;
}

int
orders_set_approver(struct orders *o, const char *id, uint32_t uid)
{
	return update(o, "UPDATE orders SET approver_uid = ?6, updated = ?2 "
	    "WHERE id = ?1", id, NULL, NULL, NULL, uid) == 1 ? 0 : -1;
}

int
orders_set_ca_handle(struct orders *o, const char *id, const char *handle,
    const char *renew_id)
{
	return update(o, "UPDATE orders SET ca_handle = ?3, ca_renew_id = "
	    "coalesce(?4, ca_renew_id), updated = ?2 WHERE id = ?1", id,
	    handle, renew_id, NULL, 0) == 1 ? 0 : -1;
}

/*
 * The next statements committed at synchronous=NORMAL (unsynced_begin,
 * then unsynced_end with their result). NORMAL and not OFF: in WAL
 * mode, NORMAL still syncs a checkpoint, so a power cut can roll such a
 * change back but never corrupt what was synced. The next synced commit,
 * or orders_sync(), carries it to the disk with itself, in order (the
 * WAL is one file: its fdatasync takes every frame before). For
 * bookkeeping whose loss costs only a repeat (a poll's next time, a
 * record written once more), and for a new order that its submission's
 * synced commit follows at once (orders_create_unsynced). The
 * connection's mutex holds the three steps together (it is shared
 * between threads, SQLITE_OPEN_FULLMUTEX); a level that cannot be set
 * back leaves the database refused (orders_healthy) rather than unsynced.
 */
static int
unsynced_begin(struct orders *o)
{
	sqlite3_mutex_enter(sqlite3_db_mutex(o->db));
	if (exec(o, "PRAGMA synchronous=NORMAL") == -1) {
		sqlite3_mutex_leave(sqlite3_db_mutex(o->db));
		return -1;
	}
	o->in_unsynced = 1;
	return 0;
}

static int
unsynced_end(struct orders *o, int r)
{
	o->in_unsynced = 0;
	if (exec(o, "PRAGMA synchronous=FULL") == -1) {
		o->sync_lost = 1;
		log_error("%s: cannot restore synchronous=FULL: %s; refusing "
		    "further changes", o->path, sqlite3_errmsg(o->db));
		r = -1;
	} else if (r >= 0)
		o->unsynced = 1;
	sqlite3_mutex_leave(sqlite3_db_mutex(o->db));
	return r;
}

/* update() committed unsynced: the number of rows changed, or -1. */
static int
update_unsynced(struct orders *o, const char *sql, const char *id,
    const char *s3, int64_t i6)
{
	if (unsynced_begin(o) == -1)
		return -1;
	return unsynced_end(o, update(o, sql, id, s3, NULL, NULL, i6));
}

int
orders_create_unsynced(struct orders *o, struct order *ord, char *err,
    size_t errlen)
{
	if (unsynced_begin(o) == -1) {
		snprintf(err, errlen, "cannot store the order: %s",
		    sqlite3_errmsg(o->db));
		return -1;
	}
	return unsynced_end(o, orders_create(o, ord, err, errlen));
}

int
orders_sync(struct orders *o)
{
	sqlite3_file	*wal = NULL;
	int		 rc;

	if (!o->unsynced)
		return 0;
	if (!orders_healthy(o))
		return -1;
	/*
	 * The WAL's own sync, as a synced commit ends (a write that
	 * changes nothing would not do: SQLite leaves an unchanged page
	 * alone, and commits nothing).
	 */
	if (sqlite3_file_control(o->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
	    &wal) != SQLITE_OK || wal == NULL || wal->pMethods == NULL)
		rc = SQLITE_IOERR_FSYNC;
	else
		rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK) {
		/*
		 * A failed fsync may have dropped what it was to write (the
		 * kernel forgets dirty pages it could not write): what the
		 * database holds is no longer known, so nothing more is
		 * changed in it until a restart reads it again.
		 */
		o->sync_lost = 1;
		log_error("%s: cannot sync the write-ahead log; refusing "
		    "further changes", o->path);
		return -1;
	}
	o->unsynced = 0;
	return 0;
}

/*
 * A poll's bookkeeping, committed without a sync of its own: a thousand
 * pending orders would otherwise cost the disk a sync each per poll. A
 * crash may lose it, and nothing depends on it: the order is then due at
 * once and its schedule starts again from an earlier step.
 */
int
orders_record_attempt(struct orders *o, const char *id, int64_t next_poll,
    const char *last_error)
{
	return update_unsynced(o, "UPDATE orders SET attempts = attempts + 1, "
	    "next_poll = ?6, last_error = ?3, updated = ?2 WHERE id = ?1", id,
	    last_error, next_poll) == 1 ? 0 : -1;
}

int
orders_set_issued(struct orders *o, const char *id, const char *cert,
    const char *chain, const char *serial, const char *handle,
    const char *renew_id)
{
	sqlite3_stmt	*st;
	int		 rc;

	/* One transaction, so one sync, for all the CA's answer says. */
	if ((st = prep(o, "UPDATE orders SET state = 'issued', "
	    "record_owed = 1, "
	    "cert_pem = ?3, chain_pem = ?4, serial = ?5, updated = ?2, "
	    "ca_handle = coalesce(?6, ca_handle), ca_renew_id = coalesce(?7, "
	    "ca_renew_id), next_poll = 0 WHERE id = ?1 AND state IN "
	    "('submitting', 'pending')")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	db_bind_text(st, 3, cert);
	db_bind_text(st, 4, chain);
	db_bind_text(st, 5, serial);
	db_bind_text(st, 6, handle);
	db_bind_text(st, 7, renew_id);
	rc = sqlite3_step(st);
	done(o, st);
	if (rc == SQLITE_DONE)
		wrote(o);
	return rc == SQLITE_DONE && sqlite3_changes(o->db) == 1 ? 0 : -1;
}

int
orders_set_failed(struct orders *o, const char *id, enum order_state to,
    const char *last_error)
{
	if (to != ORDER_FAILED && to != ORDER_REJECTED)
		return -1;
	return update(o, "UPDATE orders SET state = ?4, last_error = ?3, "
	    "next_poll = 0, updated = ?2 WHERE id = ?1 AND state IN "
	    "('received', 'awaiting_approval', 'submitting', 'pending')", id,
	    last_error, order_state_name(to), NULL, 0) == 1 ? 0 : -1;
}

int
orders_set_revoked(struct orders *o, const char *id, const char *reason)
{
	return update(o, "UPDATE orders SET state = 'revoked', "
	    "record_owed = 1, "
	    "revoke_reason = ?3, updated = ?2 WHERE id = ?1 AND state = "
	    "'issued'", id, reason, NULL, NULL, 0) == 1 ? 0 : -1;
}

int
orders_record_paid(struct orders *o, const char *id)
{
	return update_unsynced(o, "UPDATE orders SET record_owed = 0 WHERE "
	    "id = ?1 AND record_owed = 1", id, NULL, 0) == -1 ? -1 : 0;
}


static int
iterate(struct orders *db, sqlite3_stmt *st,
    int (*cb)(const struct order *, void *), void *arg)
{
	struct order	o;
	int		rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_order(st, &o);
		rc = cb(&o, arg);
		order_free(&o);
		if (rc != 0)
			break;
	}
	done(db, st);
	return rc == SQLITE_DONE || rc == 0 ? 0 : -1;
}

int
orders_list(struct orders *o, int64_t uid_filter, size_t limit,
    int (*cb)(const struct order *, void *), void *arg)
{
	sqlite3_stmt *st;

	if (limit > 1000)
		limit = 1000;
	if ((st = prep(o, "SELECT " COLUMNS " FROM orders WHERE "
	    "?1 < 0 OR uid = ?1 ORDER BY created DESC, rowid DESC LIMIT ?2")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, uid_filter);
	sqlite3_bind_int64(st, 2, (int64_t)limit);
	return iterate(o, st, cb, arg);
}

int
orders_list_resumable(struct orders *o, int64_t due_by,
    int (*cb)(const struct order *, void *), void *arg)
{
	sqlite3_stmt *st;

	/*
	 * Only the due rows are read (the orders_due index): a thousand
	 * pending orders cost nothing between their polls. The longest
	 * overdue first, so that when there are more than the jobs the
	 * child may run, the rest go first next time: new orders
	 * (next_poll 0) before polls, and never an order left waiting
	 * while older ones are polled again and again (in creation order,
	 * 200 orders polled every second kept the last 55 from ever
	 * reaching the CA).
	 */
	if ((st = prep(o, "SELECT " COLUMNS " FROM orders WHERE "
	    "state IN ('received', 'submitting', 'pending') AND next_poll "
	    "BETWEEN 0 AND ?1 ORDER BY next_poll, created, rowid")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, due_by);
	return iterate(o, st, cb, arg);
}

int
orders_list_owed(struct orders *o, size_t limit,
    int (*cb)(const struct order *, void *), void *arg)
{
	sqlite3_stmt *st;

	if ((st = prep(o, "SELECT " COLUMNS " FROM orders WHERE "
	    "record_owed = 1 ORDER BY updated, id LIMIT ?1")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	return iterate(o, st, cb, arg);
}

int
orders_count_by_state(struct orders *o, enum order_state state, uint64_t *n)
{
	sqlite3_stmt	*st;
	int		 rc;

	*n = 0;
	if ((st = prep(o, "SELECT count(*) FROM orders WHERE "
	    "state = ?1")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_state_name(state), -1,
	    SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(st, 0);
	done(o, st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
orders_stop_polling(struct orders *o, const char *id, const char *why)
{
	return update(o, "UPDATE orders SET next_poll = -1, last_error = ?3, "
	    "updated = ?2 WHERE id = ?1 AND state IN ('submitting', "
	    "'pending')", id, why, NULL, NULL, 0) == 1 ? 0 : -1;
}

int
orders_resume_polling(struct orders *o, const char *id)
{
	return update(o, "UPDATE orders SET next_poll = 0, poll_since = ?2, "
	    "last_error = NULL, updated = ?2 WHERE id = ?1 AND next_poll < 0 "
	    "AND state IN ('submitting', 'pending')", id, NULL, NULL, NULL,
	    0) == 1 ? 0 : -1;
}
