/*
 * deliver.h - writing certificates where the caller wants them, with
 * the caller's own rights (the agent writes nothing outside its state
 * directory): atomically, so that a reader sees the old file or the new
 * one and never a part; and only when the content changed, so that a
 * timer can tell whether a service needs a reload.
 */
#ifndef HSMAGENT_DELIVER_H
#define HSMAGENT_DELIVER_H

/*
 * Writes content to path unless path already holds exactly that:
 * a temporary file in the same directory (mode 0666 less the umask),
 * written, fsync'ed, renamed over path, and the directory fsync'ed.
 * 1 written, 0 unchanged, -1 with err set (path untouched).
 */
int	deliver_file(const char *path, const char *content, char *err,
	    size_t errlen);

/* Runs cmd with /bin/sh -c as this process's user; its exit status. */
int	deliver_exec(const char *cmd);

#endif
