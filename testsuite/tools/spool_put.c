/*
 * spool_put.c - write spool messages directly with the spool writer, for
 * the runner tests and the flush benchmark (testsuite/t/40-runner.t,
 * testsuite/bench/flush).
 *
 * Usage: spool_put --spool DIR (--key FILE | --random-key)
 *	      [--content FILE | --size BYTES] [--from ADDR] [--site NAME]
 *	      [--uid N] [--login NAME] [--time SECS] [--count N] [--index]
 *	      --rcpt ADDR...
 *
 * Each message gets the content of FILE (bare LF turned into CRLF), or a
 * generated message of about BYTES bytes, an envelope from the options
 * (defaults: the caller's uid, site "system", sender "", time now) and is
 * committed into DIR/queue/.  --random-key signs with a fresh random key
 * (a "foreign key" file the runner must quarantine).  --index also adds
 * the queue state record, as intake does.  Prints one queue ID per line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "queue/qstate.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/msg.h"

#define SP_RCPT_MAX	256

struct sp_opts {
	const char *spool, *keyfile, *content, *from, *site, *login;
	char	*rcpt[SP_RCPT_MAX];
	size_t	 nrcpt;
	size_t	 size;
	long	 time;
	unsigned long count;
	long	 uid;
	int	 randkey, index;
};

/* sp_usage - print the usage line and exit 64. */
static void __attribute__((noreturn))
sp_usage(void)
{
	fprintf(stderr, "usage: spool_put --spool DIR (--key FILE | "
	    "--random-key) [--content FILE | --size BYTES] [--from ADDR] "
	    "[--site NAME] [--uid N] [--login NAME] [--time SECS] "
	    "[--count N] [--index] --rcpt ADDR...\n");
	exit(64);
}

/* sp_parse - the command line. */
static void
sp_parse(int argc, char **argv, struct sp_opts *o)
{
	static const struct option lo[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "random-key", no_argument, NULL, 'K' },
		{ "content", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 'z' },
		{ "from", required_argument, NULL, 'f' },
		{ "site", required_argument, NULL, 'S' },
		{ "uid", required_argument, NULL, 'u' },
		{ "login", required_argument, NULL, 'l' },
		{ "time", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "index", no_argument, NULL, 'i' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	int	 c;

	memset(o, 0, sizeof(*o));
	o->from = "";
	o->site = "system";
	o->login = "spool_put";
	o->count = 1;
	o->uid = (long)getuid();
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->spool = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'K': o->randkey = 1; break;
		case 'c': o->content = optarg; break;
		case 'z': o->size = strtoul(optarg, NULL, 10); break;
		case 'f': o->from = optarg; break;
		case 'S': o->site = optarg; break;
		case 'u': o->uid = strtol(optarg, NULL, 10); break;
		case 'l': o->login = optarg; break;
		case 't': o->time = strtol(optarg, NULL, 10); break;
		case 'n': o->count = strtoul(optarg, NULL, 10); break;
		case 'i': o->index = 1; break;
		case 'r':
			if (o->nrcpt == SP_RCPT_MAX)
				sp_usage();
			o->rcpt[o->nrcpt++] = optarg;
			break;
		default:
			sp_usage();
		}
	}
	if (o->spool == NULL || o->nrcpt == 0 ||
	    (o->keyfile == NULL && !o->randkey))
		sp_usage();
}

/* sp_content - the message text (CRLF line ends). */
static int
sp_content(const struct sp_opts *o, struct buf *b)
{
	char	 line[80];
	FILE	*fp;
	int	 ch, prev = 0;

	if (o->content == NULL) {
		buf_printf(b, "From: <%s>\r\nTo: <%s>\r\nSubject: spool_put "
		    "test\r\nMessage-ID: <spool_put.%ld@test>\r\n\r\n",
		    *o->from ? o->from : "nobody@test", o->rcpt[0],
		    (long)getpid());
		memset(line, 'x', sizeof(line));
		memcpy(line + 76, "\r\n", 2);
		while (b->len + 78 <= (o->size > 200 ? o->size : 200))
			if (buf_add(b, line, 78) < 0)
				return -1;
		return 0;
	}
	if ((fp = fopen(o->content, "rb")) == NULL)
		return -1;
	while ((ch = getc(fp)) != EOF) {
		if (ch == '\n' && prev != '\r')
			buf_addch(b, '\r');
		if (buf_addch(b, ch) < 0) {
			fclose(fp);
			return -1;
		}
		prev = ch;
	}
	fclose(fp);
	return 0;
}

/* sp_put_one - write and commit one message; prints its queue ID. */
static int
sp_put_one(const struct sp_opts *o, const unsigned char *key,
    const struct buf *content, struct qstate *qs)
{
	struct spool_writer *w;
	struct envelope env;
	struct timeval tv;
	int	 rc;

	gettimeofday(&tv, NULL);
	memset(&env, 0, sizeof(env));
	env.version = SPOOL_VERSION;
	env.site = (char *)o->site;
	env.uid = (uid_t)o->uid;
	env.login = (char *)o->login;
	env.sender = (char *)o->from;
	env.time = o->time ? o->time : tv.tv_sec;
	env.time_usec = tv.tv_usec;
	env.cwd = env.exe = env.script = "";
	env.rcpt = (char **)o->rcpt;
	env.nrcpt = o->nrcpt;
	if ((rc = spool_create(&w, o->spool, key)) != 0)
		return rc;
	if ((rc = spool_write(w, content->ptr, content->len)) != 0) {
		spool_abort(w);
		return rc;
	}
	if ((rc = spool_commit(w, &env)) != 0)
		return rc;
	if (qs != NULL && (rc = qstate_add(qs, &env, content->len)) != 0)
		return rc;
	printf("%s\n", env.qid);
	return 0;
}

/* main - parse, then write the messages. */
int
main(int argc, char **argv)
{
	unsigned char key[SPOOL_KEYLEN];
	struct sp_opts o;
	struct qstate *qs = NULL;
	struct buf content;
	unsigned long i;
	int	 rc;

	sp_parse(argc, argv, &o);
	log_open("spool_put", "stderr");
	if (o.randkey) {
		if (sodium_init() < 0)
			return 70;
		randombytes_buf(key, sizeof(key));
	} else if ((rc = spool_key_load(o.keyfile, key)) != 0) {
		fprintf(stderr, "spool_put: %s\n", err_str());
		return rc;
	}
	buf_init(&content, (size_t)1 << 31);
	if (sp_content(&o, &content) < 0) {
		fprintf(stderr, "spool_put: cannot read the content: %s\n",
		    strerror(errno));
		return 66;
	}
	if (o.index && (rc = qstate_open(&qs, o.spool)) != 0) {
		fprintf(stderr, "spool_put: %s\n", err_str());
		return rc;
	}
	for (i = 0; i < o.count; i++)
		if ((rc = sp_put_one(&o, key, &content, qs)) != 0) {
			fprintf(stderr, "spool_put: %s\n", err_str());
			return rc;
		}
	qstate_close(qs);
	buf_free(&content);
	return 0;
}
