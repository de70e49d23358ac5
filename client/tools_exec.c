/*
 * tools_exec.c - see tools.h: hsmagent runs them by executing
 * hsmagent-tools, found next to this binary (the build tree), then at
 * ../libexec/hsmagent/ from it (an install under any prefix or DESTDIR),
 * then in LIBEXECDIR (the configured one).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools.h"

#define TOOLS_NAME	"hsmagent-tools"

static int
run(char *whole[])
{
	char		 self[PATH_MAX], path[PATH_MAX + 64], *slash;
	const char	*dirs[3];
	ssize_t		 n;
	int		 e = ENOENT;

	dirs[0] = dirs[1] = NULL;
	dirs[2] = LIBEXECDIR;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			dirs[0] = self;
			dirs[1] = "../libexec/hsmagent";
		}
	}
	for (int i = 0; i < 3; i++) {
		if (dirs[i] == NULL)
			continue;
		if (i == 1)
			snprintf(path, sizeof(path), "%s/%s/%s", self, dirs[1],
			    TOOLS_NAME);
		else
			snprintf(path, sizeof(path), "%s/%s", dirs[i],
			    TOOLS_NAME);
		if (access(path, X_OK) != 0)
			continue;
		execv(path, whole);
		e = errno;
		fprintf(stderr, "hsmagent: cannot run %s: %s\n", path,
		    strerror(e));
		return 1;
	}
	fprintf(stderr, "hsmagent: %s not found next to hsmagent, in "
	    "../libexec/hsmagent from it, or in %s: it runs the audit "
	    "commands and certmonger-helper (make install puts it there)\n",
	    TOOLS_NAME, LIBEXECDIR);
	return 1;
}

int
tools_certmonger(int argc, char *argv[], const char *socket_path,
    char *whole[])
{
	(void)argc;
	(void)argv;
	(void)socket_path;
	return run(whole);
}

int
tools_audit(int argc, char *argv[], char *whole[])
{
	(void)argc;
	(void)argv;
	return run(whole);
}
