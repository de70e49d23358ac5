/*
 * fuzz_acme_http01.c - the http-01 request parser on arbitrary bytes
 * from whoever reaches the challenge port, every prefix length as the
 * bytes would arrive, and the answer built from what it found.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme_http01.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 thumb[] =
	    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
	char			 token[ACME_HTTP01_MAX_TOKEN + 1], ka[512];
	char			 resp[1024];
	char			*copy;

	/* An exact-size copy lets ASan see any read past the bytes. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (acme_http01_parse(copy, size, token) == HTTP01_CHALLENGE &&
	    acme_key_authorization(token, thumb, ka, sizeof(ka)) == 0)
		(void)acme_http01_response(ka, resp, sizeof(resp));
	(void)acme_http01_parse(copy, size / 2, token);
	free(copy);
	return 0;
}
