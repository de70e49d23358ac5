/*
 * policy_parse.c - the policy file, parsed strictly (policy/POLICY.md).
 *
 * Same habits as the configuration: every line is checked, unknown
 * sections and keys, repeats and bad values are errors naming
 * "FILE:LINE", and nothing is defaulted that could widen access. Names
 * of users and groups are resolved once, at load (and reload).
 */
#include <arpa/inet.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_impl.h"
#include "util.h"

struct pparser {
	const char	*name;
	size_t		 lineno;
	char		*err;
	size_t		 errlen;
	struct policy	*pol;
	struct rule	*rule;		/* current [rule], or NULL */
	int		 in_admins;
	int		 seen_admins;
	uint32_t	 seen;		/* keys set in the current section */
	size_t		 section_line;	/* where the current section began */
};

static int	pfail(struct pparser *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
pfail(struct pparser *p, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->lineno > 0)
		snprintf(p->err, p->errlen, "%s:%zu: %s", p->name, p->lineno,
		    msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->name, msg);
	return -1;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Splits "a, b,c" in place; each item trimmed and non-empty. */
static int
split(struct pparser *p, const char *key, char *v, char **items, size_t *n)
{
	char *tok = v, *comma;

	*n = 0;
	for (;;) {
		if ((comma = strchr(tok, ',')) != NULL)
			*comma = '\0';
		tok = trim(tok);
		if (*tok == '\0')
			return pfail(p, "%s: empty item in the list", key);
		if (*n >= POLICY_MAX_LIST)
			return pfail(p, "%s: more than %d items", key,
			    POLICY_MAX_LIST);
		for (size_t i = 0; i < *n; i++)
			if (strcmp(items[i], tok) == 0)
				return pfail(p, "%s: \"%.64s\" listed twice",
				    key, tok);
		items[(*n)++] = tok;
		if (comma == NULL)
			return 0;
		tok = comma + 1;
	}
}

static int
parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if ((n = n * 10 + (uint64_t)(*s - '0')) > max)
			return -1;
	}
	if (n < min)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* "user:NAME", "group:NAME", "uid:N", "gid:N". */
static int
parse_principal(struct pparser *p, const char *key, const char *s,
    struct principal *out, int groups_users_only)
{
	char		 buf[4096];
	struct passwd	 pw, *pwp = NULL;
	struct group	 gr, *grp = NULL;
	const char	*v = strchr(s, ':');

	if (v == NULL)
		return pfail(p, "%s: \"%.64s\" must be user:NAME, group:NAME, "
		    "uid:N or gid:N", key, s);
	v++;
	if (strncmp(s, "user:", 5) == 0) {
		if (getpwnam_r(v, &pw, buf, sizeof(buf), &pwp) != 0 ||
		    pwp == NULL)
			return pfail(p, "%s: no user \"%.64s\"", key, v);
		*out = (struct principal){ P_UID, (uint32_t)pw.pw_uid };
	} else if (strncmp(s, "group:", 6) == 0) {
		if (getgrnam_r(v, &gr, buf, sizeof(buf), &grp) != 0 ||
		    grp == NULL)
			return pfail(p, "%s: no group \"%.64s\"", key, v);
		*out = (struct principal){ P_GID, (uint32_t)gr.gr_gid };
	} else if (!groups_users_only && strncmp(s, "uid:", 4) == 0) {
		if (parse_u32(v, 0, 4294967294U, &out->id) == -1)
			return pfail(p, "%s: bad uid \"%.64s\"", key, v);
		out->kind = P_UID;
	} else if (!groups_users_only && strncmp(s, "gid:", 4) == 0) {
		if (parse_u32(v, 0, 4294967294U, &out->id) == -1)
			return pfail(p, "%s: bad gid \"%.64s\"", key, v);
		out->kind = P_GID;
	} else
		return pfail(p, "%s: \"%.64s\" must be %s", key, s,
		    groups_users_only ? "user:NAME or group:NAME" :
		    "user:NAME, group:NAME, uid:N or gid:N");
	return 0;
}

static int
parse_principals(struct pparser *p, const char *key, char *v,
    struct principal *out, size_t *n, int groups_users_only)
{
	char	*items[POLICY_MAX_LIST];
	size_t	 k;

	if (split(p, key, v, items, &k) == -1)
		return -1;
	for (size_t i = 0; i < k; i++)
		if (parse_principal(p, key, items[i], &out[i],
		    groups_users_only) == -1)
			return -1;
	*n = k;
	return 0;
}

/* l->n counts only what is stored, so a failure frees exactly that. */
static int
parse_names(struct pparser *p, const char *key, char *v, struct plist *l)
{
	char	*items[POLICY_MAX_LIST];
	size_t	 n;

	if (split(p, key, v, items, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!name_ok(items[i], POLICY_MAX_NAME))
			return pfail(p, "%s: \"%.64s\" must be [a-z0-9_-]", key,
			    items[i]);
		l->item[l->n++] = xstrdup(items[i]);
	}
	return 0;
}

static int
check_pattern(const char *key, const char *s, char *e, size_t elen)
{
	char	norm[SAN_MAX_VALUE + 1], base[64];
	int	wc;

	if (strcmp(key, "san_dns") == 0) {
		if (san_dns_check(s, norm, sizeof(norm), &wc, e, elen) == -1)
			return -1;
		if (strcmp(norm, s) != 0) {
			snprintf(e, elen, "write patterns in lowercase");
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "san_ip") == 0) {
		const char	*slash = strchr(s, '/');
		unsigned char	 b[16];
		size_t		 n = slash ? (size_t)(slash - s) : strlen(s);
		uint32_t	 bits;
		int		 v6;

		if (n >= sizeof(base))
			goto badip;
		memcpy(base, s, n);
		base[n] = '\0';
		if (inet_pton(AF_INET, base, b) == 1)
			v6 = 0;
		else if (inet_pton(AF_INET6, base, b) == 1)
			v6 = 1;
		else
			goto badip;
		if (slash != NULL && parse_u32(slash + 1, 0, v6 ? 128 : 32,
		    &bits) == -1)
			goto badip;
		return 0;
 badip:
		snprintf(e, elen, "expected an IP address or CIDR range");
		return -1;
	}
	/* san_email: exact, or *@domain */
	{
		struct san	sn;
		char		tmp[SAN_MAX_VALUE + 8];

		snprintf(tmp, sizeof(tmp), "%s", s);
		if (strncmp(s, "*@", 2) == 0)
			tmp[0] = 'x';
		if (san_make(SAN_EMAIL, tmp, &sn, e, elen) == -1)
			return -1;
		return 0;
	}
}

static int
parse_patterns(struct pparser *p, const char *key, char *v, struct plist *l)
{
	char	*items[POLICY_MAX_LIST], e[200];
	size_t	 n;

	if (split(p, key, v, items, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (check_pattern(key, items[i], e, sizeof(e)) == -1)
			return pfail(p, "%s: \"%.64s\": %s", key, items[i], e);
		l->item[l->n++] = xstrdup(items[i]);
	}
	return 0;
}

static int
parse_keys(struct pparser *p, char *v, struct rule *r)
{
	char	*items[POLICY_MAX_LIST];
	size_t	 n;

	if (split(p, "key_types", v, items, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct key_type *k = &r->keys[i];
		uint32_t bits;

		memset(k, 0, sizeof(*k));
		if (strcmp(items[i], "ec:p256") == 0 ||
		    strcmp(items[i], "ec:p384") == 0 ||
		    strcmp(items[i], "ec:p521") == 0) {
			k->type = CSR_KEY_EC;
			snprintf(k->curve, sizeof(k->curve), "%s", items[i] + 3);
		} else if (strncmp(items[i], "rsa:", 4) == 0 &&
		    parse_u32(items[i] + 4, 2048, 16384, &bits) == 0) {
			k->type = CSR_KEY_RSA;
			k->bits = (int)bits;
		} else
			return pfail(p, "key_types: \"%.64s\" must be ec:p256, "
			    "ec:p384, ec:p521 or rsa:BITS (2048 or more)",
			    items[i]);
	}
	r->nkeys = n;
	return 0;
}

static int
parse_rate(struct pparser *p, const char *v, struct rule *r)
{
	static const struct { const char *unit; uint32_t s; } units[] = {
		{ "second", 1 }, { "minute", 60 }, { "hour", 3600 },
		{ "day", 86400 },
	};
	char		 num[16];
	const char	*slash = strchr(v, '/');
	size_t		 n;

	if (slash == NULL || (n = (size_t)(slash - v)) == 0 ||
	    n >= sizeof(num))
		goto bad;
	memcpy(num, v, n);
	num[n] = '\0';
	if (parse_u32(num, 1, 1000000, &r->rate_n) == -1)
		goto bad;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(slash + 1, units[i].unit) == 0) {
			r->rate_per_s = units[i].s;
			return 0;
		}
 bad:
	return pfail(p, "rate: expected N/second, N/minute, N/hour or N/day, "
	    "N from 1 to 1000000");
}

/* Keys of a [rule]; bit i of p->seen marks rule_keys[i] as set. */
static const char *const rule_keys[] = {
	"callers", "connectors", "profiles", "san_dns", "san_ip", "san_email",
	"allow_wildcard", "max_validity_days", "key_types", "rate", "approval",
};

static int
rule_key(struct pparser *p, struct rule *r, int k, char *v)
{
	switch (k) {
	case 0:
		return parse_principals(p, "callers", v, r->callers,
		    &r->ncallers, 0);
	case 1:
		return parse_names(p, "connectors", v, &r->connectors);
	case 2:
		return parse_names(p, "profiles", v, &r->profiles);
	case 3:
		return parse_patterns(p, "san_dns", v, &r->san_dns);
	case 4:
		return parse_patterns(p, "san_ip", v, &r->san_ip);
	case 5:
		return parse_patterns(p, "san_email", v, &r->san_email);
	case 6:
		if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
			r->allow_wildcard = strcmp(v, "yes") == 0;
			return 0;
		}
		return pfail(p, "allow_wildcard: expected yes or no");
	case 7:
		if (parse_u32(v, 1, 825, &r->max_validity) == -1)
			return pfail(p, "max_validity_days: expected a number "
			    "from 1 to 825");
		return 0;
	case 8:
		return parse_keys(p, v, r);
	case 9:
		return parse_rate(p, v, r);
	case 10:
		return parse_principals(p, "approval", v, r->approvers,
		    &r->napprovers, 1);
	}
	return -1;
}

static int
finish_section(struct pparser *p)
{
	static const int required[] = { 0, 1, 2, 7, 8 };
	struct rule *r = p->rule;

	if (r == NULL)
		return 0;
	/* What a section lacks is reported at its header line. */
	p->lineno = p->section_line;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(p->seen & (1U << required[i])))
			return pfail(p, "[rule %s]: %s is required", r->name,
			    rule_keys[required[i]]);
	if (r->san_dns.n == 0 && r->san_ip.n == 0 && r->san_email.n == 0)
		return pfail(p, "[rule %s]: no san_dns, san_ip or san_email: "
		    "the rule could allow nothing", r->name);
	return 0;
}

static int
parse_section(struct pparser *p, char *s)
{
	size_t	n = strlen(s);
	char	*name;

	{
		size_t here = p->lineno;

		if (finish_section(p) == -1)
			return -1;
		p->lineno = here;
		p->section_line = here;
	}
	if (n < 3 || s[n - 1] != ']')
		return pfail(p, "expected \"[admins]\" or \"[rule NAME]\"");
	s[n - 1] = '\0';
	s++;
	p->seen = 0;
	p->rule = NULL;
	p->in_admins = 0;
	if (strcmp(s, "admins") == 0) {
		if (p->seen_admins)
			return pfail(p, "[admins] repeated");
		p->seen_admins = p->in_admins = 1;
		return 0;
	}
	if (strncmp(s, "rule ", 5) != 0)
		return pfail(p, "unknown section [%.64s]; expected [admins] or "
		    "[rule NAME]", s);
	name = s + 5;
	if (!name_ok(name, POLICY_MAX_NAME))
		return pfail(p, "rule name \"%.64s\" must be 1 to %d of "
		    "[a-z0-9_-]", name, POLICY_MAX_NAME);
	for (size_t i = 0; i < p->pol->nrules; i++)
		if (strcmp(p->pol->rules[i].name, name) == 0)
			return pfail(p, "[rule %s] repeated", name);
	if (p->pol->nrules >= POLICY_MAX_RULES)
		return pfail(p, "more than %d rules", POLICY_MAX_RULES);
	p->rule = &p->pol->rules[p->pol->nrules++];
	snprintf(p->rule->name, sizeof(p->rule->name), "%s", name);
	return 0;
}

static int
parse_admins_key(struct pparser *p, const char *key, char *v)
{
	struct policy	*pol = p->pol;
	int		 bit = strcmp(key, "users") == 0 ? 1 :
			    strcmp(key, "groups") == 0 ? 2 : 0;
	char		*items[POLICY_MAX_LIST], pfx[80];
	size_t		 n;

	if (bit == 0)
		return pfail(p, "unknown key \"%.64s\" in [admins]; expected "
		    "users or groups", key);
	if (p->seen & (1U << bit))
		return pfail(p, "%s repeated", key);
	p->seen |= 1U << bit;
	if (split(p, key, v, items, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (pol->nadmins >= POLICY_MAX_LIST)
			return pfail(p, "too many admins");
		snprintf(pfx, sizeof(pfx), "%s:%.64s", bit == 1 ? "user" :
		    "group", items[i]);
		if (parse_principal(p, key, pfx, &pol->admins[pol->nadmins],
		    1) == -1)
			return -1;
		pol->nadmins++;
	}
	return 0;
}

static int
parse_line(struct pparser *p, char *line)
{
	char	*s = trim(line), *eq, *key, *v;

	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[')
		return parse_section(p, s);
	if ((eq = strchr(s, '=')) == NULL)
		return pfail(p, "expected \"key = value\"");
	*eq = '\0';
	key = trim(s);
	v = trim(eq + 1);
	if (*v == '\0')
		return pfail(p, "%.64s: empty value", key);
	if (p->in_admins)
		return parse_admins_key(p, key, v);
	if (p->rule == NULL)
		return pfail(p, "\"%.64s\" outside a section", key);
	for (int k = 0; k < (int)(sizeof(rule_keys) / sizeof(rule_keys[0]));
	    k++) {
		if (strcmp(key, rule_keys[k]) != 0)
			continue;
		if (p->seen & (1U << k))
			return pfail(p, "%s repeated in [rule %s]", key,
			    p->rule->name);
		p->seen |= 1U << k;
		return rule_key(p, p->rule, k, v);
	}
	return pfail(p, "unknown key \"%.64s\" in [rule %s]", key,
	    p->rule->name);
}

static int
check_bytes(struct pparser *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return pfail(p, "control character 0x%02x", c);
		if (c >= 0x80)
			return pfail(p, "non-ASCII byte 0x%02x", c);
	}
	return 0;
}

struct policy *
policy_parse(const char *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct pparser	 p;
	char		 line[POLICY_MAX_LINE + 1];
	size_t		 off = 0;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	p.pol = xcalloc(1, sizeof(*p.pol));
	p.pol->rules = xcalloc(POLICY_MAX_RULES, sizeof(*p.pol->rules));
	if (len > POLICY_MAX_FILE) {
		pfail(&p, "larger than %d KiB", POLICY_MAX_FILE / 1024);
		goto bad;
	}
	while (off < len) {
		const char	*nl = memchr(buf + off, '\n', len - off);
		size_t		 n = nl ? (size_t)(nl - buf - off) : len - off;

		p.lineno++;
		if (n > POLICY_MAX_LINE) {
			pfail(&p, "line longer than %d bytes", POLICY_MAX_LINE);
			goto bad;
		}
		if (check_bytes(&p, buf + off, n) == -1)
			goto bad;
		memcpy(line, buf + off, n);
		line[n] = '\0';
		if (parse_line(&p, line) == -1)
			goto bad;
		off += n + (nl != NULL);
	}
	if (finish_section(&p) == -1)
		goto bad;
	return p.pol;
 bad:
	policy_free(p.pol);
	return NULL;
}

struct policy *
policy_load(const char *path, char *err, size_t errlen)
{
	struct policy	*pol;
	char		*buf;
	size_t		 len;

	if (read_file_capped(path, POLICY_MAX_FILE, &buf, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "larger than 256 KiB" : strerror(errno));
		return NULL;
	}
	pol = policy_parse(buf, len, path, err, errlen);
	free(buf);
	return pol;
}

static void
plist_free(struct plist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->item[i]);
	l->n = 0;
}

void
policy_free(struct policy *pol)
{
	if (pol == NULL)
		return;
	for (size_t i = 0; pol->rules != NULL && i < pol->nrules; i++) {
		struct rule *r = &pol->rules[i];

		plist_free(&r->connectors);
		plist_free(&r->profiles);
		plist_free(&r->san_dns);
		plist_free(&r->san_ip);
		plist_free(&r->san_email);
		free(r->slots);
	}
	free(pol->rules);
	free(pol);
}
