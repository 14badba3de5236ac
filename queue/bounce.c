/*
 * bounce.c - RFC 3464 delivery status notifications; see bounce.h for the
 * message layout.
 *
 * The DSN is built part by part in a bounded buffer and streamed into a
 * spool writer; the original's headers are copied line by line from its
 * spool file (never read whole), up to BOUNCE_HEADERS_MAX bytes.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "queue/bounce.h"
#include "util/buf.h"
#include "util/msg.h"

#define BOUNCE_PART_MAX		(256 * 1024)	/* one generated part */
#define BOUNCE_LINE_MAX		4096		/* one copied header line */
#define BOUNCE_CHUNK		8192

/* bounce_date - an RFC 5322 date ("Mon, 2 Jan 2006 15:04:05 +0000"). */
static void
bounce_date(time_t t, char *out, size_t len)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long	 off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(out, len, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    wday[tm.tm_wday % 7], tm.tm_mday, mon[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
	    (off < 0 ? -off : off) % 60);
}

/* bounce_clean - copy text as printable ASCII, at most max bytes. */
static void
bounce_clean(char *out, size_t outlen, const char *in, size_t max)
{
	size_t	 i;

	for (i = 0; in && in[i] && i < max && i + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = c == '\t' || c == '\r' || c == '\n' ? ' ' :
		    c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	out[i] = '\0';
}

/* bounce_status - the DSN status: d.d.d with class 5. */
static void
bounce_status(const char *in, char out[16])
{
	size_t	 a, b;

	if (in && (in[0] == '4' || in[0] == '5') && in[1] == '.' &&
	    (a = strspn(in + 2, "0123456789")) >= 1 && a <= 3 &&
	    in[2 + a] == '.' &&
	    (b = strspn(in + 3 + a, "0123456789")) >= 1 && b <= 3 &&
	    in[3 + a + b] == '\0') {
		snprintf(out, 16, "5%s", in + 1);
		return;
	}
	snprintf(out, 16, "5.0.0");
}

/* bounce_is_smtp - 1 if text starts like an SMTP reply ("550 ..."). */
static int
bounce_is_smtp(const char *t)
{
	return t[0] >= '2' && t[0] <= '5' && t[1] >= '0' && t[1] <= '9' &&
	    t[2] >= '0' && t[2] <= '9' &&
	    (t[3] == ' ' || t[3] == '-' || t[3] == '\0');
}

/* bounce_mta - the host part of a relay name "host[ip]:port". */
static void
bounce_mta(const char *in, char *out, size_t len)
{
	bounce_clean(out, len, in, 255);
	out[strcspn(out, "[ ")] = '\0';
}

/* bounce_flush - write the buffer into the spool message and empty it. */
static int
bounce_flush(struct spool_writer *w, struct buf *b, int failed)
{
	int	 status;

	if (failed)
		return err_set(EX_SOFTWARE, "bounce: a part outgrew %d bytes",
		    BOUNCE_PART_MAX);
	status = b->len ? spool_write(w, b->ptr, b->len) : 0;
	buf_reset(b);
	return status;
}

/* bounce_head - the DSN's own header section and the preamble. */
static int
bounce_head(struct buf *b, const char *host, const char *qid,
    const struct envelope *orig, int delayed)
{
	char	 date[64];
	int	 rc = 0;

	bounce_date(time(NULL), date, sizeof(date));
	rc |= buf_printf(b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: %s\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <%s@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s/%s\"\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "This is a MIME-encapsulated message.\r\n"
	    "\r\n", host, orig->sender, delayed ? "Delayed Mail (still being "
	    "retried)" : "Undelivered Mail Returned to Sender", date, qid, host,
	    qid, host);
	return rc;
}

/* bounce_notice - part 1, the human-readable explanation. */
static int
bounce_notice(struct buf *b, const char *host, const char *boundary,
    const struct envelope *orig, const struct bounce_rcpt *rcpt, size_t n,
    int delayed)
{
	char	 addr[1000], why[BOUNCE_TEXT_MAX + 1], mta[256], date[64];
	size_t	 i;
	int	 rc = 0;

	bounce_date(orig->time, date, sizeof(date));
	rc |= buf_printf(b, "--%s\r\n"
	    "Content-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "\r\n"
	    "This is the mail system at host %s.\r\n"
	    "\r\n"
	    "%s"
	    "The message was queued as %s on %s.\r\n"
	    "\r\n", boundary, host, delayed ?
	    "####### THIS IS A WARNING ONLY. YOU DO NOT NEED TO RESEND YOUR "
	    "MESSAGE. #######\r\n\r\n"
	    "Your message could not be delivered yet to one or more\r\n"
	    "recipients. It is still being retried; you will be told if it\r\n"
	    "fails for good. The headers of your message are attached.\r\n"
	    "\r\n" :
	    "I'm sorry to have to inform you that your message could not\r\n"
	    "be delivered to one or more recipients. The headers of your\r\n"
	    "message are attached below.\r\n"
	    "\r\n", orig->qid, date);
	for (i = 0; i < n; i++) {
		bounce_clean(addr, sizeof(addr), rcpt[i].address, 900);
		bounce_clean(why, sizeof(why), rcpt[i].diagnostic ?
		    rcpt[i].diagnostic : "delivery failed", BOUNCE_TEXT_MAX);
		if (rcpt[i].remote_mta && *rcpt[i].remote_mta) {
			bounce_mta(rcpt[i].remote_mta, mta, sizeof(mta));
			rc |= buf_printf(b, "<%s>: host %s said:\r\n    %s\r\n"
			    "\r\n", addr, mta, why);
		} else
			rc |= buf_printf(b, "<%s>:\r\n    %s\r\n\r\n", addr,
			    why);
	}
	return rc;
}

/* bounce_report - part 2, the machine-readable message/delivery-status. */
static int
bounce_report(struct buf *b, const char *host, const char *boundary,
    const struct envelope *orig, const struct bounce_rcpt *rcpt, size_t n,
    int delayed)
{
	char	 addr[1000], why[BOUNCE_TEXT_MAX + 1], mta[256], date[64];
	char	 status[16];
	size_t	 i;
	int	 rc = 0;

	bounce_date(orig->time, date, sizeof(date));
	rc |= buf_printf(b, "--%s\r\n"
	    "Content-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n"
	    "\r\n"
	    "Reporting-MTA: dns; %s\r\n"
	    "X-Sitemail-Queue-ID: %s\r\n"
	    "Arrival-Date: %s\r\n", boundary, host, orig->qid, date);
	for (i = 0; i < n; i++) {
		bounce_clean(addr, sizeof(addr), rcpt[i].address, 900);
		bounce_clean(why, sizeof(why), rcpt[i].diagnostic ?
		    rcpt[i].diagnostic : "delivery failed", BOUNCE_TEXT_MAX);
		bounce_status(rcpt[i].status, status);
		if (delayed)
			status[0] = '4';	/* still being retried */
		rc |= buf_printf(b, "\r\n"
		    "Final-Recipient: rfc822; %s\r\n"
		    "Action: %s\r\n"
		    "Status: %s\r\n", addr, delayed ? "delayed" : "failed",
		    status);
		if (rcpt[i].remote_mta && *rcpt[i].remote_mta) {
			bounce_mta(rcpt[i].remote_mta, mta, sizeof(mta));
			rc |= buf_printf(b, "Remote-MTA: dns; %s\r\n", mta);
		}
		rc |= buf_printf(b, "Diagnostic-Code: %s; %s\r\n",
		    bounce_is_smtp(why) ? "smtp" : "X-Sitemail", why);
	}
	rc |= buf_printf(b, "\r\n--%s\r\n"
	    "Content-Description: Undelivered Message Headers\r\n"
	    "Content-Type: text/rfc822-headers\r\n"
	    "\r\n", boundary);
	return rc;
}

/* bounce_line - copy one header line (CRLF-terminated); 1 = stop. */
static int
bounce_line(struct spool_writer *w, struct buf *line, size_t *total,
    int *status)
{
	size_t	 n = line->len;

	if (n == 0 || (n == 1 && line->ptr[0] == '\n') ||
	    (n == 2 && line->ptr[0] == '\r'))
		return 1;			/* the blank line: done */
	if (line->ptr[n - 1] == '\n' && (n < 2 || line->ptr[n - 2] != '\r')) {
		line->ptr[n - 1] = '\r';	/* bare LF: make it CRLF */
		if (buf_addch(line, '\n') < 0)
			return 1;
	} else if (line->ptr[n - 1] != '\n' && buf_add(line, "\r\n", 2) < 0)
		return 1;
	if (*total + line->len > BOUNCE_HEADERS_MAX)
		return 1;			/* bounded: cut here */
	*total += line->len;
	*status = spool_write(w, line->ptr, line->len);
	buf_reset(line);
	return *status != 0;
}

/* bounce_headers - part 3: stream the original's header section. */
static int
bounce_headers(struct spool_writer *w, struct spool_msg *orig)
{
	char	 chunk[BOUNCE_CHUNK];
	struct buf line;
	uint64_t off = 0;
	size_t	 total = 0, i;
	ssize_t	 got;
	int	 status = 0, stop = 0;

	buf_init(&line, BOUNCE_LINE_MAX);
	while (!stop) {
		if ((got = spool_read_content(orig, off, chunk,
		    sizeof(chunk))) < 0) {
			status = EX_TEMPFAIL;	/* err_str() says why */
			break;
		}
		if (got == 0) {			/* headers without a body */
			if (line.len)
				bounce_line(w, &line, &total, &status);
			break;
		}
		off += (uint64_t)got;
		for (i = 0; i < (size_t)got && !stop; i++) {
			if (buf_addch(&line, chunk[i]) < 0)
				stop = 1;	/* overlong line: cut here */
			else if (chunk[i] == '\n')
				stop = bounce_line(w, &line, &total, &status);
		}
	}
	buf_free(&line);
	return status;
}

/* bounce_content - write the whole DSN content. */
static int
bounce_content(struct spool_writer *w, const char *host,
    struct spool_msg *orig, const struct bounce_rcpt *rcpt, size_t n,
    int delayed)
{
	const char *qid = spool_writer_qid(w);
	char	 boundary[SPOOL_QIDLEN + 300];
	struct buf b;
	int	 status;

	snprintf(boundary, sizeof(boundary), "%s/%s", qid, host);
	buf_init(&b, BOUNCE_PART_MAX);
	if ((status = bounce_flush(w, &b, bounce_head(&b, host, qid,
	    &orig->env, delayed))) == 0 &&
	    (status = bounce_flush(w, &b, bounce_notice(&b, host, boundary,
	    &orig->env, rcpt, n, delayed))) == 0 &&
	    (status = bounce_flush(w, &b, bounce_report(&b, host, boundary,
	    &orig->env, rcpt, n, delayed))) == 0 &&
	    (status = bounce_headers(w, orig)) == 0)
		status = bounce_flush(w, &b, buf_printf(&b, "\r\n--%s--\r\n",
		    boundary));
	buf_free(&b);
	return status;
}

/* bounce_auto_value - 1 if an Auto-Submitted field value is not "no". */
static int
bounce_auto_value(const char *v, size_t n)
{
	size_t	 a = 0, e;

	while (a < n && (v[a] == ' ' || v[a] == '\t' || v[a] == '\r' ||
	    v[a] == '\n'))
		a++;
	for (e = a; e < n && v[e] != ';' && v[e] != ' ' && v[e] != '\t' &&
	    v[e] != '\r' && v[e] != '\n' && v[e] != '('; e++)
		;
	return !(e - a == 2 && strncasecmp(v + a, "no", 2) == 0);
}

/* bounce_auto_submitted - 1 if orig's header section has an
 * Auto-Submitted field other than "no" (RFC 3834: never answer it). */
int
bounce_auto_submitted(struct spool_msg *orig)
{
	static const char name[] = "auto-submitted:";
	char	 chunk[BOUNCE_CHUNK];
	struct buf h;
	uint64_t off = 0;
	ssize_t	 got;
	size_t	 i;
	int	 found = 0, bol = 1;

	buf_init(&h, BOUNCE_HEADERS_MAX);
	while ((got = spool_read_content(orig, off, chunk,
	    sizeof(chunk))) > 0) {
		off += (uint64_t)got;
		if (buf_add(&h, chunk, (size_t)got) < 0)
			break;
		if (memmem(h.ptr, h.len, "\n\r\n", 3) ||
		    memmem(h.ptr, h.len, "\n\n", 2))
			break;
	}
	for (i = 0; i < h.len && !found; i++) {
		if (bol && (h.ptr[i] == '\n' || h.ptr[i] == '\r'))
			break;		/* the end of the header section */
		if (bol && h.len - i > sizeof(name) - 1 &&
		    strncasecmp(h.ptr + i, name, sizeof(name) - 1) == 0) {
			const char *v = h.ptr + i + sizeof(name) - 1;
			const char *nl = memchr(v, '\n', h.len -
			    (size_t)(v - h.ptr));

			found = bounce_auto_value(v, nl ? (size_t)(nl - v) :
			    h.len - (size_t)(v - h.ptr));
		}
		bol = h.ptr[i] == '\n';
	}
	buf_free(&h);
	return found;
}

/* bounce_make - write a failed (or delayed) DSN for orig's recipients. */
static int
bounce_make(const char *spool_dir, const unsigned char key[SPOOL_KEYLEN],
    const char *hostname, struct spool_msg *orig,
    const struct bounce_rcpt *rcpt, size_t nrcpt, char qid[SPOOL_QIDLEN + 1],
    int delayed)
{
	struct spool_writer *w;
	struct envelope env;
	struct timespec now;
	char	 host[256];
	char	*to[1];
	int	 status;

	qid[0] = '\0';
	if (orig->env.sender == NULL || orig->env.sender[0] == '\0' ||
	    (orig->env.flags & SPOOL_F_BOUNCE))
		return err_set(BOUNCE_DROPPED, "%s: no DSN for a message with "
		    "the null sender", orig->env.qid);
	if (bounce_auto_submitted(orig))
		return err_set(BOUNCE_DROPPED, "%s: no DSN for an "
		    "Auto-Submitted message", orig->env.qid);
	if (nrcpt == 0)
		return err_set(EX_SOFTWARE, "%s: DSN without recipients",
		    orig->env.qid);
	if (!spool_valid_field(orig->env.sender) ||
	    strlen(orig->env.sender) > 900)
		return err_set(EX_DATAERR, "%s: unusable sender for a DSN",
		    orig->env.qid);
	bounce_clean(host, sizeof(host), hostname && *hostname ? hostname :
	    "localhost", 253);
	if ((status = spool_create(&w, spool_dir, key)) != 0)
		return status;
	if ((status = bounce_content(w, host, orig, rcpt, nrcpt,
	    delayed)) != 0) {
		spool_abort(w);
		return status;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	memset(&env, 0, sizeof(env));
	env.site = orig->env.site;
	env.uid = geteuid();
	env.login = "MAILER-DAEMON";
	env.sender = "";
	env.time = now.tv_sec;
	env.time_usec = now.tv_nsec / 1000;
	env.flags = SPOOL_F_BOUNCE;
	env.cwd = env.exe = env.script = "";
	to[0] = orig->env.sender;
	env.rcpt = to;
	env.nrcpt = 1;
	snprintf(qid, SPOOL_QIDLEN + 1, "%s", spool_writer_qid(w));
	if ((status = spool_commit(w, &env)) != 0)
		qid[0] = '\0';
	return status;
}

/* bounce_create - write a DSN for orig's failed recipients. */
int
bounce_create(const char *spool_dir, const unsigned char key[SPOOL_KEYLEN],
    const char *hostname, struct spool_msg *orig,
    const struct bounce_rcpt *rcpt, size_t nrcpt, char qid[SPOOL_QIDLEN + 1])
{
	return bounce_make(spool_dir, key, hostname, orig, rcpt, nrcpt, qid,
	    0);
}

/* bounce_create_delayed - write a "delayed" DSN (RFC 3464 Action:
 * delayed, Status 4.x.x) for orig's recipients still being retried. */
int
bounce_create_delayed(const char *spool_dir,
    const unsigned char key[SPOOL_KEYLEN], const char *hostname,
    struct spool_msg *orig, const struct bounce_rcpt *rcpt, size_t nrcpt,
    char qid[SPOOL_QIDLEN + 1])
{
	return bounce_make(spool_dir, key, hostname, orig, rcpt, nrcpt, qid,
	    1);
}
