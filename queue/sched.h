/*
 * sched.h - which due message the runner starts next: fair across sites.
 *
 * Due messages wait in one FIFO per site, in arrival order (queue IDs
 * sort by arrival).  sched_next() serves the sites round-robin, one
 * message per turn, skipping a site that holds its share of connection
 * slots (cap; [smarthost] site_connections, default half of connections)
 * or has too many messages parked on DNS (pcap).  The share binds only
 * while some other site has a message it could start: when every site
 * with due mail is at its cap, the next one in turn goes anyway, so free
 * slots never idle (a lone site with a backlog still gets every slot; a
 * second site gets the next free one).
 *
 * A site's busy and parked counts are kept by the caller through
 * sched_busy() / sched_parked(); they survive sched_clear() (messages in
 * flight outlive a rescan).
 */
#ifndef SM_SCHED_H
#define SM_SCHED_H

#include <stddef.h>
#include <sys/types.h>

#include "spool/spool.h"

struct sched;
struct sched_site;

/* sched_new - an empty scheduler. */
int	sched_new(struct sched **);
/* sched_free - release everything. */
void	sched_free(struct sched *);
/* sched_clear - empty every queue (before a rescan); counts are kept. */
void	sched_clear(struct sched *);
/* sched_add - append qid to site's queue. */
int	sched_add(struct sched *, const char *site, const char *qid);
/* sched_sort - put every site's queue in queue ID (arrival) order. */
void	sched_sort(struct sched *);
/* sched_next - the next message to start into qid, and its site; NULL
 * when no site may start one now. */
struct sched_site *sched_next(struct sched *, unsigned cap, unsigned pcap,
	    char qid[SPOOL_QIDLEN + 1]);
/* sched_waiting - messages queued, not started. */
size_t	sched_waiting(const struct sched *);
/* sched_busy / sched_parked - change a site's counts by delta. */
void	sched_busy(struct sched_site *, int delta);
void	sched_parked(struct sched_site *, int delta);
/* sched_site_name - the name a site was queued under. */
const char *sched_site_name(const struct sched_site *);
/* sched_site_of - the site record of name (made when missing). */
struct sched_site *sched_site_of(struct sched *, const char *name);

#endif
