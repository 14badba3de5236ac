/*
 * test_smtpin.c - the "sendmail -bs" dialogue (compat/smtpin.c), run in a
 * forked child with pipes on its fd 0 and 1: a step-by-step client (as
 * Symfony Mailer talks), a pipelining client, several messages per
 * session, dot-unstuffing, the error replies and the status mapping.  The
 * test's deliver() records each message into a memfd the parent reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compat/compat.h"
#include "testsuite/unit/tap.h"
#include "util/buf.h"
#include "util/msg.h"

#define TIMEOUT_MS	20000		/* only guards against a hang */

/* One child running smtpin_run(). */
struct sess {
	pid_t	 pid;
	int	 in, out;		/* its stdin (we write), stdout */
	int	 rec, err;		/* memfds: deliveries, its stderr */
	struct buf got;			/* replies not yet consumed */
	int	 status;
};

static int rec_fd = -1;
static unsigned qid_seq;

/* t_deliver - record "sender|rcpt,rcpt|data|end" and answer by sender. */
static int
t_deliver(void *ctx, const char *sender, char **rcpt, size_t nrcpt,
    struct linein *data, char *qid, size_t qidlen)
{
	struct buf b;
	const char *p;
	size_t	 i, n;
	int	 eol, r;

	(void)ctx;
	if (strcmp(sender, "early@x") == 0) {
		snprintf(qid, qidlen, "EARLY");
		return 0;		/* does not read the stream */
	}
	buf_init(&b, 1 << 20);
	buf_printf(&b, "%s|", sender);
	for (i = 0; i < nrcpt; i++)
		buf_printf(&b, "%s%s", i ? "," : "", rcpt[i]);
	buf_addch(&b, '|');
	while ((r = linein_get(data, &p, &n, &eol)) == 1) {
		buf_add(&b, p, n);
		if (eol)
			buf_addstr(&b, "\r\n");
	}
	buf_addstr(&b, data->done ? "|dot\n" : "|nodot\n");
	if (write(rec_fd, b.ptr, b.len) != (ssize_t)b.len)
		abort();
	buf_free(&b);
	if (strcmp(sender, "temp@x") == 0)
		return err_set(EX_TEMPFAIL, "try again later");
	if (strcmp(sender, "data@x") == 0)
		return err_set(EX_DATAERR, "message contains a NUL byte");
	if (strcmp(sender, "size@x") == 0)
		return err_set(EX_DATAERR, "message is larger than the limit "
		    "of 1000 bytes (max_message_size)");
	if (strcmp(sender, "perm@x") == 0)
		return err_set(EX_NOPERM, "sender not allowed");
	if (strcmp(sender, "usage@x") == 0)
		return err_set(EX_USAGE, "bad\r\nreason");
	snprintf(qid, qidlen, "QID%u", ++qid_seq);
	return 0;
}

/* memfd - an empty memfd. */
static int
memfd(void)
{
	int	 fd = memfd_create("smtpin", 0);

	if (fd < 0)
		abort();
	return fd;
}

/* sess_start - fork a child running the dialogue. */
static void
sess_start(struct sess *s, unsigned max_rcpt, size_t max_size)
{
	struct smtpin_ops ops;
	int	 pin[2], pout[2];

	memset(s, 0, sizeof(*s));
	buf_init(&s->got, 1 << 22);
	s->rec = memfd();
	s->err = memfd();
	if (pipe(pin) < 0 || pipe(pout) < 0 || (s->pid = fork()) < 0)
		abort();
	if (s->pid == 0) {
		if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 ||
		    dup2(s->err, 2) < 0)
			_exit(99);
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		rec_fd = s->rec;
		memset(&ops, 0, sizeof(ops));
		ops.deliver = t_deliver;
		ops.hostname = "test.example";
		ops.max_recipients = max_rcpt;
		ops.max_size = max_size;
		exit(smtpin_run(&ops));	/* exit, so LeakSanitizer runs */
	}
	close(pin[0]);
	close(pout[1]);
	s->in = pin[1];
	s->out = pout[0];
}

/* sess_send - write all of data to the child. */
static void
sess_send(struct sess *s, const char *data, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(s->in, data, n)) < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		data += w;
		n -= (size_t)w;
	}
}

#define SEND(s, lit)	sess_send(s, lit, sizeof(lit) - 1)

/* sess_fill - read what the child wrote; 0 at EOF, -1 on timeout. */
static int
sess_fill(struct sess *s)
{
	struct pollfd pfd = { s->out, POLLIN, 0 };
	char	 tmp[4096];
	ssize_t	 r;

	if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
		return -1;
	if ((r = read(s->out, tmp, sizeof(tmp))) <= 0)
		return 0;
	buf_add(&s->got, tmp, (size_t)r);
	return 1;
}

/* sess_reply - the next complete reply (all its lines), or "(timeout)" /
 * "(eof)".  Static storage. */
static const char *
sess_reply(struct sess *s)
{
	static struct buf out;
	const char *p, *e;
	size_t	 len;
	int	 r;

	if (out.max == 0)
		buf_init(&out, 1 << 20);
	for (;;) {
		for (p = buf_str(&s->got); (e = strstr(p, "\r\n")) != NULL;
		    p = e + 2)
			if (e - p >= 4 && p[3] == ' ') {
				len = (size_t)(e + 2 - s->got.ptr);
				buf_reset(&out);
				buf_add(&out, s->got.ptr, len);
				memmove(s->got.ptr, s->got.ptr + len,
				    s->got.len - len);
				s->got.len -= len;
				s->got.ptr[s->got.len] = '\0';
				return buf_str(&out);
			}
		if ((r = sess_fill(s)) <= 0)
			return r < 0 ? "(timeout)" : "(eof)";
	}
}

/* sess_end - close stdin, wait for the child, collect its output. */
static void
sess_end(struct sess *s)
{
	close(s->in);
	while (sess_fill(s) > 0)
		;
	close(s->out);
	waitpid(s->pid, &s->status, 0);
}

/* sess_memfd - the contents of a memfd (malloc'd). */
static char *
sess_memfd(int fd)
{
	struct buf b;
	char	 tmp[4096];
	ssize_t	 r;

	buf_init(&b, 1 << 22);
	lseek(fd, 0, SEEK_SET);
	while ((r = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)r);
	return buf_steal(&b);
}

/* sess_check - the child exited 0 and wrote nothing to stderr; frees. */
static void
sess_check(struct sess *s, const char *name, const char *want_rec)
{
	char	*rec = sess_memfd(s->rec), *err = sess_memfd(s->err);

	ok(WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0,
	    "session exits 0");
	is_str(err, "", "nothing on stderr");
	if (want_rec)
		is_str(rec, want_rec, name);
	free(rec);
	free(err);
	close(s->rec);
	close(s->err);
	buf_free(&s->got);
}

/* t_stepwise - one command at a time, as Symfony Mailer talks. */
static void
t_stepwise(void)
{
	struct sess s;

	sess_start(&s, 100, 1000000);
	is_str(sess_reply(&s), "220 test.example ESMTP sitemail\r\n",
	    "greeting");
	SEND(&s, "HELO [127.0.0.1]\r\n");
	is_str(sess_reply(&s), "250 test.example\r\n", "HELO");
	SEND(&s, "MAIL FROM:<app@example.com>\r\n");
	is_str(sess_reply(&s), "250 2.1.0 Ok\r\n", "MAIL");
	SEND(&s, "RCPT TO:<to@example.org>\r\n");
	is_str(sess_reply(&s), "250 2.1.5 Ok\r\n", "RCPT");
	SEND(&s, "RCPT TO:<bcc@example.net>\r\n");
	is_str(sess_reply(&s), "250 2.1.5 Ok\r\n", "RCPT 2");
	SEND(&s, "DATA\r\n");
	is_str(sess_reply(&s), "354 End data with <CR><LF>.<CR><LF>\r\n",
	    "DATA");
	SEND(&s, "Subject: hi\r\n\r\n..leading dot\r\nbody\r\n");
	SEND(&s, "\r\n.\r\n");
	is_str(sess_reply(&s), "250 2.0.0 Ok: queued as QID1\r\n",
	    "queued as");
	SEND(&s, "NOOP\r\n");
	is_str(sess_reply(&s), "250 2.0.0 Ok\r\n", "NOOP");
	SEND(&s, "QUIT\r\n");
	is_str(sess_reply(&s), "221 2.0.0 Bye\r\n", "QUIT");
	is_str(sess_reply(&s), "(eof)", "closed after QUIT");
	sess_end(&s);
	sess_check(&s, "message recorded, dot-unstuffed",
	    "app@example.com|to@example.org,bcc@example.net|Subject: hi\r\n"
	    "\r\n.leading dot\r\nbody\r\n\r\n|dot\n");
}

/* t_pipelined - EHLO and a whole transaction in one write. */
static void
t_pipelined(void)
{
	struct sess s;

	sess_start(&s, 100, 25 * 1024 * 1024);
	is_str(sess_reply(&s), "220 test.example ESMTP sitemail\r\n",
	    "greeting");
	SEND(&s, "EHLO client\r\nMAIL FROM:<> BODY=8BITMIME SIZE=100\r\n"
	    "RCPT TO:<a@b> NOTIFY=NEVER\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	is_str(sess_reply(&s), "250-test.example\r\n250-PIPELINING\r\n"
	    "250-SIZE 26214400\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
	    "EHLO keywords");
	is_str(sess_reply(&s), "250 2.1.0 Ok\r\n", "pipelined MAIL <>");
	is_str(sess_reply(&s), "250 2.1.5 Ok\r\n", "pipelined RCPT 1");
	is_str(sess_reply(&s), "250 2.1.5 Ok\r\n", "pipelined RCPT 2");
	is_str(sess_reply(&s), "354 End data with <CR><LF>.<CR><LF>\r\n",
	    "pipelined DATA");
	SEND(&s, "line\n.\nRSET\r\nMAIL FROM:<x@y>\r\nRCPT TO:<e@f>\r\n"
	    "DATA\r\n");
	is_str(sess_reply(&s), "250 2.0.0 Ok: queued as QID1\r\n",
	    "message 1 queued (bare LF dot)");
	is_str(sess_reply(&s), "250 2.0.0 Ok\r\n", "RSET after DATA");
	is_str(sess_reply(&s), "250 2.1.0 Ok\r\n", "MAIL 2");
	is_str(sess_reply(&s), "250 2.1.5 Ok\r\n", "RCPT 2");
	is_str(sess_reply(&s), "354 End data with <CR><LF>.<CR><LF>\r\n",
	    "DATA 2");
	SEND(&s, "two\r\n.\r\nQUIT\r\n");
	is_str(sess_reply(&s), "250 2.0.0 Ok: queued as QID2\r\n",
	    "message 2 queued");
	is_str(sess_reply(&s), "221 2.0.0 Bye\r\n", "QUIT");
	sess_end(&s);
	sess_check(&s, "two messages in one session",
	    "|a@b,c@d|line\r\n|dot\nx@y|e@f|two\r\n|dot\n");
}

/* t_rset - RSET drops the transaction. */
static void
t_rset(void)
{
	struct sess s;

	sess_start(&s, 100, 0);
	SEND(&s, "HELO h\r\nMAIL FROM:<a@x>\r\nRCPT TO:<r1@x>\r\nRSET\r\n"
	    "MAIL FROM:<b@x>\r\nRCPT TO:<r2@x>\r\nDATA\r\nm\r\n.\r\n"
	    "QUIT\r\n");
	sess_end(&s);
	ok(strstr(buf_str(&s.got), "queued as QID1") != NULL, "queued");
	ok(strstr(buf_str(&s.got), "250-SIZE") == NULL, "no EHLO here");
	sess_check(&s, "RSET forgot sender and recipient",
	    "b@x|r2@x|m\r\n|dot\n");
}

/* expect - a session of one script whose replies must be want. */
static void
expect(const char *name, unsigned max_rcpt, const char *script,
    const char *want, const char *want_rec)
{
	struct sess s;

	sess_start(&s, max_rcpt, 1000);
	sess_send(&s, script, strlen(script));
	sess_end(&s);
	is_str(buf_str(&s.got), want, name);
	sess_check(&s, name, want_rec);
}

#define GREET	"220 test.example ESMTP sitemail\r\n"

/* t_errors - sequence, syntax and parameter errors. */
static void
t_errors(void)
{
	expect("bad sequence", 100,
	    "RCPT TO:<a@b>\r\nDATA\r\nMAIL FROM:<a@b>\r\nMAIL FROM:<c@d>\r\n"
	    "DATA\r\nQUIT\r\n",
	    GREET "503 5.5.1 Error: need MAIL command\r\n"
	    "503 5.5.1 Error: need MAIL command\r\n250 2.1.0 Ok\r\n"
	    "503 5.5.1 Error: nested MAIL command\r\n"
	    "503 5.5.1 Error: need RCPT command\r\n221 2.0.0 Bye\r\n", "");
	expect("syntax", 100,
	    "FOO\r\nEXPN list\r\nSTARTTLS\r\nHELO\r\nVRFY\r\nVRFY root\r\n"
	    "help\r\nMAIL TO:<a@b>\r\nMAIL FROM:<a@b> FOO=1\r\n"
	    "MAIL FROM:<a@b> SIZE=5000\r\nMAIL FROM:<a@b> SIZE=x\r\n"
	    "MAIL FROM:<a@b> BODY=BINARYMIME\r\nDATA x\r\nquit\r\n",
	    GREET "500 5.5.1 Error: command not recognized\r\n"
	    "502 5.5.1 Error: command not implemented\r\n"
	    "502 5.5.1 Error: command not implemented\r\n"
	    "501 5.5.4 Syntax: HELO hostname\r\n"
	    "501 5.5.4 Syntax: VRFY address\r\n"
	    "252 2.5.2 Cannot VRFY user, but will accept message and attempt "
	    "delivery\r\n"
	    "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP "
	    "QUIT\r\n"
	    "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
	    "555 5.5.4 Unsupported option: FOO=1\r\n"
	    "552 5.3.4 Message size exceeds fixed limit\r\n"
	    "501 5.5.4 Bad SIZE syntax\r\n"
	    "501 5.5.4 Unsupported BODY parameter\r\n"
	    "501 5.5.4 Syntax: DATA\r\n221 2.0.0 Bye\r\n", "");
	expect("addresses", 100,
	    "MAIL FROM:<a\001b@x>\r\nMAIL FROM:<a\rb@x>\r\nMAIL FROM:<a b@x>\r\n"
	    "MAIL FROM:<a@x\r\nMAIL FROM:\r\nMAIL FROM: <@relay:src@x>\r\n"
	    "RCPT TO:<>\r\nRCPT TO:<a\tb@x>\r\nRCPT TO:<\"a b\"@x>\r\n"
	    "RCPT TO:bare@x\r\nRCPT TO:<a@b@x>\r\nRCPT TO:<a@x_y..z>\r\n"
	    "RCPT TO:<\"q\"@x>\r\nDATA\r\nm\r\n.\r\nQUIT\r\n",
	    GREET "501 5.1.7 Bad sender address syntax\r\n"
	    "501 5.1.7 Bad sender address syntax\r\n"
	    "501 5.1.7 Bad sender address syntax\r\n"
	    "501 5.1.7 Bad sender address syntax\r\n"
	    "501 5.1.7 Bad sender address syntax\r\n"
	    "250 2.1.0 Ok\r\n"
	    "501 5.1.3 Bad recipient address syntax\r\n"
	    "501 5.1.3 Bad recipient address syntax\r\n"
	    "553 5.1.3 Bad recipient address: bad character in a quoted "
	    "local part\r\n250 2.1.5 Ok\r\n"
	    "553 5.1.3 Bad recipient address: more than one @\r\n"
	    "553 5.1.3 Bad recipient address: bad domain\r\n"
	    "250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: queued as QID1\r\n221 2.0.0 Bye\r\n",
	    "src@x|bare@x,\"q\"@x|m\r\n|dot\n");
	expect("too many recipients", 2,
	    "MAIL FROM:<a@x>\r\nRCPT TO:<1@x>\r\nRCPT TO:<2@x>\r\n"
	    "RCPT TO:<3@x>\r\nQUIT\r\n",
	    GREET "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
	    "452 4.5.3 Error: too many recipients\r\n221 2.0.0 Bye\r\n", "");
}

/* t_nul_long - NUL bytes and over-long command lines. */
static void
t_nul_long(void)
{
	struct sess s;
	struct buf b;

	sess_start(&s, 100, 0);
	sess_send(&s, "NOOP\0x\r\nQUIT\r\n", 14);
	sess_end(&s);
	is_str(buf_str(&s.got), GREET "500 5.5.2 Error: command contains a "
	    "NUL byte\r\n221 2.0.0 Bye\r\n", "NUL in a command: 500 5.5.2");
	sess_check(&s, "NUL", NULL);

	buf_init(&b, 1 << 20);
	buf_addstr(&b, "MAIL FROM:<");
	while (b.len < 5000)
		buf_addch(&b, 'x');
	buf_addstr(&b, "@x>\r\nNOOP\r\nQUIT\r\n");
	sess_start(&s, 100, 0);
	sess_send(&s, b.ptr, b.len);
	sess_end(&s);
	is_str(buf_str(&s.got), GREET "500 5.5.2 Error: command line too "
	    "long\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n",
	    "5000-byte command: 500 5.5.2, then in step");
	sess_check(&s, "long", NULL);
	buf_free(&b);
}

/* t_outcomes - deliver()'s status becomes the DATA reply. */
static void
t_outcomes(void)
{
#define ONE(who)	"MAIL FROM:<" who ">\r\nRCPT TO:<r@x>\r\nDATA\r\n" \
			"Subject: s\r\n\r\nb\r\n.\r\n"
#define R354		"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" \
			"354 End data with <CR><LF>.<CR><LF>\r\n"
	expect("status mapping", 100,
	    ONE("temp@x") ONE("data@x") ONE("size@x") ONE("perm@x")
	    ONE("usage@x") ONE("early@x") ONE("ok@x") "QUIT\r\n",
	    GREET R354 "451 4.3.0 Error: try again later\r\n"
	    R354 "554 5.6.0 Error: message contains a NUL byte\r\n"
	    R354 "552 5.3.4 Error: message is larger than the limit of 1000 "
	    "bytes (max_message_size)\r\n"
	    R354 "550 5.7.1 Error: sender not allowed\r\n"
	    R354 "501 5.5.4 Error: bad??reason\r\n"
	    R354 "250 2.0.0 Ok: queued as EARLY\r\n"
	    R354 "250 2.0.0 Ok: queued as QID1\r\n221 2.0.0 Bye\r\n", NULL);
#undef ONE
#undef R354
}

/* t_eof - the client goes away. */
static void
t_eof(void)
{
	expect("EOF inside DATA: no reply, deliver saw no dot", 100,
	    "MAIL FROM:<a@x>\r\nRCPT TO:<r@x>\r\nDATA\r\npartial\r\n",
	    GREET "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n",
	    "a@x|r@x|partial\r\n|nodot\n");
	expect("EOF without QUIT", 100, "NOOP\r\n",
	    GREET "250 2.0.0 Ok\r\n", "");
	expect("EOF at once", 100, "", GREET, "");
}

/* t_error_limit - a client that only sends garbage is cut off. */
static void
t_error_limit(void)
{
	struct sess s;
	struct buf b;
	int	 i;

	buf_init(&b, 1 << 20);
	for (i = 0; i < 200; i++)
		buf_addstr(&b, "garbage\r\n");
	sess_start(&s, 100, 0);
	sess_send(&s, b.ptr, b.len);
	sess_end(&s);
	ok(strstr(buf_str(&s.got), "421 4.7.0 test.example Error: too many "
	    "errors\r\n") != NULL, "421 after too many errors");
	sess_check(&s, "error limit", NULL);
	buf_free(&b);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	t_stepwise();
	t_pipelined();
	t_rset();
	t_errors();
	t_nul_long();
	t_outcomes();
	t_eof();
	t_error_limit();
	return tap_done();
}
