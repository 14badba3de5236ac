/*
 * quarantine.c - the spool directories, and quarantine of bad queue files.
 *
 * A queue entry that fails verification (bad MAC, bad envelope, symlink,
 * wrong owner, extra links, not a regular file ...) is renamed, whatever
 * it is, from queue/NAME to quarantine/NAME (or NAME.1, NAME.2, ... when
 * that is taken), never followed and never delivered, and one line
 * "NAME: quarantined: WHY" is logged.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spool/spool.h"
#include "util/msg.h"

#define QUARANTINE_TRIES 100

static const char *const spool_subdirs[] = {
	"tmp", "queue", "quarantine", "state"
};

/* quarantine_move - rename without replacing (link+unlink fallback). */
static int
quarantine_move(int from, const char *name, int to, const char *target)
{
	if (renameat2(from, name, to, target, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(from, name, to, target, 0) < 0)
		return -1;
	return unlinkat(from, name, 0);
}

/* quarantine_name_ok - 1 if name is a plain directory entry name. */
static int
quarantine_name_ok(const char *name)
{
	size_t	 n = strlen(name);

	return n > 0 && n < 200 && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* quarantine_rename - move queue/name to quarantine/name[.N]. */
static int
quarantine_rename(int queuefd, int quarfd, const char *spool_dir,
    const char *name)
{
	char	 target[256];
	int	 i;

	for (i = 0; i < QUARANTINE_TRIES; i++) {
		if (i == 0)
			snprintf(target, sizeof(target), "%s", name);
		else
			snprintf(target, sizeof(target), "%s.%d", name, i);
		if (quarantine_move(queuefd, name, quarfd, target) == 0) {
			(void)fsync(quarfd);
			(void)fsync(queuefd);
			return 0;
		}
		if (errno != EEXIST)
			return err_set(EX_TEMPFAIL, "cannot move %s/queue/%s to "
			    "quarantine: %s", spool_dir, name, strerror(errno));
	}
	return err_set(EX_TEMPFAIL, "cannot move %s/queue/%s to quarantine: "
	    "too many entries with that name", spool_dir, name);
}

/* spool_quarantine - move spool_dir/queue/name (whatever it is, even a
 * symlink) into spool_dir/quarantine/ and log "name: quarantined: why". */
int
spool_quarantine(const char *spool_dir, const char *name, const char *why)
{
	int	 dirfd, queuefd = -1, quarfd = -1, rc;

	if (!quarantine_name_ok(name))
		return err_set(EX_SOFTWARE, "bad name for quarantine");
	if ((dirfd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_set(EX_TEMPFAIL, "cannot open spool directory %s: "
		    "%s", spool_dir, strerror(errno));
	queuefd = openat(dirfd, "queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	quarfd = openat(dirfd, "quarantine", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (queuefd < 0 || quarfd < 0)
		rc = err_set(EX_TEMPFAIL, "cannot open %s/%s: %s", spool_dir,
		    queuefd < 0 ? "queue" : "quarantine", strerror(errno));
	else
		rc = quarantine_rename(queuefd, quarfd, spool_dir, name);
	if (rc == 0)
		log_warn("%s: quarantined: %s", name, why ? why : "");
	if (queuefd >= 0)
		close(queuefd);
	if (quarfd >= 0)
		close(quarfd);
	close(dirfd);
	return rc;
}

/* dirs_make - create (or fix up) one directory: mode 0770, owner:group
 * when running as root. */
static int
dirs_make(int parent, const char *path, const char *name, uid_t owner,
    gid_t group)
{
	int	 fd, rc = 0;

	if (mkdirat(parent, name, 0770) < 0 && errno != EEXIST)
		return err_set(EX_CANTCREAT, "cannot create %s: %s", path,
		    strerror(errno));
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (parent == AT_FDCWD ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return err_set(EX_CANTCREAT, "cannot open %s: %s", path,
		    strerror(errno));
	if (geteuid() == 0 && fchown(fd, owner, group) < 0)
		rc = err_set(EX_CANTCREAT, "cannot chown %s: %s", path,
		    strerror(errno));
	else if (fchmod(fd, 0770) < 0)
		rc = err_set(EX_CANTCREAT, "cannot chmod %s: %s", path,
		    strerror(errno));
	close(fd);
	return rc;
}

/* spool_dirs_create - create spool_dir and tmp/ queue/ quarantine/ state/
 * (mode 0770; owner:group when run as root).  Existing ones are fixed up. */
int
spool_dirs_create(const char *spool_dir, uid_t owner, gid_t group)
{
	char	 path[4096];
	size_t	 i;
	int	 dirfd, rc;

	if ((rc = dirs_make(AT_FDCWD, spool_dir, spool_dir, owner, group)) != 0)
		return rc;
	if ((dirfd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_set(EX_CANTCREAT, "cannot open %s: %s", spool_dir,
		    strerror(errno));
	for (i = 0; rc == 0 && i < sizeof(spool_subdirs) /
	    sizeof(spool_subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", spool_dir,
		    spool_subdirs[i]);
		rc = dirs_make(dirfd, path, spool_subdirs[i], owner, group);
	}
	close(dirfd);
	return rc;
}
