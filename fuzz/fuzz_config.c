/*
 * fuzz_config.c - libFuzzer target for the hsmagentd.conf parser. The
 * input is handed over as is, not NUL-terminated, so any read past the
 * length the parser was given shows up under AddressSanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	cfg;
	char		err[256];

	if (config_parse((const char *)data, size, "fuzz", &cfg, err,
	    sizeof(err)) == 0)
		config_free(&cfg);
	/* Refused input has been released already; a second free is safe. */
	config_free(&cfg);
	return 0;
}
