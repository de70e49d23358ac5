/*
 * key_roles.c - one key, one role.
 *
 * The TLS client key signs whatever digest a handshake of a job in
 * flight needs; an ACME account key signs only JWS that acme_sign_policy
 * has read. If one key held both roles, the TLS path would sign any JWS
 * the child cared to hash, and the ACME checks would be moot. So no two
 * roles may share a key, compared by public key (two URIs can name one
 * key), at start and whenever the client certificate changes. The audit
 * log's checkpoint key is a role too: a key that signed checkpoints and
 * anything else could sign a checkpoint for whoever asked.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "acme_signer.h"
#include "agent.h"
#include "audit_checkpoint.h"
#include "hsm_account.h"

int
key_roles_check(const struct agent *a, const char *cert_pem, size_t len,
    char *err, size_t errlen)
{
	BIO		*bio = len < INT32_MAX ? BIO_new_mem_buf(cert_pem,
			    (int)len) : NULL;
	X509		*x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	EVP_PKEY	*tls = x ? X509_get0_pubkey(x) : NULL, *ck, *pk;
	int		 r = -1;

	if (tls == NULL) {
		snprintf(err, errlen, "the client certificate has no public "
		    "key to compare");
		goto out;
	}
	ck = audit_ckpt_pubkey(a);
	pk = audit_ckpt_prev_pubkey(a);
	if ((ck != NULL && EVP_PKEY_eq(ck, tls) == 1) || (pk != NULL &&
	    EVP_PKEY_eq(pk, tls) == 1)) {
		snprintf(err, errlen, "[state] checkpoint_%skey_uri names the "
		    "TLS client key: one key, one role; give the checkpoints "
		    "their own key", pk != NULL && EVP_PKEY_eq(pk, tls) == 1 ?
		    "previous_" : "");
		goto out;
	}
	for (size_t i = 0; i < a->nacme; i++) {
		EVP_PKEY *k = hsm_account_pubkey(a->acme[i]->account);

		if ((ck != NULL && EVP_PKEY_eq(k, ck) == 1) || (pk != NULL &&
		    EVP_PKEY_eq(k, pk) == 1)) {
			snprintf(err, errlen, "[connector %s] account_key_uri "
			    "and [state] checkpoint_%skey_uri name the same key: "
			    "one key, one role", a->acme[i]->connector,
			    ck != NULL && EVP_PKEY_eq(k, ck) == 1 ? "" :
			    "previous_");
			goto out;
		}
		if (EVP_PKEY_eq(k, tls) == 1) {
			snprintf(err, errlen, "[connector %s] account_key_uri "
			    "names the TLS client key (the certificate's): one "
			    "key, one role; give the ACME account its own key",
			    a->acme[i]->connector);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (EVP_PKEY_eq(k, hsm_account_pubkey(
			    a->acme[j]->account)) == 1) {
				snprintf(err, errlen, "[connector %s] and "
				    "[connector %s] have the same ACME account "
				    "key: one key, one role", a->acme[j]->connector,
				    a->acme[i]->connector);
				goto out;
			}
	}
	r = 0;
 out:
	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}
