/*
 * admin_show.c - "sitemail show": one message's envelope, queue state and
 * content.
 *
 * Text form: the envelope as "name: value" lines (queue_id, site, uid,
 * login, sender, time (unix seconds, then the local time and the age in
 * parentheses, "1700000000.123456 (2023-11-14 22:13:20 +0000, 5m ago)"),
 * size, cwd, exe, script, one rcpt line per
 * recipient; names padded to 10 columns), then the queue state
 * ("state:" once, "status:" per recipient: address, status, attempts,
 * next try, enhanced status and the last reason), an empty line, and the
 * header (or with --body the whole message) with control characters other
 * than CR, LF and TAB shown as '?'.  --raw writes the stored content
 * exactly and nothing else.  --json writes one object: the listing's
 * fields plus login, cwd, exe, script and "indexed".
 *
 * A site user may show only their own site's messages; anything else,
 * whatever the reason, is "QID: no such message".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "queue/admin.h"
#include "queue/admin_int.h"
#include "queue/bucket.h"
#include "queue/qstate.h"
#include "util/buf.h"
#include "util/msg.h"

/* One message being shown. */
struct admin_shown {
	struct spool_msg m;
	struct qrec rec;
	int	 indexed;		/* rec came from queue.tdb */
	uint32_t site_flags;
};

/* show_open - the record (if any) and the verified spool file. */
static int
show_open(struct admin *a, const char *qid, struct admin_shown *s)
{
	unsigned char key[SPOOL_KEYLEN];
	struct qstate *qs;
	int	 rc, dirfd = -1;

	if ((rc = admin_qs(a, 0, &qs)) == 0) {
		rc = admin_get(a, qs, qid, &s->rec);
		if (rc != 0 && rc != EX_NOINPUT)
			return rc;
		if (rc == 0)
			s->indexed = 1;
		else if (!a->all)	/* a site user needs the record */
			return rc;
	} else if (rc != EX_NOINPUT || !a->all)
		return a->all ? rc : err_set(EX_NOINPUT, "%s: no such message",
		    qid);
	if ((rc = admin_key_load(a->conf, key)) == 0 &&
	    (rc = admin_queue_fd(a->conf, &dirfd)) == 0)
		rc = spool_open(&s->m, dirfd, qid, key);
	sodium_memzero(key, sizeof(key));
	if (dirfd >= 0)
		close(dirfd);
	if (rc == 0 && !admin_visible(a, s->m.env.site, s->m.env.uid)) {
		spool_close(&s->m);
		rc = EX_NOINPUT;
	}
	if (rc != 0 && (!a->all || rc != EX_DATAERR))
		rc = err_set(EX_NOINPUT, "%s: no such message", qid);
	if (rc != 0 && s->indexed)
		qrec_free(&s->rec);
	return rc;
}

/* show_field - one "name: value" line of the envelope. */
static int
show_field(struct buf *b, const char *name, const char *value)
{
	int	 bad = buf_printf(b, "%-10s ", name);

	bad |= admin_put_text(b, value && *value ? value : "-");
	bad |= buf_addch(b, '\n');
	return bad;
}

/* show_addr - one "name: <address>" line. */
static int
show_addr(struct buf *b, const char *name, const char *addr)
{
	int	 bad = buf_printf(b, "%-10s <", name);

	bad |= admin_put_text(b, addr);
	bad |= buf_addstr(b, ">\n");
	return bad;
}

/* show_age - "5s", "3m", "2h" or "4d": how long ago t was (0 if ahead). */
static void
show_age(time_t t, time_t now, char *out, size_t len)
{
	long long d = now > t ? (long long)(now - t) : 0;

	if (d < 120)
		snprintf(out, len, "%llds", d);
	else if (d < 7200)
		snprintf(out, len, "%lldm", d / 60);
	else if (d < 172800)
		snprintf(out, len, "%lldh", d / 3600);
	else
		snprintf(out, len, "%lldd", d / 86400);
}

/* show_time - the envelope time: exact seconds, then local time and age. */
static int
show_time(struct buf *b, const struct envelope *e)
{
	char	 when[64], age[32];
	struct tm tm;

	if (localtime_r(&e->time, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	show_age(e->time, time(NULL), age, sizeof(age));
	return buf_printf(b, "%-10s %lld.%06ld (%s, %s ago)\n", "time:",
	    (long long)e->time, e->time_usec, when, age);
}

/* show_envelope - the envelope lines. */
static int
show_envelope(struct buf *b, const struct spool_msg *m)
{
	const struct envelope *e = &m->env;
	char	 num[64];
	size_t	 i;
	int	 bad = 0;

	bad |= show_field(b, "queue_id:", e->qid);
	bad |= show_field(b, "site:", e->site);
	snprintf(num, sizeof(num), "%lu", (unsigned long)e->uid);
	bad |= show_field(b, "uid:", num);
	bad |= show_field(b, "login:", e->login);
	bad |= show_addr(b, "sender:", e->sender);
	bad |= show_time(b, e);
	snprintf(num, sizeof(num), "%llu",
	    (unsigned long long)m->content_len);
	bad |= show_field(b, "size:", num);
	bad |= show_field(b, "cwd:", e->cwd);
	bad |= show_field(b, "exe:", e->exe);
	bad |= show_field(b, "script:", e->script);
	if (e->origdst && *e->origdst)
		bad |= show_field(b, "origdst:", e->origdst);
	for (i = 0; i < e->nrcpt; i++)
		bad |= show_addr(b, "rcpt:", e->rcpt[i]);
	return bad;
}

/* show_state_word - the "state:" line's value: frozen (and by what),
 * then held (and until when), else queued or deferred. */
static void
show_state_word(const struct admin_shown *s, time_t now, char *out,
    size_t len)
{
	const struct qrec *r = &s->rec;
	char	 when[64], fzbuf[SITE_NAME_MAX + 64];
	const char *fz = NULL, *sep;

	if (!s->indexed) {
		snprintf(out, len, "not indexed yet (the runner will pick it "
		    "up)");
		return;
	}
	if (r->frozen)
		fz = "frozen (this message)";
	else if (s->site_flags & BUCKET_FROZEN) {
		snprintf(fzbuf, sizeof(fzbuf), "frozen (site %s%s)", r->site,
		    s->site_flags & BUCKET_AUTO ? ", auto-frozen" : "");
		fz = fzbuf;
	}
	sep = fz ? ", " : "";
	if (r->qflags & QREC_UNCHARGED)
		snprintf(out, len, "%s%sheld (accepted while the site was "
		    "frozen)", fz ? fz : "", sep);
	else if (r->hold > now) {
		admin_time(r->hold, when, sizeof(when));
		snprintf(out, len, "%s%sheld until %s (rate limit)",
		    fz ? fz : "", sep, when);
	} else
		snprintf(out, len, "%s", fz ? fz :
		    admin_rec_state(r, 0, now));
}

/* show_state - "state:" and one "status:" line per recipient. */
static int
show_state(struct buf *b, const struct admin_shown *s, time_t now)
{
	const struct qrcpt *r;
	char	 word[2 * SITE_NAME_MAX + 256], when[64];
	size_t	 i;
	int	 bad;

	show_state_word(s, now, word, sizeof(word));
	bad = show_field(b, "state:", word);
	for (i = 0; s->indexed && i < s->rec.nr; i++) {
		r = &s->rec.r[i];
		bad |= buf_printf(b, "%-10s <", "status:");
		bad |= admin_put_text(b, r->addr);
		bad |= buf_printf(b, "> %s attempts=%u",
		    admin_status_name(r->status), r->attempts);
		if (r->status == QR_DEFERRED && r->next_try > now) {
			admin_time(r->next_try, when, sizeof(when));
			bad |= buf_printf(b, " next=\"%s\"", when);
		}
		if (*r->dsn)
			bad |= buf_printf(b, " dsn=%s", r->dsn);
		if (*r->reason) {
			bad |= buf_addstr(b, " (");
			bad |= admin_put_text(b, r->reason);
			bad |= buf_addch(b, ')');
		}
		bad |= buf_addch(b, '\n');
	}
	return bad;
}

/* show_clean - content bytes for a terminal: C0 controls but CR, LF and
 * TAB, and DEL, become '?'. */
static void
show_clean(char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (((unsigned char)p[i] < 0x20 && p[i] != '\r' &&
		    p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)
			p[i] = '?';
}

/* show_content - copy the content (all, or up to the end of the header). */
static int
show_content(struct spool_msg *m, int mode, FILE *fp)
{
	char	 buf[65536], *end;
	uint64_t off = 0;
	ssize_t	 n;

	while (off < m->content_len) {
		n = spool_read_content(m, off, buf, sizeof(buf));
		if (n <= 0)
			return err_set(EX_IOERR, "cannot read the message");
		if (mode != ADMIN_SHOW_RAW)
			show_clean(buf, (size_t)n);
		/* The header ends at the first empty line; a header over
		 * 64 KiB is cut at the buffer, which is fine for a view. */
		if (mode == ADMIN_SHOW_HEADER && (end = memmem(buf, (size_t)n,
		    "\r\n\r\n", 4)) != NULL) {
			fwrite(buf, 1, (size_t)(end - buf) + 2, fp);
			break;
		}
		fwrite(buf, 1, (size_t)n, fp);
		if (mode == ADMIN_SHOW_HEADER && n == (ssize_t)sizeof(buf))
			break;
		off += (uint64_t)n;
	}
	if (ferror(fp) || fflush(fp) != 0)
		return err_set(EX_IOERR, "cannot write: %s", strerror(errno));
	return 0;
}

/* show_json - the record and the envelope's extra fields. */
static int
show_json(struct buf *b, struct admin_shown *s, time_t now)
{
	int	 bad;

	if (!s->indexed && qstate_rec_from_env(&s->rec, &s->m.env,
	    s->m.content_len) != 0)
		return -1;
	bad = admin_rec_json(b, &s->rec, s->site_flags, now);
	if (!s->indexed)
		qrec_free(&s->rec);
	if (bad || b->len == 0)
		return -1;
	b->len--;			/* reopen the object */
	bad |= buf_addstr(b, ",\"login\":");
	bad |= admin_put_json(b, s->m.env.login);
	bad |= buf_addstr(b, ",\"cwd\":");
	bad |= admin_put_json(b, s->m.env.cwd);
	bad |= buf_addstr(b, ",\"exe\":");
	bad |= admin_put_json(b, s->m.env.exe);
	bad |= buf_addstr(b, ",\"script\":");
	bad |= admin_put_json(b, s->m.env.script);
	bad |= buf_printf(b, ",\"indexed\":%s}\n", s->indexed ? "true" :
	    "false");
	return bad;
}

/* show_site_flags - the bucket flags of the message's site. */
static uint32_t
show_site_flags(struct admin *a, const char *site)
{
	struct admin_frozen *fz;
	uint32_t flags;
	size_t	 nfz;

	if (admin_frozen_load(a, &fz, &nfz) != 0)
		return 0;
	flags = admin_frozen_flags(fz, nfz, site);
	admin_frozen_free(fz, nfz);
	return flags;
}

/* admin_show - one message. */
int
admin_show(struct admin *a, const char *id, int mode, int json, FILE *fp)
{
	struct admin_shown s;
	struct buf b;
	int	 rc, bad = 0;

	memset(&s, 0, sizeof(s));
	if (!spool_qid_valid(id))
		return err_set(EX_NOINPUT, "%s: no such message", id);
	if ((rc = show_open(a, id, &s)) != 0)
		return rc;
	s.site_flags = show_site_flags(a, s.m.env.site);
	buf_init(&b, ADMIN_OUT_MAX);
	if (json)
		bad = show_json(&b, &s, a->now);
	else if (mode != ADMIN_SHOW_RAW) {
		bad = show_envelope(&b, &s.m);
		bad |= show_state(&b, &s, a->now);
		bad |= buf_addch(&b, '\n');
	}
	if (bad)
		rc = err_set(EX_TEMPFAIL, "out of memory");
	else if ((rc = admin_write(fp, &b)) == 0 && !json)
		rc = show_content(&s.m, mode, fp);
	buf_free(&b);
	if (s.indexed)
		qrec_free(&s.rec);
	spool_close(&s.m);
	return rc;
}
