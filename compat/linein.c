/*
 * linein.c - buffered line input with line-ending normalisation and the
 * two sendmail dot conventions; see compat.h.
 *
 * Input lines may end in LF or CR LF, mixed freely.  The CR of a CR LF is
 * removed; any other CR (a "bare" CR) is handed on verbatim, so the caller
 * that appends CR LF to every line never produces CR CR LF.  A CR that is
 * the last byte of a full buffer is held back until the next read shows
 * whether an LF follows.  A CR that is the very last byte of the input is
 * taken as a line end (the tail of a CR LF cut short).
 *
 * Dot handling applies only at the start of a line:
 *	DOT_NONE	everything up to EOF is data (-i, -oi).
 *	DOT_ENDS	a line holding only "." ends the input; nothing is
 *			unstuffed (Postfix sendmail).
 *	DOT_SMTP	as DOT_ENDS, and a leading "." is removed from any
 *			other line (RFC 5321 4.5.2 transparency).
 *
 * The -bs dialogue reads its commands with linein_line() and each
 * message with linein_get() on the same buffer: before each DATA the
 * caller sets dot = DOT_SMTP and done = 0, afterwards dot = DOT_NONE and
 * done = 0 again.  In every dot mode linein_get() returns 0 at EOF as well
 * as at the dot; only "done" tells the two apart, so a reader of SMTP DATA
 * must check it before it commits anything.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat/compat.h"
#include "util/msg.h"

#define LINEIN_BUFSIZE	(64 * 1024)

/* linein_init - read from fd, no dot handling, at the start of a line. */
void
linein_init(struct linein *l, int fd)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->buf = malloc(LINEIN_BUFSIZE);
	l->bol = 1;
	l->dot = DOT_NONE;
}

/* linein_free - release the buffer. */
void
linein_free(struct linein *l)
{
	free(l->buf);
	l->buf = NULL;
	l->pos = l->end = 0;
}

/* linein_fill - move unread bytes to the front and read more.  Returns 1
 * when bytes arrived, 0 at EOF, -1 on error (errno set). */
static int
linein_fill(struct linein *l)
{
	ssize_t	 r;

	if (l->buf == NULL) {
		err_set(EX_TEMPFAIL, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	if (l->pos > 0) {
		memmove(l->buf, l->buf + l->pos, l->end - l->pos);
		l->end -= l->pos;
		l->pos = 0;
	}
	do
		r = l->rd ? l->rd(l->rdctx, l->buf + l->end,
		    LINEIN_BUFSIZE - l->end) :
		    read(l->fd, l->buf + l->end, LINEIN_BUFSIZE - l->end);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		int	 saved = errno;

		err_set(EX_IOERR, "read error: %s", strerror(saved));
		errno = saved;
		return -1;
	}
	if (r == 0) {
		l->eof = 1;
		return 0;
	}
	l->end += (size_t)r;
	l->nread += (uint64_t)r;
	return 1;
}

/* linein_raw - the next piece of a line, without dot handling. */
static int
linein_raw(struct linein *l, const char **p, size_t *n, int *eol)
{
	const char *lf;
	size_t	 avail, k;

	for (;;) {
		avail = l->end - l->pos;
		lf = avail ? memchr(l->buf + l->pos, '\n', avail) : NULL;
		if (lf != NULL) {
			*p = l->buf + l->pos;
			k = (size_t)(lf - *p);
			l->pos += k + 1;
			*n = (k > 0 && (*p)[k - 1] == '\r') ? k - 1 : k;
			*eol = 1;
			return 1;
		}
		if (l->eof) {
			if (avail == 0)
				return 0;
			*p = l->buf + l->pos;
			*n = (*p)[avail - 1] == '\r' ? avail - 1 : avail;
			l->pos = l->end;
			*eol = 1;
			return 1;
		}
		if (avail == LINEIN_BUFSIZE) {
			/* A full buffer without LF: hand it on, but keep a
			 * final CR back until we know what follows it. */
			*p = l->buf + l->pos;
			*n = (*p)[avail - 1] == '\r' ? avail - 1 : avail;
			l->pos += *n;
			*eol = 0;
			return 1;
		}
		if (linein_fill(l) < 0)
			return -1;
	}
}

/* linein_get - the next piece of a line, with dot handling. */
int
linein_get(struct linein *l, const char **p, size_t *n, int *eol)
{
	int	 r, bol;

	if (l->done)
		return 0;
	if ((r = linein_raw(l, p, n, eol)) != 1)
		return r;
	bol = l->bol;
	l->bol = *eol;
	if (bol && l->dot != DOT_NONE && *n > 0 && (*p)[0] == '.') {
		if (*eol && *n == 1) {
			l->done = 1;
			return 0;
		}
		if (l->dot == DOT_SMTP) {
			(*p)++;
			(*n)--;
		}
	}
	return 1;
}

/* linein_line - one whole line into out (size max, NUL-terminated). */
int
linein_line(struct linein *l, char *out, size_t max, size_t *n)
{
	const char *p;
	size_t	 len = 0, k;
	int	 eol = 0, r, toolong = 0;

	if (max == 0)
		return -2;
	out[0] = '\0';
	*n = 0;
	while (!eol) {
		if ((r = linein_raw(l, &p, &k, &eol)) < 0)
			return -1;
		if (r == 0) {
			if (len == 0 && !toolong)
				return 0;
			break;
		}
		if (toolong || k > max - 1 - len)
			toolong = 1;
		else {
			memcpy(out + len, p, k);
			len += k;
		}
	}
	l->bol = 1;
	if (toolong)
		return -2;
	out[len] = '\0';
	*n = len;
	return 1;
}
