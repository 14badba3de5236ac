/*
 * bounce.h - delivery status notifications (RFC 3464) for failed
 * recipients, written as new spool messages.
 *
 * A DSN goes to the original envelope sender with the null sender, flag
 * SPOOL_F_BOUNCE, the original's site, the runner's uid (geteuid()) and
 * login "MAILER-DAEMON".  It is never made for a message that has the null
 * sender or is itself a DSN ("a bounce is never bounced"), nor for a
 * message with an Auto-Submitted header field other than "no" (RFC 3834):
 * bounce_create() then returns BOUNCE_DROPPED and writes nothing, and the
 * caller logs the failure as dropped.
 *
 * bounce_create_delayed() writes the same layout as a warning: Subject
 * "Delayed Mail (still being retried)", a notice that says so, and per
 * recipient Action: delayed with a 4.x.x Status and the last reason.
 *
 * Content (CRLF lines, 7-bit text except the copied headers):
 *	From: Mail Delivery System <MAILER-DAEMON@HOST>
 *	To: <SENDER>, Subject: Undelivered Mail Returned to Sender,
 *	Date, Message-ID <QID@HOST>, Auto-Submitted: auto-replied,
 *	MIME-Version: 1.0, Content-Type: multipart/report;
 *	    report-type=delivery-status; boundary="QID/HOST"
 *	part 1	text/plain: one line per failed recipient and its reason
 *	part 2	message/delivery-status: Reporting-MTA: dns; HOST,
 *		X-Sitemail-Queue-ID, Arrival-Date; then per recipient
 *		Final-Recipient: rfc822; ADDR, Action: failed, Status: 5.x.x,
 *		[Remote-MTA: dns; HOST], Diagnostic-Code: smtp; REPLY (or
 *		X-Sitemail; TEXT for a reason that is not an SMTP reply)
 *	part 3	text/rfc822-headers: the original's header section, streamed
 *		from its spool file, at most BOUNCE_HEADERS_MAX bytes (cut at
 *		a line boundary)
 */
#ifndef SM_BOUNCE_H
#define SM_BOUNCE_H

#include <stddef.h>

#include "spool/spool.h"

#define BOUNCE_DROPPED		1	/* no DSN: null sender or a DSN */
#define BOUNCE_HEADERS_MAX	(100 * 1024)
#define BOUNCE_TEXT_MAX		900	/* longest reason copied (bytes) */

/* One failed recipient. */
struct bounce_rcpt {
	const char *address;
	const char *status;	/* "5.1.1"; a 4.x.x (expired) is reported as
				 * 5.x.x; NULL or malformed: 5.0.0 */
	const char *diagnostic;	/* the server's reply ("550 5.1.1 ...") or
				 * our own reason; sanitised when copied */
	const char *remote_mta;	/* the host that replied, or NULL; a relay
				 * name "host[ip]:port" is cut to "host" */
};

/* bounce_create - write a DSN for orig's failed recipients into the spool
 * at spool_dir; qid receives its queue ID.  Returns 0, BOUNCE_DROPPED
 * (nothing written), or a sysexits status with err_str() set. */
int	bounce_create(const char *spool_dir,
	    const unsigned char key[SPOOL_KEYLEN], const char *hostname,
	    struct spool_msg *orig, const struct bounce_rcpt *rcpt,
	    size_t nrcpt, char qid[SPOOL_QIDLEN + 1]);

/* bounce_create_delayed - the same for recipients still being retried:
 * a "delayed" DSN (Action: delayed, Status 4.x.x). */
int	bounce_create_delayed(const char *spool_dir,
	    const unsigned char key[SPOOL_KEYLEN], const char *hostname,
	    struct spool_msg *orig, const struct bounce_rcpt *rcpt,
	    size_t nrcpt, char qid[SPOOL_QIDLEN + 1]);
/* bounce_auto_submitted - 1 if orig has Auto-Submitted other than "no". */
int	bounce_auto_submitted(struct spool_msg *orig);

#endif
