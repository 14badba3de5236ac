/*
 * statecheck.h - checking the tdb files of state/ and rebuilding the
 * damaged ones (sitemaild at start, and when tdb reports corruption).
 *
 * Each of state/queue.tdb, state/bucket.tdb, state/stats.tdb and
 * state/dns.tdb is opened (never created) and run through tdb_check().
 * One that cannot be opened as a tdb file, or fails the check, is moved
 * aside to NAME.bad-UNIXTIME with one log line, and starts afresh: the
 * queue index is rebuilt from the spool, the done maps and the freeze
 * markers (queue/donemap.h, queue/freeze.h); buckets start full but keep
 * their freezes (statecheck_freezes); counters and the DNS cache start
 * empty.  None of them failing ever reads as "frozen" or "refuse".
 */
#ifndef SM_STATECHECK_H
#define SM_STATECHECK_H

struct bucket_db;

/* statecheck_all - check every state file; returns how many were moved
 * aside. */
unsigned statecheck_all(const char *spool_dir);
/* statecheck_freezes - make bucket.tdb and the site freeze markers agree:
 * a marker freezes its bucket (a rebuilt bucket.tdb never thaws a site),
 * and a bucket frozen without a marker (an auto-freeze) gets one. */
int	statecheck_freezes(const char *spool_dir, struct bucket_db *);

#endif
