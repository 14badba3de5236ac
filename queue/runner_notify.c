/*
 * runner_notify.c - the runner's side of queue/notify.h and
 * queue/metrics.h: the once-a-second chores that need its handles (the
 * bucket database for the metrics' tokens).
 */
#include "queue/metrics.h"
#include "queue/notify.h"
#include "queue/runner_int.h"

/* runner_notify_tick - mail due notices, rewrite the metrics when due
 * (force: now, e.g. at shutdown). */
void
runner_notify_tick(struct runner *r, time_t now, int force)
{
	notify_tick(now, force);
	(void)metrics_write(r->conf, r->bdb, now, force);
}
