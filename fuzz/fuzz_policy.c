/*
 * fuzz_policy.c - the policy parser on arbitrary files.
 */
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy	*p;
	char		 err[512];

	if ((p = policy_parse((const char *)data, size, "fuzz", err,
	    sizeof(err))) != NULL)
		policy_free(p);
	return 0;
}
