/*
 * account_key.c - the ACME account key on the agent's token; see
 * hsm_account.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "acme_jws.h"
#include "hsm_account.h"
#include "hsm_int.h"
#include "p11uri.h"
#include "util.h"

struct hsm_account {
	unsigned char		 id[P11URI_MAX_ID];
	size_t			 id_len;
	char			*label;		/* CKA_LABEL, NULL if none */
	char			 name[300];	/* for messages */
	enum hsm_key_type	 type;
	int			 bits;
	EVP_PKEY		*pub;
	const char		*alg;
};

void
hsm_account_close(struct hsm_account *ak)
{
	if (ak == NULL)
		return;
	EVP_PKEY_free(ak->pub);
	free(ak->label);
	free(ak);
}

struct hsm_account *
hsm_account_open(struct hsm *h, const char *key_uri, int allow_extractable,
    char *err, size_t errlen)
{
	struct hsm_account	*ak = xcalloc(1, sizeof(*ak));
	struct p11uri		 u;
	PKCS11_KEY		*k;
	PKCS11_TOKEN		*tok;
	CK_OBJECT_HANDLE	 obj;

	if (p11uri_parse(key_uri, &u, err, errlen) == -1) {
		free(ak);
		return NULL;
	}
	if (h->slot == NULL || (tok = h->slot->token) == NULL ||
	    !hsm_token_matches(tok, &u)) {
		snprintf(err, errlen, "account key %s: not on the agent's "
		    "token: it must be on the token the agent logs in to",
		    key_uri);
		goto fail;
	}
	if (hsm_match_keys(tok, &u, &k, err, errlen) != 1)
		goto fail;
	if (k->id_len == 0 || k->id_len > sizeof(ak->id)) {
		snprintf(err, errlen, "account key %s: no usable CKA_ID",
		    key_uri);
		goto fail;
	}
	memcpy(ak->id, k->id, k->id_len);
	ak->id_len = k->id_len;
	ak->label = k->label != NULL ? xstrdup(k->label) : NULL;
	snprintf(ak->name, sizeof(ak->name), "token=%s;object=%s",
	    tok->label, k->label != NULL ? k->label : "");
	if (!h->have_sess ||
	    hsm_find_key_obj(h, ak->id, ak->id_len, ak->label, ak->name, &obj,
	    err, errlen) == -1 ||
	    hsm_check_key_obj(h, obj, ak->name, allow_extractable, &ak->type,
	    err, errlen) == -1)
		goto fail;
	if ((ak->pub = PKCS11_get_public_key(k)) == NULL ||
	    (ak->alg = acme_jws_alg(ak->pub)) == NULL ||
	    (ak->type == HSM_KEY_EC) !=
	    (EVP_PKEY_get_base_id(ak->pub) == EVP_PKEY_EC)) {
		snprintf(err, errlen, "account key '%s': no EC P-256 or RSA "
		    "public key on the token for it", ak->name);
		goto fail;
	}
	ak->bits = EVP_PKEY_get_bits(ak->pub);
	if (hsm_check_mechs(h, obj, ak->type, ak->bits, ak->pub, HSM_ROLE_JWS,
	    ak->name, err, errlen) == -1)
		goto fail;
	p11uri_free(&u);
	return ak;
 fail:
	p11uri_free(&u);
	hsm_account_close(ak);
	return NULL;
}

EVP_PKEY *
hsm_account_pubkey(const struct hsm_account *ak)
{
	return ak->pub;
}

const char *
hsm_account_alg(const struct hsm_account *ak)
{
	return ak->alg;
}

/* One attempt: the key found again (its handle may be stale), then C_Sign. */
static int
account_sign_once(struct hsm *h, const struct hsm_account *ak,
    const uint8_t *md, uint8_t *sig, size_t *siglen, char *err,
    size_t errlen)
{
	CK_OBJECT_HANDLE	 obj;
	enum sign_scheme	 scheme = ak->type == HSM_KEY_EC ?
	    SCHEME_ECDSA_SHA256 : SCHEME_RSA_PKCS1_SHA256;

	if (!h->have_sess) {
		snprintf(err, errlen, "the token is unavailable");
		return -1;
	}
	if (hsm_find_key_obj(h, ak->id, ak->id_len, ak->label, ak->name, &obj,
	    err, errlen) == -1)
		return -1;
	return hsm_sign_obj(h, obj, ak->type, ak->bits, scheme, md,
	    SHA256_DIGEST_LENGTH, sig, siglen, err, errlen);
}

/* As hsm_sign: after a token fault, once more on a new session. */
int
hsm_account_sign(struct hsm *h, const struct hsm_account *ak,
    const uint8_t *input, size_t len, uint8_t *sig, size_t *siglen,
    char *err, size_t errlen)
{
	uint8_t	 md[SHA256_DIGEST_LENGTH];

	SHA256(input, len, md);
	if (account_sign_once(h, ak, md, sig, siglen, err, errlen) == 0)
		return 0;
	if (hsm_recover(h, err, errlen) == -1)
		return -1;
	return account_sign_once(h, ak, md, sig, siglen, err, errlen);
}
