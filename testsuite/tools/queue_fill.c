/*
 * queue_fill.c - fill a spool with many queued messages, fast, for the
 * mailq benchmark (testsuite/bench/mailq) and the admin tests.
 *
 * Usage: queue_fill --spool DIR --key FILE [--messages N] [--sites S]
 *            [--rcpts R] [--uid-base U] [--site-prefix P] [--no-files]
 *            [--plain]
 *
 * Writes N signed spool files through the real spool code (spool_create,
 * spool_write, spool_commit) and adds their queue.tdb records
 * (qstate_add), round-robin over S sites named P000.test, P001.test, ...
 * (uid U + site number).  Run by root, it chowns each file to that uid
 * and the group of queue/, as intake would leave it, and queue.tdb to the
 * owner of queue/ (the runner user).  Durability does not matter here, so this program defines
 * fsync() as a no-op: the library's calls land here instead of in libc
 * (that alone makes 100,000 messages take seconds instead of minutes).
 * Unless --plain is given, the queue gets the variety of a real one:
 * every 3rd message has its first recipient deferred with a reason, every
 * 7th is held by the rate limit for an hour, every 11th is frozen.
 * --no-files writes the records only.  Prints "filled N messages".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "queue/qstate.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/msg.h"

struct fill {
	const char *spool, *keyfile, *prefix;
	unsigned long n, sites, rcpts, uid_base;
	int	 files, plain;
	unsigned char key[SPOOL_KEYLEN];
	struct qstate *qs;
	int	 queuefd;
	gid_t	 gid;			/* of queue/: the sitemail group */
};

/* fsync - a no-op for this program only (see the top of the file). */
int
fsync(int fd)
{
	(void)fd;
	return 0;
}

/* fill_usage - complain and exit 64. */
static void __attribute__((noreturn))
fill_usage(void)
{
	fprintf(stderr, "usage: queue_fill --spool DIR --key FILE "
	    "[--messages N] [--sites S] [--rcpts R] [--uid-base U] "
	    "[--site-prefix P] [--no-files] [--plain]\n");
	exit(EX_USAGE);
}

/* fill_num - a decimal option value. */
static unsigned long
fill_num(const char *s)
{
	char	*end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s)
		fill_usage();
	return v;
}

/* fill_args - parse the command line. */
static void
fill_args(struct fill *f, int argc, char **argv)
{
	int	 i;

	f->n = 1000;
	f->sites = 10;
	f->rcpts = 2;
	f->uid_base = 20000;
	f->files = 1;
	f->prefix = "site";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--no-files") == 0)
			f->files = 0;
		else if (strcmp(a, "--plain") == 0)
			f->plain = 1;
		else if (v == NULL)
			fill_usage();
		else if (strcmp(a, "--spool") == 0)
			f->spool = v, i++;
		else if (strcmp(a, "--key") == 0)
			f->keyfile = v, i++;
		else if (strcmp(a, "--site-prefix") == 0)
			f->prefix = v, i++;
		else if (strcmp(a, "--messages") == 0)
			f->n = fill_num(v), i++;
		else if (strcmp(a, "--sites") == 0)
			f->sites = fill_num(v), i++;
		else if (strcmp(a, "--rcpts") == 0)
			f->rcpts = fill_num(v), i++;
		else if (strcmp(a, "--uid-base") == 0)
			f->uid_base = fill_num(v), i++;
		else
			fill_usage();
	}
	if (f->spool == NULL || f->keyfile == NULL || f->sites == 0 ||
	    f->rcpts == 0 || f->rcpts > 1000)
		fill_usage();
}

/* fill_state - give the record the variety of a real queue. */
static int
fill_state(struct fill *f, const struct envelope *env, unsigned long i)
{
	struct qrec rec;
	int	 rc;

	if (f->plain || (i % 3 != 0 && i % 7 != 0 && i % 11 != 0))
		return 0;
	if ((rc = qstate_get(f->qs, env->qid, &rec)) != 0)
		return rc;
	if (i % 3 == 0) {
		rec.r[0].status = QR_DEFERRED;
		rec.r[0].attempts = 1;
		rec.r[0].next_try = env->time + 600;
		free(rec.r[0].dsn);
		free(rec.r[0].reason);
		rec.r[0].dsn = strdup("4.7.1");
		rec.r[0].reason = strdup("451 4.7.1 Try again later");
	}
	if (i % 7 == 0)
		rec.hold = env->time + 3600;
	if (i % 11 == 0)
		rec.frozen = 1;
	rc = (rec.r[0].dsn && rec.r[0].reason) ? qstate_put(f->qs, &rec) :
	    err_set(EX_TEMPFAIL, "out of memory");
	qrec_free(&rec);
	return rc;
}

/* fill_content - the message text of message i. */
static int
fill_content(struct buf *b, const struct envelope *env, unsigned long i)
{
	size_t	 r;
	int	 bad;

	bad = buf_printf(b, "Received: from %s (uid %lu, site %s) by "
	    "bench.sitemail.test (sitemail) id %s\r\nFrom: %s\r\nTo: ",
	    env->login, (unsigned long)env->uid, env->site, env->qid,
	    env->sender);
	for (r = 0; r < env->nrcpt; r++)
		bad |= buf_printf(b, "%s%s", r ? ", " : "", env->rcpt[r]);
	bad |= buf_printf(b, "\r\nSubject: queue fill %lu\r\nMessage-ID: "
	    "<%s@bench.sitemail.test>\r\n\r\n", i, env->qid);
	for (r = 0; r < 12; r++)
		bad |= buf_addstr(b, "The quick brown fox jumps over the lazy "
		    "dog, again and again, to fill a line.\r\n");
	return bad ? err_set(EX_TEMPFAIL, "out of memory") : 0;
}

/* fill_one - write and index message i. */
static int
fill_one(struct fill *f, unsigned long i)
{
	struct spool_writer *w = NULL;
	struct envelope env;
	struct timeval tv;
	struct buf content;
	char	 site[64], login[64], sender[128], **rcpt, qid[SPOOL_QIDLEN + 1];
	unsigned long s = i % f->sites, r;
	int	 rc = 0;

	snprintf(site, sizeof(site), "%s%03lu.test", f->prefix, s);
	snprintf(login, sizeof(login), "web%03lu", s);
	snprintf(sender, sizeof(sender), "%s@%s", login, site);
	if ((rcpt = calloc(f->rcpts, sizeof(*rcpt))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	for (r = 0; r < f->rcpts && rc == 0; r++)
		if (asprintf(&rcpt[r], "user%lu.%lu@example%lu.net", i, r,
		    r % 5) < 0)
			rc = err_set(EX_TEMPFAIL, "out of memory");
	gettimeofday(&tv, NULL);
	memset(&env, 0, sizeof(env));
	env.version = SPOOL_VERSION;
	env.site = site;
	env.uid = (uid_t)(f->uid_base + s);
	env.login = login;
	env.sender = sender;
	env.time = tv.tv_sec;
	env.time_usec = tv.tv_usec;
	env.cwd = "/var/www/bench";
	env.exe = "/usr/bin/php";
	env.script = "";
	env.rcpt = rcpt;
	env.nrcpt = f->rcpts;
	buf_init(&content, 1 << 20);
	if (f->files) {
		if (rc == 0)
			rc = spool_create(&w, f->spool, f->key);
		if (rc == 0)
			snprintf(env.qid, sizeof(env.qid), "%s",
			    spool_writer_qid(w));
	} else {
		spool_qid_new(qid);
		snprintf(env.qid, sizeof(env.qid), "%s", qid);
	}
	if (rc == 0)
		rc = fill_content(&content, &env, i);
	if (rc == 0 && w != NULL && (rc = spool_write(w, content.ptr,
	    content.len)) == 0) {
		rc = spool_commit(w, &env);
		w = NULL;
		if (rc == 0 && geteuid() == 0 && fchownat(f->queuefd, env.qid,
		    env.uid, f->gid, AT_SYMLINK_NOFOLLOW) < 0)
			rc = err_set(EX_TEMPFAIL, "chown %s: %s", env.qid,
			    strerror(errno));
	}
	if (w != NULL)
		spool_abort(w);
	if (rc == 0)
		rc = qstate_add(f->qs, &env, content.len);
	if (rc == 0)
		rc = fill_state(f, &env, i);
	buf_free(&content);
	for (r = 0; r < f->rcpts; r++)
		free(rcpt[r]);
	free(rcpt);
	return rc;
}

/* main - fill the queue. */
int
main(int argc, char **argv)
{
	static struct fill f;
	char	 path[PATH_MAX];
	struct stat st;
	unsigned long i;
	int	 rc;

	fill_args(&f, argc, argv);
	(void)log_open("queue_fill", "stderr");
	if ((rc = spool_key_load(f.keyfile, f.key)) != 0 ||
	    (rc = qstate_open(&f.qs, f.spool)) != 0) {
		fprintf(stderr, "queue_fill: %s\n", err_str());
		return rc;
	}
	snprintf(path, sizeof(path), "%s/queue", f.spool);
	if ((f.queuefd = open(path, O_RDONLY | O_DIRECTORY)) < 0) {
		fprintf(stderr, "queue_fill: %s: %s\n", path, strerror(errno));
		return EX_NOINPUT;
	}
	if (fstat(f.queuefd, &st) < 0) {
		fprintf(stderr, "queue_fill: %s: %s\n", path, strerror(errno));
		return EX_NOINPUT;
	}
	f.gid = st.st_gid;
	for (i = 0; i < f.n; i++)
		if ((rc = fill_one(&f, i)) != 0) {
			fprintf(stderr, "queue_fill: message %lu: %s\n", i,
			    err_str());
			return rc;
		}
	qstate_close(f.qs);
	close(f.queuefd);
	snprintf(path, sizeof(path), "%s/%s", f.spool, QSTATE_FILE);
	if (geteuid() == 0 && chown(path, st.st_uid, st.st_gid) < 0) {
		fprintf(stderr, "queue_fill: chown %s: %s\n", path,
		    strerror(errno));
		return EX_NOPERM;
	}
	printf("filled %lu messages\n", f.n);
	return 0;
}
