/*
 * acme_eab.c - the EAB MAC in the parent; see acme_eab.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_eab.h"
#include "b64url.h"
#include "secret_file.h"
#include "util.h"

/* Base64url text of ACME_EAB_MAX_KEY bytes, and a newline. */
#define MAX_KEY_TEXT	(B64URL_LEN(ACME_EAB_MAX_KEY) + 1)

int
acme_eab_mac(const char *path, const char *input, size_t len,
    uint8_t mac[ACME_HS256_LEN], char *err, size_t errlen)
{
	char	*text = NULL;
	size_t	 cap = 0, tl;
	uint8_t	 key[ACME_EAB_MAX_KEY];
	int	 n = -1, r = -1;

	if (secret_file_read(path, "EAB HMAC key", MAX_KEY_TEXT, &text, &cap,
	    err, errlen) == -1)
		return -1;
	tl = strlen(text);
	/* Some CAs show the key with '=' padding: accepted, not required. */
	while (tl > 0 && text[tl - 1] == '=')
		tl--;
	if ((n = b64url_decode(text, tl, key, sizeof(key))) < 0) {
		snprintf(err, errlen, "EAB HMAC key %s: not base64url", path);
		goto out;
	}
	if (acme_hs256(key, (size_t)n, input, len, mac) == -1) {
		snprintf(err, errlen, "EAB HMAC key %s: %d bytes; HS256 wants "
		    "%d to %d", path, n, ACME_HS256_LEN, ACME_EAB_MAX_KEY);
		goto out;
	}
	r = 0;
 out:
	explicit_bzero(key, sizeof(key));
	freezero(text, cap);
	return r;
}
