/*
 * metrics.c - the Prometheus textfile of [notify] metrics (see metrics.h
 * for the metric names).  Text exposition format 0.0.4: a HELP and a TYPE
 * line per metric, then one sample per site, label values escaped (\\,
 * \", \n).  Sites are those counted since start, those in bucket.tdb and
 * those configured, in name order.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/admin.h"
#include "queue/bucket.h"
#include "queue/freeze.h"
#include "queue/metrics.h"
#include "queue/site.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/msg.h"

#define METRICS_MAX	(64u << 20)	/* largest file written */
#define METRICS_SITES	100000		/* sites kept */

/* runner.c counts results as METRICS_SENT + enum admin_stat. */
_Static_assert(METRICS_SENT + ADMIN_STAT_DEFERRED == METRICS_DEFERRED &&
    METRICS_SENT + ADMIN_STAT_BOUNCED == METRICS_BOUNCED,
    "metrics_ctr follows admin_stat");

/* What is known of one site. */
struct metrics_site {
	char	*name;
	uint64_t ctr[METRICS_CTRS];
	uint64_t bytes, msgs;		/* the last usage walk */
	double	 tokens;
	uint64_t held, refused;
	int	 frozen;
};

static struct metrics_site *ms;
static size_t nms;
static time_t metrics_last, metrics_oldest_mtime;

/* metrics_site - site's entry, added when new (NULL: no room). */
static struct metrics_site *
metrics_site(const char *site)
{
	struct metrics_site *v;
	size_t	 i;

	for (i = 0; i < nms; i++)
		if (strcmp(ms[i].name, site) == 0)
			return &ms[i];
	if (nms == METRICS_SITES ||
	    (v = realloc(ms, (nms + 1) * sizeof(*v))) == NULL)
		return NULL;
	ms = v;
	memset(&v[nms], 0, sizeof(v[nms]));
	if ((v[nms].name = strdup(site)) == NULL)
		return NULL;
	return &v[nms++];
}

/* metrics_count - add n to a counter of site. */
void
metrics_count(const char *site, enum metrics_ctr c, unsigned n)
{
	struct metrics_site *s = metrics_site(site);

	if (s != NULL)
		s->ctr[c] += n;
}

/* metrics_usage_begin - a usage walk starts: zero the queue gauges. */
void
metrics_usage_begin(void)
{
	size_t	 i;

	for (i = 0; i < nms; i++)
		ms[i].bytes = ms[i].msgs = 0;
	metrics_oldest_mtime = 0;
}

/* metrics_usage - one site's share of the walk. */
void
metrics_usage(const char *site, uint64_t bytes, unsigned msgs)
{
	struct metrics_site *s = metrics_site(site);

	if (s != NULL) {
		s->bytes = bytes;
		s->msgs = msgs;
	}
}

/* metrics_oldest - the oldest queue file's mtime (0: none). */
void
metrics_oldest(time_t t)
{
	metrics_oldest_mtime = t;
}

/* metrics_bucket_fn - bucket_sites callback: make sure site is listed. */
static int
metrics_bucket_fn(void *arg, const char *site, const struct bucket_rec *rec)
{
	(void)arg;
	(void)rec;
	(void)metrics_site(site);
	return 0;
}

/* metrics_cmp - sites in name order. */
static int
metrics_cmp(const void *a, const void *b)
{
	return strcmp(((const struct metrics_site *)a)->name,
	    ((const struct metrics_site *)b)->name);
}

/* metrics_gather - the sites' bucket and freeze state at now. */
static void
metrics_gather(const struct conf *c, struct bucket_db *bdb, time_t now)
{
	struct conf_limits lim;
	struct bucket_rec rec;
	size_t	 i;

	for (i = 0; i < c->nsites; i++)
		(void)metrics_site(c->sites[i].name);
	if (bdb != NULL)
		(void)bucket_sites(bdb, metrics_bucket_fn, NULL);
	qsort(ms, nms, sizeof(*ms), metrics_cmp);
	for (i = 0; i < nms; i++) {
		ms[i].frozen = freeze_site_get(c->spool_dir, ms[i].name) != 0;
		site_limits(c, ms[i].name, &lim);
		if (bdb == NULL || bucket_get(bdb, ms[i].name, &lim,
		    (double)now, &rec) != 0)
			continue;
		ms[i].tokens = rec.tokens;
		ms[i].held = rec.held;
		ms[i].refused = rec.refused;
		if (rec.flags & BUCKET_FROZEN)
			ms[i].frozen = 1;
	}
}

/* metrics_label - append value escaped for a label value. */
int
metrics_label(struct buf *b, const char *v)
{
	int	 rc = 0;

	for (; rc == 0 && *v; v++)
		rc = *v == '\\' ? buf_addstr(b, "\\\\") :
		    *v == '"' ? buf_addstr(b, "\\\"") :
		    *v == '\n' ? buf_addstr(b, "\\n") : buf_addch(b, *v);
	return rc;
}

/* metrics_value - site i's value of metric k (see metrics_names). */
static double
metrics_value(const struct metrics_site *s, int k)
{
	switch (k) {
	case 0: case 1: case 2: case 3: case 4:
		return (double)s->ctr[k];
	case 5: return (double)s->held;
	case 6: return (double)s->refused;
	case 7: return (double)s->msgs;
	case 8: return (double)s->bytes;
	case 9: return s->tokens;
	default: return s->frozen;
	}
}

static const char *const metrics_names[][3] = {
	{ "accepted_total", "counter", "Messages accepted (indexed by "
	    "sitemaild) since it started." },
	{ "sent_total", "counter", "Recipients delivered since sitemaild "
	    "started." },
	{ "deferred_total", "counter", "Recipient attempts deferred since "
	    "sitemaild started." },
	{ "bounced_total", "counter", "Recipients bounced since sitemaild "
	    "started." },
	{ "frozen_total", "counter", "Times the site was frozen since "
	    "sitemaild started." },
	{ "held_total", "counter", "Messages held by the rate limit or a "
	    "freeze (bucket.tdb)." },
	{ "refused_total", "counter", "Messages refused at intake "
	    "(bucket.tdb)." },
	{ "queue_messages", "gauge", "Messages of the site in the queue." },
	{ "queue_bytes", "gauge", "Bytes of the site in the spool (queue/ "
	    "and tmp/)." },
	{ "tokens", "gauge", "Tokens in the site's bucket." },
	{ "frozen", "gauge", "1 if the site is frozen." },
};

/* metrics_quarantined - files in quarantine/. */
static unsigned long
metrics_quarantined(const char *spool_dir)
{
	char	 path[PATH_MAX];
	struct dirent *de;
	unsigned long n = 0;
	DIR	*d;

	if ((size_t)snprintf(path, sizeof(path), "%s/quarantine", spool_dir)
	    >= sizeof(path) || (d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* metrics_text - the whole file into b. */
static int
metrics_text(struct buf *b, const struct conf *c, time_t now)
{
	size_t	 k, i;
	int	 rc = 0;

	for (k = 0; rc == 0 && k < sizeof(metrics_names) /
	    sizeof(metrics_names[0]); k++) {
		rc = buf_printf(b, "# HELP sitemail_%s %s\n# TYPE sitemail_%s "
		    "%s\n", metrics_names[k][0], metrics_names[k][2],
		    metrics_names[k][0], metrics_names[k][1]);
		for (i = 0; rc == 0 && i < nms; i++)
			if ((rc = buf_printf(b, "sitemail_%s{site=\"",
			    metrics_names[k][0])) == 0 &&
			    (rc = metrics_label(b, ms[i].name)) == 0)
				rc = buf_printf(b, "\"} %.17g\n",
				    metrics_value(&ms[i], (int)k));
	}
	if (rc == 0)
		rc = buf_printf(b, "# HELP sitemail_oldest_queued_seconds Age "
		    "of the oldest message in the queue.\n# TYPE "
		    "sitemail_oldest_queued_seconds gauge\n"
		    "sitemail_oldest_queued_seconds %lld\n# HELP "
		    "sitemail_quarantine_messages Files in quarantine/.\n"
		    "# TYPE sitemail_quarantine_messages gauge\n"
		    "sitemail_quarantine_messages %lu\n",
		    metrics_oldest_mtime > 0 && now > metrics_oldest_mtime ?
		    (long long)(now - metrics_oldest_mtime) : 0LL,
		    metrics_quarantined(c->spool_dir));
	return rc;
}

/* metrics_replace - write text to path atomically (tmp, fsync, rename). */
static int
metrics_replace(const char *path, const struct buf *text)
{
	char	 tmp[PATH_MAX], *slash;

	slash = strrchr(path, '/');
	if (slash == NULL || (size_t)snprintf(tmp, sizeof(tmp), "%.*s/.%s.tmp",
	    (int)(slash - path), path, slash + 1) >= sizeof(tmp))
		return err_set(EX_CONFIG, "metrics: bad path %s", path);
	return spool_replace(tmp, path, text->ptr, text->len, 0644, 1);
}

/* metrics_write - rewrite the metrics file when due. */
int
metrics_write(const struct conf *c, struct bucket_db *bdb, time_t now,
    int force)
{
	static int warned;
	struct buf text;
	int	 rc;

	if (*c->notify.metrics == '\0' ||
	    (!force && now < metrics_last + METRICS_EVERY && now >=
	    metrics_last))
		return 0;
	metrics_last = now;
	metrics_gather(c, bdb, now);
	buf_init(&text, METRICS_MAX);
	if ((rc = metrics_text(&text, c, now)) != 0)
		rc = err_set(EX_SOFTWARE, "metrics: more than %u bytes",
		    METRICS_MAX);
	else
		rc = metrics_replace(c->notify.metrics, &text);
	buf_free(&text);
	if (rc != 0 && !warned++)
		log_warn("%s", err_str());
	else if (rc == 0)
		warned = 0;
	return rc;
}

/* metrics_free - forget every site. */
void
metrics_free(void)
{
	size_t	 i;

	for (i = 0; i < nms; i++)
		free(ms[i].name);
	free(ms);
	ms = NULL;
	nms = 0;
}
