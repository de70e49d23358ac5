/*
 * registry.c - the CA connector types this build of the product knows:
 * Entrust CA Gateway, Sectigo Certificate Manager and ACME (RFC 8555). Tests link their
 * own registry (tests/connector_registry_test.c) that adds a test CA.
 */
#include <stddef.h>

#include "connector.h"

extern const struct connector_type entrust_connector;
extern const struct connector_type sectigo_connector;
extern const struct connector_type acme_connector;

const struct connector_type *const connector_types[] = {
	&entrust_connector,
	&sectigo_connector,
	&acme_connector,
	NULL,
};
