/*
 * qstate_flush.c - flush requests (sendmail -q by root, sitemail flush):
 * the request files in spool_dir/state/flush/ and the runner's reading of
 * them.  The format is described in qstate.h.  Kept apart from the queue
 * database so that what writes a request needs no tdb.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "queue/qstate.h"
#include "util/buf.h"
#include "util/msg.h"

#define QS_FLUSH_MAX	4096

/* qs_flush_dir - open (creating when allowed) spool_dir/state/flush. */
static int
qs_flush_dir(const struct conf *conf, int *fdp)
{
	struct passwd *pw;
	struct buf path;
	int	 fd, rc = 0, saved;

	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/%s", conf->spool_dir, QSTATE_FLUSH_DIR) < 0) {
		buf_free(&path);
		return err_set(EX_CONFIG, "spool_dir too long");
	}
	fd = open(buf_str(&path), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	saved = errno;
	pw = getpwnam(conf->user);
	errno = saved;
	if (fd < 0 && errno == ENOENT && (geteuid() == 0 ||
	    (pw != NULL && pw->pw_uid == geteuid()))) {
		/* Root and the runner user may set the folder up. */
		if (mkdir(buf_str(&path), 01770) < 0 && errno != EEXIST)
			rc = err_set(EX_CANTCREAT, "cannot create %s: %s",
			    buf_str(&path), strerror(errno));
		else if ((fd = open(buf_str(&path), O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			if (geteuid() == 0 && pw != NULL &&
			    fchown(fd, pw->pw_uid, pw->pw_gid) < 0)
				log_warn("cannot chown %s: %s", buf_str(&path),
				    strerror(errno));
			(void)fchmod(fd, 01770);
		}
	}
	if (fd < 0 && rc == 0)
		rc = err_set(errno == ENOENT ? EX_UNAVAILABLE : EX_TEMPFAIL,
		    "cannot flush the queue: %s: %s%s", buf_str(&path),
		    strerror(errno), errno == ENOENT ?
		    " (the queue runner sitemaild has not run yet)" : "");
	buf_free(&path);
	*fdp = fd;
	return rc;
}

/* qs_flush_line - append "key=value\n" when value is given and clean. */
static int
qs_flush_line(struct buf *b, const char *k, const char *v, size_t max)
{
	if (v == NULL || *v == '\0')
		return 0;
	if (!spool_valid_field(v) || strlen(v) >= max)
		return err_set(EX_USAGE, "bad flush selector %s \"%s\"", k, v);
	return buf_printf(b, "%s=%s\n", k, v) < 0 ?
	    err_set(EX_USAGE, "flush request too long") : 0;
}

/* qs_flush_text - the request file's content. */
static int
qs_flush_text(struct buf *b, const struct site_id *site, int all,
    const char *id, const char *domain, const char *sender)
{
	struct qflush q;
	int	 rc;

	if ((rc = qs_flush_line(b, "site", all ? NULL : site->name,
	    sizeof(q.site))) != 0 ||
	    (rc = qs_flush_line(b, "id", id, sizeof(q.id))) != 0 ||
	    (rc = qs_flush_line(b, "domain", domain, sizeof(q.domain))) != 0)
		return rc;
	return qs_flush_line(b, "sender", sender, sizeof(q.sender));
}

/* qstate_flush_request - write a request file into state/flush/. */
int
qstate_flush_request(const struct conf *conf, const struct site_id *site,
    int all, const char *id, const char *domain, const char *sender)
{
	char	 name[SPOOL_QIDLEN + 1], tmp[SPOOL_QIDLEN + 2];
	struct buf text;
	int	 dirfd = -1, fd, rc;

	if (id != NULL && *id != '\0' && !spool_qid_valid(id))
		return err_set(EX_USAGE, "no such queue ID \"%s\"", id);
	buf_init(&text, QS_FLUSH_MAX);
	if ((rc = qs_flush_text(&text, site, all, id, domain, sender)) != 0) {
		buf_free(&text);
		return rc;
	}
	if ((rc = qs_flush_dir(conf, &dirfd)) != 0) {
		buf_free(&text);
		return rc;
	}
	spool_qid_new(name);
	snprintf(tmp, sizeof(tmp), ".%s", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd < 0 || fchmod(fd, 0644) < 0 ||
	    spool_write_all(fd, text.ptr ? text.ptr : "", text.len) < 0 ||
	    close(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		rc = err_set(EX_TEMPFAIL, "cannot write a flush request in "
		    "%s/%s: %s", conf->spool_dir, QSTATE_FLUSH_DIR,
		    strerror(errno));
		if (fd >= 0)
			(void)unlinkat(dirfd, tmp, 0);
	}
	close(dirfd);
	buf_free(&text);
	return rc;
}

/* qs_flush_value - copy a request value into dst[max]. */
static int
qs_flush_value(char *dst, size_t max, const char *v, size_t n)
{
	if (n >= max)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* qs_flush_parse - the lines of a request file. */
static int
qs_flush_parse(const char *p, size_t len, struct qflush *q, char *site,
    size_t sitemax)
{
	const char *end = p + len, *nl, *eq;
	size_t	 klen;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    (eq = memchr(p, '=', (size_t)(nl - p))) == NULL)
			return -1;
		klen = (size_t)(eq - p);
		eq++;
		if (klen == 4 && memcmp(p, "site", 4) == 0) {
			if (qs_flush_value(site, sitemax, eq,
			    (size_t)(nl - eq)) < 0)
				return -1;
		} else if (klen == 2 && memcmp(p, "id", 2) == 0) {
			if (qs_flush_value(q->id, sizeof(q->id), eq,
			    (size_t)(nl - eq)) < 0)
				return -1;
		} else if (klen == 6 && memcmp(p, "domain", 6) == 0) {
			if (qs_flush_value(q->domain, sizeof(q->domain), eq,
			    (size_t)(nl - eq)) < 0)
				return -1;
		} else if (klen == 6 && memcmp(p, "sender", 6) == 0) {
			if (qs_flush_value(q->sender, sizeof(q->sender), eq,
			    (size_t)(nl - eq)) < 0)
				return -1;
		} else
			return -1;
	}
	return 0;
}

/* qstate_flush_read - read and remove one request file. */
int
qstate_flush_read(const struct conf *conf, int dirfd, const char *name,
    uid_t runner_uid, struct qflush *q)
{
	char	 text[QS_FLUSH_MAX + 1], site[SITE_NAME_MAX + 1] = "";
	struct site_id sid;
	struct stat st;
	ssize_t	 n;
	int	 fd, rc;

	memset(q, 0, sizeof(*q));
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return err_set(EX_NOINPUT, "flush request %s is gone", name);
	(void)unlinkat(dirfd, name, 0);
	if (fd < 0)
		return err_set(EX_DATAERR, "flush request %s: %s", name,
		    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (n = read(fd, text, sizeof(text))) < 0 || n > QS_FLUSH_MAX) {
		close(fd);
		return err_set(EX_DATAERR, "flush request %s is not a small "
		    "regular file", name);
	}
	close(fd);
	if (memchr(text, '\0', (size_t)n) != NULL ||
	    qs_flush_parse(text, (size_t)n, q, site, sizeof(site)) < 0)
		return err_set(EX_DATAERR, "flush request %s is malformed",
		    name);
	if (st.st_uid == 0 || st.st_uid == runner_uid) {
		q->all = *site == '\0';
		snprintf(q->site, sizeof(q->site), "%s", site);
		return 0;
	}
	if ((rc = site_identify(conf, st.st_uid, &sid)) != 0)
		return rc;
	snprintf(q->site, sizeof(q->site), "%s", sid.name);
	return 0;
}

/* qs_domain_of - the domain part of an address ("" when none). */
static const char *
qs_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

/* qstate_flush_rcpt - 1 if the recipient is selected. */
int
qstate_flush_rcpt(const struct qflush *q, const struct qrcpt *r)
{
	return q->domain[0] == '\0' ||
	    strcasecmp(qs_domain_of(r->addr), q->domain) == 0;
}

/* qstate_flush_match - 1 if the record is in the request's scope. */
int
qstate_flush_match(const struct qflush *q, const struct qrec *rec)
{
	size_t	 i;

	if (!q->all && strcmp(rec->site, q->site) != 0)
		return 0;
	if (q->id[0] && strcmp(rec->qid, q->id) != 0)
		return 0;
	if (q->sender[0] && (strchr(q->sender, '@') ?
	    strcasecmp(rec->sender, q->sender) :
	    strcasecmp(qs_domain_of(rec->sender), q->sender)) != 0)
		return 0;
	for (i = 0; i < rec->nr; i++)
		if (qstate_flush_rcpt(q, &rec->r[i]))
			return 1;
	return 0;
}
