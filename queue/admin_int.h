/*
 * admin_int.h - what the queue/admin*.c files share with each other (not
 * an interface for anyone else; see admin.h).
 */
#ifndef SM_ADMIN_INT_H
#define SM_ADMIN_INT_H

#include <regex.h>
#include <stdint.h>

#include "queue/admin.h"
#include "queue/qstate.h"
#include "util/buf.h"

#define ADMIN_OUT_MAX	((size_t)1 << 34)	/* a listing held in memory */

/* A site that bucket.tdb says is frozen (BUCKET_FROZEN, BUCKET_AUTO). */
struct admin_frozen {
	char	*name;
	uint32_t flags;
};

/* One selection traverse over queue.tdb. */
struct admin_walk {
	struct admin *a;
	const struct admin_filter *f;
	regex_t	 sender_re, rcpt_re;
	int	 have_sender, have_rcpt;
	int	 include_final;		/* also messages with nothing queued */
	struct admin_frozen *fz;	/* frozen sites */
	size_t	 nfz;
	/* called for every selected record; non-zero stops the walk */
	int	(*fn)(struct admin_walk *, const struct qrec *, uint32_t);
	void	*ctx;
};

/* admin_qs - the session's queue database, read-write when rw is set;
 * EX_NOINPUT (read-only) when there is none yet. */
int	admin_qs(struct admin *, int rw, struct qstate **);
/* admin_bdb - the session's bucket database; with create unset,
 * EX_NOINPUT when the file does not exist yet. */
int	admin_bdb(struct admin *, int create, struct bucket_db **);
/* admin_key_load - the spool key of the configuration. */
int	admin_key_load(const struct conf *, unsigned char key[SPOOL_KEYLEN]);
/* admin_queue_fd - open spool_dir/queue as a directory. */
int	admin_queue_fd(const struct conf *, int *);
/* admin_visible_site - 1 if the caller may see site. */
int	admin_visible_site(const struct admin *, const char *site);
/* admin_visible - 1 if the caller may see a message of site submitted by
 * uid (a non-admin of the site "system" sees only their own uid's). */
int	admin_visible(const struct admin *, const char *site, uid_t uid);
/* admin_get - the record of qid if the caller may see it, else
 * EX_NOINPUT "QID: no such message". */
int	admin_get(struct admin *, struct qstate *, const char *qid,
	    struct qrec *);
/* admin_frozen_load - the frozen sites, from bucket.tdb. */
int	admin_frozen_load(struct admin *, struct admin_frozen **, size_t *);
/* admin_frozen_free - free that list. */
void	admin_frozen_free(struct admin_frozen *, size_t);
/* admin_frozen_flags - the bucket flags of site in that list (0). */
uint32_t admin_frozen_flags(const struct admin_frozen *, size_t,
	    const char *site);
/* admin_walk - traverse the queue, calling w->fn for each selected record
 * (w->a, w->f, w->fn, w->ctx and w->include_final filled by the caller). */
int	admin_walk(struct admin_walk *);
/* admin_filter_check - the filter is valid for this caller (site scope,
 * regular expressions). */
int	admin_filter_check(struct admin *, const struct admin_filter *);

/* Output helpers: each returns 0, or -1 when the buffer is full. */
/* admin_put_text - s with control characters replaced by '?'. */
int	admin_put_text(struct buf *, const char *s);
/* admin_put_json - s as a JSON string, quotes included. */
int	admin_put_json(struct buf *, const char *s);
/* admin_rec_json - one record as a JSON object (no newline). */
int	admin_rec_json(struct buf *, const struct qrec *, uint32_t site_flags,
	    time_t now);
/* admin_time - the local time in mailq's form ("Tue Jan  9 10:01:02"). */
void	admin_time(time_t, char *, size_t);
/* admin_status_name - "pending", "deferred", "sent" or "bounced". */
const char *admin_status_name(int status);
/* admin_rec_state - "frozen", "held", "deferred" or "queued". */
const char *admin_rec_state(const struct qrec *, uint32_t site_flags,
	    time_t now);
/* admin_rec_frozen - 1 if the message or its site is frozen. */
int	admin_rec_frozen(const struct qrec *, uint32_t site_flags);
/* admin_write - write a buffer to fp and flush it. */
int	admin_write(FILE *, const struct buf *);

#endif
