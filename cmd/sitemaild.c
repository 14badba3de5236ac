/*
 * sitemaild.c - sitemaild(8), the queue runner.
 *
 * Usage: sitemaild [--once | --setup | --hold] [-C DIR] [--foreground]
 *        [--version]
 *
 * Runs in the foreground (for systemd; --foreground is accepted and is the
 * default).  --once makes one pass: everything due now is delivered, the
 * jobs in flight are waited for, and the program exits (for cron and
 * tests).
 *
 * Privileges: started as root, it loads the configuration, then becomes
 * [main] user (initgroups, setgid, setuid; it can never regain root)
 * before it opens the spool or delivers anything.  Started as any other
 * user it runs as that user: the sitemail user in production, or a test
 * user; it can then read only what that user can read (the spool is group
 * sitemail, mode 0770/0640).  It never delivers as root.
 *
 * Spool layout (spool/layout.c): at start, missing spool directories are
 * created (as root before dropping privileges, so spool_dir itself can be
 * made too) and every one is checked; a wrong owner, group or mode makes
 * it exit 78 naming the chown/chmod that fixes it.  --setup does only
 * that, then exits (postinst, ExecStartPre).
 *
 * Events: inotify on queue/ (IN_MOVED_TO: a committed message; IN_CREATE
 * for file systems where the commit is a link) wakes it
 * within a second of new mail; inotify on the configuration directory
 * and its sites.d/ triggers a reload, which rebuilds the site index
 * (util/confidx.h, also built at start); inotify on state/flush/ picks up flush
 * requests (sendmail -q, sitemail flush); inotify on state/frozen/ turns
 * an admin's freeze marker appearing or going into a freeze or thaw event
 * (queue/notify.h: log line, webhook, notice), and about once a second
 * the due notices are mailed and the [notify] metrics file is rewritten
 * (queue/runner_notify.c); a timer rescans the queue when
 * the next retry or hold is due, and at least every RUNNERD_RESCAN seconds
 * (thaws, lost events).  Housekeeping (index repair, tmp/ cleanup, DNS
 * cache purge) runs at start and every RUNNERD_HOUSEKEEP seconds (every
 * RUNNERD_POLL seconds while queue/ cannot be watched, and at once after
 * an inotify queue overflow, so files whose event was lost are indexed).
 *
 * Signals (through a signalfd): SIGTERM and SIGINT stop starting new
 * messages; deliveries in flight get RUNNERD_GRACE seconds to finish and
 * are then abandoned (their messages stay queued; only those can be sent
 * twice).  A second SIGTERM abandons at once.  SIGHUP reloads the
 * configuration and the spool key once nothing is in flight; a bad new
 * configuration is logged and the old one kept.
 *
 * Exit status: 0, or a sysexits code (78 for a bad configuration).
 */
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <popt.h>

#include "queue/freeze.h"
#include "queue/notify.h"
#include "queue/qstate.h"
#include "queue/relay.h"
#include "queue/runner.h"
#include "queue/verdictd.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/confidx.h"
#include "util/msg.h"
#include "util/priv.h"
#include "util/version.h"

#define RUNNERD_RESCAN		60	/* seconds between full scans */
#define RUNNERD_HOUSEKEEP	300	/* seconds between housekeeping */
#define RUNNERD_POLL		5	/* ... when queue/ cannot be watched */
#define RUNNERD_INDEX_AGE	0	/* intake never indexes: every file */
#define RUNNERD_GRACE		10	/* seconds for jobs at shutdown */
#define RUNNERD_BUSY_MS		200	/* relay wait while busy */
#define RUNNERD_DNS_MS		20	/* wait while messages wait for DNS */
#define RUNNERD_IDLE_MAX	60	/* longest idle sleep, seconds */
#define RUNNERD_FLUSH_BATCH	256	/* flush requests per queue walk */
#define RUNNERD_RETRY		5	/* seconds between tries to open the state */

struct runnerd {
	struct conf confs[2];
	int	 cur;			/* index of the active conf */
	const char *confdir;
	unsigned char key[SPOOL_KEYLEN];
	struct runner *r;
	struct verdictd *vd;		/* the intake socket (not with --once) */
	int	 once;
	int	 hold;			/* --hold: intake and views, no delivery */
	int	 setup;			/* --setup: the spool layout only */
	int	 sigfd, inofd;
	int	 wd_queue, wd_flush, wd_frozen;
	int	 wd_conf, wd_sites;	/* the config dir and its sites.d */
	int	 idx_rc;		/* status of the last index write */
	char	 idx_err[512];
	int	 stopping;
	time_t	 deadline;
	int	 reload;
	int	 rescan;
	int	 flush;
	time_t	 last_scan, last_house, last_tick;
};

/* rd_conf - the active configuration. */
static struct conf *
rd_conf(struct runnerd *d)
{
	return &d->confs[d->cur];
}

/* rd_options - parse the command line. */
static void
rd_options(struct runnerd *d, int argc, const char **argv)
{
	int	 foreground = 0, version = 0, rc;
	char	*confdir = NULL;
	struct poptOption table[] = {
		{ "hold", '\0', POPT_ARG_NONE, &d->hold, 0,
		    "serve intake and indexes new mail, delivers nothing "
		    "(maintenance)", NULL },
		{ "once", '\0', POPT_ARG_NONE, &d->once, 0,
		  "deliver what is due now, wait for it, and exit", NULL },
		{ "setup", '\0', POPT_ARG_NONE, &d->setup, 0,
		  "create the missing spool layout, check it, and exit", NULL },
		{ "version", '\0', POPT_ARG_NONE, &version, 0,
		  "print the version and exit", NULL },
		{ "config", 'C', POPT_ARG_STRING, &confdir, 0,
		  "configuration directory", "DIR" },
		{ "foreground", '\0', POPT_ARG_NONE, &foreground, 0,
		  "stay in the foreground (the default)", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc;

	pc = poptGetContext("sitemaild", argc, argv, table, 0);
	if ((rc = poptGetNextOpt(pc)) < -1)
		msg_fatal(EX_USAGE, "%s: %s", poptBadOption(pc, 0),
		    poptStrerror(rc));
	if (poptGetArg(pc) != NULL)
		msg_fatal(EX_USAGE, "unexpected argument \"%s\"; usage: "
		    "sitemaild [--once | --setup | --hold] [-C DIR] [--foreground]",
		    poptPeekArg(pc) ? poptPeekArg(pc) : "");
	if (version) {
		version_print(stdout, "sitemaild");
		relay_version(stdout);
		exit(0);
	}
	d->confdir = confdir ? confdir : conf_default_dir();
	poptFreeContext(pc);
}

/* rd_key - load the spool key of conf into key. */
static int
rd_key(const struct conf *conf, unsigned char key[SPOOL_KEYLEN])
{
	struct buf path;
	int	 rc;

	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/spool.key", conf->dir) < 0)
		rc = err_set(EX_CONFIG, "configuration directory name too "
		    "long");
	else
		rc = spool_key_load(buf_str(&path), key);
	buf_free(&path);
	return rc;
}

/* rd_flush_dir - create spool_dir/state/flush (mode 01770) if missing. */
static void
rd_flush_dir(const struct conf *conf)
{
	struct buf path;

	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/%s", conf->spool_dir, QSTATE_FLUSH_DIR) == 0 &&
	    mkdir(buf_str(&path), 01770) == 0) {
		(void)chmod(buf_str(&path), 01770);
		log_info("created %s", buf_str(&path));
	}
	buf_free(&path);
}

/* rd_watch_conf - (re)watch the config dir and sites.d: a change there
 * rebuilds the site index (via a reload). */
static void
rd_watch_conf(struct runnerd *d)
{
	const uint32_t ev = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
	    IN_CREATE | IN_DELETE | IN_ATTRIB | IN_ONLYDIR;
	struct buf path;

	/* Never removed first: inotify_add_watch on a watched path keeps
	 * its watch (and its number), so an event queued during a reload
	 * is not lost to a renumbered watch. */
	d->wd_conf = inotify_add_watch(d->inofd, d->confdir, ev);
	buf_init(&path, PATH_MAX);
	d->wd_sites = buf_printf(&path, "%s/sites.d", d->confdir) < 0 ? -1 :
	    inotify_add_watch(d->inofd, buf_str(&path), ev);
	buf_free(&path);
}

/* rd_conf_load - the configuration as the runner uses it, and the site
 * index rebuilt from it (rd_conf_notes logs what went wrong). */
static int
rd_conf_load(struct runnerd *d, struct conf *c)
{
	int	 rc;

	if ((rc = confidx_build(c, d->confdir, &d->idx_rc)) == 0 &&
	    d->idx_rc != 0)
		snprintf(d->idx_err, sizeof(d->idx_err), "%s", err_str());
	return rc;
}

/* rd_conf_notes - log an index not written and the files left out. */
static void
rd_conf_notes(struct runnerd *d, const struct conf *c)
{
	size_t	 i;

	if (d->idx_rc != 0)
		log_warn("site index not written: %s", d->idx_err);
	for (i = 0; i < c->broken.n; i++)
		log_error("configuration file left out, keeping its last "
		    "good settings: %s", c->broken.v[i]);
}

/* rd_watch - install (or keep) the inotify watches on queue/,
 * state/flush/ and the configuration. */
static void
rd_watch(struct runnerd *d)
{
	struct buf path;

	/* Re-adding a watched path keeps its watch: no event is lost. */
	rd_watch_conf(d);
	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/queue", rd_conf(d)->spool_dir) == 0)
		d->wd_queue = inotify_add_watch(d->inofd, buf_str(&path),
		    IN_MOVED_TO | IN_CREATE | IN_ONLYDIR);
	if (d->wd_queue < 0)
		log_warn("cannot watch %s: %s; polling every %ds instead",
		    buf_str(&path), strerror(errno), RUNNERD_POLL);
	buf_reset(&path);
	if (buf_printf(&path, "%s/%s", rd_conf(d)->spool_dir,
	    QSTATE_FLUSH_DIR) == 0)
		d->wd_flush = inotify_add_watch(d->inofd, buf_str(&path),
		    IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
	if (d->wd_flush < 0)
		log_warn("cannot watch %s: %s", buf_str(&path),
		    strerror(errno));
	buf_reset(&path);
	(void)freeze_dir_create(rd_conf(d)->spool_dir);
	if (buf_printf(&path, "%s/%s", rd_conf(d)->spool_dir, FREEZE_DIR) == 0)
		d->wd_frozen = inotify_add_watch(d->inofd, buf_str(&path),
		    IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
		    IN_ONLYDIR);
	if (d->wd_frozen < 0)
		log_warn("cannot watch %s: %s; no notices of admin freezes "
		    "and thaws", buf_str(&path), strerror(errno));
	buf_free(&path);
}

/* rd_events - set up the signalfd and the inotify descriptor. */
static void
rd_events(struct runnerd *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		msg_fatal(EX_OSERR, "cannot set up signals: %s",
		    strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	d->wd_queue = d->wd_flush = d->wd_conf = d->wd_sites = -1;
	d->wd_frozen = -1;
	d->inofd = -1;
	if (d->once)
		return;
	if ((d->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		msg_fatal(EX_OSERR, "inotify_init1: %s", strerror(errno));
	rd_watch(d);
}

/* rd_flush_requests - read and apply the requests in state/flush/, in
 * batches of RUNNERD_FLUSH_BATCH (one walk over the queue per batch). */
static void
rd_flush_requests(struct runnerd *d)
{
	static struct qflush q[RUNNERD_FLUSH_BATCH];
	struct dirent *de;
	struct buf path;
	size_t	 n = 0;
	DIR	*dir;
	int	 fd;

	d->flush = 0;
	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/%s", rd_conf(d)->spool_dir,
	    QSTATE_FLUSH_DIR) < 0 || (fd = open(buf_str(&path), O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		buf_free(&path);
		return;
	}
	buf_free(&path);
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (qstate_flush_read(rd_conf(d), dirfd(dir), de->d_name,
		    geteuid(), &q[n]) != 0) {
			if (strstr(err_str(), "is gone") == NULL)
				log_warn("%s", err_str());
			continue;
		}
		if (++n == RUNNERD_FLUSH_BATCH) {
			if (runner_flush(d->r, q, n) != 0)
				log_warn("flush: %s", err_str());
			n = 0;
		}
	}
	closedir(dir);
	if (n > 0 && runner_flush(d->r, q, n) != 0)
		log_warn("flush: %s", err_str());
	d->last_scan = time(NULL);
}

/* rd_signals - read pending signals. */
static void
rd_signals(struct runnerd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("reload requested");
			d->reload = 1;
			continue;
		}
		if (d->stopping) {
			log_info("second stop signal: abandoning deliveries "
			    "in flight");
			d->deadline = 0;
			continue;
		}
		log_info("stopping: %u message(s) in flight",
		    runner_inflight(d->r));
		d->stopping = 1;
		d->deadline = time(NULL) + RUNNERD_GRACE;
		runner_stop(d->r, 1);
	}
}

/* rd_new_file - a file committed to queue/: deliver it, or with --hold
 * only index it (charged and listed, delivered once the hold ends). */
static void
rd_new_file(struct runnerd *d, const char *name)
{
	if (d->hold)
		runner_index(d->r, name);
	else
		runner_enqueue(d->r, name);
}

/* rd_inotify - read inotify events: new queue files, flush requests. */
static void
rd_inotify(struct runnerd *d)
{
	char	 buf[16384] __attribute__((aligned(__alignof__(struct
		    inotify_event))));
	const struct inotify_event *ev;
	ssize_t	 n;
	char	*p;

	if (d->inofd < 0)
		return;
	while ((n = read(d->inofd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Events lost: index what came meanwhile. */
				d->rescan = d->flush = 1;
				d->last_house = 0;
			}
			else if (ev->wd == d->wd_queue && ev->len > 0)
				rd_new_file(d, ev->name);
			else if (ev->wd == d->wd_flush && ev->len > 0 &&
			    ev->name[0] != '.')
				d->flush = 1;
			else if (ev->wd == d->wd_frozen && ev->len > 0)
				notify_frozen_change(ev->name, (ev->mask &
				    (IN_MOVED_TO | IN_CREATE)) != 0);
			else if (ev->wd == d->wd_conf || ev->wd == d->wd_sites)
				d->reload = 1;	/* and the site index */
		}
	}
}

/* rd_reload - load the configuration and the key again, if idle. */
static void
rd_reload(struct runnerd *d)
{
	unsigned char key[SPOOL_KEYLEN];
	int	 next = !d->cur, rc;

	runner_stop(d->r, 1);
	if (runner_inflight(d->r) > 0)
		return;			/* again when the jobs are done */
	d->reload = 0;
	runner_stop(d->r, d->stopping);
	if ((rc = rd_conf_load(d, &d->confs[next])) != 0 ||
	    (rc = rd_key(&d->confs[next], key)) != 0) {
		log_error("reload failed, keeping the old configuration: %s",
		    err_str());
		conf_free(&d->confs[next]);
		return;
	}
	if ((rc = runner_reload(d->r, &d->confs[next], key)) != 0) {
		log_error("reload failed: %s; back to the old configuration",
		    err_str());
		if (runner_reload(d->r, rd_conf(d), d->key) != 0)
			msg_fatal(EX_TEMPFAIL, "cannot restore the old "
			    "configuration: %s", err_str());
		conf_free(&d->confs[next]);
		return;
	}
	notify_conf(&d->confs[next], key);
	conf_free(rd_conf(d));
	d->cur = next;
	verdictd_set_conf(d->vd, rd_conf(d));
	memcpy(d->key, key, SPOOL_KEYLEN);
	explicit_bzero(key, sizeof(key));
	if (log_open("sitemaild", rd_conf(d)->log) != 0)
		msg_warnx("%s", err_str());
	rd_conf_notes(d, rd_conf(d));
	rd_flush_dir(rd_conf(d));
	rd_watch(d);
	d->rescan = 1;
	log_info("configuration reloaded from %s", d->confdir);
}

/* rd_house_every - seconds between housekeeping runs, which index the
 * files inotify did not report: often while queue/ cannot be watched. */
static time_t
rd_house_every(const struct runnerd *d)
{
	return d->wd_queue < 0 && !d->once ? RUNNERD_POLL : RUNNERD_HOUSEKEEP;
}

/* rd_timeout_ms - how long to sleep when nothing is in flight. */
static int
rd_timeout_ms(struct runnerd *d, time_t now)
{
	time_t	 next = runner_next_due(d->r), wake;

	wake = d->last_scan + RUNNERD_RESCAN;
	if (next > 0 && next < wake)
		wake = next;
	if (d->last_house + rd_house_every(d) < wake)
		wake = d->last_house + rd_house_every(d);
	if (d->last_tick + RUNNER_TICK < wake)
		wake = d->last_tick + RUNNER_TICK;
	if (wake <= now)
		return 0;
	if (wake - now > RUNNERD_IDLE_MAX)
		return RUNNERD_IDLE_MAX * 1000;
	return (int)(wake - now) * 1000;
}

/* rd_scan - the periodic work: rescans and housekeeping. */
static void
rd_scan(struct runnerd *d, time_t now)
{
	time_t	 next = runner_next_due(d->r);

	if (d->stopping)
		return;
	if (now - d->last_house >= rd_house_every(d)) {
		(void)runner_housekeeping(d->r, RUNNERD_INDEX_AGE);
		d->last_house = d->last_tick = now;
		d->rescan = 1;
	} else if (now - d->last_tick >= RUNNER_TICK) {
		runner_tick(d->r);
		d->last_tick = now;
	}
	if (d->rescan || now - d->last_scan >= RUNNERD_RESCAN ||
	    (next > 0 && now >= next)) {
		if (runner_scan(d->r) != 0)
			log_warn("scan: %s", err_str());
		d->rescan = 0;
		d->last_scan = now;
	}
}

/* rd_loop - the daemon's event loop; returns at shutdown.  Deliveries
 * run on the relay's threads; this thread waits for their completion,
 * signals, inotify and the intake socket in one poll, so a verdict is
 * answered at once whatever the relay is doing. */
static void
rd_loop(struct runnerd *d)
{
	struct pollfd pfd[3 + 1 + 256];
	time_t	 now;
	size_t	 nv;
	int	 busy, timeout;

	for (;;) {
		now = time(NULL);
		if (d->stopping && (runner_inflight(d->r) == 0 ||
		    now >= d->deadline))
			return;
		if (d->reload)
			rd_reload(d);
		if (d->flush && !d->stopping)
			rd_flush_requests(d);
		if (!d->hold) {
			rd_scan(d, now);
			(void)runner_step(d->r, 0);
		}
		runner_notify_tick(d->r, time(NULL), 0);
		busy = runner_inflight(d->r) > 0 ||
		    (!d->stopping && !d->reload && runner_waiting(d->r) > 0);
		timeout = busy ? RUNNERD_BUSY_MS : d->stopping ? 1000 :
		    rd_timeout_ms(d, time(NULL));
		if (runner_parked(d->r) > 0 && timeout > RUNNERD_DNS_MS)
			timeout = RUNNERD_DNS_MS;	/* DNS answers */
		if (timeout > 1000 && (notify_pending() ||
		    *rd_conf(d)->notify.metrics))
			timeout = 1000;		/* notices, metrics */
		pfd[0].fd = d->sigfd;
		pfd[1].fd = d->inofd;
		pfd[2].fd = runner_wake_fd(d->r);
		pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
		nv = verdictd_pollfds(d->vd, pfd + 3, sizeof(pfd) /
		    sizeof(pfd[0]) - 3);
		timeout = verdictd_timeout_ms(d->vd, timeout);
		if (poll(pfd, 3 + nv, timeout) < 0 && errno != EINTR)
			msg_fatal(EX_OSERR, "poll: %s", strerror(errno));
		if (pfd[0].revents & POLLIN)
			rd_signals(d);
		if (pfd[1].revents & POLLIN)
			rd_inotify(d);
		verdictd_events(d->vd, pfd + 3, nv);
	}
}

/* rd_once - one pass: what is due now, then wait for it. */
static void
rd_once(struct runnerd *d)
{
	struct pollfd pfd;

	while (runner_inflight(d->r) > 0 ||
	    (!d->stopping && runner_waiting(d->r) > 0)) {
		(void)runner_step(d->r, RUNNERD_BUSY_MS);
		pfd.fd = d->sigfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) > 0)
			rd_signals(d);
		if (d->stopping && time(NULL) >= d->deadline)
			break;
	}
}

/* rd_runner_open - open the runner; while its state cannot be opened
 * (a full or failing disk) wait and retry instead of exiting: intake
 * meanwhile commits uncharged, and the runner charges at pickup. */
static void
rd_runner_open(struct runnerd *d)
{
	unsigned tries = 0;
	int	 rc;

	while ((rc = runner_open(&d->r, rd_conf(d), d->key)) != 0) {
		if (rc != EX_TEMPFAIL || d->once)
			msg_fatal(rc, "%s", err_str());
		if (tries++ == 0)
			log_error("cannot start the runner: %s; intake commits "
			    "uncharged meanwhile; retrying every %d s",
			    err_str(), RUNNERD_RETRY);
		sleep(RUNNERD_RETRY);
	}
	if (tries > 0)
		log_info("runner started after %u retries", tries);
}

/* rd_setup - configuration, privileges, log, key and the runner. */
static void
rd_setup(struct runnerd *d)
{
	int	 rc;

	if ((rc = rd_conf_load(d, rd_conf(d))) != 0)
		msg_fatal(rc, "%s", err_str());
	if (geteuid() == 0 && (rc = spool_layout_setup(rd_conf(d)->spool_dir,
	    rd_conf(d)->user)) != 0)
		msg_fatal(rc, "%s", err_str());
	if (d->setup) {
		if (geteuid() != 0 && (rc = spool_layout_setup(
		    rd_conf(d)->spool_dir, rd_conf(d)->user)) != 0)
			msg_fatal(rc, "%s", err_str());
		printf("sitemaild: spool layout of %s is in place\n",
		    rd_conf(d)->spool_dir);
		exit(0);
	}
	if (geteuid() == 0 && (rc = priv_drop(rd_conf(d)->user)) != 0)
		msg_fatal(rc, "%s", err_str());
	if ((rc = spool_layout_setup(rd_conf(d)->spool_dir,
	    rd_conf(d)->user)) != 0)
		msg_fatal(rc, "%s", err_str());
	if (geteuid() == 0 || getuid() == 0)
		msg_fatal(EX_SOFTWARE, "refusing to deliver as root");
	if ((rc = log_open("sitemaild", rd_conf(d)->log)) != 0)
		msg_fatal(rc, "%s", err_str());
	rd_conf_notes(d, rd_conf(d));
	if (!priv_is_admin(geteuid(), rd_conf(d)->user))
		log_warn("running as uid %lu, not as user %s",
		    (unsigned long)geteuid(), rd_conf(d)->user);
	if ((rc = rd_key(rd_conf(d), d->key)) != 0)
		msg_fatal(rc, "%s", err_str());
	rd_runner_open(d);
	(void)notify_open(rd_conf(d), d->key);
}

/* main - set up, then one pass or the daemon loop. */
int
main(int argc, char **argv)
{
	static struct runnerd d;
	const struct runner_stats *st;

	umask(007);
	log_create(1);
	(void)log_open("sitemaild", "stderr");
	rd_options(&d, argc, (const char **)argv);
	rd_setup(&d);
	rd_events(&d);
	log_info("starting%s: spool %s, %u connection(s)", d.once ?
	    " one pass" : "", rd_conf(&d)->spool_dir,
	    rd_conf(&d)->connections);
	/* Every file there now, however young: the watch is already in
	 * place, so a file committed from here on is seen by inotify, and
	 * one committed before is indexed here (pickup within a second). */
	(void)runner_housekeeping(d.r, 0);
	d.last_house = d.last_tick = time(NULL);
	rd_flush_requests(&d);
	if (runner_scan(d.r) != 0)
		log_warn("scan: %s", err_str());
	d.last_scan = time(NULL);
	if (d.once)
		rd_once(&d);
	else {
		if (verdictd_open(&d.vd, d.r, rd_conf(&d)) != 0)
			log_error("%s; intake commits uncharged and the runner "
			    "charges at pickup", err_str());
		rd_loop(&d);
		verdictd_close(d.vd);
	}
	st = runner_get_stats(d.r);
	log_info("stopping: sent=%lu deferred=%lu bounced=%lu removed=%lu "
	    "quarantined=%lu", st->sent, st->deferred, st->bounced,
	    st->removed, st->quarantined);
	runner_notify_tick(d.r, time(NULL), 1);
	notify_close();
	runner_close(d.r);
	conf_free(rd_conf(&d));
	explicit_bzero(d.key, sizeof(d.key));
	return 0;
}
