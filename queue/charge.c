/*
 * charge.c - the bucket charges of incoming mail, in sitemaild (see
 * charge.h for the book and why every recipient is charged once).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/charge.h"
#include "queue/freeze.h"
#include "queue/notify.h"
#include "queue/site.h"
#include "util/buf.h"
#include "util/msg.h"

/* One charge made for intake, waiting for its file. */
struct charge_entry {
	char	 qid[SPOOL_QIDLEN + 1];
	char	 site[SITE_NAME_MAX + 1];
	double	 cost;
	double	 when;
	enum bucket_verdict verdict;
};

struct charge_book {
	struct charge_entry *v;
	size_t	 n, cap;
};

/* charge_book_new - an empty book. */
int
charge_book_new(struct charge_book **bp)
{
	if ((*bp = calloc(1, sizeof(**bp))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	return 0;
}

/* charge_book_free - forget every entry. */
void
charge_book_free(struct charge_book *b)
{
	if (b == NULL)
		return;
	free(b->v);
	free(b);
}

/* charge_find - the index of qid's entry, or -1. */
static ssize_t
charge_find(const struct charge_book *b, const char *qid)
{
	size_t	 i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->v[i].qid, qid) == 0)
			return (ssize_t)i;
	return -1;
}

/* charge_drop - remove entry i (order is kept: oldest first). */
static void
charge_drop(struct charge_book *b, size_t i)
{
	memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof(b->v[0]));
	b->n--;
}

/* charge_note - remember a charge; the oldest entry goes when full. */
static void
charge_note(struct charge_book *b, const char *qid, const char *site,
    double cost, double now, enum bucket_verdict v)
{
	struct charge_entry *e;
	size_t	 cap;

	if (b->n == CHARGE_BOOK_MAX) {
		log_warn("charge book full: the charge of %s can no longer be "
		    "refunded", b->v[0].qid);
		charge_drop(b, 0);
	}
	if (b->n == b->cap) {
		cap = b->cap ? b->cap * 2 : 64;
		if ((e = realloc(b->v, cap * sizeof(*e))) == NULL)
			return;		/* not refundable; still charged */
		b->v = e;
		b->cap = cap;
	}
	e = &b->v[b->n++];
	snprintf(e->qid, sizeof(e->qid), "%s", qid);
	snprintf(e->site, sizeof(e->site), "%s", site);
	e->cost = cost;
	e->when = now;
	e->verdict = v;
}

/* charge_intake - charge a message intake is about to commit. */
int
charge_intake(struct charge_book *b, const struct charge_ctx *cx,
    const struct site_id *site, const char *qid, unsigned nrcpt, double now,
    const char *cwd, const char *exe, struct verdict_ans *ans)
{
	struct bucket_result br;
	int	 rc;

	if (!spool_qid_valid(qid) || nrcpt == 0)
		return err_set(EX_DATAERR, "bad charge request");
	if (charge_find(b, qid) >= 0)
		return err_set(EX_DATAERR, "%s: charged already", qid);
	if ((rc = bucket_charge(cx->bdb, site->name, &site->limits,
	    (double)nrcpt, now, &br)) != 0)
		return rc;
	memset(ans, 0, sizeof(*ans));
	ans->verdict = br.verdict;
	snprintf(ans->site, sizeof(ans->site), "%s", site->name);
	ans->hold = br.hold;
	ans->tokens = br.tokens;
	ans->backlog = br.backlog;
	ans->limit = site->limits.backlog;
	if (br.just_frozen)
		charge_alert(cx, site->name, site->uid, br.backlog,
		    site->limits.backlog, cwd, exe);
	if (br.verdict != BUCKET_REFUSED)
		charge_note(b, qid, site->name, (double)nrcpt, now, br.verdict);
	return 0;
}

/* charge_refund - undo the charge of qid. */
int
charge_refund(struct charge_book *b, const struct charge_ctx *cx,
    const char *qid, double now)
{
	struct conf_limits lim;
	struct charge_entry e;
	ssize_t	 i;

	if ((i = charge_find(b, qid)) < 0)
		return err_set(EX_NOINPUT, "%s: no charge to refund", qid);
	e = b->v[i];
	charge_drop(b, (size_t)i);
	site_limits(cx->conf, e.site, &lim);
	return bucket_refund(cx->bdb, e.site, &lim, e.verdict, e.cost, now);
}

/* charge_settle - the runner has seen qid: 1 if intake's charge of it
 * was booked (the entry is dropped), else 0. */
int
charge_settle(struct charge_book *b, const char *qid)
{
	ssize_t	 i;

	if ((i = charge_find(b, qid)) < 0)
		return 0;
	charge_drop(b, (size_t)i);
	return 1;
}

/* charge_site - the site qid was charged to, or NULL.  Searched newest
 * first: the runner asks as the file arrives, just after the charge. */
const char *
charge_site(const struct charge_book *b, const char *qid)
{
	size_t	 i;

	for (i = b->n; i > 0; i--)
		if (strcmp(b->v[i - 1].qid, qid) == 0)
			return b->v[i - 1].site;
	return NULL;
}

/* charge_late - charge a message whose intake had no verdict: *hold is
 * when it may go (0: now), *uncharged set when the site is frozen (the
 * message then waits for a thaw, uncharged). */
int
charge_late(const struct charge_ctx *cx, const struct charge_msg *m,
    double now, time_t *hold, int *uncharged)
{
	struct conf_limits lim;
	struct bucket_result br;
	int	 rc;

	*hold = 0;
	*uncharged = 0;
	site_limits(cx->conf, m->site, &lim);
	if ((rc = bucket_charge(cx->bdb, m->site, &lim, (double)m->nrcpt,
	    now, &br)) != 0)
		return rc;
	if (br.just_frozen)
		charge_alert(cx, m->site, m->uid, br.backlog, lim.backlog,
		    m->cwd, m->exe);
	if (br.verdict == BUCKET_HOLD)
		*hold = (time_t)br.hold + 1;
	else if (br.verdict != BUCKET_SEND)
		*uncharged = 1;		/* frozen: released by a thaw */
	log_info("%s: charged at pickup: site=%s nrcpt=%zu verdict=%s "
	    "tokens=%.1f", m->qid, m->site, m->nrcpt,
	    verdict_name(br.verdict), br.tokens);
	return 0;
}

/* charge_exists - 1 if name exists in the directory dirfd. */
static int
charge_exists(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT;
}

/* charge_expire - refund old entries whose message never arrived. */
void
charge_expire(struct charge_book *b, const struct charge_ctx *cx,
    int tmpfd, int queuefd, time_t now, time_t grace)
{
	struct conf_limits lim;
	struct charge_entry e;
	size_t	 i = 0;

	while (i < b->n) {
		e = b->v[i];
		if (e.when + (double)grace > (double)now ||
		    charge_exists(tmpfd, e.qid)) {
			i++;
			continue;
		}
		charge_drop(b, i);
		if (charge_exists(queuefd, e.qid))
			continue;	/* committed; the runner saw it late */
		site_limits(cx->conf, e.site, &lim);
		if (bucket_refund(cx->bdb, e.site, &lim, e.verdict, e.cost,
		    (double)now) == 0)
			log_info("%s: refunded %.0f token(s) to site %s: the "
			    "message was never committed", e.qid, e.cost,
			    e.site);
	}
}

/* charge_alert - an auto-freeze past the backlog: one notify event
 * (log line, notice to alert_to and the owner, webhook). */
void
charge_alert(const struct charge_ctx *cx, const char *site, uid_t uid,
    double backlog, double limit, const char *cwd, const char *exe)
{
	struct notify_ev ev;
	char	 ccwd[1024], cexe[1024], detail[2100];

	notify_clean(ccwd, sizeof(ccwd), cwd);
	notify_clean(cexe, sizeof(cexe), exe);
	log_warn("site frozen: site=%s uid=%lu backlog=%.0f limit=%.0f "
	    "cwd=%s exe=%s", site, (unsigned long)uid, backlog, limit, ccwd,
	    cexe);
	/* Durable at once (rstate.c would write it at the next look): the
	 * admin's thaw then removes a marker, which is the thaw event. */
	if (freeze_site_set(cx->conf->spool_dir, site, 2) != 0)
		log_warn("site %s: %s", site, err_str());
	memset(&ev, 0, sizeof(ev));
	ev.kind = NOTIFY_FREEZE;
	ev.site = site;
	ev.uid = uid;
	ev.trigger = "backlog";
	ev.fig[0].name = "backlog";
	ev.fig[0].value = backlog;
	ev.fig[1].name = "limit";
	ev.fig[1].value = limit;
	ev.nfig = 2;
	if (cwd != NULL && *cwd && strcmp(cwd, "?") != 0) {
		snprintf(detail, sizeof(detail), "last caller: cwd %s, "
		    "program %s", ccwd, cexe);
		ev.detail = detail;
	}
	notify_event(&ev);
}

