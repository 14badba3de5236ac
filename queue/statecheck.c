/*
 * statecheck.c - check the tdb files of state/, move damaged ones aside,
 * and restore site freezes into a fresh bucket.tdb; see statecheck.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/bucket.h"
#include "queue/freeze.h"
#include "queue/statecheck.h"
#include "util/db.h"
#include "util/msg.h"

static const char *const statecheck_files[] = {
	"state/queue.tdb", "state/bucket.tdb", "state/stats.tdb",
	"state/dns.tdb"
};

/* statecheck_one - 1 if path exists and is damaged (not a tdb, or
 * tdb_check fails); why gets the reason. */
static int
statecheck_one(const char *path, char *why, size_t max)
{
	struct tdb_context *tdb;

	errno = 0;
	tdb = db_open(path, 0, TDB_DEFAULT, O_RDWR | O_NOFOLLOW | O_CLOEXEC,
	    0);
	if (tdb == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, max, "cannot open it: %s",
		    errno ? strerror(errno) : "not a tdb file");
		return 1;
	}
	if (tdb_check(tdb, NULL, NULL) != 0) {
		snprintf(why, max, "tdb_check: %s", tdb_errorstr(tdb));
		tdb_close(tdb);
		return 1;
	}
	tdb_close(tdb);
	return 0;
}

/* statecheck_all - check every state file, moving damaged ones aside. */
unsigned
statecheck_all(const char *spool_dir)
{
	char	 path[PATH_MAX], bad[PATH_MAX + 32], why[256];
	unsigned moved = 0;
	size_t	 i;

	for (i = 0; i < sizeof(statecheck_files) / sizeof(*statecheck_files);
	    i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", spool_dir,
		    statecheck_files[i]) >= sizeof(path) ||
		    !statecheck_one(path, why, sizeof(why)))
			continue;
		snprintf(bad, sizeof(bad), "%s.bad-%lld", path,
		    (long long)time(NULL));
		if (rename(path, bad) < 0) {
			log_error("state: %s is damaged (%s) and cannot be "
			    "moved aside: %s", path, why, strerror(errno));
			continue;
		}
		log_warn("state: %s is damaged (%s): moved to %s and rebuilt",
		    path, why, bad);
		moved++;
	}
	return moved;
}

/* Freeze synchronisation in progress. */
struct statecheck_sync {
	const char *spool_dir;
	struct bucket_db *bdb;
	unsigned restored, marked;
};

/* statecheck_marker - freeze_sites callback: freeze the bucket too. */
static int
statecheck_marker(void *arg, const char *site, int how)
{
	struct statecheck_sync *s = arg;
	struct conf_limits lim;
	struct bucket_rec br;

	memset(&lim, 0, sizeof(lim));
	if (bucket_get(s->bdb, site, &lim, (double)time(NULL), &br) == 0 &&
	    (br.flags & BUCKET_FROZEN))
		return 0;
	if (bucket_set_frozen(s->bdb, site, 1, how == 2) == 0) {
		log_warn("site %s: frozen again from its freeze marker", site);
		s->restored++;
	}
	return 0;
}

/* statecheck_bucket - bucket_sites callback: mark a frozen bucket. */
static int
statecheck_bucket(void *arg, const char *site, const struct bucket_rec *br)
{
	struct statecheck_sync *s = arg;

	if (!(br->flags & BUCKET_FROZEN) ||
	    freeze_site_get(s->spool_dir, site) != 0)
		return 0;
	if (freeze_site_set(s->spool_dir, site,
	    (br->flags & BUCKET_AUTO) ? 2 : 1) == 0)
		s->marked++;
	return 0;
}

/* statecheck_freezes - make bucket.tdb and the freeze markers agree. */
int
statecheck_freezes(const char *spool_dir, struct bucket_db *bdb)
{
	struct statecheck_sync s = { spool_dir, bdb, 0, 0 };
	int	 rc;

	if ((rc = freeze_dir_create(spool_dir)) != 0)
		return rc;
	(void)freeze_sites(spool_dir, statecheck_marker, &s);
	(void)bucket_sites(bdb, statecheck_bucket, &s);
	if (s.restored || s.marked)
		log_info("state: site freezes: %u restored from markers, %u "
		    "markers written", s.restored, s.marked);
	return 0;
}
