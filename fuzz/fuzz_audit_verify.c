/*
 * fuzz_audit_verify.c - the audit log verifier on arbitrary logs.
 */
#include <stddef.h>
#include <stdint.h>

#include "audit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	n, bad;
	char		msg[512];

	audit_verify_buf((const char *)data, size, &n, &bad, msg, sizeof(msg));
	return 0;
}
