/*
 * norenameat2.c - LD_PRELOAD shim for tests only: renameat2() fails with
 * EINVAL, as on a file system without RENAME_NOREPLACE (NFS), so intake's
 * commit fallback runs.  Each call appends a line to $NORENAME_LOG when it
 * is set, so a test can tell the shim was used.  Never installed; the
 * set-gid sendmail ignores LD_PRELOAD anyway (secure execution), so tests
 * run a non-set-id copy of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int renameat2(int, const char *, int, const char *, unsigned int);
static void norename_init(void) __attribute__((constructor));

static char norename_log[4096];		/* sendmail clears its environment */

/* norename_init - remember $NORENAME_LOG before main() runs. */
static void
norename_init(void)
{
	const char *log = getenv("NORENAME_LOG");

	if (log != NULL && strlen(log) < sizeof(norename_log))
		memcpy(norename_log, log, strlen(log) + 1);
}

/* renameat2 - always EINVAL (and noted in $NORENAME_LOG). */
int
renameat2(int olddirfd, const char *oldpath, int newdirfd,
    const char *newpath, unsigned int flags)
{
	int	 fd;

	(void)olddirfd; (void)oldpath; (void)newdirfd; (void)newpath;
	(void)flags;
	if (norename_log[0] != '\0' && (fd = open(norename_log, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0666)) >= 0) {
		if (write(fd, "renameat2\n", 10) != 10)
			errno = 0;
		close(fd);
	}
	errno = EINVAL;
	return -1;
}
