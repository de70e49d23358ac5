/*
 * connector_registry_test.c - the connector registry of the test child
 * (build/tests/hsmagent-connector-test): the product's list plus the
 * test CA connector, the sandbox probes and the signing benchmark. The product links
 * connectors/registry.c instead.
 */
#include <stddef.h>

#include "connector.h"

extern const struct connector_type entrust_connector;
extern const struct connector_type sectigo_connector;
extern const struct connector_type acme_connector;
extern const struct connector_type testca_connector;
extern const struct connector_type sandbox_probe_connector;
extern const struct connector_type bench_sign_connector;

const struct connector_type *const connector_types[] = {
	&entrust_connector,
	&sectigo_connector,
	&acme_connector,
	&testca_connector,
	&sandbox_probe_connector,
	&bench_sign_connector,
	NULL,
};
