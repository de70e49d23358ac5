/*
 * pkcs11_forward.h - what the tests' forwarding PKCS#11 modules share
 * (pkcs11_slow.c, pkcs11_quirks.c): finding the real module, named by an
 * environment variable, and a copy of its function list for the module
 * to override entries of. Test code only: never installed.
 */
#ifndef HSMAGENT_PKCS11_FORWARD_H
#define HSMAGENT_PKCS11_FORWARD_H

#include <dlfcn.h>
#include <stdlib.h>

#include <p11-kit/pkcs11.h>

/*
 * Loads the module that env names, once: *real is its function list,
 * *copy a copy to override. CKR_OK, or CKR_GENERAL_ERROR when the
 * variable is unset or the module does not load.
 */
static inline CK_RV
pkcs11_forward_load(const char *env, CK_FUNCTION_LIST_PTR *real,
    CK_FUNCTION_LIST *copy)
{
	const char	*path = getenv(env);
	CK_RV		(*get)(CK_FUNCTION_LIST_PTR_PTR);
	void		*h;

	if (*real != NULL)
		return CKR_OK;
	if (path == NULL || (h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return CKR_GENERAL_ERROR;
	*(void **)&get = dlsym(h, "C_GetFunctionList");
	if (get == NULL || get(real) != CKR_OK) {
		*real = NULL;
		return CKR_GENERAL_ERROR;
	}
	*copy = **real;
	return CKR_OK;
}

#endif
