/*
 * test_verdict.c - unit tests for the sitemaild socket's request words
 * (queue/verdict.c) and for the charge book behind it (queue/charge.c):
 * every recipient accepted is charged exactly once, a charge whose message
 * never arrives is refunded, a booked charge is never charged again at
 * pickup, and a message intake had no verdict for is charged late.
 * Works on a real bucket tdb in a private mkdtemp() directory.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/bucket.h"
#include "queue/charge.h"
#include "queue/site.h"
#include "queue/verdict.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/msg.h"
#include "tap.h"

/* test_words - escaping, unescaping and picking words out of a line. */
static void
test_words(void)
{
	struct buf b;
	char	 out[64], bad[] = "a%0", nul[] = "a%00b", ok1[] = "a%41%3d";

	buf_init(&b, 1024);
	ok(buf_addstr(&b, "list") == 0 &&
	    verdict_escape(&b, "sender", "a b=c%\r\n") == 0 &&
	    verdict_escape(&b, "rcpt", "x@y") == 0, "escape");
	is_str(buf_str(&b), "list sender=a%20b%3Dc%25%0D%0A rcpt=x@y",
	    "spaces, '=', '%' and control bytes are escaped");
	is_str(verdict_word(buf_str(&b), "sender", out, sizeof(out)),
	    "a b=c%\r\n", "and come back");
	is_str(verdict_word(buf_str(&b), "rcpt", out, sizeof(out)), "x@y",
	    "second word");
	ok(verdict_word(buf_str(&b), "send", out, sizeof(out)) == NULL,
	    "a key prefix is not the key");
	ok(verdict_word(buf_str(&b), "list", out, sizeof(out)) == NULL,
	    "the verb is not a word");
	ok(verdict_word(buf_str(&b), "sender", out, 4) == NULL,
	    "a value longer than the buffer is refused");
	is_int(verdict_unescape(bad), -1, "truncated escape refused");
	is_int(verdict_unescape(nul), -1, "an escaped NUL is refused");
	is_int(verdict_unescape(ok1), 0, "hex escapes decode");
	is_str(ok1, "aA=", "to their bytes");
	is_str(verdict_name(BUCKET_FROZEN_HOLD), "frozen-hold", "verdict names");
	buf_free(&b);
}

/* tokens - the site's refilled balance now. */
static double
tokens(struct bucket_db *db, const struct conf *c, const char *site)
{
	struct bucket_rec rec;

	if (bucket_get(db, site, &c->limits, (double)time(NULL), &rec) != 0)
		return -1e9;
	return rec.tokens;
}

/* test_book - charge, settle, refund, expire and late charges. */
static void
test_book(const char *dir)
{
	char	 path[512], q1[SPOOL_QIDLEN + 1], q2[SPOOL_QIDLEN + 1],
		 q3[SPOOL_QIDLEN + 1], q4[SPOOL_QIDLEN + 1];
	struct charge_book *b;
	struct charge_ctx cx;
	struct charge_msg m;
	struct site_id site;
	struct verdict_ans ans;
	struct bucket_db *db;
	struct conf c;
	double	 now = (double)time(NULL);
	time_t	 hold;
	int	 unch, tmpfd, qfd;

	is_int(conf_load(&c, "/nonexistent/dir"), 0, "default config");
	c.limits.rate = 1.0 / 86400;
	c.limits.burst = 5;
	c.limits.backlog = 100;
	snprintf(path, sizeof(path), "%s/bucket.tdb", dir);
	is_int(bucket_open_path(&db, path), 0, "bucket database");
	is_int(charge_book_new(&b), 0, "an empty book");
	cx.conf = &c;
	cx.bdb = db;
	cx.key = NULL;
	is_int(site_identify(&c, 424242, &site), 0, "a site for uid 424242");
	spool_qid_new(q1);
	spool_qid_new(q2);
	spool_qid_new(q3);
	spool_qid_new(q4);
	is_int(charge_intake(b, &cx, &site, q1, 3, now, "/srv/a\nb", "?",
	    &ans), 0, "charge 3 recipients");
	is_int(ans.verdict, BUCKET_SEND, "burst 5: sent at once");
	is_str(ans.site, "uid424242", "the site is the uid's");
	is_int(charge_intake(b, &cx, &site, q1, 3, now, "?", "?", &ans),
	    EX_DATAERR, "the same queue ID is never charged twice");
	is_int(charge_intake(b, &cx, &site, q2, 3, now, "?", "?", &ans), 0,
	    "charge 3 more");
	is_int(ans.verdict, BUCKET_HOLD, "past the burst: held");
	ok(tokens(db, &c, "uid424242") < -0.99 &&
	    tokens(db, &c, "uid424242") > -1.01, "balance 5 - 6 = -1");
	is_str(charge_site(b, q1) ? charge_site(b, q1) : "(null)",
	    "uid424242", "the runner learns a new file's site from its charge");
	ok(charge_site(b, q4) == NULL, "no site for a queue ID never charged");
	is_int(charge_settle(b, q1), 1, "pickup finds the booked charge");
	is_int(charge_settle(b, q1), 0, "only once");
	is_int(charge_refund(b, &cx, q2, now), 0, "refund an uncommitted one");
	ok(tokens(db, &c, "uid424242") > 1.99 &&
	    tokens(db, &c, "uid424242") < 2.01, "its tokens are back");
	is_int(charge_refund(b, &cx, q2, now), EX_NOINPUT, "refund once only");
	is_int(charge_intake(b, &cx, &site, q3, 2, now, "?", "?", &ans), 0,
	    "charge 2");
	snprintf(path, sizeof(path), "%s/tmp", dir);
	mkdir(path, 0700);
	tmpfd = open(path, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof(path), "%s/queue", dir);
	mkdir(path, 0700);
	qfd = open(path, O_RDONLY | O_DIRECTORY);
	charge_expire(b, &cx, tmpfd, qfd, time(NULL), 3600);
	ok(tokens(db, &c, "uid424242") < 0.01, "young charge kept");
	snprintf(path, sizeof(path), "%s/tmp/%s", dir, q3);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	charge_expire(b, &cx, tmpfd, qfd, time(NULL) + 7200, 3600);
	ok(tokens(db, &c, "uid424242") < 0.01,
	    "kept while its writer's temp file is there");
	unlink(path);
	charge_expire(b, &cx, tmpfd, qfd, time(NULL) + 7200, 3600);
	ok(tokens(db, &c, "uid424242") > 1.99,
	    "refunded once neither temp nor queue file exists");
	is_int(charge_settle(b, q3), 0, "and forgotten");
	m.qid = q4;
	m.site = "uid424242";
	m.uid = 424242;
	m.nrcpt = 4;
	m.cwd = m.exe = "?";
	is_int(charge_late(&cx, &m, now, &hold, &unch), 0,
	    "a message without a verdict is charged at pickup");
	ok(hold > 0 && !unch, "past its tokens: held");
	close(tmpfd);
	close(qfd);
	charge_book_free(b);
	bucket_close(db);
	conf_free(&c);
}

/* main - run the groups in a private directory. */
int
main(void)
{
	char	 dir[] = "/tmp/test_verdict.XXXXXX", cmd[600];

	log_open("test_verdict", "stderr");
	test_words();
	if (mkdtemp(dir) == NULL)
		return 1;
	test_book(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return tap_done();
}
