/*
 * msg.c - errors, stderr messages and the mail log; see msg.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/msg.h"

#define MSG_LINE_MAX	4096

static __thread char err_text[1024];	/* per thread: DNS workers */
static const char *msg_prog = "sitemail";
static int	 msg_silent;
static int	 log_fd = -1;		/* file or stderr; -1 = syslog */
static int	 log_syslog;
static int	 log_creator;		/* log_open may create the file */

/* err_set - record a one-line reason and return status. */
int
err_set(int status, const char *fmt, ...)
{
	char	 t[sizeof(err_text)];
	va_list	 ap;

	/* Into a copy first: callers often pass err_str() itself. */
	va_start(ap, fmt);
	vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	memcpy(err_text, t, sizeof(err_text));
	return status;
}

/* err_str - the last reason recorded. */
const char *
err_str(void)
{
	return err_text;
}

/* msg_progname - the program name used in messages. */
const char *
msg_progname(void)
{
	return msg_prog;
}

/* log_create - allow log_open to create a missing log file (sitemaild
 * only: no set-gid program creates a shared file). */
void
log_create(int yes)
{
	log_creator = yes;
}

/* log_open - choose where log lines go. */
int
log_open(const char *prog, const char *spec)
{
	const char *p;

	if (prog != NULL)
		msg_prog = (p = strrchr(prog, '/')) ? p + 1 : prog;
	if (log_fd > 2)
		close(log_fd);
	log_fd = -1;
	log_syslog = 0;
	if (spec == NULL || *spec == '\0' || strcmp(spec, "syslog") == 0) {
		openlog(msg_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_syslog = 1;
		return 0;
	}
	if (strcmp(spec, "stderr") == 0) {
		log_fd = STDERR_FILENO;
		return 0;
	}
	if (strncmp(spec, "file:", 5) == 0 && spec[5] == '/') {
		log_fd = open(spec + 5, O_WRONLY | O_APPEND | O_CLOEXEC |
		    O_NOFOLLOW | O_NONBLOCK | (log_creator ? O_CREAT : 0), 0660);
		if (log_fd >= 0)
			return 0;
		if (log_creator)
			return err_set(EX_CANTCREAT, "cannot open log %s: %s",
			    spec + 5, strerror(errno));
		/* Never fail (or create a shared file) over the log:
		 * syslog takes the lines, and the runner logs the message
		 * again when it picks it up. */
		openlog(msg_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_syslog = 1;
		syslog(LOG_WARNING, "cannot open log %s: %s; logging to "
		    "syslog", spec + 5, strerror(errno));
		return 0;
	}
	return err_set(EX_CONFIG, "bad log destination \"%s\"", spec);
}

/* msg_clean - replace control bytes so one event stays one line. */
static void
msg_clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* log_vline - format, sanitise and emit one log line. */
static void
log_vline(int prio, const char *fmt, va_list ap)
{
	char	 line[MSG_LINE_MAX], stamp[64];
	struct buf b;
	struct tm tm;
	time_t	 now;

	vsnprintf(line, sizeof(line), fmt, ap);
	msg_clean(line);
	if (log_syslog || log_fd < 0) {
		if (!log_syslog)
			openlog(msg_prog, LOG_PID, LOG_MAIL);
		syslog(prio, "%s", line);
		return;
	}
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	buf_init(&b, MSG_LINE_MAX * 2);
	if (buf_printf(&b, "%s sitemail/%s[%ld]: %s%s\n", stamp, msg_prog,
	    (long)getpid(), prio <= LOG_ERR ? "error: " :
	    prio == LOG_WARNING ? "warning: " : "", line) == 0)
		if (write(log_fd, b.ptr, b.len) != (ssize_t)b.len) {
			openlog(msg_prog, LOG_PID, LOG_MAIL);
			syslog(prio, "%s", line);
		}
	buf_free(&b);
}

#define LOG_FN(name, prio)						\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
	int	 saved = errno;						\
									\
	va_start(ap, fmt);						\
	log_vline(prio, fmt, ap);					\
	va_end(ap);							\
	errno = saved;							\
}

/* log_info - one informational line. */
LOG_FN(log_info, LOG_INFO)
/* log_warn - one warning line. */
LOG_FN(log_warn, LOG_WARNING)
/* log_error - one error line. */
LOG_FN(log_error, LOG_ERR)

/* msg_quiet - silence stderr (sendmail -bs must never write there). */
void
msg_quiet(int on)
{
	msg_silent = on;
}

/* msg_vstderr - "prog: text\n" on stderr in one write. */
static void
msg_vstderr(const char *fmt, va_list ap)
{
	char	 line[MSG_LINE_MAX];
	struct buf b;

	if (msg_silent)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	msg_clean(line);
	buf_init(&b, sizeof(line) + 256);
	if (buf_printf(&b, "%s: %s\n", msg_prog, line) == 0)
		(void)!write(STDERR_FILENO, b.ptr, b.len);
	buf_free(&b);
}

/* msg_warnx - report on stderr without exiting. */
void
msg_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	msg_vstderr(fmt, ap);
	va_end(ap);
}

/* msg_fatal - report on stderr and in the log, then exit(status). */
void
msg_fatal(int status, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	msg_vstderr(fmt, ap);
	va_end(ap);
	if (log_syslog || log_fd != STDERR_FILENO) {
		va_start(ap, fmt);
		log_vline(LOG_WARNING, fmt, ap);
		va_end(ap);
	}
	exit(status);
}
