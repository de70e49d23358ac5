/*
 * registry.c - the CA connector types this build of the product knows.
 * Sectigo SCM joins with its issue. Tests link their own registry
 * (tests/connector_registry_test.c) that adds a test CA connector.
 */
#include <stddef.h>

#include "connector.h"

extern const struct connector_type entrust_connector;

const struct connector_type *const connector_types[] = {
	&entrust_connector,
	NULL,
};
