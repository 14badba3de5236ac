/*
 * notify_mail.c - the notice mailed to [main] alert_to and the site's
 * owner for the events of one site since its last notice (notify.h).
 * Queued as a system message (site "system", SPOOL_F_ALERT) like a DSN:
 * it is never charged, and no notice is ever written about a notice.
 *
 * Text (CRLF, plain): a Subject naming the site and the event ("site S
 * auto-frozen (backlog)", "... frozen by an admin", "... thawed", "... at
 * its spool quota", "... message quarantined", or "N events: ..."); the
 * events one per line with their trigger and figures; the site's state
 * now; the top working directories, scripts and recipient domains of its
 * last NOTIFY_RING messages with counts; sample subjects; the commands to
 * inspect, purge and thaw.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "compat/msgfix.h"
#include "queue/freeze.h"
#include "queue/notify_int.h"
#include "queue/site.h"
#include "util/msg.h"

#define MAIL_HEAD_MAX	16384		/* header bytes read for a subject */

/* mail_subject_of - the Subject of queue/qid, cleaned, or "" . */
static void
mail_subject_of(int qfd, const char *qid, char *out, size_t len)
{
	struct spool_msg m;
	char	 head[MAIL_HEAD_MAX + 1], *p, *e;
	ssize_t	 n;

	out[0] = '\0';
	if (qfd < 0 || spool_open(&m, qfd, qid, nt.key) != 0)
		return;
	n = pread(m.fd, head, MAIL_HEAD_MAX, (off_t)m.content_off);
	spool_close(&m);
	if (n <= 0)
		return;
	head[n] = '\0';
	for (p = head; p != NULL && *p && *p != '\r' && *p != '\n';
	    p = (e = strchr(p, '\n')) ? e + 1 : NULL) {
		if (strncasecmp(p, "Subject:", 8) != 0)
			continue;
		p += 8 + strspn(p + 8, " \t");
		e = p + strcspn(p, "\r\n");
		*e = '\0';
		notify_clean(out, len, p);
		return;
	}
}

/* mail_subjects - up to NOTIFY_SUBJECTS sample subjects of site. */
static int
mail_subjects(struct buf *b, const char *site)
{
	char	 qid[NOTIFY_RING][SPOOL_QIDLEN + 1], path[4096];
	char	 subj[NOTIFY_SUBJECTS][200];
	size_t	 n, i, k, ns = 0;
	int	 qfd, rc = 0;

	n = notify_ring_qids(site, qid, NOTIFY_RING);
	snprintf(path, sizeof(path), "%s/queue", nt.conf->spool_dir);
	qfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < n && ns < NOTIFY_SUBJECTS && i < 50; i++) {
		mail_subject_of(qfd, qid[i], subj[ns], sizeof(subj[ns]));
		for (k = 0; k < ns && strcmp(subj[k], subj[ns]) != 0; k++)
			;
		if (subj[ns][0] != '\0' && k == ns)
			ns++;
	}
	if (qfd >= 0)
		close(qfd);
	rc = buf_addstr(b, "\r\nSample subjects (of its newest messages "
	    "still queued):\r\n");
	for (i = 0; rc == 0 && i < ns; i++)
		rc = buf_printf(b, "  %s\r\n", subj[i]);
	if (rc == 0 && ns == 0)
		rc = buf_addstr(b, "  (none left in the queue)\r\n");
	return rc;
}

/* mail_top - one "top" list of the site's ring. */
static int
mail_top(struct buf *b, const char *site, int what, const char *title)
{
	struct notify_top top[NOTIFY_TOP];
	size_t	 n, i;
	int	 rc;

	n = notify_ring_top(site, what, top, NOTIFY_TOP);
	rc = buf_printf(b, "\r\n%s:\r\n", title);
	for (i = 0; rc == 0 && i < n; i++)
		rc = buf_printf(b, "  %5u  %s\r\n", top[i].n, top[i].what);
	if (rc == 0 && n == 0)
		rc = buf_addstr(b, "  (none seen since sitemaild started)\r\n");
	return rc;
}

/* mail_what - the subject's words for s's events. */
static void
mail_what(const struct notify_site *s, char *out, size_t len)
{
	size_t	 k, o;

	if (s->total == 1) {
		switch (s->kinds[0]) {
		case NOTIFY_FREEZE:
			if (strcmp(s->trigger, "admin") == 0)
				snprintf(out, len, "frozen by an admin");
			else
				snprintf(out, len, "auto-frozen (%s)",
				    s->trigger);
			return;
		case NOTIFY_THAW:
			snprintf(out, len, "thawed");
			return;
		case NOTIFY_QUOTA:
			snprintf(out, len, "refused at intake (%s)", s->trigger);
			return;
		default:
			snprintf(out, len, "message quarantined");
			return;
		}
	}
	o = (size_t)snprintf(out, len, "%u events:", s->total);
	for (k = 0; k < NOTIFY_KINDS && o < len; k++)
		if (s->count[k])
			o += (size_t)snprintf(out + o, len - o, " %u %s",
			    s->count[k], notify_kind_name((enum notify_kind)k));
}

/* mail_commands - how to inspect, purge and thaw. */
static int
mail_commands(struct buf *b, const char *site)
{
	if (*site == '\0')
		return buf_addstr(b, "\r\nCommands:\r\n  sitemail sites\r\n"
		    "  sitemail list\r\n  df -h (the spool's file system)\r\n");
	return buf_printf(b, "\r\nCommands:\r\n"
	    "  inspect:  sitemail list --site %s\r\n"
	    "            sitemail show QUEUE-ID\r\n"
	    "            sitemail sites\r\n"
	    "            sitemail report --since 24h\r\n"
	    "  purge:    sitemail delete --site %s --frozen\r\n"
	    "            sitemail delete --site %s   (all of its queue)\r\n"
	    "  freeze:   sitemail freeze %s\r\n"
	    "  thaw:     sitemail thaw %s\r\n", site, site, site, site, site);
}

/* mail_body - the text after the header. */
static int
mail_body(struct buf *b, const struct notify_site *s, const char *site)
{
	const char *state;
	size_t	 i;
	int	 rc, how;

	how = *s->name ? freeze_site_get(nt.conf->spool_dir, s->name) : 0;
	state = how == 1 ? "frozen (by an admin)" : how == 2 ?
	    "frozen (automatically)" : "not frozen";
	if (*s->name == '\0')
		rc = buf_printf(b, "The mail spool of %s.\r\n",
		    nt.conf->hostname);
	else if (s->uid != (uid_t)-1)
		rc = buf_printf(b, "Site %s (uid %lu) on %s is %s.\r\n", site,
		    (unsigned long)s->uid, nt.conf->hostname, state);
	else
		rc = buf_printf(b, "Site %s on %s is %s.\r\n", site,
		    nt.conf->hostname, state);
	if (rc == 0)
		rc = buf_printf(b, "\r\n%u event(s) since the last notice (at "
		    "most one notice per site every %lds):\r\n", s->total,
		    nt.conf->notify.interval);
	for (i = 0; rc == 0 && s->lines != NULL && i < s->nlines; i++)
		rc = buf_printf(b, "  %s\r\n", s->lines[i]);
	if (rc == 0 && s->total > s->nlines)
		rc = buf_printf(b, "  ... and %u more\r\n", s->total -
		    (unsigned)s->nlines);
	if (rc == 0 && *s->name) {
		rc = buf_printf(b, "\r\nBehind its last %zu message(s):\r\n",
		    notify_ring_size(s->name));
		if (rc == 0)
			rc = mail_top(b, s->name, 0, "Working directories");
		if (rc == 0)
			rc = mail_top(b, s->name, 1, "Scripts (X-PHP-"
			    "Originating-Script, else the program)");
		if (rc == 0)
			rc = mail_top(b, s->name, 2, "Recipient domains");
		if (rc == 0)
			rc = mail_subjects(b, s->name);
	}
	return rc == 0 ? mail_commands(b, site) : rc;
}

/* mail_text - the whole notice. */
static int
mail_text(struct buf *b, const struct notify_site *s, const char *to,
    const char *qid, time_t now)
{
	char	 date[64], what[128], site[SITE_NAME_MAX + 1];
	int	 rc;

	notify_clean(site, sizeof(site), s->name);
	msgfix_date(now, date, sizeof(date));
	mail_what(s, what, sizeof(what));
	rc = buf_printf(b, "From: sitemail <MAILER-DAEMON@%s>\r\nTo: %s\r\n"
	    "Subject: sitemail: %s%s %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n"
	    "Auto-Submitted: auto-generated\r\nX-Sitemail-Site: %s\r\n\r\n",
	    nt.conf->hostname, to, *s->name ? "site " : "spool", site, what,
	    date, qid, nt.conf->hostname, *s->name ? site : "-");
	return rc == 0 ? mail_body(b, s, site) : rc;
}

/* mail_addr_ok - 1 if a configured address is fit for an envelope. */
static int
mail_addr_ok(const char *a)
{
	return a != NULL && *a && strchr(a, '@') != NULL &&
	    strpbrk(a, " \t\r\n<>,\"\\") == NULL && strlen(a) < 512;
}

/* mail_rcpts - alert_to and the site's owner (distinct, valid). */
static size_t
mail_rcpts(const struct notify_site *s, char **rcpt, char *to, size_t len)
{
	const struct conf_site *cs;
	size_t	 n = 0;

	if (mail_addr_ok(nt.conf->alert_to))
		rcpt[n++] = nt.conf->alert_to;
	if (*s->name && (cs = conf_site_find(nt.conf, s->name)) != NULL &&
	    mail_addr_ok(cs->owner) && (n == 0 ||
	    strcasecmp(cs->owner, rcpt[0]) != 0))
		rcpt[n++] = cs->owner;
	if (n == 2)
		snprintf(to, len, "<%s>, <%s>", rcpt[0], rcpt[1]);
	else if (n == 1)
		snprintf(to, len, "<%s>", rcpt[0]);
	return n;
}

/* notify_mail - queue the notice of s's pending events. */
void
notify_mail(const struct notify_site *s, time_t now)
{
	struct spool_writer *w;
	struct envelope env;
	struct buf b;
	char	*rcpt[2], to[1100];
	size_t	 n;

	if ((n = mail_rcpts(s, rcpt, to, sizeof(to))) == 0)
		return;
	if (spool_create(&w, nt.conf->spool_dir, nt.key) != 0) {
		log_error("notice for site %s not queued: %s", s->name,
		    err_str());
		return;
	}
	buf_init(&b, 1 << 20);
	memset(&env, 0, sizeof(env));
	snprintf(env.qid, sizeof(env.qid), "%s", spool_writer_qid(w));
	(void)mail_text(&b, s, to, env.qid, now);
	env.version = SPOOL_VERSION;
	env.site = SITE_SYSTEM;
	env.uid = geteuid();
	env.login = nt.conf->user;
	env.sender = "";
	env.time = now;
	env.flags = SPOOL_F_ALERT;
	env.cwd = env.exe = env.script = "";
	env.rcpt = rcpt;
	env.nrcpt = n;
	if (spool_write(w, b.ptr, b.len) != 0) {
		spool_abort(w);
		log_error("notice for site %s not queued: %s", s->name,
		    err_str());
	} else if (spool_commit(w, &env) != 0)
		log_error("notice for site %s not queued: %s", s->name,
		    err_str());
	else
		log_info("%s: notice for site %s: %u event(s) to %s", env.qid,
		    *s->name ? s->name : "-", s->total, to);
	buf_free(&b);
}
