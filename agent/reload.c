/*
 * reload.c - the settings that may change while the agent runs, and
 * SIGHUP, which re-reads them.
 *
 * Reloadable: the policy file, the [connector NAME] sections (and their
 * password files), [probe], [renewal], log_level and shutdown_timeout.
 * Everything else (the HSM, signing, TLS trust, the socket, the state,
 * the child's identity, the http-01 listener) is bound at start; a new
 * file that changes it is refused with the setting's name, and the
 * agent keeps what it has.
 * All or nothing: the file is parsed whole, the policy loaded, the
 * passwords read and the URLs split before anything is swapped; either
 * outcome is audited (config.reload). New connector settings reach the
 * sandboxed child the only way it takes settings, at its start: it is
 * restarted once no job is in flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_eab.h"
#include "agent.h"
#include "connector_kind.h"
#include "log.h"
#include "policy.h"
#include "secret_file.h"
#include "util.h"

struct prepared {
	struct ca_target	 targets[CONFIG_MAX_CONNECTORS];
	char			*pw[CONFIG_MAX_CONNECTORS];
	size_t			 pwcap[CONFIG_MAX_CONNECTORS];
	char			 probe_host[IPC_MAX_HOST + 1];
	uint16_t		 probe_port;
	int			 probe_host_is_ip;
};

void
connector_passwords_free(char **pw, size_t *cap)
{
	for (size_t i = 0; i < CONFIG_MAX_CONNECTORS; i++) {
		freezero(pw[i], cap[i]);
		pw[i] = NULL;
		cap[i] = 0;
	}
}

/*
 * Connector passwords (auth = password), held here only: each of that
 * connector's jobs carries it to the child. They go out as an HTTP
 * header value, so printable ASCII only.
 */
int
connector_passwords_load(const struct config *cfg, char **pw, size_t *cap,
    char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->nconnectors; i++) {
		const struct connector_cfg	*cc = &cfg->connectors[i];
		char				 what[128];
		const char			*p;

		/*
		 * The EAB key is read only when a binding is made, months
		 * later perhaps: a file that would fail then is named now.
		 */
		if (cc->eab_hmac_file != NULL) {
			uint8_t mac[ACME_HS256_LEN];
			char	why[256];
			int	bad = acme_eab_mac(cc->eab_hmac_file, "check",
				    5, mac, why, sizeof(why));

			explicit_bzero(mac, sizeof(mac));
			if (bad) {
				snprintf(err, errlen, "[connector %s] %s",
				    cc->name, why);
				goto fail;
			}
		}
		if (cc->password_file == NULL)
			continue;
		snprintf(what, sizeof(what), "[connector %s] password", cc->name);
		if (secret_file_read(cc->password_file, what, IPC_MAX_SECRET,
		    &pw[i], &cap[i], err, errlen) == -1)
			goto fail;
		for (p = pw[i]; *p != '\0'; p++)
			if (*p < 0x20 || *p > 0x7e)
				break;
		if (*p != '\0' || pw[i][0] == ' ' || p[-1] == ' ') {
			snprintf(err, errlen, "%s file %s: only printable ASCII, "
			    "without spaces at either end, can be sent", what,
			    cc->password_file);
			goto fail;
		}
	}
	return 0;
 fail:
	connector_passwords_free(pw, cap);
	return -1;
}

/* Each connector's host and port (and its proxy's), split from its URL. */
int
connector_targets_split(const struct config *cfg, struct ca_target *targets,
    char *err, size_t errlen)
{
	memset(targets, 0, sizeof(*targets) * CONFIG_MAX_CONNECTORS);
	for (size_t i = 0; i < cfg->nconnectors; i++) {
		struct ca_target *t = &targets[i];

		if (cfg->connectors[i].proxy != NULL &&
		    url_split(cfg->connectors[i].proxy, "http://", 8080,
		    t->proxy_host, sizeof(t->proxy_host), &t->proxy_port,
		    &t->proxy_is_ip) == -1) {
			snprintf(err, errlen, "[connector %s] proxy: cannot use "
			    "%s", cfg->connectors[i].name,
			    cfg->connectors[i].proxy);
			return -1;
		}
		if (url_split_https(cfg->connectors[i].url, t->host,
		    sizeof(t->host), &t->port, &t->is_ip) == -1) {
			snprintf(err, errlen, "[connector %s] url: cannot use "
			    "%s", cfg->connectors[i].name,
			    cfg->connectors[i].url);
			return -1;
		}
	}
	return 0;
}

/* The [probe] URL's host and port (nothing to do without one). */
int
probe_target_split(const struct config *cfg, char *host, size_t hostlen,
    uint16_t *port, int *is_ip, char *err, size_t errlen)
{
	if (cfg->probe_url != NULL && url_split_https(cfg->probe_url, host,
	    hostlen, port, is_ip) == -1) {
		snprintf(err, errlen, "[probe] url: cannot split %s",
		    cfg->probe_url);
		return -1;
	}
	return 0;
}

static int
same(const char *x, const char *y)
{
	return x == NULL || y == NULL ? x == y : strcmp(x, y) == 0;
}

static const struct connector_cfg *
acme_named(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nconnectors; i++)
		if (strcmp(c->connectors[i].name, name) == 0 &&
		    connector_kind_of(&c->connectors[i])->has_account_key)
			return &c->connectors[i];
	return NULL;
}

/*
 * The ACME signers were opened at start (each account key checked in
 * the HSM then): which ACME connectors there are, and what their
 * accounts may sign, is bound. Contact, chain and polling may change.
 */
static int
acme_bound_same(const struct config *o, const struct config *n)
{
	const struct connector_cfg *x, *y;

	for (size_t i = 0; i < o->nconnectors; i++) {
		x = &o->connectors[i];
		if (!connector_kind_of(x)->has_account_key)
			continue;
		if ((y = acme_named(n, x->name)) == NULL ||
		    !same(x->account_key_uri, y->account_key_uri) ||
		    !same(x->server_prefixes, y->server_prefixes) ||
		    !same(x->url, y->url) || !same(x->eab_kid, y->eab_kid) ||
		    !same(x->eab_hmac_file, y->eab_hmac_file))
			return 0;
	}
	for (size_t i = 0; i < n->nconnectors; i++)
		if (connector_kind_of(&n->connectors[i])->has_account_key &&
		    acme_named(o, n->connectors[i].name) == NULL)
			return 0;
	return 1;
}

/*
 * The parent bound the http-01 listener at start and every child gets
 * that socket: neither its address nor which ACME connectors use it
 * can change without a restart.
 */
static int
http01_same(const struct config *o, const struct config *n)
{
	const struct connector_cfg *y;

	if (!same(o->http01_listen, n->http01_listen))
		return 0;
	for (size_t i = 0; i < o->nconnectors; i++)
		if ((y = acme_named(n, o->connectors[i].name)) != NULL &&
		    !same(o->connectors[i].http01_listen, y->http01_listen))
			return 0;
	return 1;
}

/* The first setting bound at start that n changes, or NULL. */
static const char *
fixed_change(const struct config *o, const struct config *n)
{
	if (!same(o->connector_path, n->connector_path))
		return "connector_path";
	if (!same(o->child_user, n->child_user))
		return "child_user";
	if (!same(o->chroot_dir, n->chroot_dir))
		return "chroot_dir";
	if (!same(o->log_target, n->log_target))
		return "log_target";
	if (!same(o->hsm_module, n->hsm_module) ||
	    !same(o->hsm_key_uri, n->hsm_key_uri) ||
	    !same(o->hsm_pin_file, n->hsm_pin_file) ||
	    !same(o->hsm_certificate, n->hsm_certificate) ||
	    o->hsm_insecure_allow_extractable !=
	    n->hsm_insecure_allow_extractable)
		return "[hsm]";
	if (o->sign_schemes != n->sign_schemes || o->sign_rate != n->sign_rate ||
	    o->sign_burst != n->sign_burst ||
	    o->sign_timeout_ms != n->sign_timeout_ms)
		return "[signing]";
	if (!same(o->tls_ca_file, n->tls_ca_file) ||
	    o->tls_timeout_s != n->tls_timeout_s)
		return "[tls]";
	if (!same(o->api_socket, n->api_socket) || o->api_mode != n->api_mode ||
	    !same(o->api_group, n->api_group) ||
	    o->api_max_conns != n->api_max_conns ||
	    o->api_idle_s != n->api_idle_s ||
	    (o->api_policy == NULL) != (n->api_policy == NULL))
		return "[api] (other than policy)";
	if (!same(o->state_dir, n->state_dir) ||
	    !same(o->audit_log, n->audit_log))
		return "[state]";
	/* The checkpoint keys are opened, and the origin set, at start. */
	if (!same(o->ckpt_key_uri, n->ckpt_key_uri) ||
	    !same(o->ckpt_prev_key_uri, n->ckpt_prev_key_uri) ||
	    !same(o->ckpt_origin, n->ckpt_origin))
		return "[state] checkpoint_key_uri, checkpoint_previous_key_uri "
		    "or checkpoint_origin";
	if (!http01_same(o, n))
		return "[connector] http01_listen (bound at start)";
	if (!acme_bound_same(o, n))
		return "an ACME connector's directory, account or server "
		    "prefixes";
	return NULL;
}

static int
same_connector(const struct connector_cfg *x, const struct connector_cfg *y)
{
	return same(x->name, y->name) && same(x->type, y->type) &&
	    same(x->url, y->url) && x->deadline_s == y->deadline_s &&
	    same(x->ca_id, y->ca_id) && same(x->profile_id, y->profile_id) &&
	    same(x->spki_pin, y->spki_pin) && same(x->proxy, y->proxy) &&
	    same(x->auth, y->auth) && same(x->customer_uri, y->customer_uri) &&
	    same(x->login, y->login) &&
	    same(x->password_file, y->password_file) &&
	    same(x->external_requester, y->external_requester) &&
	    x->org_id == y->org_id && x->cert_type == y->cert_type &&
	    x->term == y->term && same(x->contact, y->contact) &&
	    same(x->preferred_chain, y->preferred_chain) &&
	    same(x->eab_kid, y->eab_kid);
}

/* Does the child need the new settings (it takes them only at start)? */
static int
child_settings_differ(const struct config *o, const struct config *n)
{
	if (o->nconnectors != n->nconnectors || !same(o->probe_url,
	    n->probe_url))
		return 1;
	for (size_t i = 0; i < o->nconnectors; i++)
		if (!same_connector(&o->connectors[i], &n->connectors[i]))
			return 1;
	return 0;
}

/* Everything that can fail, before anything changes. */
static int
prepare(struct agent *a, const struct config *n, struct policy **np,
    struct prepared *pp, char *err, size_t errlen)
{
	const char *what;

	if ((what = fixed_change(a->cfg, n)) != NULL) {
		snprintf(err, errlen, "%s changed: that needs a restart", what);
		return -1;
	}
	if (connector_targets_split(n, pp->targets, err, errlen) == -1)
		return -1;
	if (probe_target_split(n, pp->probe_host, sizeof(pp->probe_host),
	    &pp->probe_port, &pp->probe_host_is_ip, err, errlen) == -1)
		return -1;
	if (n->api_policy != NULL &&
	    (*np = policy_load(n->api_policy, err, errlen)) == NULL) {
		log_error("policy reload failed, keeping the old policy: %s",
		    err);
		agent_audit(a, "policy.reload", NULL, "failed",
		    json_pack("{s:s}", "error", err));
		return -1;
	}
	if (connector_passwords_load(n, pp->pw, pp->pwcap, err,
	    errlen) == -1) {
		policy_free(*np);
		*np = NULL;
		return -1;
	}
	return 0;
}

/* Swaps the prepared settings in; the old ones are released. */
static void
commit(struct agent *a, struct config *n, struct policy *np,
    struct prepared *pp, int child_differs)
{
	struct config	old = *a->cfg;
	enum log_level	lvl;

	*a->cfg = *n;
	memset(n, 0, sizeof(*n));
	config_free(&old);
	if (a->cfg->api_policy != NULL) {
		policy_free(a->policy);
		a->policy = np;
		log_info("policy reloaded from %s", a->cfg->api_policy);
		/* Each uid keeps the tokens it has; the new rate applies
		 * from the next request on. */
		api_budget_set(&a->api.budget, a->cfg->api_uid_rate,
		    a->cfg->api_uid_burst);
	}
	connector_passwords_free(a->conn_password, a->conn_password_cap);
	memcpy(a->conn_password, pp->pw, sizeof(pp->pw));
	memcpy(a->conn_password_cap, pp->pwcap, sizeof(pp->pwcap));
	memset(pp->pw, 0, sizeof(pp->pw));
	if (child_differs) {
		memcpy(a->ca_targets, pp->targets, sizeof(a->ca_targets));
		memcpy(a->probe.host, pp->probe_host, sizeof(a->probe.host));
		a->probe.port = pp->probe_port;
		a->probe.host_is_ip = pp->probe_host_is_ip;
		/* Checked again at the CA once the new child is ready. */
		a->connectors_validated = 0;
		a->child_refresh = CHILD_REFRESH_RELOAD;
	}
	if (!a->debug && log_level_from_name(a->cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
}

void
agent_reload(struct agent *a)
{
	struct config	 n;
	struct policy	*np = NULL;
	struct prepared	 pp;
	char		 err[1024], cfg_hash[65], pol_hash[65];
	int		 differs;

	memset(&pp, 0, sizeof(pp));
	notify_reloading();
	file_sha256_hex(a->cfg->path, cfg_hash);
	if (config_load(a->cfg->path, &n, err, sizeof(err)) == -1 ||
	    prepare(a, &n, &np, &pp, err, sizeof(err)) == -1) {
		if (n.path != NULL)
			config_free(&n);
		log_error("event=config.reload outcome=failed: %s; keeping the "
		    "settings in use", err);
		agent_audit(a, "config.reload", a->cfg->path, "failed",
		    json_pack("{s:s,s:s}", "error", err, "config_sha256",
		    cfg_hash));
		a->count.reloads[1]++;
		notify_ready("reload failed; running with the previous settings");
		return;
	}
	differs = child_settings_differ(a->cfg, &n);
	file_sha256_hex(n.api_policy, pol_hash);
	commit(a, &n, np, &pp, differs);
	if (a->cfg->api_policy != NULL)
		agent_audit(a, "policy.reload", NULL, "ok",
		    json_pack("{s:s}", "policy_sha256", pol_hash));
	agent_audit(a, "config.reload", a->cfg->path, "ok", json_pack(
	    "{s:s,s:s,s:b}", "config_sha256", cfg_hash, "policy_sha256",
	    pol_hash, "connectors_changed", differs));
	a->count.reloads[0]++;
	notify_ready(differs ? "reloaded; connector child restarts when idle" :
	    "reloaded");
}
