/*
 * test_qstate.c - qstate record encoding, strict decoding, the tdb
 * round trip, flush request files and the rebuild from the spool.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/qstate.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/msg.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test_qstate.XXXXXX";

/* sample - a record with three recipients in every state. */
static void
sample(struct qrec *rec)
{
	static struct qrcpt r[3];

	memset(rec, 0, sizeof(*rec));
	memcpy(rec->qid, "0005f0a1b2c3d4e5f6a7", SPOOL_QIDLEN + 1);
	rec->site = "example.com";
	rec->uid = 1005;
	rec->arrival = 1700000000;
	rec->arrival_usec = 42;
	rec->size = 4096;
	rec->sender = "web1@example.com";
	rec->flags = 0;
	rec->qflags = QREC_UNCHARGED;
	rec->hold = 1700000100;
	rec->frozen = 1;
	r[0] = (struct qrcpt){ "a@x.test", QR_SENT, 1, 0, "2.0.0",
	    "250 2.0.0 ok queued", 0 };
	r[1] = (struct qrcpt){ "\"b c\"@y.test", QR_DEFERRED, 3, 1700000500,
	    "4.2.0", "451 try later", QRCPT_REPORTED };
	r[2] = (struct qrcpt){ "d@z.test", QR_PENDING, 0, 0, "", "",
	    QRCPT_REPORTED };
	rec->r = r;
	rec->nr = 3;
}

/* roundtrip - encode, decode and compare every field. */
static void
roundtrip(void)
{
	struct qrec in, out;
	struct buf b;

	sample(&in);
	buf_init(&b, QSTATE_REC_MAX);
	is_int(qstate_encode(&in, &b), 0, "encode");
	is_int(qstate_decode(b.ptr, b.len, &out), 0, "decode");
	is_str(out.qid, in.qid, "qid");
	is_str(out.site, "example.com", "site");
	is_int(out.uid, 1005, "uid");
	is_int(out.arrival, 1700000000, "arrival");
	is_int(out.arrival_usec, 42, "arrival usec");
	is_int(out.size, 4096, "size");
	is_str(out.sender, "web1@example.com", "sender");
	is_int(out.qflags, QREC_UNCHARGED, "qflags");
	is_int(out.hold, 1700000100, "hold");
	is_int(out.frozen, 1, "frozen");
	is_int(out.nr, 3, "three recipients");
	is_str(out.r[1].addr, "\"b c\"@y.test", "address with a space");
	is_int(out.r[1].status, QR_DEFERRED, "status");
	is_int(out.r[1].attempts, 3, "attempts");
	is_int(out.r[1].next_try, 1700000500, "next try");
	is_str(out.r[1].dsn, "4.2.0", "dsn");
	is_str(out.r[1].reason, "451 try later", "reason");
	is_int(out.r[1].rflags, QRCPT_REPORTED, "rflags after why");
	is_int(out.r[2].rflags, QRCPT_REPORTED, "rflags without why");
	is_int(out.r[0].rflags, 0, "no rflags");
	is_str(out.r[2].dsn, "", "empty dsn");
	is_str(out.r[2].reason, "", "empty reason");
	ok(!qrec_final(&out), "not final");
	out.r[1].status = QR_BOUNCED;
	out.r[2].status = QR_SENT;
	ok(qrec_final(&out), "final");
	qrec_free(&out);
	buf_free(&b);
}

/* bad - decoding must fail. */
static void
bad(const char *text, const char *name)
{
	struct qrec out;

	is_int(qstate_decode(text, strlen(text), &out), EX_DATAERR, name);
	ok(out.r == NULL && out.site == NULL, "nothing left allocated");
}

#define HEAD	"sitemail-qstate 1\nqid 0005f0a1b2c3d4e5f6a7\nsite s\n" \
		"uid 1\narrival 5.000000\nsender \n"

/* strict - malformed records are refused. */
static void
strict(void)
{
	struct qrec out;
	const char *good = HEAD "rcpt P 0 0 - a@b\n";

	is_int(qstate_decode(good, strlen(good), &out), 0, "minimal record");
	is_str(out.sender, "", "null sender");
	qrec_free(&out);
	bad("", "empty");
	bad("sitemail-qstate 2\n", "other version");
	bad(HEAD, "no recipient");
	bad(HEAD "rcpt P 0 0 - a@b", "no final LF");
	bad(HEAD "rcpt X 0 0 - a@b\n", "bad status");
	bad(HEAD "rcpt P 01 0 - a@b\n", "leading zero");
	bad(HEAD "rcpt P -1 0 - a@b\n", "sign");
	bad(HEAD "rcpt P 0 0 - \n", "empty address");
	bad(HEAD "rcpt P 0 0 4.x.0 a@b\n", "bad dsn");
	bad(HEAD "rcpt P 99999999999 0 - a@b\n", "attempts overflow");
	bad(HEAD "why early\nrcpt P 0 0 - a@b\n", "why before rcpt");
	bad(HEAD "rcpt P 0 0 - a@b\nwhy a\nwhy b\n", "two whys");
	bad(HEAD "site t\nrcpt P 0 0 - a@b\n", "duplicate key");
	bad(HEAD "rflags 1\nrcpt P 0 0 - a@b\n", "rflags before rcpt");
	bad(HEAD "rcpt P 0 0 - a@b\nrflags 1\nrflags 1\n", "two rflags");
	bad(HEAD "rcpt P 0 0 - a@b\nrflags 1\nwhy a\n", "why after rflags");
	bad(HEAD "rcpt P 0 0 - a@b\nrflags 01\n", "rflags leading zero");
	bad(HEAD "color red\nrcpt P 0 0 - a@b\n", "unknown key");
	bad(HEAD "frozen 2\nrcpt P 0 0 - a@b\n", "frozen 2");
	bad(HEAD "rcpt P 0 0 - a\rb\n", "CR");
	bad("sitemail-qstate 1\nsite s\nuid 1\narrival 5.000000\nsender \n"
	    "rcpt P 0 0 - a@b\n", "no qid");
	bad("sitemail-qstate 1\nqid 0005f0a1b2c3d4e5f6a7\nsite s\nuid 1\n"
	    "arrival 5.1\nsender \nrcpt P 0 0 - a@b\n", "short usec");
	is_int(qstate_decode("sitemail-qstate 1\nqid x\0", 24, &out),
	    EX_DATAERR, "NUL");
}

/* database - add, get, update, delete, traverse. */
static int
count_cb(void *ctx, const struct qrec *rec)
{
	(void)rec;
	(*(int *)ctx)++;
	return 0;
}

/* defer_all - update callback: defer every recipient. */
static int
defer_all(void *ctx, struct qrec *rec)
{
	size_t	 i;

	(void)ctx;
	for (i = 0; i < rec->nr; i++)
		rec->r[i].status = QR_DEFERRED;
	return 0;
}

/* database - the tdb round trip. */
static void
database(void)
{
	struct qstate *qs;
	struct envelope env;
	struct qrec rec;
	char	*rcpt[] = { "a@x.test", "b@y.test" };
	int	 n = 0;

	memset(&env, 0, sizeof(env));
	memcpy(env.qid, "0005f0a1b2c3d4e5f6a7", SPOOL_QIDLEN + 1);
	env.site = "s1";
	env.uid = 1001;
	env.login = "web1";
	env.sender = "w@s1.test";
	env.time = 1700000000;
	env.time_usec = 999999;
	env.hold = 17;
	env.rcpt = rcpt;
	env.nrcpt = 2;
	is_int(qstate_open(&qs, tmpdir), 0, "open");
	is_int(qstate_add(qs, &env, 123), 0, "add");
	is_int(qstate_add(qs, &env, 456), 0, "add again keeps the record");
	is_int(qstate_get(qs, env.qid, &rec), 0, "get");
	is_int(rec.size, 123, "first record kept");
	is_int(rec.arrival_usec, 999999, "usec");
	is_int(rec.hold, 17, "hold");
	is_int(rec.nr, 2, "recipients");
	is_int(rec.r[0].status, QR_PENDING, "pending");
	qrec_free(&rec);
	is_int(qstate_update(qs, env.qid, defer_all, NULL), 0, "update");
	is_int(qstate_get(qs, env.qid, &rec), 0, "get after update");
	is_int(rec.r[1].status, QR_DEFERRED, "updated");
	qrec_free(&rec);
	is_int(qstate_traverse(qs, count_cb, &n), 0, "traverse");
	is_int(n, 1, "one record");
	is_int(qstate_delete(qs, env.qid), 0, "delete");
	is_int(qstate_delete(qs, env.qid), 0, "delete again");
	is_int(qstate_get(qs, env.qid, &rec), EX_NOINPUT, "gone");
	is_int(qstate_update(qs, env.qid, defer_all, NULL), EX_NOINPUT,
	    "update of a missing record");
	qstate_close(qs);
}

/* flush - a request file written and read back. */
static void
flush(void)
{
	struct conf conf;
	struct site_id sid;
	struct qflush q;
	struct qrec rec;
	struct dirent *de;
	char	 path[512];
	int	 dirfd, found = 0;
	DIR	*d;

	memset(&conf, 0, sizeof(conf));
	conf.spool_dir = tmpdir;
	conf.user = "nosuchuser-qstate";
	memset(&sid, 0, sizeof(sid));
	snprintf(sid.name, sizeof(sid.name), "s1");
	snprintf(path, sizeof(path), "%s/state/flush", tmpdir);
	ok(mkdir(path, 01770) == 0, "flush dir");
	is_int(qstate_flush_request(&conf, &sid, 1, "0005f0a1b2c3d4e5f6a7",
	    "Y.test", NULL), 0, "request");
	is_int(qstate_flush_request(&conf, &sid, 1, "zz", NULL, NULL),
	    EX_USAGE, "bad id refused");
	is_int(qstate_flush_request(&conf, &sid, 1, NULL, "a\nb", NULL),
	    EX_USAGE, "bad domain refused");
	dirfd = open(path, O_RDONLY | O_DIRECTORY);
	d = fdopendir(dup(dirfd));
	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		found++;
		is_int(qstate_flush_read(&conf, dirfd, de->d_name, geteuid(),
		    &q), 0, "read request");
		ok(q.all, "owner is the runner: all sites");
		is_str(q.id, "0005f0a1b2c3d4e5f6a7", "id selector");
		is_str(q.domain, "Y.test", "domain selector");
		ok(faccessat(dirfd, de->d_name, F_OK, 0) < 0, "removed");
	}
	if (d)
		closedir(d);
	close(dirfd);
	is_int(found, 1, "one request file");
	sample(&rec);
	memcpy(rec.qid, "0005f0a1b2c3d4e5f6a8", sizeof(rec.qid));
	ok(qstate_flush_match(&q, &rec) == 0, "qid does not match");
	memcpy(rec.qid, q.id, sizeof(rec.qid));
	ok(qstate_flush_match(&q, &rec) == 1, "qid and domain match");
	ok(qstate_flush_rcpt(&q, &rec.r[1]), "domain, case-insensitive");
	ok(!qstate_flush_rcpt(&q, &rec.r[0]), "other domain");
	q.all = 0;
	snprintf(q.site, sizeof(q.site), "other");
	ok(qstate_flush_match(&q, &rec) == 0, "other site");
}

/* rebuild - index a spool file without a record, drop a stale record. */
static void
rebuild(void)
{
	unsigned char key[SPOOL_KEYLEN];
	struct spool_writer *w;
	struct envelope env;
	struct qstate *qs;
	struct qrec rec;
	char	*rcpt[] = { "a@x.test" }, qid[SPOOL_QIDLEN + 1];
	unsigned added = 0, dropped = 0;

	memset(key, 7, sizeof(key));
	memset(&env, 0, sizeof(env));
	env.site = "s1";
	env.uid = geteuid();
	env.login = "me";
	env.sender = "";
	env.time = time(NULL);
	env.cwd = env.exe = env.script = "";
	env.rcpt = rcpt;
	env.nrcpt = 1;
	is_int(spool_create(&w, tmpdir, key), 0, "spool create");
	snprintf(qid, sizeof(qid), "%s", spool_writer_qid(w));
	is_int(spool_write(w, "Subject: x\r\n\r\nhi\r\n", 18), 0, "write");
	is_int(spool_commit(w, &env), 0, "commit");
	is_int(qstate_open(&qs, tmpdir), 0, "open");
	env.rcpt = rcpt;
	memcpy(env.qid, "0005f0a1b2c3d4e5f6a7", SPOOL_QIDLEN + 1);
	is_int(qstate_add(qs, &env, 1), 0, "stale record");
	is_int(qstate_rebuild(qs, key, 0, &added, &dropped), 0, "rebuild");
	is_int(added, 1, "one added");
	is_int(dropped, 1, "one dropped");
	is_int(qstate_get(qs, qid, &rec), 0, "indexed");
	is_int(rec.size, 18, "size from the spool");
	qrec_free(&rec);
	qstate_close(qs);
}

/* main - run every group of tests in a scratch spool. */
int
main(void)
{
	char	 path[512];
	const char *sub[] = { "tmp", "queue", "quarantine", "state" };
	size_t	 i;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, sub[i]);
		mkdir(path, 0770);
	}
	log_open("test_qstate", "stderr");
	roundtrip();
	strict();
	database();
	flush();
	rebuild();
	snprintf(path, sizeof(path), "rm -rf %s", tmpdir);
	if (system(path) != 0)
		diag("cannot remove %s", tmpdir);
	return tap_done();
}
