/*
 * failstat.h - each site's delivery results over a sliding hour, for the
 * failure-ratio auto-freeze (shared/DESIGN.md "Abuse signals").
 *
 * sitemaild counts every recipient result an SMTP server gave (the
 * smarthost or the local transport): sent (2xx), bounced (5xx to RCPT,
 * not 5.7.x) and refused for policy (5.7.x, or 5xx to MAIL FROM or DATA).
 * Session failures (connect, TLS, AUTH, timeouts) and 4xx replies are not
 * counted, nor are sitemail's own DSNs and alerts (runner_abuse.c).
 * The counts live in sitemaild's memory only, in one-minute
 * slots (FAILSTAT_SLOTS of them), so "the last hour" is the last 59 to 60
 * minutes; a restart forgets them (the worst case is a site that gets up
 * to another hour before it is frozen).
 *
 * failstat_add() says when a site is to be frozen:
 *   FAILSTAT_RATIO  failures >= min_fail_count (at least 1) and
 *                   failures > max_fail_ratio * counted, with
 *                   max_fail_ratio < 1 (100% never freezes);
 *   FAILSTAT_SPAM   a policy refusal whose text mentions spam (any case),
 *                   e.g. "550 5.7.1 message refused as spam": at once.
 * The caller freezes the site and calls failstat_forget(), so a thawed
 * site starts a fresh hour.
 */
#ifndef SM_FAILSTAT_H
#define SM_FAILSTAT_H

#include <stddef.h>
#include <time.h>

#include "util/conf.h"

#define FAILSTAT_SLOT	60		/* seconds per slot */
#define FAILSTAT_SLOTS	60		/* slots in the window: one hour */

/* One result, as failstat_classify() sees it. */
enum failstat_kind {
	FAILSTAT_NONE,			/* not counted (4xx, session) */
	FAILSTAT_SENT,
	FAILSTAT_BOUNCED,		/* 5xx for the recipient */
	FAILSTAT_POLICY,		/* 5.7.x, or 5xx to MAIL or DATA */
	FAILSTAT_SPAMMED		/* a policy refusal naming spam */
};

/* What failstat_add() decided. */
enum failstat_verdict {
	FAILSTAT_OK,
	FAILSTAT_RATIO,			/* over max_fail_ratio */
	FAILSTAT_SPAM			/* refused as spam */
};

/* A site's counts over the window. */
struct failstat_fig {
	unsigned sent, bounced, policy;
};

struct failstat;

/* failstat_new - empty counters (NULL when out of memory). */
struct failstat *failstat_new(void);
/* failstat_free - release them (NULL is fine). */
void	failstat_free(struct failstat *);
/* failstat_classify - the kind of one server reply: its code, enhanced
 * status, the command it answered ('M', 'R', 'D', or 0) and its text. */
enum failstat_kind failstat_classify(int code, const char *dsn, char stage,
	    const char *text);
/* failstat_add - count one result of site at time now; fig gets the
 * site's counts after it.  Returns a failstat_verdict. */
enum failstat_verdict failstat_add(struct failstat *, const char *site,
	    enum failstat_kind, time_t now, const struct conf_limits *,
	    struct failstat_fig *fig);
/* failstat_get - the site's counts at time now (zero when unknown). */
void	failstat_get(const struct failstat *, const char *site, time_t now,
	    struct failstat_fig *fig);
/* failstat_forget - drop the site's counts (it was just frozen). */
void	failstat_forget(struct failstat *, const char *site);
/* failstat_figures - "20/30 in 1h (max 50%, min 20)" and the split. */
void	failstat_figures(const struct failstat_fig *,
	    const struct conf_limits *, char *out, size_t len);

#endif
