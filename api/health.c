/*
 * health.c - "is the agent fit to serve?", for "hsmagent health" and the
 * metrics. Each check names a part and says "ok" or why not:
 *
 *   down      nothing can be issued: the HSM cannot sign, the audit log
 *             or the orders database cannot be written (operations are
 *             refused, fail closed), the gateway certificate is expired
 *             or unusable, or the connector child keeps dying;
 *   degraded  service goes on, but someone should look: the child is
 *             restarting, a CA failed its check or its last call, the
 *             gateway certificate expires soon, a tracked certificate
 *             expired, or the agent is stopping.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "audit.h"
#include "orders.h"
#include "util.h"

#define CRASH_LOOP	4	/* short lives in a row: "down" */

static void
check(json_t *checks, json_t *reasons, enum health_status *st,
    const char *name, enum health_status level, const char *msg)
{
	json_object_set_new(checks, name, json_string(level == HEALTH_OK ?
	    "ok" : msg));
	if (level == HEALTH_OK)
		return;
	json_array_append_new(reasons, json_sprintf("%s: %s", name, msg));
	if (level > *st)
		*st = level;
}

static void
check_child(struct agent *a, json_t *checks, json_t *reasons,
    enum health_status *st)
{
	const struct child_proc	*c = &a->child;
	char			 msg[128];

	if (c->log_dropped_ms != 0 &&
	    monotime_ms() - c->log_dropped_ms < CHILD_LOG_FLOOD_MS) {
		snprintf(msg, sizeof(msg), "log flood: %llu lines dropped "
		    "(more than %d a second)", (unsigned long long)
		    c->log_dropped, CHILD_LOG_RATE);
		check(checks, reasons, st, "child_log", HEALTH_DEGRADED, msg);
	}
	if (c->ready) {
		check(checks, reasons, st, "child", HEALTH_OK, NULL);
		return;
	}
	if (c->pid > 0)
		snprintf(msg, sizeof(msg), "starting (pid %ld)", (long)c->pid);
	else
		snprintf(msg, sizeof(msg), "not running: %u short lives in a "
		    "row, %llu restarts", c->backoff,
		    (unsigned long long)c->restarts);
	check(checks, reasons, st, "child", c->pid == 0 &&
	    c->backoff >= CRASH_LOOP ? HEALTH_DOWN : HEALTH_DEGRADED, msg);
}

/* Each CA: its check at start, then its last call. */
static void
check_cas(struct agent *a, json_t *checks, json_t *reasons,
    enum health_status *st)
{
	for (size_t i = 0; i < a->cfg->nconnectors; i++) {
		const struct ca_target	*t = &a->ca_targets[i];
		char			 name[96], msg[IPC_MAX_STR + 32];

		snprintf(name, sizeof(name), "ca %s", a->cfg->connectors[i].name);
		if (t->checked < 0)
			check(checks, reasons, st, name, HEALTH_DEGRADED,
			    t->status);
		else if (t->last_fail > t->last_ok) {
			snprintf(msg, sizeof(msg), "last call failed: %s",
			    t->last_error);
			check(checks, reasons, st, name, HEALTH_DEGRADED, msg);
		} else
			check(checks, reasons, st, name, HEALTH_OK, NULL);
	}
}

static void
check_certificate(struct agent *a, int64_t now, json_t *checks,
    json_t *reasons, enum health_status *st)
{
	int64_t	days_left = (a->pub.cert_not_after - now) / 86400;
	char	msg[IPC_MAX_STR + 64];

	if (a->cred.error[0] != '\0')
		check(checks, reasons, st, "client_certificate", HEALTH_DOWN,
		    a->cred.error);
	else if (a->pub.cert_not_after <= now)
		check(checks, reasons, st, "client_certificate", HEALTH_DOWN,
		    "expired");
	else if (days_left < (int64_t)a->cfg->cert_warn_days) {
		snprintf(msg, sizeof(msg), "expires in %lld days (warning from "
		    "%u)", (long long)days_left, a->cfg->cert_warn_days);
		check(checks, reasons, st, "client_certificate",
		    HEALTH_DEGRADED, msg);
	} else
		check(checks, reasons, st, "client_certificate", HEALTH_OK,
		    NULL);
}

enum health_status
health_eval(struct agent *a, json_t *checks, json_t *reasons)
{
	enum health_status	 st = HEALTH_OK;
	int64_t			 now = (int64_t)time(NULL);
	int			 expired = 0;
	json_t			*tracked;

	check(checks, reasons, &st, "hsm", a->hsm_error[0] ? HEALTH_DOWN :
	    HEALTH_OK, a->hsm_error);
	check_child(a, checks, reasons, &st);
	check_cas(a, checks, reasons, &st);
	check_certificate(a, now, checks, reasons, &st);
	if (a->cfg->api_socket != NULL) {
		/* Fail closed is visible: operations are refused meanwhile. */
		check(checks, reasons, &st, "audit", audit_healthy(a->audit) ?
		    HEALTH_OK : HEALTH_DOWN, "the audit log cannot be written "
		    "(disk full, read-only, or the file moved): operations "
		    "are refused");
		check(checks, reasons, &st, "database",
		    orders_healthy(a->orders) ? HEALTH_OK : HEALTH_DOWN,
		    "the orders database was moved or deleted, or a write "
		    "to it could not be synced: operations are refused");
	}
	tracked = api_track_health(a, now, &expired);
	json_decref(tracked);
	check(checks, reasons, &st, "tracked", expired ? HEALTH_DEGRADED :
	    HEALTH_OK, "a tracked certificate has expired");
	if (a->draining)
		check(checks, reasons, &st, "agent", HEALTH_DEGRADED,
		    "stopping");
	return st;
}

const char *
health_name(enum health_status st)
{
	return st == HEALTH_OK ? "ok" : st == HEALTH_DEGRADED ? "degraded" :
	    "down";
}
