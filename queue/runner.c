/*
 * runner.c - the scheduler of the queue runner; see runner.h.
 *
 * Data flow.  runner_scan() walks state/queue.tdb once and queues the
 * IDs of the due messages per site, sorted by ID, which is arrival order.
 * runner_fill() takes them, fairly across sites, while the relay pool has
 * free slots: msg_start() opens, verifies and locks the spool file,
 * re-reads the record, routes the due recipients and queues one relay job
 * per group (route, credentials).  Jobs wait on the submit queue until a slot is
 * free.  When the last job of a message finishes, msg_complete() applies
 * every result to the record under its chain lock (merging into the
 * current record, so an admin freeze made meanwhile is kept), and
 * msg_finish() removes a message whose recipients are all final.
 *
 * Locking.  The spool file's flock (non-blocking, exclusive) is the
 * per-message delivery lock between runners; it is held from msg_start()
 * to the end of msg_complete().  Whoever holds it re-reads the record and
 * checks that the file still has one link before delivering: a runner that
 * finished a message unlinks the file before it deletes the record, so a
 * second runner either fails the flock or sees nlink 0 or no record.  A
 * crash between a delivery and the record update means that message's
 * recipients are tried again: duplicates only for messages in flight.
 *
 * Routing (runner_route.c).  Decisions come from DNS worker threads
 * (routeq.h): a message whose domains are being looked up is parked,
 * locked but using no slot, and routed once the answers are in, so a
 * slow DNS server never blocks this loop or another site.  Due messages
 * are taken round-robin across sites (sched.h), each site within its
 * share of slots while others wait.  Dead smarthost URLs are skipped and
 * a route whose every URL is dead waits as a whole (runner_health.c).
 * DSNs go after each attempt for the recipients that failed in it, and
 * once after delay_warning (runner_dsn.c).
 *
 * Thaw.  A message accepted while its site was frozen carries
 * QREC_UNCHARGED; once the site is thawed it is due, and msg_release()
 * charges it (bucket_charge_release, under the record lock, so the admin
 * tool and any number of runners charge it once) in arrival order, then
 * delivers it now or holds it until its tokens are there.
 *
 * Log lines (one per recipient and attempt, Postfix style):
 *	QID: to=<a>, relay=host[ip]:port, route=smarthost, delay=0.3,
 *	    dsn=2.0.0, status=sent (250 2.0.0 OK)
 *	QID: to=<a>, relay=none, route=bounce, delay=0.0, dsn=5.1.2,
 *	    status=bounced (domain x.test does not exist)
 *	QID: sender non-delivery notification: DSNQID
 *	QID: sender is null, no bounce: dropped
 *	QID: removed
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "queue/admin.h"
#include "queue/bounce.h"
#include "queue/bucket.h"
#include "queue/donemap.h"
#include "queue/failstat.h"
#include "queue/freeze.h"
#include "queue/dkim_key.h"
#include "queue/metrics.h"
#include "queue/notify.h"
#include "queue/qstate.h"
#include "queue/relay.h"
#include "queue/route.h"
#include "queue/rstate.h"
#include "queue/runner.h"
#include "queue/charge.h"
#include "queue/runner_int.h"
#include "queue/site.h"
#include "queue/statecheck.h"
#include "spool/spool.h"
#include "spool/usage.h"
#include "util/buf.h"
#include "util/db.h"
#include "util/msg.h"

#define RUNNER_DISPATCH_BUDGET	512	/* messages started per fill */
#define RUNNER_SITE_TTL		1	/* seconds a site's frozen flag is
					 * trusted */
#define RUNNER_SECRET_MAX	1024
#define RUNNER_FLUSH_STALE	3600	/* stale ".tmp" flush files */

static void msg_done_job(struct relay_job *);
static void runner_secret_forget(struct runner_secret *);
static void runner_tally_flush(struct runner *);

/* runner_now - the time as a double. */
double
runner_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* runner_routes - the relay routes of the smarthost and the local
 * transport, from the configuration. */
static int
runner_routes(struct runner *r)
{
	const struct conf *c = r->conf;
	size_t	 i, n = 0;

	free(r->sh_urls);
	r->sh_urls = calloc(c->smarthost_fallback.n + 1, sizeof(char *));
	if (r->sh_urls == NULL)
		return err_set(EX_TEMPFAIL, "runner: out of memory");
	if (c->smarthost_url && *c->smarthost_url)
		r->sh_urls[n++] = c->smarthost_url;
	for (i = 0; i < c->smarthost_fallback.n; i++)
		if (*c->smarthost_fallback.v[i])
			r->sh_urls[n++] = c->smarthost_fallback.v[i];
	memset(&r->smarthost, 0, sizeof(r->smarthost));
	r->smarthost.urls = r->sh_urls;
	r->smarthost.nurls = n;
	r->smarthost.require_tls = 1;
	r->smarthost.tls_verify = c->tls_verify;
	r->smarthost.ca_file = c->ca_file && *c->ca_file ? c->ca_file : NULL;
	r->smarthost.allow_plaintext = c->allow_plaintext;
	r->smarthost.helo = c->hostname;
	r->smarthost.connect_timeout = c->connect_timeout;
	r->smarthost.greeting_timeout = c->greeting_timeout;
	r->smarthost.command_timeout = c->command_timeout;
	r->smarthost.data_timeout = c->data_timeout;
	/* The local transport is this host's own MTA: opportunistic TLS. */
	memset(&r->local, 0, sizeof(r->local));
	r->local_urls[0] = c->local_transport;
	r->local.urls = r->local_urls;
	r->local.nurls = c->local_transport && *c->local_transport ? 1 : 0;
	r->local.allow_plaintext = 1;
	r->local.helo = c->hostname;
	r->local.connect_timeout = c->connect_timeout;
	r->local.greeting_timeout = c->greeting_timeout;
	r->local.command_timeout = c->command_timeout;
	r->local.data_timeout = c->data_timeout;
	memset(r->health, 0, sizeof(r->health));
	return 0;
}

/* runner_secrets_clear - forget every cached password. */
static void
runner_secrets_clear(struct runner *r)
{
	size_t	 i;

	for (i = 0; i < r->nsecrets; i++) {
		free(r->secrets[i].path);
		runner_secret_forget(&r->secrets[i]);
	}
	free(r->secrets);
	r->secrets = NULL;
	r->nsecrets = 0;
}

/* runner_sites_clear - forget the cached frozen flags. */
static void
runner_sites_clear(struct runner *r)
{
	size_t	 i;

	for (i = 0; i < r->nsites; i++)
		free(r->sites[i].name);
	free(r->sites);
	r->sites = NULL;
	r->nsites = 0;
}

/* runner_tally_flush - add the counted results to state/stats.tdb. */
static void
runner_tally_flush(struct runner *r)
{
	time_t	 now = time(NULL);
	size_t	 i;
	int	 k;

	for (i = 0; i < r->ntally; i++) {
		for (k = 0; k < ADMIN_STAT_N && r->counters; k++)
			if (r->tally[i].n[k] && admin_stats_count(r->counters,
			    r->tally[i].site, (enum admin_stat)k,
			    r->tally[i].n[k], now) != 0)
				log_warn("runner: counters of site %s: %s",
				    r->tally[i].site, err_str());
		free(r->tally[i].site);
	}
	free(r->tally);
	r->tally = NULL;
	r->ntally = 0;
	r->tally_time = now;
}

/* runner_tally_add - count one recipient result of a site. */
static void
runner_tally_add(struct runner *r, const char *site, enum admin_stat k)
{
	struct runner_tally *t = NULL, *v;
	size_t	 i;

	metrics_count(site, (enum metrics_ctr)(METRICS_SENT + k), 1);
	if (r->counters == NULL)
		return;
	for (i = 0; i < r->ntally && t == NULL; i++)
		if (strcmp(r->tally[i].site, site) == 0)
			t = &r->tally[i];
	if (t == NULL) {
		if ((v = realloc(r->tally, (r->ntally + 1) * sizeof(*v))) ==
		    NULL)
			return;
		r->tally = v;
		t = &v[r->ntally];
		memset(t, 0, sizeof(*t));
		if ((t->site = strdup(site)) == NULL)
			return;
		r->ntally++;
	}
	t->n[k]++;
}

/* runner_open_dirs - descriptors for spool_dir and queue/. */
static int
runner_open_dirs(struct runner *r)
{
	const char *dir = r->conf->spool_dir;

	if (r->queuefd >= 0)
		close(r->queuefd);
	if (r->spoolfd >= 0)
		close(r->spoolfd);
	r->queuefd = -1;
	if ((r->spoolfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_set(EX_TEMPFAIL, "cannot open spool directory %s: "
		    "%s", dir, strerror(errno));
	r->queuefd = openat(r->spoolfd, "queue", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (r->queuefd < 0)
		return err_set(EX_TEMPFAIL, "cannot open %s/queue: %s", dir,
		    strerror(errno));
	return 0;
}

/* runner_open_parts - everything that depends on the configuration. */
static int
runner_open_parts(struct runner *r)
{
	int	 rc;

	(void)statecheck_all(r->conf->spool_dir);
	r->dmg = db_damage_count();
	if ((rc = runner_open_dirs(r)) != 0 ||
	    (rc = qstate_open(&r->qs, r->conf->spool_dir)) != 0)
		return rc;
	if (qstate_check(r->qs) != 0) {
		/* Rebuilt from the spool by the next housekeeping. */
		log_error("%s", err_str());
		if ((rc = qstate_discard(&r->qs)) != 0)
			return rc;
	}
	if (admin_stats_open(&r->counters, r->conf->spool_dir, 0) != 0) {
		log_warn("runner: no per-site counters: %s", err_str());
		r->counters = NULL;
	}
	if ((rc = bucket_open(&r->bdb, r->conf->spool_dir)) != 0 ||
	    (rc = statecheck_freezes(r->conf->spool_dir, r->bdb)) != 0 ||
	    (rc = sched_new(&r->sched)) != 0 ||
	    (rc = runner_route_open(r)) != 0 ||
	    (rc = relay_pool_new(&r->pool, r->conf->connections)) != 0)
		return rc;
	return runner_routes(r);
}

/* runner_close_parts - the reverse of runner_open_parts. */
static void
runner_close_parts(struct runner *r)
{
	runner_tally_flush(r);
	admin_stats_close(r->counters);
	r->counters = NULL;
	relay_pool_free(r->pool);
	r->pool = NULL;
	routeq_close(r->rq);
	r->rq = NULL;
	sched_free(r->sched);
	r->sched = NULL;
	bucket_close(r->bdb);
	r->bdb = NULL;
	qstate_close(r->qs);
	r->qs = NULL;
	runner_secrets_clear(r);
	runner_sites_clear(r);
	dkim_cache_free(r->dkim);
	r->dkim = NULL;
}

/* runner_open - set up a runner for conf. */
int
runner_open(struct runner **rp, const struct conf *conf,
    const unsigned char key[SPOOL_KEYLEN])
{
	struct runner *r;
	int	 rc;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return err_set(EX_TEMPFAIL, "runner: out of memory");
	r->conf = conf;
	memcpy(r->key, key, SPOOL_KEYLEN);
	r->queuefd = r->spoolfd = -1;
	if ((r->rs = rstate_new()) == NULL) {
		free(r);
		return err_set(EX_TEMPFAIL, "runner: out of memory");
	}
	if ((rc = relay_global_init()) != 0 ||
	    (rc = charge_book_new(&r->book)) != 0 ||
	    (rc = runner_open_parts(r)) != 0) {
		runner_close(r);
		return rc;
	}
	*rp = r;
	return 0;
}

/* rmsg_free - release a message in flight (closing its spool file, which
 * drops the delivery lock). */
void
rmsg_free(struct rmsg *m)
{
	size_t	 i;

	for (i = 0; i < m->njobs; i++) {
		free(m->jobs[i].idx);
		free(m->jobs[i].rcpt);
		free(m->jobs[i].res);
	}
	free(m->jobs);
	for (i = 0; m->note && i < m->rec.nr; i++)
		free(m->note[i]);
	free(m->note);
	free(m->tried);
	free(m->dec);
	free(m->have);
	qrec_free(&m->rec);
	spool_close(&m->msg);
	buf_free(&m->dkim);
	free(m);
}

/* runner_unlink - take m off the in-flight list. */
static void
runner_unlink(struct runner *r, struct rmsg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		r->inflight = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->prev = m->next = NULL;
	r->ninflight--;
	sched_busy(m->ss, -1);
}

/* runner_abandon - drop every message in flight without a record
 * update: they stay queued as they were. */
static void
runner_abandon(struct runner *r)
{
	struct rmsg *m;

	relay_pool_free(r->pool);
	r->pool = NULL;
	runner_unpark_all(r);
	while ((m = r->inflight) != NULL) {
		runner_unlink(r, m);
		rmsg_free(m);
	}
	r->subq = r->subq_tail = NULL;
}

/* runner_close - abandon what is in flight and release everything. */
void
runner_close(struct runner *r)
{
	if (r == NULL)
		return;
	if (r->ninflight)
		log_info("runner: abandoning %u message(s) in flight; they "
		    "stay queued", r->ninflight);
	runner_abandon(r);
	runner_close_parts(r);
	if (r->queuefd >= 0)
		close(r->queuefd);
	if (r->spoolfd >= 0)
		close(r->spoolfd);
	free(r->sh_urls);
	charge_book_free(r->book);
	failstat_free(r->fails);
	rstate_free(r->rs);
	explicit_bzero(r->key, sizeof(r->key));
	free(r);
}

/* runner_reload - switch to a new configuration while idle. */
int
runner_reload(struct runner *r, const struct conf *conf,
    const unsigned char key[SPOOL_KEYLEN])
{
	if (r->ninflight)
		return err_set(EX_TEMPFAIL, "runner: cannot reload with %u "
		    "message(s) in flight", r->ninflight);
	runner_unpark_all(r);
	runner_close_parts(r);
	r->conf = conf;
	memcpy(r->key, key, SPOOL_KEYLEN);
	return runner_open_parts(r);
}

/* Accessors. */

/* runner_inflight - messages being delivered now. */
unsigned
runner_inflight(const struct runner *r)
{
	return r->ninflight + r->nparked;
}

/* runner_parked - messages waiting for their DNS answers. */
unsigned
runner_parked(const struct runner *r)
{
	return r->nparked;
}

/* runner_waiting - messages on the due list not started yet. */
size_t
runner_waiting(const struct runner *r)
{
	return r->sched ? sched_waiting(r->sched) : 0;
}

/* runner_next_due - earliest future due time seen by the last scan. */
time_t
runner_next_due(const struct runner *r)
{
	return r->next_due;
}

/* runner_stop - start no more messages (or again, with stop = 0). */
void
runner_stop(struct runner *r, int stop)
{
	r->stopping = stop;
	if (stop)
		runner_unpark_all(r);
}

/* runner_get_stats - counters since runner_open. */
const struct runner_stats *
runner_get_stats(const struct runner *r)
{
	return &r->stats;
}

/* Sites and credentials. */

/* runner_site_frozen - 1 if the site is frozen in bucket.tdb (cached for
 * a second). */
static int
runner_site_frozen(struct runner *r, const char *site)
{
	struct conf_limits lim;
	struct bucket_rec br;
	struct runner_site *s = NULL, *v;
	time_t	 now = time(NULL);
	size_t	 i;
	int	 ok;

	for (i = 0; i < r->nsites && s == NULL; i++)
		if (strcmp(r->sites[i].name, site) == 0)
			s = &r->sites[i];
	if (s == NULL) {
		v = realloc(r->sites, (r->nsites + 1) * sizeof(*v));
		if (v == NULL)
			return 1;	/* cannot tell: do not deliver */
		r->sites = v;
		s = &r->sites[r->nsites];
		if ((s->name = strdup(site)) == NULL)
			return 1;
		r->nsites++;
		s->checked = 0;
	}
	if (s->checked == 0 || now - s->checked >= RUNNER_SITE_TTL) {
		site_limits(r->conf, site, &lim);
		ok = bucket_get(r->bdb, site, &lim, (double)now, &br) == 0;
		if (!ok)
			log_warn("runner: cannot read the bucket of site %s: "
			    "%s (its freeze marker decides)", site, err_str());
		s->frozen = rstate_site_frozen(r->conf->spool_dir, site, ok,
		    ok ? br.flags : 0);
		s->checked = now;
	}
	return s->frozen;
}

/* runner_secret_forget - wipe and drop a cached password. */
static void
runner_secret_forget(struct runner_secret *s)
{
	if (s->password) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
		s->password = NULL;
	}
}

/* runner_secret_read - (re)read one password file into s. */
static void
runner_secret_read(struct runner_secret *s, const struct stat *st)
{
	char	 buf[RUNNER_SECRET_MAX + 1];
	ssize_t	 n;
	int	 fd;

	runner_secret_forget(s);
	s->mtime = st->st_mtim;
	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0 ||
	    (n = read(fd, buf, sizeof(buf))) < 0) {
		snprintf(s->why, sizeof(s->why), "cannot read password file "
		    "%s: %s", s->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	if (n > RUNNER_SECRET_MAX) {
		snprintf(s->why, sizeof(s->why), "password file %s is too "
		    "long", s->path);
		explicit_bzero(buf, sizeof(buf));
		return;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n) != NULL)
		snprintf(s->why, sizeof(s->why), "password file %s holds a "
		    "NUL byte", s->path);
	else if ((s->password = strdup(buf)) == NULL)
		snprintf(s->why, sizeof(s->why), "out of memory");
	explicit_bzero(buf, sizeof(buf));
}

/* runner_secret - the password in path (cached, re-read when the file's
 * mtime changes); NULL with err_str() set when it cannot be read. */
static const char *
runner_secret(struct runner *r, const char *path)
{
	struct runner_secret *s = NULL, *v;
	struct stat st;
	size_t	 i;

	for (i = 0; i < r->nsecrets && s == NULL; i++)
		if (strcmp(r->secrets[i].path, path) == 0)
			s = &r->secrets[i];
	if (s == NULL) {
		if ((v = realloc(r->secrets, (r->nsecrets + 1) *
		    sizeof(*v))) == NULL)
			return err_set(EX_TEMPFAIL, "out of memory"), NULL;
		r->secrets = v;
		s = &v[r->nsecrets];
		memset(s, 0, sizeof(*s));
		if ((s->path = strdup(path)) == NULL)
			return err_set(EX_TEMPFAIL, "out of memory"), NULL;
		r->nsecrets++;
	}
	/* One stat per use: a changed password is seen by the next job. */
	if (stat(path, &st) < 0) {
		snprintf(s->why, sizeof(s->why), "cannot read password file "
		    "%s: %s", path, strerror(errno));
		runner_secret_forget(s);
	} else if (s->password == NULL ||
	    st.st_mtim.tv_sec != s->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != s->mtime.tv_nsec)
		runner_secret_read(s, &st);
	if (s->password == NULL)
		err_set(EX_CONFIG, "%s", s->why);
	return s->password;
}

/* runner_auth - the smarthost credentials of a site: its own
 * smarthost_username/password_file, else the global ones. */
int
runner_auth(struct runner *r, const char *site, struct relay_auth *auth)
{
	const struct conf_site *cs = conf_site_find(r->conf, site);
	const char *user = r->conf->smarthost_username;
	const char *pwfile = r->conf->smarthost_password_file;

	if (cs && cs->smarthost_username && *cs->smarthost_username) {
		user = cs->smarthost_username;
		pwfile = cs->smarthost_password_file;
	}
	auth->username = user && *user ? user : NULL;
	auth->password = NULL;
	if (auth->username == NULL)
		return 0;
	if (pwfile == NULL || *pwfile == '\0') {
		auth->password = "";
		return 0;
	}
	if ((auth->password = runner_secret(r, pwfile)) == NULL)
		return EX_CONFIG;
	return 0;
}

/* The due list. */

/* runner_enqueue - consider queue/name soon (a new file). */
void
runner_enqueue(struct runner *r, const char *name)
{
	if (spool_qid_valid(name))
		(void)runner_due_add(r, name);
}

/* rec_rcpt_due - 1 if recipient i is to be tried at time now. */
int
rec_rcpt_due(const struct qrcpt *q, time_t now)
{
	return (q->status == QR_PENDING || q->status == QR_DEFERRED) &&
	    q->next_try <= now;
}

/* rec_expired - 1 once a message has outlived queue_lifetime. */
static int
rec_expired(const struct runner *r, const struct qrec *rec, time_t now)
{
	return r->conf->queue_lifetime > 0 &&
	    rec->arrival + r->conf->queue_lifetime <= now;
}

/* rec_due - 1 if the message is due now; else *next gets the earliest
 * future time it becomes due (unchanged if never, e.g. frozen). */
static int
rec_due(struct runner *r, const struct qrec *rec, time_t now, time_t *next)
{
	time_t	 t = 0;
	size_t	 i;

	if (rec->frozen || runner_site_frozen(r, rec->site))
		return 0;
	if (rec->qflags & QREC_UNCHARGED)
		return 1;		/* to be charged (thawed) */
	if (rec->hold > now) {
		t = rec->hold;
		goto later;
	}
	if (qrec_final(rec) || rec_expired(r, rec, now))
		return 1;
	for (i = 0; i < rec->nr; i++) {
		if (rec_rcpt_due(&rec->r[i], now))
			return 1;
		if ((rec->r[i].status == QR_PENDING ||
		    rec->r[i].status == QR_DEFERRED) &&
		    (t == 0 || rec->r[i].next_try < t))
			t = rec->r[i].next_try;
	}
	if (t == 0)
		return 0;
	/* Expiry may come before the next retry. */
	if (r->conf->queue_lifetime > 0 &&
	    rec->arrival + r->conf->queue_lifetime < t)
		t = rec->arrival + r->conf->queue_lifetime;
later:
	if (*next == 0 || t < *next)
		*next = t;
	return 0;
}

/* A scan in progress. */
struct runner_scan_ctx {
	struct runner *r;
	time_t	 now;
	time_t	 next;
};

/* runner_scan_one - traverse callback: keep a due message. */
static int
runner_scan_one(void *arg, const struct qrec *rec)
{
	struct runner_scan_ctx *sc = arg;

	if (rec_due(sc->r, rec, sc->now, &sc->next))
		return sched_add(sc->r->sched, rec->site, rec->qid);
	return 0;
}

/* runner_scan - rebuild the due list from the queue state. */
int
runner_scan(struct runner *r)
{
	struct runner_scan_ctx sc;
	int	 rc;

	sc.r = r;
	sc.now = time(NULL);
	sc.next = 0;
	sched_clear(r->sched);
	memset(r->uidsite, 0, sizeof(r->uidsite));
	/* Fresh frozen flags for every scan. */
	runner_sites_clear(r);
	runner_expire(r);
	rc = qstate_traverse(r->qs, runner_scan_one, &sc);
	sched_sort(r->sched);
	r->next_due = sc.next;
	return rc;
}

/* Results. */

/* runner_backoff - the wait before try number attempts + 1. */
static time_t
runner_backoff(const struct runner *r, unsigned attempts)
{
	long	 d = r->conf->retry_min > 0 ? r->conf->retry_min : 1;
	long	 max = r->conf->retry_max > d ? r->conf->retry_max : d;
	unsigned i;

	for (i = 1; i < attempts && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}

/* runner_clean - a copy of text fit for a record and a log line. */
char *
runner_clean(const char *text)
{
	char	*s = strdup(text ? text : "");

	if (s != NULL)
		relay_sanitize(s);
	return s;
}

/* runner_set_str - replace *dst with a cleaned copy of src. */
static void
runner_set_str(char **dst, const char *src)
{
	char	*s = runner_clean(src);

	if (s != NULL) {
		free(*dst);
		*dst = s;
	}
}

/* runner_dsn_ok - 1 for an enhanced status code "D.D.D". */
static int
runner_dsn_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 5 && n < 16 && strspn(s, "0123456789.") == n &&
	    (s[0] == '2' || s[0] == '4' || s[0] == '5') && s[1] == '.';
}

/* runner_due_at - remember that something becomes due at time t. */
void
runner_due_at(struct runner *r, time_t t)
{
	if (t > 0 && (r->next_due == 0 || t < r->next_due))
		r->next_due = t;
}

/* rcpt_result - record one attempt's outcome for recipient i and log it.
 * status is QR_SENT, QR_DEFERRED or QR_BOUNCED. */
void
rcpt_result(struct runner *r, struct rmsg *m, size_t i, int status,
    const char *dsn, const char *text, const char *relay)
{
	struct qrcpt *q = &m->rec.r[i];
	const char *word;
	char	 dbuf[16];
	double	 delay;

	if (dsn == NULL || !runner_dsn_ok(dsn)) {
		snprintf(dbuf, sizeof(dbuf), "%c.0.0", status == QR_SENT ? '2' :
		    status == QR_BOUNCED ? '5' : '4');
		dsn = dbuf;
	} else if (status == QR_DEFERRED && dsn[0] == '5') {
		snprintf(dbuf, sizeof(dbuf), "4%s", dsn + 1);	/* soft_bounce */
		dsn = dbuf;
	}
	q->status = (char)status;
	q->attempts++;
	q->next_try = status == QR_DEFERRED ?
	    time(NULL) + runner_backoff(r, q->attempts) : 0;
	runner_due_at(r, q->next_try);
	runner_set_str(&q->dsn, dsn);
	runner_set_str(&q->reason, text);
	m->tried[i] = 1;
	delay = runner_now() - ((double)m->rec.arrival +
	    (double)m->rec.arrival_usec / 1e6);
	if (delay < 0)
		delay = 0;
	switch (status) {
	case QR_SENT:
		word = "sent";
		r->stats.sent++;
		runner_tally_add(r, m->rec.site, ADMIN_STAT_SENT);
		break;
	case QR_BOUNCED:
		word = "bounced";
		r->stats.bounced++;
		runner_tally_add(r, m->rec.site, ADMIN_STAT_BOUNCED);
		break;
	default:
		word = "deferred";
		r->stats.deferred++;
		runner_tally_add(r, m->rec.site, ADMIN_STAT_DEFERRED);
	}
	log_info("%s: to=<%s>, relay=%s, route=%s, delay=%.1f, dsn=%s, "
	    "status=%s (%s)%s%s", m->rec.qid, q->addr, relay ? relay : "none",
	    m->note[i] ? m->note[i] : "none", delay, q->dsn, word,
	    q->reason ? q->reason : "", relay && m->dkim_note[0] ?
	    ", dkim=" : "", relay ? m->dkim_note : "");
}

/* rcpt_code - the status for an SMTP reply code. */
static int
rcpt_code(int code)
{
	if (code >= 200 && code < 300)
		return QR_SENT;
	if (code >= 500 && code < 600)
		return QR_BOUNCED;
	return QR_DEFERRED;
}

/* Finishing a message. */

/* runner_index_new - add the record of a file the runner wrote itself
 * (a DSN) and put it on the due list. */
void
runner_index_new(struct runner *r, const char *qid)
{
	struct spool_msg msg;

	if (spool_open(&msg, r->queuefd, qid, r->key) != 0) {
		log_warn("%s: cannot index: %s", qid, err_str());
		return;
	}
	if (qstate_add(r->qs, &msg.env, msg.content_len) != 0)
		log_warn("%s: cannot index: %s", qid, err_str());
	spool_close(&msg);
	(void)runner_due_add(r, qid);
}

/* msg_bounce - the DSN for the bounced recipients of a final record not
 * reported yet (runner_dsn.c).  Returns 0 when the message may go. */
static int
msg_bounce(struct runner *r, struct rmsg *m, struct qrec *rec)
{
	return runner_dsn_failed(r, m, rec);
}

/* msg_finish - every recipient is final: DSN, unlink, forget. */
static void
msg_finish(struct runner *r, struct rmsg *m, struct qrec *rec)
{
	if (msg_bounce(r, m, rec) != 0)
		return;			/* tried again on a later pass */
	if (unlinkat(r->queuefd, rec->qid, 0) < 0 && errno != ENOENT) {
		log_error("%s: cannot remove the queue file: %s", rec->qid,
		    strerror(errno));
		return;
	}
	if (qstate_delete(r->qs, rec->qid) != 0)
		log_warn("%s: %s", rec->qid, err_str());
	donemap_remove(r->conf->spool_dir, rec->qid);
	r->stats.removed++;
	log_info("%s: removed", rec->qid);
}

/* msg_file_gone - 1 if the open spool file was unlinked meanwhile. */
static int
msg_file_gone(struct rmsg *m)
{
	struct stat st;

	return fstat(m->msg.fd, &st) < 0 || st.st_nlink == 0;
}

/* msg_merge - copy the recipients tried now into the current record. */
static void
msg_merge(struct rmsg *m, struct qrec *cur)
{
	struct qrcpt *a, *b;
	size_t	 i;

	for (i = 0; i < m->rec.nr && i < cur->nr; i++) {
		if (!m->tried[i])
			continue;
		a = &m->rec.r[i];
		b = &cur->r[i];
		if (strcmp(a->addr, b->addr) != 0)
			continue;
		b->status = a->status;
		b->attempts = a->attempts;
		b->next_try = a->next_try;
		runner_set_str(&b->dsn, a->dsn);
		runner_set_str(&b->reason, a->reason);
	}
	cur->qflags = (cur->qflags & ~QREC_UNCHARGED) |
	    (m->rec.qflags & QREC_UNCHARGED);
	cur->hold = m->rec.hold;
}

/* msg_store_fn - qstate_update_inplace callback: merge this attempt's
 * results into the current record (idempotent). */
static int
msg_store_fn(void *arg, struct qrec *cur)
{
	struct rmsg *m = arg;

	msg_merge(m, cur);
	m->final = qrec_final(cur);
	return 0;
}

/* msg_store - write this attempt's results; finish a final message.
 * Non-zero when the queue state could not be written. */
static int
msg_store(struct runner *r, struct rmsg *m)
{
	struct qrec cur;
	int	 rc;

	if (msg_file_gone(m))
		return 0;		/* deleted meanwhile (admin) */
	m->final = 0;
	rc = qstate_update_inplace(r->qs, m->rec.qid, msg_store_fn, m);
	if (rc == EX_NOINPUT) {
		/* No record: it was lost; ours is the best there is. */
		rc = qstate_put(r->qs, &m->rec);
		m->final = rc == 0 && qrec_final(&m->rec);
	}
	if (rc != 0) {
		log_error("%s: %s", m->rec.qid, err_str());
		return rc;
	}
	if (qstate_get(r->qs, m->rec.qid, &cur) != 0)
		cur.r = NULL;
	if (m->final)
		msg_finish(r, m, cur.r ? &cur : &m->rec);
	else
		runner_dsn_after(r, m, cur.r ? &cur : &m->rec);
	if (cur.r)
		qrec_free(&cur);
	return 0;
}

/* msg_save - make this attempt's results durable: the done map first
 * (fsynced), then queue.tdb; pause the message when either fails. */
static void
msg_save(struct runner *r, struct rmsg *m)
{
	char	 why[600];
	int	 mapped;

	/* A message that stays queued keeps its final recipients in its
	 * done map; one that is finished now needs none (its record is
	 * updated in place, and then it is gone). */
	mapped = (qrec_final(&m->rec) || donemap_create(r->conf->spool_dir,
	    m->rec.qid, m->rec.nr) == 0) &&
	    donemap_mark(r->conf->spool_dir, &m->rec, m->tried) == 0;
	if (!mapped)
		snprintf(why, sizeof(why), "%s", err_str());
	if (msg_store(r, m) == 0) {
		if (mapped)
			rstate_resume(r->rs, m->rec.qid);
		else
			log_warn("%s: %s (the queue state has the results)",
			    m->rec.qid, why);
		return;
	}
	if (mapped) {
		snprintf(why, sizeof(why), "cannot update the queue state (%s)"
		    "; final results are kept in %s, retried in %lds",
		    err_str(), DONEMAP_DIR, (long)runner_backoff(r, 1));
		/* The map is the only record of these results now. */
		(void)donemap_sync(r->conf->spool_dir, m->rec.qid);
		rstate_pause(r->rs, m->rec.qid, time(NULL) +
		    runner_backoff(r, 1), why);
		runner_due_at(r, time(NULL) + runner_backoff(r, 1));
	} else {
		char	 both[900];

		snprintf(both, sizeof(both), "cannot record the results (%s; "
		    "%s); not delivered again until sitemaild restarts", why,
		    err_str());
		rstate_pause(r->rs, m->rec.qid, 0, both);
	}
}

/* msg_complete - every job of m finished: apply results, store, free. */
static void
msg_complete(struct runner *r, struct rmsg *m)
{
	struct rjob *j;
	size_t	 k, n;

	for (n = 0; n < m->njobs; n++) {
		j = &m->jobs[n];
		runner_health_job(r, &j->job);
		for (k = 0; k < j->n; k++) {
			int	 st = rcpt_code(j->res[k].code);
			const char *text = j->res[k].text[0] ?
			    j->res[k].text : j->job.session_text;
			const char *relay = j->job.relay_name[0] ?
			    j->job.relay_name : NULL;

			if (j->job.requeue)	/* not the recipients' fault */
				runner_requeue(r, m, j->idx[k],
				    runner_requeue_until(r, j->job.route),
				    j->res[k].dsn, text, relay);
			else {
				rcpt_result(r, m, j->idx[k], st == QR_BOUNCED &&
				    r->conf->soft_bounce ? QR_DEFERRED : st,
				    j->res[k].dsn, text, relay);
				runner_abuse_note(r, m, &j->res[k]);
			}
		}
	}
	msg_save(r, m);
	runner_unlink(r, m);
	rmsg_free(m);
}

/* msg_done_job - relay callback: one job finished (runner_collect
 * completes the message once all of its jobs have). */
static void
msg_done_job(struct relay_job *job)
{
	struct rjob *j = job->ctx;

	j->finished = 1;
	j->m->jobs_left--;
}

/* Starting a message. */

/* msg_quarantine - a file that failed verification: never delivered. */
static void
msg_quarantine(struct runner *r, const char *qid, const char *why)
{
	struct stat st;
	char	 reason[512];

	/* Gone meanwhile (finished by another runner): nothing to do. */
	if (fstatat(r->queuefd, qid, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			(void)qstate_delete(r->qs, qid);
		return;
	}
	snprintf(reason, sizeof(reason), "%s", why);
	if (spool_quarantine(r->conf->spool_dir, qid, reason) != 0) {
		log_error("%s: cannot quarantine: %s", qid, err_str());
		return;
	}
	r->stats.quarantined++;
	notify_quarantined(qid, st.st_uid, why);
	(void)qstate_delete(r->qs, qid);
}

/* msg_open - open, verify and lock queue/qid; 1 when it is ours. */
static int
msg_open(struct runner *r, const char *qid, struct rmsg *m)
{
	int	 rc;

	rc = spool_open(&m->msg, r->queuefd, qid, r->key);
	if (rc == EX_DATAERR) {
		char	 why[512];

		snprintf(why, sizeof(why), "%s", err_str());
		msg_quarantine(r, qid, why);
		return 0;
	}
	if (rc != 0) {
		struct stat st;

		if (fstatat(r->queuefd, qid, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT) {
			/* Removed meanwhile: a stale record, if any. */
			if (qstate_lock(r->qs, qid) == 0) {
				if (fstatat(r->queuefd, qid, &st,
				    AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
					(void)qstate_delete(r->qs, qid);
				qstate_unlock(r->qs, qid);
			}
		} else
			log_warn("%s: cannot open: %s", qid, err_str());
		return 0;
	}
	if (flock(m->msg.fd, LOCK_EX | LOCK_NB) < 0 || msg_file_gone(m))
		return 0;		/* another runner has it, or had it */
	return 1;
}

/* runner_wake_fd - readable when a delivery finished. */
int
runner_wake_fd(const struct runner *r)
{
	return relay_pool_fd(r->pool);
}

/* runner_admin_attach - let an admin session use the runner's handles
 * (tdb allows one open per process). */
void
runner_admin_attach(struct runner *r, struct admin *a)
{
	a->qs = r->qs;
	a->qs_rw = 1;
	a->bdb = r->bdb;
}

/* runner_admin_detach - take the handles back before admin_close(). */
void
runner_admin_detach(struct runner *r, struct admin *a)
{
	(void)r;
	a->qs = NULL;
	a->bdb = NULL;
	admin_close(a);
}

/* msg_record - the current record (indexing the file if there is none). */
static int
msg_record(struct runner *r, struct rmsg *m)
{
	int	 rc;

	rc = qstate_get(r->qs, m->msg.env.qid, &m->rec);
	if (rc == EX_NOINPUT) {
		if ((rc = qstate_rec_from_env(&m->rec, &m->msg.env,
		    m->msg.content_len)) == 0)
			rc = qstate_add(r->qs, &m->msg.env,
			    m->msg.content_len);
	} else if (rc == EX_DATAERR) {
		/* A damaged record: start again from the spool file. */
		log_warn("%s: %s; rebuilt from the spool file",
		    m->msg.env.qid, err_str());
		if ((rc = qstate_rec_from_env(&m->rec, &m->msg.env,
		    m->msg.content_len)) == 0)
			rc = qstate_put(r->qs, &m->rec);
	}
	if (rc != 0)
		log_error("%s: cannot read the queue state: %s",
		    m->msg.env.qid, err_str());
	else
		(void)rstate_recover(r->conf->spool_dir, r->qs, &m->rec);
	return rc;
}

/* Release of a thawed message. */
struct runner_release {
	struct runner *r;
	int	 charged;
	time_t	 hold;
};

/* msg_release_fn - charge an uncharged message now that its site is
 * thawed (under the record lock). */
static int
msg_release_fn(void *arg, struct qrec *rec)
{
	struct runner_release *rl = arg;
	struct conf_limits lim;
	struct bucket_result br;
	double	 cost = 0;
	size_t	 i;

	if (!(rec->qflags & QREC_UNCHARGED))
		return QSTATE_KEEP;
	for (i = 0; i < rec->nr; i++)
		if (rec->r[i].status == QR_PENDING ||
		    rec->r[i].status == QR_DEFERRED)
			cost++;
	site_limits(rl->r->conf, rec->site, &lim);
	if (bucket_charge_release(rl->r->bdb, rec->site, &lim, cost,
	    runner_now(), &br) != 0)
		return EX_TEMPFAIL;
	if (br.verdict == BUCKET_FROZEN_HOLD) {
		/* Frozen again: it stays uncharged, and was counted in
		 * frozen_waiting at intake already. */
		(void)bucket_refund(rl->r->bdb, rec->site, &lim,
		    BUCKET_FROZEN_HOLD, cost, runner_now());
		return QSTATE_KEEP;
	}
	rec->qflags &= ~QREC_UNCHARGED;
	rec->hold = br.verdict == BUCKET_HOLD ? (time_t)br.hold + 1 : 0;
	rl->charged = 1;
	rl->hold = rec->hold;
	return 0;
}

/* msg_release - charge a thawed message; 0 if it may go now. */
static int
msg_release(struct runner *r, struct rmsg *m)
{
	struct runner_release rl = { r, 0, 0 };
	struct qrec cur;

	if (qstate_update(r->qs, m->rec.qid, msg_release_fn, &rl) != 0)
		return -1;
	if (!rl.charged) {
		/* Released by someone else (sitemail thaw), or frozen
		 * again: go by the record as it is now. */
		if (qstate_get(r->qs, m->rec.qid, &cur) != 0)
			return -1;
		qrec_free(&m->rec);
		m->rec = cur;
		runner_due_at(r, m->rec.hold);
		return (m->rec.qflags & QREC_UNCHARGED) ||
		    m->rec.hold > time(NULL) ? -1 : 0;
	}
	if (donemap_flag(r->conf->spool_dir, m->rec.qid, 'c') != 0)
		log_warn("%s: %s", m->rec.qid, err_str());
	log_info("%s: released: site=%s %s", m->rec.qid, m->rec.site,
	    rl.hold ? "status=held" : "status=ready");
	m->rec.qflags &= ~QREC_UNCHARGED;
	m->rec.hold = rl.hold;
	runner_due_at(r, rl.hold);
	return rl.hold > time(NULL) ? -1 : 0;
}

/* msg_expire - bounce every recipient still to go (queue_lifetime). */
static void
msg_expire(struct runner *r, struct rmsg *m)
{
	char	 why[RELAY_TEXT_MAX + 128];
	size_t	 i;

	for (i = 0; i < m->rec.nr; i++) {
		struct qrcpt *q = &m->rec.r[i];

		if (q->status != QR_PENDING && q->status != QR_DEFERRED)
			continue;
		snprintf(why, sizeof(why), "message expired after %ld "
		    "seconds in the queue%s%s%s", r->conf->queue_lifetime,
		    q->reason && *q->reason ? " (last reason: " : "",
		    q->reason && *q->reason ? q->reason : "",
		    q->reason && *q->reason ? ")" : "");
		rcpt_result(r, m, i, QR_BOUNCED, RUNNER_EXPIRED_DSN, why,
		    NULL);
	}
}

/* runner_subq_push - put a job on the submit queue. */
static void
runner_subq_push(struct runner *r, struct rjob *j)
{
	j->next_sub = NULL;
	if (r->subq_tail)
		r->subq_tail->next_sub = j;
	else
		r->subq = j;
	r->subq_tail = j;
}

/* msg_jobs - fill in and queue every job of m. */
static void
msg_jobs(struct runner *r, struct rmsg *m)
{
	struct rjob *j;
	size_t	 i;

	m->jobs_left = m->njobs;
	for (i = 0; i < m->njobs; i++) {
		j = &m->jobs[i];
		j->job.msg = &m->msg;
		j->job.prefix = m->dkim.ptr;
		j->job.prefix_len = m->dkim.len;
		j->job.sender = m->rec.sender;
		j->job.rcpt = j->rcpt;
		j->job.nrcpt = j->n;
		j->job.route = j->kind == ROUTE_LOCAL ? &r->local :
		    &r->smarthost;
		j->job.done = msg_done_job;
		j->job.ctx = j;
		j->job.result = j->res;
		runner_subq_push(r, j);
	}
}

/* runner_is_inflight - 1 if qid is being delivered by this runner. */
static int
runner_is_inflight(const struct runner *r, const char *qid)
{
	const struct rmsg *m;

	for (m = r->inflight; m != NULL; m = m->next)
		if (strcmp(m->rec.qid, qid) == 0)
			return 1;
	for (m = r->parked; m != NULL; m = m->next)
		if (strcmp(m->rec.qid, qid) == 0)
			return 1;
	return 0;
}

/* msg_prepare - under the delivery lock: release, expire or route; 0
 * ready, 1 parked on DNS, -1 not to go now. */
static int
msg_prepare(struct runner *r, struct rmsg *m)
{
	time_t	 next = 0, now = time(NULL);
	int	 rc;

	if (runner_settle(r, m) != 0)
		return -1;
	if (!rec_due(r, &m->rec, now, &next)) {
		runner_due_at(r, next);
		return -1;
	}
	if (m->rec.qflags & QREC_UNCHARGED) {
		if (msg_release(r, m) != 0)
			return -1;
		if (!rec_due(r, &m->rec, now, &next)) {
			runner_due_at(r, next);
			return -1;
		}
	}
	if ((m->tried = calloc(m->rec.nr, 1)) == NULL ||
	    (m->note = calloc(m->rec.nr, sizeof(*m->note))) == NULL)
		return -1;
	if (qrec_final(&m->rec))
		return 0;
	if (rec_expired(r, &m->rec, now)) {
		msg_expire(r, m);
		return 0;
	}
	if ((rc = msg_route(r, m)) > 1) {
		log_error("%s: %s", m->rec.qid, err_str());
		return -1;
	}
	return rc;		/* 1: parked on DNS */
}

/* msg_dkim - sign m once for this attempt, over the bytes the relay
 * sends (the wire form of the content; dkim_key.h, compat/wire.h). */
static void
msg_dkim(struct runner *r, struct rmsg *m)
{
	struct dkim_spool_src src = { &m->msg, NULL };
	int	 rc;

	buf_init(&m->dkim, DKIM_SIG_MAX);
	if (r->dkim == NULL && (rc = dkim_cache_new(&r->dkim)) != 0)
		snprintf(m->dkim_note, sizeof(m->dkim_note), "none (%s)",
		    err_str());
	else
		rc = dkim_sign_stream(r->dkim, r->conf, m->rec.site,
		    dkim_spool_read, &src, time(NULL), &m->dkim, m->dkim_note,
		    sizeof(m->dkim_note));
	dkim_spool_done(&src);
	relay_sanitize(m->dkim_note);	/* it may quote the From domain */
	if (rc != 0)
		log_warn("%s: dkim=%s", m->rec.qid, m->dkim_note);
}

/* msg_start - open, lock, check and route one due message of site ss. */
static void
msg_start(struct runner *r, const char *qid, struct sched_site *ss)
{
	struct rmsg *m;
	int	 rc = -1;

	if (runner_is_inflight(r, qid) || rstate_paused(r->rs, qid, time(NULL)))
		return;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_error("%s: out of memory", qid);
		return;
	}
	m->msg.fd = -1;
	m->ss = ss;
	if (msg_open(r, qid, m) != 1 || msg_record(r, m) != 0 ||
	    (rc = msg_prepare(r, m)) < 0) {
		rmsg_free(m);
		return;
	}
	if (rc == 1)
		runner_park(r, m);
	else
		runner_launch(r, m);
}

/* runner_launch - m is routed: put it in flight (jobs, or complete). */
void
runner_launch(struct runner *r, struct rmsg *m)
{
	m->prev = NULL;
	m->next = r->inflight;
	if (r->inflight)
		r->inflight->prev = m;
	r->inflight = m;
	r->ninflight++;
	sched_busy(m->ss, 1);
	if (m->njobs == 0) {
		msg_complete(r, m);	/* nothing to relay: results known */
		return;
	}
	msg_dkim(r, m);
	msg_jobs(r, m);
}

/* runner_submit - start the job at the head of the submit queue. */
static void
runner_submit(struct runner *r)
{
	struct rjob *j = r->subq;
	size_t	 k;

	r->subq = j->next_sub;
	if (r->subq == NULL)
		r->subq_tail = NULL;
	if (runner_health_gate(r, &j->job)) {
		msg_done_job(&j->job);	/* route down: requeued */
		return;
	}
	if (relay_pool_submit(r->pool, &j->job) == 0)
		return;
	/* Could not even start: a session failure of our own. */
	log_error("%s: cannot start a relay job: %s", j->m->rec.qid,
	    err_str());
	j->job.session_failed = 1;
	snprintf(j->job.session_text, sizeof(j->job.session_text),
	    "cannot start delivery: %s", err_str());
	for (k = 0; k < j->n; k++)
		j->res[k].code = 451;
	msg_done_job(&j->job);
}

/* runner_collect - complete the messages whose jobs have all finished. */
static void
runner_collect(struct runner *r)
{
	struct rmsg *m, *next;

	for (m = r->inflight; m != NULL; m = next) {
		next = m->next;
		if (m->njobs > 0 && m->jobs_left == 0)
			msg_complete(r, m);
	}
}

/* runner_fill - keep every relay slot busy: due messages are taken
 * round-robin across sites, each within its share of slots (sched.h). */
void
runner_fill(struct runner *r)
{
	char	 qid[SPOOL_QIDLEN + 1];
	struct sched_site *ss;
	unsigned budget = RUNNER_DISPATCH_BUDGET;

	while (relay_pool_idle(r->pool) > 0) {
		if (r->subq != NULL)
			runner_submit(r);
		else if (!r->stopping && budget-- > 0 &&
		    r->nparked < RUNNER_PARKED_MAX &&
		    (ss = sched_next(r->sched, runner_site_cap(r),
		    RUNNER_SITE_PARKED, qid)) != NULL)
			msg_start(r, qid, ss);
		else
			break;
	}
}

/* runner_step - start deliveries on free slots and drive them. */
int
runner_step(struct runner *r, int timeout_ms)
{
	if (r->dmg != db_damage_count() && r->ninflight == 0 &&
	    r->subq == NULL) {
		/* tdb reported corruption: check and reopen the state. */
		log_warn("runner: a state file reported damage; checking");
		runner_close_parts(r);
		if (runner_open_parts(r) != 0)
			log_error("runner: %s", err_str());
		(void)runner_scan(r);
	}
	runner_collect(r);
	runner_resume(r);
	runner_fill(r);
	if (r->pool && r->ninflight > 0) {
		/* Answers from DNS are looked at every 50 ms meanwhile. */
		(void)relay_pool_perform(r->pool, r->nparked > 0 &&
		    timeout_ms > 50 ? 50 : timeout_ms);
		runner_collect(r);
	} else if (r->nparked > 0)
		routeq_wait(r->rq, timeout_ms);
	if (r->ninflight > 0 || r->nparked > 0) {
		runner_resume(r);
		runner_fill(r);
	}
	if (r->ntally > 0 && (time(NULL) != r->tally_time || r->ninflight == 0))
		runner_tally_flush(r);
	return (int)r->ninflight;
}

/* Housekeeping. */

/* runner_clean_dir - remove entries of dir older than max_age seconds
 * (only names starting with '.' when dots_only). */
static void
runner_clean_dir(struct runner *r, const char *dir, time_t max_age,
    int dots_only)
{
	struct dirent *de;
	struct stat st;
	time_t	 now = time(NULL);
	DIR	*d;
	int	 fd;

	fd = openat(r->spoolfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    (dots_only && de->d_name[0] != '.'))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode) || st.st_mtime > now - max_age)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_info("removed stale %s/%s", dir, de->d_name);
	}
	closedir(d);
}

/* runner_usage_owner - for the usage walk, the site of a file the runner
 * user owns: its queue record's, else the site its verdict charged (a
 * listener message being written or not yet indexed). */
static const char *
runner_usage_owner(void *arg, const char *sub, const char *name)
{
	static char site[SITE_NAME_MAX + 1];
	struct runner *r = arg;
	struct qrec rec;

	if (!spool_qid_valid(name))
		return NULL;
	if (strcmp(sub, "queue") == 0 && qstate_get(r->qs, name, &rec) == 0) {
		snprintf(site, sizeof(site), "%s", rec.site);
		qrec_free(&rec);
		return site;
	}
	return charge_site(r->book, name);
}

/* runner_tick - the minute-scale chores: tmp/ files whose writer is gone
 * (after rstate_tmp_grace() seconds) and the usage snapshot intake reads. */
void
runner_tick(struct runner *r)
{
	(void)spool_tmp_sweep(r->conf->spool_dir, rstate_tmp_grace());
	if (usage_publish(r->conf, runner_usage_owner, r) != 0)
		log_warn("runner: %s", err_str());
}

/* runner_housekeeping - rebuild, tmp/ cleanup, DNS cache purge. */
int
runner_housekeeping(struct runner *r, time_t min_age)
{
	unsigned added = 0, dropped = 0;
	int	 rc;

	rc = qstate_rebuild(r->qs, r->key, min_age, &added, &dropped);
	if (rc != 0)
		log_warn("runner: queue index rebuild: %s", err_str());
	else if (added || dropped)
		log_info("runner: queue index: %u file(s) indexed, %u stale "
		    "record(s) dropped", added, dropped);
	runner_clean_dir(r, "tmp", RUNNER_TMP_MAX_AGE, 0);
	runner_tick(r);
	(void)donemap_sweep(r->conf->spool_dir);
	(void)freeze_sweep(r->conf->spool_dir);
	runner_clean_dir(r, QSTATE_FLUSH_DIR, RUNNER_FLUSH_STALE, 1);
	(void)route_cache_purge(routeq_route(r->rq));
	return rc;
}

/* runner_site_has - 1 if qid is queued and belongs to site. */
int
runner_site_has(struct runner *r, const char *qid, const char *site)
{
	struct qrec rec;
	int	 yes;

	if (!spool_qid_valid(qid) || qstate_get(r->qs, qid, &rec) != 0)
		return 0;
	yes = strcmp(rec.site, site) == 0;
	qrec_free(&rec);
	return yes;
}
