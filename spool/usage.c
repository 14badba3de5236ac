/*
 * usage.c - per-site spool usage: the intake side (read the snapshot,
 * check a site against its quota); see usage.h.  The runner writes the
 * snapshot (spool/usage_walk.c), so that code is not in the set-gid
 * programs.
 *
 * Snapshot file spool_dir/state/usage, written only by the runner as
 * state/.usage.tmp (mode 0640) and renamed into place, so a reader never
 * sees half of it and needs no lock.  Text, one line each, LF ends:
 *
 *	sitemail-usage 1 UNIXTIME	first line
 *	SITE BYTES			one per site with files in the spool
 *
 * BYTES is the size of the site's files in queue/ and tmp/ (unfinished
 * submissions included), attributed by file owner uid (intake writes its
 * files as the submitting uid); the files of the runner user (the
 * listener's, the runner's DSNs) go to the site the runner names for them
 * (its queue record, or the verdict of a message being written).  Sites
 * whose name holds a space or a control character are left out.  The file is at most USAGE_MAX bytes;
 * a reader takes what fits.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool/spool.h"
#include "spool/usage.h"
#include "util/msg.h"

/* usage_read - the snapshot into buf (NUL-terminated); length or -1. */
static ssize_t
usage_read(const char *spool_dir, char **bufp)
{
	char	 path[PATH_MAX], *buf;
	struct stat st;
	ssize_t	 n;
	int	 fd;

	*bufp = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", spool_dir,
	    USAGE_FILE) >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (buf = malloc(USAGE_MAX + 1)) == NULL) {
		close(fd);
		return -1;
	}
	n = read(fd, buf, USAGE_MAX);
	close(fd);
	if (n < 0) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*bufp = buf;
	return n;
}

/* usage_of - bytes of site in the snapshot. */
uint64_t
usage_of(const char *spool_dir, const char *site)
{
	char	*buf, *p;
	size_t	 len = strlen(site);
	uint64_t v = 0;
	ssize_t	 n;

	if ((n = usage_read(spool_dir, &buf)) < 0)
		return 0;
	if (strncmp(buf, "sitemail-usage 1 ", 17) != 0) {
		free(buf);
		return 0;
	}
	for (p = strchr(buf, '\n'); p != NULL; p = strchr(p + 1, '\n')) {
		char	*end;

		if (strncmp(p + 1, site, len) != 0 || p[1 + len] != ' ')
			continue;
		end = p + 2 + len + strcspn(p + 2 + len, "\n");
		if (spool_number(p + 2 + len, (size_t)(end - (p + 2 + len)),
		    UINT64_MAX, &v) != 0)
			v = 0;
		break;
	}
	free(buf);
	return v;
}

/* usage_check - refuse (75) over spool_quota or below min_free_space. */
int
usage_check(const char *spool_dir, const char *site, uint64_t quota,
    uint64_t min_free)
{
	struct statvfs vfs;
	uint64_t used, avail;

	if (min_free > 0 && statvfs(spool_dir, &vfs) == 0) {
		avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		if (avail < min_free) {
			log_warn("refused: site=%s: the spool file system has "
			    "%" PRIu64 " bytes free, below min_free_space %"
			    PRIu64, site, avail, min_free);
			return err_set(EX_TEMPFAIL, "the mail spool is nearly "
			    "full (%" PRIu64 " bytes free, min_free_space %"
			    PRIu64 "); try again later", avail, min_free);
		}
	}
	if (quota > 0 && (used = usage_of(spool_dir, site)) >= quota) {
		log_warn("refused: site=%s: spool usage %" PRIu64 " bytes, "
		    "spool_quota %" PRIu64, site, used, quota);
		return err_set(EX_TEMPFAIL, "site %s holds %" PRIu64 " bytes "
		    "of queued mail, at its spool_quota of %" PRIu64 "; try "
		    "again once its queue has drained", site, used, quota);
	}
	return 0;
}
