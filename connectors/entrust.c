/*
 * entrust.c - the Entrust CA Gateway (CAGW API v1) connector type.
 *
 * Requests, all under {url}/v1/certificate-authorities/{caId}:
 *   enroll  POST /enrollments {profileId, requiredFormat {format X509},
 *           csr (base64 DER, one line), subjectAltNames [{type, value}],
 *           optionalCertificateRequestDetails {validityPeriod "P<n>D"}}
 *   poll    GET  /enrollments/{id}   (the order's handle)
 *   revoke  POST /certificates/{serial}/actions {action {type RevokeAction,
 *           reason, comment, succeedIfAlreadyInRequestedState true}}
 * Answers: 200 with enrollment.body (base64 DER) is issued, the chain from
 * enrollment.chain[].certificateData or, when the gateway leaves it out
 * (not every CA behind it returns one), from the CA resource:
 *   chain   GET  ?%24fields=ca.certificate,ca.chain
 * 201 or no body is pending under
 * enrollment.id; ErrorResponse {error {code, message}} carries the
 * gateway's code to the caller; 429 and 5xx are retried (Retry-After is
 * honoured by the parent's schedule); other 4xx are final. Unknown
 * fields are ignored. The gateway has no lookup by client reference, so
 * an order interrupted before its id came back cannot be resumed
 * automatically (lookup_needs_handle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "connector.h"
#include "entrust_msg.h"
#include "util.h"

/* This connector's own settings (its part of IPC_CFG_CONNECTOR). */
static const struct ipc_cfg_entrust *
cagw_conf(const struct ca_xfer *x)
{
	return &x->conf->kind.entrust;
}

static int
set_json_headers(struct ca_xfer *x, int with_body)
{
	x->headers = curl_slist_append(NULL, "Accept: application/json");
	if (with_body && x->headers != NULL)
		x->headers = curl_slist_append(x->headers,
		    "Content-Type: application/json");
	return x->headers == NULL || curl_easy_setopt(x->t.easy,
	    CURLOPT_HTTPHEADER, x->headers) != CURLE_OK ? -1 : 0;
}

static int
entrust_prepare(struct ca_xfer *x)
{
	char	url[IPC_MAX_URL + 512];
	char	*esc_ca = curl_easy_escape(x->t.easy, cagw_conf(x)->ca_id,
		    0);
	int	 r = -1;

	if (esc_ca == NULL)
		return -1;
	switch (x->action) {
	case CA_ENROLL:
		x->post = cagw_enroll_body(cagw_conf(x)->profile_id[0] ?
		    cagw_conf(x)->profile_id : x->profile, x->csr, x->sans_json,
		    x->validity_days);
		snprintf(url, sizeof(url), "%s/v1/certificate-authorities/%s/"
		    "enrollments", x->conf->url, esc_ca);
		break;
	case CA_LOOKUP: {
		char *esc_id = curl_easy_escape(x->t.easy, x->handle, 0);

		if (esc_id == NULL)
			goto out;
		snprintf(url, sizeof(url), "%s/v1/certificate-authorities/%s/"
		    "enrollments/%s", x->conf->url, esc_ca, esc_id);
		curl_free(esc_id);
		break;
	}
	case CA_VALIDATE:
		/* 404 cagw-4018 for a wrong CA id; the list for profile_id. */
		snprintf(url, sizeof(url), "%s/v1/certificate-authorities/%s/"
		    "profiles", x->conf->url, esc_ca);
		break;
	case CA_REVOKE:
		x->post = cagw_revoke_body(x->reason, "revoked by hsmagent");
		snprintf(url, sizeof(url), "%s/v1/certificate-authorities/%s/"
		    "certificates/%s/actions", x->conf->url, esc_ca, x->serial);
		break;
	default:
		goto out;
	}
	if (x->action != CA_LOOKUP && x->action != CA_VALIDATE &&
	    x->post == NULL)
		goto out;
	if (set_json_headers(x, x->post != NULL) == -1 ||
	    curl_easy_setopt(x->t.easy, CURLOPT_URL, url) != CURLE_OK ||
	    (x->post != NULL && curl_easy_setopt(x->t.easy,
	    CURLOPT_POSTFIELDS, x->post) != CURLE_OK))
		goto out;
	r = 0;
 out:
	curl_free(esc_ca);
	return r;
}

static void
entrust_parse(struct ca_xfer *x, long http, struct ipc_ca_result *r)
{
	struct cagw_answer a;

	cagw_parse(x->action, http, (const char *)x->t.body, x->t.body_len,
	    &a);
	if (x->action == CA_VALIDATE && a.outcome == CA_VALID &&
	    cagw_conf(x)->profile_id[0] != '\0' &&
	    !cagw_has_profile((const char *)x->t.body, x->t.body_len,
	    cagw_conf(x)->profile_id)) {
		a.outcome = CA_REJECTED;
		snprintf(a.message, sizeof(a.message), "the CA offers no "
		    "profile \"%.64s\"", cagw_conf(x)->profile_id);
	}
	r->outcome = a.outcome;
	snprintf(r->handle, sizeof(r->handle), "%s", a.handle);
	snprintf(r->message, sizeof(r->message), "%s", a.message);
	x->cert = a.cert;
	x->chain = a.chain;
}

static int
entrust_prepare_chain(struct ca_xfer *x)
{
	char	 url[IPC_MAX_URL + 512];
	char	*esc_ca = curl_easy_escape(x->t.easy, cagw_conf(x)->ca_id,
		    0);
	int	 r = -1;

	if (esc_ca == NULL)
		return -1;
	/* Without $fields the gateway leaves certificate and chain out. */
	snprintf(url, sizeof(url), "%s/v1/certificate-authorities/%s"
	    "?%%24fields=ca.certificate,ca.chain", x->conf->url, esc_ca);
	if (set_json_headers(x, 0) == 0 &&
	    curl_easy_setopt(x->t.easy, CURLOPT_URL, url) == CURLE_OK &&
	    curl_easy_setopt(x->t.easy, CURLOPT_HTTPGET, 1L) == CURLE_OK)
		r = 0;
	curl_free(esc_ca);
	return r;
}

const struct connector_type entrust_connector = {
	.name = "entrust",
	.lookup_needs_handle = 1,
	.can_validate = 1,
	.prepare = entrust_prepare,
	.parse = entrust_parse,
	.prepare_chain = entrust_prepare_chain,
	.parse_chain = cagw_ca_chain,
};
