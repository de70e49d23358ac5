/*
 * acme_sign_policy.c - see acme_sign_policy.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme_jws.h"
#include "acme_sign_policy.h"
#include "b64url.h"
#include "ipc.h"

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

/* The protected header of an account-key JWS. */
static enum acme_sign_verdict
form(const struct acme_sign_rules *r, const struct parsed *p)
{
	static const char *const members[] = { "alg", "jwk", "kid", "nonce",
	    "url", NULL };
	json_t		*jwk = json_object_get(p->hdr, "jwk");
	json_t		*kid = json_object_get(p->hdr, "kid");
	const char	*alg = json_string_value(json_object_get(p->hdr, "alg"));

	if (!only_members(p->hdr, members))
		return ACME_SIGN_DENY_HEADER;
	if (alg == NULL || r->alg == NULL || strcmp(alg, r->alg) != 0)
		return ACME_SIGN_DENY_ALG;
	if (!nonce_ok(json_object_get(p->hdr, "nonce")))
		return ACME_SIGN_DENY_NONCE;
	if (!under_prefix(r, json_object_get(p->hdr, "url")))
		return ACME_SIGN_DENY_URL;
	if ((jwk == NULL) == (kid == NULL))
		return ACME_SIGN_DENY_KEY;
	if (jwk != NULL && !is_account_jwk(r, jwk))
		return ACME_SIGN_DENY_KEY;
	if (kid != NULL && !under_prefix(r, kid))
		return ACME_SIGN_DENY_URL;
	return ACME_SIGN_OK;
}

enum acme_sign_verdict
acme_sign_check(const struct acme_sign_rules *r, const char *input,
    size_t len)
{
	struct parsed		 p;
	enum acme_sign_verdict	 v;

	if (split(input, len, &p) != 0)
		return ACME_SIGN_DENY_FORMAT;
	v = form(r, &p);
	parsed_free(&p);
	return v;
}

/* An EAB signing input; want_url, if set, is the url it must name. */
static enum acme_sign_verdict
eab_verdict(const struct acme_sign_rules *r, const char *input, size_t len,
    const char *want_url)
{
	static const char *const members[] = { "alg", "kid", "url", NULL };
	struct parsed		 p;
	json_t			*payload = NULL;
	const char		*alg, *kid, *url;
	enum acme_sign_verdict	 v;

	if (split(input, len, &p) != 0)
		return ACME_SIGN_DENY_FORMAT;
	alg = json_string_value(json_object_get(p.hdr, "alg"));
	kid = json_string_value(json_object_get(p.hdr, "kid"));
	url = json_string_value(json_object_get(p.hdr, "url"));
	if (p.plen > 0)
		payload = json_loadb((const char *)p.payload, p.plen,
		    JSON_REJECT_DUPLICATES, NULL);
	if (json_object_get(p.hdr, "nonce") != NULL)
		v = ACME_SIGN_DENY_NONCE;
	else if (!only_members(p.hdr, members))
		v = ACME_SIGN_DENY_HEADER;
	else if (alg == NULL || strcmp(alg, "HS256") != 0)
		v = ACME_SIGN_DENY_ALG;
	else if (!under_prefix(r, json_object_get(p.hdr, "url")) ||
	    (want_url != NULL && strcmp(url, want_url) != 0))
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

enum acme_sign_verdict
acme_eab_check(const struct acme_sign_rules *r, const char *input,
    size_t len)
{
	return eab_verdict(r, input, len, NULL);
}

/* ---- what the payload means ------------------------------------------ */

int
acme_op_allowed(unsigned op, uint8_t action)
{
	switch (action) {
	case CA_ENROLL:
		return op == ACME_OP_NEW_ACCOUNT || op == ACME_OP_NEW_ORDER ||
		    op == ACME_OP_FETCH || op == ACME_OP_CHALLENGE ||
		    op == ACME_OP_FINALIZE;
	case CA_LOOKUP:
		/* A pending order picks up where it was: no new order. */
		return op == ACME_OP_NEW_ACCOUNT || op == ACME_OP_FETCH ||
		    op == ACME_OP_CHALLENGE || op == ACME_OP_FINALIZE;
	case CA_REVOKE:
		return op == ACME_OP_NEW_ACCOUNT || op == ACME_OP_REVOKE;
	default:
		/* Validation reads the directory: it signs nothing. */
		return 0;
	}
}

const char *
acme_op_name(unsigned op)
{
	static const char *const names[ACME_OP_MAX] = { "?", "new-account",
	    "new-order", "fetch", "challenge", "finalize", "revoke" };

	return op < ACME_OP_MAX ? names[op] : "?";
}

/* The payload as a JSON object of only these members, or NULL. */
static json_t *
payload_object(const struct parsed *p, const char *const *members)
{
	json_t *o;

	if (p->plen == 0 || (o = json_loadb((const char *)p->payload, p->plen,
	    JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return NULL;
	if (!json_is_object(o) || !only_members(o, members)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Does the base64url string v decode to exactly der? */
static int
b64_is(json_t *v, const uint8_t *der, size_t len)
{
	const char	*s = json_string_value(v);
	uint8_t		*buf;
	int		 n, eq;

	if (s == NULL || der == NULL || len == 0 || len > MAX_PAYLOAD ||
	    strlen(s) > MAX_PAYLOAD / 3 * 4 + 4)
		return 0;
	buf = malloc(MAX_PAYLOAD);
	n = buf == NULL ? -1 : b64url_decode(s, strlen(s), buf, MAX_PAYLOAD);
	eq = n >= 0 && (size_t)n == len && memcmp(buf, der, len) == 0;
	free(buf);
	return eq;
}

/* The configured contacts, in order, as the connector lists them. */
static int
contacts_are(json_t *v, const char *contact)
{
	char	 list[IPC_MAX_STR + 1], *tok, *save = NULL;
	size_t	 i = 0;

	if (contact == NULL || contact[0] == '\0')
		return v == NULL;
	if (!json_is_array(v) || strlen(contact) >= sizeof(list))
		return 0;
	snprintf(list, sizeof(list), "%s", contact);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save), i++) {
		const char *s = json_string_value(json_array_get(v, i));

		if (s == NULL || strcmp(s, tok) != 0)
			return 0;
	}
	return i == json_array_size(v);
}

/* The EAB object inside newAccount: the binding of our key, for url. */
static int
eab_is_ours(const struct acme_sign_rules *r, json_t *o, const char *url)
{
	static const char *const members[] = { "protected", "payload",
	    "signature", NULL };
	const char	*ph = json_string_value(json_object_get(o, "protected"));
	const char	*pl = json_string_value(json_object_get(o, "payload"));
	const char	*sig = json_string_value(json_object_get(o, "signature"));
	char		*in;
	size_t		 n;
	int		 ok;

	if (!json_is_object(o) || !only_members(o, members) || ph == NULL ||
	    pl == NULL || sig == NULL || strlen(sig) != 43 ||
	    strspn(sig, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") != 43 || (n = strlen(ph) + strlen(pl) + 2) >
	    ACME_SIGN_MAX_INPUT)
		return 0;
	if ((in = malloc(n)) == NULL)
		return 0;
	memcpy(in, ph, strlen(ph));
	in[strlen(ph)] = '.';
	memcpy(in + strlen(ph) + 1, pl, strlen(pl) + 1);
	ok = eab_verdict(r, in, n - 1, url) == ACME_SIGN_OK;
	free(in);
	return ok;
}

static int
new_account_ok(const struct acme_sign_rules *r, const struct parsed *p,
    const char *url)
{
	static const char *const find[] = { "onlyReturnExisting", NULL };
	static const char *const create[] = { "termsOfServiceAgreed",
	    "contact", "externalAccountBinding", NULL };
	json_t	*o, *eab;
	int	 ok = 0;

	if (json_object_get(p->hdr, "jwk") == NULL)
		return 0;
	if ((o = payload_object(p, find)) != NULL) {
		ok = json_object_size(o) == 1 &&
		    json_is_true(json_object_get(o, "onlyReturnExisting"));
		json_decref(o);
		return ok;
	}
	if ((o = payload_object(p, create)) == NULL)
		return 0;
	eab = json_object_get(o, "externalAccountBinding");
	ok = json_is_true(json_object_get(o, "termsOfServiceAgreed")) &&
	    contacts_are(json_object_get(o, "contact"), r->contact) &&
	    (r->eab_kid == NULL ? eab == NULL : eab_is_ours(r, eab, url));
	json_decref(o);
	return ok;
}

/* {"identifiers": exactly the order's names, in any order, once each}. */
static int
new_order_ok(const struct parsed *p, const char *sans_json)
{
	static const char *const members[] = { "identifiers", NULL };
	static const char *const ident[] = { "type", "value", NULL };
	json_t	*o = payload_object(p, members), *ids, *sans = NULL, *v;
	uint8_t	 used[ACME_SIGN_MAX_NAMES];
	size_t	 i, k, n;
	int	 ok = 0;

	if (o == NULL || sans_json == NULL)
		goto out;
	ids = json_object_get(o, "identifiers");
	sans = json_loads(sans_json, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(ids) || !json_is_array(sans) ||
	    (n = json_array_size(sans)) == 0 || n > ACME_SIGN_MAX_NAMES ||
	    json_array_size(ids) != n)
		goto out;
	memset(used, 0, sizeof(used));
	json_array_foreach(ids, i, v) {
		const char *t = json_string_value(json_object_get(v, "type"));
		const char *val = json_string_value(json_object_get(v, "value"));
		char	    want[ACME_MAX_URL];

		if (!json_is_object(v) || !only_members(v, ident) ||
		    t == NULL || val == NULL || (strcmp(t, "dns") != 0 &&
		    strcmp(t, "ip") != 0))
			goto out;
		snprintf(want, sizeof(want), "%s:%s", t, val);
		for (k = 0; k < n; k++)
			if (!used[k] && json_string_value(json_array_get(sans,
			    k)) != NULL && strcmp(json_string_value(
			    json_array_get(sans, k)), want) == 0)
				break;
		if (k == n)
			goto out;
		used[k] = 1;
	}
	ok = 1;
 out:
	json_decref(sans);
	json_decref(o);
	return ok;
}

static int
finalize_ok(const struct parsed *p, const struct acme_job_facts *f)
{
	static const char *const members[] = { "csr", NULL };
	json_t	*o = payload_object(p, members);
	int	 ok;

	ok = o != NULL && b64_is(json_object_get(o, "csr"), f->csr_der,
	    f->csr_len);
	json_decref(o);
	return ok;
}

static int
revoke_ok(const struct parsed *p, const struct acme_job_facts *f)
{
	static const char *const members[] = { "certificate", "reason", NULL };
	json_t	*o = payload_object(p, members), *reason;
	int	 ok;

	reason = json_object_get(o, "reason");
	ok = o != NULL && json_object_size(o) == 2 && json_is_integer(reason) &&
	    json_integer_value(reason) == (json_int_t)f->reason &&
	    b64_is(json_object_get(o, "certificate"), f->cert_der, f->cert_len);
	json_decref(o);
	return ok;
}

enum acme_sign_verdict
acme_sign_op_check(const struct acme_sign_rules *r,
    const struct acme_job_facts *f, unsigned op, const char *input,
    size_t len, char *url, size_t urllen, char *kid, size_t kidlen)
{
	struct parsed		 p;
	enum acme_sign_verdict	 v;
	const char		*u, *k;
	int			 ok;

	if (url != NULL && urllen > 0)
		url[0] = '\0';
	if (kid != NULL && kidlen > 0)
		kid[0] = '\0';
	if (split(input, len, &p) != 0)
		return ACME_SIGN_DENY_FORMAT;
	if ((v = form(r, &p)) != ACME_SIGN_OK)
		goto out;
	if (f == NULL || !acme_op_allowed(op, f->action)) {
		v = ACME_SIGN_DENY_OP;
		goto out;
	}
	u = json_string_value(json_object_get(p.hdr, "url"));
	/* Only a new account goes by the key; everything else by kid. */
	if (op != ACME_OP_NEW_ACCOUNT && json_object_get(p.hdr, "kid") == NULL) {
		v = ACME_SIGN_DENY_KEY;
		goto out;
	}
	switch (op) {
	case ACME_OP_NEW_ACCOUNT:	ok = new_account_ok(r, &p, u); break;
	case ACME_OP_NEW_ORDER:		ok = new_order_ok(&p, f->sans_json); break;
	case ACME_OP_FETCH:		ok = p.plen == 0; break;
	case ACME_OP_CHALLENGE:
		ok = p.plen == 2 && memcmp(p.payload, "{}", 2) == 0;
		break;
	case ACME_OP_FINALIZE:		ok = finalize_ok(&p, f); break;
	case ACME_OP_REVOKE:		ok = revoke_ok(&p, f); break;
	default:			ok = 0; break;
	}
	v = ok ? ACME_SIGN_OK : ACME_SIGN_DENY_PAYLOAD;
	if (v == ACME_SIGN_OK && url != NULL && urllen > 0)
		snprintf(url, urllen, "%s", u);
	k = json_string_value(json_object_get(p.hdr, "kid"));
	if (v == ACME_SIGN_OK && k != NULL && kid != NULL && kidlen > 0)
		snprintf(kid, kidlen, "%s", k);
 out:
	parsed_free(&p);
	return v;
}

const char *
acme_sign_verdict_name(enum acme_sign_verdict v)
{
	static const char *const names[ACME_SIGN_VERDICT_MAX] = {
		"granted", "format", "alg", "url", "nonce", "key", "header",
		"op", "payload",
	};

	return (unsigned)v < ACME_SIGN_VERDICT_MAX ? names[v] : "unknown";
}
