/*
 * entrust_msg.h - Entrust CA Gateway messages: request bodies built and
 * responses parsed without any I/O, so that they can be unit-tested and
 * fuzzed on their own (connectors/entrust.c does the transfers).
 */
#ifndef HSMAGENT_ENTRUST_MSG_H
#define HSMAGENT_ENTRUST_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

struct cagw_answer {
	uint8_t	 outcome;			/* CA_* */
	char	 handle[IPC_MAX_HANDLE + 1];	/* enrollment id */
	char	 message[IPC_MAX_STR + 1];	/* "cagw-4018: ..." */
	char	*cert;				/* PEM, malloc'd; issued only */
	char	*chain;				/* PEM, malloc'd, may be "" */
};

/* JSON text (malloc'd) or NULL if an argument cannot be expressed. */
char	*cagw_enroll_body(const char *profile, const char *csr_pem,
	    const char *sans_json, uint32_t validity_days);
char	*cagw_revoke_body(int rfc5280_reason, const char *comment);
/* The gateway's name for an RFC 5280 reason code ("keyCompromise"). */
const char *cagw_reason_name(int code);

/*
 * Maps an HTTP status and body (not NUL-terminated, any bytes) for an
 * action (CA_ENROLL, CA_LOOKUP, CA_REVOKE) to an outcome. Never fails:
 * what cannot be understood is CA_RETRY (transient) or CA_REJECTED.
 */
void	cagw_parse(uint8_t action, long http, const char *body, size_t len,
	    struct cagw_answer *);

/* Does a ProfilesResponse list a profile with this id? */
int	cagw_has_profile(const char *body, size_t len, const char *id);

/*
 * The chain from a CAResponse (GET .../{caId}?$fields=ca.certificate,
 * ca.chain): the CA's certificate, then its chain, as PEM. NULL when the
 * answer has no readable CA certificate.
 */
char	*cagw_ca_chain(const char *body, size_t len);

/* PEM ("CERTIFICATE") from base64 DER text; NULL if not clean base64. */
char	*pem_from_b64(const char *b64);
/* The base64 inside one PEM block as a single line; NULL if malformed. */
char	*b64_from_pem(const char *pem);

#endif
