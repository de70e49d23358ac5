/*
 * acme_msg.c - ACME resources from the network; see acme_msg.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acme_msg.h"
#include "util.h"

static json_t *
load(const char *body, size_t len, char *why, size_t whylen)
{
	json_t	*j;

	if (body == NULL || len == 0 || len > ACME_MAX_BODY) {
		snprintf(why, whylen, "empty or oversized body");
		return NULL;
	}
	/* Duplicates would let one reader see another value than the next. */
	if ((j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		snprintf(why, whylen, "body is not a JSON object");
		return NULL;
	}
	return j;
}

int
acme_url_ok(const char *s)
{
	size_t	 n;

	if (s == NULL || strncmp(s, "https://", 8) != 0 || s[8] == '\0' ||
	    s[8] == '/' || (n = strlen(s)) > ACME_MAX_URL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '\\')
			return 0;
	/* No userinfo: an '@' before the first '/' after the scheme. */
	{
		const char *slash = strchr(s + 8, '/'), *at = strchr(s + 8, '@');

		if (at != NULL && (slash == NULL || at < slash))
			return 0;
	}
	return 1;
}

/* Copies the https URL member name of o into dst; -1 if absent or bad. */
static int
get_url(json_t *o, const char *name, char dst[ACME_MAX_URL + 1],
    int optional, char *why, size_t whylen)
{
	json_t	*v = json_object_get(o, name);

	dst[0] = '\0';
	if (v == NULL && optional)
		return 0;
	if (!json_is_string(v) || !acme_url_ok(json_string_value(v))) {
		snprintf(why, whylen, "%s is missing or not an https URL", name);
		return -1;
	}
	snprintf(dst, ACME_MAX_URL + 1, "%s", json_string_value(v));
	return 0;
}

static enum acme_status
status_of(json_t *v)
{
	static const struct { const char *name; enum acme_status st; } t[] = {
		{ "pending", ACME_ST_PENDING }, { "ready", ACME_ST_READY },
		{ "processing", ACME_ST_PROCESSING }, { "valid", ACME_ST_VALID },
		{ "invalid", ACME_ST_INVALID },
		{ "deactivated", ACME_ST_DEACTIVATED },
		{ "expired", ACME_ST_EXPIRED }, { "revoked", ACME_ST_REVOKED },
	};
	const char	*s = json_string_value(v);

	for (size_t i = 0; s != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0)
			return t[i].st;
	return ACME_ST_UNKNOWN;
}

int
acme_parse_directory(const char *body, size_t len, struct acme_directory *d,
    char *why, size_t whylen)
{
	json_t	*j, *meta, *v;
	int	 r = -1;

	memset(d, 0, sizeof(*d));
	if ((j = load(body, len, why, whylen)) == NULL)
		return -1;
	if (get_url(j, "newNonce", d->new_nonce, 0, why, whylen) != 0 ||
	    get_url(j, "newAccount", d->new_account, 0, why, whylen) != 0 ||
	    get_url(j, "newOrder", d->new_order, 0, why, whylen) != 0 ||
	    get_url(j, "revokeCert", d->revoke_cert, 0, why, whylen) != 0)
		goto out;
	if ((meta = json_object_get(j, "meta")) != NULL) {
		if (!json_is_object(meta)) {
			snprintf(why, whylen, "meta is not an object");
			goto out;
		}
		/* Informational: a bad one is dropped, not fatal. */
		if (get_url(meta, "termsOfService", d->terms_of_service, 1,
		    why, whylen) != 0)
			d->terms_of_service[0] = '\0';
		v = json_object_get(meta, "externalAccountRequired");
		if (v != NULL && !json_is_boolean(v)) {
			snprintf(why, whylen,
			    "meta.externalAccountRequired is not a boolean");
			goto out;
		}
		d->eab_required = json_is_true(v);
	}
	r = 0;
 out:
	json_decref(j);
	return r;
}

/* Printable ASCII copy of a string member; "" if absent or not a string. */
static void
get_text(json_t *o, const char *name, char *dst, size_t dstlen)
{
	const char	*s = json_string_value(json_object_get(o, name));

	copy_printable(dst, dstlen, s != NULL ? s : "");
}

static void
problem_from(json_t *j, struct acme_problem *p)
{
	json_int_t	 st;

	memset(p, 0, sizeof(*p));
	get_text(j, "type", p->type, sizeof(p->type));
	get_text(j, "detail", p->detail, sizeof(p->detail));
	if (json_is_integer(json_object_get(j, "status"))) {
		st = json_integer_value(json_object_get(j, "status"));
		if (st >= 100 && st <= 599)
			p->status = (int)st;
	}
}

void
acme_parse_problem(const char *body, size_t len, struct acme_problem *p)
{
	char	 why[128];
	json_t	*j;

	memset(p, 0, sizeof(*p));
	if ((j = load(body, len, why, sizeof(why))) == NULL) {
		snprintf(p->detail, sizeof(p->detail),
		    "no problem document (%s)", why);
		return;
	}
	problem_from(j, p);
	json_decref(j);
}

int
acme_problem_is(const struct acme_problem *p, const char *name)
{
	size_t	 n = sizeof(ACME_PROBLEM_NS) - 1;

	return strncmp(p->type, ACME_PROBLEM_NS, n) == 0 &&
	    strcmp(p->type + n, name) == 0;
}

void
acme_order_free(struct acme_order *o)
{
	free(o->authz);
	memset(o, 0, sizeof(*o));
}

int
acme_parse_order(const char *body, size_t len, struct acme_order *o,
    char *why, size_t whylen)
{
	json_t	*j, *a, *v, *e;
	size_t	 i;
	int	 r = -1;

	memset(o, 0, sizeof(*o));
	if ((j = load(body, len, why, whylen)) == NULL)
		return -1;
	if ((o->status = status_of(json_object_get(j, "status"))) ==
	    ACME_ST_UNKNOWN || o->status == ACME_ST_DEACTIVATED ||
	    o->status == ACME_ST_EXPIRED || o->status == ACME_ST_REVOKED) {
		snprintf(why, whylen, "order status missing or unknown");
		goto out;
	}
	a = json_object_get(j, "authorizations");
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > ACME_MAX_AUTHZ) {
		snprintf(why, whylen, "authorizations: not 1 to %d URLs",
		    ACME_MAX_AUTHZ);
		goto out;
	}
	o->authz = xcalloc(json_array_size(a), sizeof(*o->authz));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !acme_url_ok(json_string_value(v))) {
			snprintf(why, whylen, "authorization %zu: not an https URL",
			    i);
			goto out;
		}
		snprintf(o->authz[i], sizeof(o->authz[i]), "%s",
		    json_string_value(v));
		o->nauthz = i + 1;
	}
	if (get_url(j, "finalize", o->finalize, 0, why, whylen) != 0 ||
	    get_url(j, "certificate", o->certificate,
	    o->status != ACME_ST_VALID, why, whylen) != 0)
		goto out;
	if ((e = json_object_get(j, "error")) != NULL && json_is_object(e))
		problem_from(e, &o->error);
	r = 0;
 out:
	if (r != 0)
		acme_order_free(o);
	json_decref(j);
	return r;
}

/* RFC 8555 §8.1: a token is base64url. */
static int
token_ok(const char *s)
{
	size_t	 n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= ACME_MAX_TOKEN &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == n;
}

/* The first http-01 challenge of the array, if any. */
static int
read_http01(json_t *chals, struct acme_authz *z, char *why, size_t whylen)
{
	json_t	*c;
	size_t	 i;

	json_array_foreach(chals, i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *tok = json_string_value(json_object_get(c, "token"));

		if (type == NULL || strcmp(type, "http-01") != 0)
			continue;
		if (get_url(c, "url", z->http01_url, 0, why, whylen) != 0)
			return -1;
		if (!token_ok(tok)) {
			snprintf(why, whylen, "http-01 token is not base64url");
			return -1;
		}
		snprintf(z->http01_token, sizeof(z->http01_token), "%s", tok);
		z->http01_status = status_of(json_object_get(c, "status"));
		z->has_http01 = 1;
		return 0;
	}
	return 0;
}

int
acme_parse_authz(const char *body, size_t len, struct acme_authz *z,
    char *why, size_t whylen)
{
	json_t		*j, *id, *chals;
	const char	*type, *value;
	int		 r = -1;

	memset(z, 0, sizeof(*z));
	if ((j = load(body, len, why, whylen)) == NULL)
		return -1;
	if ((z->status = status_of(json_object_get(j, "status"))) ==
	    ACME_ST_UNKNOWN || z->status == ACME_ST_READY ||
	    z->status == ACME_ST_PROCESSING) {
		snprintf(why, whylen, "authorization status missing or unknown");
		goto out;
	}
	id = json_object_get(j, "identifier");
	type = json_string_value(json_object_get(id, "type"));
	value = json_string_value(json_object_get(id, "value"));
	if (type == NULL || (strcmp(type, "dns") != 0 &&
	    strcmp(type, "ip") != 0) || value == NULL || *value == '\0' ||
	    strlen(value) > ACME_MAX_IDENT ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:*") != strlen(value)) {
		snprintf(why, whylen, "identifier missing or not a name");
		goto out;
	}
	snprintf(z->ident_type, sizeof(z->ident_type), "%s", type);
	snprintf(z->ident, sizeof(z->ident), "%s", value);
	z->wildcard = json_is_true(json_object_get(j, "wildcard"));
	chals = json_object_get(j, "challenges");
	if (chals != NULL && !json_is_array(chals)) {
		snprintf(why, whylen, "challenges is not an array");
		goto out;
	}
	if (chals != NULL && read_http01(chals, z, why, whylen) != 0)
		goto out;
	r = 0;
 out:
	json_decref(j);
	return r;
}

int
acme_parse_account(const char *body, size_t len, enum acme_status *st,
    char *why, size_t whylen)
{
	json_t	*j;

	*st = ACME_ST_UNKNOWN;
	if ((j = load(body, len, why, whylen)) == NULL)
		return -1;
	*st = status_of(json_object_get(j, "status"));
	json_decref(j);
	if (*st != ACME_ST_VALID && *st != ACME_ST_DEACTIVATED &&
	    *st != ACME_ST_REVOKED) {
		*st = ACME_ST_UNKNOWN;
		snprintf(why, whylen, "account status missing or unknown");
		return -1;
	}
	return 0;
}

long
acme_retry_after(const char *value, time_t now, long max)
{
	struct tm	 tm;
	const char	*end;
	char		*e;
	long		 n;
	time_t		 t;

	if (value == NULL || *value == '\0' || strlen(value) > 64)
		return -1;
	if (isdigit((unsigned char)*value)) {
		n = strtol(value, &e, 10);
		if (*e != '\0' || n < 0)
			return -1;
		return n > max ? max : n;
	}
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm)) == NULL ||
	    *end != '\0' || (t = timegm(&tm)) == (time_t)-1)
		return -1;
	if (t <= now)
		return 0;
	return t - now > max ? max : (long)(t - now);
}

int
acme_nonce_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= ACME_MAX_NONCE && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == n;
}

int
acme_link_alternate(const char *v, char url[ACME_MAX_URL + 1])
{
	const char	*end, *p;
	size_t		 n;

	if (v[0] != '<' || (end = strchr(v, '>')) == NULL ||
	    (n = (size_t)(end - v - 1)) > ACME_MAX_URL)
		return -1;
	/* Parameters after the URL: one of them must be rel="alternate". */
	for (p = end + 1; *p != '\0'; p++) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (strncmp(p, "rel=\"alternate\"", 15) == 0 &&
		    (p[15] == '\0' || p[15] == ';' || p[15] == ' '))
			break;
		if ((p = strchr(p, ';')) == NULL)
			return -1;
	}
	if (*p == '\0')
		return -1;
	memcpy(url, v + 1, n);
	url[n] = '\0';
	return acme_url_ok(url) ? 0 : -1;
}
