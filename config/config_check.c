/*
 * config_check.c - what a configuration needs beyond its syntax, checked
 * by hsmagentd -t (and the parts that cannot wait, at every start):
 * users and groups that exist, directories that exist, the PIN file and
 * its mode, connector types the connector program has, policy rules that
 * name configured connectors, and on the token, without a login (no PIN
 * attempt spent): the module, the token, each key's public object, the
 * certificate against it, one key for one role. What needs a login is
 * said to be unchecked, not passed over in silence.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent.h"
#include "log.h"
#include "hsm.h"
#include "pin.h"
#include "policy.h"
#include "util.h"

#define TYPES_MAX	4096	/* the connector program's list of types */

static int
dir_exists(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s %s: %s", what, path, stat(path, &st) ==
		    -1 ? strerror(errno) : "not a directory");
		return -1;
	}
	return 0;
}

/* path, or (made at start when missing) its parent, exists. */
static int
dir_or_parent(const char *what, const char *path, char *err, size_t errlen)
{
	char		 p[PATH_MAX];
	struct stat	 st;

	if (path == NULL || stat(path, &st) == 0)
		return 0;
	snprintf(p, sizeof(p), "%s", path);
	return dir_exists(what, dirname(p), err, errlen) == -1 ? (snprintf(err,
	    errlen, "%s %s: neither it nor its parent directory exists", what,
	    path), -1) : 0;
}

static int
users_and_dirs(const struct config *cfg, char *err, size_t errlen)
{
	struct passwd	*pw;
	char		 p[PATH_MAX];

	if (geteuid() == 0) {
		if ((pw = getpwnam(cfg->child_user)) == NULL) {
			snprintf(err, errlen, "child_user '%s' does not exist",
			    cfg->child_user);
			return -1;
		}
		if (pw->pw_uid == 0 || pw->pw_gid == 0) {
			snprintf(err, errlen, "child_user '%s' is root",
			    cfg->child_user);
			return -1;
		}
	}
	if (cfg->api_group != NULL && getgrnam(cfg->api_group) == NULL) {
		snprintf(err, errlen, "[api] group %s does not exist",
		    cfg->api_group);
		return -1;
	}
	if (dir_or_parent("chroot_dir", cfg->chroot_dir, err, errlen) == -1 ||
	    dir_or_parent("[state] dir", cfg->state_dir, err, errlen) == -1)
		return -1;
	if (cfg->audit_log != NULL) {
		snprintf(p, sizeof(p), "%s", cfg->audit_log);
		if (dir_exists("[state] audit_log's directory", dirname(p), err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

/* Read, checked for its mode, wiped: no PIN attempt is made. */
static int
pin_file_ok(const struct config *cfg, FILE *out, char *err, size_t errlen)
{
	char	*pin = NULL;
	size_t	 cap = 0;

	/* The unit's credential exists only for the unit's own commands. */
	if (cfg->hsm_pin_file == NULL && getenv("CREDENTIALS_DIRECTORY") ==
	    NULL) {
		fprintf(out, "not checked here: the PIN (the systemd credential "
		    "hsm-pin exists only for the unit's commands)\n");
		return 0;
	}
	if (pin_read(cfg->hsm_pin_file, &pin, &cap, err, errlen) == -1)
		return -1;
	freezero(pin, cap);
	return 0;
}

/* The types the connector program has: "connector_path --types". */
static int
connector_types(const struct config *cfg, char *err, size_t errlen)
{
	char	 buf[TYPES_MAX + 1], *tok, *save = NULL;
	char	*types[IPC_MAX_CONNECTORS * 4];
	size_t	 ntypes = 0;
	int	 pfd[2], st;
	ssize_t	 n, got = 0;
	pid_t	 pid;

	if (cfg->nconnectors == 0)
		return 0;
	if (pipe2(pfd, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(err, errlen, "cannot run %s: %s", cfg->connector_path,
		    strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char *const argv[] = { "hsmagent-connector", "--types", NULL };
		char *const envp[] = { NULL };

		if (dup2(pfd[1], STDOUT_FILENO) == -1)
			_exit(127);
		execve(cfg->connector_path, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	while (got < TYPES_MAX && (n = read(pfd[0], buf + got,
	    (size_t)(TYPES_MAX - got))) > 0)
		got += n;
	close(pfd[0]);
	buf[got] = '\0';
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "connector_path %s does not list its "
		    "connector types (--types)", cfg->connector_path);
		return -1;
	}
	/* One type a line. */
	for (tok = strtok_r(buf, "\n", &save); tok != NULL && ntypes <
	    IPC_MAX_CONNECTORS * 4; tok = strtok_r(NULL, "\n", &save))
		types[ntypes++] = tok;
	for (size_t i = 0; i < cfg->nconnectors; i++) {
		size_t k;

		for (k = 0; k < ntypes && strcmp(types[k],
		    cfg->connectors[i].type) != 0; k++)
			;
		if (k == ntypes) {
			snprintf(err, errlen, "[connector %s] type \"%s\" is not "
			    "in %s", cfg->connectors[i].name,
			    cfg->connectors[i].type, cfg->connector_path);
			return -1;
		}
	}
	return 0;
}

static int
policy_connectors(const struct agent *a, char *err, size_t errlen)
{
	const char	*names[CONFIG_MAX_CONNECTORS], *bad, *rule = NULL;
	size_t		 n = a->cfg->nconnectors;

	for (size_t i = 0; i < n; i++)
		names[i] = a->cfg->connectors[i].name;
	if ((bad = policy_unknown_connector(a->policy, names, n, &rule)) ==
	    NULL)
		return 0;
	snprintf(err, errlen, "%s: rule %s names connector \"%s\", which is "
	    "not configured", a->cfg->api_policy, rule, bad);
	return -1;
}

/* The certificate's public key (leaf first in the file). */
static EVP_PKEY *
cert_key(const char *pem, size_t len)
{
	BIO		*b = BIO_new_mem_buf(pem, (int)len);
	X509		*x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY	*k = x ? X509_get_pubkey(x) : NULL;

	X509_free(x);
	BIO_free(b);
	return k;
}

/* The token without a login: keys there, certificate, one key one role. */
static int
token(const struct agent *a, FILE *out, char *err, size_t errlen)
{
	const struct config	*cfg = a->cfg;
	EVP_PKEY		*tls, *cert, *acct[CONFIG_MAX_CONNECTORS];
	size_t			 na = 0;
	int			 r = -1;

	if ((tls = hsm_public_key(cfg->hsm_module, cfg->hsm_key_uri, err,
	    errlen)) == NULL)
		return -1;
	if ((cert = cert_key(a->pub.chain_pem, a->pub.chain_len)) == NULL ||
	    EVP_PKEY_eq(cert, tls) != 1) {
		snprintf(err, errlen, "[hsm] certificate %s does not match the "
		    "key %s (its public key is not the token's)",
		    cfg->hsm_certificate, cfg->hsm_key_uri);
		goto out;
	}
	for (size_t i = 0; i < cfg->nconnectors; i++) {
		const struct connector_cfg *cc = &cfg->connectors[i];

		if (cc->account_key_uri == NULL)
			continue;
		if ((acct[na] = hsm_public_key(cfg->hsm_module,
		    cc->account_key_uri, err, errlen)) == NULL) {
			char e[512];

			snprintf(e, sizeof(e), "[connector %s] %s", cc->name, err);
			snprintf(err, errlen, "%s", e);
			goto out;
		}
		if (EVP_PKEY_eq(acct[na], tls) == 1) {
			na++;
			snprintf(err, errlen, "[connector %s] account_key_uri "
			    "names the TLS client key: one key, one role",
			    cc->name);
			goto out;
		}
		for (size_t k = 0; k < na; k++)
			if (EVP_PKEY_eq(acct[na], acct[k]) == 1) {
				na++;
				snprintf(err, errlen, "[connector %s] has another "
				    "connector's ACME account key: one key, one "
				    "role", cc->name);
				goto out;
			}
		na++;
	}
	fprintf(out, "not checked without a login (no PIN attempt is spent "
	    "by -t): that the private keys are sensitive and never "
	    "extractable, and that the PIN is right\n");
	r = 0;
 out:
	for (size_t k = 0; k < na; k++)
		EVP_PKEY_free(acct[k]);
	EVP_PKEY_free(cert);
	EVP_PKEY_free(tls);
	ERR_clear_error();
	return r;
}

int
config_check(const struct agent *a, int test_only, FILE *out, char *err,
    size_t errlen)
{
	if (users_and_dirs(a->cfg, err, errlen) == -1)
		return -1;
	if (!test_only) {
		/* Not fatal here: such a rule allows nothing, but say so. */
		if (a->policy != NULL && policy_connectors(a, err, errlen) == -1)
			log_warn("policy: %s", err);
		return 0;	/* the start checks the rest as it goes */
	}
	if (a->policy != NULL && policy_connectors(a, err, errlen) == -1)
		return -1;
	if (pin_file_ok(a->cfg, out, err, errlen) == -1 ||
	    connector_types(a->cfg, err, errlen) == -1 ||
	    token(a, out, err, errlen) == -1)
		return -1;
	return 0;
}
