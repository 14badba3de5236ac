/*
 * routeq.c - routing decisions on DNS worker threads; see routeq.h.
 *
 * State, all under q->lock: a hash table of domains (entries queued,
 * running or done), a list of the sites that asked, each with its FIFO of
 * queued domains, its running count and its DNS time in the current
 * window, and a shared FIFO of domains that a second site asked for while
 * they were still queued under the first.  Workers take the shared FIFO
 * first (no site's share is charged: the answer serves several), then
 * pick round-robin over the sites; each has a route context of its own
 * (route_clone: own resolver, shared cache).  A worker that finishes
 * writes to an eventfd, which the runner reads.
 *
 * So a site whose own queue is long (a tarpit) never delays another
 * site's lookup of a domain both want, and its "share used up" deferral
 * is its own: another site asking for that domain gets a real lookup.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "queue/relay.h"
#include "queue/routeq.h"
#include "util/buf.h"
#include "util/msg.h"

#define RQ_HASH		4096
#define RQ_SWEEP	60	/* seconds between sweeps of old entries */
#define RQ_JOIN_MS	1000	/* close: the wait for busy workers */

enum rq_state { RQ_QUEUED, RQ_RUNNING, RQ_DONE };

struct rq_site;

/* One domain. */
struct rq_entry {
	struct rq_entry *hnext;		/* hash chain */
	struct rq_entry *qnext;		/* its site's queue */
	char	*domain;
	struct rq_site *site;		/* who queued it; NULL: shared or done */
	enum rq_state state;
	int	 fresh;			/* done, not handed out yet */
	struct rq_site *only;		/* a decision for this site only */
	time_t	 expires;
	struct routeq_dec dec;
};

/* One site that asked. */
struct rq_site {
	struct rq_site *next;
	char	*name;
	struct rq_entry *head, *tail;
	unsigned running;
	double	 used;			/* worker seconds in this window */
	time_t	 window;		/* start of the window */
};

struct routeq {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int	 efd;
	struct route_ctx *route;
	pthread_t th[ROUTEQ_THREADS];
	int	 nth, alive, stop, orphaned;
	struct rq_entry *hash[RQ_HASH];
	struct rq_site *sites, *rr;
	struct rq_entry *shead, *stail;	/* wanted by two sites or more */
	unsigned pending;
	unsigned busy;			/* lookups running */
	time_t	 swept;
};

/* One worker's start arguments. */
struct rq_worker {
	struct routeq *q;
	struct route_ctx *ctx;
};

/* rq_mono - a monotonic clock in seconds. */
static double
rq_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* rq_hash - FNV-1a over a lower-case domain. */
static unsigned
rq_hash(const char *d)
{
	unsigned h = 2166136261u;

	for (; *d; d++)
		h = (h ^ (unsigned char)*d) * 16777619u;
	return h % RQ_HASH;
}

/* rq_domain - the normalised domain of address into out, or 0 when the
 * address needs no DNS (no domain, a literal, non-ASCII). */
static int
rq_domain(const char *address, char *out, size_t len)
{
	const char *at = strrchr(address, '@'), *p;
	size_t	 n = 0;

	if (at == NULL || at[1] == '\0' || at[1] == '[')
		return 0;
	for (p = at + 1; *p && n + 1 < len; p++) {
		if ((unsigned char)*p >= 0x80 || *p == '>')
			return 0;
		out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	}
	if (*p != '\0')
		return 0;
	while (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return n > 0;
}

/* rq_fill - a routeq_dec from a route decision; its time to live. */
static long
rq_fill(const struct route_decision *d, struct routeq_dec *out)
{
	struct buf b;

	memset(out, 0, sizeof(*out));
	out->kind = d->kind;
	snprintf(out->dsn, sizeof(out->dsn), "%s", d->dsn);
	snprintf(out->reason, sizeof(out->reason), "%s", d->reason);
	buf_init(&b, sizeof(out->note));
	(void)buf_addstr(&b, route_kind_name(d->kind));
	if (d->kind == ROUTE_LOCAL && d->mx_host)
		(void)buf_printf(&b, " mx=%s", d->mx_host);
	snprintf(out->note, sizeof(out->note), "%s", buf_str(&b));
	buf_free(&b);
	relay_sanitize(out->note);
	relay_sanitize(out->reason);
	if (d->kind == ROUTE_DEFER)
		return ROUTEQ_DEFER_TTL;
	return d->ttl < 0 || d->ttl > ROUTEQ_TTL ? ROUTEQ_TTL : d->ttl;
}

/* rq_decide - route one address on ctx into out; its time to live. */
static long
rq_decide(struct route_ctx *ctx, const char *address, struct routeq_dec *out)
{
	struct route_decision d;
	long	 ttl;

	memset(&d, 0, sizeof(d));
	if (route_address(ctx, address, &d) != 0) {
		memset(out, 0, sizeof(*out));
		out->kind = ROUTE_DEFER;
		snprintf(out->dsn, sizeof(out->dsn), "4.3.0");
		snprintf(out->reason, sizeof(out->reason), "routing failed: "
		    "%s", err_str());
		relay_sanitize(out->reason);
		ttl = 0;
	} else
		ttl = rq_fill(&d, out);
	route_decision_free(&d);
	return ttl;
}

/* rq_site_find - the site record of name, made when missing. */
static struct rq_site *
rq_site_find(struct routeq *q, const char *name)
{
	struct rq_site *s;

	for (s = q->sites; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->name = strdup(name)) == NULL) {
		free(s);
		return NULL;
	}
	s->next = q->sites;
	q->sites = s;
	return s;
}

/* rq_may_run - 1 if site s may start one more lookup now: under its
 * in-flight limit, and a second one only while ROUTEQ_RESERVE workers stay
 * free for the other sites. */
static int
rq_may_run(const struct routeq *q, const struct rq_site *s)
{
	if (s->running >= ROUTEQ_SITE_INFLIGHT)
		return 0;
	return s->running == 0 ||
	    q->busy + 1 + ROUTEQ_RESERVE <= (unsigned)q->nth;
}

/* rq_pick - the next queued entry: the shared FIFO first, then
 * round-robin over the sites that may run one more lookup; NULL if none. */
static struct rq_entry *
rq_pick(struct routeq *q)
{
	struct rq_site *s = q->rr ? q->rr->next : NULL;
	struct rq_entry *e;
	int	 pass;

	if ((e = q->shead) != NULL) {
		if ((q->shead = e->qnext) == NULL)
			q->stail = NULL;
		e->qnext = NULL;
		return e;
	}
	for (pass = 0; pass < 2; pass++) {
		for (; s != NULL; s = s->next) {
			if (s->head == NULL || !rq_may_run(q, s))
				continue;
			e = s->head;
			if ((s->head = e->qnext) == NULL)
				s->tail = NULL;
			e->qnext = NULL;
			q->rr = s;
			return e;
		}
		s = q->sites;
	}
	return NULL;
}

/* rq_done - an entry's decision is in (under the lock). */
static void
rq_done(struct routeq *q, struct rq_entry *e, long ttl)
{
	uint64_t one = 1;

	e->state = RQ_DONE;
	e->fresh = 1;
	e->expires = time(NULL) + (ttl > 0 ? ttl : 0);
	e->site = NULL;
	q->pending--;
	(void)!write(q->efd, &one, sizeof(one));
}

/* rq_over_budget - 1 if site s used its DNS time in this window. */
static int
rq_over_budget(struct rq_site *s, time_t now)
{
	if (now - s->window >= ROUTEQ_WINDOW || now < s->window) {
		s->window = now;
		s->used = 0;
	}
	return s->used >= ROUTEQ_SITE_BUDGET;
}

/* rq_budget_defer - the decision for a site whose DNS time is used up. */
static void
rq_budget_defer(struct rq_entry *e, const char *site)
{
	memset(&e->dec, 0, sizeof(e->dec));
	e->dec.kind = ROUTE_DEFER;
	snprintf(e->dec.dsn, sizeof(e->dec.dsn), "4.4.3");
	snprintf(e->dec.reason, sizeof(e->dec.reason), "MX lookup for %s "
	    "not tried: site %s used its share of DNS time (%ds per %ds)",
	    e->domain, site, ROUTEQ_SITE_BUDGET, ROUTEQ_WINDOW);
	snprintf(e->dec.note, sizeof(e->dec.note), "defer");
	relay_sanitize(e->dec.reason);
}

/* rq_work_one - run one picked entry (called and returns locked). */
static void
rq_work_one(struct routeq *q, struct route_ctx *ctx, struct rq_entry *e)
{
	struct rq_site *s = e->site;
	struct routeq_dec dec;
	char	 addr[600];
	double	 t0;
	long	 ttl;

	e->only = NULL;
	if (s != NULL && rq_over_budget(s, time(NULL))) {
		rq_budget_defer(e, s->name);
		e->only = s;		/* not an answer for anyone else */
		rq_done(q, e, 0);
		return;
	}
	e->state = RQ_RUNNING;
	if (s != NULL)
		s->running++;
	q->busy++;
	snprintf(addr, sizeof(addr), "postmaster@%s", e->domain);
	pthread_mutex_unlock(&q->lock);
	t0 = rq_mono();
	ttl = rq_decide(ctx, addr, &dec);
	t0 = rq_mono() - t0;
	pthread_mutex_lock(&q->lock);
	if (s != NULL) {
		s->running--;
		s->used += t0;
	}
	q->busy--;
	e->dec = dec;
	rq_done(q, e, ttl);
}

static void rq_free(struct routeq *);

/* rq_worker - a worker thread: pick, decide, report, until stopped. */
static void *
rq_worker(void *arg)
{
	struct rq_worker *w = arg;
	struct routeq *q = w->q;
	struct route_ctx *ctx = w->ctx;
	struct rq_entry *e;
	int	 last;

	free(w);
	pthread_mutex_lock(&q->lock);
	while (!q->stop) {
		if ((e = rq_pick(q)) == NULL)
			pthread_cond_wait(&q->cv, &q->lock);
		else
			rq_work_one(q, ctx, e);
	}
	last = --q->alive == 0 && q->orphaned;
	pthread_mutex_unlock(&q->lock);
	route_close(ctx);
	if (last)
		rq_free(q);	/* routeq_close left it to us */
	return NULL;
}

/* rq_start - start the worker threads with every signal blocked. */
static int
rq_start(struct routeq *q)
{
	sigset_t all, old;
	struct rq_worker *w;
	int	 i, rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < ROUTEQ_THREADS && rc == 0; i++) {
		if ((w = calloc(1, sizeof(*w))) == NULL) {
			rc = err_set(EX_TEMPFAIL, "out of memory");
			break;
		}
		w->q = q;
		if ((rc = route_clone(q->route, &w->ctx)) != 0) {
			free(w);
			break;
		}
		if (pthread_create(&q->th[q->nth], NULL, rq_worker, w) != 0) {
			route_close(w->ctx);
			free(w);
			rc = err_set(EX_TEMPFAIL, "cannot start a DNS worker");
			break;
		}
		q->nth++;
		q->alive++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* routeq_open - take over route and start the workers. */
int
routeq_open(struct routeq **qp, struct route_ctx *route)
{
	struct routeq *q;
	int	 rc;

	*qp = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		route_close(route);
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->route = route;
	q->swept = time(NULL);
	if ((q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rc = err_set(EX_OSERR, "eventfd: %s", strerror(errno));
		routeq_close(q);
		return rc;
	}
	if ((rc = rq_start(q)) != 0) {
		routeq_close(q);
		return rc;
	}
	*qp = q;
	return 0;
}

/* rq_entries_free - drop every entry and site. */
static void
rq_entries_free(struct routeq *q)
{
	struct rq_entry *e, *n;
	struct rq_site *s;
	size_t	 i;

	for (i = 0; i < RQ_HASH; i++) {
		for (e = q->hash[i]; e != NULL; e = n) {
			n = e->hnext;
			free(e->domain);
			free(e);
		}
		q->hash[i] = NULL;
	}
	while ((s = q->sites) != NULL) {
		q->sites = s->next;
		free(s->name);
		free(s);
	}
	q->rr = NULL;
	q->shead = q->stail = NULL;
	q->pending = 0;
}

/* rq_free - release q and the route context (no worker is left). */
static void
rq_free(struct routeq *q)
{
	rq_entries_free(q);
	route_close(q->route);
	if (q->efd >= 0)
		close(q->efd);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* routeq_close - stop the workers; those still busy after RQ_JOIN_MS
 * are left to free everything when their lookup ends. */
void
routeq_close(struct routeq *q)
{
	struct timespec dl;
	int	 i, left = 0;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->lock);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += RQ_JOIN_MS / 1000;
	for (i = 0; i < q->nth; i++)
		if (pthread_timedjoin_np(q->th[i], NULL, &dl) != 0) {
			pthread_detach(q->th[i]);
			left++;
		}
	if (left == 0) {
		rq_free(q);
		return;
	}
	log_info("DNS: %d lookup(s) still running at close; left behind",
	    left);
	pthread_mutex_lock(&q->lock);
	q->orphaned = 1;
	left = q->alive;
	pthread_mutex_unlock(&q->lock);
	if (left == 0)
		rq_free(q);	/* they ended meanwhile */
}

/* routeq_route - the route context. */
struct route_ctx *
routeq_route(struct routeq *q)
{
	return q->route;
}

/* rq_sweep - drop done entries that expired (under the lock). */
static void
rq_sweep(struct routeq *q, time_t now)
{
	struct rq_entry **pp, *e;
	size_t	 i;

	for (i = 0; i < RQ_HASH; i++)
		for (pp = &q->hash[i]; (e = *pp) != NULL;) {
			if (e->state == RQ_DONE && e->expires <= now &&
			    !e->fresh) {
				*pp = e->hnext;
				free(e->domain);
				free(e);
			} else
				pp = &e->hnext;
		}
	q->swept = now;
}

/* rq_find - the entry of domain, or NULL (under the lock). */
static struct rq_entry *
rq_find(struct routeq *q, const char *domain, unsigned h)
{
	struct rq_entry *e;

	for (e = q->hash[h]; e != NULL; e = e->hnext)
		if (strcmp(e->domain, domain) == 0)
			return e;
	return NULL;
}

/* rq_queue - queue entry e (new, or done and stale) under site s. */
static void
rq_queue(struct routeq *q, struct rq_entry *e, struct rq_site *s)
{
	e->state = RQ_QUEUED;
	e->fresh = 0;
	e->only = NULL;
	e->site = s;
	e->qnext = NULL;
	if (s->tail)
		s->tail->qnext = e;
	else
		s->head = e;
	s->tail = e;
	q->pending++;
	pthread_cond_signal(&q->cv);
}

/* rq_share - e, queued under one site, is wanted by another: move it to
 * the shared FIFO, looked up next and charged to no site. */
static void
rq_share(struct routeq *q, struct rq_entry *e)
{
	struct rq_site *s = e->site;
	struct rq_entry **pp, *prev = NULL;

	for (pp = &s->head; *pp != NULL && *pp != e; pp = &(*pp)->qnext)
		prev = *pp;
	if (*pp == NULL)
		return;			/* not in its queue: leave it */
	*pp = e->qnext;
	if (s->tail == e)
		s->tail = prev;
	e->qnext = NULL;
	e->site = NULL;
	if (q->stail)
		q->stail->qnext = e;
	else
		q->shead = e;
	q->stail = e;
	pthread_cond_signal(&q->cv);
}

/* rq_get_locked - routeq_get for a domain (under the lock); -1 when out
 * of memory. */
static int
rq_get_locked(struct routeq *q, const char *site, const char *domain,
    struct routeq_dec *out)
{
	unsigned h = rq_hash(domain);
	struct rq_entry *e = rq_find(q, domain, h);
	struct rq_site *s = rq_site_find(q, site);
	time_t	 now = time(NULL);

	if (s == NULL)
		return -1;
	if (e != NULL && e->state == RQ_DONE &&
	    (e->fresh || e->expires > now) &&
	    (e->only == NULL || e->only == s)) {
		e->fresh = 0;
		*out = e->dec;
		return 1;
	}
	if (e != NULL && e->state == RQ_QUEUED && e->site != NULL &&
	    e->site != s)		/* NULL: in the shared FIFO already */
		rq_share(q, e);
	if (e != NULL && e->state != RQ_DONE)
		return 0;
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->domain = strdup(domain)) == NULL) {
			free(e);
			return -1;
		}
		e->hnext = q->hash[h];
		q->hash[h] = e;
	}
	rq_queue(q, e, s);
	return 0;
}

/* routeq_get - the decision for address, or 0 while it is looked up. */
int
routeq_get(struct routeq *q, const char *site, const char *address,
    struct routeq_dec *out)
{
	char	 domain[300];
	int	 rc;

	if (!rq_domain(address, domain, sizeof(domain))) {
		(void)rq_decide(q->route, address, out);	/* no DNS */
		return 1;
	}
	pthread_mutex_lock(&q->lock);
	if (time(NULL) - q->swept >= RQ_SWEEP)
		rq_sweep(q, time(NULL));
	rc = rq_get_locked(q, site, domain, out);
	pthread_mutex_unlock(&q->lock);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		out->kind = ROUTE_DEFER;
		snprintf(out->dsn, sizeof(out->dsn), "4.3.0");
		snprintf(out->reason, sizeof(out->reason), "routing failed: "
		    "out of memory");
		return 1;
	}
	return rc;
}

/* routeq_events - 1 if decisions came in since the last call. */
int
routeq_events(struct routeq *q)
{
	uint64_t n = 0;

	return read(q->efd, &n, sizeof(n)) == (ssize_t)sizeof(n) && n > 0;
}

/* routeq_wait - sleep until a decision comes in, up to timeout_ms. */
void
routeq_wait(struct routeq *q, int timeout_ms)
{
	struct pollfd pfd;

	pfd.fd = q->efd;
	pfd.events = POLLIN;
	(void)poll(&pfd, 1, timeout_ms);
}

/* routeq_pending - lookups queued or running. */
unsigned
routeq_pending(struct routeq *q)
{
	unsigned n;

	pthread_mutex_lock(&q->lock);
	n = q->pending;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* routeq_forget - drop every remembered deferral. */
void
routeq_forget(struct routeq *q)
{
	struct rq_entry *e;
	size_t	 i;

	pthread_mutex_lock(&q->lock);
	for (i = 0; i < RQ_HASH; i++)
		for (e = q->hash[i]; e != NULL; e = e->hnext)
			if (e->state == RQ_DONE &&
			    e->dec.kind == ROUTE_DEFER) {
				e->expires = 0;
				e->fresh = 0;
			}
	rq_sweep(q, time(NULL));
	pthread_mutex_unlock(&q->lock);
}
