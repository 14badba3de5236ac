/*
 * confidx.h - the compiled per-uid site index, SPOOL/state/sites.idx (like
 * postmap): which configuration file defines the site of a uid or login,
 * and the last good text of sitemail.conf and of every sites.d file.
 *
 * Built only by sitemaild (at start and when the configuration directory
 * changes) and by "sitemail reload" as root, atomically (temp file, fsync,
 * rename).  The set-gid intake only reads it: open + pread, no lock, no
 * O_CREAT, a binary search by uid, every piece it touches checked, so a
 * lookup costs the same with 5 sites or 10,000.  The format is in
 * util/confidx.c.
 */
#ifndef SM_CONFIDX_H
#define SM_CONFIDX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/conf.h"

#define CONFIDX_NAME	"sites.idx"	/* in SPOOL/state/ */
#define CONFIDX_MAIN	"sitemail.conf"	/* the name of record 0 */

struct confidx;

/* confidx_open - open and check the header of the index at path, built
 * for the configuration directory dir; EX_CONFIG when missing, of another
 * version or damaged.  full = 1 also checks every byte (body checksum). */
int	confidx_open(struct confidx **, const char *path, const char *dir,
	    int full);
/* confidx_close - release (NULL is fine). */
void	confidx_close(struct confidx *);
/* confidx_fresh - 1 when dir/sites.d is as it was at build time. */
int	confidx_fresh(const struct confidx *, const char *dir);
/* confidx_find_uid - the record of uid: 0 and *rec, 1 not listed, or
 * EX_CONFIG when a touched entry is damaged. */
int	confidx_find_uid(struct confidx *, uid_t, uint32_t *rec);
/* confidx_find_login - the same for a login name listed in users=. */
int	confidx_find_login(struct confidx *, const char *, uint32_t *rec);
/* confidx_has_site - 1 when a site of that name is configured (0 when
 * not, or when the entries are damaged). */
int	confidx_has_site(struct confidx *, const char *name);
/* confidx_record - record rec's file name ("sitemail.conf" or a sites.d
 * name) and last good text, both malloc'd and NUL-terminated. */
int	confidx_record(struct confidx *, uint32_t rec, char **name,
	    char **text, size_t *len);
/* confidx_count - number of records (files), uid and login entries. */
void	confidx_count(const struct confidx *, size_t *nrec, size_t *nuid,
	    size_t *nlogin);

/* confidx_path - SPOOL/state/sites.idx into out. */
int	confidx_path(const char *spool_dir, char *out, size_t size);
/* confidx_fingerprint - the stat of dir/sites.d (zeros if missing):
 * device, inode, mtime and ctime in ns. */
void	confidx_fingerprint(const char *dir, uint64_t fp[4]);
/* confidx_build - load the configuration of dir as the runner uses it:
 * sitemail.conf (an error there fails with EX_CONFIG, naming the line,
 * and c is released), then each sites.d file, a broken one replaced by
 * its last good text from the previous index (or left out), every such
 * error noted in c->broken.  When wrote is not NULL, the index is written
 * too (atomically, owned by the runner user, mode 0640) and *wrote is 0
 * or the EX_ status of that write (c stays loaded either way). */
int	confidx_build(struct conf *, const char *dir, int *wrote);

#endif
