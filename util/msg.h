/*
 * msg.h - the one error and log discipline of sitemail.
 *
 * Errors: a function that can fail returns 0 on success or a sysexits(3)
 * status (EX_USAGE, EX_DATAERR, EX_TEMPFAIL, EX_NOPERM, EX_CONFIG, ...) and
 * leaves a one-line reason in err_str() via err_set().  Callers either pass
 * the status up unchanged or report it with msg_fatal().
 *
 * Logging: one line per event, Postfix style, to syslog (facility mail),
 * stderr, or a file ("file:/path", one O_APPEND write per line).  Every line
 * is sanitised: CR, LF, NUL and other control bytes become '?'.
 */
#ifndef SM_MSG_H
#define SM_MSG_H

#include <stdarg.h>
#include <sysexits.h>

#define SM_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* err_set - record a one-line reason; returns status for "return err_set()". */
int	err_set(int status, const char *fmt, ...) SM_PRINTF(2, 3);
/* err_str - the last reason recorded by err_set(). */
const char *err_str(void);

/* log_create - let log_open create a missing file (sitemaild only). */
void	log_create(int);
/* log_open - direct the log: "syslog", "stderr" or "file:/path"; a file
 * that cannot be opened falls back to syslog unless log_create(1). */
int	log_open(const char *prog, const char *spec);
/* log_info - one informational line (deliveries, submissions). */
void	log_info(const char *fmt, ...) SM_PRINTF(1, 2);
/* log_warn - one warning line (quarantine, freeze, rate limit). */
void	log_warn(const char *fmt, ...) SM_PRINTF(1, 2);
/* log_error - one error line. */
void	log_error(const char *fmt, ...) SM_PRINTF(1, 2);

/* msg_quiet - when set, msg_fatal() writes nothing to stderr (sendmail -bs). */
void	msg_quiet(int);
/* msg_warnx - "prog: text" on stderr (unless quiet), without exiting. */
void	msg_warnx(const char *fmt, ...) SM_PRINTF(1, 2);
/* msg_fatal - "prog: text" on stderr, a log line, then exit(status). */
void	msg_fatal(int status, const char *fmt, ...) SM_PRINTF(2, 3)
	    __attribute__((noreturn));
/* msg_progname - the program name used in messages and the log. */
const char *msg_progname(void);

#endif
