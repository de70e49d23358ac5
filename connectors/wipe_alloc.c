/*
 * wipe_alloc.c - see wipe_alloc.h.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "wipe_alloc.h"

static void
wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* Never realloc in place: the old block is cleared, then freed. */
static void *
wipe_realloc(void *p, size_t n)
{
	size_t	 old;
	void	*q;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		wipe_free(p);
		return NULL;
	}
	if ((q = malloc(n)) == NULL)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	wipe_free(p);
	return q;
}

static char *
wipe_strdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*d = malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return wipe_realloc(p, n);
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	wipe_free(p);
}

int
wipe_alloc_install(void)
{
	/* Fails if OpenSSL has allocated already: then nothing is wiped. */
	if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc,
	    ossl_free) != 1)
		return -1;
	return curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wipe_free,
	    wipe_realloc, wipe_strdup, calloc) == CURLE_OK ? 0 : -1;
}
