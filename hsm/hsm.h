/*
 * hsm.h - the parent's only door to the private key.
 *
 * hsm_open() runs once, in the parent, after the connector child has
 * been started: it loads the PKCS#11 module through libp11, selects the
 * token and key by RFC 7512 URI, logs in exactly once (a wrong PIN is
 * fatal: no retry that could lock a real token), wipes the PIN, refuses
 * keys that are extractable or not sensitive, checks that the client
 * certificate carries this key's public key, and that the token signs
 * with each mechanism TLS needs with this key (mechs.c: a test signature
 * of a random digest, verified).
 *
 * hsm_sign() signs a digest under one signature scheme with an explicit
 * mechanism: CKM_ECDSA (r||s converted to DER), CKM_RSA_PKCS_PSS, or
 * CKM_RSA_PKCS over a DigestInfo. Raw RSA (CKM_RSA_X_509) is never used.
 */
#ifndef HSMAGENT_HSM_H
#define HSMAGENT_HSM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "scheme.h"

#define HSM_MAX_SIG	1024

struct hsm;

/* Why hsm_open() failed: what a retry could change. */
enum hsm_fail {
	HSM_FAIL_OTHER = 0,	/* the token or the library: may pass later */
	HSM_FAIL_CONFIG,	/* module, URI, key, attributes, certificate */
	HSM_FAIL_CREDENTIAL,	/* the PIN: file, wrong, locked */
};

struct hsm_params {
	const char	*module;	/* PKCS#11 module path */
	const char	*key_uri;	/* pkcs11: URI of the private key */
	const char	*pin_file;	/* NULL: systemd credential */
	const char	*cert_file;	/* PEM, leaf first */
	int		 allow_extractable;	/* tests only; logged loudly */
	enum hsm_fail	*fail;		/* set when hsm_open fails; may be NULL */
};

enum hsm_key_type {
	HSM_KEY_EC = 1,
	HSM_KEY_RSA = 2,
};

struct hsm	*hsm_open(const struct hsm_params *, char *err, size_t errlen);
/*
 * Without a login (hsmagentd -t): the public key of the key key_uri
 * names, from its public key object on the token; NULL with err if the
 * module, the token or the object is not there. The caller frees it.
 */
EVP_PKEY	*hsm_public_key(const char *module, const char *key_uri,
		    char *err, size_t errlen);
void		 hsm_close(struct hsm *);

enum hsm_key_type hsm_key_type(const struct hsm *);
int		 hsm_key_bits(const struct hsm *);
/* "pkcs11:token=...;object=..." label for logs, no secrets. */
const char	*hsm_key_label(const struct hsm *);

/*
 * Takes a new client certificate (rotation): for the current key, or
 * for another key on the token with the certificate's public key (then
 * *switched is 1). Checked as at start; on failure nothing changes.
 */
int	hsm_use_cert(struct hsm *, const char *cert_file,
	    int allow_extractable, int *switched, char *err, size_t errlen);

/*
 * Signs dlen bytes of digest; dlen must equal the scheme's hash size.
 * sig has room for HSM_MAX_SIG bytes. owner: whose signature it is (the
 * agent's job id); only a signing readied for the same owner is used
 * (hsm_prepare), 0 uses none. Returns 0 or -1 with err set.
 */
int	hsm_sign(struct hsm *, uint32_t owner, enum sign_scheme,
	    const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen,
	    char *err, size_t errlen);

/*
 * Readies the token for the key's next signature under scheme's
 * mechanism: C_SignInit on a session of its own, done on the HSM worker
 * while the child's handshake runs (the token's key look-up is most of a
 * SoftHSM signature's time, and some tokens load the key here), so that
 * the signature itself is C_Sign alone. Signs nothing. It is for owner
 * (not 0) alone: hsm_sign() for another owner signs the ordinary way
 * and leaves it. hsm_sign() for its owner uses it for the same key and
 * mechanism within HSM_PREPARED_MS, and drops it otherwise. One is
 * readied at a time, and the first keeps it: -1 while another owner's
 * is readied and young (two jobs readying in turn would each drop the
 * other's unused), and an owner's new one replaces its own. -1 too if
 * the token would not: the signature then goes the ordinary way, and
 * reports what the token says.
 */
#define HSM_PREPARED_MS	5000
int	hsm_prepare(struct hsm *, enum sign_scheme, uint32_t owner);

/* The owner is done (its job ended): its readied signature, if any, ends. */
void	hsm_forget_prepared(struct hsm *, uint32_t owner);
/* Signatures made with a readied one so far (under the token's lock). */
uint64_t hsm_prepared_used(const struct hsm *);

/*
 * A new credential (keygen.c): a key pair generated in the token (EC
 * P-256, or RSA of bits), private key sensitive and never extractable,
 * checked after the fact, labelled "<prefix>-<UTC time>" with a random
 * CKA_ID; its public key as PEM; and, when a subject CN is given, a CSR
 * for it signed in the token (the audit checkpoint key has no
 * certificate: auditors are given its public key). The
 * agent keeps using the current key until a certificate for the new one
 * is installed (hsm_use_cert).
 */
struct hsm_keygen {
	enum hsm_key_type	 type;
	int			 bits;		/* RSA only: 2048, 3072, 4096 */
	const char		*subject_cn;	/* NULL: no CSR */
	const char		*label_prefix;	/* NULL: "hsmagent" */
};
struct hsm_newkey {
	char	 id_hex[33];
	char	 label[64];
	int	 bits;
	char	*csr_pem;			/* malloc'd; NULL: none asked */
	char	*pub_pem;			/* malloc'd SubjectPublicKeyInfo */
};
int	hsm_keygen(struct hsm *, const struct hsm_keygen *,
	    struct hsm_newkey *, char *err, size_t errlen);
/* The current key's CKA_ID in hex. */
void	hsm_current_id(const struct hsm *, char *hex, size_t len);
/*
 * The CKA_ID (hex) of the private key uri selects on the agent's token,
 * or -1 if none or several; and the URI that names a key by its id
 * ("pkcs11:token=LABEL;id=%..;type=private"), for messages.
 */
int	hsm_uri_key_id(struct hsm *, const char *uri, char *hex, size_t len);
void	hsm_id_uri(const struct hsm *, const char *id_hex, char *uri,
	    size_t len);
/*
 * Destroys the private and public key objects with this CKA_ID (never
 * the key in use); label gets the private key's label. 0 or -1.
 */
int	hsm_retire(struct hsm *, const char *id_hex, char *label,
	    size_t labellen, char *err, size_t errlen);

#endif
