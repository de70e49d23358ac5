/*
 * san.c - SAN syntax, normal form and pattern matching.
 *
 * The rules refuse what could make a name mean two things to two
 * readers (a CA, a TLS client, this policy): trailing dots, mixed-case
 * tricks (compared lowercased), UTF-8 lookalikes, IPs spelled as DNS
 * names, wildcards anywhere but a whole leftmost label.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "san.h"

const char *
san_prefix(enum san_type t)
{
	switch (t) {
	case SAN_DNS:	return "dns:";
	case SAN_IP:	return "ip:";
	case SAN_EMAIL:	return "email:";
	}
	return "?:";
}

static int
looks_like_ip(const char *s)
{
	unsigned char	buf[16];
	char		tmp[SAN_MAX_VALUE + 1];
	size_t		n = strlen(s);

	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return 1;
	/* "10.0.0.1." or "[::1]" are IP addresses wearing a disguise too. */
	if (n > 0 && n < sizeof(tmp) && s[n - 1] == '.') {
		memcpy(tmp, s, n - 1);
		tmp[n - 1] = '\0';
		return inet_pton(AF_INET, tmp, buf) == 1;
	}
	/* All-numeric labels (e.g. "10.1") read as IPv4 to some parsers. */
	return strspn(s, "0123456789.") == n;
}

int
san_dns_check(const char *name, char *out, size_t outlen, int *wildcard,
    char *err, size_t errlen)
{
	size_t	n = strlen(name), label = 0, labels = 1;
	size_t	start = 0;

	*wildcard = 0;
	if (n == 0 || n > 253 || n >= outlen) {
		snprintf(err, errlen, "DNS name must be 1 to 253 characters");
		return -1;
	}
	if (name[n - 1] == '.') {
		snprintf(err, errlen, "DNS name with a trailing dot");
		return -1;
	}
	if (looks_like_ip(name)) {
		snprintf(err, errlen, "an IP address given as a DNS name");
		return -1;
	}
	if (strncmp(name, "*.", 2) == 0) {
		*wildcard = 1;
		start = 2;
		out[0] = '*';
		out[1] = '.';
	}
	for (size_t i = start; i <= n; i++) {
		char c = name[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || name[i - 1] == '-') {
				snprintf(err, errlen, "bad DNS label (empty, longer "
				    "than 63, or ending in a hyphen)");
				return -1;
			}
			if (c == '.')
				labels++;
			label = 0;
			out[i] = c;
			continue;
		}
		if ((unsigned char)c >= 0x80) {
			snprintf(err, errlen, "non-ASCII DNS name; use its "
			    "xn-- (punycode) form");
			return -1;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0))) {
			snprintf(err, errlen, "DNS names hold letters, digits "
			    "and inner hyphens only%s", c == '*' ?
			    " (a wildcard must be the whole leftmost label)" :
			    "");
			return -1;
		}
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		label++;
	}
	if (labels < 2) {
		snprintf(err, errlen, "DNS name needs at least two labels");
		return -1;
	}
	return 0;
}

static int
ip_normal(const char *s, char *out, size_t outlen)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) == 1)
		return inet_ntop(AF_INET, buf, out, (socklen_t)outlen) ? 0 : -1;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return inet_ntop(AF_INET6, buf, out, (socklen_t)outlen) ? 0 : -1;
	return -1;
}

static int
email_normal(const char *s, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char	*at = strchr(s, '@');
	size_t		 local;
	int		 wc;
	char		 dom[SAN_MAX_VALUE + 1];

	if (at == NULL || strchr(at + 1, '@') != NULL || at == s ||
	    strlen(s) > 254 || strlen(s) >= outlen) {
		snprintf(err, errlen, "e-mail address must be LOCAL@DOMAIN");
		return -1;
	}
	local = (size_t)(at - s);
	for (size_t i = 0; i < local; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' ||
		    s[i] == '\\' || s[i] == ',') {
			snprintf(err, errlen, "e-mail local part must be "
			    "printable ASCII without spaces or quotes");
			return -1;
		}
	}
	if (san_dns_check(at + 1, dom, sizeof(dom), &wc, err, errlen) == -1)
		return -1;
	if (wc) {
		snprintf(err, errlen, "wildcard in an e-mail domain");
		return -1;
	}
	memcpy(out, s, local + 1);
	memcpy(out + local + 1, dom, strlen(dom) + 1);
	return 0;
}

int
san_make(enum san_type t, const char *v, struct san *s, char *err,
    size_t errlen)
{
	int wc;

	memset(s, 0, sizeof(*s));
	s->type = t;
	switch (t) {
	case SAN_DNS:
		return san_dns_check(v, s->value, sizeof(s->value), &wc, err,
		    errlen);
	case SAN_IP:
		if (ip_normal(v, s->value, sizeof(s->value)) == -1) {
			snprintf(err, errlen, "not an IPv4 or IPv6 address");
			return -1;
		}
		return 0;
	case SAN_EMAIL:
		return email_normal(v, s->value, sizeof(s->value), err, errlen);
	}
	snprintf(err, errlen, "unknown SAN type");
	return -1;
}

int
san_parse(const char *typed, struct san *s, char *err, size_t errlen)
{
	if (strncmp(typed, "dns:", 4) == 0)
		return san_make(SAN_DNS, typed + 4, s, err, errlen);
	if (strncmp(typed, "ip:", 3) == 0)
		return san_make(SAN_IP, typed + 3, s, err, errlen);
	if (strncmp(typed, "email:", 6) == 0)
		return san_make(SAN_EMAIL, typed + 6, s, err, errlen);
	snprintf(err, errlen, "a SAN is dns:NAME, ip:ADDRESS or email:ADDRESS");
	return -1;
}

int
san_equal(const struct san *a, const struct san *b)
{
	return a->type == b->type && strcmp(a->value, b->value) == 0;
}

int
san_dns_match(const char *pattern, const char *name)
{
	const char *dot;

	if (strcmp(pattern, name) == 0)
		return 1;
	/* A requested wildcard needs the identical pattern (above). */
	if (strncmp(pattern, "*.", 2) != 0 || strncmp(name, "*.", 2) == 0)
		return 0;
	/* Exactly one label in place of the "*". */
	if ((dot = strchr(name, '.')) == NULL || dot == name)
		return 0;
	return strcmp(dot + 1, pattern + 2) == 0;
}

/* "10.0.0.0/8", "2001:db8::/32" or a single address. */
int
san_ip_match(const char *pattern, const char *addr)
{
	unsigned char	p[16], a[16];
	char		base[64];
	const char	*slash = strchr(pattern, '/');
	int		fam, bits, maxbits;
	size_t		n;
	char		*end;

	n = slash ? (size_t)(slash - pattern) : strlen(pattern);
	if (n >= sizeof(base))
		return 0;
	memcpy(base, pattern, n);
	base[n] = '\0';
	if (inet_pton(AF_INET, base, p) == 1)
		fam = AF_INET, maxbits = 32;
	else if (inet_pton(AF_INET6, base, p) == 1)
		fam = AF_INET6, maxbits = 128;
	else
		return 0;
	/* v4-mapped IPv6 addresses are IPv6 here: no v4 range covers them. */
	if (inet_pton(fam, addr, a) != 1)
		return 0;
	bits = maxbits;
	if (slash != NULL) {
		long v = strtol(slash + 1, &end, 10);

		if (*end != '\0' || v < 0 || v > maxbits)
			return 0;
		bits = (int)v;
	}
	for (int i = 0; i < bits; i++) {
		int byte = i / 8, mask = 0x80 >> (i % 8);

		if ((p[byte] & mask) != (a[byte] & mask))
			return 0;
	}
	return 1;
}

int
san_email_match(const char *pattern, const char *addr)
{
	const char *at;

	if (strcmp(pattern, addr) == 0)
		return 1;
	if (strncmp(pattern, "*@", 2) != 0 || (at = strchr(addr, '@')) == NULL)
		return 0;
	return strcmp(at + 1, pattern + 2) == 0;
}
