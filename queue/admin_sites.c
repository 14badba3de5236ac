/*
 * admin_sites.c - "sitemail sites" and "sitemail route", and the per-site
 * hourly counters in state/stats.tdb (format in admin.h).
 *
 * sites: every site that is configured, has a bucket record, has queued
 * mail or has counters, sorted by name; for each its rate and burst, the
 * tokens now (the lowest balance; with a rate list, an indented line per
 * bucket follows, and JSON has "buckets"), the recipients waiting for
 * tokens (the largest deficit plus those accepted while frozen) against
 * its backlog limit, its queue
 * (messages and recipients still queued), its state (active, frozen,
 * auto-frozen), and the recipients sent, deferred and bounced in the last
 * hour.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tdb.h>

#include "queue/admin.h"
#include "queue/admin_int.h"
#include "queue/bucket.h"
#include "queue/qstate.h"
#include "queue/route.h"
#include "util/buf.h"
#include "util/db.h"
#include "util/msg.h"

struct admin_stats {
	struct tdb_context *tdb;
};

/* Counters. */

/* admin_stats_open - open (or create) state/stats.tdb. */
int
admin_stats_open(struct admin_stats **stp, const char *spool_dir,
    int readonly)
{
	struct admin_stats *st;
	struct buf path;
	struct stat sb;
	int	 saved, rc;

	*stp = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return err_set(EX_TEMPFAIL, "stats: out of memory");
	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/%s", spool_dir, ADMIN_STATS_FILE) < 0) {
		free(st);
		buf_free(&path);
		return err_set(EX_CONFIG, "spool_dir too long");
	}
	errno = 0;
	st->tdb = db_open(buf_str(&path), 0, TDB_DEFAULT, readonly ?
	    O_RDONLY | O_CLOEXEC : O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0660);
	saved = errno;
	if (st->tdb == NULL) {
		rc = err_set(readonly && saved == ENOENT ? EX_NOINPUT :
		    EX_TEMPFAIL, "cannot open %s: %s", buf_str(&path),
		    saved ? strerror(saved) : "not a tdb file");
		free(st);
		buf_free(&path);
		return rc;
	}
	buf_free(&path);
	if (!readonly && fstat(tdb_fd(st->tdb), &sb) == 0 &&
	    sb.st_uid == geteuid() && (sb.st_mode & 0660) != 0660)
		(void)fchmod(tdb_fd(st->tdb), (sb.st_mode & 07777) | 0660);
	*stp = st;
	return 0;
}

/* admin_stats_close - close the counters. */
void
admin_stats_close(struct admin_stats *st)
{
	if (st == NULL)
		return;
	tdb_close(st->tdb);
	free(st);
}

/* stats_key - the key of a site. */
static int
stats_key(const char *site, TDB_DATA *key)
{
	size_t	 n;

	if (site == NULL || (n = strlen(site)) == 0 || n > SITE_NAME_MAX)
		return err_set(EX_SOFTWARE, "stats: bad site name");
	key->dptr = (unsigned char *)(uintptr_t)site;
	key->dsize = n;
	return 0;
}

/* stats_load - the record of key, or a fresh one. */
static void
stats_load(struct admin_stats *st, TDB_DATA key, struct admin_stats_rec *r)
{
	TDB_DATA val = tdb_fetch(st->tdb, key);

	if (val.dptr != NULL && val.dsize == sizeof(*r)) {
		memcpy(r, val.dptr, sizeof(*r));
		if (r->version == ADMIN_STATS_VERSION) {
			free(val.dptr);
			return;
		}
	}
	free(val.dptr);
	memset(r, 0, sizeof(*r));
	r->version = ADMIN_STATS_VERSION;
}

/* admin_stats_count - add n results of one kind to the current minute. */
int
admin_stats_count(struct admin_stats *st, const char *site,
    enum admin_stat kind, unsigned n, time_t now)
{
	struct admin_stats_rec r;
	struct admin_stats_slot *s;
	uint32_t minute = (uint32_t)(now / 60);
	TDB_DATA key, val;
	int	 rc;

	if ((unsigned)kind >= ADMIN_STAT_N)
		return err_set(EX_SOFTWARE, "stats: bad counter");
	if ((rc = stats_key(site, &key)) != 0)
		return rc;
	if (tdb_chainlock(st->tdb, key) != 0)
		return err_set(EX_TEMPFAIL, "stats %s: cannot lock: %s", site,
		    tdb_errorstr(st->tdb));
	stats_load(st, key, &r);
	s = &r.slot[minute % ADMIN_STATS_SLOTS];
	if (s->minute != minute) {
		memset(s, 0, sizeof(*s));
		s->minute = minute;
	}
	s->n[kind] = s->n[kind] > UINT32_MAX - n ? UINT32_MAX : s->n[kind] + n;
	val.dptr = (unsigned char *)&r;
	val.dsize = sizeof(r);
	if (tdb_store(st->tdb, key, val, TDB_REPLACE) != 0)
		rc = err_set(EX_TEMPFAIL, "stats %s: cannot store: %s", site,
		    tdb_errorstr(st->tdb));
	tdb_chainunlock(st->tdb, key);
	return rc;
}

/* admin_stats_hour - the sums of the slots of the last 60 minutes. */
int
admin_stats_hour(struct admin_stats *st, const char *site, time_t now,
    uint64_t out[ADMIN_STAT_N])
{
	struct admin_stats_rec r;
	uint32_t minute = (uint32_t)(now / 60);
	TDB_DATA key;
	size_t	 i, k;
	int	 rc;

	memset(out, 0, ADMIN_STAT_N * sizeof(*out));
	if ((rc = stats_key(site, &key)) != 0)
		return rc;
	stats_load(st, key, &r);
	for (i = 0; i < ADMIN_STATS_SLOTS; i++) {
		if (r.slot[i].minute > minute ||
		    minute - r.slot[i].minute >= ADMIN_STATS_SLOTS)
			continue;
		for (k = 0; k < ADMIN_STAT_N; k++)
			out[k] += r.slot[i].n[k];
	}
	return 0;
}

/* One admin_stats_sites walk. */
struct stats_walk {
	int	(*fn)(void *, const char *);
	void	*ctx;
	int	 rc;
};

/* stats_site_one - tdb traverse callback: hand over the site name. */
static int
stats_site_one(struct tdb_context *tdb, TDB_DATA key, TDB_DATA val,
    void *arg)
{
	struct stats_walk *w = arg;
	char	 name[SITE_NAME_MAX + 1];

	(void)tdb;
	if (key.dsize == 0 || key.dsize > SITE_NAME_MAX ||
	    val.dsize != sizeof(struct admin_stats_rec) ||
	    memchr(key.dptr, '\0', key.dsize) != NULL)
		return 0;
	memcpy(name, key.dptr, key.dsize);
	name[key.dsize] = '\0';
	w->rc = w->fn(w->ctx, name);
	return w->rc != 0;
}

/* admin_stats_sites - every site with counters. */
int
admin_stats_sites(struct admin_stats *st, int (*fn)(void *, const char *),
    void *ctx)
{
	struct stats_walk w = { fn, ctx, 0 };

	if (tdb_traverse_read(st->tdb, stats_site_one, &w) < 0 && w.rc == 0)
		return err_set(EX_TEMPFAIL, "stats: cannot traverse: %s",
		    tdb_errorstr(st->tdb));
	return w.rc;
}

/* sites */

struct admin_siterow {
	char	*name;
	uint64_t msgs, rcpts;		/* queued */
};

struct admin_sitetab {
	struct admin_siterow *v;
	size_t	 n, cap;
};

/* sitetab_get - the row of name, added when missing (NULL: no memory). */
static struct admin_siterow *
sitetab_get(struct admin_sitetab *t, const char *name)
{
	struct admin_siterow *v;
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	if (t->n == t->cap) {
		size_t	 ncap = t->cap ? t->cap * 2 : 64;

		if ((v = realloc(t->v, ncap * sizeof(*v))) == NULL)
			return NULL;
		t->v = v;
		t->cap = ncap;
	}
	v = &t->v[t->n];
	memset(v, 0, sizeof(*v));
	if ((v->name = strdup(name)) == NULL)
		return NULL;
	t->n++;
	return v;
}

/* sitetab_add - add a site by name (callback form). */
static int
sitetab_add(void *ctx, const char *name)
{
	return sitetab_get(ctx, name) ? 0 :
	    err_set(EX_TEMPFAIL, "out of memory");
}

/* sitetab_bucket - bucket_sites callback. */
static int
sitetab_bucket(void *ctx, const char *site, const struct bucket_rec *br)
{
	(void)br;
	return sitetab_add(ctx, site);
}

/* sitetab_queue - admin_walk callback: count the queue per site. */
static int
sitetab_queue(struct admin_walk *w, const struct qrec *rec, uint32_t flags)
{
	struct admin_siterow *row = sitetab_get(w->ctx, rec->site);
	size_t	 i;

	(void)flags;
	if (row == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	row->msgs++;
	for (i = 0; i < rec->nr; i++)
		if (rec->r[i].status != QR_SENT &&
		    rec->r[i].status != QR_BOUNCED)
			row->rcpts++;
	return 0;
}

/* sitetab_cmp - by name. */
static int
sitetab_cmp(const void *x, const void *y)
{
	return strcmp(((const struct admin_siterow *)x)->name,
	    ((const struct admin_siterow *)y)->name);
}

/* sitetab_free - free the table. */
static void
sitetab_free(struct admin_sitetab *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
}

/* sites_rate - a rate in the largest unit that keeps it whole. */
static void
sites_rate(double per_sec, char *out, size_t len)
{
	static const struct { double mul; char unit; } u[] = {
		{ 1, 's' }, { 60, 'm' }, { 3600, 'h' }, { 86400, 'd' } };
	double	 v, d;
	size_t	 i;

	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		v = per_sec * u[i].mul;
		if (v < 1 || v > 1e15)
			continue;
		d = v - (double)(long long)(v + 0.5);	/* no libm */
		if (d < 0)
			d = -d;
		if (d < 1e-6 * v) {
			snprintf(out, len, "%.0f/%c", v, u[i].unit);
			return;
		}
	}
	snprintf(out, len, "%.4g/h", per_sec * 3600);
}

/* One row's live figures. */
struct admin_sitefig {
	struct conf_limits lim;
	struct bucket_rec br;
	double	 waiting;
	uint64_t hour[ADMIN_STAT_N];
	const char *state;
};

/* sites_rates - the rate list, "5/m,20/h". */
static void
sites_rates(const struct conf_limits *l, char *out, size_t len)
{
	char	 one[32];
	size_t	 used = 0;
	unsigned i;

	if (l->rates.n == 0) {
		sites_rate(l->rate, out, len);
		return;
	}
	out[0] = '\0';
	for (i = 0; i < l->rates.n && used < len; i++) {
		sites_rate(l->rates.count[i] / l->rates.period[i], one,
		    sizeof(one));
		if (l->rates.period[i] > 1 && l->rates.count[i] >= 1)
			snprintf(one, sizeof(one), "%.0f/%c", l->rates.count[i],
			    l->rates.period[i] == 60 ? 'm' :
			    l->rates.period[i] == 3600 ? 'h' : 'd');
		used += (size_t)snprintf(out + used, len - used, "%s%s",
		    i ? "," : "", one);
	}
}

/* sites_bucket_size - the size of bucket i (burst for the first). */
static double
sites_bucket_size(const struct conf_limits *l, unsigned i)
{
	return i == 0 ? l->burst : l->rates.count[i];
}

/* sites_buckets - each bucket as JSON ("buckets":[...]) or as indented
 * lines (text; only for a list of several). */
static int
sites_buckets(struct buf *b, const struct admin_sitefig *g, int json)
{
	char	 rate[32];
	unsigned i, n = g->lim.rates.n;
	int	 bad = 0;

	if (json)
		bad |= buf_addstr(b, ",\"buckets\":[");
	for (i = 0; i < n && i < g->br.nb; i++) {
		struct conf_limits one = g->lim;

		one.rates.n = 1;
		one.rates.count[0] = g->lim.rates.count[i];
		one.rates.period[0] = g->lim.rates.period[i];
		sites_rates(&one, rate, sizeof(rate));
		if (json)
			bad |= buf_printf(b, "%s{\"rate\":\"%s\",\"size\":%.0f,"
			    "\"tokens\":%.2f}", i ? "," : "", rate,
			    sites_bucket_size(&g->lim, i), g->br.btokens[i]);
		else if (n > 1)
			bad |= buf_printf(b, "  bucket %-9s %6.0f %8.1f\n",
			    rate, sites_bucket_size(&g->lim, i),
			    g->br.btokens[i]);
	}
	if (json)
		bad |= buf_addstr(b, "]");
	return bad;
}

/* sites_figures - the bucket and counters of one site. */
static void
sites_figures(struct admin *a, struct bucket_db *bdb,
    struct admin_stats *st, const char *name, struct admin_sitefig *g)
{
	memset(g, 0, sizeof(*g));
	site_limits(a->conf, name, &g->lim);
	if (bdb == NULL || bucket_get(bdb, name, &g->lim, (double)a->now,
	    &g->br) != 0) {
		unsigned i;

		g->br.tokens = g->lim.burst;
		g->br.flags = 0;
		g->br.nb = g->lim.rates.n;
		for (i = 0; i < g->br.nb && i < BUCKET_MAX; i++)
			g->br.btokens[i] = sites_bucket_size(&g->lim, i);
	}
	g->waiting = (g->br.tokens < 0 ? -g->br.tokens : 0) +
	    g->br.frozen_waiting;
	if (st != NULL)
		(void)admin_stats_hour(st, name, a->now, g->hour);
	g->state = (g->br.flags & BUCKET_AUTO) ? "auto-frozen" :
	    (g->br.flags & BUCKET_FROZEN) ? "frozen" : "active";
}

/* sites_row - one site as a table line or a JSON object. */
static int
sites_row(struct buf *b, const struct admin_siterow *row,
    const struct admin_sitefig *g, int json)
{
	struct buf name;
	char	 rate[160];
	int	 bad = 0;

	sites_rates(&g->lim, rate, sizeof(rate));
	if (json) {
		bad |= buf_addstr(b, "{\"site\":");
		bad |= admin_put_json(b, row->name);
		bad |= sites_buckets(b, g, 1);
		bad |= buf_printf(b, ",\"rate\":\"%s\",\"rate_per_second\":%.6g,"
		    "\"burst\":%.0f,\"tokens\":%.2f,\"waiting\":%.0f,"
		    "\"backlog\":%.0f,\"queued_messages\":%" PRIu64 ","
		    "\"queued_recipients\":%" PRIu64 ",\"frozen\":%s,"
		    "\"auto_frozen\":%s,\"state\":\"%s\",\"sent_1h\":%" PRIu64
		    ",\"deferred_1h\":%" PRIu64 ",\"bounced_1h\":%" PRIu64
		    "}\n", rate, g->lim.rate, g->lim.burst, g->br.tokens,
		    g->waiting, g->lim.backlog, row->msgs, row->rcpts,
		    g->br.flags & BUCKET_FROZEN ? "true" : "false",
		    g->br.flags & BUCKET_AUTO ? "true" : "false", g->state,
		    g->hour[ADMIN_STAT_SENT], g->hour[ADMIN_STAT_DEFERRED],
		    g->hour[ADMIN_STAT_BOUNCED]);
		return bad;
	}
	buf_init(&name, SITE_NAME_MAX * 4 + 1);
	bad |= admin_put_text(&name, row->name);
	bad |= buf_printf(b, "%-24s ", buf_str(&name));
	buf_free(&name);
	bad |= buf_printf(b, "%9s %6.0f %8.1f %7.0f/%-7.0f %6" PRIu64 " %7"
	    PRIu64 "  %-11s %6" PRIu64 " %6" PRIu64 " %6" PRIu64 "\n", rate,
	    g->lim.burst, g->br.tokens, g->waiting, g->lim.backlog, row->msgs,
	    row->rcpts, g->state, g->hour[ADMIN_STAT_SENT],
	    g->hour[ADMIN_STAT_DEFERRED], g->hour[ADMIN_STAT_BOUNCED]);
	return bad | sites_buckets(b, g, 0);
}

/* sites_collect - the names of every site worth a row. */
static int
sites_collect(struct admin *a, struct bucket_db *bdb, struct admin_stats *st,
    struct admin_sitetab *t)
{
	struct admin_walk w;
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < a->conf->nsites && rc == 0; i++)
		rc = sitetab_add(t, a->conf->sites[i].name);
	if (rc == 0 && bdb != NULL)
		rc = bucket_sites(bdb, sitetab_bucket, t);
	if (rc == 0 && st != NULL)
		rc = admin_stats_sites(st, sitetab_add, t);
	if (rc == 0) {
		memset(&w, 0, sizeof(w));
		w.a = a;
		w.fn = sitetab_queue;
		w.ctx = t;
		rc = admin_walk(&w);
	}
	return rc;
}

/* admin_sites - the per-site overview. */
int
admin_sites(struct admin *a, int json, FILE *fp)
{
	struct admin_sitetab t = { NULL, 0, 0 };
	struct admin_sitefig g;
	struct admin_stats *st = NULL;
	struct bucket_db *bdb = NULL;
	struct buf b;
	size_t	 i;
	int	 rc, bad = 0;

	if ((rc = admin_bdb(a, 0, &bdb)) != 0 && rc != EX_NOINPUT)
		return rc;
	if ((rc = admin_stats_open(&st, a->conf->spool_dir, 1)) != 0 &&
	    rc != EX_NOINPUT)
		return rc;
	if ((rc = sites_collect(a, bdb, st, &t)) != 0)
		goto out;
	if (t.n > 1)
		qsort(t.v, t.n, sizeof(*t.v), sitetab_cmp);
	buf_init(&b, ADMIN_OUT_MAX);
	if (!json)
		bad |= buf_printf(&b, "%-24s %9s %6s %8s %15s %6s %7s  %-11s "
		    "%6s %6s %6s\n", "SITE", "RATE", "BURST", "TOKENS",
		    "WAITING/BACKLOG", "MSGS", "RCPTS", "STATE", "SENT",
		    "DEFER", "BOUNCE");
	for (i = 0; i < t.n; i++) {
		sites_figures(a, bdb, st, t.v[i].name, &g);
		bad |= sites_row(&b, &t.v[i], &g, json);
	}
	rc = bad ? err_set(EX_TEMPFAIL, "out of memory") : admin_write(fp, &b);
	buf_free(&b);
out:
	sitetab_free(&t);
	admin_stats_close(st);
	return rc;
}

/* route */

/* admin_route - explain how address would be routed. */
int
admin_route(struct admin *a, const char *address, int json, FILE *fp)
{
	struct route_ctx *rctx;
	struct buf out;
	int	 rc;

	if ((rc = route_open(&rctx, a->conf)) != 0)
		return rc;
	buf_init(&out, 1 << 20);
	if ((rc = route_explain(rctx, address, json, &out)) == 0) {
		if (out.len > 0 && out.ptr[out.len - 1] != '\n' &&
		    buf_addch(&out, '\n') < 0)
			rc = err_set(EX_TEMPFAIL, "out of memory");
		if (rc == 0)
			rc = admin_write(fp, &out);
	}
	buf_free(&out);
	route_close(rctx);
	return rc;
}
