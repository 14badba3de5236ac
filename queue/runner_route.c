/*
 * runner_route.c - routing of the runner's messages through the DNS
 * workers (routeq.h), parking, and the sites of new files.
 *
 * Routing runs in two steps.  msg_route() first gathers a decision for
 * every due recipient from routeq_get(); while any is still being looked
 * up, the message is parked: it keeps its spool file open and locked, uses
 * no connection slot, and nothing about it is decided or logged yet.  When
 * routeq reports answers, runner_resume() asks again for the parked
 * messages; once every decision is there, the second step applies them all
 * at once (bounces and deferrals as results, the rest as relay jobs) and
 * the message goes in flight.  A site has at most RUNNER_SITE_PARKED
 * messages parked (the scheduler skips it meanwhile), so its slow DNS
 * holds neither the slots nor the other sites' turns.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/runner_int.h"
#include "queue/site.h"
#include "util/msg.h"

/* runner_route_open - the route context and its DNS workers. */
int
runner_route_open(struct runner *r)
{
	struct route_ctx *ctx;
	int	 rc;

	if ((rc = route_open(&ctx, r->conf)) != 0)
		return rc;
	return routeq_open(&r->rq, ctx);
}

/* runner_verify - one line on how address would be routed now, from the
 * DNS cache only (never a query: sendmail -bv waits on it). */
int
runner_verify(struct runner *r, const char *address, struct buf *out)
{
	struct route_decision d;
	struct route_ctx *ctx;
	int	 rc;

	if ((rc = route_clone_cached(routeq_route(r->rq), &ctx)) != 0)
		return rc;
	if ((rc = route_address(ctx, address, &d)) == 0) {
		if (d.kind == ROUTE_DEFER && route_cached_misses(ctx) > 0)
			rc = buf_printf(out, "deliverable: routed by MX at "
			    "delivery (%s)", d.reason);
		else if (d.kind == ROUTE_SMARTHOST || d.kind == ROUTE_LOCAL)
			rc = buf_printf(out, "deliverable: %s (%s)",
			    d.kind == ROUTE_LOCAL ? "local transport" :
			    "through the smarthost", d.reason);
		else
			rc = buf_printf(out, "%s: %s %s", d.kind ==
			    ROUTE_BOUNCE ? "undeliverable" : "deliverable "
			    "later, deferred now", d.dsn, d.reason);
		rc = rc < 0 ? err_set(EX_SOFTWARE, "answer too long") : 0;
	}
	route_decision_free(&d);
	route_close(ctx);
	return rc;
}

/* runner_site_cap - the connection slots one site may hold while others
 * wait: [smarthost] site_connections, default half of connections. */
unsigned
runner_site_cap(const struct runner *r)
{
	unsigned n = r->conf->site_connections;

	if (n == 0)
		n = r->conf->connections / 2;
	return n > 0 ? n : 1;
}

/* msg_job - the job of m for (kind, auth), made when missing. */
static struct rjob *
msg_job(struct rmsg *m, int kind, const struct relay_auth *auth)
{
	struct rjob *j;
	size_t	 i;

	for (i = 0; i < m->njobs; i++) {
		j = &m->jobs[i];
		if (j->kind == kind && j->job.auth.username == auth->username &&
		    j->job.auth.password == auth->password)
			return j;
	}
	j = &m->jobs[m->njobs++];
	memset(j, 0, sizeof(*j));
	j->kind = kind;
	j->m = m;
	j->job.auth = *auth;
	if ((j->idx = calloc(m->rec.nr, sizeof(*j->idx))) == NULL ||
	    (j->rcpt = calloc(m->rec.nr, sizeof(*j->rcpt))) == NULL ||
	    (j->res = calloc(m->rec.nr, sizeof(*j->res))) == NULL)
		return NULL;
	return j;
}

/* msg_route_apply - recipient i by its decision: a job, or a result. */
static int
msg_route_apply(struct runner *r, struct rmsg *m, size_t i,
    const struct relay_auth *auth, int auth_rc, const char *auth_why)
{
	const struct routeq_dec *d = &m->dec[i];
	struct rjob *j;

	const struct relay_route *rt = d->kind == ROUTE_LOCAL ? &r->local :
	    &r->smarthost;
	time_t	 down;

	m->note[i] = runner_clean(d->note);
	if (d->kind == ROUTE_BOUNCE || d->kind == ROUTE_DEFER) {
		rcpt_result(r, m, i, d->kind == ROUTE_BOUNCE &&
		    !r->conf->soft_bounce ? QR_BOUNCED : QR_DEFERRED, d->dsn,
		    d->reason, NULL);
		return 0;
	}
	if ((down = runner_health_down(r, rt)) != 0 ||
	    (r->health[rt == &r->local].down &&
	    r->health[rt == &r->local].probe != NULL &&
	    (down = runner_requeue_until(r, rt)) != 0)) {
		runner_requeue(r, m, i, down, "4.4.1", "delivery temporarily "
		    "suspended: every URL of the route is unreachable", NULL);
		return 0;
	}
	if (d->kind == ROUTE_LOCAL) {
		if (r->local.nurls == 0) {
			rcpt_result(r, m, i, QR_DEFERRED, "4.3.5", "mail for "
			    "this host, but no [local] transport is configured",
			    NULL);
			return 0;
		}
		j = msg_job(m, ROUTE_LOCAL, &(struct relay_auth){ NULL, NULL });
	} else {
		if (r->smarthost.nurls == 0) {
			rcpt_result(r, m, i, QR_DEFERRED, "4.3.5", "no "
			    "[smarthost] url is configured", NULL);
			return 0;
		}
		if (auth_rc != 0) {
			rcpt_result(r, m, i, QR_DEFERRED, "4.3.5", auth_why,
			    NULL);
			return 0;
		}
		j = msg_job(m, ROUTE_SMARTHOST, auth);
	}
	if (j == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	j->idx[j->n] = i;
	j->rcpt[j->n++] = m->rec.r[i].addr;
	return 0;
}

/* msg_route_gather - ask for the decision of every due recipient that has
 * none yet; 1 when all are there. */
static int
msg_route_gather(struct runner *r, struct rmsg *m, time_t now)
{
	size_t	 i;
	int	 ready = 1;

	for (i = 0; i < m->rec.nr; i++) {
		if (!rec_rcpt_due(&m->rec.r[i], now) || m->have[i])
			continue;
		if (routeq_get(r->rq, m->rec.site, m->rec.r[i].addr,
		    &m->dec[i]))
			m->have[i] = 1;
		else
			ready = 0;
	}
	return ready;
}

/* msg_route - route every due recipient of m into jobs; 1 = parked. */
int
msg_route(struct runner *r, struct rmsg *m)
{
	struct relay_auth auth;
	char	 auth_why[300] = "";
	time_t	 now = time(NULL);
	size_t	 i;
	int	 auth_rc, rc;

	if (m->dec == NULL &&
	    ((m->dec = calloc(m->rec.nr, sizeof(*m->dec))) == NULL ||
	    (m->have = calloc(m->rec.nr, 1)) == NULL))
		return err_set(EX_TEMPFAIL, "out of memory");
	if (!msg_route_gather(r, m, now))
		return 1;
	/* At most one job per route kind and credentials: two kinds. */
	if ((m->jobs = calloc(2, sizeof(*m->jobs))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	auth_rc = runner_auth(r, m->rec.site, &auth);
	if (auth_rc != 0) {
		snprintf(auth_why, sizeof(auth_why), "%s", err_str());
		log_error("%s: site %s: %s", m->rec.qid, m->rec.site,
		    auth_why);
	}
	for (i = 0; i < m->rec.nr; i++) {
		if (!m->have[i])
			continue;
		if ((rc = msg_route_apply(r, m, i, &auth, auth_rc,
		    auth_why)) != 0)
			return rc;
	}
	free(m->dec);
	free(m->have);
	m->dec = NULL;
	m->have = NULL;
	return 0;
}

/* runner_park - keep m until DNS answers (last in line: parked messages
 * resume in the order they were started). */
void
runner_park(struct runner *r, struct rmsg *m)
{
	m->next = NULL;
	m->prev = r->parked_tail;
	if (r->parked_tail)
		r->parked_tail->next = m;
	else
		r->parked = m;
	r->parked_tail = m;
	r->nparked++;
	sched_parked(m->ss, 1);
}

/* runner_unpark - take m off the parked list. */
static void
runner_unpark(struct runner *r, struct rmsg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		r->parked = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		r->parked_tail = m->prev;
	m->prev = m->next = NULL;
	r->nparked--;
	sched_parked(m->ss, -1);
}

/* runner_resume - route the parked messages again once answers came. */
void
runner_resume(struct runner *r)
{
	struct rmsg *m, *next;
	int	 rc;

	if (r->nparked == 0 || !routeq_events(r->rq))
		return;
	for (m = r->parked; m != NULL; m = next) {
		next = m->next;
		if ((rc = msg_route(r, m)) == 1)
			continue;
		runner_unpark(r, m);
		if (rc != 0) {
			log_error("%s: %s", m->rec.qid, err_str());
			rmsg_free(m);
		} else
			runner_launch(r, m);
	}
}

/* runner_unpark_all - drop every parked message: nothing was decided
 * for them yet, so they stay queued as they were. */
void
runner_unpark_all(struct runner *r)
{
	struct rmsg *m;

	while ((m = r->parked) != NULL) {
		runner_unpark(r, m);
		rmsg_free(m);
	}
}

/* runner_uid_site - the site of a file owner (remembered until the next
 * scan). */
static const char *
runner_uid_site(struct runner *r, uid_t uid)
{
	struct runner_uidsite *u = &r->uidsite[uid % RUNNER_UIDSITE_SLOTS];
	struct site_id id;

	if (u->used && u->uid == uid)
		return u->name;
	if (site_identify(r->conf, uid, &id) != 0)
		return SITE_SYSTEM;
	u->uid = uid;
	u->used = 1;
	snprintf(u->name, sizeof(u->name), "%s", id.name);
	return u->name;
}

/* runner_due_add - queue a new file under its site: the one in its
 * record; while there is none yet, the one intake's verdict charged (the
 * listener's files all belong to the runner user); else the site of the
 * file's owner. */
int
runner_due_add(struct runner *r, const char *qid)
{
	struct qrec rec;
	struct stat st;
	const char *site;
	int	 rc;

	if (qstate_get(r->qs, qid, &rec) == 0) {
		rc = sched_add(r->sched, rec.site, qid);
		qrec_free(&rec);
		return rc;
	}
	if ((site = charge_site(r->book, qid)) != NULL)
		return sched_add(r->sched, site, qid);
	if (fstatat(r->queuefd, qid, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;		/* gone already */
	return sched_add(r->sched, runner_uid_site(r, st.st_uid), qid);
}
