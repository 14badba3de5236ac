/*
 * test_admin.c - queue/admin*.c pieces that need no spool: queue IDs from
 * people and pipes, the terminal and JSON encoders, the record's JSON
 * form, the per-site hourly counters, and a listing over a scratch
 * queue.tdb (scope, selectors, order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/admin.h"
#include "queue/admin_int.h"
#include "queue/bucket.h"
#include "queue/qstate.h"
#include "testsuite/unit/tap.h"
#include "util/buf.h"
#include "util/msg.h"

#define QA	"0123456789abcdef0123"

/* parse - admin_qid_parse as a string ("" when refused). */
static const char *
parse(const char *in)
{
	static char out[SPOOL_QIDLEN + 1];

	if (admin_qid_parse(in, out) != 0)
		return "";
	return out;
}

/* test_qid - every accepted spelling, and refusals. */
static void
test_qid(void)
{
	is_str(parse(QA), QA, "plain ID");
	is_str(parse("  " QA "\n"), QA, "white space around");
	is_str(parse("0123456789ABCDEF0123"), QA, "upper case");
	is_str(parse(QA "*"), QA, "mailq held mark");
	is_str(parse(QA "!     1234 Tue Jan  9 10:01:02  a@b"), QA,
	    "a whole mailq line");
	is_str(parse("{\"queue_id\":\"" QA "\",\"site\":\"x\"}"), QA,
	    "a JSON line");
	is_str(parse("{\"site\":\"x\", \"queue_id\" : \"" QA "\"}"), QA,
	    "JSON with spaces, not first");
	is_str(parse("queue_id:  " QA), QA, "show's queue_id line");
	is_str(parse("../queue/" QA), "", "a path is refused");
	is_str(parse(QA "0"), "", "too long");
	is_str(parse("0123456789abcdef012"), "", "too short");
	is_str(parse("0123456789abcdef012g"), "", "not hex");
	is_str(parse("{\"queue_id\":1}"), "", "JSON without a string");
	is_str(parse(""), "", "empty");
}

/* test_ids_read - admin_ids_read over a mailq listing and JSON lines. */
static void
test_ids_read(void)
{
	const char *in = "-Queue ID-----------  --Size-- ----Arrival Time---\n"
	    QA "*    12 Tue Jan  9 10:01:02  a@b  site=x\n"
	    "(held by the rate limit)\n"
	    "                                   r@example.net\n\n"
	    "{\"queue_id\":\"00000000000000000001\"}\n"
	    "# a comment\n"
	    "-- 1 Kbytes in 2 Requests.\n";
	char	**ids = NULL;
	size_t	 n = 0;
	FILE	*fp = fmemopen((void *)(uintptr_t)in, strlen(in), "r");

	is_int(admin_ids_read(fp, &ids, &n), 0, "ids_read: ok");
	is_int(n, 2, "ids_read: two IDs");
	if (n == 2) {
		is_str(ids[0], QA, "ids_read: from the mailq line");
		is_str(ids[1], "00000000000000000001", "ids_read: from JSON");
	}
	admin_ids_free(ids, n);
	fclose(fp);
	fp = fmemopen((void *)(uintptr_t)"nonsense\n", 9, "r");
	is_int(admin_ids_read(fp, &ids, &n), EX_DATAERR,
	    "ids_read: a line that is no ID is an error");
	fclose(fp);
}

/* text - admin_put_text as a string. */
static const char *
text(const char *in)
{
	static char out[256];
	struct buf b;

	buf_init(&b, 255);
	(void)admin_put_text(&b, in);
	snprintf(out, sizeof(out), "%s", buf_str(&b));
	buf_free(&b);
	return out;
}

/* json - admin_put_json as a string. */
static const char *
json(const char *in)
{
	static char out[256];
	struct buf b;

	buf_init(&b, 255);
	(void)admin_put_json(&b, in);
	snprintf(out, sizeof(out), "%s", buf_str(&b));
	buf_free(&b);
	return out;
}

/* test_encoders - nothing reaches a terminal or a JSON parser raw. */
static void
test_encoders(void)
{
	is_str(text("plain a@b.c"), "plain a@b.c", "text: ASCII kept");
	is_str(text("esc\033[31mred"), "esc?[31mred", "text: ESC replaced");
	is_str(text("tab\tcr\rdel\x7f"), "tab?cr?del?", "text: C0 and DEL");
	is_str(text("caf\xc3\xa9"), "caf\xc3\xa9", "text: UTF-8 kept");
	is_str(text("csi\xc2\x9bx"), "csi?x", "text: UTF-8 C1 replaced");
	is_str(text("bad\x9b\xffx"), "bad??x", "text: invalid bytes");
	is_str(text("\xed\xa0\x80"), "???", "text: surrogates refused");
	is_str(json("a\"b\\c"), "\"a\\\"b\\\\c\"", "json: quotes, backslash");
	is_str(json("l1\nl2\t\x01"), "\"l1\\nl2\\t\\u0001\"",
	    "json: controls escaped");
	is_str(json("caf\xc3\xa9"), "\"caf\xc3\xa9\"", "json: UTF-8 kept");
	is_str(json("x\xff"), "\"x\\u00ff\"", "json: invalid byte as Latin-1");
	is_str(json(NULL), "\"\"", "json: NULL is empty");
}

/* mkrec - a record with two recipients. */
static void
mkrec(struct qrec *r, const char *qid, const char *site, uid_t uid,
    const char *sender)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->qid, sizeof(r->qid), "%s", qid);
	r->site = strdup(site);
	r->sender = strdup(sender);
	r->uid = uid;
	r->arrival = 1700000000;
	r->size = 1234;
	r->nr = 2;
	r->r = calloc(2, sizeof(*r->r));
	r->r[0].addr = strdup("one@example.net");
	r->r[0].status = QR_DEFERRED;
	r->r[0].attempts = 2;
	r->r[0].next_try = 1700000600;
	r->r[0].dsn = strdup("4.7.1");
	r->r[0].reason = strdup("451 4.7.1 \"later\"");
	r->r[1].addr = strdup("two@example.org");
	r->r[1].status = QR_SENT;
	r->r[1].dsn = strdup("2.0.0");
	r->r[1].reason = strdup("");
}

/* test_rec_json - the listing's JSON object. */
static void
test_rec_json(void)
{
	struct qrec r;
	struct buf b;

	mkrec(&r, QA, "alice.test", 1003, "www@alice.test");
	r.hold = 1700003600;
	buf_init(&b, 4096);
	ok(admin_rec_json(&b, &r, 0, 1700000100) == 0, "rec_json: ok");
	is_str(buf_str(&b), "{\"queue_id\":\"" QA "\",\"arrival_time\":"
	    "1700000000,\"message_size\":1234,\"site\":\"alice.test\",\"uid\":"
	    "1003,\"sender\":\"www@alice.test\",\"recipients\":[{\"address\":"
	    "\"one@example.net\",\"status\":\"deferred\",\"reason\":\"451 "
	    "4.7.1 \\\"later\\\"\",\"dsn\":\"4.7.1\",\"attempts\":2,"
	    "\"next_try\":1700000600},{\"address\":\"two@example.org\","
	    "\"status\":\"sent\",\"reason\":\"\",\"dsn\":\"2.0.0\",\"attempts\""
	    ":0,\"next_try\":0}],\"frozen\":false,\"site_frozen\":false,"
	    "\"held_until\":1700003600,\"state\":\"held\"}", "rec_json: fields");
	buf_reset(&b);
	(void)admin_rec_json(&b, &r, BUCKET_FROZEN, 1700009999);
	ok(strstr(buf_str(&b), "\"frozen\":true,\"site_frozen\":true,"
	    "\"held_until\":0,\"state\":\"frozen\"") != NULL,
	    "rec_json: site frozen, hold over");
	buf_free(&b);
	qrec_free(&r);
}

/* test_stats - the hourly counters roll over by the minute. */
static void
test_stats(const char *dir)
{
	struct admin_stats *st;
	uint64_t h[ADMIN_STAT_N];
	time_t	 t0 = 1700000000;

	is_int(admin_stats_open(&st, dir, 1), EX_NOINPUT,
	    "stats: read-only open of a missing file");
	is_int(admin_stats_open(&st, dir, 0), 0, "stats: create");
	ok(admin_stats_count(st, "a.test", ADMIN_STAT_SENT, 3, t0) == 0 &&
	    admin_stats_count(st, "a.test", ADMIN_STAT_SENT, 1, t0 + 30) == 0 &&
	    admin_stats_count(st, "a.test", ADMIN_STAT_DEFERRED, 2,
	    t0 + 600) == 0 &&
	    admin_stats_count(st, "b.test", ADMIN_STAT_BOUNCED, 1, t0) == 0,
	    "stats: counted");
	(void)admin_stats_hour(st, "a.test", t0 + 600, h);
	ok(h[0] == 4 && h[1] == 2 && h[2] == 0, "stats: within the hour");
	(void)admin_stats_hour(st, "a.test", t0 + 3700, h);
	ok(h[0] == 0 && h[1] == 2, "stats: an hour later the first minute "
	    "is gone");
	(void)admin_stats_count(st, "a.test", ADMIN_STAT_SENT, 5, t0 + 3600);
	(void)admin_stats_hour(st, "a.test", t0 + 3600, h);
	ok(h[0] == 5, "stats: a reused slot starts from zero");
	(void)admin_stats_hour(st, "c.test", t0, h);
	ok(h[0] == 0 && h[1] == 0 && h[2] == 0, "stats: unknown site: zero");
	is_int(admin_stats_count(st, "a.test", ADMIN_STAT_N, 1, t0),
	    EX_SOFTWARE, "stats: bad counter refused");
	admin_stats_close(st);
}

/* One listing over a scratch spool. */
static const char *
listing(struct conf *conf, const struct site_id *who, int all,
    const struct admin_filter *f, int as_json)
{
	static char out[8192];
	struct admin a;
	FILE	*fp = fmemopen(out, sizeof(out) - 1, "w");
	int	 rc;

	memset(out, 0, sizeof(out));
	admin_init(&a, conf, who, who->uid, all);
	rc = admin_list(&a, f, as_json, fp);
	admin_close(&a);
	fclose(fp);
	return rc ? "error" : out;
}

/* test_list - scope, selectors and order over a scratch queue.tdb. */
static void
test_list(const char *dir)
{
	struct conf conf;
	struct site_id alice, sys, other;
	struct admin_filter f;
	struct qstate *qs;
	struct qrec r;
	const char *out;

	memset(&conf, 0, sizeof(conf));
	conf.spool_dir = (char *)(uintptr_t)dir;
	memset(&alice, 0, sizeof(alice));
	snprintf(alice.name, sizeof(alice.name), "alice.test");
	alice.uid = 1003;
	memset(&sys, 0, sizeof(sys));
	snprintf(sys.name, sizeof(sys.name), SITE_SYSTEM);
	sys.uid = 33;
	other = alice;
	snprintf(other.name, sizeof(other.name), "carol.test");
	if (qstate_open(&qs, dir) != 0) {
		ok(0, "qstate_open");
		return;
	}
	mkrec(&r, "00000000000000000003", "alice.test", 1003, "a@alice.test");
	(void)qstate_put(qs, &r);
	qrec_free(&r);
	mkrec(&r, "00000000000000000001", "bob.test", 1004, "b@bob.test");
	(void)qstate_put(qs, &r);
	qrec_free(&r);
	mkrec(&r, "00000000000000000002", SITE_SYSTEM, 0, "root@host");
	(void)qstate_put(qs, &r);
	qrec_free(&r);
	mkrec(&r, "00000000000000000004", SITE_SYSTEM, 33, "www@host");
	r.r[0].status = QR_BOUNCED;		/* all final: not listed */
	(void)qstate_put(qs, &r);
	qrec_free(&r);
	mkrec(&r, "00000000000000000005", SITE_SYSTEM, 33, "www@host");
	(void)qstate_put(qs, &r);
	qrec_free(&r);
	qstate_close(qs);

	out = listing(&conf, &alice, 1, NULL, 1);
	ok(strstr(out, "01\"") < strstr(out, "02\"") &&
	    strstr(out, "02\"") < strstr(out, "03\"") &&
	    strstr(out, "03\"") < strstr(out, "05\"") &&
	    strstr(out, "04\"") == NULL, "list: all, in ID order, final "
	    "messages left out");
	out = listing(&conf, &alice, 0, NULL, 1);
	ok(strstr(out, "03\"") != NULL && strstr(out, "bob.test") == NULL &&
	    strstr(out, SITE_SYSTEM) == NULL, "list: a site user sees their "
	    "site only");
	out = listing(&conf, &sys, 0, NULL, 1);
	ok(strstr(out, "05\"") != NULL && strstr(out, "02\"") == NULL,
	    "list: in site system a user sees only their own uid's mail");
	out = listing(&conf, &other, 0, NULL, 0);
	is_str(out, "Mail queue is empty\n", "list: nothing of one's own");
	memset(&f, 0, sizeof(f));
	f.site = "bob.test";
	is_str(listing(&conf, &alice, 0, &f, 1), "error",
	    "list: another site is refused to a site user");
	f.site = NULL;
	f.sender_re = "^B@";
	out = listing(&conf, &alice, 1, &f, 1);
	ok(strstr(out, "01\"") != NULL && strstr(out, "03\"") == NULL,
	    "list: --sender is case-insensitive");
	f.sender_re = NULL;
	f.rcpt_re = "two@";
	out = listing(&conf, &alice, 1, &f, 1);
	is_str(out, "", "list: --rcpt only matches recipients still queued");
	f.rcpt_re = NULL;
	f.site = "alice.test";
	out = listing(&conf, &alice, 1, &f, 0);
	ok(strstr(out, "00000000000000000003  ") != NULL &&
	    strstr(out, "\n(451 4.7.1 \"later\")\n") != NULL &&
	    strstr(out, "two@example.org") == NULL &&
	    strstr(out, "-- 2 Kbytes in 1 Request.\n") != NULL,
	    "list: text form of one site (raw traverse)");
}

/* main - run the groups in a scratch directory. */
int
main(void)
{
	char	 dir[] = "/tmp/test_admin.XXXXXX", state[64];

	(void)log_open("test_admin", "stderr");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(state, sizeof(state), "%s/state", dir);
	(void)mkdir(state, 0700);
	test_qid();
	test_ids_read();
	test_encoders();
	test_rec_json();
	test_stats(dir);
	test_list(dir);
	snprintf(state, sizeof(state), "rm -rf %s", dir);
	if (system(state) != 0)
		diag("could not remove %s", dir);
	return tap_done();
}
