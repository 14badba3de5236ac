/*
 * freeze.c - freeze markers in state/frozen/; see freeze.h.
 *
 * On disk, one small file per freeze in spool_dir/state/frozen/:
 *	m.QID		a message frozen by an admin; content "admin\n"
 *	s.NAME		a frozen site (NAME when it is made of
 *	x.HEX		[A-Za-z0-9._-] only, else its bytes in hex);
 *			content "admin\n" or "auto\n" (backlog / abuse)
 * A marker is written as ".tmp.NAME", fsynced and renamed into place,
 * then the directory is fsynced, so it survives a crash and is never
 * seen half-written; a missing or unreadable content reads as "admin".
 * Thawing removes the marker (and fsyncs the directory).  Nobody locks
 * these files.  Markers are mode 0644: they say nothing secret.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/freeze.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/msg.h"

#define FREEZE_NAME_MAX	600

/* freeze_dir_owner - give a new state/frozen/ the owner of state/ (root
 * made it: the runner must still write there). */
static void
freeze_dir_owner(int fd, const char *spool_dir)
{
	char	 path[PATH_MAX];
	struct stat st;

	if (fd < 0 || geteuid() != 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/state", spool_dir) >=
	    sizeof(path) || stat(path, &st) < 0)
		return;
	if (fchown(fd, st.st_uid, st.st_gid) < 0 || fchmod(fd, 0770) < 0)
		log_warn("cannot give %s/%s to uid %lu: %s", spool_dir,
		    FREEZE_DIR, (unsigned long)st.st_uid, strerror(errno));
}

/* freeze_dirfd - open state/frozen/ (creating it when create is set). */
static int
freeze_dirfd(const char *spool_dir, int create)
{
	int	 fd, made;

	fd = spool_layout_dirfd(spool_dir, FREEZE_DIR, create, &made);
	if (made)
		freeze_dir_owner(fd, spool_dir);
	return fd;
}

/* freeze_dir_create - make state/frozen/ when missing. */
int
freeze_dir_create(const char *spool_dir)
{
	int	 fd = freeze_dirfd(spool_dir, 1);

	if (fd < 0)
		return err_set(EX_TEMPFAIL, "cannot create %s/%s: %s",
		    spool_dir, FREEZE_DIR, strerror(errno));
	close(fd);
	return 0;
}

/* freeze_site_name - the marker name of a site into out. */
static int
freeze_site_name(const char *site, char *out, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 n = strlen(site), i, o = 2;

	if (n == 0 || n > 255)
		return -1;
	if (strspn(site, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n)
		return (size_t)snprintf(out, max, "s.%s", site) < max ? 0 : -1;
	if (2 * n + 3 > max)
		return -1;
	out[0] = 'x';
	out[1] = '.';
	for (i = 0; i < n; i++) {
		out[o++] = hex[(unsigned char)site[i] >> 4];
		out[o++] = hex[(unsigned char)site[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

/* freeze_site_decode - the site name of a marker name, or -1. */
static int
freeze_site_decode(const char *name, char *out, size_t max)
{
	size_t	 n, i;
	int	 hi, lo;

	if (strncmp(name, "s.", 2) == 0)
		return (size_t)snprintf(out, max, "%s", name + 2) < max &&
		    name[2] != '\0' ? 0 : -1;
	if (strncmp(name, "x.", 2) != 0)
		return -1;
	name += 2;
	n = strlen(name);
	if (n == 0 || n % 2 || n / 2 >= max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		hi = name[2 * i] <= '9' ? name[2 * i] - '0' :
		    name[2 * i] - 'a' + 10;
		lo = name[2 * i + 1] <= '9' ? name[2 * i + 1] - '0' :
		    name[2 * i + 1] - 'a' + 10;
		if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
			return -1;
		out[i] = (char)(hi << 4 | lo);
		if (out[i] == '\0')
			return -1;
	}
	out[n / 2] = '\0';
	return 0;
}

/* freeze_marker_site - the site of a site marker's file name, or -1. */
int
freeze_marker_site(const char *name, char *out, size_t max)
{
	return freeze_site_decode(name, out, max);
}

/* freeze_put - write marker name with text, durably (tmp + rename). */
static int
freeze_put(int dfd, const char *name, const char *text)
{
	char	 tmp[FREEZE_NAME_MAX + 8];
	int	 fd, bad;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".tmp.%s", name) >= sizeof(tmp))
		return -1;
	(void)unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	bad = fchmod(fd, 0644) < 0 ||
	    spool_write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0;
	if (close(fd) < 0)
		bad = 1;
	if (bad || renameat(dfd, tmp, dfd, name) < 0) {
		int	 saved = errno;

		(void)unlinkat(dfd, tmp, 0);
		errno = saved;
		return -1;
	}
	return fsync(dfd);
}

/* freeze_set - create or remove marker name. */
static int
freeze_set(const char *spool_dir, const char *name, const char *text)
{
	int	 dfd, rc = 0;

	if ((dfd = freeze_dirfd(spool_dir, text != NULL)) < 0) {
		if (text == NULL && errno == ENOENT)
			return 0;
		return err_set(EX_TEMPFAIL, "cannot open %s/%s: %s",
		    spool_dir, FREEZE_DIR, strerror(errno));
	}
	if (text != NULL) {
		if (freeze_put(dfd, name, text) < 0)
			rc = err_set(EX_TEMPFAIL, "cannot write the freeze "
			    "marker %s/%s/%s: %s", spool_dir, FREEZE_DIR, name,
			    strerror(errno));
	} else if (unlinkat(dfd, name, 0) == 0)
		(void)fsync(dfd);
	else if (errno != ENOENT)
		rc = err_set(EX_TEMPFAIL, "cannot remove the freeze marker "
		    "%s/%s/%s: %s", spool_dir, FREEZE_DIR, name,
		    strerror(errno));
	close(dfd);
	return rc;
}

/* freeze_msg_set - create or remove the marker of qid. */
int
freeze_msg_set(const char *spool_dir, const char *qid, int freeze)
{
	char	 name[SPOOL_QIDLEN + 3];

	if (!spool_qid_valid(qid))
		return err_set(EX_SOFTWARE, "freeze: bad queue ID");
	snprintf(name, sizeof(name), "m.%s", qid);
	return freeze_set(spool_dir, name, freeze ? "admin\n" : NULL);
}

/* freeze_exists - stat of a marker: 1 exists, 0 not; how from content. */
static int
freeze_exists(const char *spool_dir, const char *name, int *how)
{
	char	 text[16];
	int	 dfd, fd;
	ssize_t	 n;

	*how = 0;
	if ((dfd = freeze_dirfd(spool_dir, 0)) < 0)
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		/* Present but unreadable still counts as frozen. */
		if (errno != ENOENT && faccessat(dfd, name, F_OK,
		    AT_SYMLINK_NOFOLLOW) == 0)
			*how = 1;
		close(dfd);
		return *how;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	close(dfd);
	*how = n == 5 && memcmp(text, "auto\n", 5) == 0 ? 2 : 1;
	return 1;
}

/* freeze_msg_get - 1 if qid has a marker. */
int
freeze_msg_get(const char *spool_dir, const char *qid)
{
	char	 name[SPOOL_QIDLEN + 3];
	int	 how;

	if (!spool_qid_valid(qid))
		return 0;
	snprintf(name, sizeof(name), "m.%s", qid);
	return freeze_exists(spool_dir, name, &how);
}

/* freeze_site_set - create or remove the marker of a site. */
int
freeze_site_set(const char *spool_dir, const char *site, int freeze)
{
	char	 name[FREEZE_NAME_MAX];

	if (freeze_site_name(site, name, sizeof(name)) < 0)
		return err_set(EX_SOFTWARE, "freeze: bad site name");
	return freeze_set(spool_dir, name, freeze == 0 ? NULL :
	    freeze == 2 ? "auto\n" : "admin\n");
}

/* freeze_site_get - 0 not frozen, 1 by an admin, 2 automatic. */
int
freeze_site_get(const char *spool_dir, const char *site)
{
	char	 name[FREEZE_NAME_MAX];
	int	 how;

	if (freeze_site_name(site, name, sizeof(name)) < 0)
		return 0;
	(void)freeze_exists(spool_dir, name, &how);
	return how;
}

/* freeze_sites - call fn for every frozen site. */
int
freeze_sites(const char *spool_dir, int (*fn)(void *, const char *, int),
    void *ctx)
{
	char	 site[256];
	struct dirent *de;
	DIR	*d;
	int	 fd, rc = 0;

	if ((fd = freeze_dirfd(spool_dir, 0)) < 0)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (freeze_site_decode(de->d_name, site, sizeof(site)) == 0)
			rc = fn(ctx, site, freeze_site_get(spool_dir, site));
	closedir(d);
	return rc;
}

/* freeze_sweep - remove message markers whose queue file is gone. */
unsigned
freeze_sweep(const char *spool_dir)
{
	return spool_layout_sweep(spool_dir, freeze_dirfd(spool_dir, 0), "m.");
}
