/*
 * charge.h - the bucket charges of incoming mail, made by sitemaild only.
 *
 * Intake asks sitemaild for a verdict before it commits (queue/verdict.h);
 * sitemaild charges the site's bucket at once and remembers the charge in
 * a small in-memory book, keyed by queue ID.  When the runner first sees
 * the committed file (charge_settle) the entry is settled:
 *   - an entry exists: the message was charged; nothing more to do, even
 *     if intake gave up waiting and marked the file SPOOL_F_NOVERDICT;
 *   - no entry and SPOOL_F_NOVERDICT (kept in the queue record's flags
 *     until settled, whoever indexed the file): intake had no answer;
 *     the message is charged now (charge_late), before its delivery.  A site
 *     past its backlog is auto-frozen and the message held uncharged
 *     (released by a thaw, like mail accepted while frozen);
 *   - no entry, no flag: charged by a sitemaild that has since restarted.
 * An entry whose message never arrives (the writer was killed between its
 * charge and its commit) is refunded by charge_expire once neither a
 * temp file nor a queue file of that ID exists.  So every recipient
 * accepted is charged exactly once.  A restart forgets the book: a
 * message killed in that window stays charged (never the other way).
 */
#ifndef SM_CHARGE_H
#define SM_CHARGE_H

#include <sys/types.h>
#include <time.h>

#include "queue/bucket.h"
#include "queue/verdict.h"
#include "spool/spool.h"
#include "util/conf.h"

#define CHARGE_BOOK_MAX	8192		/* entries before the oldest go */

struct charge_book;

/* What a charge needs besides the book. */
struct charge_ctx {
	const struct conf *conf;
	struct bucket_db *bdb;
	const unsigned char *key;	/* for the freeze alert */
};

/* charge_book_new - an empty book. */
int	charge_book_new(struct charge_book **);
/* charge_book_free - forget every entry (NULL is fine). */
void	charge_book_free(struct charge_book *);
/* charge_intake - charge a message intake is about to commit for site;
 * fills ans.  cwd and exe (cleaned here) name the caller in the alert
 * when this charge freezes the site. */
struct site_id;
int	charge_intake(struct charge_book *, const struct charge_ctx *,
	    const struct site_id *site, const char *qid, unsigned nrcpt,
	    double now, const char *cwd, const char *exe, struct verdict_ans *);
/* charge_refund - undo the charge of qid (intake could not commit). */
int	charge_refund(struct charge_book *, const struct charge_ctx *,
	    const char *qid, double now);
/* A message charged late (intake had no verdict). */
struct charge_msg {
	const char *qid, *site, *cwd, *exe;
	uid_t	 uid;
	size_t	 nrcpt;
};

/* charge_settle - the runner sees qid: 1 if intake's charge of it was
 * booked (and the entry is dropped), else 0. */
int	charge_settle(struct charge_book *, const char *qid);
/* charge_site - the site intake's charge of qid was booked under, or
 * NULL (the pointer is valid until the book next changes). */
const char *charge_site(const struct charge_book *, const char *qid);
/* charge_late - charge a message intake had no verdict for; *hold is
 * when it may go, *uncharged is set when the site is frozen. */
int	charge_late(const struct charge_ctx *, const struct charge_msg *,
	    double now, time_t *hold, int *uncharged);
/* charge_expire - drop entries older than grace seconds whose temp file
 * is gone, refunding those whose message never reached queue/. */
void	charge_expire(struct charge_book *, const struct charge_ctx *,
	    int tmpfd, int queuefd, time_t now, time_t grace);
/* charge_alert - log an auto-freeze past the backlog and raise its
 * notify event (queue/notify.h: notice, webhook). */
void	charge_alert(const struct charge_ctx *, const char *site, uid_t uid,
	    double backlog, double limit, const char *cwd, const char *exe);

#endif
