/*
 * connector_kind.c - the parent's table of CA kinds (connector_kind.h):
 * what each kind's [connector] section needs, and what validity each can
 * ask its CA for, decided in the parent before an order reaches the
 * child.
 *
 * Validity: a policy rule's max_validity_days caps a request; it never
 * fills one in. An order that names no validity carries 0 to the
 * connector, which then uses its own default (Sectigo: the configured
 * term; Entrust: the profile's; ACME: the CA's). Asking the CA for
 * something it cannot issue costs a round trip and ends as an opaque CA
 * error (SCM's -36), so the cases the configuration already answers are
 * refused here.
 */
#include <sys/socket.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "connector_kind.h"
#include "ipc.h"
#include "util.h"

static int kfail(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

static int
kfail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- any kind ------------------------------------------------------------ */

/* Keys of type acme elsewhere would be ignored: refused instead. */
static int
refuse_acme_keys(const struct connector_cfg *c, char *err, size_t errlen)
{
	if (c->server_prefixes != NULL || c->account_key_uri != NULL ||
	    c->eab_kid != NULL || c->eab_hmac_file != NULL ||
	    c->contact != NULL || c->preferred_chain != NULL ||
	    c->http01_listen != NULL)
		return kfail(err, errlen, "[connector %s] server_prefixes, "
		    "account_key_uri, eab_kid, eab_hmac_file, contact, "
		    "preferred_chain and http01_listen are for type acme",
		    c->name);
	return 0;
}

/* A url, the client certificate, no keys of another kind. */
static int
finish_generic(struct config *cfg, struct connector_cfg *c, char *err,
    size_t errlen)
{
	(void)cfg;
	if (refuse_acme_keys(c, err, errlen) == -1)
		return -1;
	if (c->url == NULL)
		return kfail(err, errlen, "[connector %s] needs a url",
		    c->name);
	if (c->auth != NULL && strcmp(c->auth, "certificate") != 0)
		return kfail(err, errlen, "[connector %s] type %s "
		    "authenticates with the client certificate only", c->name,
		    c->type);
	return 0;
}

/* No validity to check: the CA's profile decides what it issues. */
static int
validity_any(const struct connector_cfg *c, uint32_t validity_days,
    char *why, size_t whylen)
{
	(void)c;
	(void)validity_days;
	(void)why;
	(void)whylen;
	return 0;
}

/* ---- Entrust CA Gateway --------------------------------------------------- */

static int
finish_entrust(struct config *cfg, struct connector_cfg *c, char *err,
    size_t errlen)
{
	if (finish_generic(cfg, c, err, errlen) == -1)
		return -1;
	if (c->ca_id == NULL)
		return kfail(err, errlen, "[connector %s] type entrust needs "
		    "ca_id", c->name);
	return 0;
}

/* ---- Sectigo Certificate Manager ----------------------------------------- */

/*
 * Sectigo SCM: certificate authentication (the HSM-held client
 * certificate, headers customerUri and login) uses the /private/api
 * base; password authentication adds a password header and uses /api.
 * A base that does not match the mode would fail at the CA with an
 * unhelpful 401, so it is refused here.
 */
static int
finish_sectigo(struct config *cfg, struct connector_cfg *c, char *err,
    size_t errlen)
{
	int		 pw = c->auth != NULL && strcmp(c->auth, "password") == 0;
	const char	*u;

	(void)cfg;
	if (refuse_acme_keys(c, err, errlen) == -1)
		return -1;
	if (c->customer_uri == NULL || c->login == NULL || c->org_id == 0)
		return kfail(err, errlen, "[connector %s] type sectigo needs "
		    "customer_uri, login and org_id", c->name);
	if (pw && c->password_file == NULL)
		return kfail(err, errlen, "[connector %s] auth = password "
		    "needs password_file", c->name);
	if (!pw && c->password_file != NULL)
		return kfail(err, errlen, "[connector %s] password_file is for "
		    "auth = password; certificate authentication sends no "
		    "password", c->name);
	if (c->url == NULL)
		c->url = xstrdup(pw ? SECTIGO_URL_PASSWORD : SECTIGO_URL_CERT);
	u = strstr(c->url + 8, "/private/");
	if (!pw && u == NULL)
		return kfail(err, errlen, "[connector %s] certificate "
		    "authentication needs the /private/api base (like %s)",
		    c->name, SECTIGO_URL_CERT);
	if (pw && u != NULL)
		return kfail(err, errlen, "[connector %s] the /private/ base "
		    "takes certificate authentication; use auth = certificate "
		    "or the /api base", c->name);
	return 0;
}

/* SCM's term is the longest it orders: more is refused before the CA. */
static int
validity_sectigo(const struct connector_cfg *c, uint32_t validity_days,
    char *why, size_t whylen)
{
	if (validity_days <= c->term)
		return 0;
	return kfail(why, whylen, "validity %u days is over connector %s's "
	    "term of %u days (the longest it orders); ask for %u or less, or "
	    "leave the validity out", validity_days, c->name, c->term,
	    c->term);
}

/* ---- ACME (RFC 8555) --------------------------------------------------------- */

static int
same_listen(const char *x, const char *y)
{
	struct sockaddr_storage	 a, b;
	socklen_t		 alen, blen;

	/* Both were checked by check_listen(); "[::0]:80" is "[::]:80". */
	return config_listen_addr(x, &a, &alen) == 0 &&
	    config_listen_addr(y, &b, &blen) == 0 && alen == blen &&
	    memcmp(&a, &b, alen) == 0;
}

/*
 * The parent binds one http-01 listener for the agent and answers it
 * itself: every ACME connector that names one must name the same.
 */
static int
agree_http01(struct config *cfg, const struct connector_cfg *c, char *err,
    size_t errlen)
{
	const struct connector_cfg *o;

	for (size_t i = 0; i + 1 < cfg->nconnectors; i++) {
		o = &cfg->connectors[i];
		if (o->http01_listen == NULL ||
		    same_listen(o->http01_listen, c->http01_listen))
			continue;
		return kfail(err, errlen, "[connector %s] http01_listen %s "
		    "differs from [connector %s] http01_listen %s: the agent "
		    "has one http-01 listener, all ACME connectors share it",
		    c->name, c->http01_listen, o->name, o->http01_listen);
	}
	if (cfg->http01_listen == NULL)
		cfg->http01_listen = xstrdup(c->http01_listen);
	return 0;
}

/*
 * url is the directory. The parent signs only requests to the server
 * prefixes, by default the directory's origin; the account key is a
 * second key on the agent's token; EAB needs both its key id and its key
 * file, read by the parent when it computes the MAC.
 */
static int
finish_acme(struct config *cfg, struct connector_cfg *c, char *err,
    size_t errlen)
{
	char	*s, *save = NULL, *tok;
	size_t	 n;

	if (c->url == NULL)
		return kfail(err, errlen, "[connector %s] type acme needs url "
		    "(the ACME directory)", c->name);
	if (c->account_key_uri == NULL)
		return kfail(err, errlen, "[connector %s] type acme needs "
		    "account_key_uri", c->name);
	if ((c->eab_kid == NULL) != (c->eab_hmac_file == NULL))
		return kfail(err, errlen, "[connector %s] eab_kid and "
		    "eab_hmac_file go together", c->name);
	if (c->auth != NULL && strcmp(c->auth, "certificate") != 0)
		return kfail(err, errlen, "[connector %s] type acme "
		    "authenticates with its account key", c->name);
	if (c->http01_listen != NULL && agree_http01(cfg, c, err,
	    errlen) == -1)
		return -1;
	if (c->server_prefixes == NULL) {
		n = 8 + strcspn(c->url + 8, "/");
		c->prefix[c->nprefix] = xmalloc(n + 2);
		memcpy(c->prefix[c->nprefix], c->url, n);
		memcpy(c->prefix[c->nprefix++] + n, "/", 2);
		return 0;
	}
	/* check_prefixes() has bounded their number and checked each. */
	s = xstrdup(c->server_prefixes);
	for (tok = strtok_r(s, " \t", &save); tok != NULL &&
	    c->nprefix < CONFIG_MAX_ACME_PREFIXES;
	    tok = strtok_r(NULL, " \t", &save))
		c->prefix[c->nprefix++] = xstrdup(tok);
	free(s);
	return 0;
}

/*
 * RFC 8555 §7.4 lets a client propose notAfter, and public ACME CAs
 * refuse it; the connector sends none, so a validity asked for would be
 * silently ignored.
 */
static int
validity_acme(const struct connector_cfg *c, uint32_t validity_days,
    char *why, size_t whylen)
{
	return kfail(why, whylen, "validity %u days cannot be asked of "
	    "connector %s: an ACME CA sets the validity itself; leave the "
	    "validity out", validity_days, c->name);
}

/* ---- the table --------------------------------------------------------------- */

/*
 * An ACME job is a run of requests: it lives on three request timeouts
 * (the directory and a nonce may come before its next signature) and may
 * sign within the child's budget for one job plus one.
 */
static const struct connector_kind kinds[] = {
	{ "entrust", 0, 1, 1, finish_entrust, validity_any },
	{ "sectigo", 0, 1, 1, finish_sectigo, validity_sectigo },
	{ "acme", 1, 3, ACME_JOB_BUDGET_REQUESTS + 1, finish_acme,
	    validity_acme },
};
static const struct connector_kind generic = {
	NULL, 0, 1, 1, finish_generic, validity_any
};

const struct connector_kind *
connector_kind_find(const char *type)
{
	for (size_t i = 0; type != NULL && i < sizeof(kinds) /
	    sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, type) == 0)
			return &kinds[i];
	return &generic;
}

const struct connector_kind *
connector_kind_of(const struct connector_cfg *c)
{
	return connector_kind_find(c->type);
}

/* ---- what the rest of the parent asks ------------------------------------ */

const struct connector_cfg *
config_connector(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nconnectors; i++)
		if (strcmp(cfg->connectors[i].name, name) == 0)
			return &cfg->connectors[i];
	return NULL;
}

int
config_connector_validity(const struct connector_cfg *c,
    uint32_t validity_days, char *why, size_t whylen)
{
	if (validity_days == 0)
		return 0;
	return connector_kind_of(c)->validity(c, validity_days, why, whylen);
}
