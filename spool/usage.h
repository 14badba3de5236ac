/*
 * usage.h - spool usage per site: the snapshot the runner publishes and
 * the check intake makes before it writes anything (spool_quota,
 * min_free_space).  Format owned by spool/usage.c.
 */
#ifndef SM_USAGE_H
#define SM_USAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/conf.h"

#define USAGE_FILE	"state/usage"		/* under spool_dir */
#define USAGE_MAX	(8u << 20)		/* the snapshot's size at most */

/* usage_check - the intake check, before anything is written: EX_TEMPFAIL
 * with a one-line reason (and one log line) when site holds spool_quota
 * bytes or more by the last snapshot, or the spool file system has less
 * than min_free bytes free for unprivileged writers.  Reads the snapshot
 * without a lock; a missing or unreadable snapshot counts as no usage. */
int	usage_check(const char *spool_dir, const char *site, uint64_t quota,
	    uint64_t min_free);
/* usage_owner_fn - the site of a file in queue/ or tmp/ (sub) that the
 * runner user owns (the listener's messages, the runner's own DSNs), or
 * NULL to leave it out; the string must last until the next call. */
typedef const char *(*usage_owner_fn)(void *arg, const char *sub,
	    const char *name);
/* usage_publish - (runner) count the bytes of every file in queue/ and
 * tmp/ per site (by file owner; owner, when not NULL, names the site of
 * the runner user's files) and replace the snapshot atomically. */
int	usage_publish(const struct conf *, usage_owner_fn owner, void *arg);
/* usage_hooks - called by usage_publish (NULL: none): begin before the
 * walk; site per site with its bytes (queue/ and tmp/) and messages
 * (queue/); oldest with the oldest queue file's mtime (0: none); space
 * with the free bytes of the spool file system (sitemaild's notices and
 * metrics). */
void	usage_hooks(void (*begin)(void),
	    void (*site)(const char *, uint64_t bytes, unsigned msgs),
	    void (*oldest)(time_t), void (*space)(uint64_t avail));
/* usage_of - bytes of site in the snapshot (0 when absent). */
uint64_t usage_of(const char *spool_dir, const char *site);

#endif
