/*
 * api_request.h - one request line of the local API, parsed strictly.
 *
 * The wire format (README.md, "Local API"): one JSON object per line,
 * "op" names the operation, every other member belongs to that
 * operation; an unknown member, a wrong type or a value out of range is
 * a bad_request. The caller is never named in the request: the kernel
 * says who it is (SO_PEERCRED).
 */
#ifndef HSMAGENT_API_REQUEST_H
#define HSMAGENT_API_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "api_limits.h"
#include "san.h"

enum api_op {
	OP_ENROLL = 1,
	OP_STATUS,
	OP_LIST,
	OP_REVOKE,
	OP_APPROVE,
	OP_REJECT,
	OP_HEALTH,
	OP_METRICS,
	OP_VERSION,
	OP_TRACK,
	OP_UNTRACK,
	OP_FETCH,
	OP_TRACKED,
	OP_CREDENTIAL_NEW,
	OP_CREDENTIAL_RETIRE,
	OP_CA_CHAIN,
	OP_OFFERS,
	OP_RENEW,
	OP_RECEIPT,
};
#define OP_LAST		OP_RECEIPT
#define API_MAX_TRACK_NAME	64

struct api_request {
	enum api_op	 op;
	/* enroll; ca_chain: connector only */
	char		 connector[API_MAX_NAME + 1];
	char		 profile[API_MAX_NAME + 1];
	char		*csr;			/* PEM, NUL-terminated; owned */
	struct san	*sans;			/* owned; NULL if not given */
	size_t		 nsans;
	uint32_t	 validity_days;		/* 0: the rule's maximum */
	int		 wait;
	/*
	 * enroll: the caller's live order for the same connector, profile
	 * and CSR is answered instead of a new one (a retried submission,
	 * e.g. by certmonger, does not enroll twice).
	 */
	int		 reuse_pending;
	/* status, revoke, approve, reject */
	char		 order[API_ORDER_ID_LEN + 1];
	/* revoke */
	char		 serial[API_MAX_SERIAL + 1];
	int		 reason;		/* RFC 5280 CRLReason code */
	/* list */
	int		 all;
	int		 awaiting;	/* those the caller may approve */
	/* reject, revoke */
	char		 comment[API_MAX_COMMENT + 1];
	/* track, untrack, fetch: [a-z0-9][a-z0-9._-]* */
	char		 name[API_MAX_TRACK_NAME + 1];
	/*
	 * credential_new: "ec" or "rsa", RSA bits, the CSR's CN; the role,
	 * "tls" (the gateway credential, with a CSR) or "checkpoint" (the
	 * audit log's checkpoint key: EC P-256, no CSR, no subject)
	 */
	char		 role[12];
	char		 key_type[4];
	uint32_t	 bits;
	char		 subject[API_MAX_NAME * 2 + 1];
	/* credential_retire: a key's CKA_ID, hex; "" for the retirable one */
	char		 key_id[129];
};

/* 0, or -1 with a message for a bad_request reply. */
int	api_request_parse(const char *line, size_t len, struct api_request *,
	    char *err, size_t errlen);
void	api_request_free(struct api_request *);

const char *api_op_name(enum api_op);
/* RFC 5280 reason names ("keyCompromise", ...): code or -1. */
int	api_reason_from_name(const char *);
const char *api_reason_name(int);

#endif
