/*
 * log.c - leveled logging to stderr or syslog; see log.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char	*log_prog = "hsmagent";
static enum log_level	 log_level = LOG_LVL_INFO;
static log_sink_fn	 log_sink;
static void		(*log_exit)(int) = exit;
static int		 log_syslog;
static int		 log_journal = -1;	/* -1: not checked yet */

/* syslog(3) priorities, also the "<N>" prefix journald reads. */
static const int level_prio[] = {
	[LOG_LVL_ERROR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void
log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_level = level;
}

void
log_use_syslog(void)
{
	openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

/*
 * Is stderr the journal (systemd sets JOURNAL_STREAM to its device and
 * inode)? Then each line starts with "<N>", sd-daemon(3)'s way to
 * give journald the priority.
 */
static int
stderr_is_journal(void)
{
	const char		*v = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_set_sink(log_sink_fn fn)
{
	log_sink = fn;
}

void
log_set_exit(void (*fn)(int))
{
	log_exit = fn;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

int
log_level_from_name(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char	 line[1024];
	int	 saved = errno;

	if (level > log_level)
		return;
	if (log_sink != NULL) {
		vsnprintf(line, sizeof(line), fmt, ap);
		log_sink(level, line);
		errno = saved;
		return;
	}
	if (log_syslog) {
		vsnprintf(line, sizeof(line), fmt, ap);
		syslog(level_prio[level], "%s: %s", level_names[level], line);
		errno = saved;
		return;
	}
	if (log_journal == -1)
		log_journal = stderr_is_journal();
	/* One write per line so lines from both processes never interleave. */
	int n = log_journal ? snprintf(line, sizeof(line), "<%d>%s: ",
	    level_prio[level], level_names[level]) :
	    snprintf(line, sizeof(line), "%s[%ld]: %s: ", log_prog,
	    (long)getpid(), level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n;
	if (m > 0)
		len += (size_t)m < sizeof(line) - (size_t)n - 1 ?
		    (size_t)m : sizeof(line) - (size_t)n - 2;
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
	errno = saved;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char	 msg[768];
	int	 saved = errno;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s: %s", msg, strerror(saved));
	log_exit(1);
	abort();
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	log_exit(1);
	abort();
}

void
fatalc(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	log_exit(code);
	abort();
}
