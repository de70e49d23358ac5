/*
 * agent_audit.c - audit records made by the agent itself (actor null):
 * start and stop, HSM login, child lifecycle, signatures, orders.
 */
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "audit.h"
#include "audit_checkpoint.h"
#include "log.h"
#include "util.h"

static int
record(struct agent *a, int deferred, const char *event, const char *target,
    const char *outcome, json_t *details, const struct audit_fields *flat)
{
	int r = 0;

	/* The same stable name in the log: journalctl can match on it. */
	log_msg(strncmp(event, "sign.", 5) == 0 && strcmp(outcome, "ok") == 0 ?
	    LOG_LVL_DEBUG : LOG_LVL_INFO, "event=%s outcome=%s%s%s", event,
	    outcome, target ? " target=" : "", target ? target : "");
	if (a->audit != NULL && (r = flat != NULL ?
	    audit_append_fields_deferred(a->audit, event, NULL, target,
	    outcome, flat) : (deferred ? audit_append_deferred :
	    audit_append)(a->audit, event, NULL, target, outcome,
	    details)) == -1)
		log_error("audit: cannot write %s%s%s", event,
		    target ? " for " : "", target ? target : "");
	if (r == 0 && deferred && a->audit_dirty_ms == 0)
		a->audit_dirty_ms = monotime_ms();
	/* A certificate delivered: its receipt comes with the checkpoint. */
	if (r == 0 && a->audit != NULL && target != NULL &&
	    strcmp(event, "ca.result") == 0 && strcmp(outcome, "issued") == 0)
		audit_ckpt_delivered(a, target);
	json_decref(details);
	return r;
}

int
agent_audit(struct agent *a, const char *event, const char *target,
    const char *outcome, json_t *details)
{
	return record(a, 0, event, target, outcome, details, NULL);
}

int
agent_audit_deferred(struct agent *a, const char *event, const char *target,
    const char *outcome, json_t *details)
{
	return record(a, 1, event, target, outcome, details, NULL);
}

int
agent_audit_fields_deferred(struct agent *a, const char *event,
    const char *outcome, const struct audit_fields *details)
{
	return record(a, 1, event, NULL, outcome, NULL, details);
}

int64_t
agent_audit_tick(struct agent *a, int64_t now)
{
	if (audit_unsynced(a->audit) == 0) {
		a->audit_dirty_ms = 0;	/* a synced record took them along */
		return 0;
	}
	if (now < a->audit_dirty_ms + AUDIT_SYNC_MS)
		return a->audit_dirty_ms + AUDIT_SYNC_MS;
	if (audit_sync(a->audit) == -1) {
		log_error("audit: cannot sync the log");
		a->audit_dirty_ms = now;	/* again in AUDIT_SYNC_MS */
		return now + AUDIT_SYNC_MS;
	}
	a->audit_dirty_ms = 0;
	return 0;
}

/* Hex SHA-256 of a file's bytes ("unreadable" if it cannot be read). */
void
file_sha256_hex(const char *path, char out[65])
{
	unsigned char	 md[32];
	unsigned int	 mdlen = 0;
	char		*buf;
	size_t		 len;

	snprintf(out, 65, "unreadable");
	if (path == NULL || read_file_capped(path, 16 << 20, &buf, &len) == -1)
		return;
	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == sizeof(md))
		hex_lower(md, sizeof(md), out);
	free(buf);
}
