/*
 * test_durable.c - unit tests for what a queue-state rebuild relies on:
 * done maps (queue/donemap.c), freeze markers (queue/freeze.c), the
 * transactional queue.tdb writes (queue/qstate.c), the usage snapshot
 * check (spool/usage.c) and the tmp/ sweep by writer lock (spool/spool.c).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/donemap.h"
#include "queue/freeze.h"
#include "queue/qstate.h"
#include "spool/spool.h"
#include "spool/usage.h"
#include "util/msg.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test_durable.XXXXXX";
static const char qid[] = "0005f0a1b2c3d4e5f6a7";

/* fresh - a record of three pending recipients. */
static void
fresh(struct qrec *rec)
{
	static const char *addr[3] = { "a@x.test", "b@x.test", "c@x.test" };
	size_t	 i;

	memset(rec, 0, sizeof(*rec));
	memcpy(rec->qid, qid, SPOOL_QIDLEN + 1);
	rec->site = strdup("x.test");
	rec->sender = strdup("s@x.test");
	rec->arrival = 1700000000;
	rec->qflags = QREC_UNCHARGED;
	rec->r = calloc(3, sizeof(*rec->r));
	rec->nr = 3;
	for (i = 0; i < 3; i++) {
		rec->r[i].addr = strdup(addr[i]);
		rec->r[i].status = QR_PENDING;
		rec->r[i].dsn = strdup("");
		rec->r[i].reason = strdup("");
	}
}

/* donemap - create, mark, apply, flags, damage, remove. */
static void
donemap(void)
{
	struct qrec rec, back;
	char	 tried[3] = { 1, 1, 1 }, pick[3] = { 0, 0, 1 }, path[600];
	struct stat st;

	is_int(donemap_create(tmpdir, qid, 3), 0, "done map created");
	snprintf(path, sizeof(path), "%s/state/done/%s", tmpdir, qid);
	ok(stat(path, &st) == 0 && st.st_size == 35 + 3 * 16,
	    "done map has its full size at once");
	is_int(donemap_create(tmpdir, qid, 3), 0, "create again keeps it");
	fresh(&rec);
	rec.r[0].status = QR_SENT;
	free(rec.r[0].dsn);
	rec.r[0].dsn = strdup("2.0.0");
	rec.r[1].status = QR_DEFERRED;
	rec.r[2].status = QR_BOUNCED;
	free(rec.r[2].dsn);
	rec.r[2].dsn = strdup("5.1.1");
	is_int(donemap_mark(tmpdir, &rec, tried), 0, "results recorded");
	ok(stat(path, &st) == 0 && st.st_size == 35 + 3 * 16,
	    "recording does not grow the file");
	fresh(&back);
	is_int(donemap_apply(tmpdir, &back), 2, "a rebuilt record: 2 changes");
	ok(back.r[0].status == QR_SENT && back.r[1].status == QR_PENDING &&
	    back.r[2].status == QR_BOUNCED, "sent and bounced come back, the "
	    "deferred one stays to do");
	is_str(back.r[2].dsn, "5.1.1", "the bounce keeps its status code");
	is_int(donemap_flag(tmpdir, qid, 'd'), 0, "DSN flag");
	is_int(donemap_flag(tmpdir, qid, 'c'), 0, "charged flag");
	qrec_free(&back);
	fresh(&back);
	is_int(donemap_apply(tmpdir, &back), 4, "flags applied too");
	ok((back.qflags & QREC_DSN_QUEUED) && !(back.qflags & QREC_UNCHARGED),
	    "DSN queued, no longer uncharged");
	qrec_free(&back);
	/* What a committed DSN covered survives a rebuild. */
	is_int(donemap_reported(tmpdir, &rec, pick, 0), 0,
	    "the recipient a DSN named is recorded");
	is_int(donemap_reported(tmpdir, &rec, pick, 1), 0,
	    "the delayed DSN is recorded");
	fresh(&back);
	(void)donemap_apply(tmpdir, &back);
	ok(back.r[2].status == QR_BOUNCED &&
	    (back.r[2].rflags & QRCPT_REPORTED) &&
	    !(back.r[0].rflags & QRCPT_REPORTED), "a rebuilt record knows "
	    "which recipient was reported");
	ok(back.qflags & QREC_DELAY_WARNED, "... and that the delayed DSN went");
	qrec_free(&back);
	fresh(&back);
	back.r[2].status = QR_BOUNCED;
	is_int(donemap_apply(tmpdir, &back), 4, "a record that knew of the "
	    "bounce: the mark, the delay flag, the sent recipient and the "
	    "charge");
	ok(back.r[2].rflags & QRCPT_REPORTED, "... gets the mark");
	qrec_free(&back);
	/* A map of the wrong size (another message's count) is ignored. */
	truncate(path, 40);
	fresh(&back);
	is_int(donemap_apply(tmpdir, &back), 0, "a damaged map is ignored");
	qrec_free(&back);
	is_int(donemap_create(tmpdir, qid, 3), 0, "a torn map is made again");
	/* Maps without a queue file go. */
	is_int((int)donemap_sweep(tmpdir), 1, "sweep removes an orphan map");
	ok(stat(path, &st) < 0, "gone");
	qrec_free(&rec);
}

/* settled_rebuilt - a rebuilt record of a message committed without a
 * verdict, with its done map applied; the number of changes. */
static int
settled_rebuilt(struct qrec *back)
{
	fresh(back);
	back->qflags = 0;
	back->flags = SPOOL_F_NOVERDICT;
	return donemap_apply(tmpdir, back);
}

/* settled - a charge the runner settled at pickup survives a rebuilt
 * record: the message is never charged twice. */
static void
settled(void)
{
	struct qrec back;

	is_int(donemap_settled(tmpdir, qid, 3, 0), 0,
	    "pickup charge recorded (the map is made)");
	is_int(settled_rebuilt(&back), 1, "a rebuilt record: 1 change");
	ok(!(back.flags & SPOOL_F_NOVERDICT) &&
	    !(back.qflags & QREC_UNCHARGED), "  charged: not charged again");
	qrec_free(&back);
	is_int(donemap_settled(tmpdir, qid, 3, 1), 0,
	    "left uncharged at pickup (site frozen)");
	is_int(settled_rebuilt(&back), 1, "a rebuilt record: 1 change");
	ok(!(back.flags & SPOOL_F_NOVERDICT) &&
	    (back.qflags & QREC_UNCHARGED), "  uncharged until a thaw");
	qrec_free(&back);
	is_int(donemap_flag(tmpdir, qid, 'c'), 0, "charged after the thaw");
	is_int(settled_rebuilt(&back), 1, "a rebuilt record: 1 change");
	ok(!(back.flags & SPOOL_F_NOVERDICT) &&
	    !(back.qflags & QREC_UNCHARGED), "  charged once, never again");
	qrec_free(&back);
	is_int((int)donemap_sweep(tmpdir), 1, "swept");
}

/* one_site - freeze_sites callback: remember the site and how. */
static int
one_site(void *arg, const char *site, int how)
{
	char	*out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%s:%d ", site, how);
	return 0;
}

/* freeze - message and site markers. */
static void
freeze(void)
{
	char	 seen[256] = "", path[600];
	int	 fd;

	is_int(freeze_msg_get(tmpdir, qid), 0, "not frozen");
	is_int(freeze_msg_set(tmpdir, qid, 1), 0, "freeze a message");
	is_int(freeze_msg_get(tmpdir, qid), 1, "frozen");
	is_int(freeze_site_set(tmpdir, "a.test", 1), 0, "freeze a site");
	is_int(freeze_site_set(tmpdir, "we ird/site", 2), 0, "auto-freeze "
	    "a site with an odd name");
	is_int(freeze_site_get(tmpdir, "a.test"), 1, "by an admin");
	is_int(freeze_site_get(tmpdir, "we ird/site"), 2, "automatic");
	is_int(freeze_site_get(tmpdir, "b.test"), 0, "another is not frozen");
	freeze_sites(tmpdir, one_site, seen);
	ok(strstr(seen, "a.test:1 ") && strstr(seen, "we ird/site:2 "),
	    "both frozen sites listed");
	/* A message marker without its queue file is swept ... */
	is_int((int)freeze_sweep(tmpdir), 1, "orphan message marker swept");
	is_int(freeze_msg_get(tmpdir, qid), 0, "gone");
	/* ... one with a queue file stays. */
	snprintf(path, sizeof(path), "%s/queue/%s", tmpdir, qid);
	fd = open(path, O_WRONLY | O_CREAT, 0640);
	close(fd);
	freeze_msg_set(tmpdir, qid, 1);
	is_int((int)freeze_sweep(tmpdir), 0, "a live marker stays");
	is_int(freeze_msg_set(tmpdir, qid, 0), 0, "thaw");
	is_int(freeze_msg_get(tmpdir, qid), 0, "thawed");
	is_int(freeze_site_set(tmpdir, "a.test", 0), 0, "thaw a site");
	is_int(freeze_site_get(tmpdir, "a.test"), 0, "site thawed");
	unlink(path);
}

/* grow - qstate_update_inplace callback: set recipient 1's reason. */
static int
grow(void *arg, struct qrec *rec)
{
	free(rec->r[1].reason);
	rec->r[1].reason = strdup(arg);
	return 0;
}

/* long_reason - 3000 letters. */
static char *
long_reason(void)
{
	static char s[3001];

	memset(s, 'r', 3000);
	return s;
}

/* transactions - a failed write in a lock stores nothing; recover. */
static void
transactions(void)
{
	struct qstate *qs;
	struct qrec rec, back;

	if (qstate_open(&qs, tmpdir) != 0) {
		ok(0, "qstate_open");
		return;
	}
	fresh(&rec);
	is_int(qstate_put(qs, &rec), 0, "put (a transaction of its own)");
	is_int(qstate_lock(qs, qid), 0, "lock = transaction");
	rec.r[0].status = QR_SENT;
	is_int(qstate_put(qs, &rec), 0, "put inside");
	is_int(qstate_unlock(qs, qid), 0, "commit");
	is_int(qstate_get(qs, qid, &back), 0, "get");
	ok(back.r[0].status == QR_SENT, "committed");
	qrec_free(&back);
	/* A marker and a done map are applied by qstate_recover. */
	qrec_free(&rec);
	fresh(&rec);
	freeze_msg_set(tmpdir, qid, 1);
	is_int(qstate_recover(tmpdir, &rec), 1, "recover: the freeze marker");
	ok(rec.frozen, "frozen again");
	freeze_msg_set(tmpdir, qid, 0);
	qrec_free(&rec);
	is_int(qstate_unlock(qs, qid), EX_SOFTWARE, "unlock without lock");
	/* In place while it fits, through a transaction when it grows. */
	is_int(qstate_update_inplace(qs, qid, grow, "4.2.0 short"), 0,
	    "update within the room a record has");
	is_int(qstate_get(qs, qid, &back), 0, "get");
	is_str(back.r[1].reason, "4.2.0 short", "stored");
	qrec_free(&back);
	is_int(qstate_update_inplace(qs, qid, grow, long_reason()), 0,
	    "update that must grow");
	is_int(qstate_get(qs, qid, &back), 0, "get");
	ok(strlen(back.r[1].reason) == 3000, "stored (grown)");
	qrec_free(&back);
	is_int(qstate_update_inplace(qs, qid, grow, "x"), 0, "and shrink");
	is_int(qstate_get(qs, qid, &back), 0, "get");
	is_str(back.r[1].reason, "x", "stored (padded)");
	qrec_free(&back);
	is_int(qstate_update_inplace(qs, "0005f0a1b2c3d4e5f6ff", grow, "x"),
	    EX_NOINPUT, "no record: EX_NOINPUT");
	qstate_close(qs);
}

/* usage - the snapshot check and min_free_space. */
static void
usage(void)
{
	char	 path[600];
	FILE	*f;

	is_int(usage_check(tmpdir, "a.test", 100, 0), 0, "no snapshot: "
	    "no usage");
	snprintf(path, sizeof(path), "%s/state/usage", tmpdir);
	f = fopen(path, "w");
	fputs("sitemail-usage 1 1700000000\na.test 150\nab.test 5\n", f);
	fclose(f);
	ok(usage_of(tmpdir, "a.test") == 150, "usage of a.test");
	ok(usage_of(tmpdir, "ab.test") == 5, "a prefix is not a match");
	ok(usage_of(tmpdir, "a") == 0, "nor is a shorter name");
	is_int(usage_check(tmpdir, "a.test", 100, 0), EX_TEMPFAIL,
	    "over quota: 75");
	ok(strstr(err_str(), "spool_quota of 100") != NULL, "says why");
	is_int(usage_check(tmpdir, "ab.test", 100, 0), 0, "under quota");
	is_int(usage_check(tmpdir, "ab.test", 100, (uint64_t)1 << 62),
	    EX_TEMPFAIL, "min_free_space beyond the disk: 75");
	ok(strstr(err_str(), "nearly full") != NULL, "says why");
	unlink(path);
}

/* sweep - tmp/ files: a locked one stays, a dead writer's one goes. */
static void
sweep(void)
{
	char	 live[600], dead[600];
	int	 fl, fd;

	snprintf(live, sizeof(live), "%s/tmp/0005f0a1b2c3d4e5f6a8", tmpdir);
	snprintf(dead, sizeof(dead), "%s/tmp/0005f0a1b2c3d4e5f6a9", tmpdir);
	fl = open(live, O_WRONLY | O_CREAT, 0640);
	ok(flock(fl, LOCK_EX | LOCK_NB) == 0, "a live writer's lock");
	fd = open(dead, O_WRONLY | O_CREAT, 0640);
	close(fd);
	is_int((int)spool_tmp_sweep(tmpdir, 60), 0, "nothing within the "
	    "grace period");
	is_int((int)spool_tmp_sweep(tmpdir, 0), 1, "grace over: the dead "
	    "writer's file goes");
	ok(access(live, F_OK) == 0 && access(dead, F_OK) < 0, "the live "
	    "one stays");
	close(fl);
	is_int((int)spool_tmp_sweep(tmpdir, 0), 1, "writer gone: removed");
}

/* main - a scratch spool, then every group. */
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
	log_open("test_durable", "stderr");
	donemap();
	settled();
	freeze();
	transactions();
	usage();
	sweep();
	snprintf(path, sizeof(path), "rm -rf %s", tmpdir);
	if (system(path) != 0)
		diag("could not remove %s", tmpdir);
	return tap_done();
}
