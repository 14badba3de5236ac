/*
 * admin.c - queue administration: the session, the selection traverse and
 * the listings of mailq and "sitemail list" (formats in admin.h), and the
 * parsing of queue IDs given on the command line or on stdin.
 */
#include <ctype.h>
#include <dirent.h>
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
#include "util/buf.h"
#include "util/db.h"
#include "util/msg.h"

/* Column where the sender and the recipients start in the text listing. */
#define ADMIN_COL	52

/* One listed message: where its text is in the output buffer. */
struct admin_entry {
	char	 qid[SPOOL_QIDLEN + 1];
	size_t	 off, len;
};

/* A listing being built. */
struct admin_listing {
	struct buf out;
	struct admin_entry *v;
	size_t	 n, cap;
	uint64_t total;			/* bytes of the listed messages */
	int	 json;
	time_t	 now;
};

/* admin_init - a session for caller. */
void
admin_init(struct admin *a, const struct conf *conf,
    const struct site_id *caller, uid_t uid, int all)
{
	memset(a, 0, sizeof(*a));
	a->conf = conf;
	a->caller = caller;
	a->uid = uid;
	a->all = all;
	a->now = time(NULL);
}

/* admin_close - close the databases the session opened. */
void
admin_close(struct admin *a)
{
	qstate_close(a->qs);
	bucket_close(a->bdb);
	a->qs = NULL;
	a->bdb = NULL;
}

static void admin_index_new(struct admin *);

/* admin_qs - the queue database, reopened read-write when needed. */
int
admin_qs(struct admin *a, int rw, struct qstate **qsp)
{
	int	 rc;

	*qsp = NULL;
	if (a->qs != NULL && (a->qs_rw || !rw)) {
		*qsp = a->qs;
		return 0;
	}
	if (a->all)
		rw = 1;			/* admins index new files first */
	qstate_close(a->qs);		/* tdb allows one open per process */
	a->qs = NULL;
	rc = rw ? qstate_open(&a->qs, a->conf->spool_dir) :
	    qstate_open_readonly(&a->qs, a->conf->spool_dir);
	if (rc != 0)
		return rc;
	a->qs_rw = rw;
	*qsp = a->qs;
	if (a->all)
		admin_index_new(a);
	return 0;
}

/* admin_index_new - add the records of committed files the runner has
 * not picked up yet (intake never writes the queue state), so an admin
 * sees and acts on every message at once.  Failures only cost a line. */
static void
admin_index_new(struct admin *a)
{
	unsigned char key[SPOOL_KEYLEN];
	struct spool_msg m;
	struct dirent *de;
	DIR	*dir;
	int	 qfd;

	if (admin_queue_fd(a->conf, &qfd) != 0)
		return;
	if (admin_key_load(a->conf, key) != 0 ||
	    (dir = fdopendir(qfd)) == NULL) {
		close(qfd);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!spool_qid_valid(de->d_name))
			continue;
		if (qstate_has(a->qs, de->d_name))
			continue;
		if (spool_open(&m, dirfd(dir), de->d_name, key) != 0)
			continue;
		if (qstate_add(a->qs, &m.env, m.content_len) != 0)
			log_warn("%s: cannot index: %s", de->d_name, err_str());
		spool_close(&m);
	}
	closedir(dir);
	explicit_bzero(key, sizeof(key));
}

/* admin_bdb - the bucket database (not created unless asked). */
int
admin_bdb(struct admin *a, int create, struct bucket_db **bdbp)
{
	struct buf path;
	struct stat st;
	int	 rc;

	*bdbp = NULL;
	if (a->bdb != NULL) {
		*bdbp = a->bdb;
		return 0;
	}
	if (!create) {
		buf_init(&path, PATH_MAX);
		rc = buf_printf(&path, "%s/%s", a->conf->spool_dir,
		    BUCKET_FILE) < 0 || stat(buf_str(&path), &st) < 0;
		buf_free(&path);
		if (rc)
			return err_set(EX_NOINPUT, "no bucket database yet");
	}
	if ((rc = bucket_open(&a->bdb, a->conf->spool_dir)) != 0)
		return rc;
	*bdbp = a->bdb;
	return 0;
}

/* admin_key_load - read $(confdir)/spool.key. */
int
admin_key_load(const struct conf *conf, unsigned char key[SPOOL_KEYLEN])
{
	struct buf path;
	int	 rc;

	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/spool.key", conf->dir) < 0)
		rc = err_set(EX_CONFIG, "config directory name too long");
	else
		rc = spool_key_load(buf_str(&path), key);
	buf_free(&path);
	return rc;
}

/* admin_queue_fd - open the queue/ folder of the spool. */
int
admin_queue_fd(const struct conf *conf, int *fdp)
{
	struct buf path;
	int	 rc = 0;

	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/queue", conf->spool_dir) < 0)
		rc = err_set(EX_CONFIG, "spool_dir too long");
	else if ((*fdp = open(buf_str(&path), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		rc = err_set(EX_TEMPFAIL, "cannot open %s: %s",
		    buf_str(&path), strerror(errno));
	buf_free(&path);
	return rc;
}

/* admin_visible_site - root and the runner user see all; others their
 * own site. */
int
admin_visible_site(const struct admin *a, const char *site)
{
	return a->all || (site != NULL && strcmp(site, a->caller->name) == 0);
}

/* admin_visible - the site rule, and within "system" (root's and every
 * system user's mail) a non-admin sees only their own messages. */
int
admin_visible(const struct admin *a, const char *site, uid_t uid)
{
	if (!admin_visible_site(a, site))
		return 0;
	return a->all || strcmp(site, SITE_SYSTEM) != 0 ||
	    uid == a->caller->uid;
}

/* admin_get - fetch a record the caller may see. */
int
admin_get(struct admin *a, struct qstate *qs, const char *qid,
    struct qrec *rec)
{
	int	 rc;

	if ((rc = qstate_get(qs, qid, rec)) != 0) {
		if (!a->all || rc == EX_NOINPUT)
			return err_set(EX_NOINPUT, "%s: no such message", qid);
		return rc;
	}
	if (!admin_visible(a, rec->site, rec->uid)) {
		qrec_free(rec);
		return err_set(EX_NOINPUT, "%s: no such message", qid);
	}
	return 0;
}

/* Frozen sites. */

struct admin_fzload {
	struct admin_frozen *v;
	size_t	 n;
	const struct admin *a;
};

/* admin_fz_one - bucket_sites callback: keep frozen sites in scope. */
static int
admin_fz_one(void *ctx, const char *site, const struct bucket_rec *br)
{
	struct admin_fzload *l = ctx;
	struct admin_frozen *v;

	if (!(br->flags & BUCKET_FROZEN) || !admin_visible_site(l->a, site))
		return 0;
	if ((v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	l->v = v;
	if ((v[l->n].name = strdup(site)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	v[l->n++].flags = br->flags;
	return 0;
}

/* admin_frozen_load - the frozen sites the caller may see. */
int
admin_frozen_load(struct admin *a, struct admin_frozen **vp, size_t *np)
{
	struct admin_fzload l = { NULL, 0, a };
	struct bucket_db *bdb;
	int	 rc;

	*vp = NULL;
	*np = 0;
	if ((rc = admin_bdb(a, 0, &bdb)) == EX_NOINPUT)
		return 0;
	if (rc == 0)
		rc = bucket_sites(bdb, admin_fz_one, &l);
	if (rc != 0) {
		admin_frozen_free(l.v, l.n);
		return rc;
	}
	*vp = l.v;
	*np = l.n;
	return 0;
}

/* admin_frozen_free - free the list. */
void
admin_frozen_free(struct admin_frozen *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* admin_frozen_flags - the flags of site, 0 when it is not frozen. */
uint32_t
admin_frozen_flags(const struct admin_frozen *v, size_t n, const char *site)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, site) == 0)
			return v[i].flags;
	return 0;
}

/* Record helpers. */

/* admin_rec_frozen - frozen one by one, or its site is. */
int
admin_rec_frozen(const struct qrec *rec, uint32_t site_flags)
{
	return rec->frozen || (site_flags & BUCKET_FROZEN) != 0;
}

/* admin_rec_held - held by the rate limit, or not charged yet. */
static int
admin_rec_held(const struct qrec *rec, time_t now)
{
	return rec->hold > now || (rec->qflags & QREC_UNCHARGED) != 0;
}

/* admin_rec_state - one word for the state of a message. */
const char *
admin_rec_state(const struct qrec *rec, uint32_t site_flags, time_t now)
{
	size_t	 i;

	if (admin_rec_frozen(rec, site_flags))
		return "frozen";
	if (admin_rec_held(rec, now))
		return "held";
	for (i = 0; i < rec->nr; i++)
		if (rec->r[i].status == QR_DEFERRED)
			return "deferred";
	return "queued";
}

/* admin_status_name - a recipient status in words. */
const char *
admin_status_name(int status)
{
	switch (status) {
	case QR_PENDING:
		return "pending";
	case QR_DEFERRED:
		return "deferred";
	case QR_SENT:
		return "sent";
	case QR_BOUNCED:
		return "bounced";
	default:
		return "unknown";
	}
}

/* admin_queued - 1 if the recipient still waits (pending or deferred). */
static int
admin_queued(const struct qrcpt *r)
{
	return r->status != QR_SENT && r->status != QR_BOUNCED;
}

/* admin_time - local time as "Tue Jan  9 10:01:02" (the last answer is
 * kept: a listing asks for the same second many times). */
void
admin_time(time_t t, char *out, size_t len)
{
	static time_t last = -1;
	static char text[64];
	struct tm tm;

	if (t != last) {
		if (localtime_r(&t, &tm) == NULL || strftime(text,
		    sizeof(text), "%a %b %e %H:%M:%S", &tm) == 0)
			snprintf(text, sizeof(text), "%lld", (long long)t);
		last = t;
	}
	snprintf(out, len, "%s", text);
}

/* Output encoding. */

/* admin_utf8 - length of the valid UTF-8 sequence at p (0 if none). */
static size_t
admin_utf8(const unsigned char *p)
{
	size_t	 n, i;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, c = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

/* admin_put_text - append s for a terminal: control characters (C0, DEL,
 * C1) and bytes that are not UTF-8 become '?'. */
int
admin_put_text(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t	 n;
	int	 bad = 0;

	while (*p) {
		for (n = 0; p[n] >= 0x20 && p[n] < 0x7f; n++)
			;
		if (n > 0) {		/* a run of printable ASCII */
			bad |= buf_add(b, p, n);
			p += n;
			continue;
		}
		n = admin_utf8(p);
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			bad |= buf_addch(b, '?');
			p += n ? n : 1;
			continue;
		}
		bad |= buf_add(b, p, n);
		p += n;
	}
	return bad ? -1 : 0;
}

/* admin_put_json - append s as a JSON string; bytes that are not UTF-8
 * are taken as Latin-1 so that the output is always valid JSON. */
int
admin_put_json(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t	 n;
	int	 bad = buf_addch(b, '"');

	for (; *p; p += n) {
		n = admin_utf8(p);
		if (n == 1 && *p == '"')
			bad |= buf_addstr(b, "\\\"");
		else if (n == 1 && *p == '\\')
			bad |= buf_addstr(b, "\\\\");
		else if (n == 1 && *p == '\n')
			bad |= buf_addstr(b, "\\n");
		else if (n == 1 && *p == '\t')
			bad |= buf_addstr(b, "\\t");
		else if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
			bad |= buf_printf(b, "\\u%04x", *p);
			n = 1;
		} else
			bad |= buf_add(b, p, n);
	}
	bad |= buf_addch(b, '"');
	return bad ? -1 : 0;
}

/* admin_rec_json - a record as one JSON object. */
int
admin_rec_json(struct buf *b, const struct qrec *rec, uint32_t site_flags,
    time_t now)
{
	const struct qrcpt *r;
	size_t	 i;
	int	 bad = 0;

	bad |= buf_printf(b, "{\"queue_id\":\"%s\",\"arrival_time\":%lld,"
	    "\"message_size\":%" PRIu64 ",\"site\":", rec->qid,
	    (long long)rec->arrival, rec->size);
	bad |= admin_put_json(b, rec->site);
	bad |= buf_printf(b, ",\"uid\":%lu,\"sender\":",
	    (unsigned long)rec->uid);
	bad |= admin_put_json(b, rec->sender);
	bad |= buf_addstr(b, ",\"recipients\":[");
	for (i = 0; i < rec->nr; i++) {
		r = &rec->r[i];
		bad |= buf_addstr(b, i ? ",{\"address\":" : "{\"address\":");
		bad |= admin_put_json(b, r->addr);
		bad |= buf_printf(b, ",\"status\":\"%s\",\"reason\":",
		    admin_status_name(r->status));
		bad |= admin_put_json(b, r->reason);
		bad |= buf_addstr(b, ",\"dsn\":");
		bad |= admin_put_json(b, r->dsn);
		bad |= buf_printf(b, ",\"attempts\":%u,\"next_try\":%lld}",
		    r->attempts, (long long)r->next_try);
	}
	bad |= buf_printf(b, "],\"frozen\":%s,\"site_frozen\":%s,"
	    "\"held_until\":%lld,\"state\":\"%s\"}",
	    admin_rec_frozen(rec, site_flags) ? "true" : "false",
	    site_flags & BUCKET_FROZEN ? "true" : "false",
	    (long long)(rec->hold > now ? rec->hold : 0),
	    admin_rec_state(rec, site_flags, now));
	return bad ? -1 : 0;
}

/* admin_write - write the buffer and flush. */
int
admin_write(FILE *fp, const struct buf *b)
{
	if ((b->len && fwrite(b->ptr, 1, b->len, fp) != b->len) ||
	    fflush(fp) != 0)
		return err_set(EX_IOERR, "cannot write the output: %s",
		    strerror(errno));
	return 0;
}

/* The selection traverse. */

/* admin_filter_check - scope and syntax of a filter. */
int
admin_filter_check(struct admin *a, const struct admin_filter *f)
{
	if (f == NULL || f->site == NULL)
		return 0;
	if (*f->site == '\0')
		return err_set(EX_USAGE, "empty site name");
	if (!admin_visible_site(a, f->site))
		return err_set(EX_NOPERM, "site %s: permission denied (you "
		    "may see your own site %s only)", f->site, a->caller->name);
	return 0;
}

/* admin_re - compile one selector. */
static int
admin_re(regex_t *re, const char *pattern, const char *what)
{
	char	 msg[256];
	int	 e;

	if ((e = regcomp(re, pattern, REG_EXTENDED | REG_ICASE |
	    REG_NOSUB)) != 0) {
		regerror(e, re, msg, sizeof(msg));
		return err_set(EX_USAGE, "bad %s expression \"%s\": %s", what,
		    pattern, msg);
	}
	return 0;
}

/* admin_walk_rcpt - 1 if a recipient still queued matches. */
static int
admin_walk_rcpt(struct admin_walk *w, const struct qrec *rec)
{
	size_t	 i;

	for (i = 0; i < rec->nr; i++)
		if ((w->include_final || admin_queued(&rec->r[i])) &&
		    regexec(&w->rcpt_re, rec->r[i].addr, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

/* admin_walk_one - qstate_traverse callback: select, then hand over. */
static int
admin_walk_one(void *ctx, const struct qrec *rec)
{
	struct admin_walk *w = ctx;
	const struct admin_filter *f = w->f;
	uint32_t flags;

	if (!admin_visible(w->a, rec->site, rec->uid) ||
	    (f && f->site && strcmp(rec->site, f->site) != 0))
		return 0;
	if (!w->include_final && qrec_final(rec))
		return 0;
	flags = admin_frozen_flags(w->fz, w->nfz, rec->site);
	if (f && f->frozen && !admin_rec_frozen(rec, flags))
		return 0;
	if (w->have_sender &&
	    regexec(&w->sender_re, rec->sender, 0, NULL, 0) != 0)
		return 0;
	if (w->have_rcpt && !admin_walk_rcpt(w, rec))
		return 0;
	return w->fn(w, rec, flags);
}

/* One read-optimised traverse (see admin_walk_site). */
struct admin_raw {
	struct admin_walk *w;
	struct buf pat;			/* "\nsite NAME\n" */
	int	 rc;
};

/* admin_raw_one - tdb traverse callback: decode only the records whose
 * text names the site. */
static int
admin_raw_one(struct tdb_context *tdb, TDB_DATA key, TDB_DATA val, void *arg)
{
	struct admin_raw *r = arg;
	struct qrec rec;

	(void)tdb;
	if (key.dsize != SPOOL_QIDLEN + 2 || memcmp(key.dptr, "m:", 2) != 0 ||
	    memmem(val.dptr, val.dsize, r->pat.ptr, r->pat.len) == NULL)
		return 0;
	if (qstate_decode((const char *)val.dptr, val.dsize, &rec) != 0)
		return 0;		/* qstate_traverse logs these */
	if (memcmp(rec.qid, key.dptr + 2, SPOOL_QIDLEN) == 0)
		r->rc = admin_walk_one(r->w, &rec);
	qrec_free(&rec);
	return r->rc != 0;
}

/* admin_walk_site - the traverse for one site without a qstate handle:
 * a read-only traverse of queue.tdb that skips, on the raw record text,
 * every record without the line "site NAME" (qstate.c's encoding), so
 * that only that site's records are decoded.  Listing one site of 100,000
 * queued messages then costs one pass over the file instead of 100,000
 * decodes. */
static int
admin_walk_site(struct admin_walk *w, const char *site)
{
	struct tdb_context *tdb;
	struct admin_raw r;
	struct buf path;
	int	 rc = 0;

	memset(&r, 0, sizeof(r));
	r.w = w;
	buf_init(&r.pat, SITE_NAME_MAX + 8);
	buf_init(&path, PATH_MAX);
	if (buf_printf(&r.pat, "\nsite %s\n", site) < 0 ||
	    buf_printf(&path, "%s/%s", w->a->conf->spool_dir,
	    QSTATE_FILE) < 0) {
		buf_free(&r.pat);
		buf_free(&path);
		return err_set(EX_USAGE, "site name or spool_dir too long");
	}
	errno = 0;
	tdb = db_open(buf_str(&path), 0, TDB_DEFAULT, O_RDONLY | O_CLOEXEC, 0);
	if (tdb == NULL && errno != ENOENT)
		rc = err_set(EX_TEMPFAIL, "cannot open %s: %s", buf_str(&path),
		    errno ? strerror(errno) : "not a tdb file");
	else if (tdb != NULL) {
		if (tdb_traverse_read(tdb, admin_raw_one, &r) < 0 && r.rc == 0)
			rc = err_set(EX_TEMPFAIL, "cannot traverse %s: %s",
			    buf_str(&path), tdb_errorstr(tdb));
		else
			rc = r.rc;
		tdb_close(tdb);
	}
	buf_free(&r.pat);
	buf_free(&path);
	return rc;
}

/* admin_walk_all - the traverse through qstate. */
static int
admin_walk_all(struct admin_walk *w)
{
	struct qstate *qs;
	int	 rc;

	if ((rc = admin_qs(w->a, w->a->qs_rw, &qs)) == EX_NOINPUT)
		return 0;		/* no database: an empty queue */
	if (rc != 0)
		return rc;
	return qstate_traverse(qs, admin_walk_one, w);
}

/* admin_walk - one traverse of the caller's part of the queue. */
int
admin_walk(struct admin_walk *w)
{
	const char *site = w->f && w->f->site ? w->f->site :
	    !w->a->all ? w->a->caller->name : NULL;
	struct qstate *qs;
	int	 rc;

	if ((rc = admin_filter_check(w->a, w->f)) != 0)
		return rc;
	if (w->f && w->f->sender_re &&
	    (rc = admin_re(&w->sender_re, w->f->sender_re, "sender")) != 0)
		return rc;
	w->have_sender = w->f && w->f->sender_re;
	if (w->f && w->f->rcpt_re &&
	    (rc = admin_re(&w->rcpt_re, w->f->rcpt_re, "recipient")) == 0)
		w->have_rcpt = 1;
	if (rc == 0)
		rc = admin_frozen_load(w->a, &w->fz, &w->nfz);
	/* An admin's listing first indexes what the runner has not picked
	 * up yet (admin_qs); then the handle is closed again, so the fast
	 * one-site traverse below can open the file. */
	if (rc == 0 && site != NULL && w->a->all && w->a->qs == NULL &&
	    admin_qs(w->a, 1, &qs) == 0) {
		qstate_close(w->a->qs);
		w->a->qs = NULL;
	}
	/* tdb allows one open of a file per process: with a qstate handle
	 * open, go through it. */
	if (rc == 0)
		rc = site != NULL && w->a->qs == NULL ?
		    admin_walk_site(w, site) : admin_walk_all(w);
	if (w->have_sender)
		regfree(&w->sender_re);
	if (w->have_rcpt)
		regfree(&w->rcpt_re);
	w->have_sender = w->have_rcpt = 0;
	admin_frozen_free(w->fz, w->nfz);
	w->fz = NULL;
	w->nfz = 0;
	return rc;
}

/* The listing. */

/* admin_pad - spaces up to column n. */
static int
admin_pad(struct buf *b, size_t n)
{
	static const char sp[] = "                                          "
	    "                    ";

	return buf_add(b, sp, n < sizeof(sp) - 1 ? n : sizeof(sp) - 1);
}

/* admin_note - one "(text)" line. */
static int
admin_note(struct buf *b, const char *text)
{
	int	 bad = buf_addch(b, '(');

	bad |= admin_put_text(b, text);
	bad |= buf_addstr(b, ")\n");
	return bad ? -1 : 0;
}

/* admin_mailq_notes - why a message is not on its way: frozen (by whom),
 * and held (until when). */
static int
admin_mailq_notes(struct buf *b, const struct qrec *rec, uint32_t flags,
    time_t now)
{
	char	 when[64], text[SITE_NAME_MAX + 128];
	int	 bad = 0;

	if (rec->frozen)
		bad |= admin_note(b, "frozen by an admin");
	if (flags & BUCKET_AUTO) {
		snprintf(text, sizeof(text), "site %s is frozen: too many "
		    "recipients were waiting (backlog limit)", rec->site);
		bad |= admin_note(b, text);
	} else if (flags & BUCKET_FROZEN) {
		snprintf(text, sizeof(text), "site %s is frozen by an admin",
		    rec->site);
		bad |= admin_note(b, text);
	}
	if (rec->qflags & QREC_UNCHARGED) {
		snprintf(text, sizeof(text), "accepted while site %s was "
		    "frozen; waiting for its rate limit", rec->site);
		bad |= admin_note(b, text);
	} else if (rec->hold > now) {
		admin_time(rec->hold, when, sizeof(when));
		snprintf(text, sizeof(text), "held by the rate limit of site "
		    "%s until %s", rec->site, when);
		bad |= admin_note(b, text);
	}
	return bad ? -1 : 0;
}

/* admin_mailq_rcpt - one queued recipient, indented under the sender. */
static int
admin_mailq_rcpt(struct buf *b, const struct qrcpt *r)
{
	int	 bad = admin_pad(b, ADMIN_COL);

	bad |= admin_put_text(b, r->addr);
	bad |= buf_addch(b, '\n');
	return bad ? -1 : 0;
}

/* admin_mailq_rcpts - the recipients still queued: those without a reason
 * first, then the others, each run with the same reason under one note. */
static int
admin_mailq_rcpts(struct buf *b, const struct qrec *rec)
{
	const char *last = NULL;
	size_t	 i;
	int	 bad = 0;

	for (i = 0; i < rec->nr; i++)
		if (admin_queued(&rec->r[i]) && *rec->r[i].reason == '\0')
			bad |= admin_mailq_rcpt(b, &rec->r[i]);
	for (i = 0; i < rec->nr; i++) {
		const struct qrcpt *r = &rec->r[i];

		if (!admin_queued(r) || *r->reason == '\0')
			continue;
		if (last == NULL || strcmp(last, r->reason) != 0)
			bad |= admin_note(b, r->reason);
		last = r->reason;
		bad |= admin_mailq_rcpt(b, r);
	}
	return bad ? -1 : 0;
}

/* admin_mailq_rec - one message in the text listing. */
static int
admin_mailq_rec(struct buf *b, const struct qrec *rec, uint32_t flags,
    time_t now)
{
	char	 when[64];
	int	 mark = ' ', bad;

	if (admin_rec_frozen(rec, flags))
		mark = '!';
	else if (admin_rec_held(rec, now))
		mark = '*';
	admin_time(rec->arrival, when, sizeof(when));
	bad = buf_printf(b, "%s%c %8" PRIu64 " %-19s  ", rec->qid, mark,
	    rec->size, when);
	bad |= admin_put_text(b, *rec->sender ? rec->sender : "MAILER-DAEMON");
	bad |= buf_addstr(b, "  site=");
	bad |= admin_put_text(b, rec->site);
	bad |= buf_addch(b, '\n');
	bad |= admin_mailq_notes(b, rec, flags, now);
	bad |= admin_mailq_rcpts(b, rec);
	bad |= buf_addch(b, '\n');
	return bad ? -1 : 0;
}

/* admin_list_one - admin_walk callback: format one message. */
static int
admin_list_one(struct admin_walk *w, const struct qrec *rec, uint32_t flags)
{
	struct admin_listing *l = w->ctx;
	struct admin_entry *e;
	size_t	 off = l->out.len;
	int	 bad;

	if (l->n == l->cap) {
		size_t	 ncap = l->cap ? l->cap * 2 : 1024;

		if ((e = realloc(l->v, ncap * sizeof(*e))) == NULL)
			return err_set(EX_TEMPFAIL, "out of memory");
		l->v = e;
		l->cap = ncap;
	}
	if (l->json) {
		bad = admin_rec_json(&l->out, rec, flags, l->now);
		bad |= buf_addch(&l->out, '\n');
	} else
		bad = admin_mailq_rec(&l->out, rec, flags, l->now);
	if (bad)
		return err_set(EX_TEMPFAIL, "out of memory for the listing");
	e = &l->v[l->n++];
	memcpy(e->qid, rec->qid, sizeof(e->qid));
	e->off = off;
	e->len = l->out.len - off;
	l->total += rec->size;
	return 0;
}

/* admin_entry_cmp - by queue ID, that is by arrival. */
static int
admin_entry_cmp(const void *x, const void *y)
{
	return memcmp(((const struct admin_entry *)x)->qid,
	    ((const struct admin_entry *)y)->qid, SPOOL_QIDLEN);
}

/* admin_list_print - header, the sorted entries, and the summary line. */
static int
admin_list_print(struct admin_listing *l, FILE *fp)
{
	size_t	 i;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), admin_entry_cmp);
	if (!l->json && l->n == 0) {
		fputs("Mail queue is empty\n", fp);
	} else if (!l->json) {
		fprintf(fp, "%-21s %8s %-19s  %s\n", "-Queue ID-----------",
		    "--Size--", "----Arrival Time---",
		    "-Sender/Recipient-------");
	}
	for (i = 0; i < l->n; i++)
		if (fwrite(l->out.ptr + l->v[i].off, 1, l->v[i].len, fp) !=
		    l->v[i].len)
			break;
	if (!l->json && l->n > 0)
		fprintf(fp, "-- %" PRIu64 " Kbytes in %zu Request%s.\n",
		    (l->total + 1023) / 1024, l->n, l->n == 1 ? "" : "s");
	if (ferror(fp) || fflush(fp) != 0)
		return err_set(EX_IOERR, "cannot write the listing: %s",
		    strerror(errno));
	return 0;
}

/* admin_list - list the selected messages, text or JSON lines. */
int
admin_list(struct admin *a, const struct admin_filter *f, int json, FILE *fp)
{
	struct admin_listing l;
	struct admin_walk w;
	int	 rc;

	memset(&l, 0, sizeof(l));
	buf_init(&l.out, ADMIN_OUT_MAX);
	l.json = json;
	l.now = a->now;
	memset(&w, 0, sizeof(w));
	w.a = a;
	w.f = f;
	w.fn = admin_list_one;
	w.ctx = &l;
	if ((rc = admin_walk(&w)) == 0)
		rc = admin_list_print(&l, fp);
	buf_free(&l.out);
	free(l.v);
	return rc;
}

/* admin_mailq - mailq / sendmail -bp. */
int
admin_mailq(const struct conf *conf, const struct site_id *site, int all,
    FILE *fp)
{
	struct admin a;
	int	 rc;

	admin_init(&a, conf, site, getuid(), all);
	rc = admin_list(&a, NULL, 0, fp);
	admin_close(&a);
	return rc;
}

/* Queue IDs from people. */

/* admin_qid_json - the value of "queue_id" in a JSON line. */
static const char *
admin_qid_json(const char *s, size_t *len)
{
	const char *p = strstr(s, "\"queue_id\""), *q;

	if (p == NULL)
		return NULL;
	p += strlen("\"queue_id\"");
	p += strspn(p, " \t");
	if (*p++ != ':')
		return NULL;
	p += strspn(p, " \t");
	if (*p++ != '"' || (q = strchr(p, '"')) == NULL)
		return NULL;
	*len = (size_t)(q - p);
	return p;
}

/* admin_qid_parse - one queue ID from a word, a mailq line or JSON. */
int
admin_qid_parse(const char *in, char out[SPOOL_QIDLEN + 1])
{
	const char *p = in;
	size_t	 n, i;

	p += strspn(p, " \t\r\n");
	if (strncmp(p, "queue_id:", 9) == 0) {	/* a line of "show" */
		p += 9;
		p += strspn(p, " \t");
	}
	if (*p == '{') {
		if ((p = admin_qid_json(p, &n)) == NULL)
			return -1;
	} else {
		n = strcspn(p, " \t\r\n");
		while (n > 0 && (p[n - 1] == '*' || p[n - 1] == '!'))
			n--;
	}
	if (n != SPOOL_QIDLEN)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
	return spool_qid_valid(out) ? 0 : -1;
}

/* admin_ids_skip - lines of a mailq listing that hold no queue ID. */
static int
admin_ids_skip(const char *line)
{
	return *line == '\0' || *line == '\n' || *line == '#' ||
	    *line == ' ' || *line == '\t' || *line == '(' ||
	    *line == '-' || strncmp(line, "Mail queue is empty", 19) == 0;
}

/* admin_ids_read - queue IDs from fp, one per line. */
int
admin_ids_read(FILE *fp, char ***idsp, size_t *np)
{
	char	*line = NULL, **ids = NULL, **v, qid[SPOOL_QIDLEN + 1];
	size_t	 cap = 0, n = 0, lineno = 0;
	ssize_t	 len;
	int	 rc = 0;

	while (rc == 0 && (len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (admin_ids_skip(line))
			continue;
		if (admin_qid_parse(line, qid) != 0) {
			rc = err_set(EX_DATAERR, "stdin line %zu: not a queue "
			    "ID", lineno);
			break;
		}
		if ((v = realloc(ids, (n + 1) * sizeof(*v))) == NULL ||
		    (v[n] = strdup(qid)) == NULL) {
			if (v)
				ids = v;
			rc = err_set(EX_TEMPFAIL, "out of memory");
			break;
		}
		ids = v;
		n++;
	}
	free(line);
	if (rc == 0 && ferror(fp))
		rc = err_set(EX_IOERR, "cannot read stdin: %s",
		    strerror(errno));
	if (rc != 0) {
		admin_ids_free(ids, n);
		return rc;
	}
	*idsp = ids;
	*np = n;
	return 0;
}

/* admin_ids_free - free an ID array. */
void
admin_ids_free(char **ids, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}
