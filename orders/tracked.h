/*
 * tracked.h - certificates the agent keeps renewed (table "tracked" in
 * STATE_DIR/orders.db, beside the orders).
 *
 * A tracked certificate has a caller-chosen name and an owner (the uid
 * that asked), and keeps what a renewal needs: connector, profile, the
 * CSR, the names and the validity asked for. order_id is the newest
 * order made for it; issued_order the newest one that was issued, whose
 * certificate "fetch" delivers. not_before/not_after are that
 * certificate's; renew_at is when the renewal window opens; failures
 * count in attempts and push next_attempt out.
 */
#ifndef HSMAGENT_TRACKED_H
#define HSMAGENT_TRACKED_H

#include <stdint.h>

#include "orders.h"

#define TRACKED_NAME_MAX	64
#define TRACKED_LIST_MAX	1000

struct tracked {
	char		 name[TRACKED_NAME_MAX + 1];
	int64_t		 created, updated;
	uint32_t	 uid, gid;
	char		*user;
	char		*connector, *profile, *csr_pem, *sans_json;
	uint32_t	 validity_days;		/* 0: the rule's maximum */
	char		*order_id;		/* NULL: none in flight or made */
	char		*issued_order;		/* NULL: never issued yet */
	int64_t		 not_before, not_after, renew_at;
	int64_t		 next_attempt;
	uint32_t	 attempts;
	char		*last_error;
};

/* [a-z0-9][a-z0-9._-]{0,63}: a name that is also a safe file name. */
int	tracked_name_ok(const char *);

/* 0, -1 (err set), or 1 if the name is taken. */
int	tracked_create(struct orders *, const struct tracked *, char *err,
	    size_t errlen);
/* 1 found, 0 not, -1 error. */
int	tracked_get(struct orders *, const char *name, struct tracked *);
int	tracked_delete(struct orders *, const char *name);
/* Visits up to TRACKED_LIST_MAX; uid_filter -1 for all. 0 or -1. */
int	tracked_list(struct orders *, int64_t uid_filter,
	    int (*cb)(const struct tracked *, void *), void *arg);
/* A new order made for it (renewal or retry). */
int	tracked_set_order(struct orders *, const char *name,
	    const char *order_id);
/* Its order was issued: the certificate's dates and the next window. */
int	tracked_set_issued(struct orders *, const char *name,
	    const char *order_id, int64_t not_before, int64_t not_after,
	    int64_t renew_at);
/* An attempt failed (order rejected, policy refused): when to retry. */
int	tracked_set_failed(struct orders *, const char *name,
	    int64_t next_attempt, const char *why);
/*
 * Renew now (getcert resubmit): the window opens at once, retries are
 * due. 1 done, 0 if a renewal is already in flight, -1 error.
 */
int	tracked_renew_now(struct orders *, const char *name);
void	tracked_free(struct tracked *);

#endif
