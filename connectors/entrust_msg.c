/*
 * entrust_msg.c - Entrust CA Gateway request bodies and response parsing.
 *
 * Responses come from the network: bounded by the caller (CA_MAX_RESPONSE),
 * parsed with jansson, every field checked for type and size, unknown
 * fields ignored. Status strings are matched exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "entrust_msg.h"
#include "log.h"
#include "util.h"

#define MAX_B64		(64 * 1024)	/* one certificate, base64 */
#define MAX_CHAIN	8

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

const char *
cagw_reason_name(int code)
{
	switch (code) {
	case 1:	return "keyCompromise";
	case 3:	return "affiliationChanged";
	case 4:	return "superseded";
	case 5:	return "cessationOfOperation";
	case 9:	return "privilegeWithdrawn";
	default: return "unspecified";
	}
}

char *
b64_from_pem(const char *pem)
{
	static const char begin[] = "-----BEGIN CERTIFICATE REQUEST-----";
	static const char end[] = "-----END CERTIFICATE REQUEST-----";
	const char	*b = strstr(pem, begin), *e;
	char		*out, *o;

	if (b == NULL || (e = strstr(b, end)) == NULL)
		return NULL;
	b += sizeof(begin) - 1;
	out = o = xmalloc((size_t)(e - b) + 1);
	for (; b < e; b++) {
		if (*b == '\n' || *b == '\r' || *b == ' ' || *b == '\t')
			continue;
		if (strchr(b64chars, *b) == NULL) {
			free(out);
			return NULL;
		}
		*o++ = *b;
	}
	*o = '\0';
	if (o == out) {
		free(out);
		return NULL;
	}
	return out;
}

char *
pem_from_b64(const char *b64)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
	static const char end[] = "-----END CERTIFICATE-----\n";
	size_t	 n = strlen(b64), lines, cap;
	char	*out, *o;

	if (n == 0 || n > MAX_B64 || strspn(b64, b64chars) != n || n % 4 != 0)
		return NULL;
	lines = (n + 63) / 64;
	cap = sizeof(begin) + n + lines + sizeof(end) + 1;
	out = o = xmalloc(cap);
	o += snprintf(o, cap, "%s", begin);
	for (size_t i = 0; i < n; i += 64) {
		size_t k = n - i < 64 ? n - i : 64;

		memcpy(o, b64 + i, k);
		o += k;
		*o++ = '\n';
	}
	snprintf(o, cap - (size_t)(o - out), "%s", end);
	return out;
}

/* ["dns:a", "ip:b", "email:c"] as the gateway's typed list. */
static json_t *
typed_sans(const char *sans_json)
{
	json_t	*in = json_loads(sans_json, 0, NULL), *out = json_array(), *v;
	size_t	 i;

	if (in == NULL || !json_is_array(in))
		goto bad;
	json_array_foreach(in, i, v) {
		const char *s = json_string_value(v), *type;

		if (s == NULL)
			goto bad;
		if (strncmp(s, "dns:", 4) == 0)
			type = "dNSName", s += 4;
		else if (strncmp(s, "ip:", 3) == 0)
			type = "iPAddress", s += 3;
		else if (strncmp(s, "email:", 6) == 0)
			type = "rfc822Name", s += 6;
		else
			goto bad;
		json_array_append_new(out, json_pack("{s:s,s:s}", "type", type,
		    "value", s));
	}
	json_decref(in);
	return out;
 bad:
	json_decref(in);
	json_decref(out);
	return NULL;
}

char *
cagw_enroll_body(const char *profile, const char *csr_pem,
    const char *sans_json, uint32_t validity_days)
{
	json_t	*body, *sans;
	char	*csr, *s = NULL, period[32];

	if ((csr = b64_from_pem(csr_pem)) == NULL)
		return NULL;
	if ((sans = typed_sans(sans_json)) == NULL) {
		free(csr);
		return NULL;
	}
	body = json_pack("{s:s,s:{s:s},s:s,s:o}", "profileId", profile,
	    "requiredFormat", "format", "X509", "csr", csr,
	    "subjectAltNames", sans);
	if (body != NULL && validity_days > 0) {
		snprintf(period, sizeof(period), "P%uD", validity_days);
		json_object_set_new(body, "optionalCertificateRequestDetails",
		    json_pack("{s:s}", "validityPeriod", period));
	}
	if (body != NULL)
		s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	free(csr);
	return s;
}

char *
cagw_revoke_body(int reason, const char *comment)
{
	json_t	*b = json_pack("{s:{s:s,s:s,s:s,s:b}}", "action", "type",
	    "RevokeAction", "reason", cagw_reason_name(reason), "comment",
	    comment, "succeedIfAlreadyInRequestedState", 1);
	char	*s = b ? json_dumps(b, JSON_COMPACT) : NULL;

	json_decref(b);
	return s;
}

/* ErrorResponse {error {code, message}} into "code: message". */
static void
error_message(json_t *j, long http, char *out, size_t len)
{
	json_t		*e = json_object_get(j, "error");
	const char	*code = json_string_value(json_object_get(e, "code"));
	const char	*msg = json_string_value(json_object_get(e, "message"));
	char		 tmp[IPC_MAX_STR + 1];

	if (code != NULL || msg != NULL)
		snprintf(tmp, sizeof(tmp), "%s%s%s", code ? code : "",
		    code && msg ? ": " : "", msg ? msg : "");
	else
		snprintf(tmp, sizeof(tmp), "HTTP %ld from the gateway", http);
	copy_printable(out, len, tmp);
}

static int
status_is(const char *s, const char *const *list)
{
	for (; s != NULL && *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* Appends one certificateData (base64 DER) as PEM; -1 if it is not one. */
static int
append_pem(char **out, size_t *len, const char *b64)
{
	char	*pem = b64 != NULL ? pem_from_b64(b64) : NULL;
	size_t	 n;

	if (pem == NULL)
		return -1;
	n = strlen(pem);
	*out = xrealloc(*out, *len + n + 1);
	memcpy(*out + *len, pem, n + 1);
	*len += n;
	free(pem);
	return 0;
}

/*
 * A chain array ([{certificateData}], at most MAX_CHAIN entries used)
 * appended to out as PEM, skipping unreadable entries and the one equal
 * to skip (the CA certificate when it is listed on its own too).
 */
static void
append_chain(char **out, size_t *len, json_t *chain, const char *skip)
{
	size_t	 i;
	json_t	*c;

	if (!json_is_array(chain))
		return;
	json_array_foreach(chain, i, c) {
		const char *d = json_string_value(json_object_get(c,
		    "certificateData"));

		if (i >= MAX_CHAIN)
			break;
		if (d != NULL && skip != NULL && strcmp(d, skip) == 0)
			continue;
		(void)append_pem(out, len, d);
	}
}

char *
cagw_ca_chain(const char *body, size_t len)
{
	json_t		*j = json_loadb(body, len, 0, NULL);
	json_t		*ca = json_object_get(j, "ca");
	const char	*cert = json_string_value(json_object_get(
			    json_object_get(ca, "certificate"), "certificateData"));
	char		*out = xstrdup("");
	size_t		 n = 0;

	if (append_pem(&out, &n, cert) == -1) {
		free(out);
		out = NULL;
	} else
		append_chain(&out, &n, json_object_get(ca, "chain"), cert);
	json_decref(j);
	return out;
}

static void
parse_enrollment(json_t *j, long http, struct cagw_answer *a)
{
	static const char *const pending[] = { "PENDING", "PROCESSING",
	    "AWAITING_APPROVAL", "ACCEPTED", NULL };
	static const char *const failed[] = { "REJECTED", "DENIED", "FAILED",
	    NULL };
	json_t		*e = json_object_get(j, "enrollment");
	const char	*id = json_string_value(json_object_get(e, "id"));
	const char	*st = json_string_value(json_object_get(e, "status"));
	const char	*body = json_string_value(json_object_get(e, "body"));
	size_t		 n;

	if (!json_is_object(e)) {
		a->outcome = CA_RETRY;
		snprintf(a->message, sizeof(a->message), "no enrollment in the "
		    "gateway's answer");
		return;
	}
	if (id != NULL)
		copy_printable(a->handle, sizeof(a->handle), id);
	if (status_is(st, failed)) {
		a->outcome = CA_REJECTED;
		snprintf(a->message, sizeof(a->message), "enrollment %s was %s",
		    a->handle, st);
		return;
	}
	if (body != NULL && body[0] != '\0' && !status_is(st, pending)) {
		if ((a->cert = pem_from_b64(body)) == NULL) {
			a->outcome = CA_REJECTED;
			snprintf(a->message, sizeof(a->message), "the gateway's "
			    "certificate is not base64 DER");
			return;
		}
		a->chain = xstrdup("");
		n = 0;
		append_chain(&a->chain, &n, json_object_get(e, "chain"), NULL);
		a->outcome = CA_ISSUED;
		return;
	}
	/* 201, or no body yet: pending under the enrollment id. */
	if (a->handle[0] == '\0' || strspn(a->handle,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	    "-_.~") != strlen(a->handle)) {
		a->outcome = CA_REJECTED;
		snprintf(a->message, sizeof(a->message), "pending answer (HTTP "
		    "%ld) without a usable enrollment id", http);
		a->handle[0] = '\0';
		return;
	}
	a->outcome = CA_PENDING;
	snprintf(a->message, sizeof(a->message), "enrollment %s is %s",
	    a->handle, st ? st : "pending");
}

static void
parse_action(json_t *j, struct cagw_answer *a)
{
	static const char *const ok[] = { "ACCEPTED", "COMPLETED", NULL };
	json_t		*act = json_object_get(j, "action");
	const char	*st = json_string_value(json_object_get(act, "status"));

	if (status_is(st, ok)) {
		a->outcome = CA_REVOKED;
		return;
	}
	a->outcome = CA_REJECTED;
	snprintf(a->message, sizeof(a->message), "the gateway answered the "
	    "revocation with %s", st && strlen(st) < 64 ? st : "no status");
}

void
cagw_parse(uint8_t action, long http, const char *body, size_t len,
    struct cagw_answer *a)
{
	json_t		*j;
	json_error_t	 err;

	memset(a, 0, sizeof(*a));
	j = json_loadb(body, len, 0, &err);
	if (http == 429 || http >= 500) {
		/* 429 and 503 say the request was not processed. */
		a->outcome = action == CA_ENROLL && (http == 429 ||
		    http == 503) ? CA_NOT_TAKEN : CA_RETRY;
		error_message(j, http, a->message, sizeof(a->message));
		goto out;
	}
	if (http >= 400 || http < 200 || http >= 300) {
		a->outcome = CA_REJECTED;
		error_message(j, http, a->message, sizeof(a->message));
		goto out;
	}
	if (j == NULL || !json_is_object(j)) {
		/* A 2xx we cannot read: the order may exist; ask again. */
		a->outcome = CA_RETRY;
		snprintf(a->message, sizeof(a->message), "the gateway's answer "
		    "is not JSON");
		goto out;
	}
	if (json_is_string(json_object_get(j, "type")) && strcmp(
	    json_string_value(json_object_get(j, "type")), "ErrorResponse") ==
	    0) {
		a->outcome = CA_REJECTED;
		error_message(j, http, a->message, sizeof(a->message));
		goto out;
	}
	if (action == CA_REVOKE)
		parse_action(j, a);
	else if (action == CA_VALIDATE)
		a->outcome = json_is_array(json_object_get(j, "profiles")) ?
		    CA_VALID : CA_REJECTED;
	else
		parse_enrollment(j, http, a);
 out:
	json_decref(j);
}

int
cagw_has_profile(const char *body, size_t len, const char *id)
{
	json_t	*j = json_loadb(body, len, 0, NULL), *p;
	size_t	 i;
	int	 found = 0;

	json_array_foreach(json_object_get(j, "profiles"), i, p) {
		const char *pid = json_string_value(json_object_get(p, "id"));

		if (pid != NULL && strcmp(pid, id) == 0)
			found = 1;
	}
	json_decref(j);
	return found;
}
