/*
 * runner_flush.c - flush requests (sendmail -q, sitemail flush): one walk
 * over the queue state for a whole batch, making the selected deferred
 * recipients due now.
 */
#include <stdlib.h>
#include <string.h>

#include "queue/qstate.h"
#include "queue/runner_int.h"
#include "util/msg.h"

/* One batch of flush requests and the messages they select. */
struct runner_flush_ctx {
	const struct qflush *q;
	size_t	 nq;
	char	(*ids)[SPOOL_QIDLEN + 1];
	size_t	 n, cap;
};

/* runner_flush_any - 1 if some request of the batch covers the record. */
static int
runner_flush_any(const struct runner_flush_ctx *fc, const struct qrec *rec)
{
	size_t	 j;

	for (j = 0; j < fc->nq; j++)
		if (qstate_flush_match(&fc->q[j], rec))
			return 1;
	return 0;
}

/* runner_flush_pick - traverse callback: remember matching messages. */
static int
runner_flush_pick(void *arg, const struct qrec *rec)
{
	struct runner_flush_ctx *fc = arg;

	if (!runner_flush_any(fc, rec))
		return 0;
	if (fc->n == fc->cap) {
		size_t	 ncap = fc->cap ? fc->cap * 2 : 64;
		void	*p = realloc(fc->ids, ncap * sizeof(*fc->ids));

		if (p == NULL)
			return err_set(EX_TEMPFAIL, "out of memory");
		fc->ids = p;
		fc->cap = ncap;
	}
	memcpy(fc->ids[fc->n++], rec->qid, SPOOL_QIDLEN + 1);
	return 0;
}

/* runner_flush_fn - make the selected deferred recipients due now. */
static int
runner_flush_fn(void *arg, struct qrec *rec)
{
	const struct runner_flush_ctx *fc = arg;
	size_t	 i, j;
	int	 changed = 0;

	for (j = 0; j < fc->nq; j++) {
		if (!qstate_flush_match(&fc->q[j], rec))
			continue;
		for (i = 0; i < rec->nr; i++)
			if (rec->r[i].status == QR_DEFERRED &&
			    rec->r[i].next_try != 0 &&
			    qstate_flush_rcpt(&fc->q[j], &rec->r[i])) {
				rec->r[i].next_try = 0;
				changed = 1;
			}
	}
	return changed ? 0 : QSTATE_KEEP;
}

/* runner_flush - apply a batch of flush requests (one walk over the
 * queue for all of them), then rescan. */
int
runner_flush(struct runner *r, const struct qflush *q, size_t nq)
{
	struct runner_flush_ctx fc = { q, nq, NULL, 0, 0 };
	size_t	 i;
	int	 rc;

	if (nq == 0)
		return 0;
	if ((rc = qstate_traverse(r->qs, runner_flush_pick, &fc)) == 0)
		for (i = 0; i < fc.n; i++)
			(void)qstate_update(r->qs, fc.ids[i], runner_flush_fn,
			    &fc);
	for (i = 0; i < nq; i++)
		log_info("flush: %s%s%s%s%s%s%s", q[i].all ? "all sites" :
		    "site=", q[i].all ? "" : q[i].site, *q[i].id ? " id=" : "",
		    q[i].id, *q[i].domain ? " domain=" : "", q[i].domain,
		    *q[i].sender ? " sender" : "");
	log_info("flush: %zu request(s), %zu message(s)", nq, fc.n);
	free(fc.ids);
	routeq_forget(r->rq);	/* deferred domains are asked again */
	if (rc == 0)
		rc = runner_scan(r);
	return rc;
}
