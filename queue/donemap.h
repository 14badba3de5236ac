/*
 * donemap.h - the done map: which recipients of a queued message are
 * final (sent or bounced), kept outside queue.tdb so that a queue-state
 * rebuild never sends a recipient twice (format owned by queue/donemap.c).
 *
 * One file per queued message, spool_dir/state/done/QID, written only by
 * the runner.  It is made at full size after the first attempt that
 * leaves the message queued, so recording a later result only overwrites
 * bytes in place and cannot fail for lack of space; every result is
 * written before queue.tdb is updated (fsync policy: see donemap.c).  The
 * signed spool file itself is never rewritten.
 */
#ifndef SM_DONEMAP_H
#define SM_DONEMAP_H

#include "queue/qstate.h"

#define DONEMAP_DIR	"state/done"		/* under spool_dir */

/* donemap_create - make state/done/QID for nrcpt recipients when missing
 * (written whole at once); an existing map of the right size is
 * kept.  EX_TEMPFAIL (no space, I/O) means: do not deliver it now. */
int	donemap_create(const char *spool_dir, const char *qid, size_t nrcpt);
/* donemap_mark - record the final status (QR_SENT, QR_BOUNCED) of every
 * recipient i of rec with tried[i] set (overwriting in place); nothing to
 * do (0) when the message has no map. */
int	donemap_mark(const char *spool_dir, const struct qrec *rec,
	    const char *tried);
/* donemap_sync - fdatasync the map of qid (when it is the only record). */
int	donemap_sync(const char *spool_dir, const char *qid);
/* donemap_flag - set a message flag: 'd' (the DSN for its bounced
 * recipients is queued) or 'c' (charged after a thaw); nothing to do (0)
 * when the message has no map. */
int	donemap_flag(const char *spool_dir, const char *qid, int flag);
/* donemap_reported - record what a committed DSN covered: the picked
 * recipients (pick[i]) are reported, or with delayed the "delayed" DSN
 * is sent; nothing to do (0) when the message has no map. */
int	donemap_reported(const char *spool_dir, const struct qrec *rec,
	    const char *pick, int delayed);
/* donemap_settled - record that the runner settled the charge of a
 * message committed without a verdict: charged, or left uncharged (its
 * site frozen); makes the map when missing. */
int	donemap_settled(const char *spool_dir, const char *qid, size_t nrcpt,
	    int uncharged);
/* donemap_apply - make rec agree with its map: recipients final in the
 * map become final in rec (and reported, QRCPT_REPORTED), and the flags
 * set QREC_DSN_QUEUED or QREC_DELAY_WARNED, clear
 * SPOOL_F_NOVERDICT (the charge was settled) and set or clear
 * QREC_UNCHARGED.  Returns how many things changed (0 also when there is
 * no map); a damaged map is logged and ignored. */
int	donemap_apply(const char *spool_dir, struct qrec *rec);
/* donemap_remove - forget the map of a finished message. */
void	donemap_remove(const char *spool_dir, const char *qid);
/* donemap_sweep - remove maps whose queue file is gone; the count. */
unsigned donemap_sweep(const char *spool_dir);

#endif
