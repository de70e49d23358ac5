/*
 * registry.c - the CA connector types this build of the product knows:
 * Entrust CA Gateway and Sectigo Certificate Manager. Tests link their
 * own registry (tests/connector_registry_test.c) that adds a test CA.
 */
#include <stddef.h>

#include "connector.h"

extern const struct connector_type entrust_connector;
extern const struct connector_type sectigo_connector;

const struct connector_type *const connector_types[] = {
	&entrust_connector,
	&sectigo_connector,
	NULL,
};
