/*
 * pin.c - see pin.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "pin.h"
#include "secret_file.h"
#include "util.h"

int
pin_read(const char *path, char **pinp, size_t *capp, char *err,
    size_t errlen)
{
	char		 cpath[PATH_MAX];

	*pinp = NULL;
	*capp = 0;
	if (path == NULL) {
		const char *dir = getenv("CREDENTIALS_DIRECTORY");

		if (dir == NULL || *dir != '/') {
			snprintf(err, errlen, "no pin_file configured and no "
			    "systemd credential ($CREDENTIALS_DIRECTORY/hsm-pin)");
			return -1;
		}
		if ((size_t)snprintf(cpath, sizeof(cpath), "%s/hsm-pin", dir) >=
		    sizeof(cpath)) {
			snprintf(err, errlen, "credential path too long");
			return -1;
		}
		path = cpath;
	}
	return secret_file_read(path, "PIN", PIN_MAX_LEN, pinp, capp, err,
	    errlen);
}
