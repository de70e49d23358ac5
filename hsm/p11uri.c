/*
 * p11uri.c - RFC 7512 parsing for key selection; see p11uri.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11uri.h"
#include "util.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3986 unreserved plus the pchar extras RFC 7512 allows unescaped. */
static int
plain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("-._~:[]@!$'()*+,=&", c) != NULL;
}

/*
 * Percent-decodes s[0..n) into out (room for n bytes). Returns the
 * decoded length or -1 on a bad escape or a disallowed character.
 */
static long
pct_decode(const char *s, size_t n, unsigned char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (n - i < 3 || (hi = hexval(s[i + 1])) == -1 ||
			    (lo = hexval(s[i + 2])) == -1)
				return -1;
			out[o++] = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (plain_char(s[i]) && s[i] != '&') {
			out[o++] = (unsigned char)s[i];
		} else
			return -1;
	}
	return (long)o;
}

/* Decoded text values must be printable: they end up in logs. */
static char *
decode_text(const char *s, size_t n)
{
	unsigned char	*buf = xmalloc(n + 1);
	long		 len = pct_decode(s, n, buf);

	if (len < 0) {
		free(buf);
		return NULL;
	}
	for (long i = 0; i < len; i++) {
		if (buf[i] < 0x20 || buf[i] > 0x7e) {
			free(buf);
			return NULL;
		}
	}
	buf[len] = '\0';
	return (char *)buf;
}

static int
set_text(char **dst, const char *v, size_t vlen, const char *name,
    char *err, size_t errlen)
{
	if (*dst != NULL) {
		snprintf(err, errlen, "pkcs11 URI: attribute '%s' repeated", name);
		return -1;
	}
	if (vlen == 0 || (*dst = decode_text(v, vlen)) == NULL) {
		snprintf(err, errlen, "pkcs11 URI: bad value for '%s'", name);
		return -1;
	}
	return 0;
}

static int
set_attr(struct p11uri *u, const char *a, size_t alen, const char *v,
    size_t vlen, char *err, size_t errlen)
{
	char name[32];

	if (alen == 0 || alen >= sizeof(name)) {
		snprintf(err, errlen, "pkcs11 URI: malformed attribute");
		return -1;
	}
	memcpy(name, a, alen);
	name[alen] = '\0';
	if (strcmp(name, "token") == 0)
		return set_text(&u->token, v, vlen, name, err, errlen);
	if (strcmp(name, "manufacturer") == 0)
		return set_text(&u->manufacturer, v, vlen, name, err, errlen);
	if (strcmp(name, "serial") == 0)
		return set_text(&u->serial, v, vlen, name, err, errlen);
	if (strcmp(name, "model") == 0)
		return set_text(&u->model, v, vlen, name, err, errlen);
	if (strcmp(name, "object") == 0)
		return set_text(&u->object, v, vlen, name, err, errlen);
	if (strcmp(name, "id") == 0) {
		unsigned char tmp[P11URI_MAX_LEN];
		long n;

		if (u->id_len != 0 || vlen == 0 || vlen > sizeof(tmp) ||
		    (n = pct_decode(v, vlen, tmp)) <= 0 || n > P11URI_MAX_ID) {
			snprintf(err, errlen, "pkcs11 URI: bad or repeated 'id'");
			return -1;
		}
		memcpy(u->id, tmp, (size_t)n);
		u->id_len = (size_t)n;
		return 0;
	}
	if (strcmp(name, "type") == 0) {
		if (vlen != 7 || strncmp(v, "private", 7) != 0) {
			snprintf(err, errlen,
			    "pkcs11 URI: type must be 'private' (the key)");
			return -1;
		}
		return 0;
	}
	if (strncmp(name, "slot-", 5) == 0) {
		snprintf(err, errlen, "pkcs11 URI: '%s' not accepted: select "
		    "the token by label or serial, slot numbers change", name);
		return -1;
	}
	if (strncmp(name, "pin-", 4) == 0) {
		snprintf(err, errlen, "pkcs11 URI: '%s' not accepted: the PIN "
		    "comes from pin_file only", name);
		return -1;
	}
	if (strncmp(name, "module-", 7) == 0) {
		snprintf(err, errlen, "pkcs11 URI: '%s' not accepted: the "
		    "module comes from the config", name);
		return -1;
	}
	snprintf(err, errlen, "pkcs11 URI: unknown attribute '%s'", name);
	return -1;
}

/* Splits s[0..n) on sep and feeds each "name=value" to set_attr. */
static int
parse_list(struct p11uri *u, const char *s, size_t n, char sep, char *err,
    size_t errlen)
{
	size_t i = 0;

	while (i < n) {
		const char *el = s + i, *end = memchr(el, sep, n - i);
		size_t elen = end ? (size_t)(end - el) : n - i;
		const char *eq = memchr(el, '=', elen);

		if (eq == NULL) {
			snprintf(err, errlen, "pkcs11 URI: attribute without '='");
			return -1;
		}
		if (set_attr(u, el, (size_t)(eq - el), eq + 1,
		    elen - (size_t)(eq - el) - 1, err, errlen) == -1)
			return -1;
		i += elen + 1;
		if (end != NULL && i == n) {
			snprintf(err, errlen, "pkcs11 URI: trailing '%c'", sep);
			return -1;
		}
	}
	return 0;
}

int
p11uri_parse(const char *uri, struct p11uri *u, char *err, size_t errlen)
{
	size_t		 len;
	const char	*path, *q;

	memset(u, 0, sizeof(*u));
	len = strnlen(uri, P11URI_MAX_LEN + 1);
	if (len > P11URI_MAX_LEN) {
		snprintf(err, errlen, "pkcs11 URI longer than %d bytes",
		    P11URI_MAX_LEN);
		return -1;
	}
	if (strncmp(uri, "pkcs11:", 7) != 0) {
		snprintf(err, errlen, "not a pkcs11: URI");
		return -1;
	}
	path = uri + 7;
	q = strchr(path, '?');
	if (parse_list(u, path, q ? (size_t)(q - path) : strlen(path), ';',
	    err, errlen) == -1)
		goto fail;
	if (q != NULL && parse_list(u, q + 1, strlen(q + 1), '&', err,
	    errlen) == -1)
		goto fail;
	if (u->token == NULL && u->serial == NULL) {
		snprintf(err, errlen,
		    "pkcs11 URI: name the token with 'token=' or 'serial='");
		goto fail;
	}
	if (u->object == NULL && u->id_len == 0) {
		snprintf(err, errlen,
		    "pkcs11 URI: name the key with 'object=' or 'id='");
		goto fail;
	}
	return 0;
 fail:
	p11uri_free(u);
	return -1;
}

void
p11uri_free(struct p11uri *u)
{
	free(u->token);
	free(u->manufacturer);
	free(u->serial);
	free(u->model);
	free(u->object);
	memset(u, 0, sizeof(*u));
}
