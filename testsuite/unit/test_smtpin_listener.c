/*
 * test_smtpin_listener.c - the listener's side of compat/smtpin.c
 * (smtpin_serve with ops.listener): EHLO keywords, AUTH PLAIN / LOGIN
 * answered and reported but never trusted, the extra MAIL parameters, the
 * 451 4.7.1 freeze reply, the idle timeout; and that sendmail -bs mode
 * still refuses AUTH as before.  Each session runs over a socketpair.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "compat/compat.h"
#include "testsuite/unit/tap.h"
#include "util/msg.h"

static char	 authlog[256];
static int	 status;		/* what deliver() returns */

/* t_deliver - drain the message and answer with status. */
static int
t_deliver(void *ctx, const char *sender, char **rcpt, size_t nrcpt,
    struct linein *data, char *qid, size_t qidlen)
{
	const char *p;
	size_t	 n;
	int	 eol;

	(void)ctx; (void)sender; (void)rcpt; (void)nrcpt;
	while (linein_get(data, &p, &n, &eol) == 1)
		;
	snprintf(qid, qidlen, "QID1");
	if (status == EX_TEMPFAIL)
		return err_set(status, "site s.test is frozen: thaw it");
	if (status == EX_IOERR)
		return err_set(EX_TEMPFAIL, "disk trouble");
	return status ? err_set(status, "no") : 0;
}

/* t_auth - remember "MECH login". */
static void
t_auth(void *ctx, const char *mech, const char *login)
{
	(void)ctx;
	snprintf(authlog, sizeof(authlog), "%s %s", mech, login);
}

/* session - run a listener session over input; the replies, malloc'd.
 * With idle > 0, input stays open and the server times out. */
static char *
session(const char *input, int listener, int accept, int idle)
{
	struct smtpin_ops ops;
	struct timeval tv = { idle, 0 };
	static char out[16384];
	size_t	 len = 0;
	ssize_t	 r;
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    write(sv[0], input, strlen(input)) != (ssize_t)strlen(input))
		abort();
	if (idle)
		setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	else
		shutdown(sv[0], SHUT_WR);
	memset(&ops, 0, sizeof(ops));
	ops.deliver = t_deliver;
	ops.hostname = "mx.test";
	ops.max_recipients = 10;
	ops.max_size = 1000;
	ops.listener = listener;
	ops.auth_accept = accept;
	ops.on_auth = t_auth;
	authlog[0] = '\0';
	(void)smtpin_serve(&ops, sv[1]);
	close(sv[1]);
	while ((r = read(sv[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	close(sv[0]);
	return out;
}

/* has - the replies contain line. */
static int
has(const char *out, const char *line)
{
	return strstr(out, line) != NULL;
}

/* main - the cases. */
int
main(void)
{
	const char *msg = "MAIL FROM:<a@b> SMTPUTF8 AUTH=<> BODY=8BITMIME\r\n"
	    "RCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n";
	char	 in[2048];
	char	*o;

	o = session("EHLO c\r\nQUIT\r\n", 1, 1, 0);
	ok(has(o, "250-SMTPUTF8\r\n"), "EHLO: SMTPUTF8");
	ok(has(o, "250-AUTH PLAIN LOGIN\r\n"), "EHLO: AUTH PLAIN LOGIN");
	ok(!has(o, "STARTTLS"), "EHLO: no STARTTLS without a certificate");
	ok(has(o, "250 ENHANCEDSTATUSCODES\r\n221 "), "EHLO ends as before");

	/* \0user\0pass */
	o = session("EHLO c\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\nQUIT\r\n", 1, 1,
	    0);
	ok(has(o, "235 2.7.0 "), "AUTH PLAIN: any credentials pass");
	is_str(authlog, "PLAIN user", "AUTH PLAIN: the login is reported");
	o = session("EHLO c\r\nAUTH LOGIN\r\nYWRtaW5AYm9iLnRlc3Q=\r\n"
	    "c2VjcmV0\r\nAUTH LOGIN\r\nQUIT\r\n", 1, 1, 0);
	ok(has(o, "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 "),
	    "AUTH LOGIN: username, password, 235");
	is_str(authlog, "LOGIN admin@bob.test", "AUTH LOGIN: login reported");
	ok(has(o, "503 5.5.1 Error: already authenticated"),
	    "a second AUTH: 503");
	o = session("AUTH PLAIN\r\nAGEKYgBj\r\nQUIT\r\n", 1, 1, 0);
	ok(has(o, "334 \r\n235 "), "AUTH PLAIN without initial response");
	is_str(authlog, "PLAIN a?b", "a control byte in the login is cleaned");
	o = session("AUTH PLAIN AHVzZXIAcGFzcw==\r\nQUIT\r\n", 1, 0, 0);
	ok(has(o, "535 5.7.8 "), "auth = refuse: 535");
	o = session("AUTH PLAIN !!!\r\nAUTH LOGIN\r\n*\r\nAUTH CRAM-MD5 x\r\n"
	    "QUIT\r\n", 1, 1, 0);
	ok(has(o, "501 5.5.2 Error: invalid base64"), "bad base64: 501");
	ok(has(o, "501 5.7.0 Authentication aborted"), "\"*\" cancels: 501");
	ok(has(o, "504 5.5.4 "), "unknown mechanism: 504");
	o = session("MAIL FROM:<a@b>\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\nQUIT"
	    "\r\n", 1, 1, 0);
	ok(has(o, "503 5.5.1 Error: AUTH not allowed during a mail "
	    "transaction"), "AUTH inside a transaction: 503");

	snprintf(in, sizeof(in), "EHLO c\r\n%sQUIT\r\n", msg);
	status = 0;
	o = session(in, 1, 1, 0);
	ok(has(o, "250 2.1.0 Ok\r\n"), "MAIL with SMTPUTF8 and AUTH=<>");
	ok(has(o, "250 2.0.0 Ok: queued as QID1"), "250 after the commit");
	status = EX_TEMPFAIL;
	o = session(in, 1, 1, 0);
	ok(has(o, "451 4.7.1 Error: site s.test is frozen"),
	    "frozen site: 451 4.7.1 naming the freeze");
	status = EX_IOERR;
	o = session(in, 1, 1, 0);
	ok(has(o, "451 4.3.0 Error: disk trouble"), "other 75: 451 4.3.0");
	status = EX_NOPERM;
	o = session(in, 1, 1, 0);
	ok(has(o, "550 5.7.1 "), "77: 550 5.7.1");
	status = EX_TEMPFAIL;
	o = session(in, 0, 0, 0);
	ok(has(o, "555 5.5.4 Unsupported option: SMTPUTF8"),
	    "sendmail -bs mode: SMTPUTF8 not accepted, as before");
	o = session("EHLO c\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\nSTARTTLS\r\n"
	    "QUIT\r\n", 0, 1, 0);
	ok(!has(o, "AUTH PLAIN LOGIN") && has(o, "502 5.5.1 Error: command "
	    "not implemented\r\n502 5.5.1"), "sendmail -bs mode: AUTH and "
	    "STARTTLS still 502");
	is_str(authlog, "", "sendmail -bs mode: no login reported");
	status = 0;

	o = session("EHLO c\r\n", 1, 1, 1);
	ok(has(o, "421 4.4.2 mx.test Error: timeout exceeded"),
	    "idle: 421 4.4.2 after the timeout");
	return tap_done();
}
