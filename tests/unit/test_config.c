/*
 * test_config.c - hsmagentd.conf: the example parses, defaults hold,
 * and every kind of mistake is refused with the right line number and a
 * message naming the key and what was expected.
 */
#include <sys/stat.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "scheme.h"

/* hsmagentd.conf.example, verbatim: the file users start from. */
static const char example[] =
	"# hsmagentd.conf - example. Format and every key: README.md, \"Co"
	"nfiguration\".\n"
	"# Check a file with: hsmagentd -t -c FILE\n"
	"\n"
	"log_level = info\n"
	"# Who the connector child becomes when the agent runs as root. (Its\n"
	"# program is the one make install put in libexecdir: connector_path\n"
	"# names another.)\n"
	"child_user = hsmagent\n"
	"# Under systemd: inside RuntimeDirectory (the rest is read-only)"
	".\n"
	"chroot_dir = /run/hsmagent/empty\n"
	"\n"
	"[hsm]\n"
	"module = /usr/lib/softhsm/libsofthsm2.so\n"
	"# Select the token by label or serial, never by slot number.\n"
	"key_uri = pkcs11:token=gateway;object=gw-ec;type=private\n"
	"# The PIN: by default $CREDENTIALS_DIRECTORY/hsm-pin, which the "
	"unit's\n"
	"# LoadCredential=hsm-pin:/etc/hsmagent/pin provides. Without sys"
	"temd,\n"
	"# name a file only root can read:\n"
	"# pin_file = /etc/hsmagent/pin\n"
	"certificate = /etc/hsmagent/client.pem\n"
	"\n"
	"[signing]\n"
	"schemes = ecdsa_sha256, ecdsa_sha384, rsa_pss_sha256, rsa_pss_sh"
	"a384\n"
	"rate = 20\n"
	"burst = 50\n"
	"\n"
	"[tls]\n"
	"ca_file = /etc/hsmagent/gateway-ca.pem\n"
	"timeout = 30\n"
	"\n"
	"[probe]\n"
	"url = https://gateway.example.com/cagw/v1/certificate-authoritie"
	"s\n"
	"interval = 3600\n"
	"\n"
	"# The local API: hsmagent (the client) and other local processes"
	".\n"
	"[api]\n"
	"socket = /run/hsmagent/hsmagent.sock\n"
	"mode = 0660\n"
	"# Not the child's group: hsmagentd refuses that (a hijacked child\n"
	"# would be a client).\n"
	"group = hsmagent-clients\n"
	"max_connections = 64\n"
	"idle_timeout = 30\n"
	"# Requests a second one uid may make, and at once (each can write an\n"
	"# audit record, which is an fsync). Reloaded on SIGHUP.\n"
	"uid_rate = 10\n"
	"uid_burst = 60\n"
	"# Who may ask for what: policy/POLICY.md. Reloaded on SIGHUP.\n"
	"policy = /etc/hsmagent/policy.conf\n"
	"\n"
	"[state]\n"
	"dir = /var/lib/hsmagent\n"
	"# LogsDirectory=hsmagent in the unit makes /var/log/hsmagent.\n"
	"audit_log = /var/log/hsmagent/audit.log\n"
	"# Signed checkpoints of the audit log (README, \"For auditors\")"
	": a P-256\n"
	"# key of their own, made by \"hsmagent credential new --role che"
	"ckpoint\".\n"
	"#checkpoint_key_uri = pkcs11:token=hsmagent;object=hsmagent-chec"
	"kpoint-20261206T000000Z;type=private\n"
	"#checkpoint_records = 1000\n"
	"#checkpoint_interval = 60\n"
	"#checkpoint_dir = /var/spool/hsmagent-checkpoints\n"
	"\n"
	"# CA connectors. Entrust CA Gateway: the context path in url, th"
	"e CA id.\n"
	"[connector entrust]\n"
	"type = entrust\n"
	"url = https://gateway.example.com/cagw\n"
	"ca_id = PKIaaS~ca1\n"
	"# profile_id = cagw.profile.server   (else the order's profile)\n"
	"poll_max_wait_seconds = 600\n"
	"# Seconds between polls of a pending order, the last repeated (+-20 %).\n"
	"poll_schedule = 5, 15, 45, 120, 300\n"
	"# spki_pin = sha256//...             (the gateway's public key)\n"
	"# proxy = http://proxy.example.com:3128\n"
	"\n"
	"# Sectigo Certificate Manager, certificate authentication (recom"
	"mended):\n"
	"# the HSM-held client certificate, the /private/api base, no pas"
	"sword.\n"
	"[connector sectigo]\n"
	"type = sectigo\n"
	"url = https://cert-manager.com/private/api\n"
	"customer_uri = ExampleOrg\n"
	"login = hsmagent-api\n"
	"org_id = 12345\n"
	"cert_type = 423\n"
	"term = 365\n"
	"# auth = password + password_file = /etc/hsmagent/sectigo.pw (mo"
	"de 0600)\n"
	"# with url = https://cert-manager.com/api: see SECURITY.md.\n"
	"\n"
	"# ACME (RFC 8555) with External Account Binding: url is the dire"
	"ctory;\n"
	"# the account key is a second key on the token; the HMAC key file\n"
	"# (mode 0600) is read by the parent only, for the one binding.\n"
	"# [connector acme]\n"
	"# type = acme\n"
	"# url = https://acme.example.com/directory\n"
	"# account_key_uri = pkcs11:token=gateway;object=acme-account;typ"
	"e=private\n"
	"# eab_kid = kid-from-the-ca\n"
	"# eab_hmac_file = /etc/hsmagent/acme-eab.key\n"
	"# contact = mailto:pki-team@example.com\n"
	"# http01_listen = 0.0.0.0:80   (only if the CA validates by http"
	"-01)\n";

/* The required keys only: six lines, so an appended line is line 7. */
#define MINIMAL \
	"[hsm]\n" \
	"module = /m.so\n" \
	"key_uri = pkcs11:token=t;object=k\n" \
	"certificate = /c.pem\n" \
	"[tls]\n" \
	"ca_file = /ca.pem\n"

static int
parse(const char *text, struct config *cfg, char *err, size_t errlen)
{
	return config_parse(text, strlen(text), "t", cfg, err, errlen);
}

static void
expect_ok(const char *text, struct config *cfg)
{
	char err[1024] = "";

	if (parse(text, cfg, err, sizeof(err)) != 0)
		fail_msg("refused: %s\n--- input ---\n%s", err, text);
}

/* Also checks that a refused parse leaves nothing allocated behind. */
static void
expect_error_len(const char *buf, size_t len, const char *needle)
{
	struct config	cfg;
	char		err[1024] = "";

	memset(&cfg, 0xa5, sizeof(cfg));
	if (config_parse(buf, len, "t", &cfg, err, sizeof(err)) != -1)
		fail_msg("accepted, wanted '%s'\n--- input ---\n%.*s", needle,
		    (int)len, buf);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' lacks '%s'", err, needle);
	assert_null(cfg.log_level);
	assert_null(cfg.hsm_module);
	assert_int_equal(cfg.sign_rate, 0);
}

static void
expect_error(const char *text, const char *needle)
{
	expect_error_len(text, strlen(text), needle);
}

static void
test_example(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(example, &cfg);
	assert_null(cfg.path);
	assert_string_equal(cfg.log_level, "info");
	assert_string_equal(cfg.connector_path,
	    "/usr/local/libexec/hsmagent/hsmagent-connector");
	assert_string_equal(cfg.child_user, "hsmagent");
	assert_string_equal(cfg.chroot_dir, "/run/hsmagent/empty");
	assert_string_equal(cfg.hsm_module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(cfg.hsm_key_uri,
	    "pkcs11:token=gateway;object=gw-ec;type=private");
	/* The systemd credential: $CREDENTIALS_DIRECTORY/hsm-pin. */
	assert_null(cfg.hsm_pin_file);
	assert_string_equal(cfg.hsm_certificate, "/etc/hsmagent/client.pem");
	assert_int_equal(cfg.hsm_insecure_allow_extractable, 0);
	assert_int_equal(cfg.sign_schemes, SCHEME_BIT(SCHEME_ECDSA_SHA256) |
	    SCHEME_BIT(SCHEME_ECDSA_SHA384) | SCHEME_BIT(SCHEME_RSA_PSS_SHA256) |
	    SCHEME_BIT(SCHEME_RSA_PSS_SHA384));
	assert_int_equal(cfg.sign_rate, 20);
	assert_int_equal(cfg.sign_burst, 50);
	assert_int_equal(cfg.sign_timeout_ms, 5000);
	assert_string_equal(cfg.tls_ca_file, "/etc/hsmagent/gateway-ca.pem");
	assert_int_equal(cfg.tls_timeout_s, 30);
	assert_string_equal(cfg.probe_url,
	    "https://gateway.example.com/cagw/v1/certificate-authorities");
	assert_int_equal(cfg.probe_interval_s, 3600);
	assert_int_equal(cfg.nconnectors, 2);
	assert_string_equal(cfg.connectors[0].ca_id, "PKIaaS~ca1");
	assert_int_equal(cfg.connectors[0].poll.n, 5);
	assert_int_equal(cfg.connectors[0].poll.step[4], 300);
	assert_string_equal(cfg.connectors[1].type, "sectigo");
	assert_null(cfg.connectors[1].password_file);
	assert_int_equal(cfg.connectors[1].cert_type, 423);
	config_free(&cfg);
}

/* The copy above is the file: the suite runs from the source tree. */
static void
test_example_is_the_file(void **state)
{
	static char	 buf[sizeof(example) + 2];
	FILE		*f = fopen("hsmagentd.conf.example", "r");
	size_t		 n;

	(void)state;
	if (f == NULL)
		fail_msg("hsmagentd.conf.example: run from the source tree");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, sizeof(example) - 1);
	assert_memory_equal(buf, example, n);
}

static void
test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(MINIMAL, &cfg);
	assert_string_equal(cfg.log_level, "info");
	assert_string_equal(cfg.log_target, "stderr");
	assert_int_equal(cfg.shutdown_timeout_s, 20);
	assert_non_null(strstr(cfg.connector_path, "/hsmagent-connector"));
	assert_true(cfg.connector_path[0] == '/');
	assert_string_equal(cfg.child_user, "hsmagent");
	assert_string_equal(cfg.chroot_dir, "/var/empty/hsmagent");
	assert_string_equal(cfg.hsm_module, "/m.so");
	assert_string_equal(cfg.hsm_key_uri, "pkcs11:token=t;object=k");
	assert_null(cfg.hsm_pin_file);
	assert_string_equal(cfg.hsm_certificate, "/c.pem");
	assert_int_equal(cfg.hsm_insecure_allow_extractable, 0);
	assert_int_equal(cfg.sign_schemes, SCHEME_ALL_MASK);
	assert_int_equal(cfg.sign_rate, 20);
	assert_int_equal(cfg.sign_burst, 50);
	assert_int_equal(cfg.sign_timeout_ms, 5000);
	assert_string_equal(cfg.tls_ca_file, "/ca.pem");
	assert_int_equal(cfg.tls_timeout_s, 30);
	assert_null(cfg.probe_url);
	assert_int_equal(cfg.probe_interval_s, 0);
	config_free(&cfg);
}

/* Every key set away from its default; blanks and tabs around '='. */
static void
test_all_keys(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(
	    "  # indented comment\n"
	    "log_level=debug\n"
	    "log_target = syslog\n"
	    "shutdown_timeout = 600\n"
	    "\tconnector_path\t=\t/opt/hc/connector  \n"
	    "child_user = _hsm-agent9\n"
	    "chroot_dir = /var/empty/x..y/\n"
	    "  [hsm]  \n"
	    "module = /m.so\n"
	    "key_uri = pkcs11:serial=abc;id=%01\n"
	    "pin_file = /run/pin#1\n"
	    "certificate = /c.pem\n"
	    "insecure_allow_extractable_key = yes\n"
	    "[signing]\n"
	    "schemes = rsa_pkcs1_sha512 ,\tecdsa_sha512\n"
	    "rate = 100000\n"
	    "burst = 1\n"
	    "reply_timeout_ms = 100\n"
	    "[tls]\n"
	    "ca_file = /ca.pem\n"
	    "timeout = 600\n"
	    "[probe]\n"
	    "url = https://[2001:db8::1]:8443/p?a=b@c\n"
	    "interval = 86400", &cfg);
	assert_string_equal(cfg.log_level, "debug");
	assert_string_equal(cfg.log_target, "syslog");
	assert_int_equal(cfg.shutdown_timeout_s, 600);
	assert_string_equal(cfg.connector_path, "/opt/hc/connector");
	assert_string_equal(cfg.child_user, "_hsm-agent9");
	assert_string_equal(cfg.chroot_dir, "/var/empty/x..y/");
	assert_string_equal(cfg.hsm_key_uri, "pkcs11:serial=abc;id=%01");
	/* '#' inside a value is part of it, never a comment. */
	assert_string_equal(cfg.hsm_pin_file, "/run/pin#1");
	assert_int_equal(cfg.hsm_insecure_allow_extractable, 1);
	assert_int_equal(cfg.sign_schemes, SCHEME_BIT(SCHEME_RSA_PKCS1_SHA512) |
	    SCHEME_BIT(SCHEME_ECDSA_SHA512));
	assert_int_equal(cfg.sign_rate, 100000);
	assert_int_equal(cfg.sign_burst, 1);
	assert_int_equal(cfg.sign_timeout_ms, 100);
	assert_int_equal(cfg.tls_timeout_s, 600);
	assert_string_equal(cfg.probe_url, "https://[2001:db8::1]:8443/p?a=b@c");
	assert_int_equal(cfg.probe_interval_s, 86400);
	config_free(&cfg);
}

static void
test_structure_errors(void **state)
{
	(void)state;
	expect_error(MINIMAL "colour = red\n",
	    "t:7: unknown key \"colour\" in [tls]");
	expect_error("log_levl = info\n" MINIMAL,
	    "t:1: unknown key \"log_levl\" in the global section");
	/* A key is known only in its own section. */
	expect_error(MINIMAL "rate = 5\n", "t:7: unknown key \"rate\" in [tls]");
	expect_error(MINIMAL "\n[sign]\n", "t:8: unknown section [sign]");
	expect_error(MINIMAL "[HSM]\n", "t:7: unknown section [HSM]");
	expect_error(MINIMAL "ca_file = /other.pem\n",
	    "t:7: [tls] ca_file: repeated key (first set on line 6)");
	expect_error(MINIMAL "[hsm]\n",
	    "t:7: section [hsm] repeated (first on line 1)");
	expect_error(MINIMAL "[probe] # c\n", "t:7: expected \"[section]\"");
	expect_error(MINIMAL "[probe\n", "t:7: expected \"[section]\"");
	expect_error(MINIMAL "timeout 30\n", "t:7: expected \"key = value\"");
	expect_error(MINIMAL "Timeout = 30\n", "t:7: bad key name \"Timeout\"");
	expect_error(MINIMAL "time-out = 30\n", "t:7: bad key name");
	expect_error(MINIMAL " = 30\n", "t:7: bad key name \"\"");
}

static void
test_number_errors(void **state)
{
	(void)state;
	expect_error(MINIMAL "[signing]\nrate = 0\n", "t:8: [signing] rate: "
	    "expected a number from 1 to 100000, got \"0\"");
	expect_error(MINIMAL "[signing]\nrate = 100001\n",
	    "t:8: [signing] rate: expected a number from 1 to 100000");
	expect_error(MINIMAL "[signing]\nrate = 99999999999999999999\n",
	    "t:8: [signing] rate: expected a number from 1 to 100000, "
	    "got \"99999999999999999999\"");
	/* 2^64 + 20 would wrap to 20 in a 64-bit accumulator. */
	expect_error(MINIMAL "[signing]\nrate = 18446744073709551636\n",
	    "t:8: [signing] rate:");
	/* 2^32 + 5 would wrap to 5 in a 32-bit accumulator. */
	expect_error(MINIMAL "[signing]\nrate = 4294967301\n",
	    "t:8: [signing] rate:");
	expect_error(MINIMAL "[signing]\nrate = +5\n", "t:8: [signing] rate:");
	expect_error(MINIMAL "[signing]\nrate = -5\n", "t:8: [signing] rate:");
	expect_error(MINIMAL "[signing]\nrate = 0x10\n", "t:8: [signing] rate:");
	expect_error(MINIMAL "[signing]\nrate = 1 0\n", "t:8: [signing] rate:");
	expect_error(MINIMAL "[signing]\nrate =\n",
	    "t:8: [signing] rate: expected a number from 1 to 100000, got \"\"");
	expect_error(MINIMAL "[signing]\nburst = 0\n",
	    "t:8: [signing] burst: expected a number from 1 to 100000");
	expect_error(MINIMAL "[signing]\nreply_timeout_ms = 99\n",
	    "t:8: [signing] reply_timeout_ms: expected a number from 100 to "
	    "60000");
	expect_error(MINIMAL "[signing]\nreply_timeout_ms = 60001\n",
	    "t:8: [signing] reply_timeout_ms:");
	expect_error(MINIMAL "timeout = 0\n",
	    "t:7: [tls] timeout: expected a number from 1 to 600");
	expect_error(MINIMAL "timeout = 601\n", "t:7: [tls] timeout:");
	expect_error(MINIMAL "[probe]\nurl = https://h/\ninterval = 86401\n",
	    "t:9: [probe] interval: expected a number from 0 to 86400");
}

static void
test_value_errors(void **state)
{
	(void)state;
	expect_error("[hsm]\ninsecure_allow_extractable_key = true\n" MINIMAL,
	    "t:2: [hsm] insecure_allow_extractable_key: expected yes or no, "
	    "got \"true\"");
	expect_error("[hsm]\ninsecure_allow_extractable_key = Yes\n",
	    "t:2: [hsm] insecure_allow_extractable_key:");
	expect_error("log_level = verbose\n" MINIMAL, "t:1: log_level: expected "
	    "error, warning, info or debug, got \"verbose\"");
	expect_error("log_target = journal\n" MINIMAL, "t:1: log_target: "
	    "expected stderr or syslog, got \"journal\"");
	expect_error("shutdown_timeout = 0\n" MINIMAL, "t:1: shutdown_timeout:");
	expect_error("shutdown_timeout = 601\n" MINIMAL, "t:1: shutdown_timeout:");
	expect_error("child_user = root\n" MINIMAL,
	    "t:1: child_user: must not be \"root\"");
	expect_error("child_user = Admin\n" MINIMAL,
	    "t:1: child_user: expected a user name");
	expect_error("child_user = 9lives\n" MINIMAL, "t:1: child_user:");
	expect_error("child_user =\n" MINIMAL, "t:1: child_user:");
	expect_error("child_user = abcdefghijklmnopqrstuvwxyzabcdefg\n" MINIMAL,
	    "t:1: child_user:");
}

static void
test_path_errors(void **state)
{
	(void)state;
	expect_error("[hsm]\nmodule = lib/m.so\n",
	    "t:2: [hsm] module: expected an absolute path, got \"lib/m.so\"");
	expect_error("[hsm]\nmodule =\n", "t:2: [hsm] module: expected an "
	    "absolute path");
	expect_error("chroot_dir = /var/empty/../tmp\n" MINIMAL,
	    "t:1: chroot_dir: expected a path without a \"..\" component");
	expect_error("chroot_dir = /var/..\n", "t:1: chroot_dir:");
	expect_error("connector_path = /..\n", "t:1: connector_path:");
	expect_error("[hsm]\npin_file = ./pin\n", "t:2: [hsm] pin_file:");
	expect_error("[hsm]\ncertificate = ~/c.pem\n",
	    "t:2: [hsm] certificate:");
	expect_error("[tls]\nca_file = ca.pem\n", "t:2: [tls] ca_file: expected "
	    "an absolute path");
}

static void
test_byte_errors(void **state)
{
	static const char nul[] = "log_level = info\n\n[h\0sm]\n";
	char		*big;
	size_t		 i;
	struct config	 cfg;
	char		 err[256];

	(void)state;
	expect_error("log_level = info\r\n", "t:1: CR");
	expect_error(MINIMAL "\n\ttimeout = 3\r\n", "t:8: CR");
	expect_error_len(nul, sizeof(nul) - 1, "t:3: NUL byte");
	expect_error(MINIMAL "# bell \a\n", "t:7: control character 0x07");
	expect_error(MINIMAL "timeout = 3\x1b[0m\n",
	    "t:7: control character 0x1b");
	expect_error(MINIMAL "# \x7f\n", "t:7: control character 0x7f");

	/* A line of exactly CONFIG_MAX_LINE bytes is fine, one more is not. */
	big = malloc(CONFIG_MAX_FILE + 2);
	assert_non_null(big);
	strcpy(big, MINIMAL);
	i = strlen(big);
	big[i] = '#';
	memset(big + i + 1, 'x', CONFIG_MAX_LINE - 1);
	big[i + CONFIG_MAX_LINE] = '\n';
	assert_int_equal(config_parse(big, i + CONFIG_MAX_LINE + 1, "t", &cfg,
	    err, sizeof(err)), 0);
	config_free(&cfg);
	big[i + CONFIG_MAX_LINE] = 'x';
	big[i + CONFIG_MAX_LINE + 1] = '\n';
	expect_error_len(big, i + CONFIG_MAX_LINE + 2,
	    "t:7: line longer than 4096 bytes");

	/* A file of exactly CONFIG_MAX_FILE bytes is fine, one more is not. */
	memset(big + i, '#', CONFIG_MAX_FILE + 1 - i);
	for (size_t j = i + 99; j < CONFIG_MAX_FILE + 1; j += 100)
		big[j] = '\n';
	big[CONFIG_MAX_FILE - 1] = '\n';
	assert_int_equal(config_parse(big, CONFIG_MAX_FILE, "t", &cfg, err,
	    sizeof(err)), 0);
	config_free(&cfg);
	expect_error_len(big, CONFIG_MAX_FILE + 1, "t: larger than 256 KiB");
	free(big);
}

/* len is authoritative: what lies past it is never read. */
static void
test_length_bound(void **state)
{
	static const char text[] = MINIMAL "timeout = 7\x01\0 garbage";
	struct config	cfg;
	char		err[256];

	(void)state;
	assert_int_equal(config_parse(text, strlen(MINIMAL "timeout = 7"),
	    "t", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.tls_timeout_s, 7);
	config_free(&cfg);
	expect_error_len(text, sizeof(text) - 1, "t:7: control character 0x01");
	/* Cut inside a line: the unfinished line is what is parsed. */
	expect_error_len(MINIMAL "timeout = 700\n",
	    strlen(MINIMAL "timeout = 7") - 2, "t:7: [tls] timeout:");
}

static void
test_required(void **state)
{
	(void)state;
	expect_error("", "t: [hsm] module is required");
	expect_error("[hsm]\nkey_uri = pkcs11:token=t;object=k\n"
	    "certificate = /c\n[tls]\nca_file = /ca\n",
	    "t: [hsm] module is required");
	expect_error("[hsm]\nmodule = /m\ncertificate = /c\n[tls]\n"
	    "ca_file = /ca\n", "t: [hsm] key_uri is required");
	expect_error("[hsm]\nmodule = /m\nkey_uri = pkcs11:token=t;object=k\n"
	    "[tls]\nca_file = /ca\n", "t: [hsm] certificate is required");
	expect_error("[hsm]\nmodule = /m\nkey_uri = pkcs11:token=t;object=k\n"
	    "certificate = /c\n", "t: [tls] ca_file is required");
	expect_error(MINIMAL "[probe]\ninterval = 5\n",
	    "t: [probe] url is required");
}

static void
test_scheme_errors(void **state)
{
	(void)state;
	expect_error(MINIMAL "[signing]\nschemes = ecdsa_sha256, ed25519\n",
	    "t:8: [signing] schemes: unknown scheme \"ed25519\"");
	expect_error(MINIMAL "[signing]\nschemes = ECDSA_SHA256\n",
	    "t:8: [signing] schemes: unknown scheme \"ECDSA_SHA256\"");
	expect_error(MINIMAL "[signing]\nschemes = ecdsa_sha256,rsa_pss_sha256, "
	    "ecdsa_sha256\n",
	    "t:8: [signing] schemes: scheme \"ecdsa_sha256\" listed twice");
	expect_error(MINIMAL "[signing]\nschemes = ecdsa_sha256,,rsa_pss_sha256\n",
	    "t:8: [signing] schemes: empty item");
	expect_error(MINIMAL "[signing]\nschemes = ecdsa_sha256,\n",
	    "t:8: [signing] schemes: empty item");
	expect_error(MINIMAL "[signing]\nschemes = , ecdsa_sha256\n",
	    "t:8: [signing] schemes: empty item");
	expect_error(MINIMAL "[signing]\nschemes =\n",
	    "t:8: [signing] schemes: expected a comma-separated list");
	expect_error(MINIMAL "[signing]\nschemes = ecdsa_sha256 rsa_pss_sha256\n",
	    "t:8: [signing] schemes: unknown scheme");
}

static void
test_key_uri_errors(void **state)
{
	(void)state;
	expect_error("[hsm]\nmodule = /m\nkey_uri = "
	    "pkcs11:token=t;object=k;pin-value=1234\n",
	    "t:3: [hsm] key_uri: pkcs11 URI: 'pin-value' not accepted");
	expect_error("[hsm]\nkey_uri = pkcs11:token=t;object=k?pin-source=/p\n",
	    "t:2: [hsm] key_uri: pkcs11 URI: 'pin-source' not accepted");
	expect_error("[hsm]\nkey_uri = pkcs11:token=t;object=k;slot-id=0\n",
	    "t:2: [hsm] key_uri: pkcs11 URI: 'slot-id' not accepted");
	expect_error("[hsm]\nkey_uri = pkcs11:token=t;object=k?module-path=/x\n",
	    "t:2: [hsm] key_uri: pkcs11 URI: 'module-path' not accepted");
	expect_error("[hsm]\nkey_uri = token=t;object=k\n",
	    "t:2: [hsm] key_uri: expected an RFC 7512 \"pkcs11:\" URI");
	expect_error("[hsm]\nkey_uri = pkcs11:object=k\n",
	    "t:2: [hsm] key_uri: pkcs11 URI: name the token");
}

static void
test_url(void **state)
{
	static const char *const good[] = {
		"https://h",
		"https://h/",
		"https://ca.example.com:1/x",
		"https://10.0.0.1:65535/a/b?c=d",
		"https://[::1]",
		"https://[::1]:443/p",
		"https://h/p@q",
	};
	char		text[512];
	struct config	cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), MINIMAL "[probe]\nurl = %s\n",
		    good[i]);
		expect_ok(text, &cfg);
		assert_string_equal(cfg.probe_url, good[i]);
		config_free(&cfg);
	}
	expect_error(MINIMAL "[probe]\nurl = http://h/\n",
	    "t:8: [probe] url: expected an https:// URL, got \"http://h/\"");
	expect_error(MINIMAL "[probe]\nurl = HTTPS://h/\n", "t:8: [probe] url: "
	    "expected an https:// URL");
	expect_error(MINIMAL "[probe]\nurl = https://user:pw@h/\n",
	    "t:8: [probe] url: URL may not contain user information");
	expect_error(MINIMAL "[probe]\nurl = https://h@evil/\n",
	    "t:8: [probe] url: URL may not contain user information");
	expect_error(MINIMAL "[probe]\nurl = https://h:0/\n",
	    "t:8: [probe] url: expected a port from 1 to 65535");
	expect_error(MINIMAL "[probe]\nurl = https://h:65536/\n",
	    "t:8: [probe] url: expected a port from 1 to 65535");
	expect_error(MINIMAL "[probe]\nurl = https://h:0000443/\n",
	    "t:8: [probe] url: expected a port");
	/* At most five digits: 2^64 + 1 would wrap to port 1. */
	expect_error(MINIMAL "[probe]\nurl = https://h:18446744073709551617/\n",
	    "t:8: [probe] url: expected a port");
	expect_error(MINIMAL "[probe]\nurl = https://h:000443/\n",
	    "t:8: [probe] url: expected a port");
	expect_error(MINIMAL "[probe]\nurl = https://h:/\n",
	    "t:8: [probe] url: expected a port");
	expect_error(MINIMAL "[probe]\nurl = https://h:+443/\n",
	    "t:8: [probe] url: expected a port");
	expect_error(MINIMAL "[probe]\nurl = https://h/p#frag\n",
	    "t:8: [probe] url: URL may not contain a fragment");
	expect_error(MINIMAL "[probe]\nurl = https://h/a b\n",
	    "t:8: [probe] url: URL may not contain blanks");
	expect_error(MINIMAL "[probe]\nurl = https:///p\n",
	    "t:8: [probe] url: expected a host");
	expect_error(MINIMAL "[probe]\nurl = https://h_x/\n",
	    "t:8: [probe] url: bad character '_' in the host");
	expect_error(MINIMAL "[probe]\nurl = https://[::1/\n",
	    "t:8: [probe] url: expected an IPv6 literal");
	expect_error(MINIMAL "[probe]\nurl = https://[zz]/\n",
	    "t:8: [probe] url: bad IPv6 literal");
	expect_error(MINIMAL "[probe]\nurl = https://h?q\n",
	    "t:8: [probe] url: expected \"/\" before the query");
	expect_error(MINIMAL "[probe]\nurl = https://h/\xc3\xa9\n",
	    "t:8: [probe] url: URL may contain printable ASCII only");
}

static void
test_load(void **state)
{
	char		 path[] = "/tmp/test_config.XXXXXX", err[1024];
	struct config	 cfg;
	FILE		*f;
	int		 fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_non_null(f = fdopen(fd, "w"));
	assert_int_equal(fputs(example, f) >= 0, 1);
	assert_int_equal(fflush(f), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.path, path);
	assert_string_equal(cfg.hsm_module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_int_equal(cfg.probe_interval_s, 3600);
	config_free(&cfg);

	/* The file name leads every message. */
	assert_int_equal(fputs("[bogus]\n", f) >= 0, 1);
	assert_int_equal(fflush(f), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	{
		/* The line after the example's last. */
		char	 want[64];
		int	 lines = 0;

		for (const char *c = example; *c != '\0'; c++)
			lines += *c == '\n';
		snprintf(want, sizeof(want), ":%d: unknown section [bogus]",
		    lines + 1);
		assert_non_null(strstr(err, want));
	}
	assert_null(cfg.path);

	assert_int_equal(ftruncate(fd, CONFIG_MAX_FILE + 1), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ": larger than 256 KiB"));
	fclose(f);
	unlink(path);

	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(config_load("/", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/: not a regular file"));
}

static void
test_free_twice(void **state)
{
	struct config	cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	config_free(&cfg);
	expect_ok(example, &cfg);
	config_free(&cfg);
	assert_null(cfg.log_level);
	assert_null(cfg.probe_url);
	config_free(&cfg);
	assert_null(cfg.hsm_module);
}

static void
test_api_sections(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(MINIMAL "[api]\nsocket = /run/h.sock\npolicy = /p.conf\n"
	    "[state]\ndir = /var/lib/h\n", &cfg);
	assert_string_equal(cfg.api_socket, "/run/h.sock");
	assert_int_equal(cfg.api_mode, 0660);
	assert_int_equal(cfg.api_max_conns, 64);
	assert_int_equal(cfg.api_idle_s, 30);
	assert_int_equal(cfg.api_uid_rate, 10);
	assert_int_equal(cfg.api_uid_burst, 60);
	assert_null(cfg.api_group);
	assert_null(cfg.audit_log);
	assert_string_equal(cfg.state_dir, "/var/lib/h");
	config_free(&cfg);
	expect_ok(MINIMAL "[api]\nsocket = /s\npolicy = /p\nmode = 0600\n"
	    "group = hsmagent\nmax_connections = 8\nidle_timeout = 5\n"
	    "uid_rate = 200\nuid_burst = 1000\n"
	    "[state]\ndir = /d\naudit_log = /l/audit.log\n", &cfg);
	assert_int_equal(cfg.api_mode, 0600);
	assert_int_equal(cfg.api_uid_rate, 200);
	assert_int_equal(cfg.api_uid_burst, 1000);
	assert_string_equal(cfg.api_group, "hsmagent");
	assert_int_equal(cfg.api_max_conns, 8);
	assert_string_equal(cfg.audit_log, "/l/audit.log");
	config_free(&cfg);
	expect_error(MINIMAL "[api]\nsocket = /s\npolicy = /p\n",
	    "[api] needs a [state] section");
	expect_error(MINIMAL "[api]\nsocket = /s\npolicy = /p\nuid_rate = 0\n"
	    "[state]\ndir = /d\n", "t:10: [api] uid_rate");
	expect_error(MINIMAL "[api]\nsocket = /s\npolicy = /p\n"
	    "uid_burst = 100001\n[state]\ndir = /d\n", "t:10: [api] uid_burst");
	expect_error(MINIMAL "[api]\npolicy = /p\n[state]\ndir = /d\n",
	    "[api] socket is required");
	expect_error(MINIMAL "[api]\nsocket = /s\npolicy = /p\nmode = 0777\n"
	    "[state]\ndir = /d\n", "t:10: [api] mode: expected an octal");
	expect_error(MINIMAL "[api]\nsocket = /s\npolicy = /p\nmode = 660\n"
	    "[state]\ndir = /d\n", "t:10: [api] mode");
	expect_error(MINIMAL "[api]\nsocket = /s\npolicy = /p\nmode = 0460\n"
	    "[state]\ndir = /d\n", "t:10: [api] mode");
	expect_error(MINIMAL "[api]\nsocket = /s\npolicy = /p\ngroup = Wheel\n"
	    "[state]\ndir = /d\n", "t:10: [api] group: expected a group name");
	expect_error(MINIMAL "[api]\nsocket = /s\npolicy = /p\n"
	    "max_connections = 0\n[state]\ndir = /d\n",
	    "t:10: [api] max_connections");
	expect_error(MINIMAL "[state]\ndir = relative\n", "t:8: [state] dir");
}

static void
test_renewal(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(MINIMAL, &cfg);
	assert_int_equal(cfg.renew_window_pct, 33);
	assert_int_equal(cfg.renew_retry_min_s, 60);
	assert_int_equal(cfg.renew_retry_max_s, 3600);
	assert_int_equal(cfg.cert_warn_days, 30);
	config_free(&cfg);
	expect_ok(MINIMAL "[renewal]\nwindow_percent = 50\nretry_min_seconds = 5\n"
	    "retry_max_seconds = 50\nclient_cert_warn_days = 0\n", &cfg);
	assert_int_equal(cfg.renew_window_pct, 50);
	assert_int_equal(cfg.cert_warn_days, 0);
	config_free(&cfg);
	expect_error(MINIMAL "[renewal]\nwindow_percent = 95\n",
	    "[renewal] window_percent");
	expect_error(MINIMAL "[renewal]\nretry_min_seconds = 100\n"
	    "retry_max_seconds = 10\n", "retry_min_seconds (100) is more than");
}

/* Sectigo: the auth mode, its base URL and its password file agree. */
static void
test_sectigo(void **state)
{
	struct config cfg;

#define SCM	MINIMAL "[connector scm]\ntype = sectigo\n" \
		"customer_uri = InCommon\nlogin = api@example.org\n" \
		"org_id = 1234\n"
	(void)state;
	expect_ok(SCM, &cfg);
	assert_string_equal(cfg.connectors[0].url,
	    "https://cert-manager.com/private/api");
	assert_int_equal(cfg.connectors[0].term, 365);
	assert_int_equal(cfg.connectors[0].org_id, 1234);
	config_free(&cfg);
	expect_ok(SCM "auth = password\npassword_file = /etc/scm.pw\n"
	    "cert_type = 423\nterm = 730\nexternal_requester = a@b.org,c@d.org\n",
	    &cfg);
	assert_string_equal(cfg.connectors[0].url,
	    "https://cert-manager.com/api");
	assert_int_equal(cfg.connectors[0].cert_type, 423);
	assert_int_equal(cfg.connectors[0].term, 730);
	config_free(&cfg);
	expect_error(SCM "auth = password\n", "needs password_file");
	expect_error(SCM "password_file = /etc/scm.pw\n", "certificate "
	    "authentication sends no password");
	expect_error(SCM "url = https://scm.example.com/api\n",
	    "needs the /private/api base");
	expect_error(SCM "auth = password\npassword_file = /p\n"
	    "url = https://h.example/private/api\n", "takes certificate "
	    "authentication");
	expect_error(SCM "auth = mtls\n", "expected certificate or password");
	expect_error(MINIMAL "[connector scm]\ntype = sectigo\n"
	    "login = a: b\n", "[connector] login: expected a login");
	expect_error(SCM "term = 0\n", "[connector] term");
	expect_error(MINIMAL "[connector scm]\ntype = sectigo\nlogin = x\n",
	    "needs customer_uri, login and org_id");
#undef SCM
}

static void
test_acme(void **state)
{
	struct config		 cfg;
	struct connector_cfg	*c;

#define ACME	MINIMAL "[connector acme]\ntype = acme\n" \
		"url = https://acme.example:14000/dir\n" \
		"account_key_uri = pkcs11:token=t;object=acme\n"
	(void)state;
	expect_ok(ACME, &cfg);
	c = &cfg.connectors[0];
	/* The default: the directory's origin. */
	assert_int_equal(c->nprefix, 1);
	assert_string_equal(c->prefix[0], "https://acme.example:14000/");
	assert_null(c->eab_kid);
	config_free(&cfg);
	expect_ok(ACME "server_prefixes = https://a.example/acme/ "
	    "https://b.example:8443/\neab_kid = kid-1\n"
	    "eab_hmac_file = /etc/hsmagent/eab.key\n"
	    "contact = mailto:pki@example.org,mailto:ops@example.org\n"
	    "preferred_chain = ISRG Root X1\npoll_max_wait_seconds = 900\n",
	    &cfg);
	c = &cfg.connectors[0];
	assert_int_equal(c->nprefix, 2);
	assert_string_equal(c->prefix[0], "https://a.example/acme/");
	assert_string_equal(c->prefix[1], "https://b.example:8443/");
	assert_string_equal(c->eab_kid, "kid-1");
	assert_string_equal(c->eab_hmac_file, "/etc/hsmagent/eab.key");
	assert_string_equal(c->preferred_chain, "ISRG Root X1");
	assert_int_equal(c->deadline_s, 900);
	config_free(&cfg);

	expect_error(MINIMAL "[connector acme]\ntype = acme\n"
	    "account_key_uri = pkcs11:token=t;object=a\n", "needs url (the ACME "
	    "directory)");
	expect_error(MINIMAL "[connector acme]\ntype = acme\n"
	    "url = https://acme.example/dir\n", "needs account_key_uri");
	expect_error(MINIMAL "[connector acme]\ntype = acme\n"
	    "url = http://acme.example/dir\n", "expected an https:// URL");
	expect_error(ACME "eab_kid = k\n", "eab_kid and eab_hmac_file go "
	    "together");
	expect_error(ACME "eab_hmac_file = /k\n", "go together");
	expect_error(ACME "eab_hmac_file = k\n", "[connector] eab_hmac_file");
	expect_error(ACME "eab_kid = a\"b\n", "[connector] eab_kid: expected "
	    "a key id");
	expect_error(MINIMAL "[connector acme]\ntype = acme\n"
	    "url = https://acme.example/dir\naccount_key_uri = file:/k\n",
	    "expected an RFC 7512");
	expect_error(ACME "server_prefixes = https://a.example/acme\n",
	    "ending in \"/\"");
	expect_error(ACME "server_prefixes = http://a.example/\n",
	    "expected an https:// URL");
	expect_error(ACME "server_prefixes = https://a/ https://b/ https://c/ "
	    "https://d/ https://e/\n", "at most 4 prefixes");
	expect_error(ACME "server_prefixes = https://u@a.example/\n",
	    "user information");
	expect_error(ACME "contact = pki@example.org\n", "expected "
	    "mailto:user@domain");
	expect_error(ACME "contact = mailto:a@b,tel:+1\n", "expected "
	    "mailto:user@domain");
	expect_error(ACME "contact = mailto:a@b@c\n", "expected mailto:");
	expect_error(ACME "contact = mailto:a\"@b\n", "[connector] contact");
	expect_error(ACME "preferred_chain = a\"b\n",
	    "[connector] preferred_chain: expected an issuer name");
	expect_error(ACME "auth = password\n", "authenticates with its "
	    "account key");
	/* ACME keys on another type would be ignored: refused. */
	expect_error(MINIMAL "[connector e]\ntype = entrust\n"
	    "url = https://ca.example/\nca_id = x\neab_kid = k\n",
	    "are for type acme");
#undef ACME
}

static void
test_acme_http01_listen(void **state)
{
	struct config		 cfg;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	static const char *const bad[] = {
		"0.0.0.0", "0.0.0.0:", ":80", "0.0.0.0:0", "0.0.0.0:65536",
		"0.0.0.0:080", "0.0.0.0:+80", "0.0.0.0:8 0", "1.2.3:80",
		"010.0.0.1:80", "0x7f.0.0.1:80", "localhost:80",
		"acme.example:80", "::1:80", "[::1]", "[::1]80", "[]:80",
		"[127.0.0.1]:80", "[fe80::1%eth0]:80", "[::1:80",
		"1.2.3.4:123456", "[::1]:99999",
	};

#define ACME(n)	"[connector " n "]\ntype = acme\n" \
		"url = https://acme.example:14000/dir\n" \
		"account_key_uri = pkcs11:token=t;object=acme\n"
	(void)state;
	expect_ok(MINIMAL ACME("a") "http01_listen = 127.0.0.1:5002\n", &cfg);
	assert_string_equal(cfg.connectors[0].http01_listen, "127.0.0.1:5002");
	assert_string_equal(cfg.http01_listen, "127.0.0.1:5002");
	config_free(&cfg);
	expect_ok(MINIMAL ACME("a"), &cfg);
	assert_null(cfg.http01_listen);
	config_free(&cfg);
	/* One listener per agent: the same address, however written. */
	expect_ok(MINIMAL ACME("a") "http01_listen = [::]:80\n" ACME("b")
	    ACME("c") "http01_listen = [0::0]:80\n", &cfg);
	assert_string_equal(cfg.http01_listen, "[::]:80");
	assert_null(cfg.connectors[1].http01_listen);
	config_free(&cfg);
	expect_error(MINIMAL ACME("a") "http01_listen = 0.0.0.0:80\n" ACME("b")
	    "http01_listen = 0.0.0.0:8080\n", "[connector b] http01_listen "
	    "0.0.0.0:8080 differs from [connector a] http01_listen 0.0.0.0:80");
	expect_error(MINIMAL ACME("a") "http01_listen = 0.0.0.0:80\n" ACME("b")
	    "http01_listen = [::]:80\n", "one http-01 listener");
	expect_error(MINIMAL ACME("a") "http01_listen = 0.0.0.0:80\n"
	    "http01_listen = 0.0.0.0:80\n", "repeated key");
	/* Only type acme answers challenges: refused elsewhere. */
	expect_error(MINIMAL "[connector e]\ntype = entrust\n"
	    "url = https://ca.example/\nca_id = x\n"
	    "http01_listen = 0.0.0.0:80\n", "http01_listen are for type acme");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char	text[1024];

		snprintf(text, sizeof(text), MINIMAL ACME("a")
		    "http01_listen = %s\n", bad[i]);
		expect_error(text, "[connector] http01_listen: expected an IPv4 "
		    "address or [IPv6] address and a port from 1 to 65535");
		assert_int_equal(config_listen_addr(bad[i], &ss, &len), -1);
	}
	assert_int_equal(config_listen_addr("192.0.2.1:65535", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(config_listen_addr("[2001:db8::1]:1", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
#undef ACME
}

static void
test_connectors(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(MINIMAL "[connector entrust]\ntype = entrust\n"
	    "url = https://gw.example.com:8443/cagw\nca_id = ca1\n"
	    "[connector lab]\ntype = testca\nurl = https://127.0.0.1/\n"
	    "deadline = 30\n", &cfg);
	assert_int_equal(cfg.nconnectors, 2);
	assert_string_equal(cfg.connectors[0].name, "entrust");
	assert_string_equal(cfg.connectors[0].url,
	    "https://gw.example.com:8443/cagw");
	assert_int_equal(cfg.connectors[0].deadline_s, 600);
	assert_string_equal(cfg.connectors[1].type, "testca");
	assert_int_equal(cfg.connectors[1].deadline_s, 30);
	config_free(&cfg);
	expect_error(MINIMAL "[connector e]\ntype = x\n[tls]\n",
	    "t:9: [connector e] needs a url");
	expect_error(MINIMAL "[connector e]\nurl = https://a.example\n",
	    "[connector e] needs a type");
	expect_error(MINIMAL "[connector e]\ntype = entrust\n"
	    "url = https://a.example\n", "type entrust needs ca_id");
	expect_error(MINIMAL "[connector e]\ntype = entrust\n"
	    "url = https://a.example\nca_id = c\nauth = password\n",
	    "authenticates with the client certificate only");
	expect_error(MINIMAL "[connector E]\n", "t:7: connector name");
	expect_error(MINIMAL "[connector e]\ntype = x\nurl = https://a.b\n"
	    "[connector e]\n", "t:10: [connector e] repeated");
	expect_error(MINIMAL "[connector e]\ntype = x\ntype = y\n",
	    "t:9: [connector] type: repeated key");
	expect_error(MINIMAL "[connector e]\ntype = x\n"
	    "url = http://a.example/\n", "t:9: [connector] url: expected an "
	    "https:// URL");
	expect_error(MINIMAL "[connector e]\ntype = x\nurl = https://a.b\n"
	    "deadline = 5\n", "t:10: [connector] deadline");
	expect_error(MINIMAL "[connector e]\ntype = x\nurl = https://a.b\n"
	    "colour = red\n", "t:10: unknown key");
	expect_ok(MINIMAL "[connector e]\ntype = entrust\nurl = https://a.b\n"
	    "ca_id = part~ca.1\nspki_pin = sha256//"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;sha256//"
	    "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\n", &cfg);
	assert_string_equal(cfg.connectors[0].ca_id, "part~ca.1");
	assert_non_null(strstr(cfg.connectors[0].spki_pin, ";sha256//BBBB"));
	config_free(&cfg);
	expect_error(MINIMAL "[connector e]\ntype = x\nurl = https://a.b\n"
	    "spki_pin = sha1//AAAA\n", "t:10: [connector] spki_pin: expected "
	    "sha256//BASE64");
	expect_error(MINIMAL "[connector e]\ntype = x\nurl = https://a.b\n"
	    "spki_pin = sha256//AAAA\n", "t:10: [connector] spki_pin");
	expect_error(MINIMAL "[connector e]\ntype = x\nurl = https://a.b\n"
	    "ca_id = a/b\n", "t:10: [connector] ca_id");
	expect_ok(MINIMAL "[connector e]\ntype = x\nurl = https://a.b\n"
	    "proxy = http://proxy.example.com:3128\n", &cfg);
	assert_string_equal(cfg.connectors[0].proxy,
	    "http://proxy.example.com:3128");
	config_free(&cfg);
	expect_error(MINIMAL "[connector e]\ntype = x\nurl = https://a.b\n"
	    "proxy = socks5://p:1080\n", "t:10: [connector] proxy: expected "
	    "http://");
	expect_error(MINIMAL "[connector e]\ntype = x\nurl = https://a.b\n"
	    "proxy = http://u:pw@p:3128\n", "no user information");
	expect_error(MINIMAL "[connector e]\ntype = x\nurl = https://a.b\n"
	    "proxy = http://p:3128/x\n", "has no path");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_number_errors),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_path_errors),
		cmocka_unit_test(test_byte_errors),
		cmocka_unit_test(test_length_bound),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_scheme_errors),
		cmocka_unit_test(test_key_uri_errors),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_free_twice),
		cmocka_unit_test(test_api_sections),
		cmocka_unit_test(test_connectors),
		cmocka_unit_test(test_sectigo),
		cmocka_unit_test(test_acme),
		cmocka_unit_test(test_acme_http01_listen),
		cmocka_unit_test(test_renewal),
		cmocka_unit_test(test_example_is_the_file),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
