/*
 * test_bounce.c - queue/bounce.c: build DSNs from spooled messages in a
 * scratch spool and check their envelope and RFC 3464 structure.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "queue/bounce.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/msg.h"
#include "tap.h"

static char	 spool_dir[] = "/tmp/test_bounce.XXXXXX";
static unsigned char key[SPOOL_KEYLEN];
static int	 queuefd = -1;

/* spool_message - commit a message with content and sender; qid out. */
static int
spool_message(const char *content, size_t len, const char *sender,
    unsigned flags, char *qid)
{
	struct spool_writer *w;
	struct envelope env;
	char	*rcpt[] = { "rcpt@dest.test" };
	int	 rc;

	if ((rc = spool_create(&w, spool_dir, key)) != 0)
		return rc;
	snprintf(qid, SPOOL_QIDLEN + 1, "%s", spool_writer_qid(w));
	if ((rc = spool_write(w, content, len)) != 0) {
		spool_abort(w);
		return rc;
	}
	memset(&env, 0, sizeof(env));
	env.site = "example.com";
	env.uid = geteuid();
	env.login = "web1";
	env.sender = (char *)sender;
	env.time = 1700000000;
	env.flags = flags;
	env.cwd = env.exe = env.script = "";
	env.rcpt = rcpt;
	env.nrcpt = 1;
	return spool_commit(w, &env);
}

/* read_content - the whole content of an open message, NUL-terminated. */
static char *
read_content(struct spool_msg *m)
{
	char	*p = calloc(1, m->content_len + 1);

	if (p && spool_read_content(m, 0, p, m->content_len) !=
	    (ssize_t)m->content_len) {
		free(p);
		return NULL;
	}
	return p;
}

/* count - occurrences of needle in hay. */
static int
count(const char *hay, const char *needle)
{
	int	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* lines_ok - every line ends in CRLF, no bare CR/LF, none over 998. */
static int
lines_ok(const char *s, size_t len)
{
	size_t	 i, start = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && (i + 1 >= len || s[i + 1] != '\n'))
			return 0;
		if (s[i] == '\n') {
			if (i == 0 || s[i - 1] != '\r' || i - start > 999)
				return 0;
			start = i + 1;
		}
	}
	return start == len;
}

/* section - the text of the MIME part whose Content-Type is ctype. */
static const char *
section(const char *s, const char *ctype)
{
	const char *p = strstr(s, ctype);

	return p ? strstr(p, "\r\n\r\n") : NULL;
}

/* test_dsn - a DSN for two failed recipients of a normal message. */
static void
test_dsn(void)
{
	static const char content[] =
	    "Received: from web1 (uid 1005, site example.com) by "
	    "mx.example.net (sitemail) id x; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "From: Web One <web1@example.com>\r\n"
	    "To: rcpt@dest.test\r\n"
	    "Subject: the original subject\r\n"
	    "\r\n"
	    "BODY-MUST-NOT-BE-COPIED\r\n"
	    "Subject: not a header\r\n";
	struct bounce_rcpt r[] = {
		{ "gone@dest.test", "5.1.1",
		    "550 5.1.1 <gone@dest.test>: no such user\r\n\001x",
		    "relay.example.net[192.0.2.1]:587" },
		{ "slow@dest.test", "4.4.7",
		    "message expired after 5 days in the queue", NULL },
	};
	char	 oqid[SPOOL_QIDLEN + 1], dqid[SPOOL_QIDLEN + 1], bnd[128];
	struct spool_msg orig, dsn;
	const char *p;
	char	*c;
	int	 rc;

	is_int(spool_message(content, sizeof(content) - 1,
	    "web1@example.com", 0, oqid), 0, "original spooled");
	is_int(spool_open(&orig, queuefd, oqid, key), 0, "original opened");
	rc = bounce_create(spool_dir, key, "mx.example.net", &orig, r, 2,
	    dqid);
	is_int(rc, 0, "bounce_create succeeds");
	if (rc)
		diag("%s", err_str());
	ok(spool_qid_valid(dqid) && strcmp(dqid, oqid) != 0,
	    "DSN has its own queue ID");
	is_int(spool_open(&dsn, queuefd, dqid, key), 0,
	    "DSN is a valid signed spool message");
	is_str(dsn.env.sender, "", "DSN envelope: null sender");
	ok(dsn.env.nrcpt == 1 && strcmp(dsn.env.rcpt[0],
	    "web1@example.com") == 0, "DSN envelope: to the original sender");
	is_int(dsn.env.flags, SPOOL_F_BOUNCE, "DSN envelope: SPOOL_F_BOUNCE");
	is_str(dsn.env.site, "example.com", "DSN envelope: original site");
	is_int(dsn.env.uid, geteuid(), "DSN envelope: runner uid");
	is_str(dsn.env.login, "MAILER-DAEMON", "DSN envelope: MAILER-DAEMON");

	c = read_content(&dsn);
	ok(c != NULL, "DSN content readable");
	if (c == NULL)
		return;
	ok(lines_ok(c, dsn.content_len), "DSN: CRLF lines, none over 998");
	ok(strncmp(c, "From: Mail Delivery System "
	    "<MAILER-DAEMON@mx.example.net>\r\n", 58) == 0,
	    "DSN: From MAILER-DAEMON@hostname");
	ok(strstr(c, "\r\nTo: <web1@example.com>\r\n") != NULL,
	    "DSN: To the original sender");
	ok(strstr(c, "\r\nSubject: Undelivered Mail Returned to Sender\r\n"),
	    "DSN: Subject");
	ok(strstr(c, "\r\nAuto-Submitted: auto-replied\r\n"),
	    "DSN: Auto-Submitted");
	ok(strstr(c, "\r\nDate: ") && strstr(c, "\r\nMIME-Version: 1.0\r\n"),
	    "DSN: Date and MIME-Version");
	snprintf(bnd, sizeof(bnd), "\r\nMessage-ID: <%s@mx.example.net>\r\n",
	    dqid);
	ok(strstr(c, bnd) != NULL, "DSN: Message-ID from its queue ID");
	ok(strstr(c, "\r\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"") != NULL,
	    "DSN: multipart/report; report-type=delivery-status");
	snprintf(bnd, sizeof(bnd), "\r\n--%s/mx.example.net\r\n", dqid);
	is_int(count(c, bnd), 3, "DSN: three parts");
	snprintf(bnd, sizeof(bnd), "\r\n--%s/mx.example.net--\r\n", dqid);
	ok((p = strstr(c, bnd)) != NULL && p[strlen(bnd)] == '\0',
	    "DSN: closing boundary ends the message");
	ok(strstr(c, "\r\nContent-Type: text/plain; charset=us-ascii\r\n") &&
	    strstr(c, "<gone@dest.test>: host relay.example.net said:\r\n"
	    "    550 5.1.1 <gone@dest.test>: no such user  ?x\r\n"),
	    "part 1: human-readable reason, sanitised");
	p = section(c, "Content-Type: message/delivery-status\r\n");
	ok(p != NULL, "part 2: message/delivery-status");
	if (p == NULL)
		return;
	ok(strstr(p, "\r\n\r\nReporting-MTA: dns; mx.example.net\r\n") == p,
	    "part 2: Reporting-MTA first");
	ok(strstr(p, "\r\nArrival-Date: ") != NULL, "part 2: Arrival-Date");
	ok(strstr(p, "\r\n\r\nFinal-Recipient: rfc822; gone@dest.test\r\n"
	    "Action: failed\r\nStatus: 5.1.1\r\n"
	    "Remote-MTA: dns; relay.example.net\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <gone@dest.test>: no such user"
	    "  ?x\r\n") != NULL, "part 2: SMTP failure fields, sanitised");
	ok(strstr(p, "\r\n\r\nFinal-Recipient: rfc822; slow@dest.test\r\n"
	    "Action: failed\r\nStatus: 5.4.7\r\n"
	    "Diagnostic-Code: X-Sitemail; message expired after 5 days in "
	    "the queue\r\n") != NULL,
	    "part 2: a 4.4.7 expiry is reported as Status 5.4.7");
	p = section(c, "Content-Type: text/rfc822-headers\r\n");
	ok(p != NULL && strncmp(p, "\r\n\r\nReceived: from web1", 22) == 0,
	    "part 3: text/rfc822-headers starts with the original headers");
	ok(p && strstr(p, "Subject: the original subject\r\n\r\n--"),
	    "part 3: headers end at the blank line");
	ok(strstr(c, "BODY-MUST-NOT-BE-COPIED") == NULL,
	    "part 3: the body is not copied");
	is_int(count(c, "Subject: "), 2, "no header from the body leaks");
	free(c);
	spool_close(&dsn);
	spool_close(&orig);
}

/* queue_count - files in the scratch queue/. */
static int
queue_count(void)
{
	struct dirent *d;
	DIR	*dir;
	int	 n = 0, fd = dup(queuefd);

	if (fd < 0 || (dir = fdopendir(fd)) == NULL)
		return -1;
	rewinddir(dir);
	while ((d = readdir(dir)) != NULL)
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* test_dropped - no DSN for a null sender or for a DSN. */
static void
test_dropped(void)
{
	struct bounce_rcpt r = { "a@dest.test", "5.1.1", "550 no", NULL };
	char	 oqid[SPOOL_QIDLEN + 1], dqid[SPOOL_QIDLEN + 1];
	struct spool_msg orig;
	int	 before, after;

	before = queue_count();
	is_int(spool_message("Subject: x\r\n\r\nb\r\n", 18, "", 0, oqid), 0,
	    "null-sender original spooled");
	is_int(spool_open(&orig, queuefd, oqid, key), 0, "and opened");
	is_int(bounce_create(spool_dir, key, "h", &orig, &r, 1, dqid),
	    BOUNCE_DROPPED, "null sender: BOUNCE_DROPPED");
	is_str(dqid, "", "null sender: no queue ID");
	spool_close(&orig);
	is_int(spool_message("Subject: x\r\n\r\nb\r\n", 18, "odd@x.test",
	    SPOOL_F_BOUNCE, oqid), 0, "a DSN with a sender spooled");
	is_int(spool_open(&orig, queuefd, oqid, key), 0, "and opened");
	is_int(bounce_create(spool_dir, key, "h", &orig, &r, 1, dqid),
	    BOUNCE_DROPPED, "a DSN is never bounced");
	spool_close(&orig);
	after = queue_count();
	is_int(after, before + 2, "dropped DSNs wrote no spool file");
}

/* test_big_headers - the header copy is bounded and ends on a line. */
static void
test_big_headers(void)
{
	struct bounce_rcpt r = { "a@dest.test", NULL, "550 5.1.1 no", NULL };
	char	 oqid[SPOOL_QIDLEN + 1], dqid[SPOOL_QIDLEN + 1];
	struct spool_msg orig, dsn;
	struct buf b;
	const char *p;
	char	*c;
	int	 i;

	buf_init(&b, 1 << 22);
	for (i = 0; i < 3000; i++)		/* ~240 KB of headers */
		buf_printf(&b, "X-Filler-%04d: %060d\r\n", i, i);
	buf_addstr(&b, "\r\nbody\r\n");
	is_int(spool_message(b.ptr, b.len, "s@site.test", 0, oqid), 0,
	    "big-header original spooled");
	buf_free(&b);
	is_int(spool_open(&orig, queuefd, oqid, key), 0, "and opened");
	is_int(bounce_create(spool_dir, key, "h.test", &orig, &r, 1, dqid), 0,
	    "DSN for a message with 240 KB of headers");
	is_int(spool_open(&dsn, queuefd, dqid, key), 0, "DSN opened");
	c = read_content(&dsn);
	ok(c && lines_ok(c, dsn.content_len), "big headers: CRLF lines");
	p = c ? section(c, "Content-Type: text/rfc822-headers\r\n") : NULL;
	ok(p && strlen(p) <= BOUNCE_HEADERS_MAX + 200,
	    "big headers: copy bounded by BOUNCE_HEADERS_MAX");
	ok(p && strstr(p, "X-Filler-0000: ") && !strstr(p, "X-Filler-2999"),
	    "big headers: the start is kept, the rest cut");
	ok(c && strstr(c, "Status: 5.0.0\r\n"), "missing status: 5.0.0");
	free(c);
	spool_close(&dsn);
	spool_close(&orig);

	/* A message that is all headers (no blank line, no final CRLF). */
	is_int(spool_message("Subject: only\r\nX-A: b", 21, "s@site.test", 0,
	    oqid), 0, "headers-only original spooled");
	is_int(spool_open(&orig, queuefd, oqid, key), 0, "and opened");
	is_int(bounce_create(spool_dir, key, "h.test", &orig, &r, 1, dqid), 0,
	    "DSN for a headers-only message");
	is_int(spool_open(&dsn, queuefd, dqid, key), 0, "DSN opened");
	c = read_content(&dsn);
	ok(c && lines_ok(c, dsn.content_len) &&
	    strstr(c, "\r\n\r\nSubject: only\r\nX-A: b\r\n\r\n--"),
	    "headers-only: copied whole, CRLF added");
	free(c);
	spool_close(&dsn);
	spool_close(&orig);
}

/* test_auto_delayed - Auto-Submitted (not "no") gets no DSN; a delayed
 * DSN says Action: delayed with a 4.x.x status. */
static void
test_auto_delayed(void)
{
	static const char *const autos[] = {
	    "Auto-Submitted: auto-replied\r\nSubject: x\r\n\r\nb\r\n",
	    "Subject: x\r\nauto-submitted:\r\n auto-generated\r\n\r\nb\r\n",
	};
	struct bounce_rcpt r = { "a@dest.test", "4.2.0", "451 4.2.0 later",
	    NULL };
	char	 oqid[SPOOL_QIDLEN + 1], dqid[SPOOL_QIDLEN + 1];
	struct spool_msg orig, dsn;
	const char *m;
	char	*c;
	size_t	 i;

	for (i = 0; i < 2; i++) {
		is_int(spool_message(autos[i], strlen(autos[i]), "s@x.test", 0,
		    oqid), 0, "Auto-Submitted original spooled");
		is_int(spool_open(&orig, queuefd, oqid, key), 0, "and opened");
		ok(bounce_auto_submitted(&orig), "Auto-Submitted seen");
		is_int(bounce_create(spool_dir, key, "h", &orig, &r, 1, dqid),
		    BOUNCE_DROPPED, "Auto-Submitted: no DSN");
		spool_close(&orig);
	}
	m = "Auto-Submitted: no\r\nSubject: x\r\n\r\nAuto-Submitted: x\r\n";
	is_int(spool_message(m, strlen(m), "s@x.test", 0, oqid), 0,
	    "Auto-Submitted: no spooled");
	is_int(spool_open(&orig, queuefd, oqid, key), 0, "and opened");
	ok(!bounce_auto_submitted(&orig), "\"no\" (and the body) do not count");
	is_int(bounce_create_delayed(spool_dir, key, "h", &orig, &r, 1, dqid),
	    0, "delayed DSN made");
	is_int(spool_open(&dsn, queuefd, dqid, key), 0, "delayed DSN opened");
	c = read_content(&dsn);
	ok(c && strstr(c, "Subject: Delayed Mail (still being retried)\r\n"),
	    "delayed: subject");
	ok(c && strstr(c, "Action: delayed\r\nStatus: 4.2.0\r\n"),
	    "delayed: Action: delayed, Status 4.2.0");
	ok(c && strstr(c, "Diagnostic-Code: smtp; 451 4.2.0 later\r\n"),
	    "delayed: the last reason");
	ok(c && !strstr(c, "Action: failed"), "delayed: nothing failed");
	free(c);
	spool_close(&dsn);
	spool_close(&orig);
}

/* main - scratch spool, then the cases. */
int
main(void)
{
	char	 path[64];

	log_open("test_bounce", "stderr");
	if (mkdtemp(spool_dir) == NULL ||
	    spool_dirs_create(spool_dir, geteuid(), getegid()) != 0 ||
	    getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		printf("Bail out! scratch spool: %s\n", err_str());
		return 1;
	}
	snprintf(path, sizeof(path), "%s/queue", spool_dir);
	queuefd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(queuefd >= 0, "scratch spool ready");
	test_dsn();
	test_dropped();
	test_big_headers();
	test_auto_delayed();
	close(queuefd);
	{
		char	 cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", spool_dir);
		if (system(cmd) != 0)
			diag("could not remove %s", spool_dir);
	}
	return tap_done();
}
