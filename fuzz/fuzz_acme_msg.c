/*
 * fuzz_acme_msg.c - the ACME resource parsers on arbitrary bodies from
 * the network: directory, order, authorization, account, problem
 * document; and Retry-After, Replay-Nonce and Link on the body as a
 * header value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme_msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*body = (const char *)data;
	struct acme_directory	 d;
	struct acme_order	 o;
	struct acme_authz	 z;
	struct acme_problem	 p;
	enum acme_status	 st;
	char			 why[256], hdr[80];

	(void)acme_parse_directory(body, size, &d, why, sizeof(why));
	if (acme_parse_order(body, size, &o, why, sizeof(why)) == 0)
		acme_order_free(&o);
	(void)acme_parse_authz(body, size, &z, why, sizeof(why));
	(void)acme_parse_account(body, size, &st, why, sizeof(why));
	acme_parse_problem(body, size, &p);
	(void)acme_problem_is(&p, "badNonce");
	if (size < sizeof(hdr)) {
		memcpy(hdr, data, size);
		hdr[size] = '\0';
		(void)acme_retry_after(hdr, 784111777, 3600);
	}
	{
		char *v = strndup(body, size < 2048 ? size : 2048);
		char  url[ACME_MAX_URL + 1];

		if (v != NULL) {
			(void)acme_nonce_ok(v);
			(void)acme_link_alternate(v, url);
			free(v);
		}
	}
	return 0;
}
