/*
 * hsm_public.c - what hsmagentd -t can see on the token without a login:
 * the module loads, the token is there, and the public key object of a
 * private key URI (same label or id), to compare with the certificate
 * and with the other keys. No C_Login, so no PIN attempt is spent.
 */
#include <stdio.h>
#include <string.h>

#include <libp11.h>
#include <openssl/err.h>

#include "hsm.h"
#include "hsm_int.h"
#include "p11uri.h"

EVP_PKEY *
hsm_public_key(const char *module, const char *key_uri, char *err,
    size_t errlen)
{
	PKCS11_CTX	*ctx = PKCS11_CTX_new();
	PKCS11_SLOT	*slots = NULL, *slot = NULL;
	PKCS11_KEY	*keys = NULL;
	unsigned int	 nslots = 0, nkeys = 0, nslot = 0;
	struct p11uri	 u;
	EVP_PKEY	*pub = NULL;

	if (p11uri_parse(key_uri, &u, err, errlen) == -1) {
		PKCS11_CTX_free(ctx);
		return NULL;
	}
	if (ctx == NULL || PKCS11_CTX_load(ctx, module) != 0) {
		snprintf(err, errlen, "cannot load PKCS#11 module %s", module);
		goto out;
	}
	if (PKCS11_enumerate_slots(ctx, &slots, &nslots) != 0) {
		snprintf(err, errlen, "cannot list the slots of %s", module);
		goto unload;
	}
	for (unsigned int i = 0; i < nslots; i++)
		if (hsm_token_matches(slots[i].token, &u)) {
			slot = &slots[i];
			nslot++;
		}
	if (nslot != 1) {
		snprintf(err, errlen, "%s token matches %s", nslot ? "more than "
		    "one" : "no", key_uri);
		goto release;
	}
	if (PKCS11_enumerate_public_keys(slot->token, &keys, &nkeys) != 0)
		nkeys = 0;
	for (unsigned int i = 0; i < nkeys && pub == NULL; i++) {
		PKCS11_KEY *k = &keys[i];

		if ((u.object != NULL && (k->label == NULL ||
		    strcmp(k->label, u.object) != 0)) || (u.id_len != 0 &&
		    (k->id_len != u.id_len || memcmp(k->id, u.id,
		    u.id_len) != 0)))
			continue;
		pub = PKCS11_get_public_key(k);
	}
	if (pub == NULL)
		snprintf(err, errlen, "no key on token '%s' matches %s (no "
		    "public key object with that label or id)",
		    slot->token->label, key_uri);
 release:
	PKCS11_release_all_slots(ctx, slots, nslots);
 unload:
	PKCS11_CTX_unload(ctx);
 out:
	PKCS11_CTX_free(ctx);
	p11uri_free(&u);
	ERR_clear_error();
	return pub;
}
