/*
 * cred_watch.c - client-certificate rotation without a restart.
 *
 * Once a second the parent looks at the certificate file: a new inode,
 * size or a later mtime means a new certificate. It is read and checked
 * as at start (hsm_use_cert: the same HSM key, or another key on the
 * token with the certificate's public key); then the connector child is
 * restarted, when it has no job in flight, so that the next CA request
 * presents the new certificate. Nothing is read or parsed per request.
 *
 * A file that cannot be read or checked is an error, never stale
 * service: until it is fixed no CA request is made (orders wait), health
 * says why, and every attempt is audited.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "hsm_worker.h"
#include "audit.h"
#include "log.h"
#include "util.h"

#define CRED_CHECK_MS	1000

void
cred_watch_init(struct agent *a)
{
	if (stat(a->cfg->hsm_certificate, &a->cred.st) == -1)
		memset(&a->cred.st, 0, sizeof(a->cred.st));
}

static int
changed(const struct stat *old, const struct stat *now)
{
	return old->st_ino != now->st_ino || old->st_dev != now->st_dev ||
	    old->st_size != now->st_size ||
	    now->st_mtim.tv_sec > old->st_mtim.tv_sec ||
	    (now->st_mtim.tv_sec == old->st_mtim.tv_sec &&
	    now->st_mtim.tv_nsec > old->st_mtim.tv_nsec);
}

static void
fail(struct agent *a, const char *what, const char *detail)
{
	char msg[IPC_MAX_STR + 1];

	snprintf(msg, sizeof(msg), "%s%s", what, detail);
	if (strcmp(msg, a->cred.error) != 0) {
		log_error("client certificate: %s; no CA requests until it "
		    "is fixed", msg);
		agent_audit(a, "cert.rotation", a->cfg->hsm_certificate,
		    "failed", json_pack("{s:s}", "error", msg));
	}
	snprintf(a->cred.error, sizeof(a->cred.error), "%s", msg);
}

static void
rotate(struct agent *a, const struct stat *st)
{
	char		*pem, err[512], old_id[129];
	size_t		 len;
	int		 type, switched, rc;
	struct sign_policy saved = a->sp;

	if (read_file_capped(a->cfg->hsm_certificate, IPC_MAX_BLOB, &pem,
	    &len) == -1) {
		fail(a, "cannot read it: ", strerror(errno));
		return;
	}
	if (leaf_key_type(pem, len, &type) == -1) {
		free(pem);
		fail(a, "no EC or RSA certificate in it", "");
		return;
	}
	/* A certificate for an ACME account key would make it a TLS key. */
	if (key_roles_check(a, pem, len, err, sizeof(err)) == -1) {
		free(pem);
		fail(a, "", err);
		return;
	}
	/* The token free, or the next check tries again (hsm_worker.h). */
	if (hsm_worker_lock(a->hsm_worker, HSM_LOCK_WAIT_MS) == -1) {
		free(pem);
		log_warn("client certificate: the token is busy or not "
		    "answering; the new certificate waits");
		return;
	}
	hsm_current_id(a->hsm, old_id, sizeof(old_id));
	rc = hsm_use_cert(a->hsm, a->cfg->hsm_certificate,
	    a->cfg->hsm_insecure_allow_extractable, &switched, err,
	    sizeof(err));
	hsm_worker_unlock(a->hsm_worker);
	if (rc == -1) {
		free(pem);
		fail(a, "", err);
		return;
	}
	freezero(a->pub.chain_pem, a->pub.chain_len);
	a->pub.chain_pem = pem;
	a->pub.chain_len = len;
	(void)pem_cert_dates(a->pub.chain_pem, &a->pub.cert_not_before,
	    &a->pub.cert_not_after);
	if (type != a->pub.key_type) {
		/* Another key type: another scheme family; counters stay. */
		sign_policy_init(&a->sp, a->cfg->sign_schemes, type == IPC_KEY_EC,
		    a->cfg->sign_rate, a->cfg->sign_burst, monotime_ms());
		memcpy(a->sp.count, saved.count, sizeof(a->sp.count));
		a->sp.failed = saved.failed;
	}
	a->pub.key_type = type;
	a->cred.st = *st;
	a->cred.error[0] = '\0';
	a->child_refresh = CHILD_REFRESH_ROTATION;
	log_info("client certificate rotated: key %s%s", hsm_key_label(a->hsm),
	    switched ? " (another HSM key)" : "");
	if (switched) {
		/* Nothing signs with it any more: the operator may destroy it. */
		snprintf(a->cred.retirable_id, sizeof(a->cred.retirable_id), "%s", old_id);
		log_info("the previous key (id %s) is no longer used; "
		    "\"hsmagent credential retire\" destroys it", old_id);
	}
	agent_audit(a, "cert.rotation", a->cfg->hsm_certificate, "ok",
	    json_pack("{s:s,s:b,s:s}", "key", hsm_key_label(a->hsm),
	    "key_switched", switched, "retirable_key", switched ? old_id :
	    ""));
}

void
cred_watch_tick(struct agent *a, int64_t now)
{
	struct stat st;

	if (a->child_refresh && jobs_active(a) == 0 && a->child.fd != -1 &&
	    a->child.ready) {
		/* EOF ends the child; the supervisor starts a new one. */
		log_info("supervisor: restarting the connector child for the "
		    "new %s", a->child_refresh == CHILD_REFRESH_RELOAD ?
		    "connector settings" : "client certificate");
		a->child.stop_cause = a->child_refresh == CHILD_REFRESH_RELOAD ?
		    CHILD_RELOAD : CHILD_ROTATION;
		a->child_refresh = 0;
		close(a->child.fd);
		a->child.fd = -1;
		a->child.ready = 0;
	}
	if (now < a->cred.next_check_ms)
		return;
	a->cred.next_check_ms = now + CRED_CHECK_MS;
	if (stat(a->cfg->hsm_certificate, &st) == -1) {
		fail(a, "cannot stat it: ", strerror(errno));
		return;
	}
	if (changed(&a->cred.st, &st) || a->cred.error[0] != '\0')
		rotate(a, &st);
}
