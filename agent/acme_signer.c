/*
 * acme_signer.c - see acme_signer.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_eab.h"
#include "acme_signer.h"
#include "config.h"
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
	for (i = 0; i < ACME_SIGN_MAX_PREFIXES; i++)
		free(s->prefix[i]);
	memset(s, 0, sizeof(*s));
}

int
acme_signer_init(struct acme_signer *s, struct hsm *h,
    const char *account_key_uri, int allow_extractable,
    const char *const *prefixes, size_t nprefixes, const char *eab_kid,
    const char *eab_key_file, char *err, size_t errlen)
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
	s->rules.alg = hsm_account_alg(s->account);
	s->rules.account_jwk = s->jwk;
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

enum acme_sign_verdict
acme_signer_answer(struct acme_signer *s, struct hsm *h, uint8_t kind,
    const uint8_t *input, size_t len, uint8_t *sig, size_t *siglen,
    int *failed, char *err, size_t errlen)
{
	const char		*in = (const char *)input;
	enum acme_sign_verdict	 v;

	*failed = 0;
	*siglen = 0;
	if (kind == JWS_ACCOUNT)
		v = acme_sign_check(&s->rules, in, len);
	else if (kind == JWS_EAB)
		v = acme_eab_check(&s->rules, in, len);
	else
		v = ACME_SIGN_DENY_FORMAT;
	if (v != ACME_SIGN_OK)
		return v;
	if (kind == JWS_ACCOUNT) {
		if (hsm_account_sign(h, s->account, input, len, sig, siglen,
		    err, errlen) == -1)
			*failed = 1;
	} else {
		if (acme_eab_mac(s->eab_key_file, in, len, sig, err,
		    errlen) == -1)
			*failed = 1;
		else
			*siglen = ACME_HS256_LEN;
	}
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

		if (strcmp(cc->type, "acme") != 0)
			continue;
		s = xcalloc(1, sizeof(*s));
		if (acme_signer_init(s, h, cc->account_key_uri,
		    cfg->hsm_insecure_allow_extractable,
		    (const char *const *)cc->prefix, cc->nprefix, cc->eab_kid,
		    cc->eab_hmac_file, e, sizeof(e)) == -1) {
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
