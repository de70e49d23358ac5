/*
 * fuzz_cagw.c - the Entrust CA Gateway response parsers on arbitrary
 * bodies: answers for each action and a spread of HTTP statuses, the
 * profile list and the CA resource's chain.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "entrust_msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long	 http[] = { 200, 201, 202, 400, 404, 429, 503 };
	struct cagw_answer	 a;

	if (size < 1)
		return 0;
	cagw_parse((uint8_t)(1 + data[0] % 4), http[data[0] / 4 % 7],
	    (const char *)data + 1, size - 1, &a);
	free(a.cert);
	free(a.chain);
	(void)cagw_has_profile((const char *)data + 1, size - 1, "issue");
	free(cagw_ca_chain((const char *)data + 1, size - 1));
	return 0;
}
