/*
 * confidx.c - the compiled per-uid site index, SPOOL/state/sites.idx.
 *
 * Format (version 1, host byte order: the file never leaves the host; all
 * offsets are from the start of the file and fit 32 bits):
 *
 *	header, 112 bytes (struct cidx_hdr):
 *	  magic "SMCIDX1\n", version, header size, file size, build time,
 *	  the stat of CONFDIR/sites.d at build time (dev, ino, mtime and ctime
 *	  in ns: intake reparses everything when it differs), then
 *	  (count, offset) of four tables, the offset and length of CONFDIR
 *	  (the index is for this directory only), a checksum of every byte
 *	  after the header, and a checksum of the header itself.
 *	records (24 bytes each): a file: name offset and length ("sitemail.conf"
 *	  for record 0, else the sites.d file name), text offset, length and
 *	  checksum (the file's last good content), entry checksum.
 *	uids (12 bytes each, sorted by uid): uid, record, entry checksum.
 *	logins, sites (16 bytes each, sorted by bytes then length): string
 *	  offset and length, record, entry checksum: users= login names, and
 *	  the names of every configured site.
 *	then the strings and texts the entries point to.
 *
 * Checksums are FNV-1a (32 bit) against accidental damage; each entry's
 * is seeded with its table and position.  A reader checks the header
 * (magic, version, sizes, bounds of every table) and then each entry and
 * text it touches, so a lookup is O(log n); confidx_open(full = 1) checks
 * the body checksum as well.  Only root and the runner write the file
 * (state/ is theirs), always whole and by rename: readers never see it
 * change under them.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/confidx.h"
#include "util/confidx_fmt.h"
#include "util/msg.h"

struct confidx {
	int	 fd;
	struct cidx_hdr h;
};

/* cidx_pread - exactly n bytes at off, inside the file; -1 if not. */
static int
cidx_pread(const struct confidx *x, uint64_t off, void *p, size_t n)
{
	ssize_t	 r;

	if (off > x->h.file_size || n > x->h.file_size - off)
		return -1;
	while ((r = pread(x->fd, p, n, (off_t)off)) < 0 && errno == EINTR)
		;
	return r == (ssize_t)n ? 0 : -1;
}

/* cidx_span_ok - 1 if n entries of size bytes at off lie in the body. */
static int
cidx_span_ok(const struct cidx_hdr *h, uint32_t off, uint32_t n,
    size_t size)
{
	return off >= h->hdr_size && off <= h->file_size &&
	    n <= (h->file_size - off) / size;
}

/* cidx_damaged - the EX_CONFIG status for a bad index. */
static int
cidx_damaged(const char *what)
{
	return err_set(EX_CONFIG, "site index damaged: %s", what);
}

/* cidx_check_header - magic, version, sizes, table bounds, checksum. */
static int
cidx_check_header(const struct cidx_hdr *h, uint64_t size)
{
	if (memcmp(h->magic, CIDX_MAGIC, sizeof(h->magic)) != 0)
		return cidx_damaged("bad magic");
	if (h->version != CIDX_VERSION)
		return err_set(EX_CONFIG, "site index of version %u, want %u",
		    h->version, CIDX_VERSION);
	if (h->hdr_sum != cidx_sum(CIDX_FNV0, h, offsetof(struct cidx_hdr,
	    hdr_sum)))
		return cidx_damaged("header checksum");
	if (h->hdr_size != sizeof(*h) || h->file_size != size)
		return cidx_damaged("size");
	if (!cidx_span_ok(h, h->rec_off, h->nrec, sizeof(struct cidx_rec)) ||
	    !cidx_span_ok(h, h->uid_off, h->nuid, sizeof(struct cidx_uid)) ||
	    !cidx_span_ok(h, h->login_off, h->nlogin,
	    sizeof(struct cidx_name)) ||
	    !cidx_span_ok(h, h->site_off, h->nsite,
	    sizeof(struct cidx_name)) ||
	    !cidx_span_ok(h, h->dir_off, h->dir_len, 1) ||
	    h->dir_len > PATH_MAX || h->nrec == 0)
		return cidx_damaged("table bounds");
	return 0;
}

/* cidx_check_body - the checksum of every byte after the header. */
static int
cidx_check_body(const struct confidx *x)
{
	unsigned char buf[65536];
	uint64_t off = x->h.hdr_size;
	uint32_t h = CIDX_FNV0;
	size_t	 n;

	while (off < x->h.file_size) {
		n = x->h.file_size - off < sizeof(buf) ?
		    (size_t)(x->h.file_size - off) : sizeof(buf);
		if (cidx_pread(x, off, buf, n) != 0)
			return cidx_damaged("short read");
		h = cidx_sum(h, buf, n);
		off += n;
	}
	return h == x->h.body_sum ? 0 : cidx_damaged("body checksum");
}

/* confidx_open - open and check the index at path, built for dir. */
int
confidx_open(struct confidx **out, const char *path, const char *dir,
    int full)
{
	struct confidx *x;
	struct stat st;
	char	 d[PATH_MAX + 1];
	int	 rc;

	*out = NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	if ((x->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY)) < 0) {
		rc = err_set(EX_CONFIG, "cannot open %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	x->h.file_size = sizeof(x->h);
	if (fstat(x->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    cidx_pread(x, 0, &x->h, sizeof(x->h)) != 0) {
		rc = cidx_damaged("short file");
		goto fail;
	}
	if ((rc = cidx_check_header(&x->h, (uint64_t)st.st_size)) != 0)
		goto fail;
	if (cidx_pread(x, x->h.dir_off, d, x->h.dir_len) != 0 ||
	    strlen(dir) != x->h.dir_len || memcmp(d, dir, x->h.dir_len)) {
		rc = err_set(EX_CONFIG, "site index is for another "
		    "configuration directory");
		goto fail;
	}
	if (full && (rc = cidx_check_body(x)) != 0)
		goto fail;
	*out = x;
	return 0;
fail:
	confidx_close(x);
	return rc;
}

/* confidx_close - release (NULL is fine). */
void
confidx_close(struct confidx *x)
{
	if (x == NULL)
		return;
	if (x->fd >= 0)
		close(x->fd);
	free(x);
}

/* confidx_fingerprint - the stat of dir/sites.d (zeros if missing). */
void
confidx_fingerprint(const char *dir, uint64_t fp[4])
{
	char	 path[PATH_MAX];
	struct stat st;

	memset(fp, 0, 4 * sizeof(*fp));
	if (snprintf(path, sizeof(path), "%s/sites.d", dir) >=
	    (int)sizeof(path) || stat(path, &st) != 0)
		return;
	fp[0] = (uint64_t)st.st_dev;
	fp[1] = (uint64_t)st.st_ino;
	fp[2] = (uint64_t)st.st_mtim.tv_sec * 1000000000u +
	    (uint64_t)st.st_mtim.tv_nsec;
	fp[3] = (uint64_t)st.st_ctim.tv_sec * 1000000000u +
	    (uint64_t)st.st_ctim.tv_nsec;
}

/* confidx_fresh - 1 when dir/sites.d is as it was at build time. */
int
confidx_fresh(const struct confidx *x, const char *dir)
{
	uint64_t fp[4];

	confidx_fingerprint(dir, fp);
	return fp[0] == x->h.dir_dev && fp[1] == x->h.dir_ino &&
	    fp[2] == x->h.dir_mtime && fp[3] == x->h.dir_ctime;
}

/* cidx_get - entry i of a table, checked; -1 if damaged. */
static int
cidx_get(const struct confidx *x, uint32_t off, uint32_t tag, uint32_t i,
    void *e, size_t size)
{
	uint32_t sum;

	if (cidx_pread(x, (uint64_t)off + (uint64_t)i * size, e, size) != 0)
		return -1;
	memcpy(&sum, (char *)e + size - sizeof(sum), sizeof(sum));
	return sum == cidx_entry_sum(e, size, tag, i) ? 0 : -1;
}

/* confidx_find_uid - binary search of the uid table. */
int
confidx_find_uid(struct confidx *x, uid_t uid, uint32_t *rec)
{
	struct cidx_uid e;
	uint32_t lo = 0, hi = x->h.nuid, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cidx_get(x, x->h.uid_off, CIDX_T_UID, mid, &e,
		    sizeof(e)) != 0 || e.rec >= x->h.nrec)
			return cidx_damaged("uid entry");
		if (e.uid == (uint32_t)uid) {
			*rec = e.rec;
			return 0;
		}
		if (e.uid < (uint32_t)uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 1;
}

/* cidx_strcmp - bytes, then length: the order of the name tables. */
static int
cidx_strcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	 d = memcmp(a, b, alen < blen ? alen : blen);

	if (d != 0)
		return d;
	return alen < blen ? -1 : alen > blen;
}

/* cidx_find_name - binary search of a name table. */
static int
cidx_find_name(struct confidx *x, uint32_t off, uint32_t n, uint32_t tag,
    const char *name, uint32_t *rec)
{
	struct cidx_name e;
	char	 s[CIDX_STR_MAX];
	uint32_t lo = 0, hi = n, mid;
	size_t	 len = strlen(name);
	int	 d;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cidx_get(x, off, tag, mid, &e, sizeof(e)) != 0 ||
		    e.rec >= x->h.nrec || e.len > sizeof(s) ||
		    cidx_pread(x, e.off, s, e.len) != 0)
			return cidx_damaged("name entry");
		if ((d = cidx_strcmp(name, len, s, e.len)) == 0) {
			*rec = e.rec;
			return 0;
		}
		if (d > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 1;
}

/* confidx_find_login - the record of a login name listed in users=. */
int
confidx_find_login(struct confidx *x, const char *login, uint32_t *rec)
{
	return cidx_find_name(x, x->h.login_off, x->h.nlogin, CIDX_T_LOGIN,
	    login, rec);
}

/* confidx_has_site - 1 when a site of that name is configured. */
int
confidx_has_site(struct confidx *x, const char *name)
{
	uint32_t rec;

	return cidx_find_name(x, x->h.site_off, x->h.nsite, CIDX_T_SITE,
	    name, &rec) == 0;
}

/* cidx_dup - n bytes at off as a new NUL-terminated string. */
static char *
cidx_dup(const struct confidx *x, uint32_t off, uint32_t n)
{
	char	*p;

	if ((p = malloc((size_t)n + 1)) == NULL)
		return NULL;
	if (cidx_pread(x, off, p, n) != 0) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

/* confidx_record - record rec's file name and last good text. */
int
confidx_record(struct confidx *x, uint32_t rec, char **name, char **text,
    size_t *len)
{
	struct cidx_rec e;

	*name = *text = NULL;
	if (rec >= x->h.nrec || cidx_get(x, x->h.rec_off, CIDX_T_REC, rec,
	    &e, sizeof(e)) != 0 || e.name_len == 0 ||
	    e.name_len > CIDX_STR_MAX || e.text_len > CIDX_TEXT_MAX)
		return cidx_damaged("record entry");
	if ((*name = cidx_dup(x, e.name_off, e.name_len)) == NULL ||
	    (*text = cidx_dup(x, e.text_off, e.text_len)) == NULL ||
	    cidx_sum(CIDX_FNV0, *text, e.text_len) != e.text_sum ||
	    memchr(*name, '/', e.name_len) != NULL ||
	    strlen(*name) != e.name_len) {
		free(*name);
		free(*text);
		*name = *text = NULL;
		return cidx_damaged("record text");
	}
	*len = e.text_len;
	return 0;
}

/* confidx_count - number of records, uid and login entries. */
void
confidx_count(const struct confidx *x, size_t *nrec, size_t *nuid,
    size_t *nlogin)
{
	*nrec = x->h.nrec;
	*nuid = x->h.nuid;
	*nlogin = x->h.nlogin;
}

/* confidx_path - SPOOL/state/sites.idx into out. */
int
confidx_path(const char *spool_dir, char *out, size_t size)
{
	if (snprintf(out, size, "%s/state/%s", spool_dir, CONFIDX_NAME) >=
	    (int)size)
		return err_set(EX_CONFIG, "spool_dir too long");
	return 0;
}
