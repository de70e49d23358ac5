/*
 * test_csr.c - CSR parsing and checks: proof of possession, key
 * strength, SAN kinds and forms, PEM framing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csr.h"
#include "csr_gen.h"

static struct csr_info ci;

static void
expect_ok(char *pem)
{
	char err[256] = "";

	if (csr_parse(pem, strlen(pem), &ci, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	free(pem);
}

static void
expect_err(char *pem, const char *needle)
{
	char err[256] = "";

	if (csr_parse(pem, strlen(pem), &ci, err, sizeof(err)) == 0)
		fail_msg("accepted a CSR that should fail with \"%s\"", needle);
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	free(pem);
}

static void
test_good(void **state)
{
	(void)state;
	expect_ok(csr_make("EC", "P-256", "/CN=a.example.com",
	    "DNS:A.Example.com,IP:10.0.0.1,email:ops@Example.COM,"
	    "IP:2001:db8:0:0::1", 0));
	assert_int_equal(ci.key_type, CSR_KEY_EC);
	assert_string_equal(ci.curve, "p256");
	assert_string_equal(ci.cn, "a.example.com");
	assert_int_equal(ci.has_other_subject, 0);
	assert_int_equal(ci.nsans, 4);
	assert_string_equal(ci.sans[0].value, "a.example.com");
	assert_string_equal(ci.sans[1].value, "10.0.0.1");
	assert_string_equal(ci.sans[2].value, "ops@example.com");
	assert_string_equal(ci.sans[3].value, "2001:db8::1");
	expect_ok(csr_make("RSA", "2048", "/CN=b.example.com/O=Acme",
	    "DNS:b.example.com", 0));
	assert_int_equal(ci.key_type, CSR_KEY_RSA);
	assert_int_equal(ci.bits, 2048);
	assert_int_equal(ci.has_other_subject, 1);
	expect_ok(csr_make("EC", "P-384", "/CN=c.example.com", NULL, 0));
	assert_string_equal(ci.curve, "p384");
	assert_int_equal(ci.nsans, 0);
}

static void
test_refused(void **state)
{
	char *pem, *two;

	(void)state;
	expect_err(csr_make("EC", "P-256", "/CN=a.example.com",
	    "DNS:a.example.com", 1), "signature does not verify");
	expect_err(csr_make("RSA", "1024", "/CN=a.example.com",
	    "DNS:a.example.com", 0), "1024 bits is too weak");
	expect_err(csr_make("EC", "prime192v1", "/CN=a.example.com",
	    "DNS:a.example.com", 0), "only P-256, P-384 and P-521");
	expect_err(csr_make("EC", "P-256", "/CN=a.example.com",
	    "URI:https://a.example.com/", 0), "other than DNS, IP or e-mail");
	expect_err(csr_make("EC", "P-256", "/CN=a.example.com",
	    "DNS:a.example.com.", 0), "trailing dot");
	expect_err(csr_make("EC", "P-256", "/CN=a.example.com",
	    "DNS:10.0.0.1", 0), "IP address given as a DNS name");
	expect_err(csr_make("EC", "P-256", "/CN=a.example.com",
	    "DNS:a.example.com,DNS:A.EXAMPLE.COM", 0), "repeated");
	expect_err(csr_make("EC", "P-256", "/CN=a.example.com",
	    "DNS:a.b*.example.com", 0), "letters, digits");
	/* Framing: two blocks, junk around, nothing. */
	pem = csr_make("EC", "P-256", "/CN=a.example.com", "DNS:a.example.com",
	    0);
	two = malloc(2 * strlen(pem) + 1);
	snprintf(two, 2 * strlen(pem) + 1, "%s%s", pem, pem);
	expect_err(two, "exactly one PEM");
	two = malloc(strlen(pem) + 8);
	snprintf(two, strlen(pem) + 8, "junk\n%s", pem);
	expect_err(two, "exactly one PEM");
	free(pem);
	expect_err(strdup(""), "1 to");
	expect_err(strdup("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
	    "-----END CERTIFICATE REQUEST-----\n"), "not a valid PKCS#10");
}

static void
test_size_cap(void **state)
{
	char	*big = malloc(CSR_MAX_PEM + 2), err[256];

	(void)state;
	memset(big, ' ', CSR_MAX_PEM + 1);
	big[CSR_MAX_PEM + 1] = '\0';
	assert_int_equal(csr_parse(big, CSR_MAX_PEM + 1, &ci, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "bytes of PEM"));
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_size_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
