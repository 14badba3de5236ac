/*
 * routeq.h - routing decisions for the runner, looked up on worker threads
 * so that a slow DNS server never blocks dispatch or the other sites
 * (DESIGN "Relay": "Routing and DNS never stall delivery").
 *
 * The runner asks for the decision of a recipient domain with routeq_get().
 * A decision made in the last ROUTEQ_TTL seconds (never longer than its DNS
 * TTL) is answered at once from memory; otherwise the domain is queued for
 * the workers under the asking site, and the runner parks the message until
 * routeq_events() reports that decisions came in.  One question per domain
 * is in flight at a time, whoever asks.  Addresses that need no DNS (no
 * domain, address literals, non-ASCII domains) are decided at once on the
 * calling thread.
 *
 * Fair shares.  Workers take queued domains round-robin across sites.  A
 * site has at most ROUTEQ_SITE_INFLIGHT lookups running at once, and a
 * second one only while ROUTEQ_RESERVE workers stay free (so a few sites
 * can never hold every worker), and at most ROUTEQ_SITE_BUDGET seconds of
 * worker time per ROUTEQ_WINDOW seconds: once that is used up, its
 * uncached domains are deferred (4.4.3, "DNS time share used up") without
 * a query until the window ends; that deferral is its own, never handed to
 * another site.  A domain a second site asks for while it still waits in
 * the first one's queue is looked up next, charged to neither.  So a site
 * with a thousand domains whose DNS never answers costs the others
 * nothing, and a pass over its mail ends in bounded time.
 *
 * Decisions are the same as route_address(): the DNS answers and their
 * cache (dns.tdb, shared by the workers under one mutex, see route_clone)
 * and the RFC 5321/7505 rules are route.c's.  A deferral is remembered for
 * ROUTEQ_DEFER_TTL seconds (the negative memo), so a broken domain costs
 * one timeout per that time, however many recipients and sites use it.
 *
 * Threads: every routeq_* function is called from the runner's thread
 * only.  routeq_close() gives workers still blocked in a lookup about a
 * second and then leaves them (and the route context they use) to finish
 * on their own: shutdown never waits for DNS.  (After a reload that left
 * one behind, the new context may find dns.tdb still open in this process
 * and run without the cache until the next reload.)
 */
#ifndef SM_ROUTEQ_H
#define SM_ROUTEQ_H

#include <time.h>

#include "queue/route.h"

#define ROUTEQ_THREADS		8	/* DNS worker threads */
#define ROUTEQ_SITE_INFLIGHT	4	/* lookups one site runs at once */
#define ROUTEQ_RESERVE		2	/* workers kept for other sites */
#define ROUTEQ_SITE_BUDGET	20	/* worker seconds per site ... */
#define ROUTEQ_WINDOW		60	/* ... per this many seconds */
#define ROUTEQ_TTL		60	/* longest a decision is reused */
#define ROUTEQ_DEFER_TTL	60	/* a temporary failure, remembered */

/* One decision, as the runner uses it. */
struct routeq_dec {
	int	 kind;			/* enum route_kind */
	char	 dsn[8];
	char	 reason[ROUTE_REASON_MAX];
	char	 note[300];		/* "smarthost", "local mx=HOST" */
};

struct routeq;

/* routeq_open - take over route (closed by routeq_close) and start the
 * workers. */
int	routeq_open(struct routeq **, struct route_ctx *route);
/* routeq_close - stop the workers (see above) and release everything. */
void	routeq_close(struct routeq *);
/* routeq_route - the route context, for the runner's own uses. */
struct route_ctx *routeq_route(struct routeq *);
/* routeq_get - the decision for address asked by site: 1 with *out
 * filled, or 0 when it is being looked up (ask again after an event). */
int	routeq_get(struct routeq *, const char *site, const char *address,
	    struct routeq_dec *out);
/* routeq_events - 1 if decisions came in since the last call. */
int	routeq_events(struct routeq *);
/* routeq_wait - sleep until a decision comes in, up to timeout_ms. */
void	routeq_wait(struct routeq *, int timeout_ms);
/* routeq_pending - lookups queued or running. */
unsigned routeq_pending(struct routeq *);
/* routeq_forget - drop every remembered deferral (a flush request). */
void	routeq_forget(struct routeq *);

#endif
