/*
 * replace.c - sitemaild's atomic replacement of the small state files it
 * publishes (state/usage, the [notify] metrics textfile): a new file,
 * written whole, renamed over the old one.  Only sitemaild calls it; it
 * sits in a file of its own so that the set-gid programs, which must
 * never create shared state, do not even link it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/spool.h"
#include "util/msg.h"

/* spool_replace - replace path with data through the file tmp (created
 * anew, mode, fsynced when sync is set, renamed over path): a reader
 * sees the old file or the new one, never half of one.  sitemaild's
 * snapshots (the usage file, the metrics textfile). */
int
spool_replace(const char *tmp, const char *path, const void *data, size_t n,
    mode_t mode, int sync)
{
	int	 fd, bad, saved;

	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) < 0)
		return err_set(EX_TEMPFAIL, "cannot write %s: %s", tmp,
		    strerror(errno));
	bad = fchmod(fd, mode) < 0 || spool_write_all(fd, data, n) < 0 ||
	    (sync && fsync(fd) < 0);
	if (close(fd) < 0 || bad || rename(tmp, path) < 0) {
		saved = errno;
		(void)unlink(tmp);
		return err_set(EX_TEMPFAIL, "cannot write %s: %s", path,
		    strerror(saved));
	}
	return 0;
}
