/*
 * confidx_build.c - load the configuration as the runner uses it and
 * compile SPOOL/state/sites.idx (format in util/confidx.c).
 *
 * Only sitemaild (user sitemail) and "sitemail reload" run as root call
 * this with write set; the set-gid programs never do.  A sites.d file
 * that does not load (unreadable, syntax, bad value, a site or user also
 * defined elsewhere) is replaced by its last good text from the previous
 * index, if that index is whole (body checksum), else left out; either way
 * its error is noted in conf.broken and every other site is unaffected.
 * An error in sitemail.conf fails the build and leaves the old index (and
 * with it the last good sitemail.conf) in place.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

/* A configuration file as loaded: its sites.d name and the text used. */
struct cidx_file {
	char	*name;
	char	*text;
	size_t	 len;
	uint32_t rec;			/* 0 = not in the index */
};

/* A table entry being built. */
struct cidx_ent {
	const char *s;			/* login or site name; NULL for uids */
	uint32_t len, uid, rec, off;
};

/* cidx_slurp - the whole file at path: 0, 1 when missing, or EX_CONFIG. */
static int
cidx_slurp(const char *path, char **text, size_t *len)
{
	struct buf b;
	char	 chunk[16384];
	ssize_t	 r;
	int	 fd, rc = 0;

	*text = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT)
			return 1;
		return err_set(EX_CONFIG, "cannot read %s: %s", path,
		    strerror(errno));
	}
	buf_init(&b, CIDX_TEXT_MAX);
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || buf_add(&b, chunk, (size_t)r) < 0) {
			rc = err_set(EX_CONFIG, "cannot read %s: %s", path,
			    r < 0 ? strerror(errno) : "too large");
			break;
		}
	}
	close(fd);
	*len = b.len;
	if (rc == 0 && (*text = buf_steal(&b)) == NULL &&
	    (*text = strdup("")) == NULL)
		rc = err_set(EX_TEMPFAIL, "out of memory");
	buf_free(&b);
	return rc;
}

/* cidx_old_text - the last good text of sites.d/name in old: 0, or 1. */
static int
cidx_old_text(struct confidx *old, const char *name, char **text,
    size_t *len)
{
	size_t	 nrec, nuid, nlogin;
	uint32_t i;
	char	*n;

	if (old == NULL)
		return 1;
	confidx_count(old, &nrec, &nuid, &nlogin);
	for (i = 1; i < nrec; i++) {
		if (confidx_record(old, i, &n, text, len) != 0)
			return 1;
		if (strcmp(n, name) == 0) {
			free(n);
			return 0;
		}
		free(n);
		free(*text);
		*text = NULL;
	}
	return 1;
}

/* cidx_add_one - load sites.d/name (or its last good text) into c and,
 * when it loaded, into f. */
static int
cidx_add_one(struct conf *c, struct confidx *old, const char *name,
    struct cidx_file *f)
{
	struct buf path;
	int	 rc;

	memset(f, 0, sizeof(*f));
	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/sites.d/%s", c->dir, name) < 0)
		rc = err_set(EX_CONFIG, "configuration path too long");
	else if ((rc = cidx_slurp(buf_str(&path), &f->text, &f->len)) == 0)
		rc = conf_add_file(c, name, f->text, f->len);
	buf_free(&path);
	if (rc == 1) {			/* gone since the directory was read */
		free(f->text);
		f->text = NULL;
		return 0;
	}
	if (rc == EX_CONFIG) {
		free(f->text);
		f->text = NULL;
		if ((rc = conf_add_broken(c, name)) != 0)
			return rc;
		if (cidx_old_text(old, name, &f->text, &f->len) != 0 ||
		    conf_add_file(c, name, f->text, f->len) != 0) {
			free(f->text);
			f->text = NULL;
			return 0;
		}
	}
	if (rc == 0 && f->text != NULL && (f->name = strdup(name)) == NULL)
		rc = err_set(EX_TEMPFAIL, "out of memory");
	return rc;
}

/* cidx_names - the sites.d names, or those of the old index when the
 * directory cannot be read (noted as broken). */
static int
cidx_names(struct conf *c, struct confidx *old, struct conf_list *names)
{
	size_t	 nrec, nuid, nlogin, len;
	uint32_t i;
	char	*n, *t;
	int	 rc;

	if ((rc = conf_sites_d_names(c->dir, names)) != EX_CONFIG)
		return rc;
	if ((rc = conf_add_broken(c, "")) != 0 || old == NULL)
		return rc;
	confidx_count(old, &nrec, &nuid, &nlogin);
	if ((names->v = calloc(nrec, sizeof(*names->v))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	for (i = 1; i < nrec; i++)
		if (confidx_record(old, i, &n, &t, &len) == 0) {
			free(t);
			names->v[names->n++] = n;
		}
	return 0;
}

/* cidx_ent_cmp - uids by number, names by bytes then length. */
static int
cidx_ent_cmp(const void *a, const void *b)
{
	const struct cidx_ent *x = a, *y = b;
	int	 d;

	if (x->s == NULL)
		return x->uid < y->uid ? -1 : x->uid > y->uid;
	if ((d = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len)) != 0)
		return d;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* cidx_file_cmp - files by name, for bsearch. */
static int
cidx_file_cmp(const void *key, const void *f)
{
	return strcmp(key, ((const struct cidx_file *)f)->name);
}

/* Tables while building. */
struct cidx_tabs {
	struct cidx_ent *uid, *login, *site;
	size_t	 nuid, nlogin, nsite;
};

/* cidx_rec_of - the record of site s: 0 for sitemail.conf, else its
 * sites.d file's, numbered on first use. */
static uint32_t
cidx_rec_of(const struct conf *c, const struct conf_site *s,
    struct cidx_file *files, size_t nfiles, uint32_t *nrec)
{
	const char *base = strrchr(s->file, '/');
	struct cidx_file *f;
	size_t	 dl = strlen(c->dir);

	if (strncmp(s->file, c->dir, dl) != 0 ||
	    strncmp(s->file + dl, "/sites.d/", 9) != 0 || base == NULL)
		return 0;
	f = bsearch(base + 1, files, nfiles, sizeof(*files), cidx_file_cmp);
	if (f == NULL)
		return 0;
	if (f->rec == 0)
		f->rec = (*nrec)++;
	return f->rec;
}

/* cidx_tables - the uid, login and site entries of c, sorted. */
static int
cidx_tables(const struct conf *c, struct cidx_file *files, size_t nfiles,
    struct cidx_tabs *t, uint32_t *nrec)
{
	const struct conf_site *s;
	struct cidx_ent *e;
	uint64_t v;
	size_t	 i, j, nu = 0;
	uint32_t rec;

	for (i = 0; i < c->nsites; i++)
		nu += c->sites[i].users.n;
	if ((t->uid = calloc(nu + 1, sizeof(*e))) == NULL ||
	    (t->login = calloc(nu + 1, sizeof(*e))) == NULL ||
	    (t->site = calloc(c->nsites + 1, sizeof(*e))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	*nrec = 1;
	for (i = 0; i < c->nsites; i++) {
		s = &c->sites[i];
		rec = cidx_rec_of(c, s, files, nfiles, nrec);
		t->site[t->nsite++] = (struct cidx_ent){ s->name,
		    (uint32_t)strlen(s->name), 0, rec, 0 };
		for (j = 0; j < s->users.n; j++) {
			const char *u = s->users.v[j];

			if (conf_parse_u64(u, strlen(u), UINT32_MAX - 1,
			    &v) == 0)
				t->uid[t->nuid++] = (struct cidx_ent){ NULL, 0,
				    (uint32_t)v, rec, 0 };
			else
				t->login[t->nlogin++] = (struct cidx_ent){ u,
				    (uint32_t)strlen(u), 0, rec, 0 };
		}
	}
	qsort(t->uid, t->nuid, sizeof(*e), cidx_ent_cmp);
	qsort(t->login, t->nlogin, sizeof(*e), cidx_ent_cmp);
	qsort(t->site, t->nsite, sizeof(*e), cidx_ent_cmp);
	return 0;
}

/* cidx_heap_add - append n bytes to the string heap; their offset. */
static int
cidx_heap_add(struct buf *heap, uint64_t base, const void *p, size_t n,
    uint32_t *off)
{
	if (base + heap->len + n > CIDX_FILE_MAX)
		return err_set(EX_CONFIG, "site index too large");
	*off = (uint32_t)(base + heap->len);
	return buf_add(heap, p, n) < 0 ?
	    err_set(EX_TEMPFAIL, "out of memory") : 0;
}

/* cidx_put_names - a name table into out, strings into heap. */
static int
cidx_put_names(struct buf *out, struct buf *heap, uint64_t base,
    struct cidx_ent *e, size_t n, uint32_t tag)
{
	struct cidx_name w;
	size_t	 i;
	int	 rc;

	for (i = 0; i < n; i++) {
		if ((rc = cidx_heap_add(heap, base, e[i].s, e[i].len,
		    &w.off)) != 0)
			return rc;
		w.len = e[i].len;
		w.rec = e[i].rec;
		w.sum = cidx_entry_sum(&w, sizeof(w), tag, (uint32_t)i);
		if (buf_add(out, &w, sizeof(w)) < 0)
			return err_set(EX_TEMPFAIL, "out of memory");
	}
	return 0;
}

/* cidx_put_rec - record i (name, text) into out and heap. */
static int
cidx_put_rec(struct buf *out, struct buf *heap, uint64_t base, uint32_t i,
    const char *name, const char *text, size_t len)
{
	struct cidx_rec w;
	int	 rc;

	w.name_len = (uint32_t)strlen(name);
	w.text_len = (uint32_t)len;
	w.text_sum = cidx_sum(CIDX_FNV0, text, len);
	if ((rc = cidx_heap_add(heap, base, name, w.name_len,
	    &w.name_off)) != 0 || (rc = cidx_heap_add(heap, base, text, len,
	    &w.text_off)) != 0)
		return rc;
	w.sum = cidx_entry_sum(&w, sizeof(w), CIDX_T_REC, i);
	return buf_add(out, &w, sizeof(w)) < 0 ?
	    err_set(EX_TEMPFAIL, "out of memory") : 0;
}

/* cidx_image - the whole index file in out. */
static int
cidx_image(const struct conf *c, const uint64_t fp[4], const char *mtext,
    size_t mlen, struct cidx_file *files, size_t nfiles, struct buf *out)
{
	struct cidx_tabs t;
	struct cidx_hdr h;
	struct cidx_uid u;
	struct buf heap;
	uint64_t base;
	uint32_t nrec = 1, r;
	size_t	 i;
	int	 rc;

	memset(&t, 0, sizeof(t));
	memset(&h, 0, sizeof(h));
	buf_init(&heap, CIDX_FILE_MAX);
	if ((rc = cidx_tables(c, files, nfiles, &t, &nrec)) != 0)
		goto out;
	memcpy(h.magic, CIDX_MAGIC, sizeof(h.magic));
	h.version = CIDX_VERSION;
	h.hdr_size = sizeof(h);
	h.built = (uint64_t)time(NULL);
	memcpy(&h.dir_dev, fp, 4 * sizeof(*fp));
	h.nrec = nrec;
	h.rec_off = sizeof(h);
	h.nuid = (uint32_t)t.nuid;
	h.uid_off = h.rec_off + nrec * (uint32_t)sizeof(struct cidx_rec);
	h.nlogin = (uint32_t)t.nlogin;
	h.login_off = h.uid_off + h.nuid * (uint32_t)sizeof(u);
	h.nsite = (uint32_t)t.nsite;
	h.site_off = h.login_off + h.nlogin * (uint32_t)sizeof(struct
	    cidx_name);
	base = h.site_off + (uint64_t)h.nsite * sizeof(struct cidx_name);
	h.dir_len = (uint32_t)strlen(c->dir);
	if (buf_add(out, &h, sizeof(h)) < 0) {
		rc = err_set(EX_TEMPFAIL, "out of memory");
		goto out;
	}
	if ((rc = cidx_heap_add(&heap, base, c->dir, h.dir_len,
	    &h.dir_off)) != 0 || (rc = cidx_put_rec(out, &heap, base, 0,
	    CONFIDX_MAIN, mtext, mlen)) != 0)
		goto out;
	for (r = 1; r < nrec && rc == 0; r++)
		for (i = 0; i < nfiles; i++)
			if (files[i].rec == r)
				rc = cidx_put_rec(out, &heap, base, r,
				    files[i].name, files[i].text, files[i].len);
	for (i = 0; i < t.nuid && rc == 0; i++) {
		u.uid = t.uid[i].uid;
		u.rec = t.uid[i].rec;
		u.sum = cidx_entry_sum(&u, sizeof(u), CIDX_T_UID, (uint32_t)i);
		if (buf_add(out, &u, sizeof(u)) < 0)
			rc = err_set(EX_TEMPFAIL, "out of memory");
	}
	if (rc != 0 || (rc = cidx_put_names(out, &heap, base, t.login,
	    t.nlogin, CIDX_T_LOGIN)) != 0 || (rc = cidx_put_names(out, &heap, base,
	    t.site, t.nsite, CIDX_T_SITE)) != 0)
		goto out;
	if (out->len != base || buf_add(out, heap.ptr, heap.len) < 0) {
		rc = err_set(EX_SOFTWARE, "site index layout");
		goto out;
	}
	h.file_size = out->len;
	h.body_sum = cidx_sum(CIDX_FNV0, out->ptr + sizeof(h),
	    out->len - sizeof(h));
	h.hdr_sum = cidx_sum(CIDX_FNV0, &h, offsetof(struct cidx_hdr,
	    hdr_sum));
	memcpy(out->ptr, &h, sizeof(h));
out:
	free(t.uid);
	free(t.login);
	free(t.site);
	buf_free(&heap);
	return rc;
}

/* cidx_owner - as root, give fd to the runner user and its group. */
static int
cidx_owner(const struct conf *c, int fd)
{
	struct passwd *pw;
	struct group *gr;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(c->user)) == NULL)
		return err_set(EX_NOUSER, "no user %s", c->user);
	gr = getgrnam(c->user);
	if (fchown(fd, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid) != 0)
		return err_set(EX_IOERR, "chown: %s", strerror(errno));
	return 0;
}

/* cidx_same - 1 if the index at path already holds image (all but the
 * build time and the header checksum that covers it): a reload storm then
 * costs no writes and no fsync. */
static int
cidx_same(const char *path, const struct buf *image)
{
	const size_t a = offsetof(struct cidx_hdr, dir_dev),
	    b = offsetof(struct cidx_hdr, hdr_sum);
	struct stat st;
	char	*old;
	int	 fd, same = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size == image->len &&
	    (old = malloc(image->len)) != NULL) {
		same = read(fd, old, image->len) == (ssize_t)image->len &&
		    memcmp(old, image->ptr, offsetof(struct cidx_hdr,
		    built)) == 0 && memcmp(old + a, image->ptr + a,
		    b - a) == 0 && memcmp(old + sizeof(struct cidx_hdr),
		    image->ptr + sizeof(struct cidx_hdr),
		    image->len - sizeof(struct cidx_hdr)) == 0;
		free(old);
	}
	close(fd);
	return same;
}

/* cidx_store - write image to SPOOL/state/sites.idx: temp, fsync,
 * rename, fsync of the directory (nothing when it is already there). */
static int
cidx_store(const struct conf *c, const struct buf *image)
{
	char	 path[PATH_MAX], tmp[PATH_MAX], dir[PATH_MAX];
	size_t	 off = 0;
	ssize_t	 w;
	int	 fd, dfd, rc;

	if ((rc = confidx_path(c->spool_dir, path, sizeof(path))) != 0)
		return rc;
	if (cidx_same(path, image))
		return 0;
	if (snprintf(dir, sizeof(dir), "%s/state", c->spool_dir) >=
	    (int)sizeof(dir) || snprintf(tmp, sizeof(tmp),
	    "%s/state/.%s.XXXXXX", c->spool_dir, CONFIDX_NAME) >=
	    (int)sizeof(tmp))
		return err_set(EX_CONFIG, "spool_dir too long");
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return err_set(EX_CANTCREAT, "cannot create %s: %s", tmp,
		    strerror(errno));
	while (off < image->len && ((w = write(fd, image->ptr + off,
	    image->len - off)) > 0 || (w < 0 && errno == EINTR)))
		off += w > 0 ? (size_t)w : 0;
	if (off < image->len || fchmod(fd, 0640) != 0 || fsync(fd) != 0)
		rc = err_set(EX_IOERR, "cannot write %s: %s", tmp,
		    strerror(errno));
	else
		rc = cidx_owner(c, fd);
	if (close(fd) != 0 && rc == 0)
		rc = err_set(EX_IOERR, "cannot write %s: %s", tmp,
		    strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = err_set(EX_IOERR, "cannot rename %s: %s", tmp,
		    strerror(errno));
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* cidx_load_sites - every sites.d file into c (files[], sorted). */
static int
cidx_load_sites(struct conf *c, struct confidx *old,
    struct cidx_file **files, size_t *nfiles)
{
	struct conf_list names = { NULL, 0 };
	size_t	 i;
	int	 rc;

	*files = NULL;
	*nfiles = 0;
	if ((rc = cidx_names(c, old, &names)) != 0)
		return rc;
	if (names.n > 0 && (*files = calloc(names.n,
	    sizeof(**files))) == NULL)
		rc = err_set(EX_TEMPFAIL, "out of memory");
	for (i = 0; i < names.n && rc == 0; i++)
		if ((rc = cidx_add_one(c, old, names.v[i],
		    &(*files)[*nfiles])) == 0 && (*files)[*nfiles].name)
			(*nfiles)++;
	for (i = 0; i < names.n; i++)
		free(names.v[i]);
	free(names.v);
	return rc;
}

/* confidx_build - load dir as the runner does and, if wrote, compile. */
int
confidx_build(struct conf *c, const char *dir, int *wrote)
{
	struct cidx_file *files = NULL;
	struct confidx *old = NULL;
	struct buf image;
	char	 path[PATH_MAX], *mtext = NULL;
	uint64_t fp[4];
	size_t	 mlen = 0, nfiles = 0, i;
	int	 rc;

	if (dir == NULL)
		dir = conf_default_dir();
	buf_init(&image, CIDX_FILE_MAX);
	confidx_fingerprint(dir, fp);
	if (snprintf(path, sizeof(path), "%s/sitemail.conf", dir) >=
	    (int)sizeof(path))
		return err_set(EX_CONFIG, "configuration path too long");
	if ((rc = cidx_slurp(path, &mtext, &mlen)) == 1)
		rc = (mtext = strdup("")) ? 0 : err_set(EX_TEMPFAIL,
		    "out of memory");
	if (rc != 0 || (rc = conf_load_main(c, dir, mtext, mlen)) != 0) {
		free(mtext);
		return rc;
	}
	if (confidx_path(c->spool_dir, path, sizeof(path)) == 0)
		(void)confidx_open(&old, path, dir, 1);
	if ((rc = cidx_load_sites(c, old, &files, &nfiles)) != 0)
		conf_free(c);
	else if ((rc = conf_load_done(c)) == 0 && wrote != NULL &&
	    (*wrote = cidx_image(c, fp, mtext, mlen, files, nfiles,
	    &image)) == 0)
		*wrote = cidx_store(c, &image);
	confidx_close(old);
	for (i = 0; i < nfiles; i++) {
		free(files[i].name);
		free(files[i].text);
	}
	free(files);
	free(mtext);
	buf_free(&image);
	return rc;
}
