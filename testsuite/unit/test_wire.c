/*
 * test_wire.c - compat/wire.c: the wire form of spooled content.  Every
 * output is checked for the wire rules (CRLF only, no bare CR/LF, no line
 * over 998 bytes, wire_size exact, the same bytes after a rewind and with
 * 1-byte reads), and re-encoded text is decoded here (quoted-printable,
 * RFC 2045) and compared byte for byte with what went in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat/wire.h"
#include "util/buf.h"
#include "testsuite/unit/tap.h"

/* A source in memory; fail_at makes a read error. */
struct mem {
	const char *p;
	size_t	 n;
	uint64_t fail_at;
};

/* mem_read - wire_src.read over memory. */
static ssize_t
mem_read(void *ctx, char *buf, size_t n, uint64_t off)
{
	struct mem *m = ctx;

	if (m->fail_at && off + n > m->fail_at) {
		errno = EIO;
		return -1;
	}
	if (off >= m->n)
		return 0;
	if (n > m->n - off)
		n = (size_t)(m->n - off);
	memcpy(buf, m->p + off, n);
	return (ssize_t)n;
}

/* drain - read the whole stream with reads of step bytes. */
static int
drain(struct wire *w, struct buf *out, size_t step)
{
	char	 tmp[5000];
	ssize_t	 r;

	while ((r = wire_read(w, tmp, step)) > 0)
		if (buf_add(out, tmp, (size_t)r) < 0)
			return -1;
	return r < 0 ? -1 : 0;
}

/* wire_ok - the wire rules hold for s. */
static int
wire_ok(const struct buf *b)
{
	size_t	 i, col = 0;

	for (i = 0; i < b->len; i++) {
		if (b->ptr[i] == '\r') {
			if (i + 1 >= b->len || b->ptr[i + 1] != '\n')
				return 0;
			i++;
			col = 0;
		} else if (b->ptr[i] == '\n')
			return 0;
		else if (++col > WIRE_LINE)
			return 0;
	}
	return b->len == 0 || (b->len >= 2 && b->ptr[b->len - 1] == '\n');
}

/* run - transform s; checks size, rewind and 1-byte reads. */
static int
run(const char *s, size_t n, struct buf *out, int *changed)
{
	struct mem m = { s, n, 0 };
	struct wire_src src = { mem_read, &m, n };
	struct wire *w;
	struct buf again;
	int	 rc = 0;

	buf_init(out, 64 * 1024 * 1024);
	if (wire_open(&w, &src) != 0)
		return -1;
	if (drain(w, out, 4096) != 0)
		rc = -1;
	ok(wire_size(w) == out->len, "wire_size is exact");
	wire_rewind(w);
	buf_init(&again, 64 * 1024 * 1024);
	if (drain(w, &again, 1) != 0)
		rc = -1;
	ok(again.len == out->len && memcmp(again.ptr, out->ptr,
	    out->len) == 0, "rewind + 1-byte reads: the same bytes");
	buf_free(&again);
	ok(wire_ok(out), "CRLF only, no line over 998");
	if (changed)
		*changed = wire_changed(w);
	wire_free(w);
	return rc;
}

/* unhex - a hex digit's value, or -1. */
static int
unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* qp_decode - RFC 2045 6.7 decoding of s (CRLF lines) into out. */
static void
qp_decode(const char *s, size_t n, struct buf *out)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' &&
		    s[i + 2] == '\n')
			i += 2;		/* soft break */
		else if (s[i] == '=' && i + 2 < n && unhex(s[i + 1]) >= 0 &&
		    unhex(s[i + 2]) >= 0) {
			buf_addch(out, unhex(s[i + 1]) * 16 + unhex(s[i + 2]));
			i += 2;
		} else
			buf_addch(out, s[i]);
	}
}

/* body_of - the part after the first empty line. */
static const char *
body_of(const struct buf *b)
{
	const char *p = strstr(buf_str(b), "\r\n\r\n");

	return p ? p + 4 : "";
}

/* t_plain - a conformant message passes unchanged. */
static void
t_plain(void)
{
	static const char m[] = "From: a@x\r\nSubject: hi\r\n\r\nline 1\r\n"
	    "\r\n.\r\nlast\r\n";
	struct buf out;
	int	 changed = -1;

	run(m, sizeof(m) - 1, &out, &changed);
	is_str(buf_str(&out), m, "plain message unchanged");
	is_int(changed, 0, "... and not marked changed");
	buf_free(&out);
}

/* t_endings - bare CR and LF never reach the wire. */
static void
t_endings(void)
{
	static const char m[] = "Subject: a\rb\n\nx\r.\ry\nz\r\n";
	struct buf out;

	run(m, sizeof(m) - 1, &out, NULL);
	is_str(buf_str(&out), "Subject: a b\r\n\r\nx . y\r\nz\r\n",
	    "bare CR -> blank, LF -> CRLF");
	ok(strstr(buf_str(&out), "\r.\r") == NULL, "no <CR>.<CR>");
	buf_free(&out);
}

/* unfold - remove CRLF before blanks (RFC 5322 unfolding). */
static void
unfold(const char *s, struct buf *out)
{
	for (; *s; s++)
		if (s[0] == '\r' && s[1] == '\n' && (s[2] == ' ' ||
		    s[2] == '\t'))
			s++;
		else
			buf_addch(out, *s);
}

/* t_header_fold - a 45-address Bcc-like To line, a long Subject. */
static void
t_header_fold(void)
{
	struct buf in, out, un;
	int	 i, changed = 0;

	buf_init(&in, 1 << 20);
	buf_addstr(&in, "To: ");
	for (i = 0; i < 45; i++)
		buf_printf(&in, "%srecipient-number-%02d@example.com",
		    i ? ", " : "", i);
	buf_addstr(&in, "\r\nSubject: ");
	for (i = 0; i < 300; i++)
		buf_addstr(&in, "word ");
	buf_addstr(&in, "end\r\nX-Long: ");
	for (i = 0; i < 1500; i++)
		buf_addch(&in, 'a' + i % 26);
	buf_addstr(&in, "\r\n\r\nbody\r\n");
	run(in.ptr, in.len, &out, &changed);
	ok(changed, "long header lines: changed");
	buf_init(&un, 1 << 20);
	unfold(buf_str(&out), &un);
	/* the To and Subject unfold to exactly what was written */
	ok(strstr(buf_str(&un), strstr(in.ptr, "To: ")) != NULL ||
	    memcmp(un.ptr, in.ptr, (size_t)(strstr(in.ptr, "X-Long") -
	    in.ptr)) == 0, "To and Subject unfold to the original");
	ok(strstr(buf_str(&out), "\r\n X-Long") == NULL, "fields kept apart");
	ok(strstr(buf_str(&out), "\r\n\r\nbody\r\n") != NULL, "body intact");
	buf_free(&in);
	buf_free(&out);
	buf_free(&un);
}

/* t_long_body - a 6,000-byte HTML line: QP, MIME headers added. */
static void
t_long_body(void)
{
	struct buf in, out, dec;
	const char *b;
	int	 i;

	buf_init(&in, 1 << 20);
	buf_addstr(&in, "From: a@x\r\nSubject: html\r\n\r\n<html>");
	for (i = 0; i < 1000; i++)
		buf_addstr(&in, "<b>=x</b> ");
	buf_addstr(&in, "\r\n.line\r\nFrom me\r\ntrailing \r\n");
	run(in.ptr, in.len, &out, NULL);
	ok(strstr(buf_str(&out), "MIME-Version: 1.0\r\n") != NULL,
	    "MIME-Version added");
	ok(strstr(buf_str(&out), "Content-Type: text/plain; charset=us-ascii"
	    "\r\n") != NULL, "Content-Type added");
	ok(strstr(buf_str(&out), "Content-Transfer-Encoding: "
	    "quoted-printable\r\n") != NULL, "CTE added");
	b = body_of(&out);
	buf_init(&dec, 1 << 20);
	qp_decode(b, strlen(b), &dec);
	is_str(buf_str(&dec), body_of(&in), "QP decodes to the submitted body");
	buf_free(&in);
	buf_free(&out);
	buf_free(&dec);
}

/* t_8bit - 8-bit text becomes QP with its charset named. */
static void
t_8bit(void)
{
	static const char utf[] = "Subject: x\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
	    "MIME-Version: 1.0\r\n\r\ncaf\xc3\xa9\r\n";
	static const char raw[] = "Subject: x\r\n\r\nna\xefve\r\n";
	struct buf out, dec;
	const char *b;

	run(utf, sizeof(utf) - 1, &out, NULL);
	ok(strstr(buf_str(&out), "8bit") == NULL, "8bit CTE replaced");
	ok(strstr(buf_str(&out), "charset=utf-8\r\nMIME-Version: 1.0\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n") != NULL,
	    "... by a QP one at the end, other fields kept");
	b = body_of(&out);
	buf_init(&dec, 1024);
	qp_decode(b, strlen(b), &dec);
	is_str(buf_str(&dec), "caf\xc3\xa9\r\n", "UTF-8 decodes back");
	ok(strchr(b, '\xc3') == NULL, "7-bit body on the wire");
	buf_free(&out);
	buf_free(&dec);
	run(raw, sizeof(raw) - 1, &out, NULL);
	ok(strstr(buf_str(&out), "charset=unknown-8bit") != NULL,
	    "not UTF-8: unknown-8bit");
	buf_free(&out);
}

/* t_multipart - only the part with a long line is re-encoded. */
static void
t_multipart(void)
{
	struct buf in, out, dec;
	const char *p, *q;
	int	 i;

	buf_init(&in, 1 << 20);
	buf_addstr(&in, "MIME-Version: 1.0\r\nContent-Type: multipart/"
	    "alternative;\r\n boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n"
	    "Content-Type: text/plain\r\n\r\nshort\r\n--b1\r\n"
	    "Content-Type: text/html\r\nContent-Transfer-Encoding: 7bit\r\n"
	    "\r\n");
	for (i = 0; i < 500; i++)
		buf_addstr(&in, "<p>x</p>");
	buf_addstr(&in, "\r\n--b1\r\nContent-Type: application/octet-stream"
	    "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	for (i = 0; i < 300; i++)
		buf_addstr(&in, "QUJD");
	buf_addstr(&in, "\r\n--b1--\r\nepilogue\r\n");
	run(in.ptr, in.len, &out, NULL);
	ok(strstr(buf_str(&out), "\r\n\r\nshort\r\n--b1\r\n") != NULL,
	    "the short text part is untouched");
	p = strstr(buf_str(&out), "Content-Type: text/html\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	ok(p != NULL, "the HTML part is now QP");
	ok(strstr(buf_str(&out), "7bit") == NULL, "its 7bit field is gone");
	if (p != NULL) {
		p = strstr(p, "\r\n\r\n") + 4;
		q = strstr(p, "\r\n--b1\r\n");
		buf_init(&dec, 1 << 20);
		qp_decode(p, (size_t)(q - p), &dec);
		ok(dec.len == 4000 && strncmp(dec.ptr, "<p>x</p>", 8) == 0,
		    "... and decodes to the 4,000 bytes");
		buf_free(&dec);
	}
	ok(strstr(buf_str(&out), "base64\r\n\r\nQUJD") != NULL,
	    "base64 part kept");
	ok(strstr(buf_str(&out), "\r\n--b1--\r\nepilogue\r\n") != NULL,
	    "the closing boundary and epilogue kept");
	buf_free(&in);
	buf_free(&out);
}

/* t_nested - a long line inside a nested multipart and a message/rfc822. */
static void
t_nested(void)
{
	struct buf in, out;
	int	 i;

	buf_init(&in, 1 << 20);
	buf_addstr(&in, "Content-Type: multipart/mixed; boundary=outer\r\n"
	    "MIME-Version: 1.0\r\n\r\n--outer\r\nContent-Type: multipart/"
	    "alternative; boundary=inner\r\n\r\n--inner\r\n\r\n");
	for (i = 0; i < 1200; i++)
		buf_addch(&in, 'i');
	buf_addstr(&in, "\r\n--inner--\r\n--outer\r\nContent-Type: "
	    "message/rfc822\r\n\r\nSubject: inside\r\n\r\n");
	for (i = 0; i < 1200; i++)
		buf_addch(&in, 'm');
	buf_addstr(&in, "\r\n--outer--\r\n");
	run(in.ptr, in.len, &out, NULL);
	ok(strstr(buf_str(&out), "--inner\r\nContent-Type: text/plain; "
	    "charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable"
	    "\r\n\r\n") != NULL, "nested part re-encoded");
	ok(strstr(buf_str(&out), "Subject: inside\r\nMIME-Version") == NULL &&
	    strstr(buf_str(&out), "Subject: inside\r\nContent-Type: text/"
	    "plain; charset=us-ascii\r\nContent-Transfer-Encoding: "
	    "quoted-printable\r\n") != NULL, "enclosed message re-encoded");
	ok(strstr(buf_str(&out), "\r\n--outer--\r\n") != NULL, "structure kept");
	buf_free(&in);
	buf_free(&out);
}

/* t_qp_rewrap - a long line in a QP part gets soft breaks, not a new CTE. */
static void
t_qp_rewrap(void)
{
	struct buf in, out, dec;
	const char *b;
	int	 i;

	buf_init(&in, 1 << 20);
	buf_addstr(&in, "MIME-Version: 1.0\r\nContent-Transfer-Encoding: "
	    "quoted-printable\r\n\r\n");
	for (i = 0; i < 400; i++)
		buf_addstr(&in, "ab=3D");
	buf_addstr(&in, "\r\n");
	run(in.ptr, in.len, &out, NULL);
	b = body_of(&out);
	buf_init(&dec, 1 << 20);
	qp_decode(b, strlen(b), &dec);
	ok(dec.len == 1202 && strncmp(dec.ptr, "ab=ab=", 6) == 0,
	    "soft breaks never split an escape");
	buf_free(&in);
	buf_free(&out);
	buf_free(&dec);
}

/* t_read_error - the source's error comes back. */
static void
t_read_error(void)
{
	static const char m[] = "Subject: x\r\n\r\nbody\r\n";
	struct mem mm = { m, sizeof(m) - 1, 5 };
	struct wire_src src = { mem_read, &mm, sizeof(m) - 1 };
	struct wire *w = NULL;

	errno = 0;
	ok(wire_open(&w, &src) == -1 && errno == EIO && w == NULL,
	    "a read error fails wire_open with errno");
	mm.fail_at = 0;
	src.len = sizeof(m) + 10;	/* the file is shorter than said */
	ok(wire_open(&w, &src) == -1 && errno == EIO, "a short file is EIO");
}

/* main - run every case. */
int
main(void)
{
	t_plain();
	t_endings();
	t_header_fold();
	t_long_body();
	t_8bit();
	t_multipart();
	t_nested();
	t_qp_rewrap();
	t_read_error();
	return tap_done();
}
