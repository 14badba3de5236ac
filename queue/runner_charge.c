/*
 * runner_charge.c - the runner's side of bucket accounting: intake's
 * charges and refunds over the sitemaild socket (kept in the charge book,
 * queue/charge.c), the late charge of a message intake committed without
 * a verdict (settled at pickup, recorded in its done map first so a
 * rebuilt record never charges it twice), and the refund of charges whose
 * message never arrived.
 */
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/donemap.h"
#include "queue/runner_int.h"
#include "util/msg.h"

#define RUNNER_EXPIRE_EVERY	10	/* seconds between charge refund checks */
#define RUNNER_CHARGE_GRACE	120	/* an intake charge whose file never came */

/* runner_charge_ctx - what a bucket charge needs. */
void
runner_charge_ctx(struct runner *r, struct charge_ctx *cx)
{
	cx->conf = r->conf;
	cx->bdb = r->bdb;
	cx->key = r->key;
}

/* What runner_settle_fn stores. */
struct runner_settle {
	time_t	 hold;
	int	 uncharged;
};

/* runner_settle_fn - store the late charge (under the record lock). */
static int
runner_settle_fn(void *arg, struct qrec *rec)
{
	const struct runner_settle *st = arg;

	if (!(rec->flags & SPOOL_F_NOVERDICT))
		return QSTATE_KEEP;
	rec->flags &= ~SPOOL_F_NOVERDICT;
	rec->hold = st->hold;
	if (st->uncharged)
		rec->qflags |= QREC_UNCHARGED;
	return 0;
}

/* runner_settle_env - settle the charge of the committed message env
 * (SPOOL_F_NOVERDICT): intake's booked charge or a late one, recorded in
 * its done map before the queue record, so a record rebuilt from the
 * signed envelope never charges it twice; st says the outcome. */
static int
runner_settle_env(struct runner *r, const struct envelope *env,
    size_t nr, struct runner_settle *st)
{
	struct charge_ctx cx;
	struct charge_msg cm;
	int	 rc;

	st->hold = 0;
	st->uncharged = 0;
	if (!charge_settle(r->book, env->qid)) {
		runner_charge_ctx(r, &cx);
		cm.qid = env->qid;
		cm.site = env->site;
		cm.uid = env->uid;
		cm.nrcpt = env->nrcpt;
		cm.cwd = env->cwd;
		cm.exe = env->exe;
		if ((rc = charge_late(&cx, &cm, runner_now(), &st->hold,
		    &st->uncharged)) != 0) {
			log_error("%s: cannot charge site %s: %s", cm.qid,
			    cm.site, err_str());
			return rc;
		}
	}
	if (donemap_settled(r->conf->spool_dir, env->qid, nr,
	    st->uncharged) != 0)
		log_warn("%s: %s", env->qid, err_str());
	return qstate_update(r->qs, env->qid, runner_settle_fn, st);
}

/* runner_settle - settle the bucket charge of a message the runner is
 * about to handle: intake's booked charge, or a late one. */
int
runner_settle(struct runner *r, struct rmsg *m)
{
	struct runner_settle st;
	int	 rc;

	if (!(m->rec.flags & SPOOL_F_NOVERDICT)) {
		(void)charge_settle(r->book, m->rec.qid);
		return 0;
	}
	if ((rc = runner_settle_env(r, &m->msg.env, m->rec.nr, &st)) != 0)
		return rc;
	m->rec.flags &= ~SPOOL_F_NOVERDICT;
	m->rec.hold = st.hold;
	if (st.uncharged)
		m->rec.qflags |= QREC_UNCHARGED;
	runner_due_at(r, st.hold);
	return 0;
}

/* runner_intake_charge - charge a message intake is about to commit. */
int
runner_intake_charge(struct runner *r, const struct site_id *site,
    const char *qid, unsigned nrcpt, const char *cwd, const char *exe,
    struct verdict_ans *ans)
{
	struct charge_ctx cx;

	runner_charge_ctx(r, &cx);
	return charge_intake(r->book, &cx, site, qid, nrcpt, runner_now(),
	    cwd, exe, ans);
}

/* runner_intake_refund - undo the charge of a message never committed. */
int
runner_intake_refund(struct runner *r, const char *qid)
{
	struct charge_ctx cx;

	runner_charge_ctx(r, &cx);
	return charge_refund(r->book, &cx, qid, runner_now());
}

/* runner_expire - refund charges whose message never arrived. */
void
runner_expire(struct runner *r)
{
	struct charge_ctx cx;
	time_t	 now = time(NULL);
	int	 tmpfd;

	if (now - r->last_expire < RUNNER_EXPIRE_EVERY)
		return;
	r->last_expire = now;
	if ((tmpfd = openat(r->spoolfd, "tmp", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return;
	runner_charge_ctx(r, &cx);
	charge_expire(r->book, &cx, tmpfd, r->queuefd, now,
	    RUNNER_CHARGE_GRACE);
	close(tmpfd);
}

/* runner_index - index a committed file and settle its charge, without
 * delivering it (sitemaild --hold). */
void
runner_index(struct runner *r, const char *qid)
{
	struct runner_settle st;
	struct spool_msg msg;

	if (!spool_qid_valid(qid) ||
	    spool_open(&msg, r->queuefd, qid, r->key) != 0)
		return;
	if (qstate_add(r->qs, &msg.env, msg.content_len) != 0)
		log_warn("%s: cannot index: %s", qid, err_str());
	else if (msg.env.flags & SPOOL_F_NOVERDICT)
		(void)runner_settle_env(r, &msg.env, msg.env.nrcpt, &st);
	else
		(void)charge_settle(r->book, qid);
	spool_close(&msg);
}
