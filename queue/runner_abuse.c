/*
 * runner_abuse.c - the runner's failure-ratio auto-freeze: every result a
 * server gave for a recipient is counted per site over a sliding hour
 * (queue/failstat.h), and a site past max_fail_ratio, or refused as spam,
 * is auto-frozen with the effects of a backlog freeze: FROZEN|AUTO in
 * bucket.tdb (intake refuses its mail with 75), an "auto" freeze marker
 * (its queued mail is held, a rebuilt bucket.tdb keeps the freeze), one
 * log line and one notify event (notice to alert_to and the owner,
 * webhook: queue/notify.h).
 */
#include <stdio.h>
#include <string.h>

#include "queue/bucket.h"
#include "queue/charge.h"
#include "queue/failstat.h"
#include "queue/freeze.h"
#include "queue/notify.h"
#include "queue/runner_int.h"
#include "queue/site.h"
#include "util/msg.h"

/* runner_abuse_event - the notify event of a failure freeze: trigger
 * "fail_ratio" or "spam", the hour's counts, why in words. */
static void
runner_abuse_event(const struct qrec *rec, const char *trigger,
    const struct failstat_fig *fig, const char *why)
{
	struct notify_ev ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = NOTIFY_FREEZE;
	ev.site = rec->site;
	ev.uid = rec->uid;
	ev.trigger = trigger;
	ev.fig[0].name = "sent";
	ev.fig[0].value = fig->sent;
	ev.fig[1].name = "bounced";
	ev.fig[1].value = fig->bounced;
	ev.fig[2].name = "refused_policy";
	ev.fig[2].value = fig->policy;
	ev.nfig = 3;
	ev.detail = why;
	notify_event(&ev);
}

/* runner_abuse_freeze - auto-freeze site (unless it is auto-frozen
 * already) and say why once: a log line, then the notify event. */
static void
runner_abuse_freeze(struct runner *r, const struct qrec *rec,
    const char *trigger, const struct failstat_fig *fig, const char *why)
{
	char	 cwhy[RELAY_TEXT_MAX + 320];
	size_t	 i;

	failstat_forget(r->fails, rec->site);
	if (freeze_site_get(r->conf->spool_dir, rec->site) == 2)
		return;
	if (freeze_site_set(r->conf->spool_dir, rec->site, 2) != 0)
		log_warn("site %s: %s", rec->site, err_str());
	if (bucket_set_frozen(r->bdb, rec->site, 1, 1) != 0)
		log_warn("site %s: %s", rec->site, err_str());
	for (i = 0; i < r->nsites; i++)		/* no cached "not frozen" */
		if (strcmp(r->sites[i].name, rec->site) == 0)
			r->sites[i].checked = 0;
	notify_clean(cwhy, sizeof(cwhy), why);
	log_warn("site %s: auto-frozen: %s (uid %lu)", rec->site, cwhy,
	    (unsigned long)rec->uid);
	runner_abuse_event(rec, trigger, fig, cwhy);
}

/* runner_abuse_note - count result res of a recipient of m for its
 * site; freeze the site when it crosses a limit. */
void
runner_abuse_note(struct runner *r, const struct rmsg *m,
    const struct relay_rcpt_result *res)
{
	struct conf_limits lim;
	struct failstat_fig fig;
	enum failstat_kind kind;
	char	 figures[256], why[RELAY_TEXT_MAX + 320];

	/* sitemail's own DSNs and alerts are not the site's mail. */
	if (m->rec.site == NULL || strcmp(m->rec.site, SITE_SYSTEM) == 0 ||
	    (m->rec.flags & (SPOOL_F_BOUNCE | SPOOL_F_ALERT)) ||
	    (kind = failstat_classify(res->code, res->dsn, res->stage,
	    res->text)) == FAILSTAT_NONE)
		return;
	if (r->fails == NULL && (r->fails = failstat_new()) == NULL)
		return;
	site_limits(r->conf, m->rec.site, &lim);
	switch (failstat_add(r->fails, m->rec.site, kind, time(NULL), &lim,
	    &fig)) {
	case FAILSTAT_RATIO:
		failstat_figures(&fig, &lim, figures, sizeof(figures));
		snprintf(why, sizeof(why), "fail ratio %s", figures);
		runner_abuse_freeze(r, &m->rec, "fail_ratio", &fig, why);
		break;
	case FAILSTAT_SPAM:
		failstat_figures(&fig, &lim, figures, sizeof(figures));
		snprintf(why, sizeof(why), "refused as spam (%s) %s",
		    res->text, figures);
		runner_abuse_freeze(r, &m->rec, "spam", &fig, why);
		break;
	default:
		break;
	}
}
