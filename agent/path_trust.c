/*
 * path_trust.c - OpenSSH's StrictModes for the files the agent trusts.
 *
 * The configuration and the policy say who may have what; the connector
 * program and the PKCS#11 module run as root (in the child and in the
 * parent); the certificate says which key is ours; the API socket's
 * directory decides who can put something else at the socket's path.
 * Whoever can write any of them has the agent. So each must be owned by
 * root or the agent's own user and writable by no one else, and so must
 * the directory it is in (a sticky directory excepted, like /tmp: others
 * may add names there, but not replace ours); the socket's directory
 * may not be sticky either. Symbolic links are followed to the file
 * they name, which is what is checked.
 */
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

/* Owned by root or us, writable by no one else; 0 or -1 with err. */
static int
trusted_node(const char *what, const char *path, const struct stat *st,
    char *err, size_t errlen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen, "%s %s is owned by uid %ld, not by root "
		    "or the agent: refusing to trust it", what, path,
		    (long)st->st_uid);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s %s is writable by %s (mode %04o): "
		    "refusing to trust it; chmod go-w", what, path,
		    st->st_mode & S_IWOTH ? "others" : "its group",
		    (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

/* The file path names (links followed) and the directory it is in. */
static int
trust_file(const char *what, const char *path, char *err, size_t errlen)
{
	char		 real[PATH_MAX], dir[PATH_MAX];
	struct stat	 st;

	if (path == NULL)
		return 0;
	if (realpath(path, real) == NULL || stat(real, &st) == -1) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", what, path);
		return -1;
	}
	if (trusted_node(what, real, &st, err, errlen) == -1)
		return -1;
	snprintf(dir, sizeof(dir), "%s", real);
	if (stat(dirname(dir), &st) == -1) {
		snprintf(err, errlen, "%s %s: its directory: %s", what, path,
		    strerror(errno));
		return -1;
	}
	/* A sticky directory (/tmp): others cannot replace our file. */
	if (st.st_mode & S_ISVTX)
		return 0;
	snprintf(dir, sizeof(dir), "%s", real);
	return trusted_node("the directory of", dirname(dir), &st, err, errlen);
}

/* The socket's directory: no one else may put anything at its path. */
static int
trust_socket_dir(const char *sock, char *err, size_t errlen)
{
	char		 dir[PATH_MAX];
	struct stat	 st;

	if (sock == NULL)
		return 0;
	snprintf(dir, sizeof(dir), "%s", sock);
	if (stat(dirname(dir), &st) == -1) {
		snprintf(err, errlen, "[api] socket %s: its directory: %s", sock,
		    strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", sock);
	return trusted_node("[api] socket directory", dirname(dir), &st, err,
	    errlen);
}

/* The child's user may not be among those the socket admits. */
static int
child_not_in_group(const struct config *cfg, char *err, size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;

	if (cfg->api_group == NULL || cfg->child_user == NULL ||
	    (pw = getpwnam(cfg->child_user)) == NULL ||
	    (gr = getgrnam(cfg->api_group)) == NULL)
		return 0;
	for (char **m = gr->gr_mem; *m != NULL; m++)
		if (strcmp(*m, cfg->child_user) == 0)
			goto in;
	if (pw->pw_gid != gr->gr_gid)
		return 0;
 in:
	snprintf(err, errlen, "child_user %s is in [api] group %s: a hijacked "
	    "connector child could use the local API; give the clients a "
	    "group of their own", cfg->child_user, cfg->api_group);
	return -1;
}

int
path_trust_check(const struct config *cfg, char *err, size_t errlen)
{
	if (trust_file("the configuration", cfg->path, err, errlen) == -1 ||
	    trust_file("[api] policy", cfg->api_policy, err, errlen) == -1 ||
	    trust_file("connector_path", cfg->connector_path, err,
	    errlen) == -1 ||
	    trust_file("[hsm] module", cfg->hsm_module, err, errlen) == -1 ||
	    trust_file("[hsm] certificate", cfg->hsm_certificate, err,
	    errlen) == -1 ||
	    trust_socket_dir(cfg->api_socket, err, errlen) == -1 ||
	    child_not_in_group(cfg, err, errlen) == -1)
		return -1;
	return 0;
}
