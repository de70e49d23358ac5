/*
 * sectigo_msg.h - Sectigo Certificate Manager (SCM REST API, SSL v1)
 * messages: request bodies built and answers classified without any
 * I/O, so that they can be unit-tested and fuzzed on their own
 * (connectors/sectigo.c does the transfers).
 */
#ifndef HSMAGENT_SECTIGO_MSG_H
#define HSMAGENT_SECTIGO_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"


struct scm_answer {
	uint8_t	 outcome;			/* CA_* */
	char	 handle[IPC_MAX_HANDLE + 1];	/* sslId, decimal */
	char	 renew_id[IPC_MAX_HANDLE + 1];	/* renewId */
	char	 message[IPC_MAX_STR + 1];	/* "-183: Certificate is ..." */
	int	 code;				/* SCM's error code, if any */
	int	 has_code;
};

struct scm_enroll {
	uint32_t	 org_id;
	uint32_t	 cert_type;
	uint32_t	 term;
	const char	*csr_pem;
	const char	*sans_json;		/* ["dns:a", "ip:b"] */
	const char	*comments;
	const char	*external_requester;	/* "" for none */
};

/*
 * The enroll request's JSON (malloc'd), or NULL with why: SCM's SSL
 * certificates carry DNS names and IP addresses only.
 */
char	*scm_enroll_body(const struct scm_enroll *, char *why, size_t whylen);
/* The revoke body, or NULL with why (SCM takes reasons 0, 1, 3, 4, 5). */
char	*scm_revoke_body(int rfc5280_reason, char *why, size_t whylen);
/* The profile as a certType id: 1 to INT32_MAX in decimal, else 0. */
uint32_t scm_cert_type(const char *profile);

/*
 * Classifies an answer (HTTP status, body: any bytes, not NUL-terminated)
 * to action (CA_ENROLL, CA_LOOKUP, CA_REVOKE, CA_VALIDATE). Never fails.
 * A 2xx collect or types answer comes back as CA_ISSUED or CA_VALID:
 * the caller still reads the bundle (pem_bundle_split) or the types
 * (scm_check_types). Not-ready collects (HTTP 400 or 404 with code 0,
 * -183, -1400, -109 or -195) are CA_PENDING under handle.
 */
void	scm_parse(uint8_t action, long http, const char *body, size_t len,
	    const char *handle, struct scm_answer *);

/*
 * A types answer: does it offer cert_type (if not 0) with term among its
 * terms? 0, or -1 with why.
 */
int	scm_check_types(const char *body, size_t len, uint32_t cert_type,
	    uint32_t term, char *why, size_t whylen);

#endif
