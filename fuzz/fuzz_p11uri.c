/*
 * fuzz_p11uri.c - libFuzzer target for the pkcs11: URI parser (config
 * input). The input becomes a NUL-terminated string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p11uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p11uri	 u;
	char		*s, err[256];

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (p11uri_parse(s, &u, err, sizeof(err)) == 0)
		p11uri_free(&u);
	free(s);
	return 0;
}
