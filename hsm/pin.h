/*
 * pin.h - reading the token PIN.
 *
 * The PIN comes from a file (config pin_file) or, when that is not set,
 * from the systemd credential $CREDENTIALS_DIRECTORY/hsm-pin; never from
 * argv or the environment. The file must be a regular file that group
 * and others cannot access. One trailing newline is dropped.
 */
#ifndef HSMAGENT_PIN_H
#define HSMAGENT_PIN_H

#include <stddef.h>

#define PIN_MAX_LEN	256

/* On success *pin is a NUL-terminated malloc'd buffer: freezero(pin, cap). */
int	pin_read(const char *path, char **pin, size_t *cap, char *err,
	    size_t errlen);

#endif
