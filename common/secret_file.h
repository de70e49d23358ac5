/*
 * secret_file.h - reading a secret (the token PIN, a CA password) from
 * a file: a regular file, not a link, that group and others cannot
 * access, owned by root or by us; one line of at most max bytes, no NUL
 * (one trailing newline is dropped). Never from argv or the
 * environment.
 */
#ifndef HSMAGENT_SECRET_FILE_H
#define HSMAGENT_SECRET_FILE_H

#include <stddef.h>

/*
 * On success *out is a NUL-terminated malloc'd buffer of *cap bytes:
 * release it with freezero(*out, *cap). what names the secret in
 * errors ("PIN", "password"); the secret itself never appears in them.
 */
int	secret_file_read(const char *path, const char *what, size_t max,
	    char **out, size_t *cap, char *err, size_t errlen);

#endif
