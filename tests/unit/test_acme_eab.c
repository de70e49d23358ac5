/*
 * test_acme_eab.c - the EAB MAC from a key file: RFC 7515 A.1's HS256
 * example, with and without '=' padding; files the secret rules refuse,
 * keys that are not base64url or too short; no error shows the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "acme_eab.h"
#include "b64url.h"
#include "jws_vectors.h"


static char	dir[64];

static const char *
key_file(const char *name, const char *text, mode_t mode)
{
	static char	 path[128];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-acme-eab.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
expect_mac(const char *path)
{
	uint8_t	 mac[ACME_HS256_LEN];
	char	 err[256], txt[64];

	if (acme_eab_mac(path, a1_input, strlen(a1_input), mac, err,
	    sizeof(err)) != 0)
		fail_msg("acme_eab_mac: %s", err);
	b64url_encode(mac, sizeof(mac), txt, sizeof(txt));
	assert_string_equal(txt, a1_mac);
}

static void
expect_refused(const char *path, const char *needle)
{
	uint8_t	 mac[ACME_HS256_LEN];
	char	 err[256] = "";

	assert_int_equal(acme_eab_mac(path, a1_input, strlen(a1_input), mac,
	    err, sizeof(err)), -1);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' lacks '%s'", err, needle);
	assert_null(strstr(err, "AyM1Sys"));
}

static void
test_rfc7515_a1(void **state)
{
	char	 line[128];

	(void)state;
	snprintf(line, sizeof(line), "%s\n", a1_key);
	expect_mac(key_file("k", line, 0600));
	snprintf(line, sizeof(line), "%s==", a1_key);
	expect_mac(key_file("k-padded", line, 0400));
}

static void
test_refused(void **state)
{
	char	 line[128];

	(void)state;
	snprintf(line, sizeof(line), "%s\n", a1_key);
	expect_refused(key_file("k-open", line, 0644), "");
	expect_refused(key_file("k-std", "AyM1SysPpbyDfgZld3umj1qzKObwVMk+"
	    "qQ-EstJQLr_T\n", 0600), "not base64url");
	/* 24 bytes: shorter than the hash. */
	expect_refused(key_file("k-short", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
	    0600), "HS256 wants");
	expect_refused(key_file("k-empty", "", 0600), "");
	expect_refused("/nonexistent/eab.key", "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7515_a1),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
