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
#include "log.h"
#include "util.h"

int
agent_audit(struct agent *a, const char *event, const char *target,
    const char *outcome, json_t *details)
{
	int r = 0;

	/* The same stable name in the log: journalctl can match on it. */
	log_msg(strncmp(event, "sign.", 5) == 0 && strcmp(outcome, "ok") == 0 ?
	    LOG_LVL_DEBUG : LOG_LVL_INFO, "event=%s outcome=%s%s%s", event,
	    outcome, target ? " target=" : "", target ? target : "");
	if (a->audit != NULL &&
	    (r = audit_append(a->audit, event, NULL, target, outcome,
	    details)) == -1)
		log_error("audit: cannot write %s%s%s", event,
		    target ? " for " : "", target ? target : "");
	json_decref(details);
	return r;
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
		for (size_t i = 0; i < sizeof(md); i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
	free(buf);
}
