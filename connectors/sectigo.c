/*
 * sectigo.c - the Sectigo Certificate Manager (SCM REST API, SSL v1)
 * connector type.
 *
 * Requests, all under the configured base ({url}: .../api for password
 * authentication, .../private/api for certificate authentication):
 *   enroll    POST /ssl/v1/enroll {orgId, csr (PEM), certType, term,
 *             subjAltNames "a,b", comments, externalRequester}
 *             -> {sslId, renewId}: pending under the sslId
 *   collect   GET  /ssl/v1/collect/{sslId}?format=x509 -> PEM, the
 *             certificate with its chain; "not ready yet" answers keep
 *             the order pending on the poll schedule
 *   revoke    POST /ssl/v1/revoke/{sslId} {reasonCode, reason} -> 204
 *   validate  GET  /ssl/v1/types: cert_type offered, term allowed
 * Every request carries customerUri and login; with auth = password
 * also the password, which the parent sends with each job and the child
 * wipes when the job ends. With auth = certificate the HSM-held client
 * certificate authenticates, as for every connector.
 *
 * SCM has no lookup by the client's reference: an enrollment whose
 * answer was lost cannot be found again automatically
 * (lookup_needs_handle), and revocation needs the sslId stored with
 * the order (the seed project revoked by serial, which SCM takes as an
 * sslId).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "pem_bundle.h"
#include "sectigo_msg.h"
#include "util.h"

/* This connector's own settings (its part of IPC_CFG_CONNECTOR). */
static const struct ipc_cfg_sectigo *
scm_conf(const struct ca_xfer *x)
{
	return &x->conf->kind.sectigo;
}

static int
auth_headers(struct ca_xfer *x, int json_body)
{
	if (ca_add_header(x, "customerUri", scm_conf(x)->customer_uri) == -1 ||
	    ca_add_header(x, "login", scm_conf(x)->login) == -1)
		return -1;
	if (x->conf->auth == IPC_AUTH_PASSWORD) {
		if (x->secret == NULL) {
			snprintf(x->prep_error, sizeof(x->prep_error), "no "
			    "password came with the request");
			return -1;
		}
		if (ca_add_header(x, "password", x->secret) == -1)
			return -1;
	}
	if (json_body && ca_add_header(x, "Content-Type",
	    "application/json;charset=utf-8") == -1)
		return -1;
	return curl_easy_setopt(x->t.easy, CURLOPT_HTTPHEADER, x->headers) ==
	    CURLE_OK ? 0 : -1;
}

/* The sslId from the order's handle: digits only, it goes in a path. */
static int
ssl_id_ok(struct ca_xfer *x)
{
	size_t n = strlen(x->handle);

	if (n == 0 || n > 20 || strspn(x->handle, "0123456789") != n) {
		snprintf(x->prep_error, sizeof(x->prep_error), "no Sectigo "
		    "sslId is stored with this order");
		return 0;
	}
	return 1;
}

static int
sectigo_prepare(struct ca_xfer *x)
{
	char			url[IPC_MAX_URL + 256];
	char			comments[96];
	struct scm_enroll	e;

	switch (x->action) {
	case CA_ENROLL:
		memset(&e, 0, sizeof(e));
		e.org_id = scm_conf(x)->org_id;
		e.cert_type = scm_conf(x)->cert_type != 0 ?
		    scm_conf(x)->cert_type : scm_cert_type(x->profile);
		if (e.cert_type == 0) {
			snprintf(x->prep_error, sizeof(x->prep_error), "profile "
			    "\"%.64s\" is not a Sectigo certificate type id "
			    "(and the connector sets no cert_type)", x->profile);
			return -1;
		}
		e.term = x->validity_days != 0 ? x->validity_days :
		    scm_conf(x)->term;
		e.csr_pem = x->csr;
		e.sans_json = x->sans_json;
		snprintf(comments, sizeof(comments), "hsmagent order %s",
		    x->ref);
		e.comments = comments;
		e.external_requester = scm_conf(x)->external_requester;
		if ((x->post = scm_enroll_body(&e, x->prep_error,
		    sizeof(x->prep_error))) == NULL)
			return -1;
		snprintf(url, sizeof(url), "%s/ssl/v1/enroll", x->conf->url);
		break;
	case CA_LOOKUP:
		if (!ssl_id_ok(x))
			return -1;
		/* x509: PEM, the certificate with its chain. */
		snprintf(url, sizeof(url), "%s/ssl/v1/collect/%s?format=x509",
		    x->conf->url, x->handle);
		break;
	case CA_REVOKE:
		if (!ssl_id_ok(x) || (x->post = scm_revoke_body(x->reason,
		    x->prep_error, sizeof(x->prep_error))) == NULL)
			return -1;
		snprintf(url, sizeof(url), "%s/ssl/v1/revoke/%s", x->conf->url,
		    x->handle);
		break;
	case CA_VALIDATE:
		snprintf(url, sizeof(url), "%s/ssl/v1/types", x->conf->url);
		break;
	default:
		return -1;
	}
	if (auth_headers(x, x->post != NULL) == -1 ||
	    curl_easy_setopt(x->t.easy, CURLOPT_URL, url) != CURLE_OK ||
	    (x->post != NULL && curl_easy_setopt(x->t.easy,
	    CURLOPT_POSTFIELDS, x->post) != CURLE_OK))
		return -1;
	return 0;
}

static void
sectigo_parse(struct ca_xfer *x, long http, struct ipc_ca_result *r)
{
	struct scm_answer a;

	scm_parse(x->action, http, (const char *)x->t.body, x->t.body_len,
	    x->handle, &a);
	if (a.outcome == CA_ISSUED && pem_bundle_split((const char *)x->t.body,
	    x->t.body_len, x->csr, &x->cert, &x->chain, a.message,
	    sizeof(a.message)) == -1)
		a.outcome = CA_REJECTED;
	if (a.outcome == CA_VALID && x->action == CA_VALIDATE &&
	    scm_check_types((const char *)x->t.body, x->t.body_len,
	    scm_conf(x)->cert_type, scm_conf(x)->term, a.message,
	    sizeof(a.message)) == -1)
		a.outcome = CA_REJECTED;
	r->outcome = a.outcome;
	snprintf(r->handle, sizeof(r->handle), "%s", a.handle);
	snprintf(r->renew_id, sizeof(r->renew_id), "%s", a.renew_id);
	snprintf(r->message, sizeof(r->message), "%s", a.message);
}

const struct connector_type sectigo_connector = {
	.name = "sectigo",
	.lookup_needs_handle = 1,
	.can_validate = 1,
	.prepare = sectigo_prepare,
	.parse = sectigo_parse,
};
