/*
 * usage_walk.c - per-site spool usage: the runner's walk over queue/ and
 * tmp/ that writes the snapshot intake reads (its format: spool/usage.c)
 * and feeds sitemaild's notices and metrics; see usage.h.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
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
	usage_owner_fn owner;		/* the runner user's files */
	void	*owner_arg;
	time_t	 oldest;		/* mtime of the oldest queue/ file */
	struct usage_site *s;
	size_t	 ns;
	struct usage_uid *u;
	size_t	 nu;
};

/* usage_site_named - the index of site name in the count (added if new);
 * (size_t)-1 when out of memory or the name cannot be written. */
static size_t
usage_site_named(struct usage_count *c, const char *name)
{
	size_t	 i;
	void	*p;

	if (*name == '\0' || strlen(name) >= sizeof(c->s[0].name) ||
	    strpbrk(name, " \t\r\n") != NULL)
		return (size_t)-1;
	for (i = 0; i < c->ns && strcmp(c->s[i].name, name) != 0; i++)
		;
	if (i == c->ns) {
		if ((p = realloc(c->s, (c->ns + 1) * sizeof(*c->s))) == NULL)
			return (size_t)-1;
		c->s = p;
		snprintf(c->s[i].name, sizeof(c->s[i].name), "%s", name);
		c->s[i].bytes = 0;
		c->s[i].msgs = 0;
		c->ns++;
	}
	return i;
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
	    (i = usage_site_named(c, id.name)) == (size_t)-1)
		return (size_t)-1;
	if ((p = realloc(c->u, (c->nu + 1) * sizeof(*c->u))) == NULL)
		return (size_t)-1;
	c->u = p;
	c->u[c->nu].uid = uid;
	c->u[c->nu++].site = i;
	return i;
}

/* usage_file_site - the index of the site a file counts for, or
 * (size_t)-1 to leave it out. */
static size_t
usage_file_site(struct usage_count *c, const char *sub, const char *name,
    uid_t owner)
{
	const char *site;

	if (owner != geteuid())
		return usage_site_of(c, owner);
	if (c->owner == NULL ||
	    (site = c->owner(c->owner_arg, sub, name)) == NULL)
		return (size_t)-1;
	return usage_site_named(c, site);
}

/* usage_count_dir - add the files of spool_dir/sub to the count. */
static void
usage_count_dir(struct usage_count *c, const char *sub)
{
	char	 path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t	 k;
	DIR	*d;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->conf->spool_dir,
	    sub) >= sizeof(path) || (d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0 || !S_ISREG(st.st_mode))
			continue;
		if ((k = usage_file_site(c, sub, de->d_name, st.st_uid)) !=
		    (size_t)-1)
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
usage_publish(const struct conf *conf, usage_owner_fn owner, void *arg)
{
	struct usage_count c = { conf, owner, arg, 0, NULL, 0, NULL, 0 };
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
