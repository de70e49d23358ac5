/*
 * hsm_int.h - inside hsm/: the state hsm.c and keygen.c share. Nothing
 * outside hsm/ includes this.
 */
#ifndef HSMAGENT_HSM_INT_H
#define HSMAGENT_HSM_INT_H

#include <libp11.h>
#include <p11-kit/pkcs11.h>

#include "hsm.h"
#include "p11uri.h"

struct hsm {
	PKCS11_CTX		*ctx;
	PKCS11_SLOT		*slots;
	unsigned int		 nslots;
	PKCS11_SLOT		*slot;
	PKCS11_KEY		*key;
	void			*dl;
	CK_FUNCTION_LIST_PTR	 fl;
	CK_SESSION_HANDLE	 sess;
	int			 have_sess;
	int			 own_init;	/* we called C_Initialize on fl */
	CK_OBJECT_HANDLE	 obj;
	/*
	 * hsm_prepare(): a C_SignInit done ahead for the next TLS signature,
	 * on a session of its own, so that no other call of h->sess finds
	 * an operation active.
	 */
	CK_SESSION_HANDLE	 psess;
	int			 have_psess;
	int			 prep_active;
	/*
	 * The mechanism C_SignInit was given, and its parameters, kept
	 * until C_Sign: a module may keep the pointers and read them then
	 * (tpm2-pkcs11 1.9 copies the CK_MECHANISM, pParameter and all;
	 * valgrind saw C_Sign read a stack frame that was gone).
	 */
	CK_MECHANISM		 prep_mech;
	CK_RSA_PKCS_PSS_PARAMS	 prep_pss;
	CK_OBJECT_HANDLE	 prep_obj;
	uint32_t		 prep_owner;	/* the job it is for */
	uint64_t		 prep_used;	/* signatures that used one */
	enum sign_scheme	 prep_scheme;
	int64_t			 prep_ms;
	enum hsm_key_type	 type;
	int			 bits;
	char			 label[300];
	CK_RV			 last_rv;	/* of the last C_Sign path */
	int64_t			 next_reconnect_ms;
	/* SHA-256 of the PIN that logged in: a new login only with it. */
	unsigned char		 pin_sha256[32];
	int			 have_pin_sha256;
	char			*pin_file;	/* NULL: systemd credential */
	/* What a reopening after a token fault needs (see hsm.c). */
	char			*module;
	char			*cert_file;
	char			*reopen_uri;	/* the key in use, by CKA_ID */
	int			 allow_extractable;
};

const char	*ckr_name(CK_RV);
/* Is the library loaded and the token there? Else err says so. */
int		 hsm_usable(const struct hsm *, char *err, size_t errlen);
int		 ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen,
		    uint8_t *out, size_t *outlen);
/* Does the token fit the URI's token attributes? */
int		 hsm_token_matches(const PKCS11_TOKEN *, const struct p11uri *);
/*
 * How many private keys of the token the URI's object and id select;
 * *match is the last one. Unless exactly one, err says why.
 */
unsigned int	 hsm_match_keys(PKCS11_TOKEN *, const struct p11uri *,
		    PKCS11_KEY **match, char *err, size_t errlen);
/*
 * The one private key object with this CKA_ID (and CKA_LABEL if label
 * is set), in the current raw session; name is for messages.
 */
int		 hsm_find_key_obj(struct hsm *, const unsigned char *id,
		    size_t id_len, const char *label, const char *name,
		    CK_OBJECT_HANDLE *, char *err, size_t errlen);
/*
 * Refuses a key object that is not EC or RSA, may not sign, wants the
 * PIN per signature, or could leave the token (unless allowed, loudly).
 */
int		 hsm_check_key_obj(struct hsm *, CK_OBJECT_HANDLE,
		    const char *name, int allow_extractable,
		    enum hsm_key_type *, char *err, size_t errlen);
/*
 * After a failed signature by any key of the token: a new session when
 * the failure was a token fault (h->last_rv), rate-limited. 0: sign
 * again; -1: give up.
 */
int		 hsm_recover(struct hsm *, char *err, size_t errlen);
/*
 * The module unloaded and loaded again, the same key selected, a login
 * only with the PIN that worked: every object handle is new. 0 or -1
 * (then h is released and the next signature tries again).
 */
int		 hsm_reload(struct hsm *, char *err, size_t errlen);
/* The readied signature, if any, ends: its session goes with it. */
void		 hsm_drop_prepared(struct hsm *);
/* hsm_sign() with another key object of the token (a new credential). */
int		 hsm_sign_obj(struct hsm *, CK_OBJECT_HANDLE, enum hsm_key_type,
		    int bits, enum sign_scheme, const uint8_t *dgst, size_t dlen,
		    uint8_t *sig, size_t *siglen, char *err, size_t errlen);

/* What a key is used for: which mechanisms it needs (mechs.c). */
enum hsm_role {
	HSM_ROLE_TLS = 1,	/* TLS CertificateVerify: ECDSA, RSA-PSS (+PKCS#1) */
	HSM_ROLE_JWS,		/* ES256 / RS256 over SHA-256: account, checkpoint */
};
/*
 * Each mechanism the role needs with this key: allowed by its
 * CKA_ALLOWED_MECHANISMS, and a test signature of a random digest that
 * verifies with pub. -1 with one line in err naming what is missing
 * (a mechanism only some uses need: a warning, 0).
 */
int		 hsm_check_mechs(struct hsm *, CK_OBJECT_HANDLE,
		    enum hsm_key_type, int bits, EVP_PKEY *pub, enum hsm_role,
		    const char *name, char *err, size_t errlen);

#endif
