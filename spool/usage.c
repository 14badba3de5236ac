/*
 * usage.c - per-site spool usage: snapshot and intake check; see usage.h.
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
 * files as the submitting uid).  Sites whose name holds a space or a
 * control character are left out.  The file is at most USAGE_MAX bytes;
 * a reader takes what fits.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/site.h"
#include "spool/spool.h"
#include "spool/usage.h"
#include "util/buf.h"
#include "util/msg.h"

#define USAGE_MAX	(8u << 20)

/* One site's total while counting. */
struct usage_site {
	char	 name[SITE_NAME_MAX + 1];
	uint64_t bytes;
	unsigned msgs;			/* files in queue/ */
};

/* One uid seen while counting, and its site. */
struct usage_uid {
	uid_t	 uid;
	size_t	 site;
};

struct usage_count {
	const struct conf *conf;
	time_t	 oldest;		/* mtime of the oldest queue/ file */
	struct usage_site *s;
	size_t	 ns;
	struct usage_uid *u;
	size_t	 nu;
};

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

/* usage_site_of - the index of uid's site in the count (added if new);
 * (size_t)-1 when out of memory or the name cannot be written. */
static size_t
usage_site_of(struct usage_count *c, uid_t uid)
{
	struct site_id id;
	size_t	 i;
	void	*p;

	for (i = 0; i < c->nu; i++)
		if (c->u[i].uid == uid)
			return c->u[i].site;
	if (site_identify(c->conf, uid, &id) != 0 ||
	    strpbrk(id.name, " \t\r\n") != NULL)
		return (size_t)-1;
	for (i = 0; i < c->ns && strcmp(c->s[i].name, id.name) != 0; i++)
		;
	if (i == c->ns) {
		if ((p = realloc(c->s, (c->ns + 1) * sizeof(*c->s))) == NULL)
			return (size_t)-1;
		c->s = p;
		snprintf(c->s[i].name, sizeof(c->s[i].name), "%s", id.name);
		c->s[i].bytes = 0;
		c->s[i].msgs = 0;
		c->ns++;
	}
	if ((p = realloc(c->u, (c->nu + 1) * sizeof(*c->u))) == NULL)
		return (size_t)-1;
	c->u = p;
	c->u[c->nu].uid = uid;
	c->u[c->nu++].site = i;
	return i;
}

/* usage_count_dir - add the files of spool_dir/sub to the count. */
static void
usage_count_dir(struct usage_count *c, const char *sub)
{
	char	 path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	uid_t	 self = geteuid();
	size_t	 k;
	DIR	*d;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->conf->spool_dir,
	    sub) >= sizeof(path) || (d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0 || !S_ISREG(st.st_mode) || st.st_uid == self)
			continue;
		if ((k = usage_site_of(c, st.st_uid)) != (size_t)-1)
			c->s[k].bytes += (uint64_t)st.st_size;
		if (k != (size_t)-1 && strcmp(sub, "queue") == 0) {
			c->s[k].msgs++;
			if (c->oldest == 0 || st.st_mtime < c->oldest)
				c->oldest = st.st_mtime;
		}
	}
	closedir(d);
}

/* usage_write - write the snapshot text to state/.usage.tmp, rename. */
static int
usage_write(const char *spool_dir, const struct buf *text)
{
	char	 tmp[PATH_MAX], path[PATH_MAX];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/state/.usage.tmp",
	    spool_dir) >= sizeof(tmp) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", spool_dir,
	    USAGE_FILE) >= sizeof(path))
		return err_set(EX_CONFIG, "spool_dir too long");
	return spool_replace(tmp, path, text->ptr, text->len, 0640, 0);
}

static void (*usage_begin_fn)(void);
static void (*usage_site_fn)(const char *, uint64_t, unsigned);
static void (*usage_oldest_fn)(time_t);
static void (*usage_space_fn)(uint64_t);

/* usage_hooks - what usage_publish tells besides the snapshot. */
void
usage_hooks(void (*begin)(void),
    void (*site)(const char *, uint64_t, unsigned),
    void (*oldest)(time_t), void (*space)(uint64_t))
{
	usage_begin_fn = begin;
	usage_site_fn = site;
	usage_oldest_fn = oldest;
	usage_space_fn = space;
}

/* usage_tell - hand the count to the hooks. */
static void
usage_tell(const struct usage_count *c)
{
	struct statvfs vfs;
	size_t	 i;

	if (usage_begin_fn != NULL)
		usage_begin_fn();
	for (i = 0; usage_site_fn != NULL && i < c->ns; i++)
		usage_site_fn(c->s[i].name, c->s[i].bytes, c->s[i].msgs);
	if (usage_oldest_fn != NULL)
		usage_oldest_fn(c->oldest);
	if (usage_space_fn != NULL && statvfs(c->conf->spool_dir, &vfs) == 0)
		usage_space_fn((uint64_t)vfs.f_bavail * vfs.f_frsize);
}

/* usage_publish - count queue/ and tmp/ per site, replace the snapshot. */
int
usage_publish(const struct conf *conf)
{
	struct usage_count c = { conf, 0, NULL, 0, NULL, 0 };
	struct buf text;
	size_t	 i;
	int	 rc = 0;

	usage_count_dir(&c, "queue");
	usage_count_dir(&c, "tmp");
	buf_init(&text, USAGE_MAX);
	if (buf_printf(&text, "sitemail-usage 1 %lld\n",
	    (long long)time(NULL)) < 0)
		rc = err_set(EX_SOFTWARE, "usage: out of room");
	for (i = 0; rc == 0 && i < c.ns; i++)
		if (buf_printf(&text, "%s %" PRIu64 "\n", c.s[i].name,
		    c.s[i].bytes) < 0)
			break;		/* what fits */
	if (rc == 0)
		rc = usage_write(conf->spool_dir, &text);
	usage_tell(&c);
	buf_free(&text);
	free(c.s);
	free(c.u);
	return rc;
}
