/*
 * sectigo_msg.c - Sectigo Certificate Manager request bodies and answer
 * classification.
 *
 * Answers come from the network: bounded by the caller (CA_MAX_RESPONSE),
 * parsed with jansson or OpenSSL's PEM reader, every field checked for
 * type and range, unknown fields ignored. SCM's errors are
 * {"code": <int>, "description": <string>} with HTTP 400 for most, 401
 * for credentials and 404 for a missing entity; several codes mean
 * "not ready yet" rather than failure (ca-apis.md, B6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"
#include "sectigo_msg.h"
#include "util.h"

/* Collect answers that mean "ask again later", not "failed". */
static const int not_ready_codes[] = { 0, -183, -1400, -109, -195 };
/* Codes that say the CA is busy: nothing happened, try again. */
static const int busy_codes[] = { -109, -195 };

static int
in_list(int code, const int *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == code)
			return 1;
	return 0;
}

uint32_t
scm_cert_type(const char *profile)
{
	unsigned long	 v;
	char		*end;

	if (profile[0] < '1' || profile[0] > '9' || strlen(profile) > 10)
		return 0;
	v = strtoul(profile, &end, 10);
	if (*end != '\0' || v > INT32_MAX)
		return 0;
	return (uint32_t)v;
}

char *
scm_enroll_body(const struct scm_enroll *e, char *why, size_t whylen)
{
	json_t	*in = json_loads(e->sans_json, 0, NULL), *v, *body = NULL;
	char	*sans = xstrdup(""), *s = NULL;
	size_t	 i, len = 0;

	if (!json_is_array(in)) {
		snprintf(why, whylen, "the order's names are not a list");
		goto out;
	}
	json_array_foreach(in, i, v) {
		const char	*t = json_string_value(v), *name;
		size_t		 n;

		if (t != NULL && strncmp(t, "dns:", 4) == 0)
			name = t + 4;
		else if (t != NULL && strncmp(t, "ip:", 3) == 0)
			name = t + 3;
		else {
			snprintf(why, whylen, "Sectigo SSL certificates carry "
			    "DNS names and IP addresses only");
			goto out;
		}
		/* One string, comma-separated: a comma inside would split. */
		if ((n = strlen(name)) == 0 || strchr(name, ',') != NULL) {
			snprintf(why, whylen, "a name the list cannot carry");
			goto out;
		}
		sans = xrealloc(sans, len + n + 2);
		if (len > 0)
			sans[len++] = ',';
		memcpy(sans + len, name, n + 1);
		len += n;
	}
	body = json_pack("{s:I,s:s,s:I,s:I,s:s}", "orgId",
	    (json_int_t)e->org_id, "csr", e->csr_pem, "certType",
	    (json_int_t)e->cert_type, "term", (json_int_t)e->term, "comments",
	    e->comments);
	if (body == NULL) {
		snprintf(why, whylen, "cannot encode the request");
		goto out;
	}
	if (len > 0)
		json_object_set_new(body, "subjAltNames", json_string(sans));
	if (e->external_requester[0] != '\0')
		json_object_set_new(body, "externalRequester",
		    json_string(e->external_requester));
	if ((s = json_dumps(body, JSON_COMPACT)) == NULL)
		snprintf(why, whylen, "cannot encode the request");
 out:
	json_decref(body);
	json_decref(in);
	free(sans);
	return s;
}

char *
scm_revoke_body(int reason, char *why, size_t whylen)
{
	static const char *const names[] = {
		[0] = "unspecified", [1] = "keyCompromise",
		[3] = "affiliationChanged", [4] = "superseded",
		[5] = "cessationOfOperation",
	};
	char	 text[96];
	json_t	*b;
	char	*s;

	if (reason < 0 || reason > 5 || names[reason] == NULL) {
		snprintf(why, whylen, "Sectigo accepts the reasons unspecified, "
		    "keyCompromise, affiliationChanged, superseded and "
		    "cessationOfOperation only");
		return NULL;
	}
	/* reason must not be empty; reasonCode as the 25.x doc types it. */
	snprintf(text, sizeof(text), "%s (revoked through hsmagent)",
	    names[reason]);
	b = json_pack("{s:i,s:s}", "reasonCode", reason, "reason", text);
	s = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (s == NULL)
		snprintf(why, whylen, "cannot encode the request");
	return s;
}

/* {"code", "description"} into a->code and "code: description". */
static void
read_error(json_t *j, long http, struct scm_answer *a)
{
	json_t		*code = json_object_get(j, "code");
	const char	*desc = json_string_value(json_object_get(j,
			    "description"));
	char		 tmp[IPC_MAX_STR + 1];

	if (json_is_integer(code) && json_integer_value(code) > -1000000 &&
	    json_integer_value(code) <= 0) {
		a->code = (int)json_integer_value(code);
		a->has_code = 1;
	}
	if (a->has_code)
		snprintf(tmp, sizeof(tmp), "%d: %s", a->code, desc ? desc :
		    "(no description)");
	else
		snprintf(tmp, sizeof(tmp), "HTTP %ld from Sectigo", http);
	copy_printable(a->message, sizeof(a->message), tmp);
}

/* The enroll answer: {"sslId": N, "renewId": "..."}. */
static void
read_enrolled(json_t *j, struct scm_answer *a)
{
	json_t		*id = json_object_get(j, "sslId");
	const char	*renew = json_string_value(json_object_get(j,
			    "renewId"));

	if (!json_is_integer(id) || json_integer_value(id) < 1 ||
	    json_integer_value(id) > ((json_int_t)1 << 53)) {
		a->outcome = CA_RETRY;
		snprintf(a->message, sizeof(a->message), "Sectigo's enroll "
		    "answer has no usable sslId");
		return;
	}
	snprintf(a->handle, sizeof(a->handle), "%lld",
	    (long long)json_integer_value(id));
	/* Kept only if it is a plain token: it is stored and shown. */
	if (renew != NULL && renew[0] != '\0' && strlen(renew) <=
	    IPC_MAX_HANDLE && strspn(renew, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(renew))
		snprintf(a->renew_id, sizeof(a->renew_id), "%s", renew);
	a->outcome = CA_PENDING;
	snprintf(a->message, sizeof(a->message), "sslId %s submitted",
	    a->handle);
}

static void
classify_error(uint8_t action, long http, const char *handle,
    struct scm_answer *a)
{
	if (action == CA_LOOKUP && (http == 400 || http == 404) &&
	    a->has_code && in_list(a->code, not_ready_codes,
	    sizeof(not_ready_codes) / sizeof(not_ready_codes[0]))) {
		char tmp[IPC_MAX_STR + 1];

		a->outcome = CA_PENDING;
		snprintf(a->handle, sizeof(a->handle), "%s", handle);
		snprintf(tmp, sizeof(tmp), "sslId %.24s not ready: %.900s", handle,
		    a->message);
		snprintf(a->message, sizeof(a->message), "%s", tmp);
		return;
	}
	if (http == 401 || http == 403) {
		char tmp[IPC_MAX_STR + 1];

		/* Pending orders wait for the operator to fix it. */
		a->outcome = action == CA_LOOKUP ? CA_RETRY : CA_REJECTED;
		snprintf(tmp, sizeof(tmp), "Sectigo refused the credentials "
		    "(%.900s)", a->message);
		snprintf(a->message, sizeof(a->message), "%s", tmp);
		return;
	}
	if (http == 429 || http >= 500 || (a->has_code && in_list(a->code,
	    busy_codes, sizeof(busy_codes) / sizeof(busy_codes[0])))) {
		/* Answered, so not processed: an enrollment can go again. */
		a->outcome = action == CA_ENROLL && (http < 500 || http == 503) ?
		    CA_NOT_TAKEN : CA_RETRY;
		return;
	}
	if (action == CA_REVOKE && a->has_code && a->code == -159) {
		/* "Your certificate already revoked": the wanted state. */
		a->outcome = CA_REVOKED;
		return;
	}
	a->outcome = CA_REJECTED;
}

void
scm_parse(uint8_t action, long http, const char *body, size_t len,
    const char *handle, struct scm_answer *a)
{
	json_t *j = NULL;

	memset(a, 0, sizeof(*a));
	if (http >= 200 && http < 300) {
		switch (action) {
		case CA_REVOKE:
			a->outcome = CA_REVOKED;
			return;
		case CA_LOOKUP:
			/* Raw PEM, not JSON: the caller splits it. */
			a->outcome = CA_ISSUED;
			snprintf(a->handle, sizeof(a->handle), "%s", handle);
			return;
		case CA_VALIDATE:
			a->outcome = CA_VALID;
			return;
		default:
			j = json_loadb(body, len, 0, NULL);
			if (json_is_object(j))
				read_enrolled(j, a);
			else {
				/* Taken or not? Nobody knows. */
				a->outcome = CA_RETRY;
				snprintf(a->message, sizeof(a->message),
				    "Sectigo's enroll answer is not JSON");
			}
			json_decref(j);
			return;
		}
	}
	j = json_loadb(body, len, 0, NULL);
	read_error(json_is_object(j) ? j : NULL, http, a);
	json_decref(j);
	classify_error(action, http, handle, a);
}

int
scm_check_types(const char *body, size_t len, uint32_t cert_type,
    uint32_t term, char *why, size_t whylen)
{
	json_t	*j = json_loadb(body, len, 0, NULL), *t, *terms, *v;
	size_t	 i, k;
	int	 r = -1;

	if (!json_is_array(j)) {
		snprintf(why, whylen, "Sectigo's list of certificate types is "
		    "not a JSON array");
		goto out;
	}
	if (cert_type == 0) {
		r = 0;
		goto out;
	}
	json_array_foreach(j, i, t) {
		json_t *id = json_object_get(t, "id");

		if (!json_is_integer(id) || json_integer_value(id) !=
		    (json_int_t)cert_type)
			continue;
		terms = json_object_get(t, "terms");
		json_array_foreach(terms, k, v) {
			if (json_is_integer(v) && json_integer_value(v) ==
			    (json_int_t)term) {
				r = 0;
				goto out;
			}
		}
		snprintf(why, whylen, "certificate type %u does not allow a "
		    "term of %u days", cert_type, term);
		goto out;
	}
	snprintf(why, whylen, "Sectigo offers no certificate type %u",
	    cert_type);
 out:
	json_decref(j);
	return r;
}
