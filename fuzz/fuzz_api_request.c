/*
 * fuzz_api_request.c - the local API request parser on arbitrary lines.
 */
#include <stddef.h>
#include <stdint.h>

#include "api_request.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_request	r;
	char			err[512];

	if (api_request_parse((const char *)data, size, &r, err,
	    sizeof(err)) == 0)
		api_request_free(&r);
	return 0;
}
