/*
 * runner_dsn.c - when the runner sends delivery status notifications
 * (DESIGN "Relay"; as Postfix and Exim do).
 *
 *  - Failed: after every attempt, the recipients that are bounced and not
 *    yet reported go in one DSN (bounce_create), even while others of the
 *    message are still deferred.  Each is then marked QRCPT_REPORTED in
 *    its record, under the record lock, so no later attempt, pass or
 *    runner reports it again.  A record with the older per-message
 *    QREC_DSN_QUEUED counts as all reported.
 *  - Delayed: once a message is older than [main] delay_warning (0 =
 *    never) and some recipient is still deferred, one "delayed" DSN
 *    (bounce_create_delayed: Action: delayed, Status 4.x.x, the last
 *    reason) names those recipients; QREC_DELAY_WARNED keeps it to one
 *    per message.  It is looked at after each attempt, so it goes with the
 *    first retry after delay_warning.
 *  - None for the null sender, a DSN, or an Auto-Submitted message
 *    (bounce.c says BOUNCE_DROPPED); the recipients are marked all the
 *    same, so the decision is made once.
 * The DSN is committed before the mark is stored, in the done map first
 * (which a rebuilt record applies, queue/donemap.h) and then in the
 * record: a crash between the two (a window of one write) can repeat a
 * DSN, never lose one.
 *
 * Log lines:
 *	QID: sender non-delivery notification: DSNQID
 *	QID: sender delay notification: DSNQID
 *	QID: sender is null, no bounce: dropped
 *	QID: Auto-Submitted message, no bounce: dropped
 */
#include <stdlib.h>
#include <string.h>

#include "queue/bounce.h"
#include "queue/donemap.h"
#include "queue/runner_int.h"
#include "util/msg.h"

/* What to mark in the record once a DSN is committed. */
struct runner_dsn_mark {
	const struct qrec *rec;		/* the record the DSN was made from */
	const char *pick;		/* per recipient: in the DSN */
	int	 delayed;
};

/* runner_dsn_unreported - 1 if recipient i failed and is not reported. */
static int
runner_dsn_unreported(const struct qrec *rec, size_t i)
{
	return rec->r[i].status == QR_BOUNCED &&
	    !(rec->r[i].rflags & QRCPT_REPORTED) &&
	    !(rec->qflags & QREC_DSN_QUEUED);
}

/* runner_dsn_mark_fn - record what the DSN covered (under the lock). */
static int
runner_dsn_mark_fn(void *arg, struct qrec *cur)
{
	const struct runner_dsn_mark *mk = arg;
	size_t	 i;

	if (mk->delayed) {
		cur->qflags |= QREC_DELAY_WARNED;
		return 0;
	}
	for (i = 0; i < cur->nr && i < mk->rec->nr; i++)
		if (mk->pick[i] && strcmp(cur->r[i].addr,
		    mk->rec->r[i].addr) == 0)
			cur->r[i].rflags |= QRCPT_REPORTED;
	return 0;
}

/* runner_dsn_mark - store the mark, in the record and in rec. */
static void
runner_dsn_mark(struct runner *r, struct qrec *rec, const char *pick,
    int delayed)
{
	struct runner_dsn_mark mk = { rec, pick, delayed };
	size_t	 i;

	if (donemap_reported(r->conf->spool_dir, rec, pick, delayed) != 0)
		log_warn("%s: %s", rec->qid, err_str());
	if (qstate_update(r->qs, rec->qid, runner_dsn_mark_fn, &mk) != 0)
		log_warn("%s: cannot record the notification: %s", rec->qid,
		    err_str());
	if (delayed)
		rec->qflags |= QREC_DELAY_WARNED;
	for (i = 0; !delayed && i < rec->nr; i++)
		if (pick[i])
			rec->r[i].rflags |= QRCPT_REPORTED;
}

/* runner_dsn_make - one DSN for the picked recipients of rec; 0 when it
 * is committed or none is to be made. */
static int
runner_dsn_make(struct runner *r, struct rmsg *m, struct qrec *rec,
    const char *pick, int delayed)
{
	struct bounce_rcpt *b;
	char	 dsnqid[SPOOL_QIDLEN + 1];
	size_t	 i, n = 0;
	int	 rc;

	if ((b = calloc(rec->nr, sizeof(*b))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	for (i = 0; i < rec->nr; i++) {
		if (!pick[i])
			continue;
		b[n].address = rec->r[i].addr;
		b[n].status = rec->r[i].dsn;
		b[n].diagnostic = rec->r[i].reason;
		n++;
	}
	rc = (delayed ? bounce_create_delayed : bounce_create)
	    (r->conf->spool_dir, r->key, r->conf->hostname, &m->msg, b, n,
	    dsnqid);
	free(b);
	if (rc == BOUNCE_DROPPED) {
		log_info("%s: %s, no bounce: dropped", rec->qid,
		    strstr(err_str(), "Auto-Submitted") ?
		    "Auto-Submitted message" : "sender is null");
	} else if (rc != 0) {
		log_error("%s: cannot create a %s notification: %s", rec->qid,
		    delayed ? "delay" : "non-delivery", err_str());
		return rc;
	} else {
		r->stats.dsns++;
		log_info("%s: sender %s notification: %s", rec->qid,
		    delayed ? "delay" : "non-delivery", dsnqid);
		runner_index_new(r, dsnqid);
	}
	runner_dsn_mark(r, rec, pick, delayed);
	return 0;
}

/* runner_dsn_failed - the DSN for the failed, unreported recipients of
 * rec; 0 when done (or nothing to do). */
int
runner_dsn_failed(struct runner *r, struct rmsg *m, struct qrec *rec)
{
	char	*pick;
	size_t	 i, n = 0;
	int	 rc;

	if ((pick = calloc(rec->nr ? rec->nr : 1, 1)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	for (i = 0; i < rec->nr; i++)
		if (runner_dsn_unreported(rec, i)) {
			pick[i] = 1;
			n++;
		}
	rc = n ? runner_dsn_make(r, m, rec, pick, 0) : 0;
	free(pick);
	return rc;
}

/* runner_dsn_delayed - the one "delayed" DSN, once it is time. */
static void
runner_dsn_delayed(struct runner *r, struct rmsg *m, struct qrec *rec)
{
	long	 dw = r->conf->delay_warning;
	char	*pick;
	size_t	 i, n = 0;

	if (dw <= 0 || (rec->qflags & QREC_DELAY_WARNED) ||
	    time(NULL) - rec->arrival < dw)
		return;
	if ((pick = calloc(rec->nr, 1)) == NULL)
		return;
	for (i = 0; i < rec->nr; i++)
		if (rec->r[i].status == QR_DEFERRED) {
			pick[i] = 1;
			n++;
		}
	if (n > 0)
		(void)runner_dsn_make(r, m, rec, pick, 1);
	free(pick);
}

/* runner_dsn_after - the notifications due after an attempt on a message
 * that stays queued. */
void
runner_dsn_after(struct runner *r, struct rmsg *m, struct qrec *rec)
{
	(void)runner_dsn_failed(r, m, rec);
	runner_dsn_delayed(r, m, rec);
}
