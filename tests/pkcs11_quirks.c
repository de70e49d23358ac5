/*
 * pkcs11_quirks.c - a PKCS#11 module for tests that forwards every call to
 * the real one (SoftHSM) and behaves, on demand, as other tokens do
 * (tpm2-pkcs11 among them), so that the agent's handling of each quirk is
 * tested where SoftHSM alone cannot show it.
 *
 * HSM_QUIRKS_MODULE names the module to forward to; HSM_QUIRKS is a
 * comma-separated list of:
 *   unlisted-pss      C_GetMechanismList leaves out CKM_RSA_PKCS_PSS (it
 *                     still signs): tpm2-pkcs11 1.9
 *   no-pss            the same, and C_SignInit with it fails
 *                     (CKR_MECHANISM_INVALID): a token without RSA-PSS
 *   no-pkcs1          C_GetMechanismList leaves out CKM_RSA_PKCS, and
 *                     C_SignInit with it fails (CKR_MECHANISM_INVALID)
 *   pss-salt0         CKM_RSA_PKCS_PSS signs with salt length 0 whatever
 *                     the parameter says: a token that ignores it
 *   allowed-no-ecdsa  every key's CKA_ALLOWED_MECHANISMS is
 *                     { CKM_ECDSA_SHA256 }: no raw CKM_ECDSA
 *   tpm-keygen        C_GenerateKeyPair fails (CKR_GENERAL_ERROR) when the
 *                     private template sets CKA_DECRYPT false, and makes
 *                     keys that decrypt: tpm2-pkcs11 1.9
 *   reused-handles    C_GenerateKeyPair answers with the handle of a key
 *                     the token already holds, for both new objects:
 *                     tpm2-pkcs11 1.9 after a C_DestroyObject
 *   fixed-uses        C_SetAttributeValue of CKA_DECRYPT is refused
 *                     (CKR_ATTRIBUTE_READ_ONLY)
 * Test code only: never installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11_forward.h"

static CK_FUNCTION_LIST	 quirk_list;
static CK_FUNCTION_LIST	*real;

static int
quirk(const char *name)
{
	const char	*q = getenv("HSM_QUIRKS"), *p;
	size_t		 n = strlen(name);

	for (p = q; p != NULL && *p != '\0'; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

static CK_RV
q_get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list,
    CK_ULONG_PTR count)
{
	CK_MECHANISM_TYPE	 all[512];
	CK_ULONG		 n = 512, k = 0;
	CK_RV			 rv;

	int			 pss = quirk("unlisted-pss") || quirk("no-pss");
	int			 pkcs1 = quirk("no-pkcs1");

	if (!pss && !pkcs1)
		return real->C_GetMechanismList(slot, list, count);
	if ((rv = real->C_GetMechanismList(slot, all, &n)) != CKR_OK)
		return rv;
	for (CK_ULONG i = 0; i < n; i++)
		if (!(pss && all[i] == CKM_RSA_PKCS_PSS) &&
		    !(pkcs1 && all[i] == CKM_RSA_PKCS))
			all[k++] = all[i];
	if (list != NULL) {
		if (*count < k) {
			*count = k;
			return CKR_BUFFER_TOO_SMALL;
		}
		memcpy(list, all, k * sizeof(*all));
	}
	*count = k;
	return CKR_OK;
}

static CK_RV
q_sign_init(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key)
{
	if (m != NULL && m->mechanism == CKM_RSA_PKCS && quirk("no-pkcs1"))
		return CKR_MECHANISM_INVALID;
	if (m != NULL && m->mechanism == CKM_RSA_PKCS_PSS) {
		if (quirk("no-pss"))
			return CKR_MECHANISM_INVALID;
		if (quirk("pss-salt0") && m->pParameter != NULL &&
		    m->ulParameterLen == sizeof(CK_RSA_PKCS_PSS_PARAMS)) {
			CK_RSA_PKCS_PSS_PARAMS	 p = *(CK_RSA_PKCS_PSS_PARAMS *)
			    m->pParameter;
			CK_MECHANISM		 m2 = *m;

			p.sLen = 0;
			m2.pParameter = &p;
			return real->C_SignInit(s, &m2, key);
		}
	}
	return real->C_SignInit(s, m, key);
}

static CK_RV
q_get_attribute_value(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	static const CK_MECHANISM_TYPE	 only[] = { CKM_ECDSA_SHA256 };

	if (quirk("allowed-no-ecdsa") && n == 1 &&
	    t[0].type == CKA_ALLOWED_MECHANISMS) {
		if (t[0].pValue != NULL) {
			if (t[0].ulValueLen < sizeof(only)) {
				t[0].ulValueLen = CK_UNAVAILABLE_INFORMATION;
				return CKR_BUFFER_TOO_SMALL;
			}
			memcpy(t[0].pValue, only, sizeof(only));
		}
		t[0].ulValueLen = sizeof(only);
		return CKR_OK;
	}
	return real->C_GetAttributeValue(s, o, t, n);
}

static CK_RV
q_generate_key_pair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR pub, CK_ULONG npub, CK_ATTRIBUTE_PTR priv, CK_ULONG npriv,
    CK_OBJECT_HANDLE_PTR hpub, CK_OBJECT_HANDLE_PTR hpriv)
{
	CK_ATTRIBUTE	 t[64];
	CK_BBOOL	 yes = CK_TRUE;
	CK_ULONG	 k = 0;

	if (quirk("reused-handles")) {
		CK_OBJECT_CLASS		 c = CKO_PUBLIC_KEY;
		CK_ATTRIBUTE		 f = { CKA_CLASS, &c, sizeof(c) };
		CK_OBJECT_HANDLE	 old = 0;
		CK_ULONG		 n = 0;
		CK_RV			 rv;

		if (real->C_FindObjectsInit(s, &f, 1) == CKR_OK) {
			real->C_FindObjects(s, &old, 1, &n);
			real->C_FindObjectsFinal(s);
		}
		rv = real->C_GenerateKeyPair(s, m, pub, npub, priv, npriv, hpub,
		    hpriv);
		if (rv == CKR_OK && n == 1)
			*hpub = *hpriv = old;
		return rv;
	}
	if (!quirk("tpm-keygen") || npriv >= 63)
		return real->C_GenerateKeyPair(s, m, pub, npub, priv, npriv,
		    hpub, hpriv);
	for (CK_ULONG i = 0; i < npriv; i++) {
		if (priv[i].type == CKA_DECRYPT && priv[i].pValue != NULL &&
		    *(CK_BBOOL *)priv[i].pValue == CK_FALSE) {
			fprintf(stderr, "ERROR: User specified and TPM specified "
			    "attr mismatch: 0x%lx\n", (unsigned long)CKA_DECRYPT);
			return CKR_GENERAL_ERROR;
		}
		if (priv[i].type != CKA_DECRYPT)
			t[k++] = priv[i];
	}
	t[k++] = (CK_ATTRIBUTE){ CKA_DECRYPT, &yes, sizeof(yes) };
	return real->C_GenerateKeyPair(s, m, pub, npub, t, k, hpub, hpriv);
}

static CK_RV
q_set_attribute_value(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	if (quirk("fixed-uses"))
		for (CK_ULONG i = 0; i < n; i++)
			if (t[i].type == CKA_DECRYPT)
				return CKR_ATTRIBUTE_READ_ONLY;
	return real->C_SetAttributeValue(s, o, t, n);
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	if (real == NULL) {
		if (pkcs11_forward_load("HSM_QUIRKS_MODULE", &real,
		    &quirk_list) != CKR_OK)
			return CKR_GENERAL_ERROR;
		quirk_list.C_GetMechanismList = q_get_mechanism_list;
		quirk_list.C_SignInit = q_sign_init;
		quirk_list.C_GetAttributeValue = q_get_attribute_value;
		quirk_list.C_GenerateKeyPair = q_generate_key_pair;
		quirk_list.C_SetAttributeValue = q_set_attribute_value;
	}
	*out = &quirk_list;
	return CKR_OK;
}
