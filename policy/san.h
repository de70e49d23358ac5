/*
 * san.h - subject alternative names: syntax, normal form, matching.
 *
 * Requests and policies name SANs as typed strings: "dns:NAME",
 * "ip:ADDRESS", "email:LOCAL@DOMAIN". The normal form is what is
 * compared: DNS names lowercased, IP addresses as inet_ntop() writes
 * them, e-mail domains lowercased.
 */
#ifndef HSMAGENT_SAN_H
#define HSMAGENT_SAN_H

#include <stddef.h>

#define SAN_MAX_VALUE	255
#define POLICY_MAX_SANS	100

enum san_type {
	SAN_DNS = 1,
	SAN_IP,
	SAN_EMAIL,
};

struct san {
	enum san_type	type;
	char		value[SAN_MAX_VALUE + 1];
};

/*
 * DNS names: ASCII letters, digits and hyphens in labels of 1-63
 * characters (no hyphen first or last), at most 253 in all, at least
 * two labels. Refused as bypass attempts rather than repaired: a
 * trailing dot, non-ASCII (IDN must come as its xn-- form), a name that
 * reads as an IP address. A leading "*." is a wildcard; wildcard is set.
 */
int	san_dns_check(const char *name, char *out, size_t outlen,
	    int *wildcard, char *err, size_t errlen);
/* "dns:...", "ip:...", "email:..." into its normal form. */
int	san_parse(const char *typed, struct san *, char *err, size_t errlen);
/* Same from a type and a bare value (a CSR's GeneralName). */
int	san_make(enum san_type, const char *value, struct san *, char *err,
	    size_t errlen);
/* "dns:", "ip:" or "email:". */
const char *san_prefix(enum san_type);
int	san_equal(const struct san *, const struct san *);

/*
 * Pattern matching, on normal forms. DNS: "*.example.com" covers exactly
 * one more label ("a.example.com", not "example.com", not
 * "a.b.example.com"); a requested wildcard is covered only by the same
 * wildcard pattern. IP: an address or CIDR range. E-mail: exact, or
 * "*@domain".
 */
int	san_dns_match(const char *pattern, const char *name);
int	san_ip_match(const char *pattern, const char *addr);
int	san_email_match(const char *pattern, const char *addr);

#endif
