/*
 * local_api.c - bringing up and down what serves local clients: the
 * policy, the state directory (orders.db), the audit log and the socket,
 * in the start-up order of ARCHITECTURE.md (all before the child and the
 * HSM).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "audit.h"
#include "log.h"
#include "orders.h"
#include "policy.h"
#include "util.h"

/* The state directory holds orders and keys to nothing: owner only. */
static int
open_state_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "[state] dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 0077) != 0) {
		snprintf(err, errlen, "[state] dir %s must be a directory owned "
		    "by the agent's user with mode 0700", dir);
		return -1;
	}
	return 0;
}

static char *
audit_path(const struct config *cfg)
{
	char *p;

	if (cfg->audit_log != NULL)
		return xstrdup(cfg->audit_log);
	if (asprintf(&p, "%s/audit.log", cfg->state_dir) == -1)
		fatal("asprintf");
	return p;
}

int
local_api_open(struct agent *a, int check_only, char *err, size_t errlen)
{
	const struct config	*cfg = a->cfg;
	char			*path, cfg_hash[65], pol_hash[65];
	int			 fd;

	a->api.lfd = -1;
	if (cfg->api_socket == NULL)
		return 0;
	if (!api_ops_complete()) {
		snprintf(err, errlen, "internal: a local API operation has no "
		    "handler");
		return -1;
	}
	if ((a->policy = policy_load(cfg->api_policy, err, errlen)) == NULL)
		return -1;
	a->order_changed = api_ops_order_changed;
	a->order_error = api_ops_order_error;
	if (check_only)
		return 0;
	if (open_state_dir(cfg->state_dir, err, errlen) == -1 ||
	    (a->orders = orders_open(cfg->state_dir, err, errlen)) == NULL)
		return -1;
	path = audit_path(cfg);
	a->audit = audit_open(path, err, errlen);
	free(path);
	if (a->audit == NULL)
		return -1;
	file_sha256_hex(cfg->path, cfg_hash);
	file_sha256_hex(cfg->api_policy, pol_hash);
	/* "started": serving is agent.ready's, a failed start agent.stop's. */
	if (agent_audit(a, "agent.start", NULL, "started", json_pack(
	    "{s:s,s:s,s:s,s:s,s:s}", "version", HSMAGENT_VERSION, "config",
	    cfg->path ? cfg->path : "", "config_sha256", cfg_hash, "policy",
	    cfg->api_policy, "policy_sha256", pol_hash)) == -1) {
		snprintf(err, errlen, "cannot write the audit log");
		return -1;
	}
	/* What the last run stored but could not record, recorded first. */
	orders_pay_records(a);
	if ((fd = activation_fd(cfg->api_socket, err, errlen)) == -2)
		return -1;
	if (fd >= 0)
		log_info("api: listening on %s (socket activation)",
		    cfg->api_socket);
	_Static_assert(API_UID_RATE_DEFAULT == API_BUDGET_RATE &&
	    API_UID_BURST_DEFAULT == API_BUDGET_BURST,
	    "config's budget defaults are the API's");
	if (api_listen(&a->api, cfg->api_socket, fd, cfg->api_mode,
	    cfg->api_group, cfg->api_max_conns, cfg->api_idle_s, err,
	    errlen) == -1)
		return -1;
	api_budget_set(&a->api.budget, cfg->api_uid_rate, cfg->api_uid_burst);
	return 0;
}

void
local_api_close(struct agent *a, const char *why, int failed)
{
	if (a->audit != NULL)
		agent_audit(a, "agent.stop", NULL, failed ? "failed" : "ok",
		    json_pack("{s:s}", "reason", why));
	api_close_all(&a->api);
	if (a->orders != NULL)
		orders_close(a->orders);
	if (a->audit != NULL)
		audit_close(a->audit);
	policy_free(a->policy);
	a->orders = NULL;
	a->audit = NULL;
	a->policy = NULL;
}
