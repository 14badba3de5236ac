/*
 * verdictd.c - the server side of the sitemaild socket (wire format and
 * identity rules in verdict.h), run inside sitemaild's event loop.
 *
 * Every connection is served without blocking: the request must arrive
 * within VERDICT_READ_MS, the answer is built in memory and written as the
 * peer reads it, within VERDICTD_WRITE_MS; a peer that stalls is dropped.
 * At most VERDICTD_MAX connections are open, and at most VERDICTD_PER_UID
 * per peer uid, so one site's stopped processes cannot starve another's.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/admin.h"
#include "queue/qstate.h"
#include "queue/runner.h"
#include "queue/site.h"
#include "queue/verdict.h"
#include "queue/verdictd.h"
#include "util/buf.h"
#include "util/msg.h"

#define VERDICTD_MAX		256
#define VERDICTD_PER_UID	16
#define VERDICTD_WRITE_MS	10000
#define VERDICTD_OUT_MAX	(64u << 20)

/* One client connection. */
struct vconn {
	int	 fd;
	uid_t	 uid;			/* SO_PEERCRED */
	int	 trusted;		/* root or the runner user */
	long long deadline;		/* monotonic ms */
	char	 in[VERDICT_LINE_MAX];
	size_t	 nin;
	char	*out;			/* the answer, once built */
	size_t	 nout, off;
};

struct verdictd {
	struct runner *r;
	const struct conf *conf;
	int	 lfd;
	char	 path[108];
	struct vconn c[VERDICTD_MAX];
	size_t	 nc;
};

/* verdictd_ms - milliseconds on a monotonic clock. */
static long long
verdictd_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* verdictd_open - bind spool_dir/state/sitemaild.sock (mode 0660). */
int
verdictd_open(struct verdictd **vp, struct runner *r,
    const struct conf *conf)
{
	struct sockaddr_un sun;
	struct verdictd *v;
	int	 n;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	v->r = r;
	v->conf = conf;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    conf->spool_dir, VERDICT_SOCK);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		free(v);
		return err_set(EX_CONFIG, "spool_dir too long for a socket");
	}
	memcpy(v->path, sun.sun_path, sizeof(v->path));
	(void)unlink(v->path);
	v->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->lfd < 0 || bind(v->lfd, (struct sockaddr *)&sun,
	    sizeof(sun)) < 0 || chmod(v->path, 0660) < 0 ||
	    listen(v->lfd, 128) < 0) {
		n = errno;
		if (v->lfd >= 0)
			close(v->lfd);
		free(v);
		return err_set(EX_OSERR, "cannot listen on %s: %s",
		    sun.sun_path, strerror(n));
	}
	*vp = v;
	return 0;
}

/* verdictd_set_conf - the configuration after a reload. */
void
verdictd_set_conf(struct verdictd *v, const struct conf *conf)
{
	if (v != NULL)
		v->conf = conf;
}

/* verdictd_drop - close connection i. */
static void
verdictd_drop(struct verdictd *v, size_t i)
{
	close(v->c[i].fd);
	free(v->c[i].out);
	v->c[i] = v->c[--v->nc];
}

/* verdictd_close - close every connection and remove the socket. */
void
verdictd_close(struct verdictd *v)
{
	if (v == NULL)
		return;
	while (v->nc > 0)
		verdictd_drop(v, 0);
	close(v->lfd);
	(void)unlink(v->path);
	free(v);
}

/* verdictd_uid_count - open connections of uid. */
static size_t
verdictd_uid_count(const struct verdictd *v, uid_t uid)
{
	size_t	 i, n = 0;

	for (i = 0; i < v->nc; i++)
		n += v->c[i].uid == uid;
	return n;
}

/* verdictd_accept - take the waiting connections. */
static void
verdictd_accept(struct verdictd *v)
{
	struct ucred cr;
	socklen_t len;
	struct vconn *c;
	int	 fd;

	while ((fd = accept4(v->lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) >= 0) {
		len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
		    v->nc == VERDICTD_MAX ||
		    verdictd_uid_count(v, cr.uid) >= VERDICTD_PER_UID) {
			close(fd);	/* the client commits uncharged */
			continue;
		}
		c = &v->c[v->nc++];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->uid = cr.uid;
		c->trusted = cr.uid == 0 || cr.uid == geteuid();
		c->deadline = verdictd_ms() + VERDICT_READ_MS;
	}
}

/* verdictd_answer - set the connection's answer: a status line, then
 * body (may be NULL). */
static void
verdictd_answer(struct vconn *c, const char *status, const char *body,
    size_t nbody)
{
	size_t	 ns = strlen(status);

	free(c->out);
	c->nout = c->off = 0;
	if ((c->out = malloc(ns + 1 + nbody)) == NULL)
		return;
	memcpy(c->out, status, ns);
	c->out[ns] = '\n';
	if (nbody)
		memcpy(c->out + ns + 1, body, nbody);
	c->nout = ns + 1 + nbody;
	c->deadline = verdictd_ms() + VERDICTD_WRITE_MS;
}

/* verdictd_error - answer "err STATUS TEXT" from err_str(). */
static void
verdictd_error(struct vconn *c, int status)
{
	char	 line[600];
	size_t	 i;

	snprintf(line, sizeof(line), "err %d %s", status, err_str());
	for (i = 0; line[i]; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	verdictd_answer(c, line, NULL, 0);
}

/* verdictd_uid - the uid a request acts for: the peer's, or uid= from a
 * trusted peer. */
static int
verdictd_uid(const struct vconn *c, uid_t *uid)
{
	char	 v[32], *end;
	unsigned long u;

	*uid = c->uid;
	if (verdict_word(c->in, "uid", v, sizeof(v)) == NULL)
		return 0;
	if (!c->trusted)
		return err_set(EX_NOPERM, "uid= is only for trusted peers");
	u = strtoul(v, &end, 10);
	if (*end != '\0' || end == v || u > 0x7fffffffUL)
		return err_set(EX_USAGE, "bad uid");
	*uid = (uid_t)u;
	return 0;
}

/* verdictd_site - the site of uid, as intake sees it: the runner's
 * configuration, or, while some sites.d file is left out as broken, the
 * caller's own last good settings from the site index (queue/site_conf.c),
 * so a site with a broken file is charged and listed as itself. */
static int
verdictd_site(struct verdictd *v, uid_t uid, struct site_id *site)
{
	struct site_id own;
	struct conf c;
	int	 rc;

	if ((rc = site_identify(v->conf, uid, site)) != 0)
		return rc;
	if (v->conf->broken.n == 0 || v->conf->dir == NULL ||
	    site_conf_load(&c, v->conf->dir, uid, &own) != 0)
		return 0;
	snprintf(site->name, sizeof(site->name), "%s", own.name);
	site->limits = own.limits;
	site->conf = NULL;		/* c is gone; name and limits stay */
	conf_free(&c);
	return 0;
}

/* verdictd_charge - "charge": the bucket verdict for one message. */
static int
verdictd_charge(struct verdictd *v, struct vconn *c)
{
	struct verdict_ans ans;
	struct site_id site;
	struct buf b;
	char	 qid[SPOOL_QIDLEN + 1], n[32], t[64], cwd[1024], exe[1024];
	uid_t	 uid;
	int	 rc;

	if ((rc = verdictd_uid(c, &uid)) != 0 ||
	    (rc = verdictd_site(v, uid, &site)) != 0)
		return rc;
	if (verdict_word(c->in, "qid", qid, sizeof(qid)) == NULL ||
	    verdict_word(c->in, "nrcpt", n, sizeof(n)) == NULL ||
	    verdict_word(c->in, "time", t, sizeof(t)) == NULL)
		return err_set(EX_USAGE, "charge: qid, nrcpt and time needed");
	if (verdict_word(c->in, "cwd", cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), "?");
	if (verdict_word(c->in, "exe", exe, sizeof(exe)) == NULL)
		snprintf(exe, sizeof(exe), "?");
	if ((rc = runner_intake_charge(v->r, &site, qid,
	    (unsigned)strtoul(n, NULL, 10), cwd, exe, &ans)) != 0)
		return rc;
	buf_init(&b, VERDICT_LINE_MAX);
	rc = buf_printf(&b, "ok verdict=%s", verdict_name(ans.verdict)) < 0 ||
	    verdict_escape(&b, "site", ans.site) < 0 ||
	    buf_printf(&b, " hold=%.3f tokens=%.3f backlog=%.3f limit=%.3f",
	    ans.hold, ans.tokens, ans.backlog, ans.limit) < 0;
	if (rc == 0)
		verdictd_answer(c, buf_str(&b), NULL, 0);
	buf_free(&b);
	return rc ? err_set(EX_SOFTWARE, "answer too long") : 0;
}

/* verdictd_refund - "refund": undo a charge. */
static int
verdictd_refund(struct verdictd *v, struct vconn *c)
{
	char	 qid[SPOOL_QIDLEN + 1];
	int	 rc;

	if (verdict_word(c->in, "qid", qid, sizeof(qid)) == NULL)
		return err_set(EX_USAGE, "refund: qid needed");
	if ((rc = runner_intake_refund(v->r, qid)) != 0)
		return rc;
	verdictd_answer(c, "ok", NULL, 0);
	return 0;
}

/* verdictd_view - "list", "show": a site user's read-only views, built
 * with the runner's own database handles. */
static int
verdictd_view(struct verdictd *v, struct vconn *c, int show)
{
	struct admin_filter f;
	struct site_id site;
	struct admin a;
	char	 qid[SPOOL_QIDLEN + 1], re1[512], re2[512], w[16], *mem = NULL;
	size_t	 nmem = 0;
	FILE	*fp;
	uid_t	 uid;
	int	 rc, json, all;

	if ((rc = verdictd_uid(c, &uid)) != 0 ||
	    (rc = verdictd_site(v, uid, &site)) != 0)
		return rc;
	json = verdict_word(c->in, "json", w, sizeof(w)) != NULL;
	all = c->trusted && verdict_word(c->in, "all", w, sizeof(w)) != NULL;
	memset(&f, 0, sizeof(f));
	f.site = all ? NULL : site.name;
	f.sender_re = verdict_word(c->in, "sender", re1, sizeof(re1));
	f.rcpt_re = verdict_word(c->in, "rcpt", re2, sizeof(re2));
	f.frozen = verdict_word(c->in, "frozen", w, sizeof(w)) != NULL;
	if ((fp = open_memstream(&mem, &nmem)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	admin_init(&a, v->conf, &site, uid, all);
	runner_admin_attach(v->r, &a);
	if (!show)
		rc = admin_list(&a, &f, json, fp);
	else if (verdict_word(c->in, "qid", qid, sizeof(qid)) == NULL)
		rc = err_set(EX_USAGE, "show: qid needed");
	else
		rc = admin_show(&a, qid, verdict_word(c->in, "mode", w,
		    sizeof(w)) ? atoi(w) : ADMIN_SHOW_HEADER, json, fp);
	runner_admin_detach(v->r, &a);
	fclose(fp);
	if (rc == 0 && nmem > VERDICTD_OUT_MAX)
		rc = err_set(EX_SOFTWARE, "listing too large");
	if (rc == 0)
		verdictd_answer(c, "ok", mem, nmem);
	free(mem);
	return rc;
}

/* verdictd_flush - "flush": retry the caller's deferred mail now. */
static int
verdictd_flush(struct verdictd *v, struct vconn *c)
{
	struct site_id site;
	struct qflush q;
	char	 w[16];
	uid_t	 uid;
	int	 rc;

	if ((rc = verdictd_uid(c, &uid)) != 0 ||
	    (rc = verdictd_site(v, uid, &site)) != 0)
		return rc;
	memset(&q, 0, sizeof(q));
	q.all = c->trusted && verdict_word(c->in, "all", w, sizeof(w));
	snprintf(q.site, sizeof(q.site), "%s", site.name);
	if (verdict_word(c->in, "id", q.id, sizeof(q.id)) != NULL &&
	    !q.all && !runner_site_has(v->r, q.id, site.name))
		return err_set(EX_NOINPUT, "%s: no such message", q.id);
	(void)verdict_word(c->in, "domain", q.domain, sizeof(q.domain));
	(void)verdict_word(c->in, "sender", q.sender, sizeof(q.sender));
	if ((rc = runner_flush(v->r, &q, 1)) != 0)
		return rc;
	verdictd_answer(c, "ok", NULL, 0);
	return 0;
}

/* verdictd_verify - "verify": how one recipient would be routed now (the
 * DNS cache only), for sendmail -bv. */
static int
verdictd_verify(struct verdictd *v, struct vconn *c)
{
	struct site_id site;
	struct buf b;
	char	 rcpt[1024];
	uid_t	 uid;
	int	 rc;

	if ((rc = verdictd_uid(c, &uid)) != 0 ||
	    (rc = verdictd_site(v, uid, &site)) != 0)
		return rc;
	if (verdict_word(c->in, "addr", rcpt, sizeof(rcpt)) == NULL)
		return err_set(EX_USAGE, "verify: addr needed");
	buf_init(&b, VERDICT_LINE_MAX);
	if ((rc = runner_verify(v->r, rcpt, &b)) == 0 &&
	    (rc = buf_addch(&b, '\n')) == 0)
		verdictd_answer(c, "ok", buf_str(&b), b.len);
	else if (rc < 0)
		rc = err_set(EX_SOFTWARE, "answer too long");
	buf_free(&b);
	return rc;
}

/* verdictd_request - answer the complete request line of c. */
static void
verdictd_request(struct verdictd *v, struct vconn *c)
{
	const char *cmd = c->in;
	int	 rc;

#define IS(w)	(strncmp(cmd, w, strlen(w)) == 0 && \
		 (cmd[strlen(w)] == ' ' || cmd[strlen(w)] == '\0'))
	if (IS("charge"))
		rc = verdictd_charge(v, c);
	else if (IS("refund"))
		rc = verdictd_refund(v, c);
	else if (IS("list"))
		rc = verdictd_view(v, c, 0);
	else if (IS("show"))
		rc = verdictd_view(v, c, 1);
	else if (IS("flush"))
		rc = verdictd_flush(v, c);
	else if (IS("verify"))
		rc = verdictd_verify(v, c);
	else
		rc = err_set(EX_USAGE, "unknown request");
#undef IS
	if (rc != 0)
		verdictd_error(c, rc);
}

/* verdictd_read - read what c sent; 1 to keep the connection. */
static int
verdictd_read(struct verdictd *v, struct vconn *c)
{
	ssize_t	 n;
	char	*nl;

	n = recv(c->fd, c->in + c->nin, sizeof(c->in) - 1 - c->nin, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return 0;
	c->nin += (size_t)n;
	c->in[c->nin] = '\0';
	if ((nl = memchr(c->in, '\n', c->nin)) == NULL)
		return c->nin < sizeof(c->in) - 1;
	*nl = '\0';
	if (memchr(c->in, '\0', (size_t)(nl - c->in)) != NULL)
		return 0;
	verdictd_request(v, c);
	return c->out != NULL;
}

/* verdictd_write - send what is left of the answer; 1 to keep going. */
static int
verdictd_write(struct vconn *c)
{
	ssize_t	 n;

	n = send(c->fd, c->out + c->off, c->nout - c->off, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	c->off += (size_t)n;
	return c->off < c->nout;
}

/* verdictd_pollfds - the descriptors to poll: the listener, then each
 * connection; returns how many were filled (at most max). */
size_t
verdictd_pollfds(struct verdictd *v, struct pollfd *pfd, size_t max)
{
	size_t	 i, n = 0;

	if (v == NULL || max == 0)
		return 0;
	pfd[n].fd = v->lfd;
	pfd[n++].events = POLLIN;
	for (i = 0; i < v->nc && n < max; i++) {
		pfd[n].fd = v->c[i].fd;
		pfd[n++].events = v->c[i].out ? POLLOUT : POLLIN;
	}
	return n;
}

/* verdictd_events - serve what poll reported, then drop connections past
 * their deadline. */
void
verdictd_events(struct verdictd *v, const struct pollfd *pfd, size_t n)
{
	long long now = verdictd_ms();
	size_t	 i, k;
	int	 keep;

	if (v == NULL)
		return;
	if (n > 0 && (pfd[0].revents & POLLIN))
		verdictd_accept(v);
	for (k = 1; k < n; k++) {
		if (pfd[k].revents == 0)
			continue;
		for (i = 0; i < v->nc && v->c[i].fd != pfd[k].fd; i++)
			;
		if (i == v->nc)
			continue;
		keep = v->c[i].out ? verdictd_write(&v->c[i]) :
		    verdictd_read(v, &v->c[i]);
		if (keep && v->c[i].out && v->c[i].off == 0)
			keep = verdictd_write(&v->c[i]);
		if (!keep)
			verdictd_drop(v, i);
	}
	for (i = 0; i < v->nc; )
		if (v->c[i].deadline <= now)
			verdictd_drop(v, i);
		else
			i++;
}

/* verdictd_timeout_ms - how long poll may sleep for the connections. */
int
verdictd_timeout_ms(const struct verdictd *v, int timeout)
{
	long long now = verdictd_ms(), left;
	size_t	 i;

	for (i = 0; v != NULL && i < v->nc; i++) {
		left = v->c[i].deadline - now;
		if (left < 0)
			left = 0;
		if (timeout < 0 || left < timeout)
			timeout = (int)left;
	}
	return timeout;
}
