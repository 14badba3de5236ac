/*
 * test_linein.c - line endings, bare CR, buffer edges, long lines and the
 * two dot conventions of compat/linein.c.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compat/compat.h"
#include "testsuite/unit/tap.h"
#include "util/buf.h"

#define BUFSZ	(64 * 1024)

/* memfd_of - a readable fd holding n bytes of data. */
static int
memfd_of(const char *data, size_t n)
{
	int	 fd = memfd_create("linein", 0);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

/* drain - read l to its end in internal form (pieces, CR LF per line). */
static void
drain(struct linein *l, struct buf *out, size_t *pieces, size_t *maxpiece)
{
	const char *p;
	size_t	 n;
	int	 eol;

	*pieces = *maxpiece = 0;
	while (linein_get(l, &p, &n, &eol) == 1) {
		(*pieces)++;
		if (n > *maxpiece)
			*maxpiece = n;
		if (buf_add(out, p, n) < 0 || (eol && buf_add(out, "\r\n", 2)))
			abort();
	}
}

/* conv - run data through linein with dot mode d; done is reported. */
static char *
conv(const char *data, size_t n, enum linein_dot d, int *done)
{
	struct linein l;
	struct buf out;
	size_t	 pieces, maxp;
	int	 fd = memfd_of(data, n);

	buf_init(&out, 1 << 24);
	linein_init(&l, fd);
	l.dot = d;
	drain(&l, &out, &pieces, &maxp);
	if (done)
		*done = l.done;
	linein_free(&l);
	close(fd);
	return buf_steal(&out);
}

#define CONVD(lit, d, done)	conv(lit, sizeof(lit) - 1, d, done)
#define CONV_IS(in, d, want, name) do {					\
	char *g_ = conv(in, sizeof(in) - 1, d, NULL);			\
	is_str(g_, want, name);						\
	free(g_);							\
} while (0)

/* t_endings - LF, CR LF, mixed, bare CR, no final newline. */
static void
t_endings(void)
{
	CONV_IS("a\nb\r\nc", DOT_NONE, "a\r\nb\r\nc\r\n",
	    "LF, CRLF and a missing final newline");
	CONV_IS("a\rb\r\n", DOT_NONE, "a\rb\r\n", "a bare CR is kept");
	CONV_IS("a\r\r\n", DOT_NONE, "a\r\r\n", "CR CR LF is not doubled");
	CONV_IS("x\r", DOT_NONE, "x\r\n", "a CR at EOF ends the line");
	CONV_IS("\n\r\n", DOT_NONE, "\r\n\r\n", "empty lines");
	CONV_IS("", DOT_NONE, "", "empty input");
	CONV_IS("To: a\r\nSubject: s\r\n\r\nbody\nmore\n", DOT_NONE,
	    "To: a\r\nSubject: s\r\n\r\nbody\r\nmore\r\n",
	    "PHP 8: CRLF header, LF body");
}

/* t_dots - DOT_NONE, DOT_ENDS and DOT_SMTP. */
static void
t_dots(void)
{
	int	 done;
	char	*g;

	CONV_IS("a\n.\nb\n", DOT_NONE, "a\r\n.\r\nb\r\n", "-i: dot is data");
	g = CONVD("a\n..x\n.\nb\n", DOT_ENDS, &done);
	is_str(g, "a\r\n..x\r\n", "DOT_ENDS: stops at dot, no unstuffing");
	ok(done, "DOT_ENDS: done set");
	free(g);
	g = CONVD("a\n..x\n.y\n.\r\nb\n", DOT_SMTP, &done);
	is_str(g, "a\r\n.x\r\ny\r\n", "DOT_SMTP: unstuffed, ends at .CRLF");
	ok(done, "DOT_SMTP: done set");
	free(g);
	CONV_IS("a\n. \n.\t\n", DOT_ENDS, "a\r\n. \r\n.\t\r\n",
	    "dot with a blank after it does not end");
	g = CONVD("a\n.", DOT_ENDS, &done);
	is_str(g, "a\r\n", "dot at EOF without newline ends");
	ok(done, "dot at EOF: done");
	free(g);
	g = CONVD("a\nb\n", DOT_SMTP, &done);
	ok(!done, "EOF without dot: done stays 0");
	free(g);
	CONV_IS("x.\n.\n", DOT_ENDS, "x.\r\n", "dot only counts at bol");
}

/* t_long - long lines in pieces, and a CR on the buffer edge. */
static void
t_long(void)
{
	struct linein l;
	struct buf out;
	size_t	 n = 200000, pieces, maxp;
	char	*in = malloc(n + 10), *want;
	int	 fd;

	memset(in, 'a', n);
	memcpy(in + n, "\nb\n", 3);
	fd = memfd_of(in, n + 3);
	buf_init(&out, 1 << 24);
	linein_init(&l, fd);
	drain(&l, &out, &pieces, &maxp);
	ok(pieces >= 4, "200000-byte line comes in pieces");
	ok(maxp <= BUFSZ, "no piece over 64 KiB");
	is_int(out.len, n + 5, "long line: length");
	ok(memcmp(out.ptr + n, "\r\nb\r\n", 5) == 0, "long line: ends right");
	is_int(l.nread, n + 3, "nread counts raw bytes");
	linein_free(&l);
	close(fd);
	buf_free(&out);

	/* A full buffer whose last byte is the CR of a CR LF. */
	memset(in, 'a', BUFSZ - 1);
	memcpy(in + BUFSZ - 1, "\r\nb\n", 4);
	want = conv(in, BUFSZ + 3, DOT_NONE, NULL);
	ok(strlen(want) == BUFSZ - 1 + 5 &&
	    memcmp(want + BUFSZ - 1, "\r\nb\r\n", 5) == 0,
	    "CR LF split over the buffer edge: one line end");
	free(want);
	/* ... and a bare CR on the same edge. */
	memcpy(in + BUFSZ - 1, "\rX\n", 3);
	want = conv(in, BUFSZ + 2, DOT_NONE, NULL);
	ok(strlen(want) == BUFSZ - 1 + 4 &&
	    memcmp(want + BUFSZ - 1, "\rX\r\n", 4) == 0,
	    "bare CR on the buffer edge is kept, not doubled");
	free(want);
	/* ... and a CR on the edge that is the last byte of input. */
	want = conv(in, BUFSZ, DOT_NONE, NULL);
	ok(strlen(want) == BUFSZ - 1 + 2 &&
	    memcmp(want + BUFSZ - 1, "\r\n", 2) == 0,
	    "CR on the buffer edge at EOF ends the line");
	free(want);
	/* A long dot-stuffed line in SMTP mode is unstuffed once. */
	memset(in, 'a', 100000);
	in[0] = in[1] = '.';
	memcpy(in + 100000, "\n.\n", 3);
	want = conv(in, 100003, DOT_SMTP, NULL);
	ok(strlen(want) == 100000 - 1 + 2 && want[0] == '.' && want[1] == 'a',
	    "long stuffed line: one dot removed");
	free(want);
	free(in);
}

/* t_line - linein_line for -bs commands. */
static void
t_line(void)
{
	struct linein l;
	char	 line[16], big[100];
	size_t	 n;
	int	 fd;

	memset(big, 'x', sizeof(big));
	memcpy(big, "HELO a\r\nNOOP\n", 14);
	memcpy(big + 50, "\nQUIT", 5);
	fd = memfd_of(big, 55);
	linein_init(&l, fd);
	is_int(linein_line(&l, line, sizeof(line), &n), 1, "line 1");
	is_str(line, "HELO a", "line 1: CRLF stripped");
	is_int(n, 6, "line 1: length");
	is_int(linein_line(&l, line, sizeof(line), &n), 1, "line 2");
	is_str(line, "NOOP", "line 2: LF only");
	is_int(linein_line(&l, line, sizeof(line), &n), -2, "too long: -2");
	is_int(linein_line(&l, line, sizeof(line), &n), 1,
	    "after a long line, the next one");
	is_str(line, "QUIT", "next line intact (no final newline)");
	is_int(linein_line(&l, line, sizeof(line), &n), 0, "EOF: 0");
	linein_free(&l);
	close(fd);
}

/* t_reset - the -bs pattern: commands, DATA, commands, DATA. */
static void
t_reset(void)
{
	static const char in[] = "DATA\r\nA\r\n..B\r\n.\r\nDATA\r\nC\r\n"
	    ".\r\nQUIT\r\n";
	struct linein l;
	struct buf out;
	char	 line[64];
	size_t	 n, pieces, maxp;
	int	 fd = memfd_of(in, sizeof(in) - 1);

	buf_init(&out, 4096);
	linein_init(&l, fd);
	is_int(linein_line(&l, line, sizeof(line), &n), 1, "cmd DATA");
	l.dot = DOT_SMTP;
	l.done = 0;
	drain(&l, &out, &pieces, &maxp);
	is_str(buf_str(&out), "A\r\n.B\r\n", "message 1");
	ok(l.done, "message 1 ended by dot");
	l.dot = DOT_NONE;
	l.done = 0;
	is_int(linein_line(&l, line, sizeof(line), &n), 1, "cmd 2");
	is_str(line, "DATA", "DATA again");
	l.dot = DOT_SMTP;
	buf_reset(&out);
	drain(&l, &out, &pieces, &maxp);
	is_str(buf_str(&out), "C\r\n", "message 2");
	l.dot = DOT_NONE;
	l.done = 0;
	is_int(linein_line(&l, line, sizeof(line), &n), 1, "cmd 3");
	is_str(line, "QUIT", "QUIT after the second message");
	linein_free(&l);
	buf_free(&out);
	close(fd);
}

/* t_trickle - one byte per write through a pipe. */
static void
t_trickle(void)
{
	static const char in[] = "a\r\nb\rc\r\n..d\r\n.\r\n";
	struct linein l;
	struct buf out;
	size_t	 i, pieces, maxp;
	int	 p[2], st;
	pid_t	 pid;

	if (pipe(p) < 0 || (pid = fork()) < 0)
		abort();
	if (pid == 0) {
		close(p[0]);
		for (i = 0; i < sizeof(in) - 1; i++) {
			if (write(p[1], in + i, 1) != 1)
				_exit(1);
			usleep(1000);
		}
		_exit(0);
	}
	close(p[1]);
	buf_init(&out, 4096);
	linein_init(&l, p[0]);
	l.dot = DOT_SMTP;
	drain(&l, &out, &pieces, &maxp);
	is_str(buf_str(&out), "a\r\nb\rc\r\n.d\r\n", "byte-by-byte pipe");
	ok(l.done, "byte-by-byte: dot seen");
	linein_free(&l);
	buf_free(&out);
	close(p[0]);
	waitpid(pid, &st, 0);
}

int
main(void)
{
	t_endings();
	t_dots();
	t_long();
	t_line();
	t_reset();
	t_trickle();
	return tap_done();
}
