/*
 * pkcs11_slow.c - a PKCS#11 module for tests that forwards every call to
 * the real one (SoftHSM) and makes C_Sign (or C_SignInit) slow or hang on
 * demand, as a network HSM does on a bad day.
 *
 * HSM_SLOW_MODULE names the module to forward to; HSM_SLOW_CONTROL a
 * file read at each C_Sign:
 *   (missing or empty)  forward at once
 *   delay MS            sleep MS milliseconds, then forward
 *   hang                wait until the file says something else, then
 *                       forward (the token "answers again")
 *   hang-init           C_SignInit, not C_Sign, waits so (the key looked
 *                       up, or loaded, when the operation starts)
 * Test code only: never installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkcs11_forward.h"

static CK_FUNCTION_LIST	 slow_list;
static CK_FUNCTION_LIST	*real;

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		;
}

/*
 * What the control file says: 0 forward, >0 delay in ms, -1 hang; init
 * is for C_SignInit, which only "hang-init" holds.
 */
static long
control_of(int init)
{
	const char	*path = getenv("HSM_SLOW_CONTROL");
	char		 buf[64] = "";
	FILE		*f;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	if (strncmp(buf, "hang-init", 9) == 0)
		return init ? -1 : 0;
	if (init)
		return 0;
	if (strncmp(buf, "hang", 4) == 0)
		return -1;
	if (strncmp(buf, "delay ", 6) == 0)
		return strtol(buf + 6, NULL, 10);
	return 0;
}

static long
control(void)
{
	return control_of(0);
}

static CK_RV
slow_sign_init(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
    CK_OBJECT_HANDLE key)
{
	while (control_of(1) == -1)
		sleep_ms(50);
	return real->C_SignInit(s, mech, key);
}

static CK_RV
slow_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len,
    CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	long c = control();

	/* A length query is answered at once; the signature waits. */
	if (sig != NULL) {
		if (c > 0)
			sleep_ms(c);
		while (c == -1) {
			sleep_ms(50);
			c = control();
		}
	}
	return real->C_Sign(s, data, len, sig, siglen);
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	if (real == NULL) {
		if (pkcs11_forward_load("HSM_SLOW_MODULE", &real, &slow_list) !=
		    CKR_OK)
			return CKR_GENERAL_ERROR;
		slow_list.C_Sign = slow_sign;
		slow_list.C_SignInit = slow_sign_init;
	}
	*out = &slow_list;
	return CKR_OK;
}
