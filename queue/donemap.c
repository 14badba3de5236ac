/*
 * donemap.c - per-message done maps in state/done/; see donemap.h.
 *
 * File format, version 1 (ASCII, fixed width, so a result is recorded by
 * overwriting bytes in place: no allocation, no rewrite, no lock):
 *
 *	offset	length	contents
 *	0	35	header "sitemail-done 1 n=NNNNNNNN d=F c=G\n": N the
 *			recipient count (8 decimal digits), F '-', 'Y'
 *			(the DSN for every bounced recipient is queued:
 *			older runners) or 'W' (the "delayed" DSN is
 *			committed),
 *			G the bucket charge: '-' (charged by intake, or
 *			not yet), 'S' (a message intake committed without
 *			a verdict, charged by the runner at pickup), 'U'
 *			(such a message left uncharged: its site was
 *			frozen), 'Y' (charged after a thaw)
 *	35+16i	16	slot of recipient i, in envelope order:
 *			"S DSN..........\n": S is 'P' (not final), 'S'
 *			(sent), 'B' (bounced) or 'R' (bounced, and in a
 *			committed DSN), DSN the enhanced status,
 *			space-padded to 13 bytes
 *	file size = 35 + 16 * N exactly.
 *
 * The runner creates the file (mode 0640), written whole, after the first
 * attempt that leaves the message queued (a message finished in one
 * attempt needs none: its record is updated in place and the message is
 * gone).  After each attempt it overwrites the slots of the recipients
 * that became final, and only then updates queue.tdb; when that update
 * fails, it fdatasyncs the map
 * (donemap_sync), the only record left.  The map is not fsynced on every
 * result: it survives a killed runner and any damage to queue.tdb, and
 * like Postfix's done marks in its queue files (which it does not fsync
 * either) only a power loss in the seconds after a delivery can undo
 * one.  An fsync per message would cost the single-threaded runner most
 * of its rate (measured: 584 -> 20 msg/s on this disk).  A rebuild of a
 * record (a lost or damaged queue.tdb, a record that does not decode)
 * applies the map, so a sent recipient is never sent again and a
 * recipient a committed DSN named (or the "delayed" DSN) is never
 * reported twice.  The map goes after the queue file is removed; maps
 * without a queue file are swept by housekeeping.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/donemap.h"
#include "spool/spool.h"
#include "util/msg.h"

#define DM_HDRLEN	35
#define DM_SLOT		16
#define DM_DSNLEN	13
#define DM_OFF_D	29
#define DM_OFF_C	33
#define DM_MAXRCPT	99999999u

/* dm_dirfd - open state/done/ (creating it when create is set). */
static int
dm_dirfd(const char *spool_dir, int create)
{
	return spool_layout_dirfd(spool_dir, DONEMAP_DIR, create, NULL);
}

/* dm_open - open state/done/QID with flags; -1 and errno on failure. */
static int
dm_open(const char *spool_dir, const char *qid, int flags)
{
	int	 dfd, fd, saved;

	if (!spool_qid_valid(qid)) {
		errno = EINVAL;
		return -1;
	}
	if ((dfd = dm_dirfd(spool_dir, 0)) < 0)
		return -1;
	fd = openat(dfd, qid, flags | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	close(dfd);
	errno = saved;
	return fd;
}

/* dm_size - the file size of a map of n recipients. */
static off_t
dm_size(size_t n)
{
	return (off_t)DM_HDRLEN + (off_t)DM_SLOT * (off_t)n;
}

/* dm_write_new - write a fresh map of n recipients to fd. */
static int
dm_write_new(int fd, size_t n)
{
	char	 buf[8192];
	size_t	 i, len;

	len = (size_t)snprintf(buf, sizeof(buf),
	    "sitemail-done 1 n=%08zu d=- c=-\n", n);
	for (i = 0; i < n; i++) {
		if (len + DM_SLOT > sizeof(buf)) {
			if (spool_write_all(fd, buf, len) < 0)
				return -1;
			len = 0;
		}
		memcpy(buf + len, "P -            \n", DM_SLOT);
		len += DM_SLOT;
	}
	return spool_write_all(fd, buf, len) < 0 ? -1 : 0;
}

/* donemap_create - make state/done/QID when missing. */
int
donemap_create(const char *spool_dir, const char *qid, size_t nrcpt)
{
	struct stat st;
	int	 dfd, fd, saved;

	if (!spool_qid_valid(qid) || nrcpt == 0 || nrcpt > DM_MAXRCPT)
		return err_set(EX_SOFTWARE, "done map: bad message");
	if ((dfd = dm_dirfd(spool_dir, 1)) < 0)
		return err_set(EX_TEMPFAIL, "cannot open %s/%s: %s",
		    spool_dir, DONEMAP_DIR, strerror(errno));
	fd = openat(dfd, qid, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
	if (fd < 0 && errno == EEXIST &&
	    (fd = openat(dfd, qid, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		int	 good = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size == dm_size(nrcpt);

		close(fd);
		if (good) {
			close(dfd);
			return 0;
		}
		/* A torn create (crash, full disk): rewritten whole. */
		(void)unlinkat(dfd, qid, 0);
		fd = openat(dfd, qid, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0640);
	}
	if (fd < 0 || dm_write_new(fd, nrcpt) < 0 || close(fd) < 0) {
		saved = errno;
		if (fd >= 0) {
			(void)close(fd);
			(void)unlinkat(dfd, qid, 0);
		}
		close(dfd);
		return err_set(EX_TEMPFAIL, "cannot write %s/%s/%s: %s",
		    spool_dir, DONEMAP_DIR, qid, strerror(saved));
	}
	close(dfd);
	return 0;
}

/* donemap_mark - record the final recipients tried now. */
int
donemap_mark(const char *spool_dir, const struct qrec *rec, const char *tried)
{
	char	 slot[DM_SLOT + 1];
	struct stat st;
	size_t	 i, n = 0;
	int	 fd, bad = 0;

	for (i = 0; i < rec->nr; i++)
		if (tried[i] && (rec->r[i].status == QR_SENT ||
		    rec->r[i].status == QR_BOUNCED))
			n++;
	if (n == 0)
		return 0;
	if ((fd = dm_open(spool_dir, rec->qid, O_WRONLY)) < 0 &&
	    errno == ENOENT)
		return 0;		/* none made (see donemap.h) */
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size != dm_size(rec->nr)) {
		int	 saved = fd < 0 ? errno : EINVAL;

		if (fd >= 0)
			close(fd);
		return err_set(EX_TEMPFAIL, "cannot record in %s/%s/%s: %s",
		    spool_dir, DONEMAP_DIR, rec->qid, strerror(saved));
	}
	for (i = 0; i < rec->nr && !bad; i++) {
		const struct qrcpt *q = &rec->r[i];

		if (!tried[i] || (q->status != QR_SENT &&
		    q->status != QR_BOUNCED))
			continue;
		snprintf(slot, sizeof(slot), "%c %-13.13s\n", q->status,
		    q->dsn && *q->dsn ? q->dsn : "-");
		bad = pwrite(fd, slot, DM_SLOT, dm_size(i)) != DM_SLOT;
	}
	if (bad) {
		int	 saved = errno ? errno : EIO;

		close(fd);
		return err_set(EX_TEMPFAIL, "cannot record in %s/%s/%s: %s",
		    spool_dir, DONEMAP_DIR, rec->qid, strerror(saved));
	}
	close(fd);
	return 0;
}

/* donemap_sync - make the map of qid durable (fdatasync). */
int
donemap_sync(const char *spool_dir, const char *qid)
{
	int	 fd, bad;

	if ((fd = dm_open(spool_dir, qid, O_RDONLY)) < 0)
		return err_set(EX_TEMPFAIL, "cannot open %s/%s/%s: %s",
		    spool_dir, DONEMAP_DIR, qid, strerror(errno));
	bad = fdatasync(fd) < 0;
	close(fd);
	return bad ? err_set(EX_TEMPFAIL, "cannot sync %s/%s/%s: %s",
	    spool_dir, DONEMAP_DIR, qid, strerror(errno)) : 0;
}

/* donemap_flag - set flag 'd' or 'c' of a map. */
int
donemap_flag(const char *spool_dir, const char *qid, int flag)
{
	off_t	 off = flag == 'd' ? DM_OFF_D : DM_OFF_C;
	int	 fd, bad;

	if ((fd = dm_open(spool_dir, qid, O_WRONLY)) < 0)
		return errno == ENOENT ? 0 : err_set(EX_TEMPFAIL, "cannot open "
		    "%s/%s/%s: %s", spool_dir, DONEMAP_DIR, qid,
		    strerror(errno));
	bad = pwrite(fd, "Y", 1, off) != 1;
	close(fd);
	return bad ? err_set(EX_TEMPFAIL, "cannot record in %s/%s/%s",
	    spool_dir, DONEMAP_DIR, qid) : 0;
}

/* donemap_reported - record what a committed DSN covered: the slots of
 * the picked recipients become 'R', or for the "delayed" DSN flag d 'W'. */
int
donemap_reported(const char *spool_dir, const struct qrec *rec,
    const char *pick, int delayed)
{
	size_t	 i;
	int	 fd, bad = 0;

	if ((fd = dm_open(spool_dir, rec->qid, O_WRONLY)) < 0)
		return errno == ENOENT ? 0 : err_set(EX_TEMPFAIL, "cannot open "
		    "%s/%s/%s: %s", spool_dir, DONEMAP_DIR, rec->qid,
		    strerror(errno));
	if (delayed)
		bad = pwrite(fd, "W", 1, DM_OFF_D) != 1;
	for (i = 0; !delayed && i < rec->nr && !bad; i++)
		if (pick[i])
			bad = pwrite(fd, "R", 1, dm_size(i)) != 1;
	close(fd);
	return bad ? err_set(EX_TEMPFAIL, "cannot record in %s/%s/%s",
	    spool_dir, DONEMAP_DIR, rec->qid) : 0;
}

/* donemap_settled - record that the runner settled the charge of a
 * message intake committed without a verdict (SPOOL_F_NOVERDICT): charged
 * ('S'), or left uncharged until a thaw ('U'); the map is made first. */
int
donemap_settled(const char *spool_dir, const char *qid, size_t nrcpt,
    int uncharged)
{
	int	 fd, bad, rc;

	if ((rc = donemap_create(spool_dir, qid, nrcpt)) != 0)
		return rc;
	if ((fd = dm_open(spool_dir, qid, O_WRONLY)) < 0)
		return err_set(EX_TEMPFAIL, "cannot open %s/%s/%s: %s",
		    spool_dir, DONEMAP_DIR, qid, strerror(errno));
	bad = pwrite(fd, uncharged ? "U" : "S", 1, DM_OFF_C) != 1;
	close(fd);
	return bad ? err_set(EX_TEMPFAIL, "cannot record in %s/%s/%s",
	    spool_dir, DONEMAP_DIR, qid) : 0;
}

/* dm_apply_charge - make rec's charge flags agree with flag G; 1 if
 * changed. */
static int
dm_apply_charge(int g, struct qrec *rec)
{
	int	 n = 0;

	if (g != 'S' && g != 'U' && g != 'Y')
		return 0;
	if (rec->flags & SPOOL_F_NOVERDICT) {
		rec->flags &= ~SPOOL_F_NOVERDICT;	/* never charged twice */
		n = 1;
		if (g == 'U')
			rec->qflags |= QREC_UNCHARGED;
	}
	if (g == 'Y' && (rec->qflags & QREC_UNCHARGED)) {
		rec->qflags &= ~QREC_UNCHARGED;
		n = 1;
	}
	return n;
}

/* dm_read - the whole map of rec into a malloc'ed buffer; NULL if none
 * or damaged (logged). */
static char *
dm_read(const char *spool_dir, const struct qrec *rec)
{
	char	 want[DM_HDRLEN + 1], *buf;
	off_t	 size = dm_size(rec->nr);
	int	 fd;

	if ((fd = dm_open(spool_dir, rec->qid, O_RDONLY)) < 0)
		return NULL;
	snprintf(want, sizeof(want), "sitemail-done 1 n=%08zu d=", rec->nr);
	if ((buf = malloc((size_t)size)) == NULL ||
	    pread(fd, buf, (size_t)size, 0) != size ||
	    pread(fd, want + DM_OFF_D, 1, size) != 0 ||
	    memcmp(buf, want, DM_OFF_D) != 0) {
		log_warn("%s: the done map %s/%s/%s is damaged; ignored",
		    rec->qid, spool_dir, DONEMAP_DIR, rec->qid);
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	return buf;
}

/* dm_apply_slot - make recipient q agree with its slot; 1 if changed. */
static int
dm_apply_slot(const char *slot, struct qrcpt *q)
{
	char	 dsn[DM_DSNLEN + 1], *p, *reason;
	size_t	 n;

	if (slot[0] == 'R' && q->status == QR_BOUNCED &&
	    !(q->rflags & QRCPT_REPORTED)) {
		q->rflags |= QRCPT_REPORTED;
		return 1;
	}
	if ((slot[0] != 'S' && slot[0] != 'B' && slot[0] != 'R') ||
	    q->status == QR_SENT || q->status == QR_BOUNCED)
		return 0;
	memcpy(dsn, slot + 2, DM_DSNLEN);
	dsn[DM_DSNLEN] = '\0';
	n = strcspn(dsn, " ");
	dsn[n] = '\0';
	if ((p = strdup(strcmp(dsn, "-") == 0 ? "" : dsn)) == NULL ||
	    (reason = strdup(slot[0] == 'S' ? "sent (recorded in the done "
	    "map)" : "bounced (recorded in the done map)")) == NULL) {
		free(p);
		return 0;
	}
	free(q->dsn);
	free(q->reason);
	q->dsn = p;
	q->reason = reason;
	q->status = slot[0] == 'S' ? QR_SENT : QR_BOUNCED;
	if (slot[0] == 'R')
		q->rflags |= QRCPT_REPORTED;
	q->next_try = 0;
	return 1;
}

/* donemap_apply - make rec agree with its map. */
int
donemap_apply(const char *spool_dir, struct qrec *rec)
{
	char	*buf;
	size_t	 i;
	int	 n = 0;

	if (rec->nr == 0 || (buf = dm_read(spool_dir, rec)) == NULL)
		return 0;
	for (i = 0; i < rec->nr; i++)
		n += dm_apply_slot(buf + dm_size(i), &rec->r[i]);
	if (buf[DM_OFF_D] == 'Y' && !(rec->qflags & QREC_DSN_QUEUED)) {
		rec->qflags |= QREC_DSN_QUEUED;
		n++;
	}
	if (buf[DM_OFF_D] == 'W' && !(rec->qflags & QREC_DELAY_WARNED)) {
		rec->qflags |= QREC_DELAY_WARNED;
		n++;
	}
	n += dm_apply_charge(buf[DM_OFF_C], rec);
	free(buf);
	return n;
}

/* donemap_remove - forget the map of a finished message. */
void
donemap_remove(const char *spool_dir, const char *qid)
{
	int	 dfd;

	if (!spool_qid_valid(qid) || (dfd = dm_dirfd(spool_dir, 0)) < 0)
		return;
	(void)unlinkat(dfd, qid, 0);
	close(dfd);
}

/* donemap_sweep - remove maps whose queue file is gone. */
unsigned
donemap_sweep(const char *spool_dir)
{
	return spool_layout_sweep(spool_dir, dm_dirfd(spool_dir, 0), "");
}
