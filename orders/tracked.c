/*
 * tracked.c - see tracked.h. Each call is one statement, so one
 * transaction with the database's synchronous=FULL: it survives a crash
 * when it returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "tracked.h"
#include "util.h"

#define COLUMNS	"name, created, updated, uid, gid, user, connector, profile, " \
	"csr_pem, sans_json, validity_days, order_id, issued_order, " \
	"not_before, not_after, renew_at, next_attempt, attempts, last_error"

int
tracked_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > TRACKED_NAME_MAX ||
	    strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]) == NULL)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void
row_to_tracked(sqlite3_stmt *st, struct tracked *t)
{
	const unsigned char *s = sqlite3_column_text(st, 0);

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", s ? (const char *)s : "");
	t->created = sqlite3_column_int64(st, 1);
	t->updated = sqlite3_column_int64(st, 2);
	t->uid = (uint32_t)sqlite3_column_int64(st, 3);
	t->gid = (uint32_t)sqlite3_column_int64(st, 4);
	t->user = db_col_str(st, 5);
	t->connector = db_col_str(st, 6);
	t->profile = db_col_str(st, 7);
	t->csr_pem = db_col_str(st, 8);
	t->sans_json = db_col_str(st, 9);
	t->validity_days = (uint32_t)sqlite3_column_int64(st, 10);
	t->order_id = db_col_str(st, 11);
	t->issued_order = db_col_str(st, 12);
	t->not_before = sqlite3_column_int64(st, 13);
	t->not_after = sqlite3_column_int64(st, 14);
	t->renew_at = sqlite3_column_int64(st, 15);
	t->next_attempt = sqlite3_column_int64(st, 16);
	t->attempts = (uint32_t)sqlite3_column_int64(st, 17);
	t->last_error = db_col_str(st, 18);
}

void
tracked_free(struct tracked *t)
{
	free(t->user);
	free(t->connector);
	free(t->profile);
	free(t->csr_pem);
	free(t->sans_json);
	free(t->order_id);
	free(t->issued_order);
	free(t->last_error);
	memset(t, 0, sizeof(*t));
}

int
tracked_create(struct orders *o, const struct tracked *t, char *err,
    size_t errlen)
{
	sqlite3		*db = orders_sqlite(o);
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO tracked (name, created, "
	    "updated, uid, gid, user, connector, profile, csr_pem, sans_json, "
	    "validity_days, order_id) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, "
	    "?8, ?9, ?10, ?11)", -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	db_bind_text(st, 1, t->name);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 3, t->uid);
	sqlite3_bind_int64(st, 4, t->gid);
	db_bind_text(st, 5, t->user ? t->user : "");
	db_bind_text(st, 6, t->connector);
	db_bind_text(st, 7, t->profile);
	db_bind_text(st, 8, t->csr_pem);
	db_bind_text(st, 9, t->sans_json ? t->sans_json : "[]");
	sqlite3_bind_int64(st, 10, t->validity_days);
	db_bind_text(st, 11, t->order_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT)
		return 1;
 dberr:
	snprintf(err, errlen, "cannot store the tracked certificate: %s",
	    sqlite3_errmsg(db));
	return -1;
}

int
tracked_get(struct orders *o, const char *name, struct tracked *out)
{
	sqlite3_stmt	*st;
	int		 rc, r = -1;

	if (sqlite3_prepare_v2(orders_sqlite(o), "SELECT " COLUMNS " FROM "
	    "tracked WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	db_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_to_tracked(st, out);
		r = 1;
	} else if (rc == SQLITE_DONE)
		r = 0;
	sqlite3_finalize(st);
	return r;
}

/*
 * One UPDATE or DELETE on one name: ?1 name, ?2 now, ?3 ?4 strings,
 * ?5 ?6 ?7 numbers; a statement uses those it needs (binding one it does
 * not use is a harmless SQLITE_RANGE). Rows changed, or -1.
 */
static int
change(struct orders *o, const char *sql, const char *name, const char *s1,
    const char *s2, int64_t n1, int64_t n2, int64_t n3)
{
	sqlite3		*db = orders_sqlite(o);
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	db_bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	db_bind_text(st, 3, s1);
	db_bind_text(st, 4, s2);
	sqlite3_bind_int64(st, 5, n1);
	sqlite3_bind_int64(st, 6, n2);
	sqlite3_bind_int64(st, 7, n3);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? sqlite3_changes(db) : -1;
}

int
tracked_delete(struct orders *o, const char *name)
{
	return change(o, "DELETE FROM tracked WHERE name = ?1", name, NULL,
	    NULL, 0, 0, 0) == 1 ? 0 : -1;
}

int
tracked_set_order(struct orders *o, const char *name, const char *order_id)
{
	return change(o, "UPDATE tracked SET order_id = ?3, updated = ?2 "
	    "WHERE name = ?1", name, order_id, NULL, 0, 0, 0) == 1 ? 0 : -1;
}

int
tracked_set_issued(struct orders *o, const char *name, const char *order_id,
    int64_t not_before, int64_t not_after, int64_t renew_at)
{
	return change(o, "UPDATE tracked SET order_id = ?3, issued_order = ?3, "
	    "not_before = ?5, not_after = ?6, renew_at = ?7, attempts = 0, "
	    "next_attempt = 0, last_error = NULL, updated = ?2 WHERE name = ?1",
	    name, order_id, NULL, not_before, not_after, renew_at) == 1 ? 0 :
	    -1;
}

int
tracked_set_failed(struct orders *o, const char *name, int64_t next_attempt,
    const char *why)
{
	return change(o, "UPDATE tracked SET order_id = NULL, attempts = "
	    "attempts + 1, next_attempt = ?5, last_error = ?3, updated = ?2 "
	    "WHERE name = ?1", name, why, NULL, next_attempt, 0, 0) == 1 ? 0 :
	    -1;
}

int
tracked_renew_now(struct orders *o, const char *name)
{
	int n = change(o, "UPDATE tracked SET renew_at = ?2, next_attempt = 0, "
	    "updated = ?2 WHERE name = ?1 AND (order_id IS NULL OR "
	    "order_id = issued_order)", name, NULL, NULL, 0, 0, 0);

	return n < 0 ? -1 : n;
}

int
tracked_list(struct orders *o, int64_t uid_filter,
    int (*cb)(const struct tracked *, void *), void *arg)
{
	sqlite3_stmt	*st;
	struct tracked	 t;
	int		 rc, r = 0;

	if (sqlite3_prepare_v2(orders_sqlite(o), "SELECT " COLUMNS " FROM "
	    "tracked WHERE ?1 < 0 OR uid = ?1 ORDER BY name LIMIT ?2", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, uid_filter);
	sqlite3_bind_int(st, 2, TRACKED_LIST_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_tracked(st, &t);
		r = cb(&t, arg);
		tracked_free(&t);
		if (r != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = -1;
	sqlite3_finalize(st);
	return r < 0 ? -1 : 0;
}
