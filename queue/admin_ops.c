/*
 * admin_ops.c - the verbs that act on the queue: flush, freeze, thaw,
 * delete and bounce.
 *
 * Freeze and thaw of a site flip its flags in bucket.tdb (the runner
 * delivers nothing of a frozen site).  Thawing then releases the messages
 * that were accepted while the site was frozen and so never charged
 * (QREC_UNCHARGED): oldest first, each is charged with
 * bucket_charge_release() and gets the resulting hold time, so the backlog
 * drains at the site's rate instead of all at once.  Messages that were
 * charged before the freeze keep their hold time.
 *
 * Delete takes the record's lock and the runner's delivery lock (flock on
 * the spool file), unlinks the file, deletes the record and logs "QID:
 * removed by admin"; a message the runner is delivering at that moment is
 * refused (EX_TEMPFAIL) rather than deleted half-way.  Recipients of a deleted
 * message that were still waiting for tokens are given back to the bucket
 * (a held message: bucket_refund HOLD; one accepted while frozen:
 * FROZEN_HOLD), so deleting a site's spam does not leave the site's
 * legitimate mail waiting behind it.
 *
 * Bounce writes the DSN itself (bounce_create) under the record's lock,
 * for the recipients still queued ("5.0.0 bounced by admin") and any
 * bounced earlier whose DSN is not queued yet, indexes the DSN, and removes
 * the original: it works the same for frozen messages and sites, and does
 * not wait for the runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sodium.h>

#include "queue/admin.h"
#include "queue/admin_int.h"
#include "queue/bounce.h"
#include "queue/bucket.h"
#include "queue/freeze.h"
#include "queue/qstate.h"
#include "util/buf.h"
#include "util/msg.h"

#define ADMIN_BOUNCE_DSN	"5.0.0"
#define ADMIN_BOUNCE_WHY	"bounced by admin"

/* A list of queue IDs collected by a walk. */
struct admin_qids {
	char	(*v)[SPOOL_QIDLEN + 1];
	size_t	 n, cap;
	int	 uncharged_only;
};

/* Per-ID results of a verb over several messages. */
struct admin_tally {
	size_t	 done, failed;
	int	 status;		/* the first failure */
};

/* tally_fail - report one message's failure and remember it. */
static void
tally_fail(struct admin_tally *t, int rc)
{
	msg_warnx("%s", err_str());
	if (t->failed++ == 0)
		t->status = rc;
}

/* tally_end - 0 when all went well, else a summary error. */
static int
tally_end(const struct admin_tally *t, const char *what)
{
	if (t->failed == 0)
		return 0;
	return err_set(t->status, "%zu of %zu message%s not %s", t->failed,
	    t->failed + t->done, t->failed + t->done == 1 ? "" : "s", what);
}

/* qids_add - admin_walk callback: remember the queue ID. */
static int
qids_add(struct admin_walk *w, const struct qrec *rec, uint32_t flags)
{
	struct admin_qids *q = w->ctx;

	(void)flags;
	if (q->uncharged_only && !(rec->qflags & QREC_UNCHARGED))
		return 0;
	if (q->n == q->cap) {
		size_t	 ncap = q->cap ? q->cap * 2 : 256;
		void	*p = realloc(q->v, ncap * sizeof(*q->v));

		if (p == NULL)
			return err_set(EX_TEMPFAIL, "out of memory");
		q->v = p;
		q->cap = ncap;
	}
	memcpy(q->v[q->n++], rec->qid, SPOOL_QIDLEN + 1);
	return 0;
}

/* qids_cmp - oldest first. */
static int
qids_cmp(const void *x, const void *y)
{
	return memcmp(x, y, SPOOL_QIDLEN);
}

/* qids_collect - the sorted IDs of the messages f selects. */
static int
qids_collect(struct admin *a, const struct admin_filter *f, int final,
    struct admin_qids *q)
{
	struct admin_walk w;
	int	 rc;

	memset(&w, 0, sizeof(w));
	w.a = a;
	w.f = f;
	w.include_final = final;
	w.fn = qids_add;
	w.ctx = q;
	if ((rc = admin_walk(&w)) == 0 && q->n > 1)
		qsort(q->v, q->n, sizeof(*q->v), qids_cmp);
	return rc;
}

/* Flush. */

/* flush_ids - one request per message the caller may see. */
static int
flush_ids(struct admin *a, char *const *ids, size_t n)
{
	struct admin_tally t = { 0, 0, 0 };
	struct qstate *qs;
	struct qrec rec;
	size_t	 i;
	int	 rc;

	if ((rc = admin_qs(a, 0, &qs)) != 0 && rc != EX_NOINPUT)
		return rc;
	for (i = 0; i < n; i++) {
		if (!spool_qid_valid(ids[i]))
			rc = err_set(EX_NOINPUT, "%s: no such message", ids[i]);
		else if (qs == NULL)
			rc = err_set(EX_NOINPUT, "%s: no such message", ids[i]);
		else if ((rc = admin_get(a, qs, ids[i], &rec)) == 0) {
			qrec_free(&rec);
			rc = qstate_flush_request(a->conf, a->caller, a->all,
			    ids[i], NULL, NULL);
		}
		if (rc)
			tally_fail(&t, rc);
		else
			t.done++;
	}
	return tally_end(&t, "flushed");
}

/* admin_flush - ask the runner to retry now. */
int
admin_flush(struct admin *a, const char *site, char *const *ids, size_t n)
{
	struct admin_filter f = { site, NULL, NULL, 0 };
	struct site_id sid;
	int	 rc;

	if (n > 0)
		return flush_ids(a, ids, n);
	if (site == NULL)
		return qstate_flush_request(a->conf, a->caller, a->all, NULL,
		    NULL, NULL);
	if ((rc = admin_filter_check(a, &f)) != 0)
		return rc;
	memset(&sid, 0, sizeof(sid));
	if (snprintf(sid.name, sizeof(sid.name), "%s", site) >=
	    (int)sizeof(sid.name))
		return err_set(EX_USAGE, "site name too long");
	return qstate_flush_request(a->conf, &sid, 0, NULL, NULL, NULL);
}

/* Freeze and thaw. */

/* site_of_login - 1 if name is the site of the user of that login. */
static int
site_of_login(const struct conf *conf, const char *name)
{
	struct passwd pw, *res = NULL;
	struct site_id sid;
	char	 pbuf[4096], *end;
	unsigned long uid;

	if (strncmp(name, "uid", 3) == 0 && name[3] >= '0' && name[3] <= '9') {
		errno = 0;
		uid = strtoul(name + 3, &end, 10);
		if (errno || *end || uid >= (uid_t)-1)
			return 0;
	} else if (getpwnam_r(name, &pw, pbuf, sizeof(pbuf), &res) == 0 &&
	    res != NULL)
		uid = pw.pw_uid;
	else
		return 0;
	return site_identify(conf, (uid_t)uid, &sid) == 0 &&
	    strcmp(sid.name, name) == 0;
}

/* bucket_has - bucket_sites callback: stop at the site named ctx. */
static int
bucket_has(void *ctx, const char *site, const struct bucket_rec *br)
{
	(void)br;
	return strcmp(site, ctx) == 0;
}

/* admin_site_known - a site of this host, or one with a bucket. */
int
admin_site_known(struct admin *a, const char *name)
{
	struct bucket_db *bdb;

	if (name == NULL || *name == '\0' || strlen(name) > SITE_NAME_MAX)
		return 0;
	if (strcmp(name, SITE_SYSTEM) == 0 ||
	    conf_site_find(a->conf, name) != NULL ||
	    site_of_login(a->conf, name))
		return 1;
	return admin_bdb(a, 0, &bdb) == 0 &&
	    bucket_sites(bdb, bucket_has, (void *)(uintptr_t)name) == 1;
}

/* One release at thaw. */
struct admin_release {
	struct bucket_db *bdb;
	const char *site;
	struct conf_limits limits;
	double	 now;
	int	 refrozen;		/* the site was frozen again */
	int	 held;			/* this one was held */
	time_t	 hold;
};

/* release_one - qstate_update callback: charge an uncharged message. */
static int
release_one(void *ctx, struct qrec *rec)
{
	struct admin_release *r = ctx;
	struct bucket_result res;
	size_t	 i, cost = 0;
	int	 rc;

	if (!(rec->qflags & QREC_UNCHARGED))
		return QSTATE_KEEP;
	for (i = 0; i < rec->nr; i++)
		if (rec->r[i].status != QR_SENT &&
		    rec->r[i].status != QR_BOUNCED)
			cost++;
	if ((rc = bucket_charge_release(r->bdb, r->site, &r->limits,
	    (double)cost, r->now, &res)) != 0)
		return rc;
	if (res.verdict == BUCKET_FROZEN_HOLD) {
		/* Frozen again meanwhile: it stays uncharged; undo the
		 * frozen_waiting it just added, it was counted before. */
		(void)bucket_refund(r->bdb, r->site, &r->limits,
		    BUCKET_FROZEN_HOLD, (double)cost, r->now);
		r->refrozen = 1;
		return QSTATE_KEEP;
	}
	rec->qflags &= ~(unsigned)QREC_UNCHARGED;
	rec->hold = res.verdict == BUCKET_HOLD ? (time_t)res.hold + 1 : 0;
	r->held = rec->hold != 0;
	r->hold = rec->hold;
	return 0;
}

/* thaw_release - charge the site's uncharged messages, oldest first. */
static int
thaw_release(struct admin *a, struct bucket_db *bdb, const char *site,
    FILE *fp)
{
	struct admin_filter f = { site, NULL, NULL, 0 };
	struct admin_qids q = { NULL, 0, 0, 1 };
	struct admin_release r;
	struct qstate *qs;
	size_t	 i, sent = 0, held = 0;
	time_t	 last = 0;
	char	 when[64];
	int	 rc;

	memset(&r, 0, sizeof(r));
	r.bdb = bdb;
	r.site = site;
	site_limits(a->conf, site, &r.limits);
	if ((rc = admin_qs(a, 1, &qs)) != 0 ||
	    (rc = qids_collect(a, &f, 0, &q)) != 0) {
		free(q.v);
		return rc;
	}
	for (i = 0; i < q.n && !r.refrozen; i++) {
		r.now = (double)time(NULL);
		r.held = 0;
		rc = qstate_update(qs, q.v[i], release_one, &r);
		if (rc == EX_NOINPUT || r.refrozen)
			continue;
		if (rc != 0)
			break;
		if (r.held) {
			held++;
			last = r.hold;
		} else
			sent++;
	}
	free(q.v);
	if (rc != 0 && rc != EX_NOINPUT)
		return rc;
	admin_time(last, when, sizeof(when));
	log_info("site %s: released %zu messages: %zu now, %zu held%s%s",
	    site, sent + held, sent, held, held ? " until " : "",
	    held ? when : "");
	fprintf(fp, "site %s: thawed; %zu message%s released: %zu now, "
	    "%zu held by the rate limit%s%s\n", site, sent + held,
	    sent + held == 1 ? "" : "s", sent, held, held ? " until " : "",
	    held ? when : "");
	if (r.refrozen)
		fprintf(fp, "site %s: frozen again while releasing\n", site);
	return 0;
}

/* thaw_wake - ask the runner to look at the thawed site now. */
static int
thaw_wake(struct admin *a, const char *site)
{
	struct site_id sid;

	memset(&sid, 0, sizeof(sid));
	snprintf(sid.name, sizeof(sid.name), "%s", site);
	if (qstate_flush_request(a->conf, &sid, 0, NULL, NULL, NULL) != 0)
		log_warn("site %s: thawed, but the runner was not woken: %s",
		    site, err_str());
	return 0;
}

/* admin_freeze_site - freeze or thaw a site. */
int
admin_freeze_site(struct admin *a, const char *site, int freeze, FILE *fp)
{
	struct conf_limits lim;
	struct bucket_rec br;
	struct bucket_db *bdb;
	int	 rc;

	if (!admin_site_known(a, site))
		return err_set(EX_NOINPUT, "%s: no such site", site);
	/* The marker is the durable freeze: first on, last off. */
	if (freeze && (rc = freeze_site_set(a->conf->spool_dir, site, 1)) != 0)
		return rc;
	if ((rc = admin_bdb(a, 1, &bdb)) != 0)
		return rc;
	site_limits(a->conf, site, &lim);
	if ((rc = bucket_get(bdb, site, &lim, (double)time(NULL), &br)) != 0)
		return rc;
	if (freeze && (br.flags & BUCKET_FROZEN)) {
		fprintf(fp, "site %s: already frozen%s\n", site,
		    br.flags & BUCKET_AUTO ? " (auto-frozen)" : "");
		return 0;
	}
	if ((rc = bucket_set_frozen(bdb, site, freeze, 0)) != 0)
		return rc;
	if (freeze) {
		log_warn("site %s: frozen by admin uid=%lu", site,
		    (unsigned long)a->uid);
		fprintf(fp, "site %s: frozen\n", site);
		return 0;
	}
	if ((rc = freeze_site_set(a->conf->spool_dir, site, 0)) != 0)
		return rc;
	if (br.flags & BUCKET_FROZEN)
		log_warn("site %s: thawed by admin uid=%lu%s", site,
		    (unsigned long)a->uid, br.flags & BUCKET_AUTO ?
		    " (was auto-frozen)" : "");
	if ((rc = thaw_release(a, bdb, site, fp)) != 0)
		return rc;
	return thaw_wake(a, site);
}

/* freeze_one - qstate_update callback: set the message's freeze. */
static int
freeze_one(void *ctx, struct qrec *rec)
{
	int	*freeze = ctx;

	if (rec->frozen == *freeze)
		return QSTATE_KEEP;
	rec->frozen = *freeze;
	return 0;
}

/* admin_freeze_ids - freeze or thaw single messages. */
int
admin_freeze_ids(struct admin *a, char *const *ids, size_t n, int freeze,
    FILE *fp)
{
	struct admin_tally t = { 0, 0, 0 };
	struct qstate *qs;
	size_t	 i;
	int	 rc;

	if ((rc = admin_qs(a, 1, &qs)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		/* The marker first on, last off (queue/freeze.h). */
		rc = !spool_qid_valid(ids[i]) ? EX_NOINPUT : freeze ?
		    freeze_msg_set(a->conf->spool_dir, ids[i], 1) : 0;
		if (rc == 0 && spool_qid_valid(ids[i]))
			rc = qstate_update(qs, ids[i], freeze_one, &freeze);
		if (rc == 0 && !freeze)
			rc = freeze_msg_set(a->conf->spool_dir, ids[i], 0);
		else if (rc == EX_NOINPUT && freeze)
			(void)freeze_msg_set(a->conf->spool_dir, ids[i], 0);
		if (rc == EX_NOINPUT)
			rc = err_set(EX_NOINPUT, "%s: no such message", ids[i]);
		if (rc) {
			tally_fail(&t, rc);
			continue;
		}
		t.done++;
		log_info("%s: %s by admin uid=%lu", ids[i], freeze ? "frozen" :
		    "thawed", (unsigned long)a->uid);
		fprintf(fp, "%s: %s\n", ids[i], freeze ? "frozen" : "thawed");
	}
	return tally_end(&t, freeze ? "frozen" : "thawed");
}

/* Delete. */

/* delete_refund - give back the tokens of recipients still waiting. */
static void
delete_refund(struct admin *a, const struct qrec *rec)
{
	struct conf_limits lim;
	struct bucket_db *bdb;
	enum bucket_verdict v;
	size_t	 i, cost = 0;

	if (rec->qflags & QREC_UNCHARGED)
		v = BUCKET_FROZEN_HOLD;
	else if (rec->hold > time(NULL))
		v = BUCKET_HOLD;
	else
		return;
	for (i = 0; i < rec->nr; i++)
		if (rec->r[i].status != QR_SENT &&
		    rec->r[i].status != QR_BOUNCED)
			cost++;
	if (cost == 0 || admin_bdb(a, 0, &bdb) != 0)
		return;
	site_limits(a->conf, rec->site, &lim);
	if (bucket_refund(bdb, rec->site, &lim, v, (double)cost,
	    (double)time(NULL)) != 0)
		log_warn("%s: cannot refund the site's tokens: %s", rec->qid,
		    err_str());
}

/* admin_deliver_lock - take the runner's delivery lock on the spool file
 * (flock, exclusive, non-blocking): *fdp is -1 when there is no file.
 * EX_TEMPFAIL while the runner is delivering the message right now. */
static int
admin_deliver_lock(int qfd, const char *qid, int *fdp)
{
	int	 fd;

	*fdp = -1;
	fd = openat(qfd, qid, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_set(EX_TEMPFAIL, "%s: cannot "
		    "open the spool file: %s", qid, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return err_set(EX_TEMPFAIL, "%s: being delivered right now; "
		    "freeze it first, or try again", qid);
	}
	*fdp = fd;
	return 0;
}

/* delete_locked - unlink the file and drop the record (record lock held).
 * The delivery lock is held across the unlink, so a runner either is
 * refused or finds the file gone (nlink 0) and delivers nothing. */
static int
delete_locked(struct qstate *qs, int qfd, const char *qid, struct qrec *rec,
    int *have)
{
	int	 rc, fd;

	rc = qstate_get(qs, qid, rec);
	*have = rc == 0;
	if (rc != 0 && rc != EX_NOINPUT && rc != EX_DATAERR)
		return rc;
	if ((rc = admin_deliver_lock(qfd, qid, &fd)) != 0)
		return rc;
	if (fd < 0 && !*have)
		return err_set(EX_NOINPUT, "%s: no such message", qid);
	if (fd >= 0 && unlinkat(qfd, qid, 0) < 0 && errno != ENOENT) {
		rc = err_set(EX_TEMPFAIL, "%s: cannot remove the spool file: "
		    "%s", qid, strerror(errno));
		close(fd);
		return rc;
	}
	rc = qstate_delete(qs, qid);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* delete_one - remove one message. */
static int
delete_one(struct admin *a, struct qstate *qs, int qfd, const char *qid)
{
	struct qrec rec;
	int	 rc, have = 0;

	if (!spool_qid_valid(qid))
		return err_set(EX_NOINPUT, "%s: no such message", qid);
	if ((rc = qstate_lock(qs, qid)) != 0)
		return rc;
	rc = delete_locked(qs, qfd, qid, &rec, &have);
	qstate_unlock(qs, qid);
	if (rc == 0) {
		log_info("%s: removed by admin uid=%lu site=%s", qid,
		    (unsigned long)a->uid, have ? rec.site : "?");
		if (have)
			delete_refund(a, &rec);
	}
	if (have)
		qrec_free(&rec);
	return rc;
}

/* admin_delete - delete named messages or a site's selection. */
int
admin_delete(struct admin *a, const struct admin_filter *f,
    char *const *ids, size_t n, FILE *fp)
{
	struct admin_qids q = { NULL, 0, 0, 0 };
	struct admin_tally t = { 0, 0, 0 };
	struct qstate *qs;
	size_t	 i;
	int	 rc, qfd = -1;

	if (ids == NULL && (f == NULL || f->site == NULL))
		return err_set(EX_USAGE, "delete needs queue IDs or --site");
	if ((rc = admin_qs(a, 1, &qs)) != 0 ||
	    (rc = admin_queue_fd(a->conf, &qfd)) != 0)
		return rc;
	if (ids == NULL && (rc = qids_collect(a, f, 1, &q)) != 0) {
		close(qfd);
		return rc;
	}
	for (i = 0; i < (ids ? n : q.n); i++) {
		const char *qid = ids ? ids[i] : q.v[i];

		if ((rc = delete_one(a, qs, qfd, qid)) != 0) {
			tally_fail(&t, rc);
			continue;
		}
		t.done++;
		fprintf(fp, "%s: removed\n", qid);
	}
	free(q.v);
	close(qfd);
	fprintf(fp, "Deleted: %zu message%s\n", t.done, t.done == 1 ? "" : "s");
	fflush(fp);
	return tally_end(&t, "deleted");
}

/* Bounce. */

/* One bounce in progress. */
struct admin_bouncing {
	struct admin *a;
	struct qstate *qs;
	int	 qfd;
	const unsigned char *key;
	struct admin_stats *st;
};

/* bounce_list - the recipients the DSN reports. */
static int
bounce_list(const struct qrec *rec, struct bounce_rcpt **vp, size_t *np)
{
	struct bounce_rcpt *v;
	size_t	 i, n = 0;

	if ((v = calloc(rec->nr ? rec->nr : 1, sizeof(*v))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	for (i = 0; i < rec->nr; i++) {
		const struct qrcpt *r = &rec->r[i];

		if (r->status == QR_SENT || (r->status == QR_BOUNCED &&
		    ((rec->qflags & QREC_DSN_QUEUED) ||
		    (r->rflags & QRCPT_REPORTED))))
			continue;	/* delivered, or already reported */
		v[n].address = r->addr;
		if (r->status == QR_BOUNCED) {
			v[n].status = r->dsn;
			v[n].diagnostic = r->reason;
		} else {
			v[n].status = ADMIN_BOUNCE_DSN;
			v[n].diagnostic = ADMIN_BOUNCE_WHY;
		}
		n++;
	}
	*vp = v;
	*np = n;
	return 0;
}

/* bounce_index - add the DSN's record so it goes out on the next pass. */
static void
bounce_index(struct admin_bouncing *b, const char *dsnqid)
{
	struct spool_msg m;

	if (spool_open(&m, b->qfd, dsnqid, b->key) != 0) {
		log_warn("%s: cannot index the new DSN: %s", dsnqid, err_str());
		return;
	}
	if (qstate_add(b->qs, &m.env, m.content_len) != 0)
		log_warn("%s: cannot index the new DSN: %s", dsnqid, err_str());
	spool_close(&m);
}

/* bounce_mark - log and mark the queued recipients bounced. */
static void
bounce_mark(struct admin_bouncing *b, struct qrec *rec)
{
	size_t	 i;
	char	*dsn, *why;

	for (i = 0; i < rec->nr; i++) {
		struct qrcpt *r = &rec->r[i];

		if (r->status == QR_SENT || r->status == QR_BOUNCED)
			continue;
		dsn = strdup(ADMIN_BOUNCE_DSN);
		why = strdup(ADMIN_BOUNCE_WHY);
		if (dsn && why) {
			free(r->dsn);
			free(r->reason);
			r->dsn = dsn;
			r->reason = why;
		} else {
			free(dsn);
			free(why);
		}
		r->status = QR_BOUNCED;
		log_info("%s: to=<%s>, relay=none, delay=%lld, dsn=%s, "
		    "status=bounced (%s)", rec->qid, r->addr,
		    (long long)(time(NULL) - rec->arrival), ADMIN_BOUNCE_DSN,
		    ADMIN_BOUNCE_WHY);
		if (b->st)
			(void)admin_stats_count(b->st, rec->site,
			    ADMIN_STAT_BOUNCED, 1, time(NULL));
	}
	rec->qflags |= QREC_DSN_QUEUED;
}

/* bounce_locked - DSN, mark, remove (record lock held). */
static int
bounce_locked(struct admin_bouncing *b, const char *qid, FILE *fp)
{
	struct bounce_rcpt *br = NULL;
	struct spool_msg m;
	struct qrec rec;
	char	 dsnqid[SPOOL_QIDLEN + 1];
	size_t	 nbr = 0;
	int	 rc;

	if ((rc = admin_get(b->a, b->qs, qid, &rec)) != 0)
		return rc;
	if ((rc = spool_open(&m, b->qfd, qid, b->key)) != 0) {
		qrec_free(&rec);
		return err_set(rc, "%s: cannot open the message: %s", qid,
		    err_str());
	}
	/* The runner's delivery lock, held until the file is unlinked. */
	if (flock(m.fd, LOCK_EX | LOCK_NB) < 0) {
		spool_close(&m);
		qrec_free(&rec);
		return err_set(EX_TEMPFAIL, "%s: being delivered right now; "
		    "freeze it first, or try again", qid);
	}
	if ((rc = bounce_list(&rec, &br, &nbr)) == 0 && nbr > 0)
		rc = bounce_create(b->a->conf->spool_dir, b->key,
		    b->a->conf->hostname, &m, br, nbr, dsnqid);
	free(br);
	if (rc != 0 && rc != BOUNCE_DROPPED) {
		spool_close(&m);
		qrec_free(&rec);
		return rc;
	}
	bounce_mark(b, &rec);
	if (rc == 0 && nbr > 0) {
		bounce_index(b, dsnqid);
		log_info("%s: sender non-delivery notification: %s", qid,
		    dsnqid);
		fprintf(fp, "%s: bounced; notification %s to <%s>\n", qid,
		    dsnqid, rec.sender);
	} else
		fprintf(fp, "%s: bounced; no notification (%s)\n", qid,
		    *rec.sender ? "nothing to report" : "null sender");
	/* Every recipient is final now: the message is done. */
	if (unlinkat(b->qfd, qid, 0) < 0 && errno != ENOENT)
		rc = err_set(EX_TEMPFAIL, "%s: cannot remove the spool file: "
		    "%s", qid, strerror(errno));
	else {
		rc = qstate_delete(b->qs, qid);
		log_info("%s: removed", qid);
	}
	if (rc != 0)		/* keep the state: never a second DSN */
		(void)qstate_put(b->qs, &rec);
	spool_close(&m);	/* drops the delivery lock */
	qrec_free(&rec);
	return rc;
}

/* admin_bounce - bounce the named messages. */
int
admin_bounce(struct admin *a, char *const *ids, size_t n, FILE *fp)
{
	unsigned char key[SPOOL_KEYLEN];
	struct admin_bouncing b;
	struct admin_tally t = { 0, 0, 0 };
	size_t	 i;
	int	 rc;

	memset(&b, 0, sizeof(b));
	b.a = a;
	b.key = key;
	b.qfd = -1;
	if ((rc = admin_qs(a, 1, &b.qs)) != 0 ||
	    (rc = admin_key_load(a->conf, key)) != 0 ||
	    (rc = admin_queue_fd(a->conf, &b.qfd)) != 0)
		goto out;
	if (admin_stats_open(&b.st, a->conf->spool_dir, 0) != 0)
		b.st = NULL;
	for (i = 0; i < n; i++) {
		if (!spool_qid_valid(ids[i]))
			rc = err_set(EX_NOINPUT, "%s: no such message", ids[i]);
		else if ((rc = qstate_lock(b.qs, ids[i])) == 0) {
			rc = bounce_locked(&b, ids[i], fp);
			qstate_unlock(b.qs, ids[i]);
		}
		if (rc)
			tally_fail(&t, rc);
		else
			t.done++;
	}
	rc = tally_end(&t, "bounced");
out:
	admin_stats_close(b.st);
	if (b.qfd >= 0)
		close(b.qfd);
	sodium_memzero(key, sizeof(key));
	return rc;
}
