/*
 * config.c - hsmagentd.conf parsing; see config.h and README.md
 * ("Configuration").
 *
 * The parser is strict on purpose: a typo in a key or a value must stop
 * the agent at start rather than leave a default silently in force. It
 * also runs on untrusted bytes under the fuzzer, so it works on a
 * (buffer, length) pair that need not be NUL-terminated and copies one
 * bounded line at a time before looking at it.
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_sign_policy.h"
#include "config.h"
#include "connector_kind.h"
#include "p11uri.h"
#include "scheme.h"
#include "util.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR	"/usr/local/libexec/hsmagent"
#endif

#define CONFIG_MAX_PATH		4096
#define CONFIG_MAX_USER		32
#define CONFIG_MAX_HOST		253	/* longest DNS name */
#define SHOWN_MAX		64	/* value bytes quoted in a message */

_Static_assert(CONFIG_MAX_ACME_PREFIXES == ACME_SIGN_MAX_PREFIXES,
    "the parser keeps as many ACME prefixes as the signer checks");

enum section {
	SEC_GLOBAL = 0,
	SEC_HSM,
	SEC_SIGNING,
	SEC_TLS,
	SEC_PROBE,
	SEC_API,
	SEC_STATE,
	SEC_RENEWAL,
	SEC_CONNECTOR,		/* [connector NAME], repeatable */
	SEC_COUNT
};

static const char *const section_names[SEC_COUNT] = {
	[SEC_GLOBAL] = "global",
	[SEC_HSM] = "hsm",
	[SEC_SIGNING] = "signing",
	[SEC_TLS] = "tls",
	[SEC_PROBE] = "probe",
	[SEC_API] = "api",
	[SEC_STATE] = "state",
	[SEC_RENEWAL] = "renewal",
	[SEC_CONNECTOR] = "connector",
};

enum value_type {
	V_PATH,
	V_LOGLEVEL,
	V_LOGTARGET,
	V_USER,
	V_BOOL,
	V_NUMBER,
	V_SCHEMES,
	V_KEYURI,
	V_URL,
	V_MODE,
	V_GROUP,
	V_NAME,
	V_CAID,
	V_PIN,
	V_PROXY,
	V_AUTH,
	V_LOGIN,
	V_EMAILS,
	V_PREFIXES,
	V_EABKID,
	V_CONTACT,
	V_CHAIN,
	V_LISTEN,
	V_SCHEDULE,
	V_ORIGIN,
};

enum required {
	REQ_NO = 0,
	REQ_ALWAYS,
	REQ_IN_SECTION,		/* required when its section is present */
};

/* Where each key lives in struct config and what it accepts. */
struct key {
	enum section	 section;
	const char	*name;
	enum value_type	 type;
	size_t		 off;		/* offsetof(struct config, ...) */
	uint32_t	 min, max;	/* V_NUMBER only */
	enum required	 required;
};

#define F(field)	offsetof(struct config, field)
#define C(field)	offsetof(struct connector_cfg, field)

static const struct key keys[] = {
	{ SEC_GLOBAL, "log_level", V_LOGLEVEL, F(log_level), 0, 0, REQ_NO },
	{ SEC_GLOBAL, "log_target", V_LOGTARGET, F(log_target), 0, 0, REQ_NO },
	{ SEC_GLOBAL, "shutdown_timeout", V_NUMBER, F(shutdown_timeout_s), 1,
	    600, REQ_NO },
	{ SEC_GLOBAL, "connector_path", V_PATH, F(connector_path), 0, 0,
	    REQ_NO },
	{ SEC_GLOBAL, "child_user", V_USER, F(child_user), 0, 0, REQ_NO },
	{ SEC_GLOBAL, "chroot_dir", V_PATH, F(chroot_dir), 0, 0, REQ_NO },

	{ SEC_HSM, "module", V_PATH, F(hsm_module), 0, 0, REQ_ALWAYS },
	{ SEC_HSM, "key_uri", V_KEYURI, F(hsm_key_uri), 0, 0, REQ_ALWAYS },
	{ SEC_HSM, "pin_file", V_PATH, F(hsm_pin_file), 0, 0, REQ_NO },
	{ SEC_HSM, "certificate", V_PATH, F(hsm_certificate), 0, 0,
	    REQ_ALWAYS },
	{ SEC_HSM, "insecure_allow_extractable_key", V_BOOL,
	    F(hsm_insecure_allow_extractable), 0, 0, REQ_NO },

	{ SEC_SIGNING, "schemes", V_SCHEMES, F(sign_schemes), 0, 0, REQ_NO },
	{ SEC_SIGNING, "rate", V_NUMBER, F(sign_rate), 1, 100000, REQ_NO },
	{ SEC_SIGNING, "burst", V_NUMBER, F(sign_burst), 1, 100000, REQ_NO },
	{ SEC_SIGNING, "reply_timeout_ms", V_NUMBER, F(sign_timeout_ms),
	    100, 60000, REQ_NO },

	{ SEC_TLS, "ca_file", V_PATH, F(tls_ca_file), 0, 0, REQ_ALWAYS },
	{ SEC_TLS, "timeout", V_NUMBER, F(tls_timeout_s), 1, 600, REQ_NO },

	{ SEC_PROBE, "url", V_URL, F(probe_url), 0, 0, REQ_IN_SECTION },
	{ SEC_PROBE, "interval", V_NUMBER, F(probe_interval_s), 0, 86400,
	    REQ_NO },
	{ SEC_PROBE, "allow_tls12", V_BOOL, F(probe_allow_tls12), 0, 0,
	    REQ_NO },

	{ SEC_API, "socket", V_PATH, F(api_socket), 0, 0, REQ_IN_SECTION },
	{ SEC_API, "mode", V_MODE, F(api_mode), 0, 0, REQ_NO },
	{ SEC_API, "group", V_GROUP, F(api_group), 0, 0, REQ_NO },
	{ SEC_API, "max_connections", V_NUMBER, F(api_max_conns), 1, 1024,
	    REQ_NO },
	{ SEC_API, "idle_timeout", V_NUMBER, F(api_idle_s), 1, 3600, REQ_NO },
	{ SEC_API, "uid_rate", V_NUMBER, F(api_uid_rate), 1, 10000, REQ_NO },
	{ SEC_API, "uid_burst", V_NUMBER, F(api_uid_burst), 1, 100000,
	    REQ_NO },
	{ SEC_API, "policy", V_PATH, F(api_policy), 0, 0, REQ_IN_SECTION },

	{ SEC_STATE, "dir", V_PATH, F(state_dir), 0, 0, REQ_IN_SECTION },
	{ SEC_STATE, "audit_log", V_PATH, F(audit_log), 0, 0, REQ_NO },
	/* The transparency log: checkpoints signed by their own key. */
	{ SEC_STATE, "checkpoint_key_uri", V_KEYURI, F(ckpt_key_uri), 0, 0,
	    REQ_NO },
	{ SEC_STATE, "checkpoint_records", V_NUMBER, F(ckpt_records), 1,
	    1000000, REQ_NO },
	{ SEC_STATE, "checkpoint_interval", V_NUMBER, F(ckpt_interval_s), 1,
	    86400, REQ_NO },
	{ SEC_STATE, "checkpoint_origin", V_ORIGIN, F(ckpt_origin), 0, 0,
	    REQ_NO },
	{ SEC_STATE, "checkpoint_previous_key_uri", V_KEYURI,
	    F(ckpt_prev_key_uri), 0, 0, REQ_NO },
	{ SEC_STATE, "checkpoint_dir", V_PATH, F(ckpt_dir), 0, 0, REQ_NO },

	{ SEC_RENEWAL, "window_percent", V_NUMBER, F(renew_window_pct), 1, 90,
	    REQ_NO },
	{ SEC_RENEWAL, "retry_min_seconds", V_NUMBER, F(renew_retry_min_s), 1,
	    86400, REQ_NO },
	{ SEC_RENEWAL, "retry_max_seconds", V_NUMBER, F(renew_retry_max_s), 1,
	    604800, REQ_NO },
	{ SEC_RENEWAL, "client_cert_warn_days", V_NUMBER, F(cert_warn_days), 0,
	    3650, REQ_NO },

	/* Offsets into struct connector_cfg, not struct config. */
	{ SEC_CONNECTOR, "type", V_NAME, C(type), 0, 0, REQ_IN_SECTION },
	{ SEC_CONNECTOR, "url", V_URL, C(url), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "deadline", V_NUMBER, C(deadline_s), 10, 86400,
	    REQ_NO },
	{ SEC_CONNECTOR, "poll_max_wait_seconds", V_NUMBER, C(deadline_s), 10,
	    86400, REQ_NO },
	{ SEC_CONNECTOR, "ca_id", V_CAID, C(ca_id), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "profile_id", V_CAID, C(profile_id), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "spki_pin", V_PIN, C(spki_pin), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "proxy", V_PROXY, C(proxy), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "auth", V_AUTH, C(auth), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "customer_uri", V_CAID, C(customer_uri), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "login", V_LOGIN, C(login), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "password_file", V_PATH, C(password_file), 0, 0,
	    REQ_NO },
	{ SEC_CONNECTOR, "external_requester", V_EMAILS,
	    C(external_requester), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "org_id", V_NUMBER, C(org_id), 1, INT32_MAX, REQ_NO },
	{ SEC_CONNECTOR, "cert_type", V_NUMBER, C(cert_type), 1, INT32_MAX,
	    REQ_NO },
	{ SEC_CONNECTOR, "term", V_NUMBER, C(term), 1, 3650, REQ_NO },
	{ SEC_CONNECTOR, "server_prefixes", V_PREFIXES, C(server_prefixes), 0,
	    0, REQ_NO },
	{ SEC_CONNECTOR, "account_key_uri", V_KEYURI, C(account_key_uri), 0, 0,
	    REQ_NO },
	{ SEC_CONNECTOR, "eab_kid", V_EABKID, C(eab_kid), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "eab_hmac_file", V_PATH, C(eab_hmac_file), 0, 0,
	    REQ_NO },
	{ SEC_CONNECTOR, "contact", V_CONTACT, C(contact), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "preferred_chain", V_CHAIN, C(preferred_chain), 0, 0,
	    REQ_NO },
	{ SEC_CONNECTOR, "http01_listen", V_LISTEN, C(http01_listen), 0, 0,
	    REQ_NO },
	{ SEC_CONNECTOR, "allow_tls12", V_BOOL, C(allow_tls12), 0, 0, REQ_NO },
	{ SEC_CONNECTOR, "poll_schedule", V_SCHEDULE, C(poll), 0, 0, REQ_NO },
};

#undef F
#undef C

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

struct parser {
	const char	*name;
	size_t		 lineno;	/* 0: not at a line */
	char		*err;
	size_t		 errlen;
	struct config	*cfg;
	enum section	 section;
	size_t		 section_line[SEC_COUNT];	/* 0: not seen */
	size_t		 key_line[NKEYS];		/* 0: not set */
};

static int	vfail(struct parser *, const char *, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));
static int	fail(struct parser *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	kfail(struct parser *, const struct key *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Writes "NAME:LINE: [prefix: ]message" (or "NAME: ..." outside a line)
 * to the caller's buffer. Always returns -1 so callers can return it.
 */
static int
vfail(struct parser *p, const char *prefix, const char *fmt, va_list ap)
{
	char	msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (p->err == NULL || p->errlen == 0)
		return -1;
	if (p->lineno > 0)
		snprintf(p->err, p->errlen, "%s:%zu: %s%s%s", p->name,
		    p->lineno, prefix, *prefix ? ": " : "", msg);
	else
		snprintf(p->err, p->errlen, "%s: %s%s%s", p->name, prefix,
		    *prefix ? ": " : "", msg);
	return -1;
}

static int
fail(struct parser *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vfail(p, "", fmt, ap);
	va_end(ap);
	return -1;
}

/* "log_level" for global keys, "[hsm] module" for the others. */
static void
key_label(const struct key *k, char *out, size_t outlen)
{
	if (k->section == SEC_GLOBAL)
		snprintf(out, outlen, "%s", k->name);
	else
		snprintf(out, outlen, "[%s] %s", section_names[k->section],
		    k->name);
}

/* A failure about one key's value: the key names itself first. */
static int
kfail(struct parser *p, const struct key *k, const char *fmt, ...)
{
	char	label[64];
	va_list	ap;

	key_label(k, label, sizeof(label));
	va_start(ap, fmt);
	vfail(p, label, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Quotes a value for a message, cut short so one long line cannot push
 * the reason out of the caller's buffer. Control characters never get
 * here: lines holding them are refused before parsing.
 */
static const char *
shown(const char *v, char *out, size_t outlen)
{
	size_t	n = strlen(v);

	if (n > SHOWN_MAX)
		snprintf(out, outlen, "\"%.*s...\"", SHOWN_MAX, v);
	else
		snprintf(out, outlen, "\"%s\"", v);
	return out;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims blanks on both sides, in place. */
static char *
trim(char *s)
{
	size_t	n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* A key name: a lowercase letter, then lowercase letters, digits, '_'. */
static int
is_lower_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return 0;
	}
	return 1;
}

/* ---- values ------------------------------------------------------------ */

static int
check_path(struct parser *p, const struct key *k, const char *v)
{
	char		 q[SHOWN_MAX + 8];
	const char	*c;

	if (v[0] != '/')
		return kfail(p, k, "expected an absolute path, got %s",
		    shown(v, q, sizeof(q)));
	if (strlen(v) > CONFIG_MAX_PATH)
		return kfail(p, k, "path longer than %d bytes",
		    CONFIG_MAX_PATH);
	/* ".." would let a path escape the directory it appears to name. */
	for (c = v; (c = strstr(c, "..")) != NULL; c += 2) {
		if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0'))
			return kfail(p, k, "expected a path without a \"..\" "
			    "component, got %s", shown(v, q, sizeof(q)));
	}
	return 0;
}

static int
check_log_level(struct parser *p, const struct key *k, const char *v)
{
	static const char *const levels[] = {
		"error", "warning", "info", "debug"
	};
	char	q[SHOWN_MAX + 8];

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(v, levels[i]) == 0)
			return 0;
	}
	return kfail(p, k, "expected error, warning, info or debug, got %s",
	    shown(v, q, sizeof(q)));
}

static int
check_log_target(struct parser *p, const struct key *k, const char *v)
{
	char	q[SHOWN_MAX + 8];

	if (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0)
		return 0;
	return kfail(p, k, "expected stderr or syslog, got %s",
	    shown(v, q, sizeof(q)));
}

/* The portable user/group name set (as useradd accepts by default). */
static int
check_name(struct parser *p, const struct key *k, const char *v,
    const char *what)
{
	char	q[SHOWN_MAX + 8];
	size_t	n = strlen(v);

	if (n == 0 || n > CONFIG_MAX_USER)
		goto bad;
	if (!((v[0] >= 'a' && v[0] <= 'z') || v[0] == '_'))
		goto bad;
	for (size_t i = 1; i < n; i++) {
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
		    (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-'))
			goto bad;
	}
	return 0;
 bad:
	return kfail(p, k, "expected a %s name of 1 to %d characters "
	    "[a-z_][a-z0-9_-]*, got %s", what, CONFIG_MAX_USER,
	    shown(v, q, sizeof(q)));
}

/*
 * A transparency log's origin (C2SP tlog-checkpoint, and the key name of
 * its signed notes): printable ASCII, no space and no '+', 1 to 256.
 */
static int
check_origin(struct parser *p, const struct key *k, const char *v)
{
	char	q[SHOWN_MAX + 8];
	size_t	n = strlen(v);

	for (size_t i = 0; i < n; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f || v[i] == '+')
			n = 0;
	if (n >= 1 && n <= 256)
		return 0;
	return kfail(p, k, "expected a log origin of 1 to 256 printable "
	    "characters without spaces or '+' (like \"hsmagent.example/"
	    "host-1\"), got %s", shown(v, q, sizeof(q)));
}

static int
check_user(struct parser *p, const struct key *k, const char *v)
{
	if (check_name(p, k, v, "user") == -1)
		return -1;
	/* The whole point of the child user is not to be root. */
	if (strcmp(v, "root") == 0)
		return kfail(p, k, "must not be \"root\": the child drops "
		    "privileges to this user");
	return 0;
}

static int
parse_bool(struct parser *p, const struct key *k, const char *v, int *out)
{
	char	q[SHOWN_MAX + 8];

	if (strcmp(v, "yes") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0)
		*out = 0;
	else
		return kfail(p, k, "expected yes or no, got %s",
		    shown(v, q, sizeof(q)));
	return 0;
}

/*
 * Plain decimal only: no sign, no blanks, no base prefix, which is what
 * strtoul would quietly accept. Accumulation stops once the value is
 * past max, so a long run of digits cannot overflow.
 */
static int
parse_number(struct parser *p, const struct key *k, const char *v,
    uint32_t *out)
{
	char		q[SHOWN_MAX + 8];
	uint64_t	n = 0;
	const char	*c;

	if (*v == '\0')
		goto bad;
	for (c = v; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			goto bad;
		if (n <= k->max)
			n = n * 10 + (uint64_t)(*c - '0');
	}
	if (n < k->min || n > k->max)
		goto bad;
	*out = (uint32_t)n;
	return 0;
 bad:
	return kfail(p, k, "expected a number from %u to %u, got %s",
	    (unsigned)k->min, (unsigned)k->max, shown(v, q, sizeof(q)));
}

/* "a, b,c": every item known, none twice, none empty. Edits v in place. */
static int
parse_schemes(struct parser *p, const struct key *k, char *v, uint32_t *out)
{
	char		 q[SHOWN_MAX + 8];
	uint32_t	 mask = 0;
	char		*item, *next;

	if (*v == '\0')
		return kfail(p, k, "expected a comma-separated list of "
		    "schemes, got \"\"");
	for (item = v; item != NULL; item = next) {
		enum sign_scheme s;

		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		item = trim(item);
		if (*item == '\0')
			return kfail(p, k, "empty item in the list; expected "
			    "scheme names separated by \",\"");
		if ((s = sign_scheme_from_name(item)) == 0)
			return kfail(p, k, "unknown scheme %s; expected "
			    "ecdsa_sha{256,384,512}, rsa_pkcs1_sha{256,384,512} "
			    "or rsa_pss_sha{256,384,512}",
			    shown(item, q, sizeof(q)));
		if (mask & SCHEME_BIT(s))
			return kfail(p, k, "scheme %s listed twice",
			    shown(item, q, sizeof(q)));
		mask |= SCHEME_BIT(s);
	}
	*out = mask;
	return 0;
}

static int
check_key_uri(struct parser *p, const struct key *k, const char *v)
{
	char		q[SHOWN_MAX + 8], uerr[256];
	struct p11uri	u;

	if (strncmp(v, "pkcs11:", 7) != 0)
		return kfail(p, k, "expected an RFC 7512 \"pkcs11:\" URI, "
		    "got %s", shown(v, q, sizeof(q)));
	if (strlen(v) > P11URI_MAX_LEN)
		return kfail(p, k, "URI longer than %d bytes", P11URI_MAX_LEN);
	if (p11uri_parse(v, &u, uerr, sizeof(uerr)) == -1)
		return kfail(p, k, "%s", uerr);
	p11uri_free(&u);
	return 0;
}

static int
is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* host[:port] from an authority of n bytes that holds no '@'. */
static int
check_authority(struct parser *p, const struct key *k, const char *a,
    size_t n)
{
	char		 q[SHOWN_MAX + 8], lit[64];
	unsigned char	 tmp[16];
	const char	*port = NULL;
	size_t		 hlen, plen;
	unsigned long	 pn = 0;

	if (n > 0 && a[0] == '[') {
		const char *end = memchr(a, ']', n);

		hlen = end ? (size_t)(end - a - 1) : 0;
		if (end == NULL || hlen == 0 || hlen >= sizeof(lit))
			return kfail(p, k, "expected an IPv6 literal as "
			    "\"[address]\" after https://");
		memcpy(lit, a + 1, hlen);
		lit[hlen] = '\0';
		if (inet_pton(AF_INET6, lit, tmp) != 1)
			return kfail(p, k, "bad IPv6 literal %s",
			    shown(lit, q, sizeof(q)));
		port = end + 1;
		if (port == a + n)
			return 0;
		if (*port != ':')
			return kfail(p, k, "expected \":port\" or \"/\" after "
			    "the IPv6 literal");
	} else {
		for (hlen = 0; hlen < n && a[hlen] != ':'; hlen++) {
			if (!is_host_char(a[hlen]))
				return kfail(p, k, "bad character '%c' in the "
				    "host; expected letters, digits, '.' and "
				    "'-'", a[hlen]);
		}
		if (hlen == 0)
			return kfail(p, k, "expected a host after https://");
		if (hlen > CONFIG_MAX_HOST)
			return kfail(p, k, "host longer than %d bytes",
			    CONFIG_MAX_HOST);
		if (hlen == n)
			return 0;
		port = a + hlen;
	}
	/* port points at ':'; digits only, at most five of them. */
	port++;
	plen = (size_t)(a + n - port);
	for (size_t i = 0; i < plen; i++) {
		if (port[i] < '0' || port[i] > '9' || i >= 5)
			goto badport;
		pn = pn * 10 + (unsigned long)(port[i] - '0');
	}
	if (plen == 0 || pn < 1 || pn > 65535)
		goto badport;
	return 0;
 badport:
	return kfail(p, k, "expected a port from 1 to 65535 after ':'");
}

/*
 * https://host[:port][/path]. The URL is handed to the sandboxed child
 * and to our own splitter (url_split_https), so refuse what either could
 * read differently: user information, fragments, blanks, non-ASCII.
 */
static int
check_url(struct parser *p, const struct key *k, const char *v)
{
	char		 q[SHOWN_MAX + 8];
	const char	*a;
	size_t		 n, alen;

	if (strncmp(v, "https://", 8) != 0)
		return kfail(p, k, "expected an https:// URL, got %s",
		    shown(v, q, sizeof(q)));
	n = strlen(v);
	if (n > CONFIG_MAX_URL)
		return kfail(p, k, "URL longer than %d bytes", CONFIG_MAX_URL);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == ' ' || c == '\t')
			return kfail(p, k, "URL may not contain blanks");
		if (c < 0x21 || c > 0x7e)
			return kfail(p, k, "URL may contain printable ASCII "
			    "only");
		if (c == '#')
			return kfail(p, k, "URL may not contain a fragment "
			    "(\"#\")");
	}
	a = v + 8;
	alen = strcspn(a, "/?");
	if (memchr(a, '@', alen) != NULL)
		return kfail(p, k, "URL may not contain user information "
		    "(\"user@\"); expected https://host[:port][/path]");
	if (a[alen] == '?')
		return kfail(p, k, "expected \"/\" before the query; "
		    "https://host[:port][/path]");
	return check_authority(p, k, a, alen);
}

/* A CA's id for its own API: letters, digits and ._~- (Entrust: "p~ca"). */
static int
check_ca_id(struct parser *p, const struct key *k, const char *v)
{
	char	q[SHOWN_MAX + 8];
	size_t	n = strlen(v);

	if (n == 0 || n > 128 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-") != n)
		return kfail(p, k, "expected 1 to 128 of [A-Za-z0-9._~-], got "
		    "%s", shown(v, q, sizeof(q)));
	return 0;
}

/* How a connector proves who it is besides its TLS client certificate. */
static int
check_auth(struct parser *p, const struct key *k, const char *v)
{
	char	q[SHOWN_MAX + 8];

	if (strcmp(v, "certificate") == 0 || strcmp(v, "password") == 0)
		return 0;
	return kfail(p, k, "expected certificate or password, got %s",
	    shown(v, q, sizeof(q)));
}

/*
 * A value sent as an HTTP header or JSON string: a restricted set, so
 * that it can neither split a header nor surprise the CA. what names it.
 */
static int
check_charset(struct parser *p, const struct key *k, const char *v,
    const char *set, size_t max, const char *what)
{
	char	q[SHOWN_MAX + 8];
	size_t	n = strlen(v);

	if (n == 0 || n > max || strspn(v, set) != n)
		return kfail(p, k, "expected %s (1 to %zu characters), got %s",
		    what, max, shown(v, q, sizeof(q)));
	return 0;
}

#define ALNUM	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/*
 * An HTTP proxy the child tunnels through with CONNECT (TLS stays end
 * to end with the CA): http://host[:port], nothing more.
 */
static int
check_proxy(struct parser *p, const struct key *k, const char *v)
{
	char		 q[SHOWN_MAX + 8];
	const char	*a = v + 7;
	size_t		 alen;

	if (strncmp(v, "http://", 7) != 0 || strlen(v) > CONFIG_MAX_URL)
		return kfail(p, k, "expected http://host[:port], got %s",
		    shown(v, q, sizeof(q)));
	alen = strcspn(a, "/");
	if (a[alen] != '\0' && strcmp(a + alen, "/") != 0)
		return kfail(p, k, "a proxy URL has no path");
	if (memchr(a, '@', alen) != NULL)
		return kfail(p, k, "no user information in the proxy URL");
	return check_authority(p, k, a, alen);
}

/*
 * The CA server's public key pin, as curl takes it: one or more
 * "sha256//" + base64 of the SHA-256 of the SubjectPublicKeyInfo,
 * separated by ";" (several allow a key change at the CA).
 */
static int
check_spki_pin(struct parser *p, const struct key *k, const char *v)
{
	char		q[SHOWN_MAX + 8];
	const char	*s = v;

	if (strlen(v) > 1000)
		goto bad;
	for (;;) {
		size_t n;

		if (strncmp(s, "sha256//", 8) != 0)
			goto bad;
		s += 8;
		n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/=");
		if (n != 44)		/* 32 bytes in base64 */
			goto bad;
		s += n;
		if (*s == '\0')
			return 0;
		if (*s++ != ';')
			goto bad;
	}
 bad:
	return kfail(p, k, "expected sha256//BASE64 (44 characters), several "
	    "separated by ';', got %s", shown(v, q, sizeof(q)));
}

/*
 * ACME server prefixes: the URLs the parent signs requests for (the
 * url and kid of each JWS, acme_sign_policy), blank-separated, each
 * https://host[:port]/... ending in '/'.
 */
static int
check_prefixes(struct parser *p, const struct key *k, const char *v)
{
	char		 q[SHOWN_MAX + 8], one[CONFIG_MAX_URL + 1];
	const char	*s = v;
	size_t		 n, count = 0;

	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0')
			break;
		n = strcspn(s, " \t");
		if (n > CONFIG_MAX_URL || ++count > CONFIG_MAX_ACME_PREFIXES)
			return kfail(p, k, "at most %d prefixes of at most %d "
			    "bytes", CONFIG_MAX_ACME_PREFIXES, CONFIG_MAX_URL);
		memcpy(one, s, n);
		one[n] = '\0';
		if (check_url(p, k, one) == -1)
			return -1;
		if (!acme_sign_prefix_ok(one))
			return kfail(p, k, "expected https://host[:port]/path/ "
			    "ending in \"/\", got %s", shown(one, q, sizeof(q)));
		s += n;
	}
	return count > 0 ? 0 : kfail(p, k, "expected one or more prefixes");
}

/*
 * ACME account contact: mailto: URIs only (RFC 8555 §7.3), separated
 * by ',', in a charset that needs no escaping in JSON.
 */
static int
check_contact(struct parser *p, const struct key *k, const char *v)
{
	char		 q[SHOWN_MAX + 8];
	const char	*s = v, *at;
	size_t		 n;

	if (check_charset(p, k, v, ALNUM "._%+-@:,", 512,
	    "mailto: addresses separated by \",\"") == -1)
		return -1;
	for (;;) {
		n = strcspn(s, ",");
		at = memchr(s, '@', n);
		if (n < 10 || strncmp(s, "mailto:", 7) != 0 || at == NULL ||
		    at == s + 7 || at == s + n - 1 ||
		    memchr(at + 1, '@', (size_t)(s + n - at - 1)) != NULL ||
		    memchr(s + 7, ':', n - 7) != NULL)
			return kfail(p, k, "expected mailto:user@domain, several "
			    "separated by \",\", got %s", shown(v, q, sizeof(q)));
		if (s[n] == '\0')
			return 0;
		s += n + 1;
	}
}

/*
 * The issuer common name of the chain to pick among the alternates
 * (RFC 8555 §7.4.2): printable, nothing JSON or a log line would need
 * to escape.
 */
static int
check_chain_name(struct parser *p, const struct key *k, const char *v)
{
	char	q[SHOWN_MAX + 8];
	size_t	n = strlen(v);

	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == '"' || v[i] == '\\')
			goto bad;
	if (n > 0 && n <= 128 && v[0] != ' ' && v[n - 1] != ' ')
		return 0;
 bad:
	return kfail(p, k, "expected an issuer name of 1 to 128 printable "
	    "characters, no '\"' or '\\', got %s", shown(v, q, sizeof(q)));
}

int
config_listen_addr(const char *v, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)(void *)ss;
	char			 lit[INET6_ADDRSTRLEN + 1];
	const char		*colon, *a = v;
	size_t			 alen;
	unsigned long		 port = 0;

	memset(ss, 0, sizeof(*ss));
	if ((colon = strrchr(v, ':')) == NULL)
		return -1;
	alen = (size_t)(colon - v);
	if (v[0] == '[') {
		if (alen < 3 || v[alen - 1] != ']')
			return -1;
		a++;
		alen -= 2;
	}
	if (alen == 0 || alen >= sizeof(lit))
		return -1;
	memcpy(lit, a, alen);
	lit[alen] = '\0';
	/* Digits only, no sign, no leading zero, at most five of them. */
	if (colon[1] < '1' || colon[1] > '9' || strlen(colon + 1) > 5 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	port = strtoul(colon + 1, NULL, 10);
	if (port > 65535)
		return -1;
	if (v[0] == '[' && inet_pton(AF_INET6, lit, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
		return 0;
	}
	/* inet_pton: dotted decimal only, no "1", "0x7f.1" or "010.0.0.1". */
	if (v[0] != '[' && inet_pton(AF_INET, lit, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*sin);
		return 0;
	}
	return -1;
}

static int
check_listen(struct parser *p, const struct key *k, const char *v)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 q[SHOWN_MAX + 8];

	if (config_listen_addr(v, &ss, &len) == -1)
		return kfail(p, k, "expected an IPv4 address or [IPv6] "
		    "address and a port from 1 to 65535, like 0.0.0.0:80 or "
		    "[::]:80, got %s", shown(v, q, sizeof(q)));
	return 0;
}

/*
 * A socket mode in octal, "0660" style: owner must keep read and write,
 * nobody gets execute (meaningless on a socket), others at most rw.
 */
static int
parse_mode(struct parser *p, const struct key *k, const char *v,
    uint32_t *out)
{
	char		q[SHOWN_MAX + 8];
	uint32_t	m = 0;

	if (strlen(v) != 4 || v[0] != '0')
		goto bad;
	for (int i = 1; i < 4; i++) {
		if (v[i] < '0' || v[i] > '7')
			goto bad;
		m = m * 8 + (uint32_t)(v[i] - '0');
	}
	if ((m & 0600) != 0600 || (m & 0111) != 0)
		goto bad;
	*out = m;
	return 0;
 bad:
	return kfail(p, k, "expected an octal mode like 0660 (owner rw, no "
	    "execute bits), got %s", shown(v, q, sizeof(q)));
}

/* Checks v for key k and stores it in the configuration. */
static int
set_value(struct parser *p, const struct key *k, char *v)
{
	char		*base = (k->section == SEC_CONNECTOR ?
			    (char *)&p->cfg->connectors[p->cfg->nconnectors - 1] :
			    (char *)p->cfg) + k->off;
	char		**sp = (char **)(void *)base;
	int		 r = -1;

	switch (k->type) {
	case V_PATH:
		r = check_path(p, k, v);
		break;
	case V_LOGLEVEL:
		r = check_log_level(p, k, v);
		break;
	case V_LOGTARGET:
		r = check_log_target(p, k, v);
		break;
	case V_USER:
		r = check_user(p, k, v);
		break;
	case V_GROUP:
		r = check_name(p, k, v, "group");
		break;
	case V_NAME:
		r = check_name(p, k, v, "connector type");
		break;
	case V_ORIGIN:
		r = check_origin(p, k, v);
		break;
	case V_CAID:
		r = check_ca_id(p, k, v);
		break;
	case V_PIN:
		r = check_spki_pin(p, k, v);
		break;
	case V_PROXY:
		r = check_proxy(p, k, v);
		break;
	case V_AUTH:
		r = check_auth(p, k, v);
		break;
	case V_LOGIN:
		r = check_charset(p, k, v, ALNUM "._@+-", 128,
		    "a login of letters, digits and ._@+-");
		break;
	case V_EMAILS:
		r = check_charset(p, k, v, ALNUM "._%+-@,", 512,
		    "e-mail addresses separated by \",\"");
		break;
	case V_PREFIXES:
		r = check_prefixes(p, k, v);
		break;
	case V_EABKID:
		/* A CA's key id: sent in a JWS header, matched by the parent. */
		r = check_charset(p, k, v, ALNUM "._~:/+=-", 256,
		    "a key id of letters, digits and ._~:/+=-");
		break;
	case V_CONTACT:
		r = check_contact(p, k, v);
		break;
	case V_CHAIN:
		r = check_chain_name(p, k, v);
		break;
	case V_LISTEN:
		r = check_listen(p, k, v);
		break;
	case V_MODE:
		return parse_mode(p, k, v, (uint32_t *)(void *)base);
	case V_KEYURI:
		r = check_key_uri(p, k, v);
		break;
	case V_URL:
		r = check_url(p, k, v);
		break;
	case V_SCHEDULE: {
		char why[160];

		if (poll_schedule_parse(v, (struct poll_schedule *)(void *)base,
		    why, sizeof(why)) == -1)
			return kfail(p, k, "%s", why);
		return 0;
	}
	case V_BOOL:
		return parse_bool(p, k, v, (int *)(void *)base);
	case V_NUMBER:
		return parse_number(p, k, v, (uint32_t *)(void *)base);
	case V_SCHEMES:
		return parse_schemes(p, k, v, (uint32_t *)(void *)base);
	}
	if (r == -1)
		return -1;
	/* Replaces a default; a second setting is refused earlier. */
	free(*sp);
	*sp = xstrdup(v);
	return 0;
}

/* ---- [connector NAME] ------------------------------------------------- */

static int
start_connector(struct parser *p, const char *name)
{
	struct connector_cfg	*c;
	char			 q[SHOWN_MAX + 8];

	if (!name_ok(name, 64))
		return fail(p, "connector name %s: expected 1 to 64 of "
		    "[a-z0-9_-]", shown(name, q, sizeof(q)));
	for (size_t i = 0; i < p->cfg->nconnectors; i++)
		if (strcmp(p->cfg->connectors[i].name, name) == 0)
			return fail(p, "[connector %s] repeated", name);
	if (p->cfg->nconnectors >= CONFIG_MAX_CONNECTORS)
		return fail(p, "more than %d connectors", CONFIG_MAX_CONNECTORS);
	c = &p->cfg->connectors[p->cfg->nconnectors++];
	c->name = xstrdup(name);
	c->deadline_s = 600;
	c->term = 365;
	p->section = SEC_CONNECTOR;
	p->section_line[SEC_CONNECTOR] = p->lineno;
	/* Keys may be set once per connector, not once per file. */
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].section == SEC_CONNECTOR)
			p->key_line[i] = 0;
	return 0;
}

/* The connector section that ends here must have its required keys. */
static int
finish_connector(struct parser *p)
{
	struct connector_cfg	*c;
	char			 err[512];

	if (p->section != SEC_CONNECTOR)
		return 0;
	c = &p->cfg->connectors[p->cfg->nconnectors - 1];
	if (c->type == NULL)
		return fail(p, "[connector %s] needs a type", c->name);
	/* What each kind needs: its row's finish (connector_kind.c). */
	if (connector_kind_find(c->type)->finish(p->cfg, c, err,
	    sizeof(err)) == -1)
		return fail(p, "%s", err);
	return 0;
}

/* ---- lines ------------------------------------------------------------- */

static int
parse_section(struct parser *p, char *s)
{
	size_t	n = strlen(s);
	char	q[SHOWN_MAX + 8];

	if (n < 2 || s[n - 1] != ']')
		return fail(p, "expected \"[section]\" with nothing after it, "
		    "got %s", shown(s, q, sizeof(q)));
	s[n - 1] = '\0';
	s++;
	if (finish_connector(p) == -1)
		return -1;
	if (strncmp(s, "connector ", 10) == 0)
		return start_connector(p, trim(s + 10));
	for (int i = SEC_GLOBAL + 1; i < SEC_COUNT; i++) {
		if (i == SEC_CONNECTOR)
			continue;
		if (strcmp(s, section_names[i]) != 0)
			continue;
		if (p->section_line[i] != 0)
			return fail(p, "section [%s] repeated (first on line "
			    "%zu); each section may appear once", s,
			    p->section_line[i]);
		p->section_line[i] = p->lineno;
		p->section = (enum section)i;
		return 0;
	}
	return fail(p, "unknown section [%.*s]; expected [hsm], [signing], "
	    "[tls], [probe], [api], [state], [renewal] or [connector NAME]",
	    SHOWN_MAX, s);
}

static int
parse_key(struct parser *p, char *s)
{
	char	*eq, *name, *value, q[SHOWN_MAX + 8];

	if ((eq = strchr(s, '=')) == NULL)
		return fail(p, "expected \"key = value\", \"[section]\" or a "
		    "comment, got %s", shown(s, q, sizeof(q)));
	*eq = '\0';
	name = trim(s);
	value = trim(eq + 1);
	if (!is_lower_name(name))
		return fail(p, "bad key name %s; expected lowercase letters, "
		    "digits and '_'", shown(name, q, sizeof(q)));
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (k->section != p->section || strcmp(k->name, name) != 0)
			continue;
		if (p->key_line[i] != 0)
			return kfail(p, k, "repeated key (first set on line "
			    "%zu); each key may be set once", p->key_line[i]);
		p->key_line[i] = p->lineno;
		return set_value(p, k, value);
	}
	if (p->section == SEC_GLOBAL)
		return fail(p, "unknown key %s in the global section (before "
		    "any [section])", shown(name, q, sizeof(q)));
	return fail(p, "unknown key %s in [%s]", shown(name, q, sizeof(q)),
	    section_names[p->section]);
}

/* One line, NUL-terminated, already free of control characters. */
static int
parse_line(struct parser *p, char *line)
{
	char	*s = trim(line);

	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[')
		return parse_section(p, s);
	return parse_key(p, s);
}

/* Tab is the only control character a line may hold. */
static int
check_bytes(struct parser *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			return fail(p, "NUL byte at column %zu", i + 1);
		if (c == '\r')
			return fail(p, "CR (carriage return) at column %zu; "
			    "expected Unix line endings", i + 1);
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, "control character 0x%02x at column %zu",
			    c, i + 1);
	}
	return 0;
}

static void
set_defaults(struct config *cfg)
{
	cfg->log_level = xstrdup("info");
	cfg->log_target = xstrdup("stderr");
	cfg->shutdown_timeout_s = 20;
	cfg->connector_path = xstrdup(LIBEXECDIR "/hsmagent-connector");
	cfg->child_user = xstrdup("hsmagent");
	cfg->chroot_dir = xstrdup("/var/empty/hsmagent");
	cfg->hsm_pin_file = NULL;	/* resolved against systemd's creds */
	cfg->hsm_insecure_allow_extractable = 0;
	cfg->sign_schemes = SCHEME_ALL_MASK;
	cfg->sign_rate = 20;
	cfg->sign_burst = 50;
	cfg->sign_timeout_ms = 5000;
	cfg->tls_timeout_s = 30;
	cfg->probe_url = NULL;
	cfg->probe_interval_s = 0;
	cfg->api_mode = 0660;
	cfg->api_max_conns = 64;
	cfg->api_idle_s = 30;
	cfg->api_uid_rate = API_UID_RATE_DEFAULT;
	cfg->api_uid_burst = API_UID_BURST_DEFAULT;
	cfg->ckpt_records = 1000;
	cfg->ckpt_interval_s = 60;
	cfg->renew_window_pct = 33;
	cfg->renew_retry_min_s = 60;
	cfg->renew_retry_max_s = 3600;
	cfg->cert_warn_days = 30;
}

static int
check_required(struct parser *p)
{
	char	label[64];

	p->lineno = 0;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (p->key_line[i] != 0 || k->required == REQ_NO ||
		    k->section == SEC_CONNECTOR)
			continue;
		key_label(k, label, sizeof(label));
		if (k->required == REQ_ALWAYS)
			return fail(p, "%s is required", label);
		if (p->section_line[k->section] != 0)
			return fail(p, "%s is required when [%s] is present",
			    label, section_names[k->section]);
	}
	/* Orders and the audit log have to live somewhere. */
	if (p->section_line[SEC_API] != 0 && p->section_line[SEC_STATE] == 0)
		return fail(p, "[api] needs a [state] section with dir");
	if (p->cfg->renew_retry_min_s > p->cfg->renew_retry_max_s)
		return fail(p, "[renewal] retry_min_seconds (%u) is more than "
		    "retry_max_seconds (%u)", p->cfg->renew_retry_min_s,
		    p->cfg->renew_retry_max_s);
	return 0;
}

int
config_parse(const char *buf, size_t len, const char *name,
    struct config *cfg, char *err, size_t errlen)
{
	struct parser	 p;
	char		 line[CONFIG_MAX_LINE + 1];
	size_t		 off = 0;

	memset(cfg, 0, sizeof(*cfg));
	memset(&p, 0, sizeof(p));
	p.name = name != NULL ? name : "config";
	p.err = err;
	p.errlen = errlen;
	p.cfg = cfg;
	p.section = SEC_GLOBAL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > CONFIG_MAX_FILE) {
		fail(&p, "larger than %d KiB", CONFIG_MAX_FILE / 1024);
		return -1;
	}
	set_defaults(cfg);
	while (off < len) {
		const char	*s = buf + off;
		const char	*nl = memchr(s, '\n', len - off);
		size_t		 n = nl != NULL ? (size_t)(nl - s) : len - off;

		p.lineno++;
		if (n > CONFIG_MAX_LINE) {
			fail(&p, "line longer than %d bytes", CONFIG_MAX_LINE);
			goto bad;
		}
		if (check_bytes(&p, s, n) == -1)
			goto bad;
		memcpy(line, s, n);
		line[n] = '\0';
		if (parse_line(&p, line) == -1)
			goto bad;
		off += n + (nl != NULL);
	}
	if (finish_connector(&p) == -1 || check_required(&p) == -1)
		goto bad;
	return 0;
 bad:
	config_free(cfg);
	return -1;
}

int
config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	char	*buf;
	size_t	 len;
	int	 r;

	memset(cfg, 0, sizeof(*cfg));
	if (read_file_capped(path, CONFIG_MAX_FILE, &buf, &len) == -1) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %d KiB", path,
			    CONFIG_MAX_FILE / 1024);
		else if (errno == EINVAL)
			snprintf(err, errlen, "%s: not a regular file", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = config_parse(buf, len, path, cfg, err, errlen);
	free(buf);
	if (r == 0)
		cfg->path = xstrdup(path);
	return r;
}

void
config_free(struct config *cfg)
{
	free(cfg->path);
	free(cfg->log_level);
	free(cfg->log_target);
	free(cfg->connector_path);
	free(cfg->child_user);
	free(cfg->chroot_dir);
	free(cfg->hsm_module);
	free(cfg->hsm_key_uri);
	free(cfg->hsm_pin_file);
	free(cfg->hsm_certificate);
	free(cfg->tls_ca_file);
	free(cfg->probe_url);
	free(cfg->api_socket);
	free(cfg->api_group);
	free(cfg->api_policy);
	free(cfg->state_dir);
	free(cfg->audit_log);
	free(cfg->ckpt_key_uri);
	free(cfg->ckpt_origin);
	free(cfg->ckpt_prev_key_uri);
	free(cfg->ckpt_dir);
	free(cfg->http01_listen);
	for (size_t i = 0; i < cfg->nconnectors; i++) {
		free(cfg->connectors[i].name);
		free(cfg->connectors[i].type);
		free(cfg->connectors[i].url);
		free(cfg->connectors[i].ca_id);
		free(cfg->connectors[i].profile_id);
		free(cfg->connectors[i].spki_pin);
		free(cfg->connectors[i].proxy);
		free(cfg->connectors[i].auth);
		free(cfg->connectors[i].customer_uri);
		free(cfg->connectors[i].login);
		free(cfg->connectors[i].password_file);
		free(cfg->connectors[i].external_requester);
		free(cfg->connectors[i].server_prefixes);
		for (size_t j = 0; j < cfg->connectors[i].nprefix; j++)
			free(cfg->connectors[i].prefix[j]);
		free(cfg->connectors[i].account_key_uri);
		free(cfg->connectors[i].eab_kid);
		free(cfg->connectors[i].eab_hmac_file);
		free(cfg->connectors[i].contact);
		free(cfg->connectors[i].preferred_chain);
		free(cfg->connectors[i].http01_listen);
	}
	memset(cfg, 0, sizeof(*cfg));
}
