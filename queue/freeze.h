/*
 * freeze.h - freeze markers: the durable record of admin and automatic
 * freezes, kept outside every tdb file (format owned by queue/freeze.c).
 *
 * A freeze is a file in spool_dir/state/frozen/ (mode 0770, the runner
 * user's): "m.QID" for one message frozen by an admin, "s.NAME" for a
 * frozen site (NAME hex-encoded as "x.HEX" when it holds anything but
 * [A-Za-z0-9._-]).  Losing or rebuilding queue.tdb or bucket.tdb never
 * thaws anything: a marker that exists means frozen, whatever the tdb
 * files say, and a tdb file that cannot be read never means frozen.
 */
#ifndef SM_FREEZE_H
#define SM_FREEZE_H

#include <stddef.h>

#define FREEZE_DIR	"state/frozen"		/* under spool_dir */

/* freeze_dir_create - make state/frozen/ when missing (runner, admin). */
int	freeze_dir_create(const char *spool_dir);
/* freeze_msg_set - create (freeze = 1) or remove the marker of qid. */
int	freeze_msg_set(const char *spool_dir, const char *qid, int freeze);
/* freeze_msg_get - 1 if qid has a marker, 0 if not (or unreadable). */
int	freeze_msg_get(const char *spool_dir, const char *qid);
/* freeze_site_set - create (freeze: 1 by an admin, 2 automatic) or
 * remove (0) the marker of a site. */
int	freeze_site_set(const char *spool_dir, const char *site, int freeze);
/* freeze_site_get - 0 not frozen, 1 frozen by an admin, 2 auto-frozen. */
int	freeze_site_get(const char *spool_dir, const char *site);
/* freeze_marker_site - the site name of a site marker's file name into
 * out: 0, or -1 when name is not a site marker. */
int	freeze_marker_site(const char *name, char *out, size_t max);
/* freeze_sites - call fn for every frozen site (how: 1 admin, 2 auto);
 * a non-zero return stops the walk and is returned. */
int	freeze_sites(const char *spool_dir,
	    int (*fn)(void *, const char *site, int how), void *);
/* freeze_sweep - remove message markers whose queue file is gone; returns
 * how many went. */
unsigned freeze_sweep(const char *spool_dir);

#endif
