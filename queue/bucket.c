/*
 * bucket.c - per-site token buckets in state/bucket.tdb; the model, the
 * record format and the verdicts are described in bucket.h.
 *
 * Each operation is one read-modify-write of one record under
 * tdb_chainlock(): fetch, check, refill, apply, store (TDB_REPLACE of a
 * record of the same size is an in-place overwrite), unlock.  That is two
 * fcntl() calls plus memory copies: microseconds, no fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tdb.h>

#include "queue/bucket.h"
#include "util/buf.h"
#include "util/db.h"
#include "util/msg.h"

#define BUCKET_NAME_MAX	255		/* longest site name (SITE_NAME_MAX) */

struct bucket_db {
	struct tdb_context *tdb;
	char	*path;
};

/* One update: op changes rec (already refilled) and fills res. */
struct bucket_op {
	const struct conf_limits *limits;
	double	 cost;
	double	 now;
	enum bucket_verdict verdict;	/* for refunds */
	int	 release;		/* bucket_charge_release() */
	int	 frozen, automatic;	/* bucket_set_frozen() */
	struct bucket_result *res;
};

typedef void (*bucket_apply_fn)(struct bucket_rec *, struct bucket_op *);

/* bucket_open_path - open (creating) the bucket database at path. */
int
bucket_open_path(struct bucket_db **dbp, const char *path)
{
	struct bucket_db *db;
	struct stat st;
	int	 fd;

	*dbp = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->path = strdup(path)) == NULL) {
		free(db);
		return err_set(EX_TEMPFAIL, "bucket: out of memory");
	}
	/* tdb serialises concurrent creators with its open lock. */
	db->tdb = db_open(path, 0, TDB_DEFAULT,
	    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0660);
	if (db->tdb == NULL) {
		int	 saved = errno;

		free(db->path);
		free(db);
		return err_set(EX_TEMPFAIL, "cannot open %s: %s", path,
		    saved ? strerror(saved) : "not a tdb file");
	}
	/* The creator's umask must not lock the other sites out. */
	fd = tdb_fd(db->tdb);
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
	    (st.st_mode & 0660) != 0660)
		(void)fchmod(fd, (st.st_mode & 07777) | 0660);
	*dbp = db;
	return 0;
}

/* bucket_open - open spool_dir/state/bucket.tdb. */
int
bucket_open(struct bucket_db **dbp, const char *spool_dir)
{
	struct buf path;
	int	 rc;

	buf_init(&path, 4096);
	if (buf_printf(&path, "%s/%s", spool_dir, BUCKET_FILE) < 0) {
		*dbp = NULL;
		buf_free(&path);
		return err_set(EX_CONFIG, "spool_dir too long: %s", spool_dir);
	}
	rc = bucket_open_path(dbp, buf_str(&path));
	buf_free(&path);
	return rc;
}

/* bucket_close - close the database. */
void
bucket_close(struct bucket_db *db)
{
	if (db == NULL)
		return;
	if (db->tdb != NULL)
		tdb_close(db->tdb);
	free(db->path);
	free(db);
}

/* bucket_key - the tdb key of a site; EX_SOFTWARE for a bad name. */
static int
bucket_key(const char *site, TDB_DATA *key)
{
	size_t	 n;

	if (site == NULL || (n = strlen(site)) == 0 || n > BUCKET_NAME_MAX)
		return err_set(EX_SOFTWARE, "bucket: bad site name");
	key->dptr = (unsigned char *)(uintptr_t)site;
	key->dsize = n;
	return 0;
}

/* bucket_size - the size of bucket i: burst for the first, else its N. */
static double
bucket_size(const struct conf_limits *limits, unsigned i)
{
	return i == 0 ? limits->burst : limits->rates.count[i];
}

/* bucket_rate - the refill of bucket i, tokens per second: limits->rate
 * for the first (conf.c sets it from the list), count / period after. */
static double
bucket_rate(const struct conf_limits *limits, unsigned i)
{
	if (i == 0 || limits->rates.n == 0)
		return limits->rate;
	return limits->rates.count[i] / limits->rates.period[i];
}

/* bucket_period - the unit of bucket i (0: unknown, no rate list). */
static double
bucket_period(const struct conf_limits *limits, unsigned i)
{
	return limits->rates.n == 0 ? 0 : limits->rates.period[i];
}

/* bucket_nrates - the configured buckets (1..BUCKET_MAX). */
static unsigned
bucket_nrates(const struct conf_limits *limits)
{
	unsigned n = limits->rates.n;

	return n == 0 ? 1 : n > BUCKET_MAX ? BUCKET_MAX : n;
}

/* bucket_lowest - set rec->tokens to the lowest balance. */
static void
bucket_lowest(struct bucket_rec *rec)
{
	unsigned i;

	for (i = 0; i < rec->nb; i++)
		if (i == 0 || rec->btokens[i] < rec->tokens)
			rec->tokens = rec->btokens[i];
}

/* bucket_fresh - full buckets at time now (limits NULL: none known, every
 * bucket starts full at the next refill). */
static void
bucket_fresh(struct bucket_rec *rec, const struct conf_limits *limits,
    double now)
{
	unsigned i;

	memset(rec, 0, sizeof(*rec));
	rec->version = BUCKET_REC_VERSION;
	rec->tokens = DBL_MAX;
	rec->stamp = now;
	if (limits == NULL)
		return;
	rec->nb = bucket_nrates(limits);
	for (i = 0; i < rec->nb; i++) {
		rec->period[i] = bucket_period(limits, i);
		rec->btokens[i] = bucket_size(limits, i);
	}
	bucket_lowest(rec);
}

/* bucket_valid_v1 - a version-1 record (one bucket) as version 2; its
 * bucket has period 0, "whatever the first rate is". */
static int
bucket_valid_v1(const TDB_DATA *data, struct bucket_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	memcpy(rec, data->dptr, BUCKET_REC_V1_SIZE);
	if (rec->version != BUCKET_REC_V1)
		return 0;
	rec->version = BUCKET_REC_VERSION;
	rec->nb = 1;
	rec->btokens[0] = rec->tokens;
	return 1;
}

/* bucket_valid - 1 when data holds a record this code may trust (a
 * version-1 record is converted). */
static int
bucket_valid(const TDB_DATA *data, struct bucket_rec *rec)
{
	unsigned i;

	if (data->dptr == NULL)
		return 0;
	if (data->dsize == BUCKET_REC_V1_SIZE) {
		if (!bucket_valid_v1(data, rec))
			return 0;
	} else if (data->dsize == sizeof(*rec)) {
		memcpy(rec, data->dptr, sizeof(*rec));
		if (rec->version != BUCKET_REC_VERSION || rec->nb > BUCKET_MAX)
			return 0;
	} else
		return 0;
	for (i = 0; i < rec->nb; i++)
		if (!isfinite(rec->btokens[i]) || !isfinite(rec->period[i]) ||
		    rec->period[i] < 0)
			return 0;
	return (rec->flags & ~(uint32_t)(BUCKET_FROZEN | BUCKET_AUTO)) == 0 &&
	    isfinite(rec->tokens) && isfinite(rec->stamp) &&
	    isfinite(rec->frozen_waiting) && isfinite(rec->charged) &&
	    rec->frozen_waiting >= 0;
}

/* bucket_match - order rec's buckets as limits' rates, by period: a
 * stored bucket of the same unit keeps its balance (a version-1 bucket
 * goes first), a new unit starts full. */
static void
bucket_match(struct bucket_rec *rec, const struct conf_limits *limits)
{
	double	 t[BUCKET_MAX];
	unsigned i, j, n = bucket_nrates(limits);

	for (i = 0; i < n; i++) {
		t[i] = bucket_size(limits, i);
		for (j = 0; j < rec->nb; j++)
			if (rec->period[j] == bucket_period(limits, i) ||
			    (i == 0 && rec->period[j] == 0)) {
				t[i] = rec->btokens[j];
				break;
			}
	}
	rec->nb = n;
	for (i = 0; i < n; i++) {
		rec->period[i] = bucket_period(limits, i);
		rec->btokens[i] = t[i];
	}
}

/* bucket_refill - add the tokens earned since rec->stamp to every
 * bucket; cap each at its size. */
static void
bucket_refill(struct bucket_rec *rec, const struct conf_limits *limits,
    double now)
{
	double	 dt = now > rec->stamp ? now - rec->stamp : 0, t, r, cap;
	unsigned i;

	bucket_match(rec, limits);
	for (i = 0; i < rec->nb; i++) {
		t = rec->btokens[i];
		r = bucket_rate(limits, i);
		if (dt > 0 && r > 0)	/* a clock going back earns nothing */
			t += dt * r;
		cap = bucket_size(limits, i);
		rec->btokens[i] = t < cap ? t : cap;
	}
	if (now > rec->stamp)
		rec->stamp = now;
	bucket_lowest(rec);
}

/* bucket_load - the record of key (fresh when absent or bad), refilled. */
static int
bucket_load(struct bucket_db *db, TDB_DATA key,
    const struct conf_limits *limits, double now, struct bucket_rec *rec,
    int *exists)
{
	TDB_DATA data;

	data = tdb_fetch(db->tdb, key);
	*exists = data.dptr != NULL;
	if (data.dptr == NULL && tdb_error(db->tdb) != TDB_ERR_NOEXIST)
		return err_set(EX_TEMPFAIL, "bucket %.*s: %s", (int)key.dsize,
		    (const char *)key.dptr, tdb_errorstr(db->tdb));
	if (data.dptr != NULL && !bucket_valid(&data, rec)) {
		log_warn("bucket %.*s: bad record (%zu bytes), starting afresh",
		    (int)key.dsize, (const char *)key.dptr, data.dsize);
		*exists = 0;
	}
	free(data.dptr);
	if (!*exists)
		bucket_fresh(rec, limits, now);
	if (limits != NULL)
		bucket_refill(rec, limits, now);
	return 0;
}

/* bucket_update - lock, load, apply, store, unlock. */
static int
bucket_update(struct bucket_db *db, const char *site, bucket_apply_fn apply,
    struct bucket_op *op, int create)
{
	struct bucket_rec rec;
	TDB_DATA key, data;
	int	 rc, exists;

	if ((rc = bucket_key(site, &key)) != 0)
		return rc;
	if (tdb_chainlock(db->tdb, key) != 0)
		return err_set(EX_TEMPFAIL, "bucket %s: cannot lock: %s", site,
		    tdb_errorstr(db->tdb));
	rc = bucket_load(db, key, op->limits, op->now, &rec, &exists);
	if (rc == 0 && (exists || create)) {
		apply(&rec, op);
		data.dptr = (unsigned char *)&rec;
		data.dsize = sizeof(rec);
		if (tdb_store(db->tdb, key, data, TDB_REPLACE) != 0)
			rc = err_set(EX_TEMPFAIL, "bucket %s: cannot store: %s",
			    site, tdb_errorstr(db->tdb));
	}
	tdb_chainunlock(db->tdb, key);
	return rc;
}

/* bucket_hold_until - when every bucket's deficit is paid back. */
static double
bucket_hold_until(const struct bucket_rec *rec,
    const struct conf_limits *limits, double now)
{
	double	 wait = 0, w, r;
	unsigned i;

	for (i = 0; i < rec->nb; i++) {
		if (rec->btokens[i] >= 0)
			continue;
		r = bucket_rate(limits, i);
		w = r <= 0 ? BUCKET_HOLD_MAX : -rec->btokens[i] / r;
		if (w > wait)
			wait = w;
	}
	return now + (wait < BUCKET_HOLD_MAX ? wait : BUCKET_HOLD_MAX);
}

/* bucket_deficit - recipients that would wait if cost were charged: the
 * largest shortfall over the buckets (<= 0: every bucket has them). */
static double
bucket_deficit(const struct bucket_rec *rec, double cost)
{
	double	 d = -DBL_MAX;
	unsigned i;

	for (i = 0; i < rec->nb; i++)
		if (cost - rec->btokens[i] > d)
			d = cost - rec->btokens[i];
	return rec->nb ? d : cost - rec->tokens;
}

/* bucket_add - add n tokens to every bucket (capped at its size when
 * limits is given); n < 0 charges. */
static void
bucket_add(struct bucket_rec *rec, const struct conf_limits *limits,
    double n)
{
	unsigned i;

	for (i = 0; i < rec->nb; i++) {
		rec->btokens[i] += n;
		if (n > 0 && rec->btokens[i] > bucket_size(limits, i))
			rec->btokens[i] = bucket_size(limits, i);
	}
	bucket_lowest(rec);
}

/* bucket_apply_frozen - a charge to a frozen site. */
static void
bucket_apply_frozen(struct bucket_rec *rec, struct bucket_op *op)
{
	struct bucket_result *res = op->res;

	if (!op->release && ((rec->flags & BUCKET_AUTO) ||
	    rec->frozen_waiting + op->cost > op->limits->backlog)) {
		res->verdict = BUCKET_REFUSED;
		rec->refused++;
	} else {
		res->verdict = BUCKET_FROZEN_HOLD;
		rec->frozen_waiting += op->cost;
		rec->held++;
	}
	res->backlog = rec->frozen_waiting;
}

/* bucket_apply_charge - the verdict of bucket.h for one message. */
static void
bucket_apply_charge(struct bucket_rec *rec, struct bucket_op *op)
{
	struct bucket_result *res = op->res;
	double	 deficit = bucket_deficit(rec, op->cost);

	memset(res, 0, sizeof(*res));
	if (rec->flags & BUCKET_FROZEN) {
		bucket_apply_frozen(rec, op);
	} else if (deficit <= 0) {
		res->verdict = BUCKET_SEND;
		bucket_add(rec, op->limits, -op->cost);
		rec->charged += op->cost;
		rec->released++;
	} else if (deficit > op->limits->backlog && !op->release) {
		res->verdict = BUCKET_REFUSED;
		res->just_frozen = 1;
		res->backlog = deficit;
		rec->flags = BUCKET_FROZEN | BUCKET_AUTO;
		rec->frozen_waiting = 0;
		rec->refused++;
	} else {
		res->verdict = BUCKET_HOLD;
		bucket_add(rec, op->limits, -op->cost);
		res->hold = bucket_hold_until(rec, op->limits, op->now);
		res->backlog = deficit;
		rec->charged += op->cost;
		rec->held++;
	}
	res->tokens = rec->tokens;
	res->flags = rec->flags;
}

/* bucket_check_charge - reject arguments no caller should pass. */
static int
bucket_check_charge(const struct conf_limits *limits, double cost,
    double now, struct bucket_result *res)
{
	if (limits == NULL || res == NULL || !isfinite(cost) || cost < 0 ||
	    !isfinite(now) || !isfinite(limits->rate) ||
	    !isfinite(limits->burst) || !isfinite(limits->backlog))
		return err_set(EX_SOFTWARE, "bucket: bad charge arguments");
	return 0;
}

/* bucket_charge_common - bucket_charge() and bucket_charge_release(). */
static int
bucket_charge_common(struct bucket_db *db, const char *site,
    const struct conf_limits *limits, double cost, double now,
    struct bucket_result *res, int release)
{
	struct bucket_op op = { .limits = limits, .cost = cost, .now = now,
	    .release = release, .res = res };
	int	 rc;

	if ((rc = bucket_check_charge(limits, cost, now, res)) != 0)
		return rc;
	return bucket_update(db, site, bucket_apply_charge, &op, 1);
}

/* bucket_charge - atomically charge cost tokens to site at time now. */
int
bucket_charge(struct bucket_db *db, const char *site,
    const struct conf_limits *limits, double cost, double now,
    struct bucket_result *res)
{
	return bucket_charge_common(db, site, limits, cost, now, res, 0);
}

/* bucket_charge_release - charge a thawed message without refusing it. */
int
bucket_charge_release(struct bucket_db *db, const char *site,
    const struct conf_limits *limits, double cost, double now,
    struct bucket_result *res)
{
	return bucket_charge_common(db, site, limits, cost, now, res, 1);
}

/* bucket_apply_refund - undo what one verdict did. */
static void
bucket_apply_refund(struct bucket_rec *rec, struct bucket_op *op)
{
	switch (op->verdict) {
	case BUCKET_SEND:
	case BUCKET_HOLD:
		bucket_add(rec, op->limits, op->cost);
		rec->charged = rec->charged > op->cost ?
		    rec->charged - op->cost : 0;
		if (op->verdict == BUCKET_SEND && rec->released > 0)
			rec->released--;
		else if (op->verdict == BUCKET_HOLD && rec->held > 0)
			rec->held--;
		break;
	case BUCKET_FROZEN_HOLD:
		rec->frozen_waiting = rec->frozen_waiting > op->cost ?
		    rec->frozen_waiting - op->cost : 0;
		if (rec->held > 0)
			rec->held--;
		break;
	case BUCKET_REFUSED:
		break;
	}
}

/* bucket_refund - give back what a charge took. */
int
bucket_refund(struct bucket_db *db, const char *site,
    const struct conf_limits *limits, enum bucket_verdict verdict,
    double cost, double now)
{
	struct bucket_result dummy;
	struct bucket_op op = { .limits = limits, .cost = cost, .now = now,
	    .verdict = verdict };
	int	 rc;

	if ((rc = bucket_check_charge(limits, cost, now, &dummy)) != 0)
		return rc;
	if (verdict == BUCKET_REFUSED)
		return 0;
	return bucket_update(db, site, bucket_apply_refund, &op, 0);
}

/* bucket_get - the refilled record of site at time now. */
int
bucket_get(struct bucket_db *db, const char *site,
    const struct conf_limits *limits, double now, struct bucket_rec *rec)
{
	TDB_DATA key;
	int	 rc, exists;

	if ((rc = bucket_key(site, &key)) != 0)
		return rc;
	if (limits == NULL || !isfinite(now))
		return err_set(EX_SOFTWARE, "bucket: bad arguments");
	return bucket_load(db, key, limits, now, rec, &exists);
}

/* bucket_apply_frozen_flag - set or clear the freeze. */
static void
bucket_apply_frozen_flag(struct bucket_rec *rec, struct bucket_op *op)
{
	if (!op->frozen) {
		rec->flags = 0;
		rec->frozen_waiting = 0;
		return;
	}
	if (!(rec->flags & BUCKET_FROZEN))
		rec->frozen_waiting = 0;
	rec->flags |= BUCKET_FROZEN | (op->automatic ? BUCKET_AUTO : 0);
}

/* bucket_set_frozen - freeze or thaw a site. */
int
bucket_set_frozen(struct bucket_db *db, const char *site, int frozen,
    int automatic)
{
	/*
	 * No limits here: the record is not refilled (the freeze does not
	 * change the refill), and a new record gets DBL_MAX tokens, which the
	 * next refill caps to a full bucket.
	 */
	struct bucket_op op = { .limits = NULL, .now = 0, .frozen = frozen,
	    .automatic = automatic };

	return bucket_update(db, site, bucket_apply_frozen_flag, &op, frozen);
}

struct bucket_walk {
	int	(*fn)(void *, const char *, const struct bucket_rec *);
	void	*ctx;
	int	 rc;
};

/* bucket_walk_one - tdb_traverse_read callback: one site. */
static int
bucket_walk_one(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data,
    void *arg)
{
	struct bucket_walk *w = arg;
	struct bucket_rec rec;
	char	 name[BUCKET_NAME_MAX + 1];

	if (key.dsize == 0 || key.dsize > BUCKET_NAME_MAX ||
	    memchr(key.dptr, '\0', key.dsize) != NULL ||
	    !bucket_valid(&data, &rec))
		return 0;
	memcpy(name, key.dptr, key.dsize);
	name[key.dsize] = '\0';
	w->rc = w->fn(w->ctx, name, &rec);
	return w->rc != 0;
}

/* bucket_sites - call fn for every site with a valid record. */
int
bucket_sites(struct bucket_db *db, int (*fn)(void *, const char *site,
    const struct bucket_rec *), void *ctx)
{
	struct bucket_walk w = { fn, ctx, 0 };

	if (tdb_traverse_read(db->tdb, bucket_walk_one, &w) < 0 && w.rc == 0)
		return err_set(EX_TEMPFAIL, "bucket: cannot walk %s: %s",
		    db->path, tdb_errorstr(db->tdb));
	return w.rc;
}
