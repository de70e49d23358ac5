/*
 * orders.h - certificate orders in SQLite (STATE_DIR/orders.db).
 *
 * States: received -> awaiting_approval -> received (approved)
 *         received -> submitting -> pending -> issued -> revoked
 *         any live state -> rejected | failed
 * "submitting" is committed before the CA is called: after a crash, an
 * order in that state may or may not have reached the CA, and the agent
 * asks the CA (by the order id, sent as the client reference) before it
 * submits again. orders_list_resumable() returns those, "pending" ones
 * and "received" ones a crash left before their submission.
 */
#ifndef HSMAGENT_ORDERS_H
#define HSMAGENT_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#define ORDER_ID_LEN		16	/* hex of 8 random bytes */

/* An order's state; order_state_name() is its name in orders.db and the API. */
enum order_state {
	ORDER_RECEIVED = 0,
	ORDER_AWAITING_APPROVAL,
	ORDER_SUBMITTING,
	ORDER_PENDING,
	ORDER_ISSUED,
	ORDER_REVOKED,
	ORDER_REJECTED,
	ORDER_FAILED,
	ORDER_UNKNOWN,		/* a row whose state this build cannot read */
	ORDER_STATES
};

const char	*order_state_name(enum order_state);
/* The state named s; ORDER_UNKNOWN for any other text. */
enum order_state order_state_of(const char *s);
/* issued, rejected, failed, revoked (and unknown): nothing more happens. */
int		 order_state_final(enum order_state);
#define ORDERS_SCHEMA_VERSION	3	/* 1 and 2 are upgraded in place */

struct order {
	char		 id[ORDER_ID_LEN + 1];
	int64_t		 created, updated;	/* unix seconds */
	uint32_t	 uid, gid;
	int32_t		 pid;
	char		*user;
	char		*connector, *profile, *rule;
	char		*csr_pem;
	char		*sans_json;		/* ["dns:...", ...] */
	uint32_t	 validity_days;
	enum order_state state;
	uint32_t	 approver_uid;
	int		 has_approver;
	char		*ca_handle;		/* the CA's order id (sslId) */
	char		*ca_renew_id;		/* Sectigo renewId, or NULL */
	uint32_t	 attempts;
	int64_t		 next_poll;
	char		*last_error;
	char		*cert_pem, *chain_pem, *serial;
	char		*revoke_reason;
	int64_t		 poll_since;		/* the deadline counts from here */
	int		 record_owed;		/* see orders_set_issued */
};

struct orders;

struct orders	*orders_open(const char *state_dir, char *err, size_t errlen);
void		 orders_close(struct orders *);
/* Is the file at its path still the database open? Writes refuse if not. */
int		 orders_healthy(struct orders *);
/* The database, for the tables beside orders (tracked.c). */
struct sqlite3	*orders_sqlite(struct orders *);
struct sqlite3_stmt;
/* Binds s, or NULL as SQL NULL; a text column as a malloc'd copy or NULL. */
void		 db_bind_text(struct sqlite3_stmt *, int, const char *);
char		*db_col_str(struct sqlite3_stmt *, int);

/*
 * A new order's id, from the kernel's RNG: 0, or -1 (errno set). Made
 * before the order is stored, so that the policy's decision can be on
 * record, with the id, before the order exists (order_new.c).
 */
int	orders_new_id(char out[ORDER_ID_LEN + 1]);
/*
 * Stores a new order: fills created and updated, and id unless the
 * caller set it (then ORDER_ID_LEN lowercase hex, from orders_new_id);
 * its state is ORDER_RECEIVED or ORDER_AWAITING_APPROVAL, as the caller
 * set it.
 */
int	orders_create(struct orders *, struct order *, char *err,
	    size_t errlen);
/*
 * The same, committed without a sync of its own: for an order whose
 * submission (a synced change of state) follows at once. Whoever then
 * answers for it calls orders_sync() first.
 */
int	orders_create_unsynced(struct orders *, struct order *, char *err,
	    size_t errlen);
/*
 * Every change committed unsynced before (a new order, a poll's
 * bookkeeping, a paid record) on the disk: 0 (at once when there is
 * none), or -1.
 */
int	orders_sync(struct orders *);
/* 1 found, 0 not found, -1 error. */
int	orders_get(struct orders *, const char *id, struct order *);
/*
 * Compare-and-set: 1 done, 0 the order was not in from (nothing
 * changed), -1 error or a transition the state machine does not allow.
 */
int	orders_set_state(struct orders *, const char *id,
	    enum order_state from, enum order_state to, char *err,
	    size_t errlen);
int	orders_set_approver(struct orders *, const char *id, uint32_t uid);
/* renew_id NULL keeps the one stored. */
int	orders_set_ca_handle(struct orders *, const char *id,
	    const char *handle, const char *renew_id);
int	orders_record_attempt(struct orders *, const char *id,
	    int64_t next_poll, const char *last_error);
/*
 * handle, renew_id: the CA's, stored in the same write (NULL: kept).
 * Issued and revoked orders owe their audit record (record_owed) until
 * orders_record_paid(): the certificate is stored before the record is
 * written, never lost for a record, and a record still owed after a
 * crash or while the log was down is written later from the row
 * (order_flow.c, orders_pay_records). SECURITY.md, "Records before
 * state".
 */
int	orders_set_issued(struct orders *, const char *id, const char *cert,
	    const char *chain, const char *serial, const char *handle,
	    const char *renew_id);
/* to: ORDER_FAILED or ORDER_REJECTED, from any live state. */
int	orders_set_failed(struct orders *, const char *id,
	    enum order_state to, const char *last_error);
int	orders_set_revoked(struct orders *, const char *id,
	    const char *reason);
/* The owed record is written: committed unsynced (a repeat if lost). */
int	orders_record_paid(struct orders *, const char *id);
/* The orders that owe their record, oldest change first, at most limit. */
int	orders_list_owed(struct orders *, size_t limit,
	    int (*cb)(const struct order *, void *), void *arg);
/*
 * At a connector's deadline polling stops (next_poll -1, why in
 * last_error) but the order stays where it is; resuming starts a new
 * deadline window from now.
 */
int	orders_stop_polling(struct orders *, const char *id, const char *why);
int	orders_resume_polling(struct orders *, const char *id);
int	orders_find_by_serial(struct orders *, const char *serial,
	    struct order *);
/*
 * The newest order of uid for this connector, profile and CSR that is
 * not final yet (received, awaiting approval, submitting, pending):
 * 1 found, 0 none, -1 error.
 */
int	orders_find_live(struct orders *, uint32_t uid, const char *connector,
	    const char *profile, const char *csr_pem, struct order *);
/* The chain of the newest issued order of a connector: 1 (*chain
 * malloc'd), 0 none known, -1 error. */
int	orders_latest_chain(struct orders *, const char *connector,
	    char **chain);
/* Newest first; uid_filter -1 for all; at most limit (<= 1000). */
int	orders_list(struct orders *, int64_t uid_filter, size_t limit,
	    int (*cb)(const struct order *, void *), void *arg);
/*
 * "received" (not yet submitted), "submitting" and "pending" orders
 * whose next poll is due by due_by (and not stopped), oldest first.
 */
int	orders_list_resumable(struct orders *, int64_t due_by,
	    int (*cb)(const struct order *, void *), void *arg);
int	orders_count_by_state(struct orders *, enum order_state,
	    uint64_t *n);
/* Frees the strings of o, not o. */
void	order_free(struct order *);

#endif
