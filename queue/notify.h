/*
 * notify.h - abuse notices, in sitemaild only (shared/DESIGN.md "Abuse
 * signals and notifications").
 *
 * Events: a site frozen (automatically: backlog, fail_ratio, spam; or by
 * an admin), thawed, at its spool_quota (or the spool below
 * min_free_space: site "", every site), or a file of it quarantined.
 * notify_event() logs one line per event, hands the event to the webhook
 * (queue/webhook.h: every event, in order) and to the site's notice.
 *
 * Notices are mails to [main] alert_to and the site's owner, queued by
 * sitemaild as a system message.  One notice per event, never a storm:
 * a site gets at most one notice per [notify] interval (default 10m).
 * The first event after a quiet interval is mailed at the next tick
 * (about a second later, so events of the same instant share it); later
 * events wait for the end of the interval and are then mailed together in
 * one notice that counts them per kind ("3 freeze, 2 thaw since ...").
 * So a site that is frozen and thawed 20 times a minute costs two notices
 * per interval, and no event goes unreported.
 *
 * Forensics: notify_seen() keeps, per site, a ring of the last
 * NOTIFY_RING messages sitemaild indexed (cwd, script or program, queue
 * ID, recipient domains; queue/notify_ring.c).  A notice lists the top
 * working directories and scripts of that ring with counts, the top
 * recipient domains, and up to NOTIFY_SUBJECTS subjects read from the
 * site's newest messages still queued.  Everything a caller controls is
 * cleaned of control characters (and quoted in JSON) before it is used.
 *
 * The state lives in this process (one instance: notify_open once, then
 * notify_conf at each reload); a restart forgets the ring and the rate
 * limiter.
 */
#ifndef SM_NOTIFY_H
#define SM_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "spool/spool.h"
#include "util/buf.h"
#include "util/conf.h"

#define NOTIFY_RING		100	/* messages remembered per site */
#define NOTIFY_TOP		5	/* lines per "top" list */
#define NOTIFY_SUBJECTS		5	/* sample subjects in a notice */
#define NOTIFY_FIGURES		4	/* figures per event */
#define NOTIFY_SITES_MAX	4096	/* sites with a ring (the idlest go) */

enum notify_kind {
	NOTIFY_FREEZE,
	NOTIFY_THAW,
	NOTIFY_QUOTA,
	NOTIFY_QUARANTINE,
	NOTIFY_KINDS
};

/* One figure of an event: "backlog" = 201. */
struct notify_fig {
	const char *name;		/* [a-z_]+, never caller text */
	double	 value;
};

/* One event. */
struct notify_ev {
	enum notify_kind kind;
	const char *site;		/* "" = the whole spool */
	uid_t	 uid;			/* (uid_t)-1 = unknown */
	const char *trigger;		/* backlog, fail_ratio, spam, admin,
					   spool_quota, min_free_space,
					   verify */
	const char *detail;		/* free text (cleaned here), or NULL */
	struct notify_fig fig[NOTIFY_FIGURES];
	size_t	 nfig;
};

/* One "top" line: a value and how often it was seen. */
struct notify_top {
	char	 what[512];
	unsigned n;
};

/* notify_open - start (or, with a new conf, continue) the notifier. */
int	notify_open(const struct conf *, const unsigned char key[SPOOL_KEYLEN]);
/* notify_conf - use a new configuration and key (reload). */
void	notify_conf(const struct conf *, const unsigned char key[SPOOL_KEYLEN]);
/* notify_close - stop the webhook worker and forget everything. */
void	notify_close(void);
/* notify_event - log an event, post it, and queue it for its notice. */
void	notify_event(const struct notify_ev *);
/* notify_kind_name - "freeze", "thaw", "quota" or "quarantine". */
const char *notify_kind_name(enum notify_kind);
/* notify_seen - remember a message sitemaild has indexed (the ring). */
void	notify_seen(const struct envelope *);
/* notify_tick - mail the notices that are due, or with force every
 * pending one (shutdown); call about once a second. */
void	notify_tick(time_t now, int force);
/* notify_pending - 1 if some event waits for its notice. */
int	notify_pending(void);
/* notify_frozen_change - a freeze marker appeared (exists 1) or went (0)
 * in state/frozen/: an admin freeze or a thaw. */
void	notify_frozen_change(const char *marker, int exists);
/* notify_quarantined - queue/qid (owned by uid) was quarantined. */
void	notify_quarantined(const char *qid, uid_t uid, const char *why);
/* notify_usage - one site's spool usage, from the usage walk: raises a
 * quota event when it reaches its spool_quota. */
void	notify_usage(const char *site, uint64_t bytes, unsigned msgs);
/* notify_space - the spool's free bytes, from the usage walk. */
void	notify_space(uint64_t avail);

/* queue/notify_ring.c */
/* notify_ring_add - remember one message of site. */
void	notify_ring_add(const char *site, const char *qid, const char *cwd,
	    const char *script, char *const *rcpt, size_t nrcpt);
/* notify_ring_top - the top n cwds (what 0), scripts (1) or recipient
 * domains (2) of site's ring; returns how many were filled. */
size_t	notify_ring_top(const char *site, int what, struct notify_top *,
	    size_t n);
/* notify_ring_qids - the newest queue IDs of site's ring, newest first. */
size_t	notify_ring_qids(const char *site, char (*qid)[SPOOL_QIDLEN + 1],
	    size_t n);
/* notify_ring_size - messages in site's ring. */
size_t	notify_ring_size(const char *site);
/* notify_ring_free - forget every ring. */
void	notify_ring_free(void);
/* notify_clean - caller text fit for a log line, a notice or JSON. */
void	notify_clean(char *out, size_t len, const char *in);
/* notify_json_str - append s as a JSON string (quoted, escaped). */
int	notify_json_str(struct buf *, const char *s);

#endif
