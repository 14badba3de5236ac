/*
 * qstate.h - the mutable state over spooled messages: state/queue.tdb.
 *
 * The signed spool file is the truth about a message (envelope, content);
 * this database holds what changes: per-recipient status, attempts, next
 * retry and last reason, the rate-limit hold, and an admin freeze.  Every
 * record can be rebuilt from the spool (qstate_rebuild), so losing the tdb
 * loses no mail, sends nothing twice and thaws nothing (see below).
 *
 * Record: key "m:QID", value a small versioned text block (qstate.c owns
 * the exact encoding; qstate_encode/qstate_decode round-trip it).  Intake
 * adds the record right after its commit (qstate_add; a record that exists
 * already is left alone, since the runner may have indexed the file
 * first); when that fails the runner indexes the file when it sees it.
 * Updates run in a tdb transaction (qstate_lock, or qstate_update for one
 * read-modify-write), so a write that fails (ENOSPC, EIO) keeps the old
 * record.  What a rebuild needs beyond the spool file is kept outside this
 * file: the final recipients in state/done/ (queue/donemap.h) and the
 * freezes in state/frozen/ (queue/freeze.h).  The file is mode 0660: intake
 * (setgid sitemail) adds records, the runner and the admin tool change
 * them.
 *
 * Rate limit and freeze (see queue/bucket.h): a message accepted while its
 * site was frozen was not charged (bucket verdict FROZEN_HOLD).  Intake
 * marks such a message with the envelope flag SPOOL_F_UNCHARGED (when
 * spool.h defines it), which qstate_add turns into QREC_UNCHARGED.  Once
 * the site is thawed the runner charges those messages in arrival order
 * with bucket_charge_release(), stores the resulting hold time and clears
 * QREC_UNCHARGED.  Messages of a frozen site (bucket flag BUCKET_FROZEN),
 * and messages frozen one by one (qrec.frozen), are never delivered.
 *
 * Flush requests (sendmail -q, sitemail flush) are small files in
 * state/flush/ (mode 01770 sitemail:sitemail, created by the runner and by
 * qstate_flush_request when root or the runner user asks): written by
 * whoever asks, as a hidden ".tmp" file renamed into place, holding
 * optional "site=", "id=", "domain=" and "sender=" lines.  The runner
 * watches that folder, takes the scope from the file owner (root and the
 * runner user: every site; anyone else: the site of that uid; a site=
 * line can only narrow it), makes the matching deferred recipients due
 * now, and removes the file.
 */
#ifndef SM_QSTATE_H
#define SM_QSTATE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "queue/site.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/conf.h"

#define QSTATE_FILE	"state/queue.tdb"	/* under spool_dir */
#define QSTATE_FLUSH_DIR "state/flush"		/* under spool_dir */
#define QSTATE_VERSION	1
#define QSTATE_REC_MAX	(16u << 20)		/* longest record text */

enum qrcpt_status {
	QR_PENDING = 'P',		/* not tried yet */
	QR_DEFERRED = 'D',		/* 4xx or session failure; retry */
	QR_SENT = 'S',			/* 2xx */
	QR_BOUNCED = 'B'		/* 5xx, DNS bounce or expired */
};

struct qrcpt {
	char	*addr;
	char	 status;		/* enum qrcpt_status */
	unsigned attempts;
	time_t	 next_try;		/* 0 = as soon as possible */
	char	*dsn;			/* last enhanced status, or "" */
	char	*reason;		/* last reason, sanitised, or "" */
	unsigned rflags;		/* QRCPT_* */
};

/* qrcpt.rflags */
#define QRCPT_REPORTED	0x01		/* its failure is in a committed DSN */

/* qrec.qflags */
#define QREC_UNCHARGED	0x01		/* accepted while the site was frozen:
					 * charge at thaw, then clear */
#define QREC_DSN_QUEUED	0x02		/* the DSN for the bounced recipients
					 * is committed; never make another */
#define QREC_DELAY_WARNED 0x04		/* the "delayed" DSN is committed */

struct qrec {
	char	 qid[SPOOL_QIDLEN + 1];
	char	*site;
	uid_t	 uid;
	time_t	 arrival;
	long	 arrival_usec;
	uint64_t size;			/* content bytes */
	char	*sender;		/* "" = null sender */
	unsigned flags;			/* SPOOL_F_* from the envelope */
	unsigned qflags;		/* QREC_* */
	time_t	 hold;			/* rate-limit hold until, 0 = none */
	int	 frozen;		/* frozen by an admin (this message) */
	struct qrcpt *r;
	size_t	 nr;
};

struct qstate;

/* qstate_open - open (creating, mode 0660) spool_dir/state/queue.tdb. */
int	qstate_open(struct qstate **, const char *spool_dir);
/* qstate_open_readonly - open an existing database read-only (mailq);
 * EX_NOINPUT when there is none yet. */
int	qstate_open_readonly(struct qstate **, const char *spool_dir);
/* qstate_check - EX_DATAERR when the database is damaged (tdb_check). */
int	qstate_check(struct qstate *);
/* qstate_discard - move a damaged database aside (queue.tdb.bad-TIME) and
 * open a fresh one in its place; qstate_rebuild then re-indexes the
 * spool, applying the done maps and freeze markers (nothing sent is sent
 * again, nothing frozen is thawed). */
int	qstate_discard(struct qstate **);
/* qstate_close - close the database (NULL is fine). */
void	qstate_close(struct qstate *);
/* qstate_add - a new record from a committed envelope (all pending); a
 * record that exists already is kept and 0 returned. */
int	qstate_add(struct qstate *, const struct envelope *, uint64_t size);
/* qstate_queued_hook - fn (NULL: none) is called for every message that
 * gets its "queued:" log line here (sitemaild: queue/notify.c). */
void	qstate_queued_hook(void (*fn)(const struct envelope *, uint64_t size));
/* qstate_rec_from_env - fill a fresh record (all pending) from env. */
int	qstate_rec_from_env(struct qrec *, const struct envelope *,
	    uint64_t size);
/* qstate_recover - make a record agree with what is kept outside the
 * tdb: recipients final in its done map, its freeze marker.  Returns how
 * many things changed. */
int	qstate_recover(const char *spool_dir, struct qrec *rec);
/* qstate_get - fetch a record; EX_NOINPUT when there is none. */
int	qstate_get(struct qstate *, const char *qid, struct qrec *);
/* qstate_has - 1 if qid has a record. */
int	qstate_has(struct qstate *, const char *qid);
/* qstate_put - store a record (replace). */
int	qstate_put(struct qstate *, const struct qrec *);
/* qstate_delete - remove a record (none is fine). */
int	qstate_delete(struct qstate *, const char *qid);
/* qstate_lock / qstate_unlock - a tdb transaction around a
 * read-modify-write of qid (blocking; it serialises writers).  The writes
 * made meanwhile are committed at unlock, or none of them (a failed write,
 * a full disk): the old record stays until the new one is safely stored.
 * qstate_unlock returns EX_TEMPFAIL when nothing was stored.  Outside a
 * lock, qstate_put runs in a transaction of its own. */
int	qstate_lock(struct qstate *, const char *qid);
int	qstate_unlock(struct qstate *, const char *qid);
/* qstate_update - locked read-modify-write: fn changes the record and
 * returns 0 to store it, QSTATE_KEEP to store nothing, or a status that
 * is passed up.  EX_NOINPUT when there is no record. */
#define QSTATE_KEEP	(-1)
int	qstate_update(struct qstate *, const char *qid,
	    int (*fn)(void *, struct qrec *), void *);
/* qstate_update_inplace - the same, in place under the chain lock when
 * the new record fits where the old one is (records are written with
 * room to grow), else through qstate_update; fn must be idempotent. */
int	qstate_update_inplace(struct qstate *, const char *qid,
	    int (*fn)(void *, struct qrec *), void *);
/* qstate_traverse - call fn for every valid record (read-only traverse;
 * fn must not change the database); a non-zero return stops the walk and
 * is returned.  Records that do not decode are logged and skipped. */
int	qstate_traverse(struct qstate *, int (*fn)(void *, const struct qrec *),
	    void *);
/* qstate_rebuild - index every queue/ file older than min_age seconds
 * that has no record (verifying it; files that fail go to quarantine),
 * and drop records whose file is gone.  Counts go to *added, *dropped. */
int	qstate_rebuild(struct qstate *, const unsigned char key[SPOOL_KEYLEN],
	    time_t min_age, unsigned *added, unsigned *dropped);
/* qstate_encode / qstate_decode - the record's text form; decode is
 * strict (EX_DATAERR) and leaves nothing allocated on failure. */
int	qstate_encode(const struct qrec *, struct buf *);
int	qstate_decode(const char *, size_t, struct qrec *);
/* qrec_free - free a record's strings. */
void	qrec_free(struct qrec *);
/* qrec_final - 1 when every recipient is sent or bounced. */
int	qrec_final(const struct qrec *);

/* qstate_flush_request - ask the runner to retry now (sendmail -q). */
int	qstate_flush_request(const struct conf *, const struct site_id *,
	    int all, const char *id, const char *domain, const char *sender);

/* A flush request as the runner reads it. */
struct qflush {
	int	 all;			/* every site (else only site) */
	char	 site[SITE_NAME_MAX + 1];
	char	 id[SPOOL_QIDLEN + 1];	/* "" = any */
	char	 domain[256];		/* recipient domain, "" = any */
	char	 sender[512];		/* envelope sender, "" = any */
};

/* qstate_flush_read - read and remove one request file from the flush
 * folder (dirfd); the scope comes from the file owner: root and runner_uid
 * mean every site.  EX_DATAERR for a file that is not a request (removed
 * too). */
int	qstate_flush_read(const struct conf *, int dirfd, const char *name,
	    uid_t runner_uid, struct qflush *);
/* qstate_flush_match - 1 if the record is in the request's scope. */
int	qstate_flush_match(const struct qflush *, const struct qrec *);
/* qstate_flush_rcpt - 1 if recipient i is selected (domain selector). */
int	qstate_flush_rcpt(const struct qflush *, const struct qrcpt *);

#endif
