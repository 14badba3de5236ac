/*
 * bucket_age.c - make a site's token buckets older, as if SECS seconds
 * had passed for them (tests of hour and day rates that must not sleep).
 *
 * Usage: bucket_age SPOOL_DIR SITE SECS: moves the "stamp" of SITE's
 * record in SPOOL_DIR/state/bucket.tdb back by SECS seconds under the
 * record's chain lock (the next refill then adds SECS seconds of tokens
 * to every bucket).  Run it as the runner user while sitemaild runs: it
 * is one read-modify-write, like sitemaild's own.  Exit 0, or 1 when the
 * record is missing or not a version-2 record.  A test tool only; the
 * daemons have no clock knob.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tdb.h>

#include "queue/bucket.h"

/* age_one - move the record's stamp back; 0 or 1. */
static int
age_one(struct tdb_context *tdb, const char *site, double secs)
{
	struct bucket_rec rec;
	TDB_DATA key, old, data;
	int	 rc = 1;

	key.dptr = (unsigned char *)(uintptr_t)site;
	key.dsize = strlen(site);
	if (tdb_chainlock(tdb, key) != 0)
		return 1;
	old = tdb_fetch(tdb, key);
	if (old.dptr != NULL && old.dsize == sizeof(rec)) {
		memcpy(&rec, old.dptr, sizeof(rec));
		if (rec.version == BUCKET_REC_VERSION) {
			rec.stamp -= secs;
			data.dptr = (unsigned char *)&rec;
			data.dsize = sizeof(rec);
			rc = tdb_store(tdb, key, data, TDB_REPLACE) != 0;
		}
	}
	if (rc != 0)
		fprintf(stderr, "bucket_age: no version-2 record for %s\n",
		    site);
	free(old.dptr);
	tdb_chainunlock(tdb, key);
	return rc;
}

/* main - bucket_age SPOOL_DIR SITE SECS. */
int
main(int argc, char **argv)
{
	struct tdb_context *tdb;
	char	 path[4200];
	int	 rc;

	if (argc != 4) {
		fprintf(stderr, "usage: bucket_age SPOOL_DIR SITE SECS\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s", argv[1], BUCKET_FILE);
	if ((tdb = tdb_open(path, 0, TDB_DEFAULT, O_RDWR, 0)) == NULL) {
		perror(path);
		return 1;
	}
	rc = age_one(tdb, argv[2], atof(argv[3]));
	tdb_close(tdb);
	return rc;
}
