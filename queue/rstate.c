/*
 * rstate.c - pausing messages whose state cannot be written, and site
 * freezes read from their markers; see rstate.h.
 *
 * The pause list is in memory only: what a later runner needs is on disk
 * already (the done map holds every final recipient; the old queue.tdb
 * record stays when a write fails), so a restart resumes safely.
 */
#include <stdlib.h>
#include <string.h>

#include "queue/bucket.h"
#include "queue/freeze.h"
#include "queue/rstate.h"
#include "util/msg.h"

/* One paused message. */
struct rstate_pause {
	char	 qid[SPOOL_QIDLEN + 1];
	time_t	 until;			/* 0: until restart */
};

struct rstate {
	struct rstate_pause *v;
	size_t	 n, cap;
};

/* rstate_tmp_grace - the tmp/ grace period, seconds. */
long
rstate_tmp_grace(void)
{
	const char *v = getenv("SITEMAIL_TMP_GRACE");
	uint64_t n;

	if (v != NULL && spool_number(v, strlen(v), 86400, &n) == 0)
		return (long)n;
	return RSTATE_TMP_GRACE;
}

/* rstate_new - an empty pause list (NULL when out of memory). */
struct rstate *
rstate_new(void)
{
	return calloc(1, sizeof(struct rstate));
}

/* rstate_free - release the pause list. */
void
rstate_free(struct rstate *s)
{
	if (s == NULL)
		return;
	free(s->v);
	free(s);
}

/* rstate_find - the entry of qid, or NULL. */
static struct rstate_pause *
rstate_find(const struct rstate *s, const char *qid)
{
	size_t	 i;

	for (i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->v[i].qid, qid) == 0)
			return &s->v[i];
	return NULL;
}

/* rstate_paused - 1 if qid must not be delivered now. */
int
rstate_paused(const struct rstate *s, const char *qid, time_t now)
{
	const struct rstate_pause *p = rstate_find(s, qid);

	return p != NULL && (p->until == 0 || p->until > now);
}

/* rstate_pause - pause qid; one log line when it is newly paused. */
void
rstate_pause(struct rstate *s, const char *qid, time_t until, const char *why)
{
	struct rstate_pause *p = rstate_find(s, qid);

	if (p == NULL && s != NULL) {
		if (s->n == s->cap) {
			size_t	 ncap = s->cap ? s->cap * 2 : 16;
			void	*v = realloc(s->v, ncap * sizeof(*s->v));

			if (v == NULL)
				return;
			s->v = v;
			s->cap = ncap;
		}
		p = &s->v[s->n++];
		memcpy(p->qid, qid, SPOOL_QIDLEN + 1);
		p->until = until;
		log_error("%s: delivery paused: %s", qid, why);
	} else if (p != NULL && p->until != 0)
		p->until = until;	/* "until restart" stays so */
}

/* rstate_resume - qid's state was written. */
void
rstate_resume(struct rstate *s, const char *qid)
{
	struct rstate_pause *p = rstate_find(s, qid);

	if (p == NULL)
		return;
	log_info("%s: delivery resumed: its state is written", qid);
	*p = s->v[--s->n];
}

/* rstate_site_frozen - a site's freeze: marker first, then the bucket. */
int
rstate_site_frozen(const char *spool_dir, const char *site, int bucket_ok,
    uint32_t flags)
{
	if (freeze_site_get(spool_dir, site) != 0)
		return 1;
	if (!bucket_ok || !(flags & BUCKET_FROZEN))
		return 0;
	/* Frozen in the bucket only (an auto-freeze at intake): make it
	 * durable, so a rebuilt bucket.tdb keeps it. */
	if (freeze_site_set(spool_dir, site, (flags & BUCKET_AUTO) ? 2 : 1)
	    != 0)
		log_warn("site %s: %s", site, err_str());
	return 1;
}

/* Recovery of one record. */
struct rstate_rec {
	const char *spool_dir;
};

/* rstate_recover_fn - qstate_update callback: apply what is on disk. */
static int
rstate_recover_fn(void *arg, struct qrec *rec)
{
	struct rstate_rec *rr = arg;

	return qstate_recover(rr->spool_dir, rec) > 0 ? 0 : QSTATE_KEEP;
}

/* rstate_recover - apply done map and freeze marker, storing changes. */
int
rstate_recover(const char *spool_dir, struct qstate *qs, struct qrec *rec)
{
	struct rstate_rec rr = { spool_dir };
	int	 n;

	if ((n = qstate_recover(spool_dir, rec)) == 0)
		return 0;
	if (qstate_update(qs, rec->qid, rstate_recover_fn, &rr) != 0)
		log_warn("%s: %s", rec->qid, err_str());
	return n;
}
