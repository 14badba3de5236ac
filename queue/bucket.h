/*
 * bucket.h - per-site token buckets in state/bucket.tdb.
 *
 * On disk: one tdb record per site; key = the site name bytes (no NUL),
 * value = struct bucket_rec below (host byte order, version field first):
 * version 2 is the whole struct (136 bytes); version 1 (the first 64
 * bytes, one bucket, written by older releases) still loads, its balance
 * going to the site's first bucket.  A record of another size or version,
 * or with a non-finite number in it, is logged and treated as a fresh
 * bucket, never trusted.  Every update is a read-modify-write under the
 * record's tdb chain lock; sitemaild is the only writer besides the
 * admin's freeze and thaw.  No transactions, no fsync: the bucket is a
 * rate limiter, not a ledger; it can be rebuilt (deleted) at any time and
 * then starts full.
 *
 * Model: limits.rates is a list of rates (util/conf.h), one bucket each.
 * Bucket i refills at count[i] / period[i] tokens per second (bucket 0:
 * limits.rate, which util/conf.c sets to that) up to its
 * size (bucket 0: limits.burst; the others: count[i], "N per unit"
 * holds N).  A site without a record starts with every bucket full.  A
 * message costs one token per recipient in EVERY bucket, all or none: it
 * is SEND only when every bucket has the tokens, and a HOLD charges them
 * all, taking balances below zero.  The deficit is the largest -balance
 * over the buckets: the number of recipients waiting for tokens.  The
 * record's "tokens" is the lowest balance, what the next charge sees.
 * Buckets are matched to the configured rates by period, so editing the
 * list keeps the balance of a unit that stays; a new unit starts full.
 *
 * bucket_charge() verdicts, for a site that is not frozen:
 *   tokens - cost >= 0          SEND: charged, deliver now.
 *   deficit <= backlog          HOLD: charged, held until
 *                               hold = now + max(deficit_i / rate_i), the
 *                               moment every balance is back at zero.
 *   deficit >  backlog          REFUSED: NOT charged; the site is
 *                               auto-frozen (FROZEN|AUTO), just_frozen = 1.
 * For a frozen site (the tokens are not touched):
 *   auto-frozen                 REFUSED, always (exit 75 until a thaw).
 *   manually frozen             FROZEN_HOLD while frozen_waiting + cost <=
 *                               backlog (frozen_waiting += cost), else
 *                               REFUSED.
 *
 * Thaw and release: bucket_set_frozen(.., 0, ..) clears the flags and
 * frozen_waiting.  The runner then releases the messages it holds as
 * frozen-and-uncharged (verdict FROZEN_HOLD at intake) in arrival order,
 * calling bucket_charge_release() for each: that charges like
 * bucket_charge() but never refuses and never auto-freezes, so each
 * message gets SEND or HOLD with its hold time, in token order.  Messages
 * that were HOLD before a freeze were charged already and keep their hold
 * time.  The deficit left by a release may exceed backlog; the next
 * bucket_charge() then auto-freezes the site again, which is the point.
 *
 * Counters (for "sitemail sites"): charged = tokens charged (SEND + HOLD,
 * minus refunds); released, held, refused = messages per verdict
 * (FROZEN_HOLD counts as held).
 *
 * A struct bucket_db must not be used across fork(): open one per process.
 */
#ifndef SM_BUCKET_H
#define SM_BUCKET_H

#include <stdint.h>

#include "util/conf.h"

#define BUCKET_REC_VERSION 2
#define BUCKET_REC_V1	1		/* 64 bytes, one bucket */
#define BUCKET_REC_V1_SIZE 64
#define BUCKET_MAX	CONF_RATES_MAX
#define BUCKET_FILE	"state/bucket.tdb"	/* under spool_dir */
#define BUCKET_HOLD_MAX	(365.0 * 86400)	/* hold cap when rate <= 0 */

struct bucket_rec {
	uint32_t version;		/* BUCKET_REC_VERSION */
	uint32_t flags;			/* BUCKET_FROZEN, BUCKET_AUTO */
	double	 tokens;		/* lowest balance at 'stamp'; may be
					 * negative */
	double	 stamp;			/* unix time of the last refill */
	double	 frozen_waiting;	/* recipients accepted while frozen */
	double	 charged;		/* total tokens ever charged */
	uint64_t released;		/* messages released at once (SEND) */
	uint64_t held;			/* messages held (HOLD, FROZEN_HOLD) */
	uint64_t refused;		/* messages refused (REFUSED) */
	/* version 2 */
	uint32_t nb;			/* buckets below (0: all fresh) */
	uint32_t pad;
	double	 period[BUCKET_MAX];	/* each bucket's unit, seconds */
	double	 btokens[BUCKET_MAX];	/* each bucket's balance at 'stamp' */
};

#define BUCKET_FROZEN	0x01
#define BUCKET_AUTO	0x02		/* frozen automatically (backlog, or
					 * failures: queue/failstat.h) */

enum bucket_verdict {
	BUCKET_SEND,			/* tokens were there: release now */
	BUCKET_HOLD,			/* accepted, held until 'hold' */
	BUCKET_FROZEN_HOLD,		/* site frozen: accepted, held */
	BUCKET_REFUSED			/* frozen or past its backlog: exit 75 */
};

struct bucket_result {
	enum bucket_verdict verdict;
	double	 hold;			/* unix time the hold ends (HOLD), else 0 */
	double	 tokens;		/* lowest balance after the charge */
	double	 backlog;		/* recipients waiting after the charge:
					 * the deficit (SEND/HOLD), the deficit
					 * that was refused (REFUSED by backlog),
					 * or frozen_waiting (frozen site) */
	int	 just_frozen;		/* this charge triggered auto-freeze */
	uint32_t flags;			/* the site's flags after the charge */
};

struct bucket_db;

/* bucket_open - open (creating, mode 0660) spool_dir/state/bucket.tdb. */
int	bucket_open(struct bucket_db **, const char *spool_dir);
/* bucket_open_path - the same for an explicit file name (tests, tools). */
int	bucket_open_path(struct bucket_db **, const char *path);
/* bucket_close - close the database (NULL is fine). */
void	bucket_close(struct bucket_db *);
/* bucket_charge - atomically charge cost tokens to site at time now. */
int	bucket_charge(struct bucket_db *, const char *site,
	    const struct conf_limits *, double cost, double now,
	    struct bucket_result *);
/* bucket_charge_release - charge a thawed message: SEND or HOLD, never
 * REFUSED; FROZEN_HOLD (uncharged, counted in frozen_waiting) if the site
 * is frozen again. */
int	bucket_charge_release(struct bucket_db *, const char *site,
	    const struct conf_limits *, double cost, double now,
	    struct bucket_result *);
/* bucket_refund - undo a charge whose message was not committed; verdict
 * is what bucket_charge() said (SEND/HOLD give tokens back, FROZEN_HOLD
 * lowers frozen_waiting, REFUSED does nothing). */
int	bucket_refund(struct bucket_db *, const char *site,
	    const struct conf_limits *, enum bucket_verdict, double cost,
	    double now);
/* bucket_get - the refilled record of site at time now (no change); a
 * site without a record reads as a fresh, full bucket. */
int	bucket_get(struct bucket_db *, const char *site,
	    const struct conf_limits *, double now, struct bucket_rec *);
/* bucket_set_frozen - freeze (automatic: FROZEN|AUTO, else FROZEN) or thaw
 * (clears flags and frozen_waiting).  Freezing a frozen site keeps its
 * frozen_waiting, and only ever adds AUTO. */
int	bucket_set_frozen(struct bucket_db *, const char *site, int frozen,
	    int automatic);
/* bucket_sites - call fn for every site with a valid record (raw, not
 * refilled: use bucket_get() with the site's limits for the balance).  A
 * non-zero return from fn stops the walk and is returned. */
int	bucket_sites(struct bucket_db *, int (*fn)(void *, const char *site,
	    const struct bucket_rec *), void *);

#endif
