/*
 * registry.c - the CA connector types this build of the product knows.
 *
 * Entrust CA Gateway and Sectigo SCM join this list with their issues;
 * until then the product knows none, and an order for a connector the
 * configuration names fails with that reason. Tests link their own
 * registry (tests/connector_registry_test.c) with a test CA connector.
 */
#include <stddef.h>

#include "connector.h"

const struct connector_type *const connector_types[] = {
	NULL,
};
