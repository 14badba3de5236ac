/*
 * admin.h - queue administration: the logic behind mailq / sendmail -bp
 * and the sitemail(8) verbs (list, show, flush, freeze, thaw, delete,
 * bounce, sites, route), plus the per-site hourly counters of "sites".
 *
 * Scope: a struct admin carries the caller's site and whether the caller
 * may see every site (root and the runner user).  A site user sees,
 * shows and flushes only messages of their own site; a message of another
 * site is reported exactly like one that does not exist ("QID: no such
 * message", EX_NOINPUT), so nothing about other sites leaks.  The verbs
 * that change state (freeze, thaw, delete, bounce) are for admins only;
 * cmd/sitemail.c refuses them before they get here.
 *
 * The listing (admin_list; admin_mailq is its sendmail -bp form) is one
 * read-only traverse of state/queue.tdb; selected records are formatted
 * while traversing and then sorted by queue ID (= arrival).  When one site
 * is selected (--site, or a site user's own) the traverse reads the raw
 * records itself and decodes only those whose text has the line "site
 * NAME" (qstate.c's encoding), so one site of 100,000 messages costs one
 * pass over the file, not 100,000 decodes.  Messages whose recipients are
 * all sent or bounced are not listed (the runner removes them).  "frozen"
 * means frozen by an admin one by one, or the message's site is frozen
 * (manually or automatically) in state/bucket.tdb.
 *
 * Delete and bounce take the record's chain lock and the runner's delivery
 * lock (flock on the spool file) before they unlink anything; a message
 * the runner is delivering at that moment is refused with EX_TEMPFAIL.
 *
 * Text listing (Postfix showq style; marks after the ID: '!' frozen,
 * '*' held by the site's rate limit or waiting to be charged after a
 * thaw):
 *	-Queue ID-----------  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *	0005f1c2d3e4f5a6b7c8*     1234 Tue Jan  9 10:01:02  www@alice.test  site=alice.test
 *	(held by the rate limit of site alice.test until Tue Jan  9 10:20:00)
 *	                                                    bob@example.com
 *	(451 4.7.1 Try again later)
 *	                                                    carol@example.net
 *
 *	-- 2 Kbytes in 1 Request.
 * or "Mail queue is empty".  Reasons and notes are on their own line in
 * parentheses before the recipients they apply to; the null sender shows
 * as MAILER-DAEMON.  Control characters in anything shown become '?'.
 *
 * JSON listing: one object per message per line, fields in the style of
 * Postfix's postqueue -j:
 *	{"queue_id", "arrival_time" (unix seconds), "message_size", "site",
 *	 "uid", "sender", "recipients": [{"address", "status" ("pending",
 *	 "deferred", "sent", "bounced"), "reason", "dsn", "attempts",
 *	 "next_try"}], "frozen" (bool), "site_frozen" (bool), "held_until"
 *	 (unix seconds, 0 = not held), "state" ("frozen", "held", "deferred",
 *	 "queued")}
 *
 * Counters (admin_stats_*): state/stats.tdb, mode 0660, key = site name
 * bytes, value = struct admin_stats_rec (host byte order, version first):
 * 60 one-minute slots, each with its minute number and the recipients
 * sent, deferred and bounced in that minute.  The runner adds to them as
 * results come in; "sitemail sites" sums the slots of the last hour.  Like
 * the bucket, the file is a gauge, not a ledger: it may be deleted at any
 * time.
 */
#ifndef SM_ADMIN_H
#define SM_ADMIN_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "queue/site.h"
#include "spool/spool.h"
#include "util/conf.h"

struct qstate;
struct bucket_db;

/* One administration session. */
struct admin {
	const struct conf *conf;
	const struct site_id *caller;	/* the caller's own site */
	uid_t	 uid;			/* the caller's real uid (for the log) */
	int	 all;			/* root or the runner user: every site */
	time_t	 now;
	struct qstate *qs;		/* opened on first use */
	int	 qs_rw;			/* ... read-write */
	struct bucket_db *bdb;		/* opened on first use */
};

/* Which messages a listing or a bulk delete selects (NULL / 0 = any). */
struct admin_filter {
	const char *site;
	const char *sender_re;		/* POSIX extended, case-insensitive */
	const char *rcpt_re;		/* matches any recipient still queued */
	int	 frozen;		/* only frozen messages */
};

/* show modes */
#define ADMIN_SHOW_HEADER	0	/* envelope, state and header */
#define ADMIN_SHOW_BODY		1	/* envelope, state and the whole message */
#define ADMIN_SHOW_RAW		2	/* the stored content, exactly */

/* admin_init - a session for caller (all: may see every site). */
void	admin_init(struct admin *, const struct conf *,
	    const struct site_id *caller, uid_t uid, int all);
/* admin_close - close whatever the session opened. */
void	admin_close(struct admin *);

/* admin_mailq - the listing of mailq / sendmail -bp: every site when all
 * is set, else only the caller's site. */
int	admin_mailq(const struct conf *, const struct site_id *, int all,
	    FILE *);
/* admin_list - list the selected messages as text (mailq) or JSON lines;
 * a site user may only select their own site (else EX_NOPERM). */
int	admin_list(struct admin *, const struct admin_filter *, int json,
	    FILE *);
/* admin_show - one message: envelope, queue state and content (mode
 * ADMIN_SHOW_*), or with json one object (record and envelope). */
int	admin_show(struct admin *, const char *id, int mode, int json, FILE *);
/* admin_flush - ask the runner to retry now: the caller's scope, one
 * site, or the given messages.  Never bypasses a bucket or a freeze. */
int	admin_flush(struct admin *, const char *site, char *const *ids,
	    size_t nids);
/* admin_freeze_site - freeze (or thaw) a site; thawing releases the mail
 * accepted while it was frozen in arrival order through the bucket. */
int	admin_freeze_site(struct admin *, const char *site, int freeze,
	    FILE *);
/* admin_freeze_ids - freeze (or thaw) single messages. */
int	admin_freeze_ids(struct admin *, char *const *ids, size_t nids,
	    int freeze, FILE *);
/* admin_delete - delete the given messages, or (ids NULL) every message
 * the filter selects (filter->site is required then). */
int	admin_delete(struct admin *, const struct admin_filter *,
	    char *const *ids, size_t nids, FILE *);
/* admin_bounce - fail every recipient still queued with "5.0.0 bounced
 * by admin", send the DSN to the sender, and remove the message. */
int	admin_bounce(struct admin *, char *const *ids, size_t nids, FILE *);
/* admin_sites - per site: limits, tokens, backlog, state, queue, and the
 * results of the last hour, as a table or JSON lines. */
int	admin_sites(struct admin *, int json, FILE *);
/* admin_route - the routing decision for address and its evidence. */
int	admin_route(struct admin *, const char *address, int json, FILE *);
/* admin_site_known - 1 if name is a site of this host (configured,
 * "system", the site of a login, or one with a bucket record). */
int	admin_site_known(struct admin *, const char *name);

/* Queue IDs given by people and pipes. */
/* admin_qid_parse - a queue ID from a word or a line: surrounding white
 * space, a trailing mailq mark ('*', '!') and upper case are forgiven; a
 * JSON object's "queue_id" and show's "queue_id:" line are understood;
 * the rest of a line after the ID is ignored (mailq's lines).  0, or -1
 * when it is not one. */
int	admin_qid_parse(const char *in, char out[SPOOL_QIDLEN + 1]);
/* admin_ids_read - queue IDs from fp, one per line (empty lines and lines
 * starting with '#' or "-Queue ID" skipped); a malloc'd array in *ids. */
int	admin_ids_read(FILE *, char ***ids, size_t *nids);
/* admin_ids_free - free what admin_ids_read returned. */
void	admin_ids_free(char **ids, size_t nids);

/* Per-site hourly counters (state/stats.tdb). */
#define ADMIN_STATS_FILE	"state/stats.tdb"	/* under spool_dir */
#define ADMIN_STATS_VERSION	1
#define ADMIN_STATS_SLOTS	60		/* one per minute */

enum admin_stat {
	ADMIN_STAT_SENT,
	ADMIN_STAT_DEFERRED,
	ADMIN_STAT_BOUNCED,
	ADMIN_STAT_N
};

struct admin_stats_slot {
	uint32_t minute;		/* unix time / 60 */
	uint32_t n[ADMIN_STAT_N];
};

struct admin_stats_rec {
	uint32_t version;		/* ADMIN_STATS_VERSION */
	uint32_t reserved;
	struct admin_stats_slot slot[ADMIN_STATS_SLOTS];
};

struct admin_stats;

/* admin_stats_open - open (creating, mode 0660) spool_dir/state/stats.tdb;
 * readonly: open an existing file only (EX_NOINPUT when there is none). */
int	admin_stats_open(struct admin_stats **, const char *spool_dir,
	    int readonly);
/* admin_stats_close - close it (NULL is fine). */
void	admin_stats_close(struct admin_stats *);
/* admin_stats_count - add n results of one kind for site at time now
 * (the runner calls this once per recipient result). */
int	admin_stats_count(struct admin_stats *, const char *site,
	    enum admin_stat, unsigned n, time_t now);
/* admin_stats_hour - the sums over the hour before now into out[]. */
int	admin_stats_hour(struct admin_stats *, const char *site, time_t now,
	    uint64_t out[ADMIN_STAT_N]);
/* admin_stats_sites - call fn for every site with a valid record. */
int	admin_stats_sites(struct admin_stats *,
	    int (*fn)(void *, const char *site), void *);

/* admin_dkim - "sitemail dkim keygen|list|check ..." (admin_dkim.c);
 * argv holds the words after "dkim". */
int	admin_dkim(const struct conf *, char **argv, size_t argc, FILE *);
/* admin_dkim_check_config - warnings (stderr) about the DKIM key
 * directory and keys: owner, mode, usable; how many. */
int	admin_dkim_check_config(const struct conf *);

#endif
