/*
 * relay_send.c - relay one spooled message through queue/relay.c, for
 * testsuite/t/30-relay.t.
 *
 * Usage: relay_send --spool DIR --content FILE [--from ADDR] --rcpt ADDR...
 *	      [--count N] [--connections N] [--auth USER:PASS]...
 *	      [--ca FILE] [--no-verify] [--plaintext] [--local]
 *	      [--helo NAME] [--timeout SECS] [--crlf] [--abandon MS]
 *	      URL [FALLBACK-URL...]
 *
 * It makes DIR a scratch spool (tmp/ queue/ ...), writes FILE's bytes as
 * the content of a new message with the spool writer (--crlf turns bare
 * LF into CRLF first) and a random in-memory key, commits it, opens it
 * again with spool_open (so the body really streams from a verified spool
 * file), and relays it --count times (default 1) on one relay pool of
 * --connections slots (default 1), so connection reuse can be observed.
 * Job i uses the i-th --auth pair, cycling; none means no AUTH.
 * --abandon MS frees the pool MS milliseconds after the first submit,
 * whatever is still running (relay_pool_free drops those jobs), and
 * reports how many were dropped.
 *
 * Output, per job, in completion order:
 *	job=N session=ok|failed relay=host[ip]:port elapsed=S[ text=...]
 *	job=N rcpt=<ADDR> code=250 dsn=2.0.0 text=250 2.0.0 OK ...
 *	abandoned=N		(--abandon: jobs dropped by relay_pool_free)
 * Exit status 0 when every job completed (whatever the SMTP results) or,
 * with --abandon, when the pool was freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "queue/relay.h"
#include "spool/spool.h"
#include "util/msg.h"

#define RS_MAX	64

struct rs_opts {
	const char *spool;
	const char *content;
	const char *from;
	char	*rcpt[RS_MAX];
	size_t	 nrcpt;
	char	*auth[RS_MAX];
	size_t	 nauth;
	unsigned count;
	unsigned connections;
	const char *ca;
	int	 verify;
	int	 plaintext;
	int	 local;
	const char *helo;
	long	 timeout;
	int	 crlf;
	long	 abandon_ms;		/* 0: wait for every job */
};

static unsigned rs_done;

/* rs_usage - print the usage line and exit 64. */
static void __attribute__((noreturn))
rs_usage(void)
{
	fprintf(stderr, "usage: relay_send --spool DIR --content FILE "
	    "[--from ADDR] --rcpt ADDR... [--count N] [--connections N] "
	    "[--auth USER:PASS]... [--ca FILE] [--no-verify] [--plaintext] "
	    "[--local] [--helo NAME] [--timeout S] [--crlf] [--abandon MS] "
	    "URL...\n");
	exit(64);
}

/* rs_parse - command line into opts; returns the index of the first URL. */
static int
rs_parse(int argc, char **argv, struct rs_opts *o)
{
	static const struct option lo[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "content", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ "connections", required_argument, NULL, 'C' },
		{ "auth", required_argument, NULL, 'a' },
		{ "ca", required_argument, NULL, 'A' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ "plaintext", no_argument, NULL, 'P' },
		{ "local", no_argument, NULL, 'L' },
		{ "helo", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 't' },
		{ "crlf", no_argument, NULL, 'X' },
		{ "abandon", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 }
	};
	int	 c;

	memset(o, 0, sizeof(*o));
	o->from = "";
	o->count = o->connections = 1;
	o->verify = 1;
	o->helo = "relay-send.test";
	o->timeout = 30;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->spool = optarg; break;
		case 'c': o->content = optarg; break;
		case 'f': o->from = optarg; break;
		case 'r':
			if (o->nrcpt == RS_MAX)
				rs_usage();
			o->rcpt[o->nrcpt++] = optarg;
			break;
		case 'n': o->count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'C':
			o->connections = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'a':
			if (o->nauth == RS_MAX)
				rs_usage();
			o->auth[o->nauth++] = optarg;
			break;
		case 'A': o->ca = optarg; break;
		case 'V': o->verify = 0; break;
		case 'P': o->plaintext = 1; break;
		case 'L': o->local = 1; break;
		case 'H': o->helo = optarg; break;
		case 't': o->timeout = strtol(optarg, NULL, 10); break;
		case 'X': o->crlf = 1; break;
		case 'B': o->abandon_ms = strtol(optarg, NULL, 10); break;
		default: rs_usage();
		}
	}
	if (!o->spool || !o->content || o->nrcpt == 0 || optind >= argc ||
	    o->count == 0)
		rs_usage();
	return optind;
}

/* rs_copy - stream FILE into the writer, optionally LF -> CRLF. */
static int
rs_copy(struct spool_writer *w, const char *path, int crlf)
{
	char	 in[65536], out[2 * sizeof(in)];
	size_t	 i, n;
	ssize_t	 r;
	int	 fd, status = 0, prev_cr = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(EX_NOINPUT, "%s: %s", path, strerror(errno));
	while ((r = read(fd, in, sizeof(in))) > 0 && status == 0) {
		for (i = n = 0; i < (size_t)r; i++) {
			if (crlf && in[i] == '\n' && !prev_cr)
				out[n++] = '\r';
			out[n++] = in[i];
			prev_cr = in[i] == '\r';
		}
		status = spool_write(w, out, n);
	}
	if (r < 0 && status == 0)
		status = err_set(EX_IOERR, "%s: %s", path, strerror(errno));
	close(fd);
	return status;
}

/* rs_spool - write and commit the message; returns its queue ID. */
static int
rs_spool(const struct rs_opts *o, const unsigned char *key, char *qid)
{
	struct spool_writer *w;
	struct envelope env;
	int	 status;

	if ((status = spool_dirs_create(o->spool, geteuid(), getegid())) != 0 ||
	    (status = spool_create(&w, o->spool, key)) != 0)
		return status;
	snprintf(qid, SPOOL_QIDLEN + 1, "%s", spool_writer_qid(w));
	if ((status = rs_copy(w, o->content, o->crlf)) != 0) {
		spool_abort(w);
		return status;
	}
	memset(&env, 0, sizeof(env));
	env.version = SPOOL_VERSION;
	env.site = "relaytest";
	env.uid = geteuid();
	env.login = "relaytest";
	env.sender = (char *)o->from;
	env.time = time(NULL);
	env.cwd = env.exe = env.script = "";
	env.rcpt = (char **)o->rcpt;
	env.nrcpt = o->nrcpt;
	return spool_commit(w, &env);
}

/* rs_done_cb - print one job's results. */
static void
rs_done_cb(struct relay_job *job)
{
	size_t	 i;

	printf("job=%lu session=%s relay=%s elapsed=%.3f%s%s\n",
	    (unsigned long)(size_t)job->ctx, job->session_failed ? "failed" :
	    "ok", job->relay_name, job->elapsed,
	    job->session_failed ? " text=" : "",
	    job->session_failed ? job->session_text : "");
	for (i = 0; i < job->nrcpt; i++)
		printf("job=%lu rcpt=<%s> code=%d dsn=%s text=%s\n",
		    (unsigned long)(size_t)job->ctx, job->rcpt[i],
		    job->result[i].code, job->result[i].dsn,
		    job->result[i].text);
	fflush(stdout);
	rs_done++;
}

/* rs_auth - split "user:pass" of the i-th --auth into job->auth. */
static void
rs_auth(const struct rs_opts *o, unsigned i, struct relay_job *job)
{
	char	*p;

	p = o->auth[i];
	job->auth.username = p;
	if ((p = strchr(p, ':')) != NULL) {
		*p = '\0';			/* split in place */
		job->auth.password = p + 1;
	} else
		job->auth.password = "";
}

/* rs_ms_since - milliseconds since t0 (CLOCK_MONOTONIC). */
static long
rs_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 +
	    (long)(now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* rs_run - relay msg count times on one pool. */
static int
rs_run(const struct rs_opts *o, struct spool_msg *msg,
    const struct relay_route *route)
{
	struct relay_pool *pool;
	struct relay_job *jobs;
	struct timespec t0;
	unsigned i, next = 0;
	int	 status;
	long	 left;

	if ((jobs = calloc(o->count, sizeof(*jobs))) == NULL)
		return err_set(EX_OSERR, "out of memory");
	for (i = 0; i < o->count; i++) {
		if (i < o->nauth)
			rs_auth(o, i, &jobs[i]);
		else if (o->nauth)
			jobs[i].auth = jobs[i % o->nauth].auth;
	}
	if ((status = relay_pool_new(&pool, o->connections)) != 0) {
		free(jobs);
		return status;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (rs_done < o->count) {
		while (next < o->count && relay_pool_idle(pool) > 0) {
			struct relay_job *job = &jobs[next];

			job->msg = msg;
			job->sender = o->from;
			job->rcpt = (char **)o->rcpt;
			job->nrcpt = o->nrcpt;
			job->route = route;
			job->done = rs_done_cb;
			job->ctx = (void *)(size_t)(next + 1);
			if ((status = relay_pool_submit(pool, job)) != 0)
				goto out;
			next++;
		}
		left = o->abandon_ms ? o->abandon_ms - rs_ms_since(&t0) : 1000;
		if (left <= 0)
			break;
		relay_pool_perform(pool, left < 1000 ? (int)left : 1000);
	}
	if (o->abandon_ms)
		printf("abandoned=%u\n", next - rs_done);
out:
	relay_pool_free(pool);
	free(jobs);
	return status;
}

/* main - spool the message, open it, relay it. */
int
main(int argc, char **argv)
{
	unsigned char key[SPOOL_KEYLEN];
	char	 qid[SPOOL_QIDLEN + 1], qdir[4096];
	struct relay_route route;
	struct spool_msg msg;
	struct rs_opts o;
	int	 first, dirfd, status;

	first = rs_parse(argc, argv, &o);
	log_open("relay_send", "stderr");
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		msg_fatal(EX_OSERR, "getrandom: %s", strerror(errno));
	if ((status = rs_spool(&o, key, qid)) != 0)
		msg_fatal(status, "spool: %s", err_str());
	snprintf(qdir, sizeof(qdir), "%s/queue", o.spool);
	if ((dirfd = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		msg_fatal(EX_IOERR, "%s: %s", qdir, strerror(errno));
	if ((status = spool_open(&msg, dirfd, qid, key)) != 0)
		msg_fatal(status, "spool_open %s: %s", qid, err_str());
	memset(&route, 0, sizeof(route));
	route.urls = (const char *const *)(argv + first);
	route.nurls = (size_t)(argc - first);
	route.require_tls = !o.local;
	route.tls_verify = o.verify;
	route.ca_file = o.ca;
	route.allow_plaintext = o.plaintext;
	route.helo = o.helo;
	route.timeout = o.timeout;
	if ((status = relay_global_init()) != 0 ||
	    (status = rs_run(&o, &msg, &route)) != 0)
		msg_fatal(status, "relay: %s", err_str());
	printf("qid=%s size=%llu jobs=%u\n", qid,
	    (unsigned long long)msg.content_len, rs_done);
	spool_close(&msg);
	close(dirfd);
	return 0;
}
