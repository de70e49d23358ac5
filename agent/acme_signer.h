/*
 * acme_signer.h - the parent's answer to the ACME connector's
 * IPC_JWS_SIGN_REQUEST: the input checked by acme_sign_policy against
 * this configuration, then signed by the account key in the HSM
 * (JWS_ACCOUNT) or MACed with the EAB key file (JWS_EAB).
 *
 * The caller (dispatch) has already found the job in flight and taken
 * a token from the rate limit (sign_policy), and does the audit and the
 * reply; this is the ACME-specific part, testable with a token alone.
 */
#ifndef HSMAGENT_ACME_SIGNER_H
#define HSMAGENT_ACME_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "acme_jws.h"
#include "acme_sign_policy.h"
#include "acme_url_pin.h"
#include "buf.h"
#include "hsm.h"

struct hsm_account;

struct acme_signer {
	char			*connector;	/* acme_signers_open: its name */
	struct acme_sign_rules	 rules;
	struct hsm_account	*account;
	char			*jwk;		/* rules.account_jwk */
	char			*eab_kid;	/* rules.eab_kid; NULL: no EAB */
	char			*eab_key_file;
	char			*contact;	/* rules.contact; NULL: none */
	char			 thumbprint[ACME_THUMBPRINT_LEN + 1];	/* http-01 */
	char			*prefix[ACME_SIGN_MAX_PREFIXES];
	struct acme_pins	 pins;		/* learned; see acme_url_pin.h */
};

/*
 * Opens the account key (hsm_account_open) and sets the rules: the
 * server prefixes (each acme_sign_prefix_ok), the key's alg and JWK,
 * and the EAB key id and file (both or neither). 0 or -1 with err.
 */
int	acme_signer_init(struct acme_signer *, struct hsm *,
	    const char *account_key_uri, int allow_extractable,
	    const char *const *prefixes, size_t nprefixes,
	    const char *eab_kid, const char *eab_key_file,
	    const char *contact, char *err, size_t errlen);
void	acme_signer_free(struct acme_signer *);

/*
 * The job a request names, as the parent sent it (its own copy of the
 * IPC_JOB_CA payload, never the child's word): the facts the ACME
 * policy checks a payload against, with the CSR and certificate in DER.
 */
struct acme_job_view {
	struct acme_job_facts	 f;
	size_t			 nnames;	/* in f.sans_json */
	char			*sans;
	unsigned char		*csr_der;
	unsigned char		*cert_der;
};

int	acme_job_view_init(struct acme_job_view *, const struct wbuf *job);
void	acme_job_view_free(struct acme_job_view *);

/* One signature request from the child, and what the grant recorded. */
struct acme_sign_req {
	uint8_t			 kind;		/* JWS_* */
	uint8_t			 op;		/* ACME_OP_* */
	const uint8_t		*input;
	size_t			 len;
	const struct acme_job_facts *facts;
	size_t			 nnames;	/* the job's names */
	struct acme_job_pins	*job_pins;	/* the job's own; NULL: none */
	char			 url[ACME_MAX_URL + 1];	/* set when granted */
	char			 kid[ACME_MAX_URL + 1];	/* "": by the key */
	unsigned		 pinned;	/* 1 << acme_pin_role learned */
};

/*
 * One request of kind JWS_ACCOUNT or JWS_EAB. ACME_SIGN_OK with sig
 * set (DER ECDSA or RSA PKCS#1 for JWS_ACCOUNT, the 32-byte MAC for
 * JWS_EAB; room for HSM_MAX_SIG bytes), or the refusal; *failed is 1
 * when the checks passed but the HSM or the key file failed (err says
 * why; it never holds the EAB key).
 */
enum acme_sign_verdict acme_signer_answer(struct acme_signer *,
	    struct hsm *, struct acme_sign_req *, uint8_t *sig,
	    size_t *siglen, int *failed, char *err, size_t errlen);
/*
 * The checks of acme_signer_answer alone: the policy, then the pins
 * (an account-key JWS without job_pins is refused). On a grant rq->url
 * and rq->kid are set and the pins learned (rq->pinned says which of
 * the connector's). The parent's loop checks, then hands the signature
 * to its HSM worker.
 */
enum acme_sign_verdict acme_signer_check(struct acme_signer *,
	    struct acme_sign_req *);

struct config;

/*
 * One signer per [connector] of type acme, by name, opened after the
 * login (each account key checked in the HSM then). 0, or -1 with err
 * naming the connector; out holds at most CONFIG_MAX_CONNECTORS.
 */
int	acme_signers_open(struct acme_signer **out, size_t *n,
	    const struct config *, struct hsm *, char *err, size_t errlen);
void	acme_signers_close(struct acme_signer **, size_t *n);
struct acme_signer *acme_signer_find(struct acme_signer *const *, size_t n,
	    const char *connector);

#endif
