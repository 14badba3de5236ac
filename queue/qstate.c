/*
 * qstate.c - the queue state database (state/queue.tdb) and flush
 * requests; see qstate.h.
 *
 * Database: tdb, created mode 0660 (group sitemail) with a jenkins hash
 * and 10007 hash chains, so lookups stay short with many queued messages.
 * Key "m:QID" (no NUL).  Value, version 1: text lines, each ending in LF,
 * no CR or NUL anywhere:
 *
 *	sitemail-qstate 1		first line, exactly
 *	qid QID				required, = the key, spool_qid_valid
 *	site NAME			required, non-empty
 *	uid N				required
 *	arrival SECS.USEC		required, USEC exactly 6 digits
 *	size N				content bytes
 *	sender ADDR			required, empty = null sender
 *	flags N				SPOOL_F_* of the envelope
 *	qflags N			QREC_* bits
 *	hold SECS			rate-limit hold until, 0 = none
 *	frozen 0|1			admin freeze of this message
 *	rcpt S A T D ADDR		one per recipient, at least one:
 *					S status P|D|S|B, A attempts,
 *					T next try (unix seconds, 0 = now),
 *					D enhanced status or "-", ADDR the
 *					rest of the line (non-empty)
 *	why TEXT			optional, right after its rcpt line:
 *					the last reason for that recipient
 *	pad ....			optional, at most once: dots that
 *					give the record room to grow, so an
 *					update usually fits where the
 *					record is (qstate_update_inplace)
 *	rflags N			optional, after its rcpt (and why)
 *					line: QRCPT_* bits (1 = its failure
 *					was reported in a DSN)
 *
 * Numbers are canonical decimal (no sign, no leading zeros); every key but
 * rcpt and why appears at most once, in any order.  The decoder rejects
 * anything else (EX_DATAERR), so a damaged record is skipped and rebuilt
 * from its spool file rather than trusted.
 *
 * Flush requests: one file per request in state/flush/, named by a fresh
 * queue ID, written as ".NAME" and renamed into place; content: lines
 * "site=S", "id=QID", "domain=D", "sender=ADDR", each optional, at most
 * 4 KiB in all.  The scope is the file owner's (see qstate.h).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <tdb.h>

#include "queue/donemap.h"
#include "queue/freeze.h"
#include "queue/qstate.h"
#include "util/db.h"
#include "util/msg.h"

#define QS_MAGIC	"sitemail-qstate 1"
#define QS_HASH_SIZE	10007
#define QS_RCPT_MAX	(1u << 20)
#define QS_PAD_BASE	64		/* room to grow in a new record */
#define QS_PAD_RCPT	128		/* ... per recipient */
#define QS_PAD_MAX	16384

struct qstate {
	struct tdb_context *tdb;
	char	*spool_dir;
	int	 tx;			/* depth of qstate_lock transactions */
	int	 tx_bad;		/* a write in this transaction failed */
};

/* Single-valued keys of a record. */
enum qs_key {
	QK_QID, QK_SITE, QK_UID, QK_ARRIVAL, QK_SIZE, QK_SENDER, QK_FLAGS,
	QK_QFLAGS, QK_HOLD, QK_FROZEN, QK_NKEYS
};

static const char *const qs_keys[QK_NKEYS] = {
	"qid", "site", "uid", "arrival", "size", "sender", "flags", "qflags",
	"hold", "frozen"
};

#define QK_REQUIRED	((1u << QK_QID) | (1u << QK_SITE) | (1u << QK_UID) | \
			 (1u << QK_ARRIVAL) | (1u << QK_SENDER))

/* qs_open - open spool_dir/state/queue.tdb with the given open flags. */
static int
qs_open(struct qstate **qsp, const char *spool_dir, int oflags)
{
	struct qstate *qs;
	struct buf path;
	struct stat st;
	int	 saved, fd;

	*qsp = NULL;
	if ((qs = calloc(1, sizeof(*qs))) == NULL ||
	    (qs->spool_dir = strdup(spool_dir)) == NULL) {
		free(qs);
		return err_set(EX_TEMPFAIL, "qstate: out of memory");
	}
	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/%s", spool_dir, QSTATE_FILE) < 0) {
		buf_free(&path);
		qstate_close(qs);
		return err_set(EX_CONFIG, "spool_dir too long: %s", spool_dir);
	}
	errno = 0;
	/*
	 * Writers use transactions without fsync (atomic against a failed
	 * write or a killed process; power-loss durability of what matters,
	 * final recipients and freezes, is the done maps' and markers' job)
	 * and without mmap: tdb remaps the whole file after every commit,
	 * which made a commit cost 3 ms instead of 0.4 ms.  Read-only
	 * openers (mailq) keep the mmap.
	 */
	qs->tdb = db_open(buf_str(&path), QS_HASH_SIZE,
	    TDB_DEFAULT | TDB_INCOMPATIBLE_HASH | TDB_NOSYNC |
	    ((oflags & O_ACCMODE) == O_RDONLY ? 0 : TDB_NOMMAP), oflags, 0660);
	saved = errno;
	if (qs->tdb == NULL) {
		int rc = (saved == ENOENT && !(oflags & O_CREAT)) ?
		    EX_NOINPUT : EX_TEMPFAIL;

		err_set(rc, "cannot open %s: %s", buf_str(&path),
		    saved ? strerror(saved) : "not a tdb file");
		buf_free(&path);
		qstate_close(qs);
		return rc;
	}
	buf_free(&path);
	/* The creator's umask must not lock intake or the runner out. */
	fd = tdb_fd(qs->tdb);
	if ((oflags & O_CREAT) && fstat(fd, &st) == 0 &&
	    st.st_uid == geteuid() && (st.st_mode & 0660) != 0660)
		(void)fchmod(fd, (st.st_mode & 07777) | 0660);
	*qsp = qs;
	return 0;
}

/* qstate_open - open (creating, mode 0660) spool_dir/state/queue.tdb. */
int
qstate_open(struct qstate **qsp, const char *spool_dir)
{
	return qs_open(qsp, spool_dir, O_RDWR | O_CREAT);
}

/* qstate_open_readonly - open an existing database read-only. */
int
qstate_open_readonly(struct qstate **qsp, const char *spool_dir)
{
	return qs_open(qsp, spool_dir, O_RDONLY);
}

/* qstate_check - EX_DATAERR when the database is damaged. */
int
qstate_check(struct qstate *qs)
{
	if (tdb_check(qs->tdb, NULL, NULL) != 0)
		return err_set(EX_DATAERR, "qstate: %s/%s is damaged: %s",
		    qs->spool_dir, QSTATE_FILE, tdb_errorstr(qs->tdb));
	return 0;
}

/* qstate_discard - move a damaged database aside and start afresh. */
int
qstate_discard(struct qstate **qsp)
{
	struct qstate *qs = *qsp;
	struct buf from, to;
	int	 rc = 0;

	buf_init(&from, PATH_MAX);
	buf_init(&to, PATH_MAX);
	if (buf_printf(&from, "%s/%s", qs->spool_dir, QSTATE_FILE) < 0 ||
	    buf_printf(&to, "%s.bad-%lld", buf_str(&from),
	    (long long)time(NULL)) < 0)
		rc = err_set(EX_CONFIG, "spool_dir too long");
	else if (rename(buf_str(&from), buf_str(&to)) < 0)
		rc = err_set(EX_TEMPFAIL, "cannot move %s aside: %s",
		    buf_str(&from), strerror(errno));
	else {
		char	*dir = strdup(qs->spool_dir);

		log_warn("qstate: moved the damaged %s to %s", buf_str(&from),
		    buf_str(&to));
		qstate_close(qs);
		*qsp = NULL;
		rc = dir ? qstate_open(qsp, dir) :
		    err_set(EX_TEMPFAIL, "out of memory");
		free(dir);
	}
	buf_free(&from);
	buf_free(&to);
	return rc;
}

/* qstate_close - close the database. */
void
qstate_close(struct qstate *qs)
{
	if (qs == NULL)
		return;
	if (qs->tdb != NULL)
		tdb_close(qs->tdb);
	free(qs->spool_dir);
	free(qs);
}

/* qrec_free - free a record's strings. */
void
qrec_free(struct qrec *rec)
{
	size_t	 i;

	for (i = 0; rec->r != NULL && i < rec->nr; i++) {
		free(rec->r[i].addr);
		free(rec->r[i].dsn);
		free(rec->r[i].reason);
	}
	free(rec->r);
	free(rec->site);
	free(rec->sender);
	memset(rec, 0, sizeof(*rec));
}

/* qrec_final - 1 when every recipient is sent or bounced. */
int
qrec_final(const struct qrec *rec)
{
	size_t	 i;

	for (i = 0; i < rec->nr; i++)
		if (rec->r[i].status != QR_SENT &&
		    rec->r[i].status != QR_BOUNCED)
			return 0;
	return 1;
}

/* qs_field_ok - 1 if s may go into a record line (no CR, LF or NUL). */
static int
qs_field_ok(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") == NULL;
}

/* qs_dsn_ok - 1 if s is empty or a short token of digits and dots. */
static int
qs_dsn_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n < 16 && strspn(s, "0123456789.") == n;
}

/* qstate_encode - append the text form of rec to out. */
int
qstate_encode(const struct qrec *rec, struct buf *out)
{
	const struct qrcpt *r;
	size_t	 i;
	int	 bad = 0;

	if (!spool_qid_valid(rec->qid) || !qs_field_ok(rec->site) ||
	    *rec->site == '\0' || !qs_field_ok(rec->sender) || rec->nr == 0 ||
	    rec->arrival < 0 || rec->arrival_usec < 0 ||
	    rec->arrival_usec > 999999 || rec->hold < 0)
		return err_set(EX_SOFTWARE, "qstate: bad record for %s",
		    rec->qid);
	bad |= buf_printf(out, "%s\nqid %s\nsite %s\nuid %lu\narrival "
	    "%lld.%06ld\nsize %" PRIu64 "\nsender %s\nflags %u\nqflags %u\n"
	    "hold %lld\nfrozen %d\n", QS_MAGIC, rec->qid, rec->site,
	    (unsigned long)rec->uid, (long long)rec->arrival,
	    rec->arrival_usec, rec->size, rec->sender, rec->flags,
	    rec->qflags, (long long)rec->hold, rec->frozen ? 1 : 0);
	for (i = 0; i < rec->nr && !bad; i++) {
		r = &rec->r[i];
		if (!qs_field_ok(r->addr) || *r->addr == '\0' ||
		    strchr("PDSB", r->status) == NULL || r->status == '\0' ||
		    r->next_try < 0 || (r->dsn && !qs_dsn_ok(r->dsn)) ||
		    (r->reason && !qs_field_ok(r->reason)))
			return err_set(EX_SOFTWARE, "qstate: bad recipient in "
			    "the record for %s", rec->qid);
		bad |= buf_printf(out, "rcpt %c %u %lld %s %s\n", r->status,
		    r->attempts, (long long)r->next_try,
		    r->dsn && *r->dsn ? r->dsn : "-", r->addr);
		if (r->reason && *r->reason)
			bad |= buf_printf(out, "why %s\n", r->reason);
		if (r->rflags)
			bad |= buf_printf(out, "rflags %u\n", r->rflags);
	}
	if (bad)
		return err_set(EX_TEMPFAIL, "qstate: record for %s too large "
		    "or out of memory", rec->qid);
	return 0;
}

/* qs_strdup - a NUL-terminated copy of n bytes. */
static char *
qs_strdup(const char *p, size_t n)
{
	char	*s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* qs_arrival - "SECS.USEC" with exactly six digits of microseconds. */
static int
qs_arrival(const char *p, size_t n, struct qrec *rec)
{
	const char *dot = memchr(p, '.', n);
	uint64_t s, us;

	if (dot == NULL || (size_t)(p + n - dot - 1) != 6 ||
	    spool_number(p, (size_t)(dot - p), INT64_MAX, &s) < 0)
		return -1;
	/* Six digits, leading zeros allowed here. */
	for (us = 0, dot++; dot < p + n; dot++) {
		if (*dot < '0' || *dot > '9')
			return -1;
		us = us * 10 + (uint64_t)(*dot - '0');
	}
	rec->arrival = (time_t)s;
	rec->arrival_usec = (long)us;
	return 0;
}

/* qs_rcpt_add - parse "S A T D ADDR" into a new recipient. */
static int
qs_rcpt_add(const char *p, size_t n, struct qrec *rec, size_t *cap)
{
	const char *end = p + n, *f[4];
	size_t	 len[4];
	uint64_t att, next;
	struct qrcpt *r;
	int	 i;

	for (i = 0; i < 4; i++) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));

		if (sp == NULL)
			return -1;
		f[i] = p;
		len[i] = (size_t)(sp - p);
		p = sp + 1;
	}
	if (p >= end || len[0] != 1 || strchr("PDSB", *f[0]) == NULL ||
	    spool_number(f[1], len[1], UINT_MAX, &att) < 0 ||
	    spool_number(f[2], len[2], INT64_MAX, &next) < 0 ||
	    len[3] == 0 || len[3] > 15)
		return -1;
	if (!(len[3] == 1 && *f[3] == '-'))
		for (i = 0; i < (int)len[3]; i++)
			if (!isdigit((unsigned char)f[3][i]) && f[3][i] != '.')
				return -1;
	if (rec->nr >= QS_RCPT_MAX)
		return -1;
	if (rec->nr == *cap) {
		size_t	 ncap = *cap ? *cap * 2 : 4;

		if ((r = realloc(rec->r, ncap * sizeof(*r))) == NULL)
			return -1;
		rec->r = r;
		*cap = ncap;
	}
	r = &rec->r[rec->nr];
	memset(r, 0, sizeof(*r));
	r->status = *f[0];
	r->attempts = (unsigned)att;
	r->next_try = (time_t)next;
	r->addr = qs_strdup(p, (size_t)(end - p));
	r->dsn = (len[3] == 1 && *f[3] == '-') ? strdup("") :
	    qs_strdup(f[3], len[3]);
	r->reason = strdup("");
	rec->nr++;
	if (r->addr == NULL || r->dsn == NULL || r->reason == NULL)
		return -1;
	return 0;
}

/* qs_line - apply one "key value" line to rec. */
static int
qs_line(const char *p, size_t n, struct qrec *rec, unsigned *seen,
    size_t *cap, int *why_ok)
{
	const char *sp = memchr(p, ' ', n), *v;
	size_t	 klen, vlen;
	uint64_t num;
	int	 k;

	if (sp == NULL)
		return -1;
	klen = (size_t)(sp - p);
	v = sp + 1;
	vlen = n - klen - 1;
	if (klen == 4 && memcmp(p, "rcpt", 4) == 0) {
		*why_ok = 1;
		return qs_rcpt_add(v, vlen, rec, cap);
	}
	if (klen == 3 && memcmp(p, "pad", 3) == 0) {
		/* Room for in-place updates (qs_pad): dots only. */
		*why_ok = 0;
		return strspn(v, ".") >= vlen ? 0 : -1;
	}
	if (klen == 6 && memcmp(p, "rflags", 6) == 0) {
		/* after its rcpt line, or after that line's why */
		if (*why_ok == 0 || spool_number(v, vlen, UINT_MAX, &num) < 0)
			return -1;
		*why_ok = 0;
		rec->r[rec->nr - 1].rflags = (unsigned)num;
		return 0;
	}
	if (klen == 3 && memcmp(p, "why", 3) == 0) {
		if (*why_ok != 1)
			return -1;
		*why_ok = 2;
		free(rec->r[rec->nr - 1].reason);
		rec->r[rec->nr - 1].reason = qs_strdup(v, vlen);
		return rec->r[rec->nr - 1].reason ? 0 : -1;
	}
	*why_ok = 0;
	for (k = 0; k < QK_NKEYS; k++)
		if (strlen(qs_keys[k]) == klen && memcmp(p, qs_keys[k],
		    klen) == 0)
			break;
	if (k == QK_NKEYS || (*seen & (1u << k)))
		return -1;
	*seen |= 1u << k;
	switch (k) {
	case QK_QID:
		if (vlen != SPOOL_QIDLEN)
			return -1;
		memcpy(rec->qid, v, vlen);
		rec->qid[vlen] = '\0';
		return spool_qid_valid(rec->qid) ? 0 : -1;
	case QK_SITE:
		if (vlen == 0)
			return -1;
		return (rec->site = qs_strdup(v, vlen)) ? 0 : -1;
	case QK_SENDER:
		return (rec->sender = qs_strdup(v, vlen)) ? 0 : -1;
	case QK_ARRIVAL:
		return qs_arrival(v, vlen, rec);
	case QK_UID:
		if (spool_number(v, vlen, UINT32_MAX - 1, &num) < 0)
			return -1;
		rec->uid = (uid_t)num;
		return 0;
	case QK_SIZE:
		return spool_number(v, vlen, UINT64_MAX, &rec->size);
	case QK_FLAGS:
	case QK_QFLAGS:
		if (spool_number(v, vlen, UINT_MAX, &num) < 0)
			return -1;
		*(k == QK_FLAGS ? &rec->flags : &rec->qflags) = (unsigned)num;
		return 0;
	case QK_HOLD:
		if (spool_number(v, vlen, INT64_MAX, &num) < 0)
			return -1;
		rec->hold = (time_t)num;
		return 0;
	default:	/* QK_FROZEN */
		if (spool_number(v, vlen, 1, &num) < 0)
			return -1;
		rec->frozen = (int)num;
		return 0;
	}
}

/* qstate_decode - strictly parse the text form into rec. */
int
qstate_decode(const char *text, size_t len, struct qrec *rec)
{
	const char *p = text, *end = text + len, *nl;
	size_t	 cap = 0, mlen = strlen(QS_MAGIC);
	unsigned seen = 0;
	int	 why_ok = 0;

	memset(rec, 0, sizeof(*rec));
	if (len > QSTATE_REC_MAX || memchr(text, '\0', len) != NULL ||
	    memchr(text, '\r', len) != NULL)
		goto bad;
	if (len < mlen + 1 || memcmp(p, QS_MAGIC, mlen) != 0 ||
	    p[mlen] != '\n')
		goto bad;
	for (p += mlen + 1; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			goto bad;
		if (qs_line(p, (size_t)(nl - p), rec, &seen, &cap,
		    &why_ok) < 0)
			goto bad;
	}
	if ((seen & QK_REQUIRED) != QK_REQUIRED || rec->nr == 0)
		goto bad;
	return 0;
bad:
	qrec_free(rec);
	return err_set(EX_DATAERR, "qstate: malformed record");
}

/* qs_key - the tdb key "m:QID" in a caller-provided array. */
static int
qs_key(const char *qid, char kbuf[SPOOL_QIDLEN + 3], TDB_DATA *key)
{
	if (qid == NULL || !spool_qid_valid(qid))
		return err_set(EX_SOFTWARE, "qstate: bad queue ID");
	kbuf[0] = 'm';
	kbuf[1] = ':';
	memcpy(kbuf + 2, qid, SPOOL_QIDLEN);
	kbuf[SPOOL_QIDLEN + 2] = '\0';
	key->dptr = (unsigned char *)kbuf;
	key->dsize = SPOOL_QIDLEN + 2;
	return 0;
}

/* qs_tx_begin - start a transaction for one write (a no-op inside
 * qstate_lock, or when want is 0): tdb_store(TDB_REPLACE) frees the old
 * record before it allocates the new one, so on a full disk a bare store
 * loses the record; inside a transaction the old one stays until the
 * commit succeeds. */
static int
qs_tx_begin(struct qstate *qs, int want)
{
	if (!want || qs->tx > 0)
		return 0;
	if (tdb_transaction_start(qs->tdb) != 0)
		return err_set(EX_TEMPFAIL, "qstate: cannot start a "
		    "transaction: %s", tdb_errorstr(qs->tdb));
	return 0;
}

/* qs_tx_end - commit the write of qs_tx_begin (cancel it when rc != 0);
 * inside qstate_lock, remember a failure for the commit at unlock. */
static int
qs_tx_end(struct qstate *qs, int rc, const char *qid)
{
	if (qs->tx > 0) {
		if (rc != 0)
			qs->tx_bad = 1;
		return rc;
	}
	if (rc != 0) {
		(void)tdb_transaction_cancel(qs->tdb);
		return rc;
	}
	if (tdb_transaction_commit(qs->tdb) != 0)
		return err_set(EX_TEMPFAIL, "qstate: cannot store %s: %s",
		    qid, tdb_errorstr(qs->tdb));
	return 0;
}

static int qs_store_min(struct qstate *, const struct qrec *, int, size_t);

/* qs_pad - append a "pad" line so text is at least want bytes long (a
 * line is at least 5 bytes, so a shortfall of 1 to 4 ends a little
 * longer); records are written with room to grow, so that most updates
 * fit where the record is and tdb rewrites it in place. */
static int
qs_pad(struct buf *text, size_t want)
{
	size_t	 n;

	if (text->len >= want)
		return 0;
	n = want - text->len < 5 ? 5 : want - text->len;
	if (buf_add(text, "pad ", 4) < 0)
		return -1;
	for (n -= 5; n > 0; n--)
		if (buf_add(text, ".", 1) < 0)
			return -1;
	return buf_add(text, "\n", 1) < 0 ? -1 : 0;
}

/* qs_reserve - the room a new record of nr recipients is given. */
static size_t
qs_reserve(size_t nr)
{
	size_t	 r = QS_PAD_BASE + QS_PAD_RCPT * nr;

	return r < QS_PAD_MAX ? r : QS_PAD_MAX;
}

/* qs_store - encode and store rec with the given tdb flag (a new record
 * gets room to grow; a replaced one is padded to at least min_len). */
static int
qs_store(struct qstate *qs, const struct qrec *rec, int flag)
{
	return qs_store_min(qs, rec, flag, 0);
}

/* qs_store_min - qs_store, padding the text to at least min_len. */
static int
qs_store_min(struct qstate *qs, const struct qrec *rec, int flag,
    size_t min_len)
{
	char	 kbuf[SPOOL_QIDLEN + 3];
	TDB_DATA key, val;
	struct buf text;
	size_t	 want;
	int	 rc;

	if ((rc = qs_key(rec->qid, kbuf, &key)) != 0)
		return rc;
	buf_init(&text, QSTATE_REC_MAX);
	if ((rc = qstate_encode(rec, &text)) != 0) {
		buf_free(&text);
		return rc;
	}
	want = flag == TDB_INSERT || min_len == 0 ?
	    text.len + qs_reserve(rec->nr) : min_len;
	if (qs_pad(&text, want) < 0) {
		buf_free(&text);
		return err_set(EX_SOFTWARE, "qstate: record too long");
	}
	val.dptr = (unsigned char *)text.ptr;
	val.dsize = text.len;
	rc = qs_tx_begin(qs, flag == TDB_REPLACE);
	if (rc == 0 && tdb_store(qs->tdb, key, val, flag) != 0) {
		rc = (flag == TDB_INSERT &&
		    tdb_error(qs->tdb) == TDB_ERR_EXISTS) ? 0 :
		    err_set(EX_TEMPFAIL, "qstate: cannot store %s: %s",
		    rec->qid, tdb_errorstr(qs->tdb));
	}
	if (flag == TDB_REPLACE)
		rc = qs_tx_end(qs, rc, rec->qid);
	buf_free(&text);
	return rc;
}

/* qstate_rec_from_env - fill a fresh record (all pending) from env. */
int
qstate_rec_from_env(struct qrec *rec, const struct envelope *env,
    uint64_t size)
{
	size_t	 i;

	memset(rec, 0, sizeof(*rec));
	snprintf(rec->qid, sizeof(rec->qid), "%s", env->qid);
	rec->uid = env->uid;
	rec->arrival = env->time;
	rec->arrival_usec = env->time_usec;
	rec->size = size;
	rec->flags = env->flags;
#ifdef SPOOL_F_UNCHARGED
	if (env->flags & SPOOL_F_UNCHARGED)
		rec->qflags |= QREC_UNCHARGED;
#endif
	rec->hold = env->hold;
	rec->site = strdup(env->site ? env->site : "");
	rec->sender = strdup(env->sender ? env->sender : "");
	rec->r = calloc(env->nrcpt ? env->nrcpt : 1, sizeof(*rec->r));
	if (rec->site == NULL || rec->sender == NULL || rec->r == NULL)
		goto nomem;
	for (i = 0; i < env->nrcpt; i++) {
		rec->nr++;
		rec->r[i].status = QR_PENDING;
		if ((rec->r[i].addr = strdup(env->rcpt[i])) == NULL ||
		    (rec->r[i].dsn = strdup("")) == NULL ||
		    (rec->r[i].reason = strdup("")) == NULL)
			goto nomem;
	}
	return 0;
nomem:
	qrec_free(rec);
	return err_set(EX_TEMPFAIL, "qstate: out of memory");
}

static void (*qs_queued_fn)(const struct envelope *, uint64_t);

/* qstate_queued_hook - fn (or NULL) sees every message qs_log_queued logs. */
void
qstate_queued_hook(void (*fn)(const struct envelope *, uint64_t size))
{
	qs_queued_fn = fn;
}

/* qs_log_queued - the line every accepted message gets from a trusted
 * process when it is first indexed (intake's own line may have been lost
 * to a log the site broke). */
static void
qs_log_queued(const struct envelope *env, uint64_t size)
{
	if (env->flags & (SPOOL_F_BOUNCE | SPOOL_F_ALERT))
		return;
	if (qs_queued_fn != NULL)
		qs_queued_fn(env, size);
	log_info("%s: queued: from=<%s> size=%llu nrcpt=%zu site=%s uid=%lu "
	    "cwd=%s script=%s", env->qid, env->sender ? env->sender : "",
	    (unsigned long long)size, env->nrcpt, env->site,
	    (unsigned long)env->uid, env->cwd ? env->cwd : "?",
	    env->script && *env->script ? env->script : "-");
}

/* qstate_add - a new record from a committed envelope (all pending). */
int
qstate_add(struct qstate *qs, const struct envelope *env, uint64_t size)
{
	struct qrec rec;
	int	 rc;

	if (qstate_has(qs, env->qid))
		return 0;
	if ((rc = qstate_rec_from_env(&rec, env, size)) != 0)
		return rc;
	rc = qs_store(qs, &rec, TDB_INSERT);
	qrec_free(&rec);
	if (rc == 0)
		qs_log_queued(env, size);
	return rc;
}

/* qstate_get - fetch a record; EX_NOINPUT when there is none. */
int
qstate_get(struct qstate *qs, const char *qid, struct qrec *rec)
{
	char	 kbuf[SPOOL_QIDLEN + 3];
	TDB_DATA key, val;
	int	 rc;

	memset(rec, 0, sizeof(*rec));
	if ((rc = qs_key(qid, kbuf, &key)) != 0)
		return rc;
	val = tdb_fetch(qs->tdb, key);
	if (val.dptr == NULL)
		return tdb_error(qs->tdb) == TDB_ERR_NOEXIST ?
		    err_set(EX_NOINPUT, "%s: no such message", qid) :
		    err_set(EX_TEMPFAIL, "qstate: cannot read %s: %s", qid,
		    tdb_errorstr(qs->tdb));
	rc = qstate_decode((const char *)val.dptr, val.dsize, rec);
	free(val.dptr);
	if (rc == 0 && strcmp(rec->qid, qid) != 0) {
		qrec_free(rec);
		rc = err_set(EX_DATAERR, "qstate: record %s names %s", qid,
		    rec->qid);
	} else if (rc != 0)
		err_set(rc, "qstate: malformed record for %s", qid);
	return rc;
}

/* qstate_put - store a record (replace). */
int
qstate_put(struct qstate *qs, const struct qrec *rec)
{
	return qs_store(qs, rec, TDB_REPLACE);
}

/* qstate_delete - remove a record (none is fine). */
int
qstate_delete(struct qstate *qs, const char *qid)
{
	char	 kbuf[SPOOL_QIDLEN + 3];
	TDB_DATA key;
	int	 rc;

	if ((rc = qs_key(qid, kbuf, &key)) != 0)
		return rc;
	if (tdb_delete(qs->tdb, key) != 0 &&
	    tdb_error(qs->tdb) != TDB_ERR_NOEXIST) {
		rc = err_set(EX_TEMPFAIL, "qstate: cannot delete %s: %s",
		    qid, tdb_errorstr(qs->tdb));
		if (qs->tx > 0)
			qs->tx_bad = 1;
	}
	return rc;
}

/* qstate_lock - start a transaction for a read-modify-write of qid
 * (blocking; it serialises every writer, and its writes land together
 * or not at all). */
int
qstate_lock(struct qstate *qs, const char *qid)
{
	char	 kbuf[SPOOL_QIDLEN + 3];
	TDB_DATA key;
	int	 rc;

	if ((rc = qs_key(qid, kbuf, &key)) != 0)
		return rc;
	if (tdb_transaction_start(qs->tdb) != 0)
		return err_set(EX_TEMPFAIL, "qstate: cannot lock %s: %s", qid,
		    tdb_errorstr(qs->tdb));
	if (qs->tx++ == 0)
		qs->tx_bad = 0;
	return 0;
}

/* qstate_unlock - commit what was written since qstate_lock (nothing of
 * it when a write failed: the old records stay). */
int
qstate_unlock(struct qstate *qs, const char *qid)
{
	int	 bad;

	if (qs->tx == 0)
		return err_set(EX_SOFTWARE, "qstate: unlock without a lock");
	qs->tx--;
	bad = qs->tx_bad;
	if (bad) {
		(void)tdb_transaction_cancel(qs->tdb);
		return err_set(EX_TEMPFAIL, "qstate: %s: not stored (a write "
		    "failed)", qid);
	}
	if (tdb_transaction_commit(qs->tdb) != 0)
		return err_set(EX_TEMPFAIL, "qstate: cannot store %s: %s",
		    qid, tdb_errorstr(qs->tdb));
	return 0;
}

/* qstate_update - locked read-modify-write of one record. */
int
qstate_update(struct qstate *qs, const char *qid,
    int (*fn)(void *, struct qrec *), void *ctx)
{
	struct qrec rec;
	int	 rc;

	if ((rc = qstate_lock(qs, qid)) != 0)
		return rc;
	if ((rc = qstate_get(qs, qid, &rec)) == 0) {
		rc = fn(ctx, &rec);
		if (rc == 0)
			rc = qstate_put(qs, &rec);
		else if (rc == QSTATE_KEEP)
			rc = 0;
		qrec_free(&rec);
	}
	if (qstate_unlock(qs, qid) != 0 && rc == 0)
		rc = EX_TEMPFAIL;
	return rc;
}

/* qstate_update_inplace - qstate_update without a transaction when it can
 * be done safely: under the chain lock, a new text no longer than the
 * stored one (padded to the same length) is written where the old one is
 * (tdb updates in place when the data fits), so a full disk cannot lose
 * it.  A record that must grow goes through qstate_update (a transaction),
 * calling fn again on a fresh copy: fn must be idempotent. */
int
qstate_update_inplace(struct qstate *qs, const char *qid,
    int (*fn)(void *, struct qrec *), void *ctx)
{
	char	 kbuf[SPOOL_QIDLEN + 3];
	struct buf text;
	struct qrec rec;
	TDB_DATA key, val;
	size_t	 old_len;
	int	 rc;

	if ((rc = qs_key(qid, kbuf, &key)) != 0)
		return rc;
	if (tdb_chainlock(qs->tdb, key) != 0)
		return err_set(EX_TEMPFAIL, "qstate: cannot lock %s: %s", qid,
		    tdb_errorstr(qs->tdb));
	val = tdb_fetch(qs->tdb, key);
	if (val.dptr == NULL) {
		tdb_chainunlock(qs->tdb, key);
		return qstate_update(qs, qid, fn, ctx);
	}
	old_len = val.dsize;
	rc = qstate_decode((const char *)val.dptr, val.dsize, &rec);
	free(val.dptr);
	if (rc != 0 || strcmp(rec.qid, qid) != 0) {
		if (rc == 0)
			qrec_free(&rec);
		tdb_chainunlock(qs->tdb, key);
		return qstate_update(qs, qid, fn, ctx);
	}
	buf_init(&text, QSTATE_REC_MAX);
	rc = fn(ctx, &rec);
	if (rc == 0 && (qstate_encode(&rec, &text) != 0 ||
	    qs_pad(&text, old_len) < 0 || text.len != old_len))
		rc = 1;			/* does not fit: the slow way */
	else if (rc == 0) {
		val.dptr = (unsigned char *)text.ptr;
		val.dsize = text.len;
		if (tdb_store(qs->tdb, key, val, TDB_REPLACE) != 0)
			rc = err_set(EX_TEMPFAIL, "qstate: cannot store %s: %s",
			    qid, tdb_errorstr(qs->tdb));
	} else if (rc == QSTATE_KEEP)
		rc = 0;
	buf_free(&text);
	qrec_free(&rec);
	tdb_chainunlock(qs->tdb, key);
	return rc == 1 ? qstate_update(qs, qid, fn, ctx) : rc;
}

/* One traverse in progress. */
struct qs_walk {
	int	(*fn)(void *, const struct qrec *);
	void	*ctx;
	int	 rc;
};

/* qs_walk_one - decode one tdb record and hand it to the caller. */
static int
qs_walk_one(struct tdb_context *tdb, TDB_DATA key, TDB_DATA val, void *arg)
{
	struct qs_walk *w = arg;
	struct qrec rec;

	(void)tdb;
	if (key.dsize != SPOOL_QIDLEN + 2 || memcmp(key.dptr, "m:", 2) != 0)
		return 0;
	if (qstate_decode((const char *)val.dptr, val.dsize, &rec) != 0 ||
	    memcmp(rec.qid, key.dptr + 2, SPOOL_QIDLEN) != 0) {
		log_warn("qstate: skipping a malformed record for %.*s",
		    SPOOL_QIDLEN, (const char *)key.dptr + 2);
		qrec_free(&rec);
		return 0;
	}
	w->rc = w->fn(w->ctx, &rec);
	qrec_free(&rec);
	return w->rc != 0;
}

/* qstate_traverse - call fn for every valid record. */
int
qstate_traverse(struct qstate *qs, int (*fn)(void *, const struct qrec *),
    void *ctx)
{
	struct qs_walk w = { fn, ctx, 0 };

	if (tdb_traverse_read(qs->tdb, qs_walk_one, &w) < 0 && w.rc == 0)
		return err_set(EX_TEMPFAIL, "qstate: cannot traverse: %s",
		    tdb_errorstr(qs->tdb));
	return w.rc;
}

/* A list of queue IDs (rebuild). */
struct qs_ids {
	char	(*v)[SPOOL_QIDLEN + 1];
	size_t	 n, cap;
};

/* qs_ids_add - append one queue ID. */
static int
qs_ids_add(struct qs_ids *ids, const char *qid)
{
	if (ids->n == ids->cap) {
		size_t	 ncap = ids->cap ? ids->cap * 2 : 64;
		void	*p = realloc(ids->v, ncap * sizeof(*ids->v));

		if (p == NULL)
			return err_set(EX_TEMPFAIL, "qstate: out of memory");
		ids->v = p;
		ids->cap = ncap;
	}
	memcpy(ids->v[ids->n++], qid, SPOOL_QIDLEN + 1);
	return 0;
}

/* qs_ids_collect - traverse callback: remember every queue ID. */
static int
qs_ids_collect(void *ctx, const struct qrec *rec)
{
	return qs_ids_add(ctx, rec->qid);
}

/* qstate_has - 1 if there is a record for qid. */
int
qstate_has(struct qstate *qs, const char *qid)
{
	char	 kbuf[SPOOL_QIDLEN + 3];
	TDB_DATA key;

	return qs_key(qid, kbuf, &key) == 0 && tdb_exists(qs->tdb, key);
}

/* qs_add_recovered - qstate_add, with what the done map and the freeze
 * markers know applied to the fresh record. */
static int
qs_add_recovered(struct qstate *qs, const struct envelope *env,
    uint64_t size, int replace)
{
	struct qrec rec;
	int	 rc;

	if ((rc = qstate_rec_from_env(&rec, env, size)) != 0)
		return rc;
	(void)qstate_recover(qs->spool_dir, &rec);
	rc = qs_store(qs, &rec, replace ? TDB_REPLACE : TDB_INSERT);
	qrec_free(&rec);
	return rc;
}

/* qstate_recover - apply the done map and the freeze marker to rec. */
int
qstate_recover(const char *spool_dir, struct qrec *rec)
{
	int	 n = donemap_apply(spool_dir, rec);

	if (!rec->frozen && freeze_msg_get(spool_dir, rec->qid)) {
		rec->frozen = 1;
		n++;
	}
	return n;
}

/* qs_damaged - 0 if qid has a good record, 1 if its record does not
 * decode, -1 if it has none (or cannot be read now). */
static int
qs_damaged(struct qstate *qs, const char *qid)
{
	struct qrec rec;
	int	 rc;

	if (!qstate_has(qs, qid))
		return -1;
	if ((rc = qstate_get(qs, qid, &rec)) == 0) {
		qrec_free(&rec);
		return 0;
	}
	return rc == EX_DATAERR ? 1 : 0;
}

/* qs_index_file - verify queue/name and add its record; quarantine it
 * when it fails verification.  Returns 1 if a record was added. */
static int
qs_index_file(struct qstate *qs, int queuefd, const char *name,
    const unsigned char *key, int replace)
{
	struct spool_msg msg;
	int	 rc;

	rc = spool_open(&msg, queuefd, name, key);
	if (rc == EX_DATAERR) {
		struct stat st;

		if (fstatat(queuefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !qstate_has(qs, name)) {
			char	 why[512];

			snprintf(why, sizeof(why), "%s", err_str());
			(void)spool_quarantine(qs->spool_dir, name, why);
		}
		return 0;
	}
	if (rc != 0)
		return 0;
	rc = qs_add_recovered(qs, &msg.env, msg.content_len, replace);
	if (rc == 0 && !replace)
		qs_log_queued(&msg.env, msg.content_len);
	spool_close(&msg);
	if (rc != 0) {
		log_warn("%s: cannot index: %s", name, err_str());
		return 0;
	}
	return 1;
}

/* qs_rebuild_files - index queue/ files older than min_age without a
 * record. */
static int
qs_rebuild_files(struct qstate *qs, int queuefd, const unsigned char *key,
    time_t min_age, unsigned *added)
{
	struct dirent *de;
	struct stat st;
	time_t	 now = time(NULL);
	DIR	*dir;
	int	 fd, bad = -1;

	if ((fd = dup(queuefd)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return err_set(EX_TEMPFAIL, "cannot read %s/queue: %s",
		    qs->spool_dir, strerror(errno));
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (spool_qid_valid(de->d_name) &&
		    (bad = qs_damaged(qs, de->d_name)) == 0)
			continue;
		if (fstatat(queuefd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (min_age > 0 && st.st_mtime > now - min_age))
			continue;
		if (bad == 1)
			log_warn("%s: its queue state record is damaged; "
			    "rebuilt from the spool file", de->d_name);
		*added += (unsigned)qs_index_file(qs, queuefd, de->d_name,
		    key, bad == 1);
	}
	closedir(dir);
	return 0;
}

/* qs_rebuild_records - drop records whose queue file is gone. */
static int
qs_rebuild_records(struct qstate *qs, int queuefd, unsigned *dropped)
{
	struct qs_ids ids = { NULL, 0, 0 };
	struct stat st;
	size_t	 i;
	int	 rc;

	if ((rc = qstate_traverse(qs, qs_ids_collect, &ids)) != 0) {
		free(ids.v);
		return rc;
	}
	for (i = 0; i < ids.n; i++) {
		if (fstatat(queuefd, ids.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    errno != ENOENT)
			continue;
		if (qstate_lock(qs, ids.v[i]) != 0)
			continue;
		/* Checked again under the lock: the file may be new. */
		if (fstatat(queuefd, ids.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT && qstate_delete(qs, ids.v[i]) == 0)
			(*dropped)++;
		qstate_unlock(qs, ids.v[i]);
	}
	free(ids.v);
	return 0;
}

/* qstate_rebuild - index unknown queue files, drop records without one. */
int
qstate_rebuild(struct qstate *qs, const unsigned char key[SPOOL_KEYLEN],
    time_t min_age, unsigned *added, unsigned *dropped)
{
	struct buf path;
	int	 queuefd, rc;

	*added = *dropped = 0;
	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/queue", qs->spool_dir) < 0) {
		buf_free(&path);
		return err_set(EX_CONFIG, "spool_dir too long");
	}
	queuefd = open(buf_str(&path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (queuefd < 0) {
		rc = err_set(EX_TEMPFAIL, "cannot open %s: %s", buf_str(&path),
		    strerror(errno));
		buf_free(&path);
		return rc;
	}
	buf_free(&path);
	rc = qs_rebuild_files(qs, queuefd, key, min_age, added);
	if (rc == 0)
		rc = qs_rebuild_records(qs, queuefd, dropped);
	close(queuefd);
	return rc;
}

/* Flush requests. */

