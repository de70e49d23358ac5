/*
 * hsm.c - token, login and key selection through libp11, and a new
 * session or the whole module again after a token fault; the signatures
 * themselves are hsm_sign.c's. See hsm.h for the contract.
 *
 * Why two layers: libp11 0.4.12 (Debian 12) finds tokens and keys and
 * logs in well, but it has no call that signs with CKM_RSA_PKCS_PSS (its
 * EVP_PKEY pads PSS itself and sends CKM_RSA_X_509, raw RSA, to the
 * token) and none that reads CKA_SENSITIVE / CKA_EXTRACTABLE. So after
 * libp11 has loaded the module and logged in, we take the module's own
 * CK_FUNCTION_LIST (the same, already initialised, instance: dlopen with
 * RTLD_NOLOAD) and call C_GetAttributeValue, C_SignInit and C_Sign on a
 * session of our own. Login state is per application in PKCS#11, so
 * that session is logged in too.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libp11.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "hsm.h"
#include "hsm_int.h"
#include "log.h"
#include "p11uri.h"
#include "pin.h"
#include "util.h"

#define CERT_FILE_MAX	(1024 * 1024)

const char *
ckr_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:				return "CKR_OK";
	case CKR_PIN_INCORRECT:			return "CKR_PIN_INCORRECT";
	case CKR_PIN_LOCKED:			return "CKR_PIN_LOCKED";
	case CKR_PIN_LEN_RANGE:			return "CKR_PIN_LEN_RANGE";
	case CKR_DEVICE_ERROR:			return "CKR_DEVICE_ERROR";
	case CKR_DEVICE_REMOVED:		return "CKR_DEVICE_REMOVED";
	case CKR_TOKEN_NOT_PRESENT:		return "CKR_TOKEN_NOT_PRESENT";
	case CKR_SESSION_HANDLE_INVALID:	return "CKR_SESSION_HANDLE_INVALID";
	case CKR_SESSION_CLOSED:		return "CKR_SESSION_CLOSED";
	case CKR_USER_NOT_LOGGED_IN:		return "CKR_USER_NOT_LOGGED_IN";
	case CKR_MECHANISM_INVALID:		return "CKR_MECHANISM_INVALID";
	case CKR_MECHANISM_PARAM_INVALID:	return "CKR_MECHANISM_PARAM_INVALID";
	case CKR_KEY_FUNCTION_NOT_PERMITTED:	return "CKR_KEY_FUNCTION_NOT_PERMITTED";
	case CKR_DATA_LEN_RANGE:		return "CKR_DATA_LEN_RANGE";
	case CKR_GENERAL_ERROR:			return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED:		return "CKR_FUNCTION_FAILED";
	case CKR_CRYPTOKI_NOT_INITIALIZED:	return "CKR_CRYPTOKI_NOT_INITIALIZED";
	case CKR_ATTRIBUTE_READ_ONLY:		return "CKR_ATTRIBUTE_READ_ONLY";
	case CKR_ATTRIBUTE_TYPE_INVALID:	return "CKR_ATTRIBUTE_TYPE_INVALID";
	case CKR_ATTRIBUTE_SENSITIVE:		return "CKR_ATTRIBUTE_SENSITIVE";
	case CKR_TEMPLATE_INCONSISTENT:		return "CKR_TEMPLATE_INCONSISTENT";
	case CKR_ATTRIBUTE_VALUE_INVALID:	return "CKR_ATTRIBUTE_VALUE_INVALID";
	default:				return "CKR_other";
	}
}

/* Drains OpenSSL's error queue into one short string. */
static const char *
ossl_errstr(char *buf, size_t len)
{
	unsigned long e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		snprintf(buf, len, "no further detail");
	else
		ERR_error_string_n(last, buf, len);
	return buf;
}

int
hsm_token_matches(const PKCS11_TOKEN *t, const struct p11uri *u)
{
	if (t == NULL || !t->initialized)
		return 0;
	if (u->token && (t->label == NULL || strcmp(u->token, t->label) != 0))
		return 0;
	if (u->serial && (t->serialnr == NULL ||
	    strcmp(u->serial, t->serialnr) != 0))
		return 0;
	if (u->manufacturer && (t->manufacturer == NULL ||
	    strcmp(u->manufacturer, t->manufacturer) != 0))
		return 0;
	if (u->model && (t->model == NULL || strcmp(u->model, t->model) != 0))
		return 0;
	return 1;
}

static int
select_token(struct hsm *h, const struct p11uri *u, char *err, size_t errlen)
{
	unsigned int matches = 0;

	if (PKCS11_enumerate_slots(h->ctx, &h->slots, &h->nslots) != 0) {
		char e[256];

		snprintf(err, errlen, "cannot list PKCS#11 slots: %s",
		    ossl_errstr(e, sizeof(e)));
		return -1;
	}
	for (unsigned int i = 0; i < h->nslots; i++) {
		if (hsm_token_matches(h->slots[i].token, u)) {
			h->slot = &h->slots[i];
			matches++;
		}
	}
	if (matches == 0) {
		snprintf(err, errlen, "no token matches the key URI (token=%s "
		    "serial=%s); check the label and that the token is present",
		    u->token ? u->token : "*", u->serial ? u->serial : "*");
		return -1;
	}
	if (matches > 1) {
		snprintf(err, errlen, "%u tokens match the key URI; add "
		    "'serial=' to choose one", matches);
		return -1;
	}
	return 0;
}

/* Exactly one C_Login; the PIN is wiped whatever happens. */
static int
login_once(struct hsm *h, const char *pin_file, const unsigned char *expect,
    char *err, size_t errlen)
{
	PKCS11_TOKEN	*t = h->slot->token;
	char		*pin = NULL, e[256];
	size_t		 pincap = 0;
	int		 rc;

	if (t->userPinLocked) {
		snprintf(err, errlen, "token '%s': user PIN is locked; unlock "
		    "it with the SO PIN first", t->label);
		return -1;
	}
	if (t->userPinFinalTry) {
		snprintf(err, errlen, "token '%s' reports one PIN attempt left; "
		    "refusing to risk locking it: log in once by hand with the "
		    "right PIN to reset the counter", t->label);
		return -1;
	}
	if (pin_read(pin_file, &pin, &pincap, err, errlen) == -1)
		return -1;
	if (expect != NULL) {
		unsigned char md[32];

		/* Only the PIN that worked before: never spend a retry. */
		if (EVP_Digest(pin, strlen(pin), md, NULL, EVP_sha256(),
		    NULL) != 1 || CRYPTO_memcmp(md, expect, sizeof(md)) != 0) {
			freezero(pin, pincap);
			snprintf(err, errlen, "the PIN file no longer holds the "
			    "PIN that worked: not trying it (restart the agent "
			    "to log in with a new PIN)");
			return -1;
		}
	}
	rc = PKCS11_login(h->slot, 0, pin);
	/* Kept: the PIN's hash, never the PIN (see hsm_relogin). */
	if (rc == 0 && EVP_Digest(pin, strlen(pin), h->pin_sha256, NULL,
	    EVP_sha256(), NULL) == 1)
		h->have_pin_sha256 = 1;
	freezero(pin, pincap);
	if (rc != 0) {
		/* libp11 raises the CK_RV as the error's reason. */
		CK_RV why = ERR_GET_REASON(ERR_peek_last_error());

		if (why == CKR_PIN_LOCKED) {
			ERR_clear_error();
			snprintf(err, errlen, "login to token '%s' failed "
			    "(CKR_PIN_LOCKED), although the token did not report "
			    "the PIN locked before: a TPM (tpm2-pkcs11) does this "
			    "in dictionary-attack lockout, after wrong PINs or "
			    "other failed authorisations by any TPM user; it ends "
			    "after the TPM's recovery time or with "
			    "tpm2_dictionarylockout --clear-lockout. One attempt "
			    "was made and none will be retried", t->label);
			return -1;
		}
		snprintf(err, errlen, "login to token '%s' failed (%s); one "
		    "attempt was made and none will be retried: check the PIN "
		    "file", t->label, ossl_errstr(e, sizeof(e)));
		return -1;
	}
	return 0;
}

/* The private keys of the token the URI's object and id select. */
unsigned int
hsm_match_keys(PKCS11_TOKEN *tok, const struct p11uri *u, PKCS11_KEY **match,
    char *err, size_t errlen)
{
	PKCS11_KEY	*keys;
	unsigned int	 nkeys, matches = 0;

	*match = NULL;
	if (PKCS11_enumerate_keys(tok, &keys, &nkeys) != 0) {
		char e[256];

		snprintf(err, errlen, "cannot list keys: %s",
		    ossl_errstr(e, sizeof(e)));
		return 0;
	}
	for (unsigned int i = 0; i < nkeys; i++) {
		PKCS11_KEY *k = &keys[i];

		if (!k->isPrivate)
			continue;
		if (u->object && (k->label == NULL ||
		    strcmp(k->label, u->object) != 0))
			continue;
		if (u->id_len && (k->id_len != u->id_len ||
		    memcmp(k->id, u->id, u->id_len) != 0))
			continue;
		*match = k;
		matches++;
	}
	if (matches != 1)
		snprintf(err, errlen, "%s private key matches the URI "
		    "(object=%s) on token '%s'", matches ? "more than one" :
		    "no", u->object ? u->object : "*", tok->label);
	return matches;
}

static int
select_key(struct hsm *h, const struct p11uri *u, char *err, size_t errlen)
{
	if (hsm_match_keys(h->slot->token, u, &h->key, err, errlen) != 1)
		return -1;
	snprintf(h->label, sizeof(h->label), "token=%s;object=%s",
	    h->slot->token->label, h->key->label ? h->key->label : "");
	return 0;
}

/* The module's function list and a session of our own; see top comment. */
/*
 * The handle of the one private key object with this CKA_ID (and
 * CKA_LABEL, if label is set) in our raw session; name is for messages.
 */
int
hsm_find_key_obj(struct hsm *h, const unsigned char *id, size_t id_len,
    const char *label, const char *name, CK_OBJECT_HANDLE *obj, char *err,
    size_t errlen)
{
	CK_RV			 rv;
	CK_OBJECT_CLASS		 cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE		 tmpl[3];
	CK_ULONG		 n = 0, found = 0;
	CK_OBJECT_HANDLE	 objs[2];

	tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	tmpl[n++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
	if (label)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label,
		    strlen(label) };
	if ((rv = h->fl->C_FindObjectsInit(h->sess, tmpl, n)) != CKR_OK ||
	    (rv = h->fl->C_FindObjects(h->sess, objs, 2, &found)) != CKR_OK) {
		h->last_rv = rv;	/* a token fault here is one to recover from */
		snprintf(err, errlen, "C_FindObjects: %s", ckr_name(rv));
		return -1;
	}
	h->fl->C_FindObjectsFinal(h->sess);
	if (found == 0) {
		snprintf(err, errlen, "key '%s' is not on the token (gone, or "
		    "not readable)", name);
		return -1;
	}
	if (found != 1) {
		snprintf(err, errlen, "key '%s': %lu objects share its id and "
		    "label; refusing to guess", name, (unsigned long)found);
		return -1;
	}
	*obj = objs[0];
	return 0;
}

/* The object handle of h->key for the raw C_Sign path. */
static int
find_obj(struct hsm *h, char *err, size_t errlen)
{
	return hsm_find_key_obj(h, h->key->id, h->key->id_len, h->key->label,
	    h->label, &h->obj, err, errlen);
}

/*
 * Our own instance of a module that gives each caller one (the p11-kit
 * proxy): initialised, and checked to show libp11's slot with the same
 * token. CKR_OK, or err set.
 */
static CK_RV
own_instance(struct hsm *h, char *err, size_t errlen)
{
	CK_C_INITIALIZE_ARGS	 args;
	CK_TOKEN_INFO		 ti;
	CK_RV			 rv;
	const char		*want = h->slot->token->label;
	size_t			 wl = strlen(want), n;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	if ((rv = h->fl->C_Initialize(&args)) != CKR_OK) {
		snprintf(err, errlen, "C_Initialize (the module's instance for "
		    "signing): %s (0x%lx)", ckr_name(rv), (unsigned long)rv);
		return rv;
	}
	h->own_init = 1;
	memset(&ti, 0, sizeof(ti));
	if ((rv = h->fl->C_GetTokenInfo(PKCS11_get_slotid_from_slot(h->slot),
	    &ti)) != CKR_OK) {
		snprintf(err, errlen, "C_GetTokenInfo: %s (0x%lx)",
		    ckr_name(rv), (unsigned long)rv);
		return rv;
	}
	/* The label is space-padded to 32 bytes. */
	for (n = sizeof(ti.label); n > 0 && ti.label[n - 1] == ' '; n--)
		;
	if (n != wl || memcmp(ti.label, want, n) != 0) {
		snprintf(err, errlen, "the module's second instance shows "
		    "another token in slot %lu than '%s'",
		    (unsigned long)PKCS11_get_slotid_from_slot(h->slot), want);
		return CKR_GENERAL_ERROR;
	}
	return CKR_OK;
}

static int
open_raw(struct hsm *h, const char *module, char *err, size_t errlen)
{
	CK_C_GetFunctionList	 getfl;
	CK_RV			 rv;

	if ((h->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD)) ==
	    NULL || (getfl = (CK_C_GetFunctionList)dlsym(h->dl,
	    "C_GetFunctionList")) == NULL || getfl(&h->fl) != CKR_OK) {
		snprintf(err, errlen, "cannot reach C_GetFunctionList of %s",
		    module);
		return -1;
	}
	rv = h->fl->C_OpenSession(PKCS11_get_slotid_from_slot(h->slot),
	    CKF_SERIAL_SESSION, NULL, NULL, &h->sess);
	/*
	 * p11-kit-proxy.so hands every C_GetFunctionList caller an instance
	 * of its own: ours is not libp11's, and not initialised. Initialised
	 * here, it reaches the same module, whose login is per process.
	 */
	if (rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
		if ((rv = own_instance(h, err, errlen)) != CKR_OK)
			return -1;
		rv = h->fl->C_OpenSession(PKCS11_get_slotid_from_slot(h->slot),
		    CKF_SERIAL_SESSION, NULL, NULL, &h->sess);
	}
	if (rv != CKR_OK) {
		snprintf(err, errlen, "C_OpenSession: %s (0x%lx)", ckr_name(rv),
		    (unsigned long)rv);
		return -1;
	}
	h->have_sess = 1;
	return find_obj(h, err, errlen);
}

/* Refuse keys that could leave the token, or that cannot sign. */
int
hsm_check_key_obj(struct hsm *h, CK_OBJECT_HANDLE obj, const char *name,
    int allow_extractable, enum hsm_key_type *type, char *err, size_t errlen)
{
	CK_KEY_TYPE	 kt = 0;
	CK_BBOOL	 sensitive = CK_FALSE, extractable = CK_TRUE;
	CK_BBOOL	 sign = CK_FALSE, always_auth = CK_FALSE;
	CK_ATTRIBUTE	 a[] = {
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_SENSITIVE, &sensitive, sizeof(sensitive) },
		{ CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
		{ CKA_SIGN, &sign, sizeof(sign) },
	};
	CK_ATTRIBUTE	 aa = { CKA_ALWAYS_AUTHENTICATE, &always_auth,
		sizeof(always_auth) };
	CK_RV		 rv;

	rv = h->fl->C_GetAttributeValue(h->sess, obj, a, 4);
	if (rv != CKR_OK) {
		snprintf(err, errlen, "key '%s': cannot read its attributes "
		    "(%s)", name, ckr_name(rv));
		return -1;
	}
	/* Optional attribute: absent means false. */
	if (h->fl->C_GetAttributeValue(h->sess, obj, &aa, 1) != CKR_OK)
		always_auth = CK_FALSE;
	if (kt == CKK_EC)
		*type = HSM_KEY_EC;
	else if (kt == CKK_RSA)
		*type = HSM_KEY_RSA;
	else {
		snprintf(err, errlen, "key '%s': type 0x%lx is neither EC nor "
		    "RSA", name, (unsigned long)kt);
		return -1;
	}
	if (!sign) {
		snprintf(err, errlen, "key '%s' may not sign (CKA_SIGN false)",
		    name);
		return -1;
	}
	if (always_auth) {
		snprintf(err, errlen, "key '%s' wants the PIN for every "
		    "signature (CKA_ALWAYS_AUTHENTICATE); the agent does not "
		    "keep the PIN", name);
		return -1;
	}
	if (extractable || !sensitive) {
		if (!allow_extractable) {
			snprintf(err, errlen, "key '%s' is %s: the agent uses "
			    "only keys that cannot leave the HSM", name,
			    extractable ? "extractable (CKA_EXTRACTABLE true)" :
			    "not sensitive (CKA_SENSITIVE false)");
			return -1;
		}
		log_warn("hsm: INSECURE: key '%s' is %s and is used only "
		    "because insecure_allow_extractable_key = yes; never run "
		    "like this outside tests", name,
		    extractable ? "extractable" : "not sensitive");
	}
	return 0;
}

static int
check_attributes(struct hsm *h, int allow_extractable, char *err,
    size_t errlen)
{
	return hsm_check_key_obj(h, h->obj, h->label, allow_extractable,
	    &h->type, err, errlen);
}

static X509 *
read_leaf_cert(const char *path, char *err, size_t errlen)
{
	char	*pem = NULL, e[256];
	size_t	 len;
	BIO	*bio = NULL;
	X509	*x = NULL;

	if (read_file_capped(path, CERT_FILE_MAX, &pem, &len) == -1) {
		snprintf(err, errlen, "certificate %s: %m", path);
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		snprintf(err, errlen, "certificate %s: no PEM certificate "
		    "(%s)", path, ossl_errstr(e, sizeof(e)));
	BIO_free(bio);
	free(pem);
	return x;
}

/* The certificate must carry the HSM key's public key. */
static int
check_certificate(struct hsm *h, const char *path, char *err, size_t errlen)
{
	X509		*x = NULL;
	EVP_PKEY	*certkey, *tokkey = NULL;
	int		 r = -1;

	if ((x = read_leaf_cert(path, err, errlen)) == NULL)
		return -1;
	certkey = X509_get0_pubkey(x);
	if ((tokkey = PKCS11_get_public_key(h->key)) == NULL) {
		snprintf(err, errlen, "key '%s': no public key on the token "
		    "to compare with the certificate", h->label);
		goto out;
	}
	if (certkey == NULL || EVP_PKEY_eq(certkey, tokkey) != 1) {
		snprintf(err, errlen, "certificate %s does not match key '%s': "
		    "its public key is not the HSM key's", path, h->label);
		goto out;
	}
	h->bits = EVP_PKEY_get_bits(certkey);
	if ((h->type == HSM_KEY_EC) != (EVP_PKEY_get_base_id(certkey) ==
	    EVP_PKEY_EC)) {
		snprintf(err, errlen, "certificate %s: key type differs from "
		    "the token's", path);
		goto out;
	}
	/* What TLS needs from the token, tried with this key (mechs.c). */
	if (hsm_check_mechs(h, h->obj, h->type, h->bits, tokkey,
	    HSM_ROLE_TLS, h->label, err, errlen) == -1)
		goto out;
	r = 0;
 out:
	EVP_PKEY_free(tokkey);
	X509_free(x);
	return r;
}

static struct hsm *
open_with(const struct hsm_params *p, const unsigned char *expect_pin,
    char *err, size_t errlen)
{
	struct hsm	*h = xcalloc(1, sizeof(*h));
	struct p11uri	 u;
	char		 e[256];
	enum hsm_fail	 kind = HSM_FAIL_CONFIG;

	if (p->fail != NULL)
		*p->fail = HSM_FAIL_CONFIG;
	if (p11uri_parse(p->key_uri, &u, err, errlen) == -1) {
		free(h);
		return NULL;
	}
	if (access(p->module, R_OK) == -1) {
		snprintf(err, errlen, "PKCS#11 module %s: %m", p->module);
		goto fail;
	}
	if ((h->ctx = PKCS11_CTX_new()) == NULL ||
	    PKCS11_CTX_load(h->ctx, p->module) != 0) {
		snprintf(err, errlen, "cannot load PKCS#11 module %s: %s",
		    p->module, ossl_errstr(e, sizeof(e)));
		if (h->ctx != NULL) {
			PKCS11_CTX_free(h->ctx);
			h->ctx = NULL;
		}
		goto fail;
	}
	h->pin_file = p->pin_file != NULL ? xstrdup(p->pin_file) : NULL;
	h->module = xstrdup(p->module);
	h->cert_file = xstrdup(p->cert_file);
	h->allow_extractable = p->allow_extractable;
	/* Each step, and what its failure means for a retry. */
	kind = HSM_FAIL_OTHER;
	if (select_token(h, &u, err, errlen) == -1)
		goto fail;
	kind = HSM_FAIL_CREDENTIAL;
	if (login_once(h, p->pin_file, expect_pin, err, errlen) == -1)
		goto fail;
	kind = HSM_FAIL_CONFIG;
	if (select_key(h, &u, err, errlen) == -1)
		goto fail;
	kind = HSM_FAIL_OTHER;
	if (open_raw(h, p->module, err, errlen) == -1)
		goto fail;
	kind = HSM_FAIL_CONFIG;
	if (check_attributes(h, p->allow_extractable, err, errlen) == -1 ||
	    check_certificate(h, p->cert_file, err, errlen) == -1)
		goto fail;
	p11uri_free(&u);
	return h;
 fail:
	if (p->fail != NULL)
		*p->fail = kind;
	p11uri_free(&u);
	hsm_close(h);
	return NULL;
}

struct hsm *
hsm_open(const struct hsm_params *p, char *err, size_t errlen)
{
	return open_with(p, NULL, err, errlen);
}

/* Lets go of the library: session, module, slots, context. */
static void
release(struct hsm *h)
{
	hsm_drop_prepared(h);
	if (h->have_sess)
		h->fl->C_CloseSession(h->sess);
	h->have_sess = 0;
	if (h->own_init)
		h->fl->C_Finalize(NULL);
	h->own_init = 0;
	if (h->dl != NULL)
		dlclose(h->dl);
	h->dl = NULL;
	h->fl = NULL;
	if (h->slots != NULL)
		PKCS11_release_all_slots(h->ctx, h->slots, h->nslots);
	h->slots = NULL;
	h->slot = NULL;
	h->key = NULL;
	if (h->ctx != NULL) {
		PKCS11_CTX_unload(h->ctx);
		PKCS11_CTX_free(h->ctx);
	}
	h->ctx = NULL;
}

int
hsm_usable(const struct hsm *h, char *err, size_t errlen)
{
	if (h->ctx != NULL && h->key != NULL && h->fl != NULL)
		return 1;
	snprintf(err, errlen, "the token is unavailable (the agent retries "
	    "once a second)");
	return 0;
}

void
hsm_close(struct hsm *h)
{
	if (h == NULL)
		return;
	release(h);
	free(h->pin_file);
	free(h->module);
	free(h->cert_file);
	free(h->reopen_uri);
	freezero(h, sizeof(*h));
}

/*
 * The last resort after a token fault: unload the module and open it all
 * again (a token that went away and came back is often seen only by a
 * fresh C_Initialize), select the same key by its CKA_ID, log in only
 * with the PIN that worked before. On failure h stays released and the
 * next signature tries again.
 */
static int
reopen(struct hsm *h, char *err, size_t errlen)
{
	struct hsm_params	 p;
	struct hsm		*n;
	char			 uri[1024], *o;
	unsigned char		 pin[32];
	size_t			 len;
	const char		*t;

	if (!h->have_pin_sha256) {
		snprintf(err, errlen, "no known-good PIN to log in again with");
		return -1;
	}
	if (h->key != NULL) {
		/* pkcs11:token=LABEL;id=%..;type=private, all percent-encoded. */
		o = uri + snprintf(uri, sizeof(uri), "pkcs11:token=");
		for (t = h->slot->token->label; *t != '\0' && o < uri + 400; t++)
			o += snprintf(o, 4, "%%%02x", (unsigned char)*t);
		o += snprintf(o, 5, ";id=");
		for (size_t i = 0; i < h->key->id_len && o < uri + 900; i++)
			o += snprintf(o, 4, "%%%02x", h->key->id[i]);
		snprintf(o, (size_t)(uri + sizeof(uri) - o), ";type=private");
		free(h->reopen_uri);
		h->reopen_uri = xstrdup(uri);
	}
	if (h->reopen_uri == NULL) {
		snprintf(err, errlen, "no key to reopen");
		return -1;
	}
	memcpy(pin, h->pin_sha256, sizeof(pin));
	release(h);
	memset(&p, 0, sizeof(p));
	p.module = h->module;
	p.key_uri = h->reopen_uri;
	p.pin_file = h->pin_file;
	p.cert_file = h->cert_file;
	p.allow_extractable = h->allow_extractable;
	if ((n = open_with(&p, pin, err, errlen)) == NULL)
		return -1;
	/* n's library state becomes h's; h keeps its own strings. */
	free(n->pin_file);
	free(n->module);
	free(n->cert_file);
	free(n->reopen_uri);
	n->pin_file = h->pin_file;
	n->module = h->module;
	n->cert_file = h->cert_file;
	n->reopen_uri = h->reopen_uri;
	len = sizeof(*h);
	memcpy(h, n, len);
	free(n);
	return 0;
}

int
hsm_reload(struct hsm *h, char *err, size_t errlen)
{
	return reopen(h, err, errlen);
}

enum hsm_key_type
hsm_key_type(const struct hsm *h)
{
	return h->type;
}

int
hsm_key_bits(const struct hsm *h)
{
	return h->bits;
}

const char *
hsm_key_label(const struct hsm *h)
{
	return h->label;
}

/* Errors after which a new session and a new look for the key may help. */
static int
token_fault(CK_RV rv)
{
	switch (rv) {
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_DEVICE_REMOVED:
	case CKR_DEVICE_ERROR:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_USER_NOT_LOGGED_IN:
		return 1;
	default:
		return 0;
	}
}

/* After a token fault: a fresh session, the key found again. */
static int
reconnect(struct hsm *h, char *err, size_t errlen)
{
	CK_RV		rv;
	CK_ULONG	n = 0;

	hsm_drop_prepared(h);
	if (h->have_sess) {
		h->fl->C_CloseSession(h->sess);
		h->have_sess = 0;
	}
	/* Some modules (SoftHSM) look at their tokens again only here. */
	(void)h->fl->C_GetSlotList(CK_TRUE, NULL, &n);
	if ((rv = h->fl->C_OpenSession(PKCS11_get_slotid_from_slot(h->slot),
	    CKF_SERIAL_SESSION, NULL, NULL, &h->sess)) != CKR_OK) {
		snprintf(err, errlen, "C_OpenSession: %s", ckr_name(rv));
		return -1;
	}
	h->have_sess = 1;
	/* The token forgot our login: again, but only with the PIN that worked. */
	if (h->last_rv == CKR_USER_NOT_LOGGED_IN && (!h->have_pin_sha256 ||
	    login_once(h, h->pin_file, h->pin_sha256, err, errlen) == -1))
		return -1;
	return find_obj(h, err, errlen);
}

/*
 * After a failed signature: when it was a token fault, a new session
 * (the whole library again if that is not it), at most one attempt a
 * second, since a token gone stays gone a while. 0: sign again; -1:
 * give up (err says why when the token is gone).
 */
int
hsm_recover(struct hsm *h, char *err, size_t errlen)
{
	char	 e2[256];
	int64_t	 now = monotime_ms();

	if (h->have_sess && !token_fault(h->last_rv))
		return -1;
	if (now < h->next_reconnect_ms) {
		if (!h->have_sess)
			snprintf(err, errlen, "the token is unavailable");
		return -1;
	}
	h->next_reconnect_ms = now + 1000;
	if ((h->ctx == NULL || reconnect(h, e2, sizeof(e2)) == -1) &&
	    reopen(h, e2, sizeof(e2)) == -1) {
		snprintf(err, errlen, "the token is unavailable: %s", e2);
		return -1;
	}
	return 0;
}

/*
 * Client-certificate rotation: the new certificate may be for the same
 * key or for another key on the same token, found by its public key.
 * Everything is checked as at start; on any failure nothing changes.
 */
int
hsm_use_cert(struct hsm *h, const char *cert_file, int allow_extractable,
    int *switched, char *err, size_t errlen)
{
	struct hsm	 saved = *h;
	X509		*x;
	EVP_PKEY	*pub, *tok;
	PKCS11_KEY	*keys, *match = NULL;
	unsigned int	 nkeys, nmatch = 0;

	*switched = 0;
	if (!hsm_usable(h, err, errlen) ||
	    (x = read_leaf_cert(cert_file, err, errlen)) == NULL)
		return -1;
	pub = X509_get0_pubkey(x);
	if (pub == NULL || PKCS11_enumerate_keys(h->slot->token, &keys,
	    &nkeys) != 0) {
		snprintf(err, errlen, "cannot list the token's keys");
		X509_free(x);
		return -1;
	}
	for (unsigned int i = 0; i < nkeys; i++) {
		if (!keys[i].isPrivate ||
		    (tok = PKCS11_get_public_key(&keys[i])) == NULL)
			continue;
		if (EVP_PKEY_eq(pub, tok) == 1) {
			match = &keys[i];
			nmatch++;
		}
		EVP_PKEY_free(tok);
	}
	X509_free(x);
	if (nmatch != 1) {
		snprintf(err, errlen, "certificate %s: %s key on the token "
		    "carries its public key", cert_file, nmatch ? "more than one" :
		    "no");
		return -1;
	}
	if (match != h->key) {
		h->key = match;
		snprintf(h->label, sizeof(h->label), "token=%s;object=%s",
		    h->slot->token->label, match->label ? match->label : "");
		*switched = 1;
	}
	if (find_obj(h, err, errlen) == -1 ||
	    check_attributes(h, allow_extractable, err, errlen) == -1 ||
	    check_certificate(h, cert_file, err, errlen) == -1) {
		*h = saved;
		*switched = 0;
		return -1;
	}
	/*
	 * A signature readied for the old key would never be used (the
	 * next one drops it), but its operation would hold that key while
	 * the operator retires it (hsm_retire): it ends here.
	 */
	if (*switched)
		hsm_drop_prepared(h);
	return 0;
}
