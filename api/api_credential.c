/*
 * api_credential.c - rotating the gateway credential inside the HSM,
 * for admins (policy [admins]) only.
 *
 *   credential_new     a key pair generated in the token and a CSR for
 *                      it signed there (hsm/keygen.c); the agent keeps
 *                      using the current key. The operator has the CSR
 *                      certified and installs the certificate in place
 *                      of [hsm] certificate: cred_watch.c then switches
 *                      to the new key for the next handshake and names
 *                      the old one retirable.
 *                      With role "checkpoint", the audit log's
 *                      checkpoint key instead: EC P-256, no CSR; the
 *                      reply carries its public key and C2SP verifier
 *                      key line for auditors.
 *   credential_retire  destroys the retirable key (or the one named) on
 *                      the token; never the key in use.
 * Both are audited (credential.new, credential.retire).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent.h"
#include "audit_checkpoint.h"
#include "hsm_worker.h"
#include "api_request.h"
#include "hsm.h"
#include "log.h"
#include "util.h"

/* The current certificate's CN: the new key asks for the same name. */
static void
current_cn(const struct agent *a, char *out, size_t len)
{
	BIO	*b = BIO_new_mem_buf(a->pub.chain_pem, (int)a->pub.chain_len);
	X509	*x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	snprintf(out, len, "hsmagent");
	if (x != NULL && X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, out, (int)len) <= 0)
		snprintf(out, len, "hsmagent");
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
}

/*
 * The token lock for a credential operation (hsm_worker.h): held on 0;
 * on 1 the caller was told the token is busy (a signature holds it, or
 * it does not answer) and nothing was done.
 */
static int
token_busy(struct agent *a, struct api_conn *c, const char *event,
    const char *subject)
{
	if (hsm_worker_lock(a->hsm_worker, HSM_LOCK_WAIT_MS) == 0)
		return 0;
	if (api_ops_audit(a, c, event, subject, "failed", json_pack("{s:s}",
	    "error", "the token is busy or not answering")) == 0)
		api_reply_error(c, "busy", "the token has not been free for %d "
		    "ms (a signature holds it or it does not answer): nothing "
		    "was done; try again", HSM_LOCK_WAIT_MS);
	return 1;
}

/*
 * The reply's "key" for a new checkpoint key: no CSR; its public key as
 * PEM and as the C2SP verifier key line auditors are given.
 */
static json_t *
checkpoint_reply(struct agent *a, const struct hsm_newkey *nk)
{
	BIO		*b = BIO_new_mem_buf(nk->pub_pem, -1);
	EVP_PKEY	*pub = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	char		 vkey[512];
	json_t		*j = NULL;

	if (pub != NULL && audit_ckpt_vkey(a, pub, vkey, sizeof(vkey)) >
	    0)
		j = json_pack("{s:s,s:s}", "public_key", nk->pub_pem, "vkey",
		    vkey);
	EVP_PKEY_free(pub);
	BIO_free(b);
	ERR_clear_error();
	return j;
}

static void
op_new(struct agent *a, struct api_conn *c, struct api_request *r)
{
	struct hsm_keygen	kg;
	struct hsm_newkey	nk;
	char			cn[256], err[512], uri[512];
	int			rc, ckpt = strcmp(r->role, "checkpoint") == 0;
	json_t			*reply, *extra;

	if (r->subject[0] != '\0')
		snprintf(cn, sizeof(cn), "%s", r->subject);
	else
		current_cn(a, cn, sizeof(cn));
	if (api_ops_audit(a, c, "credential.new", NULL, "intent", ckpt ?
	    json_pack("{s:s,s:s}", "role", r->role, "type", r->key_type) :
	    json_pack("{s:s,s:s,s:i,s:s}", "role", r->role, "type",
	    r->key_type, "bits", (int)r->bits, "subject_cn", cn)) == -1)
		return;
	memset(&kg, 0, sizeof(kg));
	kg.type = strcmp(r->key_type, "rsa") == 0 ? HSM_KEY_RSA : HSM_KEY_EC;
	kg.bits = (int)r->bits;
	kg.subject_cn = ckpt ? NULL : cn;
	kg.label_prefix = ckpt ? "hsmagent-checkpoint" : NULL;
	if (token_busy(a, c, "credential.new", NULL))
		return;
	rc = hsm_keygen(a->hsm, &kg, &nk, err, sizeof(err));
	hsm_worker_unlock(a->hsm_worker);
	if (rc == -1) {
		log_error("credential new: %s", err);
		if (api_ops_audit(a, c, "credential.new", NULL, "failed",
		    json_pack("{s:s}", "error", err)) == 0)
			api_reply_error(c, "internal", "the token could not make "
			    "the key: %s", err);
		return;
	}
	hsm_id_uri(a->hsm, nk.id_hex, uri, sizeof(uri));
	extra = ckpt ? checkpoint_reply(a, &nk) : json_pack("{s:s}", "csr",
	    nk.csr_pem);
	if (extra == NULL) {
		/* Not reached for a key the token just made and checked. */
		if (api_ops_audit(a, c, "credential.new", nk.label, "failed",
		    json_pack("{s:s,s:s}", "key_id", nk.id_hex, "error",
		    "no verifier key for the new public key")) == 0)
			api_reply_error(c, "internal", "key %s was made but its "
			    "verifier key could not be written; retire it "
			    "with credential retire --key-id %s", nk.id_hex,
			    nk.id_hex);
		goto out;
	}
	if (ckpt)
		log_info("credential new: checkpoint key %s (id %s) made in the "
		    "token; verifier key %s", nk.label, nk.id_hex,
		    json_string_value(json_object_get(extra, "vkey")));
	else
		log_info("credential new: key %s (id %s, %s-%d) made in the "
		    "token; the current key stays in use until its certificate "
		    "is installed", nk.label, nk.id_hex, r->key_type, nk.bits);
	if (api_ops_audit(a, c, "credential.new", nk.label, "ok", ckpt ?
	    json_pack("{s:s,s:s,s:s,s:O}", "role", r->role, "key_id",
	    nk.id_hex, "type", r->key_type, "vkey", json_object_get(extra,
	    "vkey")) : json_pack("{s:s,s:s,s:s,s:i,s:s}", "role", r->role,
	    "key_id", nk.id_hex, "type", r->key_type, "bits", nk.bits,
	    "subject_cn", cn)) == 0) {
		reply = json_pack("{s:b,s:{s:s,s:s,s:s,s:s,s:i,s:s}}", "ok", 1,
		    "key", "id", nk.id_hex, "label", nk.label, "role", r->role,
		    "type", r->key_type, "bits", nk.bits, "uri", uri);
		json_object_update(reply, extra);
		api_reply(c, reply);
	}
	json_decref(extra);
 out:
	free(nk.csr_pem);
	free(nk.pub_pem);
}

/*
 * Which role's setting names the key with this CKA_ID, if any besides
 * [hsm] key_uri: the audit checkpoint key and each ACME account key are
 * in use as long as the configuration names them, and a retired one
 * would stop the checkpoints or lose the account.
 */
static const char *
named_elsewhere(struct agent *a, const char *id, char *what, size_t len)
{
	const struct config	*cfg = a->cfg;
	char			 hex[129];

	if (cfg->ckpt_key_uri != NULL && hsm_uri_key_id(a->hsm,
	    cfg->ckpt_key_uri, hex, sizeof(hex)) == 0 && strcmp(hex, id) == 0) {
		snprintf(what, len, "[state] checkpoint_key_uri");
		return what;
	}
	for (size_t i = 0; i < cfg->nconnectors; i++) {
		const struct connector_cfg *cc = &cfg->connectors[i];

		if (cc->account_key_uri != NULL && hsm_uri_key_id(a->hsm,
		    cc->account_key_uri, hex, sizeof(hex)) == 0 &&
		    strcmp(hex, id) == 0) {
			snprintf(what, len, "[connector %s] account_key_uri",
			    cc->name);
			return what;
		}
	}
	return NULL;
}

static void
op_retire(struct agent *a, struct api_conn *c, struct api_request *r)
{
	char	 id[sizeof(a->cred.retirable_id)], label[128], err[512];
	char	 conf_id[sizeof(a->cred.retirable_id)], cur[sizeof(a->cred.retirable_id)];
	char	 uri[512], what[128];
	int	 rc;

	snprintf(id, sizeof(id), "%s", r->key_id[0] ? r->key_id :
	    a->cred.retirable_id);
	if (id[0] == '\0') {
		api_reply_error(c, "bad_request", "no key is known to be "
		    "retirable (none was switched away from since the start); "
		    "name one with key_id");
		return;
	}
	/*
	 * The key [hsm] key_uri names is what the next start looks for:
	 * gone, the agent would not start. The operator points key_uri at
	 * the key in use first.
	 */
	if (token_busy(a, c, "credential.retire", id))
		return;
	if (hsm_uri_key_id(a->hsm, a->cfg->hsm_key_uri, conf_id,
	    sizeof(conf_id)) == 0 && strcmp(conf_id, id) == 0) {
		hsm_worker_unlock(a->hsm_worker);
		hsm_current_id(a->hsm, cur, sizeof(cur));
		hsm_id_uri(a->hsm, cur, uri, sizeof(uri));
		if (api_ops_audit(a, c, "credential.retire", id, "refused",
		    json_pack("{s:s}", "reason", "named by [hsm] key_uri")) == 0)
			api_reply_error(c, "bad_request", "key %s is the one "
			    "[hsm] key_uri in %s names: without it the agent would "
			    "not start. Set key_uri = %s (the key in use), reload "
			    "or restart, then retire it", id, a->cfg->path ?
			    a->cfg->path : "the configuration", uri);
		return;
	}
	if (named_elsewhere(a, id, what, sizeof(what)) != NULL) {
		hsm_worker_unlock(a->hsm_worker);
		if (api_ops_audit(a, c, "credential.retire", id, "refused",
		    json_pack("{s:s}", "reason", what)) == 0)
			api_reply_error(c, "bad_request", "key %s is the one %s "
			    "in %s names: it is in use. Point %s at another "
			    "key and restart first", id, what, a->cfg->path ?
			    a->cfg->path : "the configuration", what);
		return;
	}
	if (api_ops_audit(a, c, "credential.retire", id, "intent", NULL) ==
	    -1) {
		hsm_worker_unlock(a->hsm_worker);
		return;
	}
	rc = hsm_retire(a->hsm, id, label, sizeof(label), err, sizeof(err));
	hsm_worker_unlock(a->hsm_worker);
	if (rc == -1) {
		if (api_ops_audit(a, c, "credential.retire", id, "failed",
		    json_pack("{s:s}", "error", err)) == 0)
			api_reply_error(c, "bad_request", "%s", err);
		return;
	}
	if (strcmp(id, a->cred.retirable_id) == 0)
		a->cred.retirable_id[0] = '\0';
	log_info("credential retire: key %s (id %s) destroyed on the token",
	    label, id);
	if (api_ops_audit(a, c, "credential.retire", id, "ok", json_pack(
	    "{s:s}", "label", label)) == 0)
		api_reply(c, json_pack("{s:b,s:{s:s,s:s}}", "ok", 1, "retired",
		    "id", id, "label", label));
}

void
api_credential_handle(struct agent *a, struct api_conn *c,
    struct api_request *r)
{
	if (!api_ops_is_admin(a, c)) {
		if (api_ops_audit(a, c, r->op == OP_CREDENTIAL_NEW ?
		    "credential.new" : "credential.retire", NULL, "denied",
		    json_pack("{s:s}", "reason", "not an admin")) == 0)
			api_reply_error(c, "policy_denied", "only admins "
			    "([admins] in the policy) may change the gateway "
			    "credential");
		return;
	}
	if (r->op == OP_CREDENTIAL_NEW)
		op_new(a, c, r);
	else
		op_retire(a, c, r);
}
