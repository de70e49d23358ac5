/*
 * acme_signer.c - see acme_signer.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <jansson.h>

#include "acme_eab.h"
#include "acme_signer.h"
#include "config.h"
#include "connector_kind.h"
#include "hsm_account.h"
#include "ipc.h"
#include "util.h"

void
acme_signer_free(struct acme_signer *s)
{
	size_t	 i;

	hsm_account_close(s->account);
	free(s->connector);
	free(s->jwk);
	free(s->eab_kid);
	free(s->eab_key_file);
	free(s->contact);
	for (i = 0; i < ACME_SIGN_MAX_PREFIXES; i++)
		free(s->prefix[i]);
	memset(s, 0, sizeof(*s));
}

int
acme_signer_init(struct acme_signer *s, struct hsm *h,
    const char *account_key_uri, int allow_extractable,
    const char *const *prefixes, size_t nprefixes, const char *eab_kid,
    const char *eab_key_file, const char *contact, char *err, size_t errlen)
{
	size_t	 i;

	memset(s, 0, sizeof(*s));
	if (nprefixes == 0 || nprefixes > ACME_SIGN_MAX_PREFIXES) {
		snprintf(err, errlen, "ACME: 1 to %d server URL prefixes",
		    ACME_SIGN_MAX_PREFIXES);
		return -1;
	}
	if ((eab_kid == NULL) != (eab_key_file == NULL)) {
		snprintf(err, errlen, "ACME: EAB needs both a key id and a "
		    "key file");
		return -1;
	}
	for (i = 0; i < nprefixes; i++) {
		if (!acme_sign_prefix_ok(prefixes[i])) {
			snprintf(err, errlen, "ACME: server prefix '%s' is not "
			    "https://HOST[:PORT]/PATH/", prefixes[i]);
			goto fail;
		}
		s->prefix[i] = xstrdup(prefixes[i]);
		s->rules.prefix[i] = s->prefix[i];
	}
	s->rules.nprefix = nprefixes;
	if ((s->account = hsm_account_open(h, account_key_uri,
	    allow_extractable, err, errlen)) == NULL)
		goto fail;
	if ((s->jwk = acme_jwk(hsm_account_pubkey(s->account))) == NULL) {
		snprintf(err, errlen, "ACME: account key has no JWK form");
		goto fail;
	}
	if (acme_jwk_thumbprint(hsm_account_pubkey(s->account),
	    s->thumbprint) == -1) {
		snprintf(err, errlen, "ACME: account key has no thumbprint");
		goto fail;
	}
	s->rules.alg = hsm_account_alg(s->account);
	s->rules.account_jwk = s->jwk;
	if (contact != NULL && contact[0] != '\0') {
		s->contact = xstrdup(contact);
		s->rules.contact = s->contact;
	}
	if (eab_kid != NULL) {
		s->eab_kid = xstrdup(eab_kid);
		s->eab_key_file = xstrdup(eab_key_file);
		s->rules.eab_kid = s->eab_kid;
	}
	return 0;
 fail:
	acme_signer_free(s);
	return -1;
}

/* DER of the first PEM block of text that reads as a CSR or a certificate. */
static unsigned char *
pem_der(const uint8_t *pem, size_t len, int is_csr, size_t *derlen)
{
	BIO		*b = len > 0 && len < INT_MAX ?
			    BIO_new_mem_buf(pem, (int)len) : NULL;
	X509_REQ	*req = NULL;
	X509		*crt = NULL;
	unsigned char	*der = NULL;
	int		 n = -1;

	if (b != NULL && is_csr &&
	    (req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL)) != NULL)
		n = i2d_X509_REQ(req, &der);
	else if (b != NULL && !is_csr &&
	    (crt = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		n = i2d_X509(crt, &der);
	X509_REQ_free(req);
	X509_free(crt);
	BIO_free(b);
	ERR_clear_error();
	*derlen = n > 0 ? (size_t)n : 0;
	return n > 0 ? der : NULL;
}

/* The names of the job's ["dns:a",...], capped as the policy caps them. */
static size_t
sans_count(const char *sans_json)
{
	json_t	*v = json_loads(sans_json, JSON_REJECT_DUPLICATES, NULL);
	size_t	 n = json_is_array(v) ? json_array_size(v) : 0;

	json_decref(v);
	return n > ACME_SIGN_MAX_NAMES ? ACME_SIGN_MAX_NAMES : n;
}

int
acme_job_view_init(struct acme_job_view *v, const struct wbuf *job)
{
	struct ipc_msg		m = { IPC_JOB_CA, 0, job->data, job->len, -1, 0 };
	struct ipc_job_ca	jc;

	memset(v, 0, sizeof(*v));
	if (ipc_dec_job_ca(&m, &jc) == -1)
		return -1;
	v->f.action = jc.action;
	v->f.reason = jc.reason;
	v->sans = xmalloc(jc.sans_len + 1);
	memcpy(v->sans, jc.sans_json, jc.sans_len);
	v->sans[jc.sans_len] = '\0';
	v->f.sans_json = v->sans;
	v->nnames = sans_count(v->sans);
	/* A revoke job carries the certificate where others carry the CSR. */
	if (jc.action == CA_REVOKE)
		v->f.cert_der = v->cert_der = pem_der(jc.csr, jc.csr_len, 0,
		    &v->f.cert_len);
	else
		v->f.csr_der = v->csr_der = pem_der(jc.csr, jc.csr_len, 1,
		    &v->f.csr_len);
	return 0;
}

void
acme_job_view_free(struct acme_job_view *v)
{
	free(v->sans);
	OPENSSL_free(v->csr_der);
	OPENSSL_free(v->cert_der);
	memset(v, 0, sizeof(*v));
}

enum acme_sign_verdict
acme_signer_answer(struct acme_signer *s, struct hsm *h,
    struct acme_sign_req *rq, uint8_t *sig, size_t *siglen, int *failed,
    char *err, size_t errlen)
{
	enum acme_sign_verdict	 v;

	*failed = 0;
	*siglen = 0;
	if ((v = acme_signer_check(s, rq)) != ACME_SIGN_OK)
		return v;
	if (rq->kind == JWS_ACCOUNT) {
		if (hsm_account_sign(h, s->account, rq->input, rq->len, sig,
		    siglen, err, errlen) == -1)
			*failed = 1;
	} else {
		if (acme_eab_mac(s->eab_key_file, (const char *)rq->input,
		    rq->len, sig, err, errlen) == -1)
			*failed = 1;
		else
			*siglen = ACME_HS256_LEN;
	}
	return v;
}

enum acme_sign_verdict
acme_signer_check(struct acme_signer *s, struct acme_sign_req *rq)
{
	const char		*in = (const char *)rq->input, *kid;
	enum acme_sign_verdict	 v;

	rq->url[0] = rq->kid[0] = '\0';
	rq->pinned = 0;
	if (rq->kind == JWS_ACCOUNT && rq->job_pins == NULL)
		v = ACME_SIGN_DENY_OP;
	else if (rq->kind == JWS_ACCOUNT) {
		v = acme_sign_op_check(&s->rules, rq->facts, rq->op, in,
		    rq->len, rq->url, sizeof(rq->url), rq->kid,
		    sizeof(rq->kid));
		kid = rq->kid[0] != '\0' ? rq->kid : NULL;
		if (v == ACME_SIGN_OK)
			v = acme_pin_check(&s->pins, rq->job_pins, rq->op,
			    rq->url, kid, rq->nnames);
		if (v == ACME_SIGN_OK)
			rq->pinned = acme_pin_learn(&s->pins, rq->job_pins,
			    rq->op, rq->url, kid);
		else
			rq->url[0] = rq->kid[0] = '\0';
	} else if (rq->kind == JWS_EAB)
		v = rq->facts == NULL || !acme_op_allowed(ACME_OP_NEW_ACCOUNT,
		    rq->facts->action) ? ACME_SIGN_DENY_OP :
		    acme_eab_check(&s->rules, in, rq->len);
	else
		v = ACME_SIGN_DENY_FORMAT;
	return v;
}

int
acme_signers_open(struct acme_signer **out, size_t *n,
    const struct config *cfg, struct hsm *h, char *err, size_t errlen)
{
	char	 e[512];
	size_t	 i;

	*n = 0;
	for (i = 0; i < cfg->nconnectors; i++) {
		const struct connector_cfg	*cc = &cfg->connectors[i];
		struct acme_signer		*s;

		if (!connector_kind_of(cc)->has_account_key)
			continue;
		s = xcalloc(1, sizeof(*s));
		if (acme_signer_init(s, h, cc->account_key_uri,
		    cfg->hsm_insecure_allow_extractable,
		    (const char *const *)cc->prefix, cc->nprefix, cc->eab_kid,
		    cc->eab_hmac_file, cc->contact, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "[connector %s] %s", cc->name, e);
			free(s);
			acme_signers_close(out, n);
			return -1;
		}
		s->connector = xstrdup(cc->name);
		out[(*n)++] = s;
	}
	return 0;
}

void
acme_signers_close(struct acme_signer **s, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		acme_signer_free(s[i]);
		free(s[i]);
		s[i] = NULL;
	}
	*n = 0;
}

struct acme_signer *
acme_signer_find(struct acme_signer *const *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i]->connector, name) == 0)
			return s[i];
	return NULL;
}
