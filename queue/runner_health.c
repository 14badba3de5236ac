/*
 * runner_health.c - what the runner knows about its relay routes (the
 * smarthost URLs, the local transport): which URLs are dead, and whether
 * the whole route is down.
 *
 * A URL is dead after a job found it unreachable (relay.h: connect failed
 * or timed out, no or a refusing greeting, a reply timed out), for a
 * back-off that starts at retry_min and doubles up to retry_max while it
 * keeps failing.  New jobs skip dead URLs (job->skip), so fallback is used
 * at once and no slot waits on a known-dead host.  When a URL's back-off
 * ends, one job (its probe) tries it again while the others keep skipping
 * it until that job has an answer: a host that accepts and stays silent
 * costs one slot per back-off, not every slot.  When every URL of a
 * route is dead, the route is down: recipients for it are requeued
 * without a connection and without counting an attempt, until the first
 * URL's back-off ends; then one job (the probe) tries again while the
 * others keep waiting, until it has an answer.  So 10,000 queued
 * messages cost one connection attempt per back-off, not 10,000.  A
 * session failure that is not the recipients' fault (job->requeue) is
 * requeued the same way.  The change of state is logged once:
 *	route smarthost down: every URL is unreachable (WHY); retry in Ns
 *	route smarthost up: URL answered
 * State is in memory only: a restarted runner tries again at once.
 */
#include <stdio.h>
#include <string.h>

#include "queue/runner_int.h"
#include "util/msg.h"

#define RUNNER_HEALTH_URLS	32

/* runner_health_of - the state of a route (smarthost or local). */
static struct runner_health *
runner_health_of(struct runner *r, const struct relay_route *rt)
{
	return rt == &r->local ? &r->health[1] : &r->health[0];
}

/* runner_health_name - "smarthost" or "local". */
static const char *
runner_health_name(struct runner *r, const struct relay_route *rt)
{
	return rt == &r->local ? "local" : "smarthost";
}

/* runner_health_skip - the URLs job is to pass over (bit i): those dead
 * now, and those back from a back-off that another job is trying again;
 * job becomes the probe of such a URL when none is. */
unsigned
runner_health_skip(struct runner *r, const struct relay_job *job)
{
	const struct relay_route *rt = job->route;
	struct runner_health *h = runner_health_of(r, rt);
	time_t	 now = time(NULL);
	unsigned skip = 0;
	size_t	 i;

	for (i = 0; i < rt->nurls && i < RUNNER_HEALTH_URLS; i++) {
		if (h->until[i] > now)
			skip |= 1u << i;
		else if (h->fails[i] > 0 && h->uprobe[i] != NULL &&
		    h->uprobe[i] != job)
			skip |= 1u << i;
		else if (h->fails[i] > 0)
			h->uprobe[i] = job;
	}
	return skip;
}

/* runner_health_down - when rt is down, the time its first URL may be
 * tried again; else 0. */
time_t
runner_health_down(struct runner *r, const struct relay_route *rt)
{
	struct runner_health *h = runner_health_of(r, rt);
	time_t	 now = time(NULL), t = 0;
	size_t	 i;

	if (rt->nurls == 0)
		return 0;
	for (i = 0; i < rt->nurls && i < RUNNER_HEALTH_URLS; i++) {
		if (h->until[i] <= now)
			return 0;
		if (t == 0 || h->until[i] < t)
			t = h->until[i];
	}
	return t;
}

/* runner_health_backoff - the wait after n failures in a row. */
static long
runner_health_backoff(const struct runner *r, unsigned n)
{
	long	 d = r->conf->retry_min > 0 ? r->conf->retry_min : 1;
	long	 max = r->conf->retry_max > d ? r->conf->retry_max : d;

	while (n-- > 1 && d < max)
		d *= 2;
	return d < max ? d : max;
}

/* runner_health_job - learn from a finished job; log a route going down
 * or coming up. */
void
runner_health_job(struct runner *r, const struct relay_job *job)
{
	const struct relay_route *rt = job->route;
	struct runner_health *h = runner_health_of(r, rt);
	time_t	 now = time(NULL), until;
	size_t	 i;

	if (h->probe == job)
		h->probe = NULL;
	for (i = 0; i < rt->nurls && i < RUNNER_HEALTH_URLS; i++) {
		if (h->uprobe[i] == job)
			h->uprobe[i] = NULL;
		if (!(job->dead & (1u << i)))
			continue;
		h->fails[i]++;
		h->until[i] = now + runner_health_backoff(r, h->fails[i]);
	}
	if (job->url_ok >= 0 && job->url_ok < RUNNER_HEALTH_URLS) {
		h->fails[job->url_ok] = 0;
		h->until[job->url_ok] = 0;
		if (h->down)
			log_info("route %s up: %s answered",
			    runner_health_name(r, rt), rt->urls[job->url_ok]);
		h->down = 0;
	}
	if (!h->down && job->dead && (until = runner_health_down(r, rt))) {
		h->down = 1;
		log_warn("route %s down: every URL is unreachable (%s); retry "
		    "in %lds", runner_health_name(r, rt), job->session_text,
		    (long)(until - now));
	}
}

/* runner_requeue - recipient i goes back to the queue until the given
 * time, without an attempt counted against it (logged as deferred). */
void
runner_requeue(struct runner *r, struct rmsg *m, size_t i, time_t until,
    const char *dsn, const char *why, const char *relay)
{
	struct qrcpt *q = &m->rec.r[i];
	unsigned attempts = q->attempts;

	rcpt_result(r, m, i, QR_DEFERRED, dsn, why, relay);
	q->attempts = attempts;
	q->next_try = until > time(NULL) ? until : time(NULL) + 1;
	runner_due_at(r, q->next_try);
}

/* runner_requeue_until - when requeued recipients of rt are due again. */
time_t
runner_requeue_until(struct runner *r, const struct relay_route *rt)
{
	time_t	 t = runner_health_down(r, rt);

	return t ? t : time(NULL) + runner_health_backoff(r, 1);
}

/* runner_health_gate - at submit: a job for a route that went down
 * meanwhile is finished here as requeued (1), without connecting; else
 * its dead URLs are marked to be skipped (0). */
int
runner_health_gate(struct runner *r, struct relay_job *job)
{
	struct runner_health *h = runner_health_of(r, job->route);
	size_t	 k;

	if (runner_health_down(r, job->route) == 0 &&
	    (!h->down || h->probe == NULL)) {
		if (h->down)
			h->probe = job;	/* back-off over: one job tries */
		job->skip = runner_health_skip(r, job);
		return 0;
	}
	job->session_failed = 1;
	job->requeue = 1;
	job->dead = 0;
	job->url_ok = -1;
	snprintf(job->session_text, sizeof(job->session_text), "delivery "
	    "temporarily suspended: route %s is down",
	    runner_health_name(r, job->route));
	for (k = 0; k < job->nrcpt; k++) {
		job->result[k].code = 421;
		snprintf(job->result[k].dsn, sizeof(job->result[k].dsn),
		    "4.4.1");
		snprintf(job->result[k].text, sizeof(job->result[k].text),
		    "%s", job->session_text);
	}
	return 1;
}
