/*
 * spool.c - the signed spool file: atomic streaming writer, verifying reader.
 *
 * Byte-level format, version 1.  All integers are unsigned big-endian.
 *
 *	offset		length	contents
 *	0		17	magic "SITEMAIL-SPOOL 1\n" (ASCII, LF)
 *	17		C	content: the message as sent on the wire
 *				(CRLF line ends, not dot-stuffed)
 *	17+C		E	envelope text, "key value\n" lines
 *				(grammar in spool/envelope.c)
 *	17+C+E		8	C, the content length (u64)
 *	25+C+E		4	E, the envelope length (u32, 1..16 MiB)
 *	29+C+E		4	version (u32) = 1
 *	33+C+E		32	MAC = crypto_generichash (BLAKE2b-256) keyed
 *				with the 32-byte spool key, over bytes
 *				0 .. 33+C+E-1 (everything before the MAC)
 *	file size = 65 + C + E exactly.
 *
 * The envelope follows the content because recipients and the hold time
 * are only known once the whole message has been read; the trailer at a
 * fixed distance from the end tells the reader where each part starts.
 *
 * Writer: spool_create() makes tmp/QID (O_EXCL|O_NOFOLLOW, mode 0640),
 * spool_write() buffers 64 KiB at a time and feeds the MAC as bytes pass
 * (the message is never held in memory), spool_commit() appends envelope,
 * trailer and MAC, fsyncs, renames tmp/QID to queue/QID without replacing
 * anything (renameat2 RENAME_NOREPLACE, or, where that is not supported,
 * a plain rename into the unique and unused name: never link + unlink)
 * and fsyncs queue/.  Only then does it return 0.  Any failure is
 * EX_TEMPFAIL (EX_DATAERR for a bad envelope) and leaves no file.
 *
 * Identity: tmp/QID is created with the file system uid set to the real
 * uid (the uid the envelope records) when a set-uid caller's real and
 * effective uid differ; when that switch is impossible the submission is
 * refused.  The writer holds an flock on its own tmp/QID from creation to
 * commit (non-blocking; only the runner ever tests it, non-blocking too):
 * spool_tmp_sweep() removes a tmp/ file it can lock, that is, whose writer
 * is gone, once it is older than a grace period.
 *
 * Reader: spool_open() opens queue/NAME with O_NOFOLLOW|O_NONBLOCK, wants a
 * regular file with one link, checks magic, lengths against the file size
 * and the MAC (constant-time compare) in one streaming pass that also
 * captures the envelope bytes it hashed, parses the envelope strictly, and
 * wants the queue ID to equal the file name and the file's owner to be the
 * envelope uid.  The only other owner accepted is the reader's own
 * effective uid: files the runner wrote itself (bounces, alerts) belong to
 * the runner user.  Sendmail is setgid, not setuid, so a file written for
 * a site user is owned by that user.  Every rejection is EX_DATAERR
 * ("quarantine this"); an I/O error is EX_TEMPFAIL.
 */
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "spool/spool.h"
#include "util/buf.h"
#include "util/msg.h"

#define SPOOL_MAGIC	"SITEMAIL-SPOOL 1\n"
#define SPOOL_MAGICLEN	(sizeof(SPOOL_MAGIC) - 1)
#define SPOOL_TRAILERLEN 16
#define SPOOL_TAILLEN	(SPOOL_TRAILERLEN + SPOOL_MACLEN)
#define SPOOL_OVERHEAD	(SPOOL_MAGICLEN + SPOOL_TAILLEN)
#define SPOOL_ENV_MAX	(16u << 20)
#define SPOOL_IOBUF	65536
#define SPOOL_QID_TRIES	8
#define SPOOL_LINK_GRACE 60		/* seconds a second link may be
					 * a commit in progress */

struct spool_writer {
	crypto_generichash_state mac;	/* first: needs 64-byte alignment */
	int	 dirfd;			/* spool_dir */
	int	 tmpfd;			/* spool_dir/tmp */
	int	 fd;			/* tmp/QID */
	int	 failed;		/* status of an earlier failure */
	int	 linked;		/* tmp/QID exists and is ours */
	char	 qid[SPOOL_QIDLEN + 1];
	uint64_t clen;			/* content bytes accepted */
	size_t	 blen;			/* bytes waiting in buf */
	unsigned char buf[SPOOL_IOBUF];
};

/* spool_put_be - store v as n big-endian bytes. */
static void
spool_put_be(unsigned char *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (unsigned char)v;
		v >>= 8;
	}
}

/* spool_get_be - load n big-endian bytes. */
static uint64_t
spool_get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = (v << 8) | *p++;
	return v;
}

/* spool_write_all - write n bytes, retrying short writes and EINTR. */
int
spool_write_all(int fd, const void *data, size_t n)
{
	const unsigned char *p = data;
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* spool_pread_all - read n bytes at off; returns bytes read (< n at EOF). */
static ssize_t
spool_pread_all(int fd, void *data, size_t n, off_t off)
{
	unsigned char *p = data;
	size_t	 got = 0;
	ssize_t	 r;

	while (got < n) {
		if ((r = pread(fd, p + got, n - got, off + (off_t)got)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* writer_fail - remember the first failure; later calls return it. */
static int
writer_fail(struct spool_writer *w, int status, const char *what, int errnum)
{
	w->failed = err_set(status, "cannot %s spool file tmp/%s: %s", what,
	    w->qid, strerror(errnum));
	return w->failed;
}

/* writer_flush - MAC and write out the buffered bytes. */
static int
writer_flush(struct spool_writer *w)
{
	if (w->failed)
		return w->failed;
	if (w->blen == 0)
		return 0;
	crypto_generichash_update(&w->mac, w->buf, w->blen);
	if (spool_write_all(w->fd, w->buf, w->blen) < 0)
		return writer_fail(w, EX_TEMPFAIL, "write", errno);
	w->blen = 0;
	return 0;
}

/* writer_append - buffer n bytes (MACed and written when the buffer fills). */
static int
writer_append(struct spool_writer *w, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t	 k;

	while (n > 0) {
		if (w->failed)
			return w->failed;
		if (w->blen == sizeof(w->buf) && writer_flush(w) != 0)
			return w->failed;
		k = sizeof(w->buf) - w->blen;
		if (k > n)
			k = n;
		memcpy(w->buf + w->blen, p, k);
		w->blen += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* writer_free - close descriptors and release the writer. */
static void
writer_free(struct spool_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmpfd >= 0)
		close(w->tmpfd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	sodium_memzero(&w->mac, sizeof(w->mac));
	free(w);
}

/* writer_fsuid - create files as the real uid (the identity the envelope
 * records): with a set-uid caller (real and effective uid differ) switch
 * the file system uid to the real uid; to = 0 switches back.  -1 when the
 * switch is impossible (no privilege to do it). */
static int
writer_fsuid(int to)
{
	uid_t	 ruid = getuid(), euid = geteuid();

	if (ruid == euid)
		return 0;
	(void)setfsuid(to ? ruid : euid);
	return (uid_t)setfsuid((uid_t)-1) == (to ? ruid : euid) ? 0 : -1;
}

/* writer_create - openat tmp/QID as the real uid, and lock it: the lock
 * tells the runner the writer is alive (nobody ever waits on it). */
static int
writer_create(struct spool_writer *w)
{
	int	 saved;

	if (writer_fsuid(1) < 0) {
		(void)writer_fsuid(0);
		errno = EPERM;
		return -1;
	}
	w->fd = openat(w->tmpfd, w->qid, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0640);
	saved = errno;
	/* The runner reads through the group: umask must not remove g+r
	 * (chmod as the owner, before the file system uid goes back). */
	if (w->fd >= 0 && fchmod(w->fd, 0640) < 0) {
		saved = errno;
		close(w->fd);
		w->fd = -1;
		unlinkat(w->tmpfd, w->qid, 0);
	}
	(void)writer_fsuid(0);
	if (w->fd >= 0 && flock(w->fd, LOCK_EX | LOCK_NB) < 0) {
		saved = errno;
		close(w->fd);
		w->fd = -1;
		unlinkat(w->tmpfd, w->qid, 0);
	}
	errno = saved;
	return w->fd;
}

/* writer_open_tmp - create tmp/QID under a fresh queue ID. */
static int
writer_open_tmp(struct spool_writer *w, const char *spool_dir)
{
	int	 i;

	for (i = 0; i < SPOOL_QID_TRIES; i++) {
		spool_qid_new(w->qid);
		if (writer_create(w) >= 0) {
			w->linked = 1;
			break;
		}
		if (errno == EPERM && getuid() != geteuid())
			return err_set(EX_TEMPFAIL, "real uid %lu and effective "
			    "uid %lu differ, and the message cannot be written "
			    "as uid %lu: refused (run it without a set-uid "
			    "wrapper)", (unsigned long)getuid(),
			    (unsigned long)geteuid(), (unsigned long)getuid());
		if (errno != EEXIST)
			return err_set(EX_TEMPFAIL, "cannot create %s/tmp/%s: %s",
			    spool_dir, w->qid, strerror(errno));
	}
	if (w->fd < 0)
		return err_set(EX_TEMPFAIL, "cannot create a unique file in "
		    "%s/tmp", spool_dir);
	return 0;
}

/* spool_create - open tmp/QID with O_EXCL|O_NOFOLLOW; qid is chosen here. */
int
spool_create(struct spool_writer **wp, const char *spool_dir,
    const unsigned char key[SPOOL_KEYLEN])
{
	struct spool_writer *w;
	void	*mem;
	int	 rc;

	*wp = NULL;
	if (sodium_init() < 0)
		return err_set(EX_TEMPFAIL, "cannot initialise libsodium");
	if (posix_memalign(&mem, 64, sizeof(*w)) != 0)
		return err_set(EX_TEMPFAIL, "out of memory");
	w = mem;
	memset(w, 0, offsetof(struct spool_writer, buf));
	w->fd = w->tmpfd = -1;
	w->dirfd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		rc = err_set(EX_TEMPFAIL, "cannot open spool directory %s: %s",
		    spool_dir, strerror(errno));
		goto fail;
	}
	w->tmpfd = openat(w->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->tmpfd < 0) {
		rc = err_set(EX_TEMPFAIL, "cannot open %s/tmp: %s", spool_dir,
		    strerror(errno));
		goto fail;
	}
	if ((rc = writer_open_tmp(w, spool_dir)) != 0)
		goto fail;
	crypto_generichash_init(&w->mac, key, SPOOL_KEYLEN, SPOOL_MACLEN);
	writer_append(w, SPOOL_MAGIC, SPOOL_MAGICLEN);
	*wp = w;
	return 0;
fail:
	writer_free(w);
	return rc;
}

/* spool_writer_qid - the queue ID of the message being written. */
const char *
spool_writer_qid(const struct spool_writer *w)
{
	return w->qid;
}

/* spool_write - append content bytes (buffered, MACed as they pass). */
int
spool_write(struct spool_writer *w, const void *data, size_t n)
{
	if (w->failed)
		return w->failed;
	if (writer_append(w, data, n) != 0)
		return w->failed;
	w->clen += n;
	return 0;
}

/* spool_content_size - content bytes written so far. */
uint64_t
spool_content_size(const struct spool_writer *w)
{
	return w->clen;
}

/* spool_abort - unlink the temporary file and free the writer. */
void
spool_abort(struct spool_writer *w)
{
	if (w == NULL)
		return;
	if (w->linked)
		unlinkat(w->tmpfd, w->qid, 0);
	writer_free(w);
}

/* writer_finish - append envelope, trailer and MAC; fsync and close. */
static int
writer_finish(struct spool_writer *w, const struct buf *env)
{
	unsigned char tail[SPOOL_TAILLEN];

	spool_put_be(tail, w->clen, 8);
	spool_put_be(tail + 8, env->len, 4);
	spool_put_be(tail + 12, SPOOL_VERSION, 4);
	if (writer_append(w, env->ptr, env->len) != 0 ||
	    writer_append(w, tail, SPOOL_TRAILERLEN) != 0 ||
	    writer_flush(w) != 0)
		return w->failed;
	crypto_generichash_final(&w->mac, tail + SPOOL_TRAILERLEN,
	    SPOOL_MACLEN);
	if (spool_write_all(w->fd, tail + SPOOL_TRAILERLEN, SPOOL_MACLEN) < 0)
		return writer_fail(w, EX_TEMPFAIL, "write", errno);
	if (fsync(w->fd) < 0)
		return writer_fail(w, EX_TEMPFAIL, "fsync", errno);
	return 0;
}

/* writer_rename - move tmp/QID to queue/QID, never replacing a file. */
static int
writer_rename(struct spool_writer *w, int queuefd)
{
	struct stat st;

	if (renameat2(w->tmpfd, w->qid, queuefd, w->qid,
	    RENAME_NOREPLACE) == 0) {
		w->linked = 0;
		return 0;
	}
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/*
	 * The file system cannot rename without replacing (NFS): a plain
	 * rename.  Queue IDs are unique (time + random, and tmp/QID was
	 * made with O_EXCL), so the name is free; never link + unlink,
	 * which shows the runner a file with two links.
	 */
	if (fstatat(queuefd, w->qid, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (renameat(w->tmpfd, w->qid, queuefd, w->qid) < 0)
		return -1;
	w->linked = 0;
	return 0;
}

/* writer_publish - rename into queue/ and make the rename durable. */
static int
writer_publish(struct spool_writer *w)
{
	int	 queuefd, rc = 0;

	queuefd = openat(w->dirfd, "queue", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (queuefd < 0)
		return writer_fail(w, EX_TEMPFAIL, "open queue/ for", errno);
	if (writer_rename(w, queuefd) < 0)
		rc = writer_fail(w, EX_TEMPFAIL, "rename into queue/", errno);
	else if (fsync(queuefd) < 0) {
		rc = writer_fail(w, EX_TEMPFAIL, "fsync queue/ for", errno);
		/* Not durable, so not accepted: take it back. */
		unlinkat(queuefd, w->qid, 0);
	}
	close(queuefd);
	return rc;
}

/* spool_commit - append envelope and trailer, fsync, rename into queue/. */
int
spool_commit(struct spool_writer *w, struct envelope *env)
{
	struct buf text;
	int	 rc;

	if (w->failed) {
		rc = w->failed;
		spool_abort(w);
		return rc;
	}
	memcpy(env->qid, w->qid, sizeof(env->qid));
	env->version = SPOOL_VERSION;
	buf_init(&text, SPOOL_ENV_MAX);
	if ((rc = spool_envelope_format(env, &text)) == 0 &&
	    (rc = writer_finish(w, &text)) == 0) {
		rc = close(w->fd) < 0 ?
		    writer_fail(w, EX_TEMPFAIL, "close", errno) : 0;
		w->fd = -1;
		if (rc == 0)
			rc = writer_publish(w);
	}
	buf_free(&text);
	spool_abort(w);		/* unlinks tmp/QID unless it was renamed */
	return rc;
}

/* spool_tmp_sweep - remove tmp/ files whose writer is gone. */
unsigned
spool_tmp_sweep(const char *spool_dir, time_t grace)
{
	char	 path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	time_t	 now = time(NULL);
	unsigned n = 0;
	DIR	*d;
	int	 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/tmp", spool_dir) >=
	    sizeof(path) || (d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* The writer's lock is held from before its first write. */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime <= now - grace &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0) {
			log_info("removed tmp/%s: its writer is gone (%lld "
			    "bytes)", de->d_name, (long long)st.st_size);
			n++;
		}
		close(fd);
	}
	closedir(d);
	return n;
}

/* Reading. */

/* reader_check_tail - validate the trailer against the file size. */
static int
reader_check_tail(const unsigned char *tail, off_t size, uint64_t *clen,
    uint32_t *elen)
{
	uint64_t room;

	*clen = spool_get_be(tail, 8);
	*elen = (uint32_t)spool_get_be(tail + 8, 4);
	if (spool_get_be(tail + 12, 4) != SPOOL_VERSION)
		return err_set(EX_DATAERR, "unsupported spool format version "
		    "%lu", (unsigned long)spool_get_be(tail + 12, 4));
	if (*elen == 0 || *elen > SPOOL_ENV_MAX)
		return err_set(EX_DATAERR, "bad envelope length %lu",
		    (unsigned long)*elen);
	room = (uint64_t)size - SPOOL_OVERHEAD;
	if (*elen > room || *clen != room - *elen)
		return err_set(EX_DATAERR, "lengths in the trailer do not "
		    "match the file size");
	return 0;
}

/* reader_copy - copy the part of chunk [off, off+n) inside [lo, lo+len). */
static void
reader_copy(unsigned char *dst, uint64_t lo, uint64_t len,
    const unsigned char *chunk, uint64_t off, size_t n)
{
	uint64_t a = off > lo ? off : lo;
	uint64_t b = off + n < lo + len ? off + n : lo + len;

	if (a < b)
		memcpy(dst + (a - lo), chunk + (a - off), (size_t)(b - a));
}

/* reader_mac - one pass over the file: MAC it, capture envelope and tail. */
static int
reader_mac(int fd, const unsigned char *key, off_t size, uint64_t clen,
    unsigned char *env, uint32_t elen, const unsigned char *tail)
{
	crypto_generichash_state st;
	unsigned char *chunk, seen[SPOOL_TAILLEN], mac[SPOOL_MACLEN];
	uint64_t off, end = (uint64_t)size - SPOOL_MACLEN;
	uint64_t envoff = SPOOL_MAGICLEN + clen;
	ssize_t	 r;
	size_t	 n;
	int	 rc = 0;

	if ((chunk = malloc(SPOOL_IOBUF)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	crypto_generichash_init(&st, key, SPOOL_KEYLEN, SPOOL_MACLEN);
	for (off = 0; off < end; off += n) {
		n = end - off < SPOOL_IOBUF ? (size_t)(end - off) : SPOOL_IOBUF;
		if ((r = spool_pread_all(fd, chunk, n, (off_t)off)) < 0) {
			rc = err_set(EX_TEMPFAIL, "read error: %s",
			    strerror(errno));
			goto out;
		}
		if ((size_t)r != n) {
			rc = err_set(EX_DATAERR, "file shrank while reading");
			goto out;
		}
		crypto_generichash_update(&st, chunk, n);
		reader_copy(env, envoff, elen, chunk, off, n);
		reader_copy(seen, envoff + elen, SPOOL_TRAILERLEN, chunk,
		    off, n);
	}
	crypto_generichash_final(&st, mac, sizeof(mac));
	if (memcmp(seen, tail, SPOOL_TRAILERLEN) != 0 ||
	    crypto_verify_32(mac, tail + SPOOL_TRAILERLEN) != 0)
		rc = err_set(EX_DATAERR, "bad signature (MAC mismatch)");
out:
	free(chunk);
	return rc;
}

/* spool_verify_fd - verify and parse an already open file (fuzzing, tests).
 * On success msg owns fd (spool_close closes it); on failure it does not. */
int
spool_verify_fd(struct spool_msg *msg, int fd,
    const unsigned char key[SPOOL_KEYLEN])
{
	unsigned char magic[SPOOL_MAGICLEN], tail[SPOOL_TAILLEN];
	unsigned char *env = NULL;
	struct stat st;
	uint64_t clen;
	uint32_t elen;
	int	 rc;

	memset(msg, 0, sizeof(*msg));
	msg->fd = -1;
	if (sodium_init() < 0)
		return err_set(EX_TEMPFAIL, "cannot initialise libsodium");
	if (fstat(fd, &st) < 0)
		return err_set(EX_TEMPFAIL, "fstat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(EX_DATAERR, "not a regular file");
	if (st.st_size < (off_t)SPOOL_OVERHEAD)
		return err_set(EX_DATAERR, "too short for a spool file");
	if (spool_pread_all(fd, magic, sizeof(magic), 0) != sizeof(magic) ||
	    spool_pread_all(fd, tail, sizeof(tail),
	    st.st_size - (off_t)sizeof(tail)) != sizeof(tail))
		return err_set(EX_TEMPFAIL, "read error: %s", strerror(errno));
	if (memcmp(magic, SPOOL_MAGIC, SPOOL_MAGICLEN) != 0)
		return err_set(EX_DATAERR, "not a sitemail spool file (bad "
		    "magic)");
	if ((rc = reader_check_tail(tail, st.st_size, &clen, &elen)) != 0)
		return rc;
	if ((env = malloc(elen)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	if ((rc = reader_mac(fd, key, st.st_size, clen, env, elen, tail)) == 0)
		rc = spool_envelope_parse((const char *)env, elen, &msg->env);
	free(env);
	if (rc != 0)
		return rc;
	msg->fd = fd;
	msg->content_off = SPOOL_MAGICLEN;
	msg->content_len = clen;
	msg->file_size = st.st_size;
	return 0;
}

/* spool_open - open dirfd/name, check fstat, verify the MAC, parse. */
int
spool_open(struct spool_msg *msg, int dirfd, const char *name,
    const unsigned char key[SPOOL_KEYLEN])
{
	struct stat st;
	int	 fd, rc;

	memset(msg, 0, sizeof(*msg));
	msg->fd = -1;
	if (!spool_qid_valid(name))
		return err_set(EX_DATAERR, "not a queue file name");
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return err_set(EX_DATAERR, "is a symbolic link");
	if (fd < 0 && errno == EACCES)
		return err_set(EX_DATAERR, "cannot be read by the runner "
		    "(permission denied)");
	if (fd < 0)
		return err_set(EX_TEMPFAIL, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = err_set(EX_TEMPFAIL, "fstat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(EX_DATAERR, "not a regular file");
		goto fail;
	}
	if (st.st_nlink != 1) {
		/* A commit by link + unlink (an older sendmail on a file
		 * system without RENAME_NOREPLACE) shows two links for an
		 * instant: only an old extra link is refused. */
		rc = st.st_nlink == 2 && st.st_ctime > time(NULL) -
		    SPOOL_LINK_GRACE ? err_set(EX_TEMPFAIL, "has 2 hard links "
		    "(a commit in progress?)") : err_set(EX_DATAERR, "has %lu "
		    "hard links, want 1", (unsigned long)st.st_nlink);
		goto fail;
	}
	if ((rc = spool_verify_fd(msg, fd, key)) != 0)
		goto fail;
	if (strcmp(msg->env.qid, name) != 0)
		rc = err_set(EX_DATAERR, "queue ID %s in the envelope does not "
		    "match the file name", msg->env.qid);
	else if (st.st_uid != msg->env.uid && st.st_uid != geteuid())
		rc = err_set(EX_DATAERR, "file owner uid %lu is neither the "
		    "envelope uid %lu nor the runner", (unsigned long)st.st_uid,
		    (unsigned long)msg->env.uid);
	if (rc != 0) {
		spool_close(msg);
		return rc;
	}
	return 0;
fail:
	close(fd);
	return rc;
}

/* spool_read_content - pread up to n content bytes at offset off. */
ssize_t
spool_read_content(struct spool_msg *msg, uint64_t off, void *data, size_t n)
{
	ssize_t	 r;

	if (off >= msg->content_len)
		return 0;
	if (n > msg->content_len - off)
		n = (size_t)(msg->content_len - off);
	r = spool_pread_all(msg->fd, data, n, (off_t)(msg->content_off + off));
	if (r < 0)
		return err_set(EX_TEMPFAIL, "read error: %s", strerror(errno)),
		    -1;
	if ((size_t)r != n)
		return err_set(EX_DATAERR, "spool file truncated"), -1;
	return r;
}

/* spool_close - close the file and free the envelope. */
void
spool_close(struct spool_msg *msg)
{
	if (msg->fd >= 0)
		close(msg->fd);
	msg->fd = -1;
	spool_envelope_free(&msg->env);
}
