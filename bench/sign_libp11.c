/*
 * sign_libp11.c - the peer of sign_ratio_*: the same signing loop
 * (sign_loop.c) in one process, with the key from libp11
 * (PKCS11_get_private_key) on the same token, the way a program that
 * links libp11 itself signs. Prints "signed N in T us".
 *
 * usage: sign-libp11 MODULE TOKEN_LABEL KEY_LABEL PIN_FILE N
 */
#include <libp11.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pin.h"
#include "util.h"
#include "sign_loop.h"

static PKCS11_SLOT *
find_slot(PKCS11_SLOT *slots, unsigned int n, const char *label)
{
	for (unsigned int i = 0; i < n; i++)
		if (slots[i].token != NULL && slots[i].token->initialized &&
		    strcmp(slots[i].token->label, label) == 0)
			return &slots[i];
	return NULL;
}

int
main(int argc, char *argv[])
{
	PKCS11_CTX	*ctx;
	PKCS11_SLOT	*slots, *slot;
	PKCS11_KEY	*keys, *key = NULL;
	unsigned int	 nslots, nkeys;
	EVP_PKEY	*pkey;
	char		*pin, err[256], *end;
	size_t		 cap;
	long		 n, failed = 0;
	struct bench_sign_times t;

	if (argc != 6 || (n = strtol(argv[5], &end, 10)) < 1 || *end != '\0') {
		fprintf(stderr, "usage: sign-libp11 MODULE TOKEN_LABEL "
		    "KEY_LABEL PIN_FILE N\n");
		return 2;
	}
	if (pin_read(argv[4], &pin, &cap, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((ctx = PKCS11_CTX_new()) == NULL ||
	    PKCS11_CTX_load(ctx, argv[1]) != 0 ||
	    PKCS11_enumerate_slots(ctx, &slots, &nslots) != 0)
		fatalx("cannot load %s", argv[1]);
	if ((slot = find_slot(slots, nslots, argv[2])) == NULL)
		fatalx("no token %s", argv[2]);
	if (PKCS11_open_session(slot, 0) != 0 ||
	    PKCS11_login(slot, 0, pin) != 0)
		fatalx("cannot log in to %s", argv[2]);
	freezero(pin, cap);
	if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0)
		fatalx("cannot list the keys");
	for (unsigned int i = 0; i < nkeys && key == NULL; i++)
		if (keys[i].label != NULL && strcmp(keys[i].label, argv[3]) == 0)
			key = &keys[i];
	if (key == NULL || (pkey = PKCS11_get_private_key(key)) == NULL)
		fatalx("no private key %s", argv[3]);
	if (bench_sign_loop(pkey, n, 1, &t, &failed) == -1)
		fatalx("signature %ld of %ld failed", failed, n);
	printf("signed %ld in %lld us, p50 %lld ns, p99 %lld ns\n", n,
	    (long long)t.total_us, (long long)t.p50_ns, (long long)t.p99_ns);
	EVP_PKEY_free(pkey);
	PKCS11_release_all_slots(ctx, slots, nslots);
	PKCS11_CTX_unload(ctx);
	PKCS11_CTX_free(ctx);
	return 0;
}
