/*
 * layout.c - the spool directory layout: create what is missing, refuse
 * what is wrong (sitemaild at start, "sitemaild --setup" in postinst).
 *
 * The layout, under spool_dir, every directory owned by the runner user
 * and its group (the set-gid group of sendmail):
 *	.		0770	the spool itself
 *	tmp/		0770	files being written by intake
 *	queue/		0770	committed messages
 *	quarantine/	0770	files that failed verification
 *	state/		0770	tdb files written by sitemaild only
 *	state/flush/	01770	flush requests (sticky: a site user can
 *				remove only its own request)
 * A missing directory is created (chowned when running as root); an
 * existing one with another owner, group, type or mode is an error that
 * names the fix.  Nothing existing is ever changed: a wrong mode may be
 * an attack or an admin's mistake, and either way a human decides.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spool/spool.h"
#include "util/buf.h"
#include "util/msg.h"

/* One directory of the layout. */
struct layout_dir {
	const char *name;		/* relative to spool_dir; "" = itself */
	mode_t	 mode;
};

static const struct layout_dir layout_dirs[] = {
	{ "", 0770 },
	{ "tmp", 0770 },
	{ "queue", 0770 },
	{ "quarantine", 0770 },
	{ "state", 0770 },
	{ "state/flush", 01770 },
};

/* layout_ids - the uid and gid of user (group of the same name, else its
 * primary group). */
static int
layout_ids(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	struct group *gr;

	if ((pw = getpwnam(user)) == NULL)
		return err_set(EX_NOUSER, "no such user \"%s\" (the runner "
		    "user of [main] user): create it with 'adduser --system "
		    "--group %s'", user, user);
	*uid = pw->pw_uid;
	gr = getgrnam(user);
	*gid = gr ? gr->gr_gid : pw->pw_gid;
	return 0;
}

/* layout_make - create path with mode, owned by uid:gid when root. */
static int
layout_make(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	if (mkdir(path, 0700) < 0)
		return err_set(EX_CANTCREAT, "cannot create %s: %s; run "
		    "'sitemaild --setup' as root", path, strerror(errno));
	if ((geteuid() == 0 && chown(path, uid, gid) < 0) ||
	    chmod(path, mode) < 0)
		return err_set(EX_CANTCREAT, "cannot set up %s: %s", path,
		    strerror(errno));
	log_info("created %s (mode %04o)", path, (unsigned)mode);
	return 0;
}

/* layout_owner - "name:group" of st (numbers where a name is unknown). */
static void
layout_owner(const struct stat *st, char *out, size_t len)
{
	const struct passwd *pw = getpwuid(st->st_uid);
	const struct group *gr = getgrgid(st->st_gid);
	char	 u[32], g[32];

	snprintf(u, sizeof(u), "%lu", (unsigned long)st->st_uid);
	snprintf(g, sizeof(g), "%lu", (unsigned long)st->st_gid);
	snprintf(out, len, "%s:%s", pw ? pw->pw_name : u, gr ? gr->gr_name : g);
}

/* layout_check - path must be a real directory, uid:gid, exactly mode. */
static int
layout_check(const char *path, const struct stat *st, mode_t mode,
    const char *user, uid_t uid, gid_t gid)
{
	char	 owner[200];

	if (!S_ISDIR(st->st_mode))
		return err_set(EX_CONFIG, "%s is not a directory (a symlink "
		    "or a file): move it away, then start sitemaild as root "
		    "or run 'sitemaild --setup' to create the spool layout",
		    path);
	if (st->st_uid == uid && st->st_gid == gid &&
	    (st->st_mode & 07777) == mode)
		return 0;
	layout_owner(st, owner, sizeof(owner));
	return err_set(EX_CONFIG, "%s has owner %s mode %04o, want %s:%s "
	    "mode %04o: fix with 'chown %s:%s %s && chmod %04o %s'", path,
	    owner, (unsigned)(st->st_mode & 07777), user, user,
	    (unsigned)mode, user, user, path, (unsigned)mode, path);
}

/* layout_walk - check every directory of the layout, creating the
 * missing ones when create is set (else a missing one is EX_CONFIG). */
static int
layout_walk(const char *spool_dir, const char *user, int create)
{
	struct stat st;
	struct buf path;
	uid_t	 uid = 0;
	gid_t	 gid = 0;
	size_t	 i;
	int	 rc;

	if ((rc = layout_ids(user, &uid, &gid)) != 0)
		return rc;
	buf_init(&path, 4096);
	for (i = 0; rc == 0 && i < sizeof(layout_dirs) /
	    sizeof(layout_dirs[0]); i++) {
		buf_reset(&path);
		if (buf_printf(&path, "%s%s%s", spool_dir,
		    *layout_dirs[i].name ? "/" : "", layout_dirs[i].name) < 0) {
			rc = err_set(EX_CONFIG, "spool_dir too long");
			break;
		}
		/* The spool itself may be a symlink an admin made; below it,
		 * nothing is followed. */
		if ((i == 0 ? stat(buf_str(&path), &st) :
		    lstat(buf_str(&path), &st)) < 0) {
			if (errno != ENOENT)
				rc = err_set(EX_CONFIG, "cannot stat %s: %s",
				    buf_str(&path), strerror(errno));
			else if (!create)
				rc = err_set(EX_CONFIG, "%s is missing: run "
				    "'sitemaild --setup' as root (sitemaild "
				    "also creates it at start)",
				    buf_str(&path));
			else if ((rc = layout_make(buf_str(&path),
			    layout_dirs[i].mode, uid, gid)) == 0 &&
			    lstat(buf_str(&path), &st) < 0)
				rc = err_set(EX_CONFIG, "cannot stat %s: %s",
				    buf_str(&path), strerror(errno));
		}
		if (rc == 0)
			rc = layout_check(buf_str(&path), &st,
			    layout_dirs[i].mode, user, uid, gid);
	}
	buf_free(&path);
	return rc;
}

/* spool_layout_setup - create the missing directories of the layout and
 * check every one (see the file comment); EX_CONFIG names the fix. */
int
spool_layout_setup(const char *spool_dir, const char *user)
{
	return layout_walk(spool_dir, user, 1);
}

/* spool_layout_check - the same checks, creating nothing: a missing
 * directory is EX_CONFIG too (for check-config). */
int
spool_layout_check(const char *spool_dir, const char *user)
{
	return layout_walk(spool_dir, user, 0);
}

/* spool_layout_dirfd - open the directory spool_dir/sub (a state/
 * subdirectory of sitemaild's); when missing and create is set, make it
 * (mode 0770) and set *made.  -1 with errno on failure. */
int
spool_layout_dirfd(const char *spool_dir, const char *sub, int create,
    int *made)
{
	char	 path[PATH_MAX];
	int	 fd;

	if (made != NULL)
		*made = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", spool_dir, sub) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir(path, 0770) < 0 && errno != EEXIST)
			return -1;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd >= 0 && made != NULL)
			*made = 1;
	}
	return fd;
}

/* spool_layout_sweep - remove the entries PREFIX+QID of the directory fd
 * (taken over and closed) whose queue/QID is gone; how many went.  The
 * runner's housekeeping for per-message state (done maps, freeze
 * markers). */
unsigned
spool_layout_sweep(const char *spool_dir, int fd, const char *prefix)
{
	char	 path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t	 np = strlen(prefix);
	unsigned n = 0;
	DIR	*d;
	int	 qfd;

	if (fd < 0)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/queue", spool_dir) >=
	    sizeof(path) ||
	    (qfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		close(fd);
		return 0;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		close(qfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, np) != 0 ||
		    !spool_qid_valid(de->d_name + np) ||
		    fstatat(qfd, de->d_name + np, &st, AT_SYMLINK_NOFOLLOW) ==
		    0 || errno != ENOENT)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	close(qfd);
	return n;
}
