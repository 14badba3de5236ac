/*
 * test_header.c - headers_read() and the header editing functions of
 * compat/header.c: PHP 8 mixed line endings, bare CR, continuations,
 * Bcc removal, From_ skipping, the body start, folding and the limits.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compat/compat.h"
#include "testsuite/unit/tap.h"
#include "util/buf.h"
#include "util/msg.h"

#define FIRST_MAX	70000		/* what cmd/sendmail.c gives */

/* A parsed message: header block, the first body bytes, the rest. */
struct msg {
	struct headers h;
	struct buf first, rest;
	int	 rc;
};

/* memfd_of - a readable fd holding n bytes of data. */
static int
memfd_of(const char *data, size_t n)
{
	int	 fd = memfd_create("header", 0);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

/* parse - headers_read() over data, then the rest of the input. */
static void
parse(struct msg *m, const char *data, size_t n, enum linein_dot dot)
{
	struct linein l;
	const char *p;
	size_t	 k;
	int	 eol, fd = memfd_of(data, n);

	memset(m, 0, sizeof(*m));
	buf_init(&m->first, FIRST_MAX);
	buf_init(&m->rest, 1 << 24);
	linein_init(&l, fd);
	l.dot = dot;
	m->rc = headers_read(&m->h, &l, &m->first);
	while (linein_get(&l, &p, &k, &eol) == 1)
		if (buf_add(&m->rest, p, k) < 0 ||
		    (eol && buf_add(&m->rest, "\r\n", 2) < 0))
			abort();
	linein_free(&l);
	close(fd);
}

#define PARSE(m, lit, dot)	parse(m, lit, sizeof(lit) - 1, dot)

/* msg_free - release a parsed message. */
static void
msg_free(struct msg *m)
{
	headers_free(&m->h);
	buf_free(&m->first);
	buf_free(&m->rest);
}

/* value - headers_value of the first field called name (static copy). */
static const char *
value(const struct headers *h, const char *name)
{
	static char out[2048];
	ssize_t	 i = headers_find(h, name, 0);
	char	*v;

	if (i < 0 || (v = headers_value(h, (size_t)i)) == NULL)
		return "(none)";
	snprintf(out, sizeof(out), "%s", v);
	free(v);
	return out;
}

/* t_php8 - CRLF header lines from PHP, LF body, bare CR kept. */
static void
t_php8(void)
{
	struct msg m;

	PARSE(&m, "To: a@example.com\r\nSubject: hi\r\nX-PHP-Originating-"
	    "Script: 1000:index.php\r\nContent-Type: text/plain\r\n\r\n"
	    "body line\nline\r2\n", DOT_NONE);
	is_int(m.rc, 0, "php8: ok");
	is_int(m.h.n, 4, "php8: four fields");
	is_str(m.h.v[0].text, "To: a@example.com\r\n", "php8: To stored CRLF");
	is_int(m.h.v[0].namelen, 2, "php8: namelen");
	is_str(value(&m.h, "x-php-originating-script"), "1000:index.php",
	    "php8: find is case-insensitive");
	is_int(m.first.len, 0, "php8: empty line ends the header");
	is_str(buf_str(&m.rest), "body line\r\nline\r2\r\n",
	    "php8: LF body, bare CR not doubled");
	msg_free(&m);

	PARSE(&m, "Subject: a\rb\n\n", DOT_NONE);
	is_str(m.h.v[0].text, "Subject: a b\r\n",
	    "bare CR in a header becomes a blank");
	msg_free(&m);

	PARSE(&m, "Subject: Invoice\rFrom: CEO <ceo@bank.example>\n\n", DOT_NONE);
	is_int(m.h.n, 1, "CR smuggling: one field");
	is_str(value(&m.h, "From"), "(none)", "CR smuggling: no second From");
	msg_free(&m);
}

/* t_folding - continuation lines, Bcc removal, unfolded values. */
static void
t_folding(void)
{
	struct msg m;

	PARSE(&m, "To: a@b\nBcc: x@y,\n  z@w,\n\tq@r\nSubject: s\n\n",
	    DOT_NONE);
	is_int(m.h.n, 3, "three fields");
	is_str(m.h.v[1].text, "Bcc: x@y,\r\n  z@w,\r\n\tq@r\r\n",
	    "continuations stored with the field");
	is_str(value(&m.h, "bcc"), "x@y,  z@w,\tq@r", "unfolded value");
	is_int(headers_remove(&m.h, "BCC"), 1, "Bcc removed");
	is_int(m.h.n, 2, "two fields left");
	is_str(m.h.v[0].text, "To: a@b\r\n", "To kept");
	is_str(m.h.v[1].text, "Subject: s\r\n", "Subject kept, no Bcc lines");
	msg_free(&m);

	PARSE(&m, "Subject :  spaced  \nX: \n\n", DOT_NONE);
	is_int(m.h.n, 2, "blank before colon is a field");
	is_int(headers_find(&m.h, "subject", 0), 0, "found despite blank");
	is_str(value(&m.h, "Subject"), "spaced", "value trimmed both ends");
	is_str(value(&m.h, "X"), "", "empty value");
	msg_free(&m);
}

/* t_from_ - leading From_ lines are dropped, later ones are not. */
static void
t_from_(void)
{
	struct msg m;

	PARSE(&m, "From me@x Mon Jan  1 00:00:00 2024\n>From you\n"
	    ">>From them\nSubject: s\n\nFrom here\n", DOT_NONE);
	is_int(m.rc, 0, "From_: ok");
	is_int(m.h.n, 1, "From_ lines dropped");
	is_str(m.h.v[0].text, "Subject: s\r\n", "Subject is the first field");
	is_str(buf_str(&m.rest), "From here\r\n", "From_ in the body kept");
	msg_free(&m);

	PARSE(&m, "Subject: s\nFrom x\n\n", DOT_NONE);
	is_int(m.h.n, 1, "From_ after a field");
	is_str(buf_str(&m.first), "From x\r\n", "... starts the body");
	msg_free(&m);
}

/* t_body_start - a line that is not a field starts the body. */
static void
t_body_start(void)
{
	struct msg m;
	char	*big;
	size_t	 n = 100000;

	PARSE(&m, "Hello world\nmore\n", DOT_NONE);
	is_int(m.rc, 0, "no header: ok");
	is_int(m.h.n, 0, "no header: no fields");
	is_str(buf_str(&m.first), "Hello world\r\n", "first line handed back");
	is_str(buf_str(&m.rest), "more\r\n", "the rest stays in the input");
	msg_free(&m);

	PARSE(&m, "Subject: x\nnot a header\nTo: y\n", DOT_NONE);
	is_int(m.h.n, 1, "field then text: one field");
	is_str(buf_str(&m.first), "not a header\r\n", "text starts the body");
	is_str(buf_str(&m.rest), "To: y\r\n", "later fields are body");
	msg_free(&m);

	PARSE(&m, " indented\n", DOT_NONE);
	is_int(m.h.n, 0, "continuation with no field: body");
	is_str(buf_str(&m.first), " indented\r\n", "... handed back");
	msg_free(&m);

	PARSE(&m, "\nbody\n", DOT_NONE);
	is_int(m.h.n, 0, "empty first line: no fields");
	is_int(m.first.len, 0, "empty first line: nothing handed back");
	is_str(buf_str(&m.rest), "body\r\n", "empty first line: body");
	msg_free(&m);

	PARSE(&m, "Subject: x", DOT_NONE);
	is_int(m.h.n, 1, "EOF without newline");
	is_str(m.h.v[0].text, "Subject: x\r\n", "... field gets CRLF");
	msg_free(&m);

	PARSE(&m, "Subject: x\n.\nafter\n", DOT_ENDS);
	is_int(m.h.n, 1, "dot in the header: one field");
	is_str(buf_str(&m.rest), "", "dot ends the message");
	msg_free(&m);

	PARSE(&m, "Subject: x\n..\n.\n", DOT_SMTP);
	is_str(buf_str(&m.first), ".\r\n", "SMTP: stuffed first body line");
	msg_free(&m);

	/* A first body line far longer than a header line. */
	big = malloc(n + 2);
	memset(big, 'b', n);
	memcpy(big + n, "\n", 1);
	parse(&m, big, n + 1, DOT_NONE);
	is_int(m.rc, 0, "100000-byte first line: ok");
	is_int(m.first.len + m.rest.len, n + 2, "long first line intact");
	ok(m.first.len < FIRST_MAX, "first part fits the caller's buffer");
	ok(m.rest.len >= 2 &&
	    memcmp(m.rest.ptr + m.rest.len - 2, "\r\n", 2) == 0 &&
	    memcmp(m.first.ptr + m.first.len - 1, "b", 1) == 0,
	    "the line end comes with the rest");
	msg_free(&m);
	free(big);
}

/* t_limits - NUL, line length and block size are refused. */
static void
t_limits(void)
{
	struct msg m;
	struct buf b;
	int	 i;

	PARSE(&m, "Subject: a\0b\n\n", DOT_NONE);
	is_int(m.rc, EX_DATAERR, "NUL: EX_DATAERR");
	is_str(err_str(), "message contains a NUL byte", "NUL: reason");
	msg_free(&m);
	PARSE(&m, "Subject: a\nbody\0\n", DOT_NONE);
	is_int(m.rc, EX_DATAERR, "NUL in the first body line");
	msg_free(&m);

	buf_init(&b, 1 << 22);
	buf_addstr(&b, "Subject: ");
	while (b.len < HDR_LINE_MAX)
		buf_addch(&b, 'x');
	buf_addstr(&b, "\n\n");
	parse(&m, b.ptr, b.len, DOT_NONE);
	is_int(m.rc, 0, "998-byte header line: ok");
	is_int(m.h.v[0].len, HDR_LINE_MAX + 2, "998 + CRLF stored");
	msg_free(&m);
	buf_reset(&b);
	buf_addstr(&b, "Subject: ");
	while (b.len < HDR_LINE_MAX + 1)
		buf_addch(&b, 'x');
	buf_addstr(&b, "\r\n\r\n");
	parse(&m, b.ptr, b.len, DOT_NONE);
	is_int(m.rc, 0, "999-byte header line: accepted (issue 10)");
	is_int(m.h.v[0].len, HDR_LINE_MAX + 3, "999 + CRLF stored whole");
	msg_free(&m);
	buf_reset(&b);
	buf_addstr(&b, "Bcc: ");
	for (i = 0; i < 45; i++)
		buf_printf(&b, "%sbcc-recipient-number-%02d@example.com",
		    i ? ", " : "", i);
	buf_addstr(&b, "\nSubject: s\n\nbody\n");
	parse(&m, b.ptr, b.len, DOT_NONE);
	is_int(m.rc, 0, "PHPMailer 45 Bcc on one line: accepted");
	is_int(m.h.n, 2, "... two fields");
	is_str(buf_str(&m.rest), "body\r\n", "... body intact");
	msg_free(&m);

	buf_reset(&b);
	for (i = 0; i < 2000; i++) {
		buf_printf(&b, "X-Filler-%d: ", i);
		while (b.len % 600)
			buf_addch(&b, 'f');
		buf_addch(&b, '\n');
	}
	buf_addstr(&b, "\nbody\n");
	parse(&m, b.ptr, b.len, DOT_NONE);
	is_int(m.rc, EX_DATAERR, "1.2 MB header block: EX_DATAERR");
	ok(strstr(err_str(), "larger than") != NULL, "block: reason");
	ok(m.h.bytes <= HDR_BLOCK_MAX, "block: never over the limit");
	msg_free(&m);

	buf_reset(&b);
	buf_addstr(&b, "From ");
	while (b.len < 5000)
		buf_addch(&b, 'z');
	buf_addstr(&b, "\nSubject: s\n\n");
	parse(&m, b.ptr, b.len, DOT_NONE);
	is_int(m.rc, 0, "long From_ line: dropped whole");
	is_int(m.h.n, 1, "long From_ line: header read after it");
	msg_free(&m);
	buf_free(&b);
}

/* t_edit - add, prepend, find, remove, and folding. */
static void
t_edit(void)
{
	struct headers h;
	struct buf v;
	char	*u, *line, *e;
	size_t	 i, max;
	int	 ok_lines;

	memset(&h, 0, sizeof(h));
	is_int(headers_add(&h, "Date", "Mon, 1 Jan 2024 00:00:00 +0000"), 0,
	    "add Date");
	is_str(h.v[0].text, "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n",
	    "short value stays on one line");
	is_int(headers_prepend(&h, "Received", "from x by y"), 0, "prepend");
	is_str(h.v[0].text, "Received: from x by y\r\n", "prepended first");
	is_int(headers_add(&h, "X-Evil", "a\r\nBcc: injected"), 0,
	    "add with CR LF in the value");
	is_str(h.v[2].text, "X-Evil: a  Bcc: injected\r\n",
	    "CR LF in a value become blanks");
	is_int(headers_find(&h, "Bcc", 0), -1, "no field was injected");
	is_int(headers_add(&h, "Bad Name", "x"), EX_SOFTWARE, "bad name");
	is_int(headers_add(&h, "Empty", ""), 0, "empty value");
	is_str(h.v[3].text, "Empty: \r\n", "empty value stored");
	is_int(headers_find(&h, "date", 1), 1, "find from 1");
	is_int(headers_find(&h, "date", 2), -1, "find past it");

	buf_init(&v, 1 << 20);
	for (i = 0; i < 40; i++)
		buf_printf(&v, "%sUser Number %zu <user%zu@example.com>",
		    i ? ", " : "", i, i);
	is_int(headers_add(&h, "To", buf_str(&v)), 0, "long To added");
	u = headers_value(&h, 4);
	is_str(u, buf_str(&v), "folded value unfolds to the original");
	free(u);
	line = h.v[4].text;
	max = 0;
	ok_lines = 1;
	for (; (e = strstr(line, "\r\n")) != NULL; line = e + 2) {
		if ((size_t)(e - line) > max)
			max = (size_t)(e - line);
		if (line != h.v[4].text && line[0] != ' ')
			ok_lines = 0;
	}
	ok(max <= 78, "folded lines within 78 bytes");
	ok(ok_lines, "every continuation starts with a blank");
	ok(strstr(h.v[4].text, ",\r\n ") != NULL, "folded after commas");

	buf_reset(&v);
	while (v.len < 1500)
		buf_addch(&v, 'w');
	is_int(headers_add(&h, "X-Long", buf_str(&v)), EX_DATAERR,
	    "unbreakable 1500-byte word: EX_DATAERR");
	buf_reset(&v);
	for (i = 0; i < 100; i++)
		buf_printf(&v, "%saddress%zu@example.com", i ? "," : "", i);
	is_int(headers_add(&h, "Cc", buf_str(&v)), 0,
	    "2000 bytes of commas without blanks");
	line = h.v[h.n - 1].text;
	for (max = 0; (e = strstr(line, "\r\n")) != NULL; line = e + 2)
		if ((size_t)(e - line) > max)
			max = (size_t)(e - line);
	ok(max <= HDR_LINE_MAX, "forced fold after a comma, within 998");
	buf_free(&v);

	is_int(headers_remove(&h, "date"), 1, "remove Date");
	is_int(headers_remove(&h, "date"), 0, "nothing left to remove");
	ok(headers_value(&h, 999) == NULL, "value of a bad index: NULL");
	headers_free(&h);
	is_int(h.n, 0, "freed");
}

int
main(void)
{
	t_php8();
	t_folding();
	t_from_();
	t_body_start();
	t_limits();
	t_edit();
	return tap_done();
}
