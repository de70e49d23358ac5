/*
 * handshake_engine.c - the peer of handshake_ratio_engine_*: what a
 * program that links libcurl does to use an HSM key without hsmagent.
 * One process, the key through OpenSSL's pkcs11 engine (libp11's), N
 * requests one after another, each a full mTLS handshake: no connection
 * reuse, no session resumption, as the agent's child does. The module
 * is the engine's MODULE_PATH when OPENSSL_CONF sets one (bench/run.sh:
 * SoftHSM itself, as the agent loads it), else the engine's default,
 * p11-kit's proxy. One request first, untimed: the engine loads the
 * module and logs in on first use, which the agent does before its
 * timed window. Prints "N handshakes in T us".
 *
 * usage: handshake-engine URL CA_FILE CERT KEY_URI PIN_FILE N
 */
#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "pin.h"
#include "util.h"

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

int
main(int argc, char *argv[])
{
	CURL		*c;
	CURLcode	 rc;
	char		*pin, err[256], *end;
	size_t		 cap;
	long		 n, code = 0;
	int64_t		 t0;

	if (argc != 7 || (n = strtol(argv[6], &end, 10)) < 1 || *end != '\0') {
		fprintf(stderr, "usage: handshake-engine URL CA_FILE CERT "
		    "KEY_URI PIN_FILE N\n");
		return 2;
	}
	if (pin_read(argv[5], &pin, &cap, err, sizeof(err)) == -1)
		fatalx("%s", err);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((c = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	curl_easy_setopt(c, CURLOPT_URL, argv[1]);
	curl_easy_setopt(c, CURLOPT_CAINFO, argv[2]);
	curl_easy_setopt(c, CURLOPT_SSLCERT, argv[3]);
	curl_easy_setopt(c, CURLOPT_SSLENGINE, "pkcs11");
	curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "ENG");
	curl_easy_setopt(c, CURLOPT_SSLKEY, argv[4]);
	curl_easy_setopt(c, CURLOPT_KEYPASSWD, pin);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if ((rc = curl_easy_perform(c)) != CURLE_OK)
		fatalx("warm-up request: %s", curl_easy_strerror(rc));
	t0 = monotime_us();
	for (long i = 0; i < n; i++) {
		if ((rc = curl_easy_perform(c)) != CURLE_OK)
			fatalx("request %ld: %s", i + 1, curl_easy_strerror(rc));
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code != 200)
			fatalx("request %ld: HTTP %ld", i + 1, code);
	}
	printf("%ld handshakes in %lld us\n", n, (long long)(monotime_us() -
	    t0));
	curl_easy_cleanup(c);
	freezero(pin, cap);
	curl_global_cleanup();
	return 0;
}
