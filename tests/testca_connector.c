/*
 * testca_connector.c - a connector type for tests only: it speaks the
 * small JSON protocol of tests/fakeca/fake_ca.py, so that the agent's
 * order handling (submission, pending, crash and resume) can be tested
 * end to end before the real CA connectors exist. Linked into
 * build/tests/hsmagent-connector-test, never into the product.
 *
 *   enroll:  POST URL/orders {"ref","profile","csr","sans","validity_days"}
 *   lookup:  GET  URL/orders?ref=REF
 *   revoke:  POST URL/orders/revoke {"ref","serial","reason"} -> 200
 *   answer:  {"id","status":"issued"|"pending","certificate","chain"}
 *            4xx {"error": "..."} is final; 5xx and 429 are retried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "connector.h"
#include "util.h"

static int
testca_prepare(struct ca_xfer *x)
{
	char	url[IPC_MAX_URL + 64];
	json_t	*body, *sans;
	size_t	n = strlen(x->conf->url);
	const char *slash = n > 0 && x->conf->url[n - 1] == '/' ? "" : "/";

	if (x->action == CA_REVOKE) {
		snprintf(url, sizeof(url), "%s%sorders/revoke", x->conf->url,
		    slash);
		body = json_pack("{s:s,s:s,s:i}", "ref", x->ref, "serial",
		    x->serial, "reason", (int)x->reason);
		goto post;
	}
	if (x->action == CA_LOOKUP) {
		snprintf(url, sizeof(url), "%s%sorders?ref=%s", x->conf->url,
		    slash, x->ref);
		return curl_easy_setopt(x->t.easy, CURLOPT_URL, url) ==
		    CURLE_OK ? 0 : -1;
	}
	snprintf(url, sizeof(url), "%s%sorders", x->conf->url, slash);
	if ((sans = json_loads(x->sans_json, 0, NULL)) == NULL)
		sans = json_array();
	body = json_pack("{s:s,s:s,s:s,s:o,s:i}", "ref", x->ref, "profile",
	    x->profile, "csr", x->csr, "sans", sans, "validity_days",
	    (int)x->validity_days);
 post:
	x->post = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	x->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (x->post == NULL || x->headers == NULL ||
	    curl_easy_setopt(x->t.easy, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(x->t.easy, CURLOPT_HTTPHEADER, x->headers) !=
	    CURLE_OK ||
	    curl_easy_setopt(x->t.easy, CURLOPT_POSTFIELDS, x->post) != CURLE_OK)
		return -1;
	return 0;
}

static void
testca_parse(struct ca_xfer *x, long http, struct ipc_ca_result *r)
{
	json_t		*j = json_loadb((const char *)x->t.body, x->t.body_len,
			    0, NULL);
	const char	*st, *s;

	if (x->action == CA_REVOKE && http == 200) {
		r->outcome = CA_REVOKED;
		goto out;
	}
	if (http == 404 && x->action == CA_LOOKUP) {
		r->outcome = CA_NOT_FOUND;
		goto out;
	}
	if (http == 429 || http >= 500) {
		r->outcome = x->action == CA_ENROLL && (http == 429 ||
		    http == 503) ? CA_NOT_TAKEN : CA_RETRY;
		snprintf(r->message, sizeof(r->message), "HTTP %ld", http);
		goto out;
	}
	if (http >= 400 || j == NULL || !json_is_object(j)) {
		r->outcome = http >= 400 ? CA_REJECTED : CA_RETRY;
		s = json_string_value(json_object_get(j, "error"));
		copy_printable(r->message, sizeof(r->message), s ? s :
		    "malformed response");
		goto out;
	}
	st = json_string_value(json_object_get(j, "status"));
	s = json_string_value(json_object_get(j, "id"));
	copy_printable(r->handle, sizeof(r->handle), s ? s : "");
	if (st != NULL && strcmp(st, "issued") == 0 &&
	    json_is_string(json_object_get(j, "certificate"))) {
		r->outcome = CA_ISSUED;
		x->cert = xstrdup(json_string_value(json_object_get(j,
		    "certificate")));
		s = json_string_value(json_object_get(j, "chain"));
		x->chain = xstrdup(s ? s : "");
	} else if (st != NULL && strcmp(st, "pending") == 0 &&
	    r->handle[0] != '\0') {
		r->outcome = CA_PENDING;
	} else {
		r->outcome = CA_RETRY;
		snprintf(r->message, sizeof(r->message), "unexpected status");
	}
 out:
	json_decref(j);
}

const struct connector_type testca_connector = {
	.name = "testca",
	.prepare = testca_prepare,
	.parse = testca_parse,
};
