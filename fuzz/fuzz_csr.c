/*
 * fuzz_csr.c - the CSR parser and checks on arbitrary input, then the
 * policy decision on whatever parses (SAN normal forms, matching).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "csr.h"
#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char policy_text[] =
    "[rule r]\n"
    "callers = uid:0\n"
    "connectors = c\n"
    "profiles = p\n"
    "san_dns = *.example.com, example.org\n"
    "san_ip = 10.0.0.0/8, 2001:db8::/32\n"
    "san_email = *@example.com\n"
    "max_validity_days = 90\n"
    "key_types = ec:p256, ec:p384, rsa:2048\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy	*pol;
	static struct csr_info	 ci;
	struct enroll_request	 rq;
	struct decision		 d;
	struct caller		 c;
	char			 err[512];

	if (pol == NULL)
		pol = policy_parse(policy_text, strlen(policy_text), "p", err,
		    sizeof(err));
	if (csr_parse((const char *)data, size, &ci, err, sizeof(err)) != 0)
		return 0;
	memset(&rq, 0, sizeof(rq));
	memset(&c, 0, sizeof(c));
	rq.connector = "c";
	rq.profile = "p";
	rq.csr = &ci;
	policy_decide(pol, &c, &rq, 0, &d);
	return 0;
}
