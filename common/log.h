/*
 * log.h - logging shared by every hsmagent program.
 *
 * Lines go to stderr as
 *   "<prog>[<pid>]: <level>: <message>"
 * or, when stderr is the journal (JOURNAL_STREAM), as "<N><level>:
 * <message>" so that journald records the priority N; or to syslog(3),
 * facility daemon. Messages that record an event start "event=NAME"
 * with the audit log's stable event name.
 * Messages never carry secrets; callers pass only public facts.
 * fatal()/fatalx() log and exit(1): "cannot continue" in OpenBSD's sense.
 */
#ifndef HSMAGENT_LOG_H
#define HSMAGENT_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void	log_init(const char *prog, enum log_level level);
/*
 * Routes messages (without prefix) to fn instead of stderr: the
 * connector child sends its log lines to the parent over IPC.
 */
typedef void (*log_sink_fn)(enum log_level, const char *msg);
void	log_set_sink(log_sink_fn fn);
/* From now on to syslog(3) (LOG_DAEMON) instead of stderr. */
void	log_use_syslog(void);
/* How fatal() ends the process: exit by default, _exit in the child. */
void	log_set_exit(void (*fn)(int));
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warning", "info", "debug"; returns -1 if unknown. */
int	log_level_from_name(const char *name, enum log_level *out);

void	log_msg(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(enum log_level, const char *fmt, va_list)
	    __attribute__((format(printf, 2, 0)));

#define log_error(...)	log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * fatal() appends strerror(errno); fatalx() does not. Both end with 1;
 * fatalc() with the code given (sysexits: 78 configuration, 77
 * credentials, so that a supervisor does not retry what cannot work).
 */
__attribute__((noreturn, format(printf, 2, 3)))
void	fatalc(int code, const char *fmt, ...);
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
