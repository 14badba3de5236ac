/*
 * usage.h - spool usage per site: the snapshot the runner publishes and
 * the check intake makes before it writes anything (spool_quota,
 * min_free_space).  Format owned by spool/usage.c.
 */
#ifndef SM_USAGE_H
#define SM_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util/conf.h"

#define USAGE_FILE	"state/usage"		/* under spool_dir */

/* usage_check - the intake check, before anything is written: EX_TEMPFAIL
 * with a one-line reason (and one log line) when site holds spool_quota
 * bytes or more by the last snapshot, or the spool file system has less
 * than min_free bytes free for unprivileged writers.  Reads the snapshot
 * without a lock; a missing or unreadable snapshot counts as no usage. */
int	usage_check(const char *spool_dir, const char *site, uint64_t quota,
	    uint64_t min_free);
/* usage_publish - (runner) count the bytes of every file in queue/ and
 * tmp/ per site (by file owner) and replace the snapshot atomically. */
int	usage_publish(const struct conf *);
/* usage_of - bytes of site in the snapshot (0 when absent). */
uint64_t usage_of(const char *spool_dir, const char *site);

#endif
