/*
 * acme_sign_policy.c - see acme_sign_policy.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme_jws.h"
#include "acme_sign_policy.h"
#include "b64url.h"

#define MAX_HEADER	(8 * 1024)	/* decoded protected header (jwk: RSA) */
#define MAX_PAYLOAD	(64 * 1024)	/* decoded payload (a CSR) */

struct parsed {
	json_t	*hdr;
	uint8_t	*payload;
	size_t	 plen;
};

static void
parsed_free(struct parsed *p)
{
	json_decref(p->hdr);
	free(p->payload);
	memset(p, 0, sizeof(*p));
}

/* input -> header object and payload bytes, or -1. */
static int
split(const char *input, size_t len, struct parsed *p)
{
	const char	*dot;
	uint8_t		 h[MAX_HEADER];
	int		 hl, pl;
	size_t		 plen64;

	memset(p, 0, sizeof(*p));
	if (input == NULL || len == 0 || len > ACME_SIGN_MAX_INPUT ||
	    (dot = memchr(input, '.', len)) == NULL || dot == input ||
	    memchr(dot + 1, '.', len - (size_t)(dot + 1 - input)) != NULL)
		return -1;
	if ((hl = b64url_decode(input, (size_t)(dot - input), h,
	    sizeof(h))) <= 0)
		return -1;
	plen64 = len - (size_t)(dot + 1 - input);
	p->payload = malloc(plen64 / 4 * 3 + 3);
	if (p->payload == NULL ||
	    (pl = b64url_decode(dot + 1, plen64, p->payload,
	    plen64 / 4 * 3 + 3)) < 0 || pl > MAX_PAYLOAD) {
		parsed_free(p);
		return -1;
	}
	p->plen = (size_t)pl;
	/* Duplicate members could be read one way here, another at the CA. */
	p->hdr = json_loadb((const char *)h, (size_t)hl,
	    JSON_REJECT_DUPLICATES, NULL);
	if (p->hdr == NULL || !json_is_object(p->hdr)) {
		parsed_free(p);
		return -1;
	}
	return 0;
}

/* Printable ASCII with no space, and none of "\\#@": a plain URL. */
static int
plain_url(const char *s)
{
	size_t	 n = 0;

	for (; s[n] != '\0'; n++)
		if (s[n] <= 0x20 || s[n] >= 0x7f || strchr("\\#@", s[n]))
			return 0;
	return n > 0 && n <= ACME_MAX_URL;
}

int
acme_sign_prefix_ok(const char *prefix)
{
	size_t	 n;

	if (prefix == NULL || strncmp(prefix, "https://", 8) != 0)
		return 0;
	n = strlen(prefix);
	/* A host, then a '/' that ends the origin; the prefix ends in '/'. */
	return n > 9 && plain_url(prefix) && prefix[8] != '/' &&
	    prefix[n - 1] == '/' && strchr(prefix, '?') == NULL;
}

/* A string member under one of the prefixes, with no way back up. */
static int
under_prefix(const struct acme_sign_rules *r, json_t *v)
{
	const char	*s = json_string_value(v);
	size_t		 i, n;

	if (s == NULL || !plain_url(s) || strstr(s, "/../") ||
	    strstr(s, "/./") || strstr(s, "%2") || strstr(s, "%5"))
		return 0;
	for (i = 0; i < r->nprefix && i < ACME_SIGN_MAX_PREFIXES; i++) {
		n = strlen(r->prefix[i]);
		if (acme_sign_prefix_ok(r->prefix[i]) &&
		    strncmp(s, r->prefix[i], n) == 0)
			return 1;
	}
	return 0;
}

static int
nonce_ok(json_t *v)
{
	const char	*s = json_string_value(v);
	size_t		 n;

	if (s == NULL || (n = strlen(s)) == 0 || n > ACME_MAX_NONCE)
		return 0;
	/* RFC 8555 §6.5.1: base64url. */
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == n;
}

/* Only the members in allowed (NULL-terminated) appear. */
static int
only_members(json_t *hdr, const char *const *allowed)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(hdr, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return 0;
	}
	return 1;
}

/* Is j (JSON value, or bytes) the account key's JWK? */
static int
is_account_jwk(const struct acme_sign_rules *r, json_t *j)
{
	json_t	*want;
	int	 eq;

	if (r->account_jwk == NULL || j == NULL ||
	    (want = json_loads(r->account_jwk, 0, NULL)) == NULL)
		return 0;
	eq = json_is_object(j) && json_equal(want, j);
	json_decref(want);
	return eq;
}

enum acme_sign_verdict
acme_sign_check(const struct acme_sign_rules *r, const char *input,
    size_t len)
{
	static const char *const members[] = { "alg", "jwk", "kid", "nonce",
	    "url", NULL };
	struct parsed		 p;
	json_t			*jwk, *kid;
	const char		*alg;
	enum acme_sign_verdict	 v;

	if (split(input, len, &p) != 0)
		return ACME_SIGN_DENY_FORMAT;
	jwk = json_object_get(p.hdr, "jwk");
	kid = json_object_get(p.hdr, "kid");
	alg = json_string_value(json_object_get(p.hdr, "alg"));
	if (!only_members(p.hdr, members))
		v = ACME_SIGN_DENY_HEADER;
	else if (alg == NULL || r->alg == NULL || strcmp(alg, r->alg) != 0)
		v = ACME_SIGN_DENY_ALG;
	else if (!nonce_ok(json_object_get(p.hdr, "nonce")))
		v = ACME_SIGN_DENY_NONCE;
	else if (!under_prefix(r, json_object_get(p.hdr, "url")))
		v = ACME_SIGN_DENY_URL;
	else if ((jwk == NULL) == (kid == NULL))
		v = ACME_SIGN_DENY_KEY;
	else if (jwk != NULL && !is_account_jwk(r, jwk))
		v = ACME_SIGN_DENY_KEY;
	else if (kid != NULL && !under_prefix(r, kid))
		v = ACME_SIGN_DENY_URL;
	else
		v = ACME_SIGN_OK;
	parsed_free(&p);
	return v;
}

enum acme_sign_verdict
acme_eab_check(const struct acme_sign_rules *r, const char *input,
    size_t len)
{
	static const char *const members[] = { "alg", "kid", "url", NULL };
	struct parsed		 p;
	json_t			*payload = NULL;
	const char		*alg, *kid;
	enum acme_sign_verdict	 v;

	if (split(input, len, &p) != 0)
		return ACME_SIGN_DENY_FORMAT;
	alg = json_string_value(json_object_get(p.hdr, "alg"));
	kid = json_string_value(json_object_get(p.hdr, "kid"));
	if (p.plen > 0)
		payload = json_loadb((const char *)p.payload, p.plen,
		    JSON_REJECT_DUPLICATES, NULL);
	if (json_object_get(p.hdr, "nonce") != NULL)
		v = ACME_SIGN_DENY_NONCE;
	else if (!only_members(p.hdr, members))
		v = ACME_SIGN_DENY_HEADER;
	else if (alg == NULL || strcmp(alg, "HS256") != 0)
		v = ACME_SIGN_DENY_ALG;
	else if (!under_prefix(r, json_object_get(p.hdr, "url")))
		v = ACME_SIGN_DENY_URL;
	else if (r->eab_kid == NULL || kid == NULL ||
	    strcmp(kid, r->eab_kid) != 0 || !is_account_jwk(r, payload))
		v = ACME_SIGN_DENY_KEY;
	else
		v = ACME_SIGN_OK;
	json_decref(payload);
	parsed_free(&p);
	return v;
}

const char *
acme_sign_verdict_name(enum acme_sign_verdict v)
{
	static const char *const names[ACME_SIGN_VERDICT_MAX] = {
		"granted", "format", "alg", "url", "nonce", "key", "header",
	};

	return (unsigned)v < ACME_SIGN_VERDICT_MAX ? names[v] : "unknown";
}
