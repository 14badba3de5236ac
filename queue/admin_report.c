/*
 * admin_report.c - "sitemail report [--since 24h] [--json]": the daily
 * digest, per site, read from the mail log ([main] log = file:PATH; a
 * syslog log has no file to read: EX_UNAVAILABLE saying so).
 *
 * Lines used (util/msg.c stamps "Mon DD HH:MM:SS", local time, no year:
 * the current year is assumed, the previous one for a date in the future):
 *	QID: queued: from=<S> size=N nrcpt=N site=S uid=N cwd=C script=X
 *		(sitemaild: one per accepted message; the message counts
 *		when this line is inside the window)
 *	QID: site=S uid=N login=L cwd=C exe=E script=X ...   (intake: the
 *		program, used as the "script" when X is "-")
 *	QID: to=<A>, relay=..., status=sent|deferred|bounced (...)
 *		(recipient results of the messages counted, whenever logged)
 * Per site: messages, recipients (sum of nrcpt), sent, deferred
 * (attempts), bounced, and the top scripts, working directories and
 * recipient domains (REPORT_TOP each).  The log is writable by the set-gid
 * group, so a site could add lines of its own: the digest is a summary for
 * people, not an audit.
 *
 * Text: a header line, then per site one line of figures and three
 * "top" lines.  JSON (--json): one object per site per line:
 *	{"site", "messages", "recipients", "sent", "deferred", "bounced",
 *	 "top_scripts": [{"script", "count"}], "top_cwds": [{"cwd", "count"}],
 *	 "top_domains": [{"domain", "count"}]}
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "queue/admin_report.h"
#include "queue/notify.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/msg.h"

#define REPORT_TOP	5

/* A string -> number map (open addressing, grows at half full). */
struct rmap {
	char	**k;
	size_t	*v;
	size_t	 n, cap;
};

/* One site's figures. */
struct rsite {
	char	*name;
	unsigned long msgs, rcpts, sent, deferred, bounced;
	struct rmap script, cwd, domain;
};

struct report {
	struct rmap sites;		/* name -> index + 1 */
	struct rsite *s;
	size_t	 ns;
	struct rmap qsite;		/* qid -> site index + 1 */
	struct rmap exe;		/* qid -> index + 1 into exes */
	char	**exes;
	size_t	 nexes;
	time_t	 since, now;
};

/* rmap_hash - FNV-1a of s. */
static size_t
rmap_hash(const char *s)
{
	size_t	 h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* rmap_slot - the slot of key k (empty when absent). */
static size_t
rmap_slot(const struct rmap *m, const char *k)
{
	size_t	 i = rmap_hash(k) & (m->cap - 1);

	while (m->k[i] != NULL && strcmp(m->k[i], k) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* rmap_grow - double the table; -1 when out of memory. */
static int
rmap_grow(struct rmap *m)
{
	struct rmap n = { NULL, NULL, m->n, m->cap ? m->cap * 2 : 64 };
	size_t	 i, j;

	if ((n.k = calloc(n.cap, sizeof(*n.k))) == NULL ||
	    (n.v = calloc(n.cap, sizeof(*n.v))) == NULL) {
		free(n.k);
		return -1;
	}
	for (i = 0; i < m->cap; i++)
		if (m->k[i] != NULL) {
			j = rmap_slot(&n, m->k[i]);
			n.k[j] = m->k[i];
			n.v[j] = m->v[i];
		}
	free(m->k);
	free(m->v);
	*m = n;
	return 0;
}

/* rmap_get - the value of k, or 0. */
static size_t
rmap_get(const struct rmap *m, const char *k)
{
	size_t	 i;

	if (m->cap == 0)
		return 0;
	i = rmap_slot(m, k);
	return m->k[i] != NULL ? m->v[i] : 0;
}

/* rmap_ref - the value slot of k, added as 0 when new (NULL: no memory). */
static size_t *
rmap_ref(struct rmap *m, const char *k)
{
	size_t	 i;

	if ((m->n + 1) * 2 > m->cap && rmap_grow(m) != 0)
		return NULL;
	i = rmap_slot(m, k);
	if (m->k[i] == NULL) {
		if ((m->k[i] = strdup(k)) == NULL)
			return NULL;
		m->v[i] = 0;
		m->n++;
	}
	return &m->v[i];
}

/* rmap_free - release a map. */
static void
rmap_free(struct rmap *m)
{
	size_t	 i;

	for (i = 0; i < m->cap; i++)
		free(m->k[i]);
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* rmap_count - one more of k. */
static void
rmap_count(struct rmap *m, const char *k)
{
	size_t	*v = rmap_ref(m, k);

	if (v != NULL)
		(*v)++;
}

/* report_site - the index of site name (added when new), or -1. */
static ssize_t
report_site(struct report *r, const char *name)
{
	struct rsite *v;
	size_t	*ix = rmap_ref(&r->sites, name);

	if (ix == NULL)
		return -1;
	if (*ix)
		return (ssize_t)(*ix - 1);
	if ((v = realloc(r->s, (r->ns + 1) * sizeof(*v))) == NULL)
		return -1;
	r->s = v;
	memset(&v[r->ns], 0, sizeof(v[0]));
	if ((v[r->ns].name = strdup(name)) == NULL)
		return -1;
	*ix = ++r->ns;
	return (ssize_t)(r->ns - 1);
}

/* report_stamp - the time of a log line, or -1. */
static time_t
report_stamp(const char *line, time_t now)
{
	struct tm tm, nowtm;
	time_t	 t;

	memset(&tm, 0, sizeof(tm));
	if (strptime(line, "%b %e %H:%M:%S", &tm) == NULL)
		return -1;
	localtime_r(&now, &nowtm);
	tm.tm_year = nowtm.tm_year;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) > now + 86400) {
		tm.tm_year--;
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	return t;
}

/* report_word - the value of " key=" in s up to the next space (or, with
 * to_end, up to until or the end) into out; 0 or -1. */
static int
report_word(const char *s, const char *key, const char *until, char *out,
    size_t len)
{
	const char *p = strstr(s, key), *e;

	if (p == NULL)
		return -1;
	p += strlen(key);
	e = until != NULL ? strstr(p, until) : NULL;
	if (e == NULL)
		e = until != NULL ? p + strlen(p) : p + strcspn(p, " ,");
	if ((size_t)(e - p) >= len)
		e = p + len - 1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

/* report_queued - a "queued:" line of qid. */
static void
report_queued(struct report *r, const char *qid, const char *rest)
{
	char	 site[256], num[32], cwd[1024], script[1024], c[1024];
	const char *exe;
	size_t	*q, ix;
	ssize_t	 i;

	if (report_word(rest, " site=", NULL, site, sizeof(site)) != 0 ||
	    report_word(rest, " nrcpt=", NULL, num, sizeof(num)) != 0 ||
	    (i = report_site(r, site)) < 0 ||
	    (q = rmap_ref(&r->qsite, qid)) == NULL)
		return;
	*q = (size_t)i + 1;
	r->s[i].msgs++;
	r->s[i].rcpts += strtoul(num, NULL, 10);
	if (report_word(rest, " cwd=", " script=", cwd, sizeof(cwd)) == 0) {
		notify_clean(c, sizeof(c), cwd);
		rmap_count(&r->s[i].cwd, c);
	}
	if (report_word(rest, " script=", "\n", script, sizeof(script)) != 0)
		return;
	if (strcmp(script, "-") == 0 && (ix = rmap_get(&r->exe, qid)) != 0)
		exe = r->exes[ix - 1];
	else
		exe = script;
	notify_clean(c, sizeof(c), exe);
	rmap_count(&r->s[i].script, c);
}

/* report_intake - intake's line of qid: remember its program. */
static void
report_intake(struct report *r, const char *qid, const char *rest)
{
	char	 exe[1024], **v;
	size_t	*ix;

	if (report_word(rest, " exe=", " script=", exe, sizeof(exe)) != 0 ||
	    (ix = rmap_ref(&r->exe, qid)) == NULL || *ix != 0 ||
	    (v = realloc(r->exes, (r->nexes + 1) * sizeof(*v))) == NULL)
		return;
	r->exes = v;
	if ((v[r->nexes] = strdup(exe)) != NULL)
		*ix = ++r->nexes;
}

/* report_result - a "to=<...>" line of qid. */
static void
report_result(struct report *r, const char *qid, const char *rest)
{
	char	 addr[1024], status[32], c[1024];
	struct rsite *s;
	const char *at;
	size_t	 ix = rmap_get(&r->qsite, qid);

	if (ix == 0 || report_word(rest, " to=<", ">", addr, sizeof(addr)) !=
	    0 || report_word(rest, " status=", NULL, status, sizeof(status))
	    != 0)
		return;
	s = &r->s[ix - 1];
	if (strcmp(status, "sent") == 0)
		s->sent++;
	else if (strcmp(status, "bounced") == 0)
		s->bounced++;
	else
		s->deferred++;
	if (strcmp(status, "deferred") == 0)
		return;			/* a domain counts once per recipient */
	at = strrchr(addr, '@');
	notify_clean(c, sizeof(c), at != NULL ? at + 1 : "(local)");
	rmap_count(&s->domain, c);
}

/* report_line - one log line. */
static void
report_line(struct report *r, char *line)
{
	char	 qid[SPOOL_QIDLEN + 1], *p, *rest;
	time_t	 t;

	line[strcspn(line, "\n")] = '\0';
	if ((p = strstr(line, "]: ")) == NULL)
		return;
	p += 3;
	if (strncmp(p, "warning: ", 9) == 0)
		p += 9;
	if (strlen(p) < SPOOL_QIDLEN + 2 || p[SPOOL_QIDLEN] != ':')
		return;
	memcpy(qid, p, SPOOL_QIDLEN);
	qid[SPOOL_QIDLEN] = '\0';
	if (!spool_qid_valid(qid))
		return;
	rest = p + SPOOL_QIDLEN + 1;
	if (strncmp(rest, " to=<", 5) == 0) {
		report_result(r, qid, rest);
		return;
	}
	if ((t = report_stamp(line, r->now)) < 0 || t < r->since)
		return;
	if (strncmp(rest, " queued: ", 9) == 0)
		report_queued(r, qid, rest + 8);
	else if (strncmp(rest, " site=", 6) == 0)
		report_intake(r, qid, rest);
}

/* report_top - the n most counted keys of m (sorted, most first). */
static size_t
report_top(const struct rmap *m, size_t *idx, size_t n)
{
	size_t	 i, k, j, got = 0;

	for (i = 0; i < m->cap; i++) {
		if (m->k[i] == NULL)
			continue;
		for (k = 0; k < got && (m->v[idx[k]] > m->v[i] ||
		    (m->v[idx[k]] == m->v[i] &&
		    strcmp(m->k[idx[k]], m->k[i]) < 0)); k++)
			;
		if (k == n)
			continue;
		for (j = got < n ? got : n - 1; j > k; j--)
			idx[j] = idx[j - 1];
		idx[k] = i;
		if (got < n)
			got++;
	}
	return got;
}

/* report_top_text - "  top NAME: N key; N key" */
static void
report_top_text(FILE *fp, const char *title, const struct rmap *m)
{
	size_t	 idx[REPORT_TOP], n, i;

	n = report_top(m, idx, REPORT_TOP);
	fprintf(fp, "  %s:", title);
	for (i = 0; i < n; i++)
		fprintf(fp, "%s %zu %s", i ? ";" : "", m->v[idx[i]],
		    m->k[idx[i]]);
	fprintf(fp, "%s\n", n ? "" : " -");
}

/* report_top_json - ,"key":[{"name":..,"count":N},...] */
static int
report_top_json(struct buf *b, const char *key, const char *name,
    const struct rmap *m)
{
	size_t	 idx[REPORT_TOP], n, i;
	int	 rc;

	n = report_top(m, idx, REPORT_TOP);
	rc = buf_printf(b, ",\"%s\":[", key);
	for (i = 0; rc == 0 && i < n; i++)
		if ((rc = buf_printf(b, "%s{\"%s\":", i ? "," : "", name)) ==
		    0 && (rc = notify_json_str(b, m->k[idx[i]])) == 0)
			rc = buf_printf(b, ",\"count\":%zu}", m->v[idx[i]]);
	return rc == 0 ? buf_addch(b, ']') : rc;
}

/* report_json - one site as a JSON line. */
static int
report_json(FILE *fp, const struct rsite *s)
{
	struct buf b;
	int	 rc;

	buf_init(&b, 1 << 20);
	rc = buf_addstr(&b, "{\"site\":");
	if (rc == 0)
		rc = notify_json_str(&b, s->name);
	if (rc == 0)
		rc = buf_printf(&b, ",\"messages\":%lu,\"recipients\":%lu,"
		    "\"sent\":%lu,\"deferred\":%lu,\"bounced\":%lu", s->msgs,
		    s->rcpts, s->sent, s->deferred, s->bounced);
	if (rc == 0)
		rc = report_top_json(&b, "top_scripts", "script", &s->script);
	if (rc == 0)
		rc = report_top_json(&b, "top_cwds", "cwd", &s->cwd);
	if (rc == 0)
		rc = report_top_json(&b, "top_domains", "domain", &s->domain);
	if (rc == 0)
		fprintf(fp, "%s}\n", buf_str(&b));
	buf_free(&b);
	return rc == 0 ? 0 : err_set(EX_SOFTWARE, "report: out of room");
}

/* report_cmp - sites by name. */
static int
report_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rsite *)a)->name,
	    ((const struct rsite *)b)->name);
}

/* report_print - the digest of r. */
static int
report_print(struct report *r, long window, int json, FILE *fp)
{
	char	 when[64];
	struct tm tm;
	size_t	 i;
	int	 rc = 0;

	qsort(r->s, r->ns, sizeof(*r->s), report_cmp);
	if (json) {
		for (i = 0; rc == 0 && i < r->ns; i++)
			rc = report_json(fp, &r->s[i]);
		return rc;
	}
	localtime_r(&r->since, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(fp, "sitemail report: the last %lds (since %s): %zu site%s\n",
	    window, when, r->ns, r->ns == 1 ? "" : "s");
	for (i = 0; i < r->ns; i++) {
		fprintf(fp, "%s: messages=%lu recipients=%lu sent=%lu "
		    "deferred=%lu bounced=%lu\n", r->s[i].name, r->s[i].msgs,
		    r->s[i].rcpts, r->s[i].sent, r->s[i].deferred,
		    r->s[i].bounced);
		report_top_text(fp, "top scripts", &r->s[i].script);
		report_top_text(fp, "top cwds", &r->s[i].cwd);
		report_top_text(fp, "top domains", &r->s[i].domain);
	}
	return 0;
}

/* report_free - release everything. */
static void
report_free(struct report *r)
{
	size_t	 i;

	for (i = 0; i < r->ns; i++) {
		free(r->s[i].name);
		rmap_free(&r->s[i].script);
		rmap_free(&r->s[i].cwd);
		rmap_free(&r->s[i].domain);
	}
	for (i = 0; i < r->nexes; i++)
		free(r->exes[i]);
	free(r->exes);
	free(r->s);
	rmap_free(&r->sites);
	rmap_free(&r->qsite);
	rmap_free(&r->exe);
}

/* admin_report - the digest of the last window seconds of conf's log. */
int
admin_report(const struct conf *c, long window, int json, FILE *fp)
{
	struct report r;
	char	*line = NULL;
	size_t	 cap = 0;
	FILE	*in;
	int	 rc;

	if (strncmp(c->log, "file:", 5) != 0)
		return err_set(EX_UNAVAILABLE, "report: the log is %s; the "
		    "report reads a log file (log = file:/PATH)", c->log);
	if ((in = fopen(c->log + 5, "re")) == NULL)
		return err_set(EX_NOINPUT, "report: cannot read %s: %s",
		    c->log + 5, strerror(errno));
	memset(&r, 0, sizeof(r));
	r.now = time(NULL);
	r.since = r.now - window;
	while (getline(&line, &cap, in) > 0)
		report_line(&r, line);
	free(line);
	fclose(in);
	rc = report_print(&r, window, json, fp);
	report_free(&r);
	return rc;
}

/* admin_report_argv - parse [--since DURATION] [--json], then report. */
int
admin_report_argv(const struct conf *c, char *const *argv, size_t n,
    FILE *fp)
{
	const char *since = "24h";
	long	 window;
	int	 json = 0;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--since") == 0 && i + 1 < n)
			since = argv[++i];
		else if (strncmp(argv[i], "--since=", 8) == 0)
			since = argv[i] + 8;
		else
			return err_set(EX_USAGE, "report: unexpected \"%s\"; "
			    "usage: sitemail report [--since 24h] [--json]",
			    argv[i]);
	}
	if ((window = conf_parse_duration(since)) <= 0)
		return err_set(EX_USAGE, "report: bad duration \"%s\" (like "
		    "30m, 24h or 7d)", since);
	return admin_report(c, window, json, fp);
}
