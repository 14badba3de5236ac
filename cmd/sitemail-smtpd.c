/*
 * sitemail-smtpd.c - sitemail-smtpd(8), the loopback SMTP listener.
 *
 * Runs as the runner user.  Its listening sockets come from systemd
 * (LISTEN_PID / LISTEN_FDS, fds 3...; a configured address none of them
 * is bound to is logged once) or, when started as root, it binds [smtpd]
 * listen plus 127.0.0.1 and ::1 on redirect_port itself; started as root
 * either way, it then drops to the runner user.  For every connection a
 * worker finds the uid that owns the client socket (util/peer.c:
 * inet_diag with the exact 4-tuple, /proc/net/tcp as the fallback) and
 * its site and configuration as sendmail would (site_conf_load: a site
 * whose sites.d file is broken keeps its last good settings); a
 * connection no local socket owns is refused.  Each site may hold
 * max_connections_per_site sessions; the next one gets 421.  Sessions run
 * in pre-forked worker processes, one at a time each (compat/pool.c keeps
 * idle ones ready, so one site's stalled sessions never delay another's),
 * speaking ESMTP (compat/smtpin.c) and taking every message through the
 * intake rules of sendmail (compat/intake.c), with the connection's
 * original destination (SO_ORIGINAL_DST) in the envelope and the log line.
 * A session ends after [smtpd] timeout without input, and in any case
 * SMTPD_TOTAL_MULT times that after it began.
 *
 * Configuration changes (inotify on the configuration directory and its
 * sites.d/, or SIGHUP) are loaded by the parent; a bad new configuration
 * is logged and the old one kept.  Workers of the old configuration finish
 * their session and are replaced (compat/pool.c), so a site added or
 * changed is served by its new settings within about a second.  The
 * listening addresses, redirect_port and the TLS certificate are taken at
 * start only.
 */
#include <sys/inotify.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat/compat.h"
#include "compat/intake.h"
#include "compat/pool.h"
#include "compat/tlsin.h"
#include "queue/site.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/msg.h"
#include "util/version.h"
#include "util/peer.h"
#include "util/priv.h"

#define SMTPD_MAXFDS	16		/* listening sockets */
#define SMTPD_INO_MASK	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
			    IN_CREATE | IN_DELETE | IN_ATTRIB)
#define SMTPD_TOTAL_MULT 6		/* session limit = 6 x timeout */

/* One session, in a worker: the caller and where it wanted to go.  The
 * intake (its spool key) stays loaded across sessions; conf is the
 * configuration as sendmail would load it for this caller
 * (site_conf_load), so a site whose sites.d file is broken keeps its last
 * good settings and its name. */
struct smtpd_session {
	struct intake in;
	struct conf conf;		/* valid while have_conf */
	int	 have_conf;
	struct site_id site;
	char	 origdst[128];
	char	 peer[80];
};

/* The listener process (each worker has its own copy). */
struct smtpd {
	struct conf conf;
	const char *confdir;
	int	 lfd[SMTPD_MAXFDS];
	size_t	 nlfd;
	int	 tls;			/* STARTTLS offered */
	int	 inofd;			/* configuration changes; -1 none */
	struct smtpd_session ss;
};

static volatile sig_atomic_t smtpd_stop;
static volatile sig_atomic_t smtpd_hup;
static const struct smtpd *smtpd_self;	/* for the signal handler */

/* smtpd_on_term - SIGTERM / SIGINT: stop accepting, and close the
 * listening sockets at once, so that a worker still in a session does not
 * keep the addresses from a restarted listener. */
static void
smtpd_on_term(int sig)
{
	size_t	 i;

	(void)sig;
	smtpd_stop = 1;
	for (i = 0; smtpd_self != NULL && i < smtpd_self->nlfd; i++)
		close(smtpd_self->lfd[i]);
}

/* smtpd_on_hup - SIGHUP: reload the configuration (in the parent). */
static void
smtpd_on_hup(int sig)
{
	(void)sig;
	smtpd_hup = 1;
}

/* smtpd_on_alarm - the session's total time is up: end its worker. */
static void
smtpd_on_alarm(int sig)
{
	(void)sig;
	_exit(EX_TEMPFAIL);
}

/* smtpd_systemd_fds - take sockets passed by systemd; how many. */
static size_t
smtpd_systemd_fds(struct smtpd *d)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	uint64_t p, n, i;

	if (pid == NULL || fds == NULL ||
	    conf_parse_u64(pid, strlen(pid), 4194304, &p) < 0 ||
	    (pid_t)p != getpid() ||
	    conf_parse_u64(fds, strlen(fds), SMTPD_MAXFDS, &n) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		(void)fcntl(3 + (int)i, F_SETFD, FD_CLOEXEC);
		d->lfd[d->nlfd++] = 3 + (int)i;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return d->nlfd;
}

/* smtpd_parse_addr - "ip:port" or "[ip6]:port" into ss; -1 if bad. */
static int
smtpd_parse_addr(const char *spec, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;
	char	 host[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(spec, ':'), *h = spec;
	size_t	 hn;
	uint64_t port;

	if (colon == NULL || conf_parse_u64(colon + 1, strlen(colon + 1),
	    65535, &port) < 0 || port == 0)
		return -1;
	hn = (size_t)(colon - spec);
	if (*h == '[' && hn >= 2 && h[hn - 1] == ']') {
		h++;
		hn -= 2;
	}
	if (hn >= sizeof(host))
		return -1;
	memcpy(host, h, hn);
	host[hn] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	} else
		return -1;
	return 0;
}

/* smtpd_bind_one - bind and listen on spec; 0, 1 (skipped: no IPv6 on
 * this host), or a sysexits status. */
static int
smtpd_bind_one(struct smtpd *d, const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int	 fd, one = 1;

	if (smtpd_parse_addr(spec, &ss, &len) < 0)
		return err_set(EX_CONFIG, "[smtpd] listen: bad address "
		    "\"%s\" (want ip:port or [ip6]:port)", spec);
	if (d->nlfd == SMTPD_MAXFDS)
		return err_set(EX_CONFIG, "[smtpd]: too many listen addresses");
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ss.ss_family == AF_INET6 ? 1 : err_set(EX_OSERR,
		    "socket: %s", strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
		int	 e = errno;

		close(fd);
		if (ss.ss_family == AF_INET6 && e == EADDRNOTAVAIL)
			return 1;
		return err_set(EX_OSERR, "cannot listen on %s: %s", spec,
		    strerror(e));
	}
	d->lfd[d->nlfd++] = fd;
	return 0;
}

/* smtpd_spec - the i-th address the configuration wants served: the
 * [smtpd] listen entries, then 127.0.0.1 and [::1] on redirect_port;
 * NULL past the last.  The redirect ones are written into buf. */
static const char *
smtpd_spec(const struct smtpd *d, size_t i, char *buf, size_t len)
{
	size_t	 n = d->conf.smtpd.listen.n;

	if (i < n)
		return d->conf.smtpd.listen.v[i];
	if (i > n + 1)
		return NULL;
	snprintf(buf, len, i == n ? "127.0.0.1:%u" : "[::1]:%u",
	    d->conf.smtpd.redirect_port);
	return buf;
}

/* smtpd_bind - [smtpd] listen, and redirect_port on both loopbacks. */
static int
smtpd_bind(struct smtpd *d)
{
	char	 buf[64];
	const char *spec;
	size_t	 i;
	int	 rc;

	for (i = 0; (spec = smtpd_spec(d, i, buf, sizeof(buf))) != NULL; i++)
		if ((rc = smtpd_bind_one(d, spec)) > 1)
			return rc;
	if (d->nlfd == 0)
		return err_set(EX_CONFIG, "[smtpd]: nothing to listen on");
	return 0;
}

/* smtpd_fd_serves - 1 if the listening socket fd takes connections to
 * want: the same port, and the same address or a wildcard that covers it
 * (an IPv6 one covers IPv4 unless IPV6_V6ONLY). */
static int
smtpd_fd_serves(int fd, const struct sockaddr_storage *want)
{
	const struct sockaddr_in *w4 = (const void *)want;
	const struct sockaddr_in6 *w6 = (const void *)want;
	struct sockaddr_storage ss;
	struct sockaddr_in *b4 = (void *)&ss;
	struct sockaddr_in6 *b6 = (void *)&ss;
	socklen_t len = sizeof(ss), olen;
	int	 v6only = 1;

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return want->ss_family == AF_INET &&
		    b4->sin_port == w4->sin_port &&
		    (b4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		    b4->sin_addr.s_addr == w4->sin_addr.s_addr);
	if (ss.ss_family != AF_INET6)
		return 0;
	if (want->ss_family == AF_INET6)
		return b6->sin6_port == w6->sin6_port &&
		    (IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr) ||
		    IN6_ARE_ADDR_EQUAL(&b6->sin6_addr, &w6->sin6_addr));
	if (b6->sin6_port != w4->sin_port)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&b6->sin6_addr))
		return memcmp(&b6->sin6_addr.s6_addr[12], &w4->sin_addr, 4) ==
		    0;
	olen = sizeof(v6only);
	return IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr) && getsockopt(fd,
	    IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen) == 0 && !v6only;
}

/* smtpd_check_passed - sockets from systemd: one warning naming every
 * configured address (smtpd_spec) that none of them is bound to. */
static void
smtpd_check_passed(const struct smtpd *d)
{
	struct sockaddr_storage want;
	struct buf missing;
	socklen_t wlen;
	char	 buf[64];
	const char *spec;
	size_t	 i, k;

	buf_init(&missing, 4096);
	for (i = 0; (spec = smtpd_spec(d, i, buf, sizeof(buf))) != NULL; i++) {
		k = 0;		/* a bad address is served by none */
		if (smtpd_parse_addr(spec, &want, &wlen) < 0)
			k = d->nlfd;
		for (; k < d->nlfd && !smtpd_fd_serves(d->lfd[k], &want); k++)
			;
		if (k == d->nlfd && buf_printf(&missing, "%s%s", missing.len ?
		    ", " : "", spec) < 0)
			break;
	}
	if (missing.len > 0)
		log_warn("sockets from systemd: none is bound to %s ([smtpd] "
		    "listen, redirect_port); connections there are not "
		    "served: keep sitemail-smtpd.socket in step with "
		    "sitemail.conf", buf_str(&missing));
	buf_free(&missing);
}

/* smtpd_say - write one reply line straight to a socket (refusals). */
static void
smtpd_say(int fd, const char *fmt, ...) SM_PRINTF(2, 3);

static void
smtpd_say(int fd, const char *fmt, ...)
{
	char	 line[512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	memcpy(line + n, "\r\n", 2);
	(void)send(fd, line, (size_t)n + 2, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* smtpd_quote - s as one log field value: in double quotes, with '"'
 * and '\' escaped by '\' and control bytes as '?', so that what a
 * client chose can never look like another field; cut (still quoted) to
 * fit out. */
static const char *
smtpd_quote(const char *s, char *out, size_t size)
{
	size_t	 o = 0;

	if (size < 3) {
		if (size > 0)
			out[0] = '\0';
		return out;
	}
	out[o++] = '"';
	for (; *s != '\0' && o + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = (unsigned char)*s < ' ' || *s == 0x7f ? '?' : *s;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/* smtpd_on_auth - a login given to AUTH: logged (quoted), never used. */
static void
smtpd_on_auth(void *ctx, const char *mech, const char *login)
{
	struct smtpd_session *ss = ctx;
	char	 q[2 * 256 + 3];

	log_info("auth: site=%s uid=%lu mech=%s login=%s (ignored: the site "
	    "is the socket owner)", ss->in.site.name,
	    (unsigned long)ss->in.site.uid, mech,
	    smtpd_quote(login, q, sizeof(q)));
}

/* smtpd_deliver - smtpin_ops.deliver: one message through intake. */
static int
smtpd_deliver(void *ctx, const char *sender, char **rcpt, size_t nrcpt,
    struct linein *data, char *qid, size_t qidlen)
{
	struct smtpd_session *ss = ctx;
	int	 rc;

	rc = intake_message(&ss->in, sender, rcpt, nrcpt, 0, data, qid,
	    qidlen);
	if (rc)
		log_warn("reject: site=%s uid=%lu origdst=%s: %s",
		    ss->in.site.name, (unsigned long)ss->in.site.uid,
		    *ss->in.origdst ? ss->in.origdst : "-", err_str());
	return rc;
}

/* smtpd_forget - release the configuration of the last client. */
static void
smtpd_forget(struct smtpd_session *ss)
{
	if (!ss->have_conf)
		return;
	conf_free(&ss->conf);
	ss->have_conf = 0;
}

/* smtpd_timeouts - idle timeout on reads and writes of the session. */
static void
smtpd_timeouts(int fd, long secs)
{
	struct timeval tv = { secs, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* smtpd_session - pool_ops.session: one SMTP session for the site that
 * smtpd_identify() found. */
static void
smtpd_session(void *ctx, int fd)
{
	struct smtpd *d = ctx;
	struct smtpd_session *ss = &d->ss;
	struct smtpin_ops ops;
	int	 rc;

	alarm((unsigned)(d->conf.smtpd.timeout * SMTPD_TOTAL_MULT));
	smtpd_timeouts(fd, d->conf.smtpd.timeout);
	ss->in.conf = &ss->conf;	/* as sendmail sees it (identify) */
	ss->in.trusted = 1;	/* sitemaild charges the site of this uid */
	snprintf(ss->in.cwd, sizeof(ss->in.cwd), "?");
	snprintf(ss->in.exe, sizeof(ss->in.exe), "?");
	snprintf(ss->in.origdst, sizeof(ss->in.origdst), "%s", ss->origdst);
	if ((rc = intake_site(&ss->in, ss->site.uid)) != 0) {
		smtpd_say(fd, "421 4.3.0 %s Error: %s", d->conf.hostname,
		    err_str());
		alarm(0);
		smtpd_forget(ss);
		return;
	}
	memset(&ops, 0, sizeof(ops));
	ops.deliver = smtpd_deliver;
	ops.ctx = ss;
	ops.hostname = ss->conf.hostname;
	ops.max_recipients = ss->conf.max_recipients;
	ops.max_size = ss->conf.max_message_size;
	ops.listener = 1;
	ops.auth_accept = d->conf.smtpd.auth_accept;
	ops.on_auth = smtpd_on_auth;
	ops.starttls = d->tls ? tlsin_starttls : NULL;
	(void)smtpin_serve(&ops, fd);
	tlsin_done();
	alarm(0);
	smtpd_forget(ss);
}

/* smtpd_identify - pool_ops.identify: the site of the client on fd, and
 * where it wanted to go; 0, or non-zero after the refusal was sent.  The
 * site is found as sendmail finds it (site_conf_load: the site index, and
 * a broken sites.d file's last good copy), not in the listener's own
 * configuration, which leaves a broken file out. */
static int
smtpd_identify(void *ctx, int fd, char *sitename, size_t len)
{
	struct smtpd *d = ctx;
	struct smtpd_session *ss = &d->ss;
	struct peer_conn c;
	uid_t	 uid;
	int	 redirected, rc;

	ss->origdst[0] = '\0';
	snprintf(ss->peer, sizeof(ss->peer), "?");
	if ((rc = peer_from_fd(fd, &c, &redirected)) == 0) {
		peer_ep_str(&c.local, ss->peer, sizeof(ss->peer));
		if (redirected)
			peer_ep_str(&c.remote, ss->origdst,
			    sizeof(ss->origdst));
		rc = peer_owner(&c, &uid);
	}
	if (rc != 0) {
		log_warn("refused: connection from %s: %s", ss->peer,
		    err_str());
		smtpd_say(fd, "554 5.7.1 %s Error: connection refused: no "
		    "local user owns it", d->conf.hostname);
		return rc;
	}
	smtpd_forget(ss);
	if ((rc = site_conf_load(&ss->conf, d->conf.dir, uid, &ss->site)) !=
	    0) {
		log_warn("refused: connection from %s uid=%lu: %s", ss->peer,
		    (unsigned long)uid, err_str());
		smtpd_say(fd, "421 4.3.0 %s Error: %s", d->conf.hostname,
		    err_str());
		return rc;
	}
	ss->have_conf = 1;
	log_info("connect: site=%s uid=%lu peer=%s origdst=%s", ss->site.name,
	    (unsigned long)ss->site.uid, ss->peer, *ss->origdst ?
	    ss->origdst : "-");
	snprintf(sitename, len, "%s", ss->site.name);
	return 0;
}

/* smtpd_too_many - pool_ops.too_many: the site is at its limit. */
static void
smtpd_too_many(void *ctx, int fd, const char *site, unsigned n)
{
	struct smtpd *d = ctx;

	log_warn("refused: site=%s uid=%lu peer=%s: %u sessions "
	    "(max_connections_per_site)", site, (unsigned long)d->ss.site.uid,
	    d->ss.peer, n);
	smtpd_say(fd, "421 4.7.0 %s Error: too many connections from site %s "
	    "(max_connections_per_site %u); try again later",
	    d->conf.hostname, site, d->conf.smtpd.max_per_site);
	smtpd_forget(&d->ss);
}

/* smtpd_watch - inotify on the configuration directory and its sites.d/
 * (d->inofd stays -1 when that is not possible: SIGHUP still works). */
static void
smtpd_watch(struct smtpd *d)
{
	char	 path[PATH_MAX];

	if ((d->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_warn("inotify: %s; reload with SIGHUP", strerror(errno));
		return;
	}
	if (inotify_add_watch(d->inofd, d->conf.dir, SMTPD_INO_MASK) < 0)
		log_warn("cannot watch %s: %s; reload with SIGHUP",
		    d->conf.dir, strerror(errno));
	if ((size_t)snprintf(path, sizeof(path), "%s/sites.d", d->conf.dir) <
	    sizeof(path))
		(void)inotify_add_watch(d->inofd, path, SMTPD_INO_MASK);
}

/* smtpd_conf_notes - log each sites.d file the configuration left out
 * (its site is still served with its last good settings: identify). */
static void
smtpd_conf_notes(const struct conf *c)
{
	size_t	 i;

	for (i = 0; i < c->broken.n; i++)
		log_error("configuration file left out, its site keeps its "
		    "last good settings from the site index: %s",
		    c->broken.v[i]);
}

/* smtpd_reload - load the configuration again: 1 when the new one is in
 * use, 0 when it is broken (logged; the old one stays). */
static int
smtpd_reload(struct smtpd *d)
{
	struct conf c;

	if (conf_load(&c, d->confdir) != 0) {
		log_error("configuration not reloaded, the old one stays: %s",
		    err_str());
		return 0;
	}
	conf_free(&d->conf);
	d->conf = c;
	log_info("configuration reloaded: workers restart after their "
	    "session; %u session(s) per site, timeout %lds",
	    d->conf.smtpd.max_per_site, d->conf.smtpd.timeout);
	smtpd_conf_notes(&d->conf);
	return 1;
}

/* smtpd_tick - pool_ops.tick (parent): reload after a change in the
 * configuration directory or a SIGHUP; 1 when reloaded. */
static int
smtpd_tick(void *ctx)
{
	struct smtpd *d = ctx;
	char	 buf[4096] __attribute__((aligned(__alignof__(struct
		    inotify_event))));
	int	 changed = smtpd_hup;

	smtpd_hup = 0;
	while (d->inofd >= 0 && read(d->inofd, buf, sizeof(buf)) > 0)
		changed = 1;
	return changed ? smtpd_reload(d) : 0;
}

/* smtpd_pool - serve through the worker pool until SIGTERM. */
static int
smtpd_pool(struct smtpd *d)
{
	struct pool_ops ops;
	size_t	 i;

	for (i = 0; i < d->nlfd; i++)
		(void)fcntl(d->lfd[i], F_SETFL, O_NONBLOCK |
		    fcntl(d->lfd[i], F_GETFL));
	memset(&ops, 0, sizeof(ops));
	ops.identify = smtpd_identify;
	ops.session = smtpd_session;
	ops.too_many = smtpd_too_many;
	ops.tick = smtpd_tick;
	ops.ctx = d;
	ops.lfd = d->lfd;
	ops.nlfd = d->nlfd;
	ops.max_per_site = &d->conf.smtpd.max_per_site;
	ops.stop = &smtpd_stop;
	return pool_run(&ops);
}

/* smtpd_setup - configuration, sockets, TLS, then the runner user. */
static void
smtpd_setup(struct smtpd *d)
{
	int	 rc;

	if ((rc = conf_load(&d->conf, d->confdir)) != 0)
		msg_fatal(rc, "%s", err_str());
	if ((rc = log_open("sitemail-smtpd", d->conf.log)) != 0)
		msg_fatal(rc, "%s", err_str());
	smtpd_conf_notes(&d->conf);
	if (smtpd_systemd_fds(d) > 0)
		smtpd_check_passed(d);
	else if ((rc = smtpd_bind(d)) != 0)
		msg_fatal(rc, "%s", err_str());
	if (*d->conf.smtpd.tls_cert || *d->conf.smtpd.tls_key) {
		if ((rc = tlsin_init(d->conf.smtpd.tls_cert,
		    d->conf.smtpd.tls_key)) != 0)
			msg_fatal(rc, "%s", err_str());
		d->tls = 1;
	}
	if ((rc = priv_drop(d->conf.user)) != 0)
		msg_fatal(rc, "%s", err_str());
	if (geteuid() == 0)
		msg_fatal(EX_USAGE, "refusing to serve as root");
	smtpd_watch(d);
}

/* smtpd_signals - SIGTERM/SIGINT stop, SIGHUP reloads, SIGALRM ends a
 * session that ran too long (and its worker), SIGPIPE ignored. */
static void
smtpd_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = smtpd_on_term;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = smtpd_on_hup;
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = smtpd_on_alarm;
	(void)sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* main - sitemail-smtpd [-C confdir] | --version | --help */
int
main(int argc, char **argv)
{
	static struct smtpd d;
	int	 rc;

	umask(007);
	(void)log_open("sitemail-smtpd", "stderr");
	if (argc == 2 && version_flag(argv[1])) {
		version_print(stdout, "sitemail-smtpd");
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		printf("usage: sitemail-smtpd [-C confdir] | --version | --help\n"
		    "The loopback SMTP listener: started by systemd "
		    "(sitemail-smtpd.socket) or as root;\nsee "
		    "sitemail-smtpd(8).\n");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "-C") == 0)
		d.confdir = argv[2];
	else if (argc != 1)
		msg_fatal(EX_USAGE, "usage: sitemail-smtpd [-C confdir]");
	smtpd_setup(&d);
	smtpd_self = &d;
	smtpd_signals();
	log_info("listening on %zu socket(s), %u session(s) per site, "
	    "timeout %lds%s", d.nlfd, d.conf.smtpd.max_per_site,
	    d.conf.smtpd.timeout, d.tls ? ", STARTTLS" : "");
	if ((rc = smtpd_pool(&d)) != 0)
		msg_fatal(rc, "%s", err_str());
	log_info("stopping");
	return 0;
}
