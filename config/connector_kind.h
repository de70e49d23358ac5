/*
 * connector_kind.h - the CA kinds the parent knows, one row each: what a
 * [connector] section of the kind must and may say (its finish step, run
 * when the section ends), what validity it can ask its CA for, whether
 * it has an account key in the HSM, and how many requests one of its
 * jobs makes (the job's deadline and signing window).
 *
 * The child has the matching table (connectors/registry.c): the parent
 * decides what may be signed and when, the child how to speak to the
 * CA. A type only the child knows (a test CA) gets the generic row: a
 * url, certificate authentication, no keys of another kind; the child
 * then refuses a type it lacks (CHILD_EXIT_CONFIG).
 *
 * Adding a kind: one row here (and its finish and validity functions in
 * this file), one connector_type in the child.
 */
#ifndef HSMAGENT_CONNECTOR_KIND_H
#define HSMAGENT_CONNECTOR_KIND_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct connector_cfg;

struct connector_kind {
	const char	*name;		/* the [connector] type; NULL: generic */
	int		 has_account_key;	/* an ACME account in the HSM */
	unsigned	 job_requests;	/* request timeouts a job lives on */
	unsigned	 window_requests;	/* request timeouts it may sign in */
	/* The section is complete: required keys, defaults; -1 with err. */
	int		(*finish)(struct config *, struct connector_cfg *,
			    char *err, size_t errlen);
	/* May validity_days (> 0) be asked of this CA? -1 with why. */
	int		(*validity)(const struct connector_cfg *,
			    uint32_t validity_days, char *why, size_t whylen);
};

/* The row of a type: a known kind, or the generic row. Never NULL. */
const struct connector_kind *connector_kind_find(const char *type);
/* The row of a connector (its type's). */
const struct connector_kind *connector_kind_of(const struct connector_cfg *);

#endif
