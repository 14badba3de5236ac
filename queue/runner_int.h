/*
 * runner_int.h - the queue runner's internals, shared by its files:
 * runner.c (the pass: open, verify, lock, results, records), runner_route.c
 * (routing through the DNS workers, parking, fair dispatch), runner_dsn.c
 * (when DSNs go), runner_charge.c (bucket accounting) and runner_flush.c
 * (flush requests).  Not for use outside the runner.
 */
#ifndef SM_RUNNER_INT_H
#define SM_RUNNER_INT_H

#include <sys/types.h>

#include <time.h>

#include "queue/admin.h"
#include "queue/charge.h"
#include "queue/dkim_key.h"
#include "queue/qstate.h"
#include "queue/relay.h"
#include "queue/route.h"
#include "queue/routeq.h"
#include "queue/runner.h"
#include "queue/sched.h"
#include "spool/spool.h"
#include "util/buf.h"

#define RUNNER_UIDSITE_SLOTS	64	/* uid -> site names, for new files */
#define RUNNER_SITE_PARKED	8	/* messages of a site parked on DNS */
#define RUNNER_PARKED_MAX	256	/* parked in all (open files) */

/* What is known about one relay route's URLs (runner_health.c). */
struct runner_health {
	time_t	 until[32];		/* per URL: dead until */
	unsigned fails[32];		/* per URL: failures in a row */
	int	 down;			/* every URL dead (logged) */
	const struct relay_job *probe;	/* the one job trying a down route */
	const struct relay_job *uprobe[32];	/* per URL: the one job trying
					   it again after its back-off */
};

/* One remembered site of a file owner (new files carry no site yet). */
struct runner_uidsite {
	uid_t	 uid;
	int	 used;
	char	 name[SITE_NAME_MAX + 1];
};

/* One cached password file. */
struct runner_secret {
	char	*path;
	char	*password;		/* NULL: could not be read */
	char	 why[256];
	struct timespec mtime;
};

/* Results per site not yet added to state/stats.tdb (sitemail sites). */
struct runner_tally {
	char	*site;
	unsigned n[ADMIN_STAT_N];
};

/* One cached site frozen flag. */
struct runner_site {
	char	*name;
	int	 frozen;
	time_t	 checked;
};

struct rmsg;
struct failstat;

/* One relay job: a group of recipients of one message with one route. */
struct rjob {
	struct relay_job job;
	struct rjob *next_sub;		/* submit queue */
	struct rmsg *m;
	size_t	*idx;			/* recipients, indices into rec.r */
	char	**rcpt;
	size_t	 n;
	struct relay_rcpt_result *res;
	int	 kind;			/* ROUTE_SMARTHOST or ROUTE_LOCAL */
	int	 finished;
};

/* One message in flight. */
struct rmsg {
	struct rmsg *prev, *next;	/* in-flight list */
	struct spool_msg msg;
	struct qrec rec;
	char	*tried;			/* per recipient: changed this attempt */
	char	**note;			/* per recipient: "local mx=..." */
	struct rjob *jobs;
	size_t	 njobs, jobs_left;
	struct sched_site *ss;		/* its site in the scheduler */
	struct routeq_dec *dec;		/* routing: decisions gathered */
	char	*have;			/* per recipient: dec[i] is set */
	int	 final;			/* msg_store: every recipient final */
	struct buf dkim;		/* DKIM-Signature header sent first */
	char	 dkim_note[DKIM_WHY_MAX + 64];	/* "d/s" or "none (why)" */
};

struct runner {
	const struct conf *conf;
	unsigned char key[SPOOL_KEYLEN];
	int	 queuefd;
	int	 spoolfd;
	struct qstate *qs;
	struct bucket_db *bdb;
	struct relay_pool *pool;
	struct relay_route smarthost, local;
	const char **sh_urls;
	const char *local_urls[1];
	struct runner_secret *secrets;
	size_t	 nsecrets;
	struct runner_site *sites;
	size_t	 nsites;
	struct admin_stats *counters;	/* state/stats.tdb; NULL: none */
	struct runner_tally *tally;
	size_t	 ntally;
	time_t	 tally_time;
	struct sched *sched;		/* due messages, fair across sites */
	struct routeq *rq;		/* routing on DNS worker threads */
	struct rmsg *parked, *parked_tail;	/* waiting for DNS, FIFO */
	unsigned nparked;
	struct runner_uidsite uidsite[RUNNER_UIDSITE_SLOTS];
	struct runner_health health[2];	/* smarthost, local */
	time_t	 next_due;
	struct rmsg *inflight;
	unsigned ninflight;
	struct rjob *subq, *subq_tail;
	int	 stopping;
	struct runner_stats stats;
	struct charge_book *book;	/* intake charges awaiting pickup */
	time_t	 last_expire;
	struct rstate *rs;		/* paused messages (queue/rstate.c) */
	unsigned long dmg;		/* db_damage_count() at the last check */
	struct dkim_cache *dkim;	/* DKIM keys */
	struct failstat *fails;		/* the last hour's results per site */
};

/* runner.c */
/* rcpt_result - record one attempt's outcome for recipient i, log it. */
void	rcpt_result(struct runner *, struct rmsg *, size_t i, int status,
	    const char *dsn, const char *text, const char *relay);
/* rec_rcpt_due - 1 if recipient q is to be tried at time now. */
int	rec_rcpt_due(const struct qrcpt *, time_t now);
/* runner_auth - the smarthost credentials of a site. */
int	runner_auth(struct runner *, const char *site, struct relay_auth *);
/* runner_clean - a copy of text fit for a record and a log line. */
char	*runner_clean(const char *text);
/* runner_launch - m is routed: put it in flight (jobs, or complete). */
void	runner_launch(struct runner *, struct rmsg *);
/* rmsg_free - release a message (closing its file drops its lock). */
void	rmsg_free(struct rmsg *);
/* runner_index_new - index a file the runner wrote itself (a DSN). */
void	runner_index_new(struct runner *, const char *qid);

/* runner_dsn.c */
/* runner_dsn_failed - one DSN for the failed recipients not reported
 * yet; 0 when done or none is needed. */
int	runner_dsn_failed(struct runner *, struct rmsg *, struct qrec *);
/* runner_dsn_after - the DSNs due after an attempt (failed, delayed). */
void	runner_dsn_after(struct runner *, struct rmsg *, struct qrec *);

/* runner_due_at - remember that something becomes due at time t. */
void	runner_due_at(struct runner *, time_t);
/* runner_now - the wall clock with sub-second precision. */
double	runner_now(void);
/* runner_charge_ctx - what a bucket charge needs (runner_charge.c). */
void	runner_charge_ctx(struct runner *, struct charge_ctx *);
/* runner_settle - settle the bucket charge of a message the runner is
 * about to handle: intake's booked charge, or a late one. */
int	runner_settle(struct runner *, struct rmsg *);
/* runner_expire - refund charges whose message never arrived. */
void	runner_expire(struct runner *);

/* runner_health.c */
/* runner_health_skip - the URLs job is to pass over (bit i): dead now,
 * or back from a back-off while another job tries them again. */
unsigned runner_health_skip(struct runner *, const struct relay_job *);
/* runner_health_down - when every URL is dead: when one may be tried
 * again; else 0. */
time_t	runner_health_down(struct runner *, const struct relay_route *);
/* runner_health_job - learn from a finished job (logs down / up). */
void	runner_health_job(struct runner *, const struct relay_job *);
/* runner_health_gate - 1: the route is down, the job is finished here as
 * requeued; 0: go (dead URLs are skipped). */
int	runner_health_gate(struct runner *, struct relay_job *);
/* runner_requeue - recipient i back to the queue until a time, without
 * counting an attempt. */
void	runner_requeue(struct runner *, struct rmsg *, size_t i, time_t until,
	    const char *dsn, const char *why, const char *relay);
/* runner_requeue_until - when requeued recipients of a route are due. */
time_t	runner_requeue_until(struct runner *, const struct relay_route *);

/* runner_abuse.c */
/* runner_abuse_note - count a server's result for a recipient of m in
 * its site's last hour; auto-freeze the site past its limits. */
void	runner_abuse_note(struct runner *, const struct rmsg *,
	    const struct relay_rcpt_result *);

/* runner_route.c */
/* runner_route_open - the route context and its DNS workers. */
int	runner_route_open(struct runner *);
/* msg_route - route every due recipient of m into jobs: 0, 1 when m
 * waits for DNS (park it), or a sysexits status. */
int	msg_route(struct runner *, struct rmsg *);
/* runner_park - keep m (locked, not yet routed) until DNS answers. */
void	runner_park(struct runner *, struct rmsg *);
/* runner_resume - route parked messages whose answers came in. */
void	runner_resume(struct runner *);
/* runner_unpark_all - drop every parked message (they stay queued). */
void	runner_unpark_all(struct runner *);
/* runner_due_add - queue a new file under the site of its owner. */
int	runner_due_add(struct runner *, const char *qid);
/* runner_fill - keep every relay slot busy, fairly across sites. */
void	runner_fill(struct runner *);
/* runner_site_cap - the connection slots one site may hold. */
unsigned runner_site_cap(const struct runner *);

#endif
