/*
 * api_chain.c - ca_chain: the CA certificates behind a connector.
 *
 * The connector child learns a CA's chain when it issues (from the
 * enrollment, or fetched from the CA and checked against the leaf: see
 * connectors/ca_job.c); the agent keeps it with each issued order. This
 * answers the newest one a connector's orders came with, so a local
 * tool (the certmonger helper's FETCH-ROOTS) can install the roots
 * without a network call of its own. CA certificates are public: any
 * client of the socket may ask, and nothing about orders is disclosed
 * beyond that the connector has issued once.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "api_request.h"
#include "api_server.h"
#include "log.h"
#include "orders.h"

void
api_chain_handle(struct agent *a, struct api_conn *c, struct api_request *r)
{
	char	*chain = NULL;
	int	 known = 0, got;

	for (size_t i = 0; i < a->cfg->nconnectors; i++)
		known |= strcmp(a->cfg->connectors[i].name, r->connector) == 0;
	if (!known) {
		api_reply_error(c, "not_found", "no connector \"%s\" is "
		    "configured", r->connector);
		return;
	}
	if ((got = orders_latest_chain(a->orders, r->connector, &chain)) ==
	    -1) {
		log_error("orders: cannot read the chain of %s", r->connector);
		api_reply_error(c, "internal", "cannot read orders");
		return;
	}
	/* null: nothing issued through this connector yet. */
	api_reply(c, json_pack("{s:b,s:s,s:o}", "ok", 1, "connector",
	    r->connector, "chain", got == 1 ? json_string(chain) :
	    json_null()));
	free(chain);
}
