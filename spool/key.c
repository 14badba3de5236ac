/*
 * key.c - the spool MAC key: $(SYSCONFDIR)/sitemail/spool.key.
 *
 * The file holds exactly SPOOL_KEYLEN (32) random bytes, no encoding.  It
 * is mode 0640, owner root, group sitemail: sendmail (setgid sitemail) and
 * the runner read it through the group.  A key that others can read or
 * the group can write is refused: whoever can read the key can forge spool
 * files.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "spool/spool.h"
#include "util/msg.h"

/* key_open_error - the status and reason for a failed open of the key. */
static int
key_open_error(const char *path, int errnum)
{
	switch (errnum) {
	case ENOENT:
		return err_set(EX_CONFIG, "no spool key at %s: run "
		    "'sitemail keygen'", path);
	case ELOOP:
		return err_set(EX_CONFIG, "spool key %s is a symbolic link",
		    path);
	case EACCES:
	case EPERM:
	case ENOTDIR:
		return err_set(EX_CONFIG, "cannot open spool key %s: %s", path,
		    strerror(errnum));
	default:
		return err_set(EX_TEMPFAIL, "cannot open spool key %s: %s",
		    path, strerror(errnum));
	}
}

/* key_read - read exactly SPOOL_KEYLEN bytes and make sure no more follow. */
static int
key_read(int fd, const char *path, unsigned char key[SPOOL_KEYLEN])
{
	unsigned char extra;
	size_t	 got = 0;
	ssize_t	 r;

	while (got < SPOOL_KEYLEN) {
		r = read(fd, key + got, SPOOL_KEYLEN - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(EX_TEMPFAIL, "cannot read spool key %s: "
			    "%s", path, strerror(errno));
		if (r == 0)
			break;
		got += (size_t)r;
	}
	while ((r = read(fd, &extra, 1)) < 0 && errno == EINTR)
		;
	if (got != SPOOL_KEYLEN || r != 0)
		return err_set(EX_CONFIG, "spool key %s is not exactly %d "
		    "bytes: run 'sitemail keygen' again", path, SPOOL_KEYLEN);
	return 0;
}

/* spool_key_load - read the 32-byte key from path. */
int
spool_key_load(const char *path, unsigned char key[SPOOL_KEYLEN])
{
	struct stat st;
	int	 fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return key_open_error(path, errno);
	if (fstat(fd, &st) < 0)
		rc = err_set(EX_TEMPFAIL, "cannot stat spool key %s: %s", path,
		    strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = err_set(EX_CONFIG, "spool key %s is not a regular file",
		    path);
	else if (st.st_mode & (S_IWGRP | S_IRWXO))
		rc = err_set(EX_CONFIG, "spool key %s has mode %04o: others "
		    "must not read it, the group must not write it (chmod "
		    "0640)", path, (unsigned)(st.st_mode & 07777));
	else
		rc = key_read(fd, path, key);
	close(fd);
	if (rc != 0)
		sodium_memzero(key, SPOOL_KEYLEN);
	return rc;
}

/* key_sync_dir - fsync the directory holding path (best effort). */
static void
key_sync_dir(const char *path)
{
	char	 copy[PATH_MAX];
	int	 fd;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

/* key_write - fill the new file: mode, owner, random bytes, fsync. */
static int
key_write(int fd, const char *path, gid_t group)
{
	unsigned char key[SPOOL_KEYLEN];
	ssize_t	 w;

	if (fchmod(fd, 0640) < 0)
		return err_set(EX_CANTCREAT, "cannot chmod %s: %s", path,
		    strerror(errno));
	if (geteuid() == 0 && group != (gid_t)-1 && fchown(fd, 0, group) < 0)
		return err_set(EX_CANTCREAT, "cannot chown %s: %s", path,
		    strerror(errno));
	randombytes_buf(key, sizeof(key));
	while ((w = write(fd, key, sizeof(key))) < 0 && errno == EINTR)
		;
	sodium_memzero(key, sizeof(key));
	if (w != (ssize_t)sizeof(key))
		return err_set(EX_CANTCREAT, "cannot write %s: %s", path,
		    w < 0 ? strerror(errno) : "short write");
	if (fsync(fd) < 0)
		return err_set(EX_CANTCREAT, "cannot fsync %s: %s", path,
		    strerror(errno));
	return 0;
}

/* spool_key_generate - write a new random key to path (O_EXCL, mode 0640,
 * owner root:group when run as root; group (gid_t)-1 leaves the group). */
int
spool_key_generate(const char *path, gid_t group)
{
	int	 fd, rc;

	if (sodium_init() < 0)
		return err_set(EX_SOFTWARE, "cannot initialise libsodium");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 && errno == EEXIST)
		return err_set(EX_CANTCREAT, "spool key %s already exists; "
		    "remove it first to make a new one (queued mail signed "
		    "with the old key will be quarantined)", path);
	if (fd < 0)
		return err_set(EX_CANTCREAT, "cannot create %s: %s", path,
		    strerror(errno));
	rc = key_write(fd, path, group);
	if (close(fd) < 0 && rc == 0)
		rc = err_set(EX_CANTCREAT, "cannot close %s: %s", path,
		    strerror(errno));
	if (rc != 0) {
		unlink(path);
		return rc;
	}
	key_sync_dir(path);
	return 0;
}
