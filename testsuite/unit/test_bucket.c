/*
 * test_bucket.c - unit tests of queue/bucket.c: the token arithmetic with
 * exact hold times, refill cap, auto-freeze, manual freeze, thaw and
 * release, refunds, bad records, the site walk, and concurrent charging
 * from 8 processes racing to create the database.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tdb.h>

#include "queue/bucket.h"
#include "testsuite/unit/tap.h"
#include "util/msg.h"

static char dir[64];
static char path[128];

/* lim - limits with the given rate (per second), burst and backlog. */
static struct conf_limits
lim(double rate, double burst, double backlog)
{
	struct conf_limits l = { .rate = rate, .burst = burst,
	    .backlog = backlog, .from_policy = FROM_REWRITE };

	conf_rates_set1(&l.rates, rate, 1);
	return l;
}

/* lim_list - limits with a rate list ("5/m, 20/h"), burst and backlog. */
static struct conf_limits
lim_list(const char *rates, double burst, double backlog)
{
	struct conf_limits l = lim(0, burst, backlog);

	if (conf_parse_rates(rates, &l.rates) != 0)
		abort();
	l.rate = l.rates.count[0] / l.rates.period[0];
	return l;
}

/* near - a == b within a millionth. */
static int
near(double a, double b)
{
	return fabs(a - b) < 1e-6;
}

/* test_open - creation, file mode, and a missing directory. */
static struct bucket_db *
test_open(void)
{
	struct bucket_db *db;
	struct stat st;
	mode_t	 old;
	char	 state[96];

	ok(bucket_open(&db, "/nonexistent/spool") == EX_TEMPFAIL,
	    "open in a missing spool fails with EX_TEMPFAIL");
	ok(db == NULL && strstr(err_str(), "bucket.tdb") != NULL,
	    "the error names the file");
	snprintf(state, sizeof(state), "%s/state", dir);
	mkdir(state, 0770);
	old = umask(077);
	is_int(bucket_open(&db, dir), 0, "open creates state/bucket.tdb");
	umask(old);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0660,
	    "mode 0660 despite umask 077");
	return db;
}

/* test_arith - SEND/HOLD with exact hold times, then the auto-freeze. */
static void
test_arith(struct bucket_db *db)
{
	struct conf_limits l = lim(1, 10, 5);
	struct bucket_result r;
	struct bucket_rec rec;

	is_int(bucket_get(db, "a", &l, 1000, &rec), 0, "get of a new site");
	ok(rec.tokens == 10 && rec.flags == 0, "a new site has burst tokens");
	bucket_charge(db, "a", &l, 4, 1000, &r);
	ok(r.verdict == BUCKET_SEND && r.tokens == 6, "4 of 10: SEND, 6 left");
	bucket_charge(db, "a", &l, 6, 1000, &r);
	ok(r.verdict == BUCKET_SEND && r.tokens == 0, "6 of 6: SEND, 0 left");
	bucket_charge(db, "a", &l, 3, 1000, &r);
	ok(r.verdict == BUCKET_HOLD && r.tokens == -3 && r.backlog == 3,
	    "3 of 0: HOLD, deficit 3");
	ok(r.hold == 1003, "held until the balance is back at zero (1003)");
	bucket_charge(db, "a", &l, 2, 1001, &r);
	ok(r.verdict == BUCKET_HOLD && r.tokens == -4 && r.hold == 1005,
	    "one second refilled one token: -4, held until 1005");
	bucket_charge(db, "a", &l, 2, 1001, &r);
	ok(r.verdict == BUCKET_REFUSED && r.just_frozen && r.backlog == 6,
	    "deficit 6 > backlog 5: REFUSED, just frozen");
	ok(r.flags == (BUCKET_FROZEN | BUCKET_AUTO) && r.tokens == -4,
	    "auto-frozen, the refused charge not applied");
	bucket_charge(db, "a", &l, 1, 1100, &r);
	ok(r.verdict == BUCKET_REFUSED && !r.just_frozen,
	    "later submissions are refused while auto-frozen");
	bucket_get(db, "a", &l, 1100, &rec);
	ok(rec.charged == 15 && rec.released == 2 && rec.held == 2 &&
	    rec.refused == 2, "counters: charged 15, 2 released, 2 held, "
	    "2 refused");
	ok(rec.tokens == 10, "the bucket refilled to burst meanwhile");
	is_int(bucket_set_frozen(db, "a", 0, 0), 0, "thaw");
	bucket_charge(db, "a", &l, 1, 1100, &r);
	ok(r.verdict == BUCKET_SEND && r.flags == 0, "after a thaw: SEND");
}

/* test_refill - refill is linear in time and capped at burst. */
static void
test_refill(struct bucket_db *db)
{
	struct conf_limits l = lim(0.5, 10, 100);
	struct bucket_result r;
	struct bucket_rec rec;

	bucket_charge(db, "b", &l, 10, 0, &r);
	bucket_get(db, "b", &l, 4, &rec);
	ok(rec.tokens == 2, "0.5/s for 4 s: 2 tokens");
	bucket_get(db, "b", &l, 1e6, &rec);
	ok(rec.tokens == 10, "refill capped at burst");
	bucket_get(db, "b", &l, 3, &rec);
	ok(rec.tokens == 1.5, "bucket_get changes nothing");
	bucket_charge(db, "b", &l, 4, 4, &r);
	bucket_charge(db, "b", &l, 1, 2, &r);
	ok(r.verdict == BUCKET_HOLD && r.tokens == -3 && r.hold == 8,
	    "a clock going back earns nothing (hold 2 + 3/0.5)");
}

/* test_manual - manual freeze holds up to backlog; thaw; release. */
static void
test_manual(struct bucket_db *db)
{
	struct conf_limits l = lim(1, 10, 5);
	struct bucket_result r;
	struct bucket_rec rec;

	is_int(bucket_set_frozen(db, "c", 1, 0), 0, "manual freeze");
	bucket_charge(db, "c", &l, 3, 50, &r);
	ok(r.verdict == BUCKET_FROZEN_HOLD && r.backlog == 3 && r.tokens == 10,
	    "frozen: held uncharged, 3 waiting, a full bucket");
	bucket_charge(db, "c", &l, 2, 50, &r);
	ok(r.verdict == BUCKET_FROZEN_HOLD && r.backlog == 5, "5 waiting");
	bucket_charge(db, "c", &l, 1, 50, &r);
	ok(r.verdict == BUCKET_REFUSED && !r.just_frozen &&
	    r.flags == BUCKET_FROZEN, "past the backlog: REFUSED, still "
	    "manually frozen");
	bucket_set_frozen(db, "c", 1, 0);
	bucket_get(db, "c", &l, 50, &rec);
	ok(rec.frozen_waiting == 5, "freezing again keeps frozen_waiting");
	is_int(bucket_refund(db, "c", &l, BUCKET_FROZEN_HOLD, 2, 50), 0,
	    "refund of a frozen hold");
	bucket_charge(db, "c", &l, 2, 50, &r);
	ok(r.verdict == BUCKET_FROZEN_HOLD && r.backlog == 5,
	    "the refund made room again");
	bucket_set_frozen(db, "c", 0, 0);
	bucket_get(db, "c", &l, 50, &rec);
	ok(rec.flags == 0 && rec.frozen_waiting == 0 && rec.tokens == 10,
	    "thaw clears flags and frozen_waiting");
	bucket_charge_release(db, "c", &l, 8, 50, &r);
	ok(r.verdict == BUCKET_SEND && r.tokens == 2, "release: SEND");
	bucket_charge_release(db, "c", &l, 10, 50, &r);
	ok(r.verdict == BUCKET_HOLD && r.tokens == -8 && r.hold == 58,
	    "release past the backlog: HOLD until 58, never refused");
	bucket_charge(db, "c", &l, 1, 50, &r);
	ok(r.verdict == BUCKET_REFUSED && r.just_frozen,
	    "the next submission over the backlog auto-freezes");
	bucket_charge_release(db, "c", &l, 1, 50, &r);
	ok(r.verdict == BUCKET_FROZEN_HOLD, "release into a frozen site: "
	    "FROZEN_HOLD");
	bucket_set_frozen(db, "d", 0, 0);
	ok(bucket_get(db, "d", &l, 0, &rec) == 0 && rec.stamp == 0 &&
	    rec.tokens == 10,
	    "thawing an unknown site creates nothing");
	bucket_set_frozen(db, "e", 1, 1);
	bucket_get(db, "e", &l, 7, &rec);
	ok(rec.flags == (BUCKET_FROZEN | BUCKET_AUTO) && rec.tokens == 10,
	    "freezing an unknown site: frozen, with a full bucket");
	bucket_set_frozen(db, "e", 1, 0);
	bucket_get(db, "e", &l, 7, &rec);
	ok(rec.flags & BUCKET_AUTO, "a manual freeze keeps AUTO");
}

/* test_refund - refunds give back tokens and fix the counters. */
static void
test_refund(struct bucket_db *db)
{
	struct conf_limits l = lim(1, 10, 50);
	struct bucket_result r;
	struct bucket_rec rec;

	bucket_charge(db, "f", &l, 4, 10, &r);
	bucket_refund(db, "f", &l, r.verdict, 4, 10);
	bucket_get(db, "f", &l, 10, &rec);
	ok(rec.tokens == 10 && rec.charged == 0 && rec.released == 0,
	    "refund of a SEND");
	bucket_charge(db, "f", &l, 15, 10, &r);
	ok(r.verdict == BUCKET_HOLD, "15 of 10: HOLD");
	bucket_refund(db, "f", &l, r.verdict, 15, 10);
	bucket_get(db, "f", &l, 10, &rec);
	ok(rec.tokens == 10 && rec.held == 0, "refund of a HOLD");
	bucket_charge(db, "f", &l, 1, 10, &r);
	bucket_refund(db, "f", &l, BUCKET_SEND, 5, 10);
	bucket_get(db, "f", &l, 10, &rec);
	ok(rec.tokens == 10, "a refund never lifts the balance over burst");
	is_int(bucket_refund(db, "f", &l, BUCKET_REFUSED, 5, 10), 0,
	    "refund of a refusal: nothing to do");
	is_int(bucket_refund(db, "nosuch", &l, BUCKET_SEND, 5, 10), 0,
	    "refund to an unknown site: nothing to do");
	ok(bucket_get(db, "nosuch", &l, 10, &rec) == 0 && rec.stamp == 10,
	    "and it created no record");
}

/* test_args - what no caller may pass. */
static void
test_args(struct bucket_db *db)
{
	struct conf_limits l = lim(1, 10, 5);
	struct bucket_result r;
	char	 longname[300];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	is_int(bucket_charge(db, "", &l, 1, 0, &r), EX_SOFTWARE, "empty site");
	is_int(bucket_charge(db, longname, &l, 1, 0, &r), EX_SOFTWARE,
	    "site name too long");
	is_int(bucket_charge(db, "g", &l, -1, 0, &r), EX_SOFTWARE,
	    "negative cost");
	is_int(bucket_charge(db, "g", &l, NAN, 0, &r), EX_SOFTWARE, "NaN cost");
	l.rate = l.rates.count[0] = 0;
	bucket_charge(db, "g", &l, 12, 0, &r);
	ok(r.verdict == BUCKET_HOLD && r.hold == BUCKET_HOLD_MAX,
	    "rate 0: the hold is capped, not infinite");
}

/* poke - store raw bytes as the record of a site. */
static void
poke(struct tdb_context *tdb, const char *site, const void *p, size_t n)
{
	TDB_DATA key = { (unsigned char *)(uintptr_t)site, strlen(site) };
	TDB_DATA val = { (unsigned char *)(uintptr_t)p, n };

	tdb_store(tdb, key, val, TDB_REPLACE);
}

/* logged - 1 if the test log holds text. */
static int
logged(const char *text)
{
	char	 file[96], buf[8192];
	ssize_t	 n;
	int	 fd;

	snprintf(file, sizeof(file), "%s/log", dir);
	if ((fd = open(file, O_RDONLY)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

/* test_bad - bad records read as fresh buckets and get repaired. */
static struct bucket_db *
test_bad(struct bucket_db *db)
{
	struct conf_limits l = lim(1, 10, 5);
	struct tdb_context *tdb;
	struct bucket_rec rec;
	struct bucket_result r;

	bucket_close(db);
	tdb = tdb_open(path, 0, TDB_DEFAULT, O_RDWR, 0);
	ok(tdb != NULL, "raw tdb open");
	poke(tdb, "short", "abc", 3);
	memset(&rec, 0, sizeof(rec));
	rec.version = 99;
	poke(tdb, "version", &rec, sizeof(rec));
	rec.version = BUCKET_REC_VERSION;
	rec.tokens = NAN;
	poke(tdb, "nan", &rec, sizeof(rec));
	rec.tokens = 0;
	rec.flags = 0x80;
	poke(tdb, "flags", &rec, sizeof(rec));
	tdb_close(tdb);
	is_int(bucket_open_path(&db, path), 0, "reopen");
	ok(bucket_get(db, "short", &l, 1, &rec) == 0 && rec.tokens == 10,
	    "short record: fresh");
	ok(bucket_get(db, "version", &l, 1, &rec) == 0 && rec.tokens == 10,
	    "wrong version: fresh");
	ok(bucket_get(db, "nan", &l, 1, &rec) == 0 && rec.tokens == 10,
	    "NaN tokens: fresh");
	ok(bucket_get(db, "flags", &l, 1, &rec) == 0 && rec.tokens == 10,
	    "unknown flags: fresh");
	bucket_charge(db, "short", &l, 3, 1, &r);
	ok(r.verdict == BUCKET_SEND && r.tokens == 7, "a charge repairs it");
	ok(logged("bucket nan: bad record (136 bytes), starting afresh"),
	    "a bad record is logged");
	return db;
}

struct walk {
	int	 n;
	int	 seen_a, seen_short, seen_version;
};

/* walk_fn - count the sites bucket_sites() reports. */
static int
walk_fn(void *arg, const char *site, const struct bucket_rec *rec)
{
	struct walk *w = arg;

	w->n++;
	w->seen_a |= strcmp(site, "a") == 0 &&
	    rec->version == BUCKET_REC_VERSION;
	w->seen_short |= strcmp(site, "short") == 0;
	w->seen_version |= strcmp(site, "version") == 0;
	return 0;
}

/* stop_fn - stop the walk at once. */
static int
stop_fn(void *arg, const char *site, const struct bucket_rec *rec)
{
	(*(int *)arg)++;
	return 42;
}

/* test_sites - the walk reports valid records only. */
static void
test_sites(struct bucket_db *db)
{
	struct walk w = { 0 };
	int	 n = 0;

	is_int(bucket_sites(db, walk_fn, &w), 0, "walk");
	ok(w.seen_a && w.seen_short && !w.seen_version,
	    "valid records are seen, bad ones skipped");
	is_int(w.n, 10, "10 valid records: a b c e f g short m n old");
	is_int(bucket_sites(db, stop_fn, &n), 42, "fn's status stops the walk");
	is_int(n, 1, "after one site");
}

/* child - charge 50 times, write the number of SEND verdicts to fd. */
static int
child(int fd)
{
	struct conf_limits l = lim(1e-9, 100, 1e6);
	struct bucket_result r;
	struct bucket_db *db;
	struct timespec ts;
	int	 i, sends = 0;

	if (bucket_open_path(&db, path) != 0)
		return 1;
	for (i = 0; i < 50; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		if (bucket_charge(db, "busy", &l, 1, ts.tv_sec + ts.tv_nsec /
		    1e9, &r) != 0)
			return 1;
		sends += r.verdict == BUCKET_SEND;
	}
	bucket_close(db);
	return write(fd, &sends, sizeof(sends)) == sizeof(sends) ? 0 : 1;
}

/* test_concurrent - 8 processes create the file and charge at once. */
static void
test_concurrent(void)
{
	struct conf_limits l = lim(1e-9, 100, 1e6);
	struct bucket_db *db;
	struct bucket_rec rec;
	int	 fds[2], i, status, fails = 0, total = 0, n;
	pid_t	 pids[8];

	unlink(path);
	if (pipe(fds) != 0)
		return;
	for (i = 0; i < 8; i++) {
		if ((pids[i] = fork()) == 0) {
			close(fds[0]);
			_exit(child(fds[1]));
		}
	}
	close(fds[1]);
	while (read(fds[0], &n, sizeof(n)) == sizeof(n))
		total += n;
	close(fds[0]);
	for (i = 0; i < 8; i++)
		if (waitpid(pids[i], &status, 0) < 0 || status != 0)
			fails++;
	is_int(fails, 0, "8 children charged 50 times each");
	is_int(total, 100, "exactly burst (100) SEND verdicts in all");
	bucket_open_path(&db, path);
	bucket_get(db, "busy", &l, time(NULL), &rec);
	ok(rec.charged == 400, "charged == 400");
	ok(rec.released == 100 && rec.held == 300, "100 released, 300 held");
	ok(rec.tokens > -300.01 && rec.tokens < -299.99, "balance -300");
	bucket_close(db);
}

/* test_list - several buckets: all or none, the hold of the slowest,
 * the hour bucket holding while the minute bucket has tokens. */
static void
test_list(struct bucket_db *db)
{
	struct conf_limits l = lim_list("20/h, 5/m", 5, 100);
	struct bucket_result r;
	struct bucket_rec rec;
	int	 i, sent = 0;

	ok(l.rates.n == 2 && l.rates.period[0] == 60 &&
	    l.rates.period[1] == 3600, "the list is sorted, minute first");
	bucket_get(db, "m", &l, 0, &rec);
	ok(rec.nb == 2 && rec.btokens[0] == 5 && rec.btokens[1] == 20 &&
	    rec.tokens == 5, "fresh: 5 of burst 5 and 20 of 20/h");
	for (i = 0; i < 6; i++) {
		bucket_charge(db, "m", &l, 1, 0, &r);
		sent += r.verdict == BUCKET_SEND;
	}
	ok(sent == 5 && r.verdict == BUCKET_HOLD && near(r.hold, 12) &&
	    near(r.tokens, -1), "the 6th recipient within a minute is held "
	    "(12 s, by the 5/m bucket)");
	bucket_get(db, "m", &l, 0, &rec);
	ok(near(rec.btokens[0], -1) && near(rec.btokens[1], 14),
	    "the HOLD charged both buckets");
	bucket_refund(db, "m", &l, BUCKET_HOLD, 1, 0);
	/* 5 per minute, as the minute bucket allows: 20 in 4 minutes. */
	for (sent = 5, i = 1; i <= 3; i++) {
		int	 k;

		for (k = 0; k < 5; k++) {
			bucket_charge(db, "m", &l, 1, 60.0 * i, &r);
			sent += r.verdict == BUCKET_SEND;
		}
	}
	bucket_get(db, "m", &l, 180, &rec);
	ok(sent == 20 && near(rec.btokens[0], 0) && near(rec.btokens[1], 1),
	    "20 sent by minute 3; the hour bucket refilled 1 (20/h)");
	bucket_charge(db, "m", &l, 1, 240, &r);
	ok(r.verdict == BUCKET_SEND, "minute 4: the 21st goes (1.33 tokens)");
	bucket_charge(db, "m", &l, 1, 240, &r);
	ok(r.verdict == BUCKET_HOLD && near(r.hold, 360),
	    "the 22nd is held 2 minutes by the hour bucket");
	bucket_get(db, "m", &l, 240, &rec);
	ok(near(rec.btokens[0], 3) && rec.btokens[1] < 0 &&
	    near(rec.tokens, rec.btokens[1]), "... while the minute bucket "
	    "has 3 tokens; tokens is the lowest balance");
	l.backlog = 2;
	bucket_charge(db, "m", &l, 5, 240, &r);
	bucket_get(db, "m", &l, 240, &rec);
	ok(r.verdict == BUCKET_REFUSED && near(rec.btokens[0], 3),
	    "a refused charge takes from no bucket (all or none)");
	bucket_set_frozen(db, "m", 0, 0);
	l.backlog = 100;
	bucket_charge(db, "m", &l, 2, 240, &r);
	bucket_refund(db, "m", &l, r.verdict, 2, 240);
	bucket_get(db, "m", &l, 240, &rec);
	ok(near(rec.btokens[0], 3) && near(rec.btokens[1], -2.0 / 3),
	    "a refund gives back to every bucket");
}

/* test_list_change - a changed rate list keeps the units that stay. */
static void
test_list_change(struct bucket_db *db)
{
	struct conf_limits a = lim_list("5/m, 20/h", 5, 100);
	struct conf_limits b = lim_list("20/h", 50, 100);
	struct conf_limits c = lim_list("5/m 20/h 100/d", 5, 100);
	struct bucket_result r;
	struct bucket_rec rec;

	bucket_charge(db, "n", &a, 4, 0, &r);
	bucket_get(db, "n", &b, 0, &rec);
	ok(rec.nb == 1 && rec.btokens[0] == 16,
	    "dropping 5/m: the hour bucket keeps its 16");
	bucket_get(db, "n", &c, 0, &rec);
	ok(rec.nb == 3 && rec.btokens[0] == 1 && rec.btokens[1] == 16 &&
	    rec.btokens[2] == 100, "adding 100/d: a full new bucket");
}

/* test_v1 - a version-1 record (64 bytes, one bucket) still loads. */
static struct bucket_db *
test_v1(struct bucket_db *db)
{
	struct conf_limits l = lim_list("1/s, 1000/d", 10, 5);
	struct tdb_context *tdb;
	struct bucket_rec rec;
	struct bucket_result r;

	bucket_close(db);
	tdb = tdb_open(path, 0, TDB_DEFAULT, O_RDWR, 0);
	memset(&rec, 0, sizeof(rec));
	rec.version = 1;
	rec.flags = BUCKET_FROZEN;
	rec.tokens = 3;
	rec.stamp = 100;
	rec.charged = 7;
	rec.released = 2;
	poke(tdb, "old", &rec, BUCKET_REC_V1_SIZE);
	rec.version = 2;
	poke(tdb, "v2short", &rec, BUCKET_REC_V1_SIZE);
	memset(&rec, 0, sizeof(rec));
	rec.version = 2;
	rec.nb = BUCKET_MAX + 1;
	poke(tdb, "toomany", &rec, sizeof(rec));
	rec.nb = 1;
	rec.btokens[0] = INFINITY;
	poke(tdb, "inf", &rec, sizeof(rec));
	tdb_close(tdb);
	is_int(bucket_open_path(&db, path), 0, "reopen");
	ok(bucket_get(db, "old", &l, 102, &rec) == 0 && rec.nb == 2 &&
	    rec.btokens[0] == 5 && rec.btokens[1] == 1000 &&
	    rec.flags == BUCKET_FROZEN && rec.charged == 7 &&
	    rec.released == 2, "a version-1 record loads: its balance "
	    "in the first bucket, refilled; flags and counters kept");
	bucket_set_frozen(db, "old", 0, 0);
	bucket_charge(db, "old", &l, 1, 102, &r);
	ok(r.verdict == BUCKET_SEND && r.tokens == 4,
	    "and is written back as version 2");
	ok(bucket_get(db, "v2short", &l, 1, &rec) == 0 && rec.tokens == 10,
	    "64 bytes claiming version 2: fresh");
	ok(bucket_get(db, "toomany", &l, 1, &rec) == 0 && rec.tokens == 10,
	    "too many buckets: fresh");
	ok(bucket_get(db, "inf", &l, 1, &rec) == 0 && rec.tokens == 10,
	    "an infinite bucket: fresh");
	return db;
}

/* main - run every group of tests in a scratch spool. */
int
main(void)
{
	struct bucket_db *db;
	char	 logspec[96];

	snprintf(dir, sizeof(dir), "/tmp/test_bucket.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state/bucket.tdb", dir);
	snprintf(logspec, sizeof(logspec), "file:%s/log", dir);
	log_create(1);
	log_open("test_bucket", logspec);
	db = test_open();
	test_arith(db);
	test_refill(db);
	test_manual(db);
	test_refund(db);
	test_args(db);
	db = test_bad(db);
	test_list(db);
	test_list_change(db);
	db = test_v1(db);
	test_sites(db);
	bucket_close(db);
	test_concurrent();
	unlink(path);
	unlink(logspec + 5);
	snprintf(path, sizeof(path), "%s/state", dir);
	rmdir(path);
	rmdir(dir);
	return tap_done();
}
