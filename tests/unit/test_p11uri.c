/*
 * test_p11uri.c - RFC 7512 key selection: what is accepted, decoded,
 * and refused (and why).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p11uri.h"

static void
test_accepts(void **state)
{
	struct p11uri	u;
	char		err[256];

	(void)state;
	assert_int_equal(p11uri_parse("pkcs11:token=hsm%20one;object=gw-ec;"
	    "type=private;id=%01%02", &u, err, sizeof(err)), 0);
	assert_string_equal(u.token, "hsm one");
	assert_string_equal(u.object, "gw-ec");
	assert_int_equal(u.id_len, 2);
	assert_int_equal(u.id[0], 1);
	assert_int_equal(u.id[1], 2);
	p11uri_free(&u);
	assert_int_equal(p11uri_parse("pkcs11:serial=abc123;id=%7f", &u, err,
	    sizeof(err)), 0);
	assert_null(u.token);
	p11uri_free(&u);
}

static void
expect_error(const char *uri, const char *needle)
{
	struct p11uri	u;
	char		err[256] = "";

	assert_int_equal(p11uri_parse(uri, &u, err, sizeof(err)), -1);
	if (strstr(err, needle) == NULL)
		fail_msg("'%s': error '%s' lacks '%s'", uri, err, needle);
}

static void
test_refuses(void **state)
{
	(void)state;
	expect_error("pkcs12:token=a;object=b", "not a pkcs11");
	expect_error("pkcs11:object=b", "name the token");
	expect_error("pkcs11:token=a", "name the key");
	expect_error("pkcs11:token=a;object=b;pin-value=1234", "PIN");
	expect_error("pkcs11:token=a;object=b?pin-source=file:/x", "PIN");
	expect_error("pkcs11:token=a;object=b;slot-id=3", "slot numbers");
	expect_error("pkcs11:token=a;object=b?module-path=/x.so", "module");
	expect_error("pkcs11:token=a;object=b;type=cert", "private");
	expect_error("pkcs11:token=a;object=b;color=red", "unknown attribute");
	expect_error("pkcs11:token=a;token=c;object=b", "repeated");
	expect_error("pkcs11:token=a;object=b%zz", "bad value");
	expect_error("pkcs11:token=a;object=b%0a", "bad value");
	expect_error("pkcs11:token=a;object=b;", "trailing");
	expect_error("pkcs11:token=a;object", "without '='");
	expect_error("pkcs11:token=;object=b", "bad value");
}

static void
test_length_cap(void **state)
{
	char big[P11URI_MAX_LEN + 64];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "pkcs11:token=", 13);
	expect_error(big, "longer than");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_length_cap),
	};

	return cmocka_run_group_tests_name("p11uri", tests, NULL, NULL);
}
