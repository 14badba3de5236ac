/*
 * metrics.h - the Prometheus textfile of [notify] metrics, kept and
 * written by sitemaild only (format owned by queue/metrics.c).
 *
 * Counters (since sitemaild started, per site; label site="NAME"):
 *	sitemail_accepted_total		messages indexed ("queued:" lines)
 *	sitemail_sent_total		recipient results "status=sent"
 *	sitemail_deferred_total		... "status=deferred"
 *	sitemail_bounced_total		... "status=bounced"
 *	sitemail_frozen_total		freeze events (notify.h)
 *	sitemail_held_total		messages held by the rate limit or a
 *					freeze, from bucket.tdb (its lifetime)
 *	sitemail_refused_total		messages refused at intake (frozen
 *					past the backlog), from bucket.tdb
 * Gauges (per site): sitemail_queue_messages, sitemail_queue_bytes (the
 * last usage walk, every RUNNER_TICK s), sitemail_tokens (the bucket
 * balance), sitemail_frozen (0/1).  Global gauges:
 * sitemail_oldest_queued_seconds (age of the oldest file in queue/) and
 * sitemail_quarantine_messages (files in quarantine/).
 *
 * The file is rewritten at most every METRICS_EVERY seconds: written to
 * DIR/.NAME.tmp, fsync'd, renamed over NAME, so a reader sees the old
 * file or the new one, never part of one.
 */
#ifndef SM_METRICS_H
#define SM_METRICS_H

#include <stdint.h>
#include <time.h>

#include "util/conf.h"

#define METRICS_EVERY	5		/* seconds between rewrites */

enum metrics_ctr {
	METRICS_ACCEPTED,
	METRICS_SENT,
	METRICS_DEFERRED,
	METRICS_BOUNCED,
	METRICS_FROZEN,
	METRICS_CTRS
};

struct bucket_db;

/* metrics_count - add n to a counter of site. */
void	metrics_count(const char *site, enum metrics_ctr, unsigned n);
/* metrics_usage_begin - a usage walk starts: zero the queue gauges. */
void	metrics_usage_begin(void);
/* metrics_usage - one site's share of the walk. */
void	metrics_usage(const char *site, uint64_t bytes, unsigned msgs);
/* metrics_oldest - the oldest queue file's mtime (0: none). */
void	metrics_oldest(time_t);
/* metrics_write - rewrite conf's metrics file if METRICS_EVERY has
 * passed (force: now); bdb (may be NULL) gives tokens, held, refused. */
int	metrics_write(const struct conf *, struct bucket_db *, time_t now,
	    int force);
/* metrics_label - append value escaped for a label (\\, \", \n). */
struct buf;
int	metrics_label(struct buf *, const char *value);
/* metrics_free - forget every site. */
void	metrics_free(void);

#endif
