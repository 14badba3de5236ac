/*
 * runner.h - the queue runner's scheduler: which messages are due, their
 * delivery through the relay pool, and what the results do to the queue.
 *
 * The caller (cmd/sitemaild.c) owns the event loop: it calls runner_scan()
 * to (re)build the list of due messages from state/queue.tdb,
 * runner_enqueue() for a queue file it was told about (inotify), and
 * runner_step() to start deliveries on free connection slots and drive
 * them.  Due messages are started round-robin across sites, oldest first
 * within a site, each site within its share of slots ([smarthost]
 * site_connections) while another site has mail waiting; every slot of
 * the pool is kept busy across messages.  DNS lookups run on worker
 * threads: runner_step() never waits for DNS.
 *
 * A message is due when it is not frozen (its record, or its site in
 * bucket.tdb), its rate-limit hold has passed, and some recipient is
 * pending or deferred with its next try due; or when it has expired
 * (queue_lifetime) or is complete.  It is opened and verified with
 * spool_open() (EX_DATAERR: quarantine, drop the record, never deliver),
 * locked with flock(LOCK_EX|LOCK_NB) on the spool file so that no two
 * runners deliver it at once, and checked again (record re-read, link
 * count still 1).  Each due recipient is routed (route.h); the smarthost
 * and local recipients are grouped by route and credentials into relay
 * jobs.  Results: 2xx sent; 4xx, session failures and DNS deferrals are
 * deferred (next try retry_min doubling up to retry_max); 5xx and DNS
 * bounces are bounced.  One log line per recipient and attempt.  After
 * each attempt one DSN reports the recipients that failed for good and
 * were not reported yet, and once after delay_warning a "delayed" DSN
 * goes (runner_dsn.c; never to the null sender or for Auto-Submitted
 * mail).  When every recipient is final the file is unlinked and the
 * record deleted.
 */
#ifndef SM_RUNNER_H
#define SM_RUNNER_H

#include <stddef.h>
#include <time.h>

#include "queue/qstate.h"
#include "spool/spool.h"
#include "util/conf.h"

#define RUNNER_TMP_MAX_AGE	86400	/* tmp/ files older than this go */
#define RUNNER_EXPIRED_DSN	"4.4.7"

struct runner;

struct runner_stats {
	unsigned long sent, deferred, bounced, removed, quarantined, dsns;
};

/* runner_open - open the queue state, buckets, routing and a relay pool
 * of conf->connections slots.  conf must outlive the runner (or be
 * replaced with runner_reload). */
int	runner_open(struct runner **, const struct conf *,
	    const unsigned char key[SPOOL_KEYLEN]);
/* runner_close - abandon jobs in flight (their messages stay queued as
 * they were) and release everything. */
void	runner_close(struct runner *);
/* runner_reload - use a new configuration; only while nothing is in
 * flight (EX_TEMPFAIL otherwise). */
int	runner_reload(struct runner *, const struct conf *,
	    const unsigned char key[SPOOL_KEYLEN]);
/* runner_scan - rebuild the due list from the queue state. */
int	runner_scan(struct runner *);
/* runner_enqueue - consider queue/name soon (a new file). */
void	runner_enqueue(struct runner *, const char *name);
/* runner_flush - make the deferred recipients in the scope of a batch of
 * flush requests due now (one walk over the queue), then rescan. */
int	runner_flush(struct runner *, const struct qflush *, size_t);
/* runner_step - start due deliveries on free slots and drive the relay
 * pool for up to timeout_ms (returns early when a job finishes). */
int	runner_step(struct runner *, int timeout_ms);
/* runner_inflight - messages being delivered now. */
unsigned runner_inflight(const struct runner *);
/* runner_waiting - messages on the due list not started yet. */
size_t	runner_waiting(const struct runner *);
/* runner_next_due - earliest future retry or hold end seen by the last
 * scan (0 = none). */
time_t	runner_next_due(const struct runner *);
/* runner_stop - start no more messages (shutdown or reload). */
void	runner_stop(struct runner *, int stop);
/* runner_housekeeping - index unknown queue files older than min_age and
 * drop stale records, remove tmp/ leftovers older than a day, purge the
 * DNS cache. */
int	runner_housekeeping(struct runner *, time_t min_age);
/* runner_tick - remove tmp/ files whose writer is gone and publish the
 * usage snapshot (run it every RUNNER_TICK seconds). */
#define RUNNER_TICK	15
void	runner_tick(struct runner *);
/* runner_notify_tick - mail due notices and rewrite the metrics file
 * when due, or now with force (queue/runner_notify.c; call about once a
 * second). */
void	runner_notify_tick(struct runner *, time_t now, int force);
/* runner_get_stats - counters since runner_open. */
const struct runner_stats *runner_get_stats(const struct runner *);

/* Intake's charges and site users' views, served over the sitemaild
 * socket (queue/verdictd.c) with the runner's own database handles. */
struct verdict_ans;
struct admin;
/* runner_intake_charge - charge a message intake is about to commit. */
struct site_id;
int	runner_intake_charge(struct runner *, const struct site_id *,
	    const char *qid, unsigned nrcpt, const char *cwd, const char *exe,
	    struct verdict_ans *);
/* runner_intake_refund - undo the charge of a message never committed. */
int	runner_intake_refund(struct runner *, const char *qid);
/* runner_site_has - 1 if qid is queued and belongs to site. */
int	runner_site_has(struct runner *, const char *qid, const char *site);
/* runner_verify - one line on how address would be routed now, from the
 * DNS cache only ("deliverable: ...", "undeliverable: DSN reason"). */
struct buf;
int	runner_verify(struct runner *, const char *address, struct buf *);
/* runner_index - add the record of a committed file (sitemaild --hold:
 * indexed and charged, not delivered). */
void	runner_index(struct runner *, const char *qid);
/* runner_parked - messages waiting for DNS answers (poll briefly). */
unsigned runner_parked(const struct runner *);
/* runner_wake_fd - readable when a delivery finished (poll it, then
 * call runner_step); -1 when nothing can finish. */
int	runner_wake_fd(const struct runner *);
/* runner_admin_attach - let an admin session use the runner's handles. */
void	runner_admin_attach(struct runner *, struct admin *);
/* runner_admin_detach - take them back before admin_close(). */
void	runner_admin_detach(struct runner *, struct admin *);

#endif
