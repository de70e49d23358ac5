/*
 * connector_validity.c - what validity each connector kind can ask its CA
 * for, decided in the parent before an order reaches the child.
 *
 * A policy rule's max_validity_days caps a request; it never fills one
 * in. An order that names no validity carries 0 to the connector, which
 * then uses its own default (Sectigo: the configured term; Entrust: the
 * profile's; ACME: the CA's). Asking the CA for something it cannot
 * issue costs a round trip and ends as an opaque CA error (SCM's -36),
 * so the cases the configuration already answers are refused here.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"

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
	if (strcmp(c->type, "sectigo") == 0 && validity_days > c->term) {
		snprintf(why, whylen, "validity %u days is over connector %s's "
		    "term of %u days (the longest it orders); ask for %u or "
		    "less, or leave the validity out", validity_days, c->name,
		    c->term, c->term);
		return -1;
	}
	/*
	 * RFC 8555 §7.4 lets a client propose notAfter, and public ACME
	 * CAs refuse it; the connector sends none, so a validity asked for
	 * would be silently ignored.
	 */
	if (strcmp(c->type, "acme") == 0) {
		snprintf(why, whylen, "validity %u days cannot be asked of "
		    "connector %s: an ACME CA sets the validity itself; leave "
		    "the validity out", validity_days, c->name);
		return -1;
	}
	return 0;
}
