/*
 * confcheck.c - "sitemail check-config": everything the programs use at
 * run time, checked as the user that will use it, so that "OK" means the
 * running system works (shared/DESIGN.md "Configuration").
 *
 * Checked: every sites.d file loads (one left out is named with its line)
 * and, like sitemail.conf, is readable by the set-gid group and the
 * runner user;
 * DNS servers parse; password and CA files exist and the runner user can
 * read them; the spool key is well formed and readable by the set-gid
 * group and the runner user; users= names
 * exist; the runner user and group exist; a file: log exists (set-gid
 * programs never create it) and both the runner user and the set-gid
 * group can write it; the spool layout exists with its owners and modes
 * (as "make install" creates it); the directory of [notify] metrics
 * exists and the runner user can write it (the file is replaced there);
 * [smtpd] tls_cert and tls_key come as a pair and exist; [firewall]
 * exempt_users exist.  Access is judged from the modes, owners
 * and groups of the path and of every directory above it, for the uid and
 * groups of the user in question.  Each problem is one line naming
 * FILE:LINE or the path.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "queue/confcheck.h"
#include "queue/dns.h"
#include "spool/spool.h"
#include "util/confidx.h"
#include "util/msg.h"

#define CONFCHECK_GROUPS	64

/* Who will use a file: a uid (or none) and its groups. */
struct confcheck_who {
	const char *what;		/* "user sitemail", "group sitemail" */
	uid_t	 uid;
	int	 has_uid;
	gid_t	 gids[CONFCHECK_GROUPS];
	int	 ngids;
};

/* The state of one run. */
struct confcheck {
	const struct conf *c;
	FILE	*out;
	int	 problems;
	struct confcheck_who runner, group;
	uid_t	 runner_uid;
	gid_t	 runner_gid;
	int	 have_runner;
};

/* confcheck_say - report one problem. */
static void
confcheck_say(struct confcheck *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
confcheck_say(struct confcheck *k, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(k->out, fmt, ap);
	va_end(ap);
	fputc('\n', k->out);
	k->problems++;
}

/* confcheck_at - "FILE:LINE" of a key, or the default's description. */
static const char *
confcheck_at(const struct conf *c, const char *sect, const char *key)
{
	const char *w = conf_where(c, sect, key);

	return w != NULL ? w : "(built-in default)";
}

/* confcheck_perm - 1 if who may do mode (4 read, 2 write, 1 search) on st. */
static int
confcheck_perm(const struct confcheck_who *who, const struct stat *st,
    mode_t mode)
{
	int	 i;

	if (who->has_uid && who->uid == 0)
		return 1;
	if (who->has_uid && st->st_uid == who->uid)
		return ((st->st_mode >> 6) & mode) == mode;
	for (i = 0; i < who->ngids; i++)
		if (st->st_gid == who->gids[i])
			return ((st->st_mode >> 3) & mode) == mode;
	return (st->st_mode & mode) == mode;
}

/* confcheck_access - 0 if who can reach path and do mode on it, else -1
 * with why filled in. */
static int
confcheck_access(const struct confcheck_who *who, const char *path,
    mode_t mode, char *why, size_t size)
{
	char	 dir[PATH_MAX];
	struct stat st;
	char	*slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return snprintf(why, size, "path too long"), -1;
	if (stat(path, &st) != 0)
		return snprintf(why, size, "%s", strerror(errno)), -1;
	if (!confcheck_perm(who, &st, mode))
		return snprintf(why, size, "%s by %s (mode %04o, uid %lu, "
		    "gid %lu)", mode == 4 ? "not readable" : "not writable",
		    who->what, (unsigned)(st.st_mode & 07777),
		    (unsigned long)st.st_uid, (unsigned long)st.st_gid), -1;
	while ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) == 0 && !confcheck_perm(who, &st, 1)) {
			snprintf(why, size, "directory %.*s is not searchable "
			    "by %s", (int)(size / 2), dir, who->what);
			return -1;
		}
	}
	return 0;
}

/* confcheck_file - a file that who must be able to read (or write). */
static void
confcheck_file(struct confcheck *k, const char *at, const char *what,
    const char *path, const struct confcheck_who *who, mode_t mode)
{
	char	 why[PATH_MAX + 128];

	if (path == NULL || *path == '\0')
		return;
	if (confcheck_access(who, path, mode, why, sizeof(why)) != 0)
		confcheck_say(k, "%s: %s %s: %s", at, what, path, why);
}

/* confcheck_who_init - who for a user (uid and groups) or a group only. */
static int
confcheck_who_init(struct confcheck *k)
{
	struct passwd *pw = getpwnam(k->c->user);
	struct group *gr = getgrnam(k->c->user);

	k->runner.what = "the runner user";
	k->group.what = "the set-gid group";
	if (pw == NULL) {
		confcheck_say(k, "%s: user \"%s\" does not exist (create it: "
		    "make install does)", confcheck_at(k->c, "main", "user"),
		    k->c->user);
		return -1;
	}
	k->runner.uid = k->runner_uid = pw->pw_uid;
	k->runner.has_uid = 1;
	k->runner_gid = gr ? gr->gr_gid : pw->pw_gid;
	k->runner.ngids = CONFCHECK_GROUPS;
	if (getgrouplist(pw->pw_name, pw->pw_gid, k->runner.gids,
	    &k->runner.ngids) < 0)
		k->runner.ngids = 0;
	if (gr == NULL) {
		confcheck_say(k, "%s: group \"%s\" (the set-gid group) does "
		    "not exist", confcheck_at(k->c, "main", "user"),
		    k->c->user);
		return -1;
	}
	k->group.gids[0] = gr->gr_gid;
	k->group.ngids = 1;
	k->have_runner = 1;
	return 0;
}

/* confcheck_dns - every DNS server parses. */
static void
confcheck_dns(struct confcheck *k)
{
	struct sockaddr_storage ss;
	size_t	 i;

	for (i = 0; i < k->c->dns_servers.n; i++)
		if (dns_server_parse(k->c->dns_servers.v[i], &ss) != 0)
			confcheck_say(k, "%s: %s", confcheck_at(k->c, "dns",
			    "servers"), err_str());
}

/* confcheck_users - users= names exist; per-site password files. */
static void
confcheck_sites(struct confcheck *k)
{
	const struct conf_site *s;
	char	 at[PATH_MAX + 16];
	size_t	 i, j;

	for (i = 0; i < k->c->nsites; i++) {
		s = &k->c->sites[i];
		snprintf(at, sizeof(at), "%s:%d", s->file, s->users_line ?
		    s->users_line : s->line);
		for (j = 0; j < s->users.n; j++)
			if (strspn(s->users.v[j], "0123456789") !=
			    strlen(s->users.v[j]) &&
			    getpwnam(s->users.v[j]) == NULL)
				confcheck_say(k, "%s: [site %s] users: no such "
				    "user \"%s\"", at, s->name, s->users.v[j]);
		snprintf(at, sizeof(at), "%s:%d", s->file, s->password_line ?
		    s->password_line : s->line);
		if (k->have_runner)
			confcheck_file(k, at, "smarthost_password_file",
			    s->smarthost_password_file, &k->runner, 4);
	}
}

/* confcheck_dir - a spool directory: exists, owner, group and mode. */
static void
confcheck_dir(struct confcheck *k, const char *sub, mode_t want)
{
	char	 path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s%s", k->c->spool_dir, *sub ? "/" :
	    "", sub);
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		confcheck_say(k, "%s: spool directory missing (%s); create it "
		    "with: install -d -m %04o -o %s -g %s %s", path,
		    errno ? strerror(errno) : "not a directory",
		    (unsigned)want, k->c->user, k->c->user, path);
		return;
	}
	if ((st.st_mode & 07777) != want || (k->have_runner &&
	    (st.st_uid != k->runner_uid || st.st_gid != k->runner_gid)))
		confcheck_say(k, "%s: spool directory has mode %04o, uid %lu, "
		    "gid %lu; want mode %04o, owner %s:%s (chown %s:%s %s; "
		    "chmod %04o %s)", path, (unsigned)(st.st_mode & 07777),
		    (unsigned long)st.st_uid, (unsigned long)st.st_gid,
		    (unsigned)want, k->c->user, k->c->user, k->c->user,
		    k->c->user, path, (unsigned)want, path);
}

/* confcheck_spool - the layout of "make install". */
static void
confcheck_spool(struct confcheck *k)
{
	static const char *const subs[] = { "", "tmp", "queue", "quarantine",
	    "state" };
	size_t	 i;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		errno = 0;
		confcheck_dir(k, subs[i], 0770);
	}
	errno = 0;
	confcheck_dir(k, "state/flush", 01770);
}

/* confcheck_log - a file: log exists, runner and group can write it. */
static void
confcheck_log(struct confcheck *k)
{
	const char *at = confcheck_at(k->c, "main", "log");
	const char *path = k->c->log + 5;
	struct stat st;

	if (strncmp(k->c->log, "file:", 5) != 0 || !k->have_runner)
		return;
	if (stat(path, &st) != 0) {
		confcheck_say(k, "%s: log %s: %s (set-gid programs never "
		    "create it: install -m 0660 -o %s -g %s /dev/null %s)", at,
		    path, strerror(errno), k->c->user, k->c->user, path);
		return;
	}
	confcheck_file(k, at, "log", path, &k->runner, 2);
	confcheck_file(k, at, "log", path, &k->group, 2);
}

/* confcheck_notify - the runner user can create files in the directory
 * of [notify] metrics (it writes a temporary file and renames it). */
static void
confcheck_notify(struct confcheck *k)
{
	char	 dir[PATH_MAX], *slash;

	if (*k->c->notify.metrics == '\0' || !k->have_runner ||
	    (size_t)snprintf(dir, sizeof(dir), "%s", k->c->notify.metrics) >=
	    sizeof(dir) || (slash = strrchr(dir, '/')) == NULL)
		return;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	confcheck_file(k, "[notify] metrics", "directory", dir, &k->runner,
	    2 | 1);
}

/* confcheck_listener - [smtpd] STARTTLS files and [firewall] users (keys
 * whose line is not tracked: named by file and section). */
static void
confcheck_listener(struct confcheck *k)
{
	const struct conf *c = k->c;
	struct confcheck_who root = { "root", 0, 1, { 0 }, 0 };
	char	 at[PATH_MAX + 32], fw[PATH_MAX + 32];
	size_t	 i;

	snprintf(at, sizeof(at), "%s/sitemail.conf [smtpd]", c->dir);
	snprintf(fw, sizeof(fw), "%s/sitemail.conf [firewall]", c->dir);
	if ((*c->smtpd.tls_cert == '\0') != (*c->smtpd.tls_key == '\0'))
		confcheck_say(k, "%s: tls_cert and tls_key go together (set "
		    "both for STARTTLS, or neither)", at);
	/* Read by root when the listener binds its own sockets, by the
	 * runner user under socket activation: both are fine here. */
	confcheck_file(k, at, "tls_cert", c->smtpd.tls_cert, &root, 4);
	confcheck_file(k, at, "tls_key", c->smtpd.tls_key, &root, 4);
	for (i = 0; i < c->firewall.exempt_users.n; i++)
		if (strspn(c->firewall.exempt_users.v[i], "0123456789") !=
		    strlen(c->firewall.exempt_users.v[i]) &&
		    getpwnam(c->firewall.exempt_users.v[i]) == NULL)
			confcheck_say(k, "%s: exempt_users: no user \"%s\" "
			    "(sitemail firewall --apply would fail)", fw,
			    c->firewall.exempt_users.v[i]);
}

/* confcheck_conf_files - sitemail.conf and every sites.d file readable by
 * the set-gid group (intake) and the runner user. */
static void
confcheck_conf_files(struct confcheck *k)
{
	struct conf_list names;
	char	 path[PATH_MAX];
	size_t	 i;

	if (!k->have_runner || conf_sites_d_names(k->c->dir, &names) != 0)
		return;
	for (i = 0; i <= names.n; i++) {
		if (i == names.n)
			snprintf(path, sizeof(path), "%s/sitemail.conf",
			    k->c->dir);
		else
			snprintf(path, sizeof(path), "%s/sites.d/%s",
			    k->c->dir, names.v[i]);
		if (i == names.n && access(path, F_OK) != 0)
			break;
		confcheck_file(k, path, "configuration file", path,
		    &k->group, 4);
		confcheck_file(k, path, "configuration file", path,
		    &k->runner, 4);
	}
	for (i = 0; i < names.n; i++)
		free(names.v[i]);
	free(names.v);
}

/* confcheck_key - the spool key: there, readable by the set-gid group
 * (intake signs) and the runner user (it verifies), and well formed. */
static void
confcheck_key(struct confcheck *k)
{
	unsigned char key[SPOOL_KEYLEN];
	char	 path[PATH_MAX];
	struct stat st;
	int	 n = k->problems;

	snprintf(path, sizeof(path), "%s/spool.key", k->c->dir);
	if (stat(path, &st) != 0) {
		confcheck_say(k, "%s: no spool key (%s): run 'sitemail keygen'",
		    path, strerror(errno));
		return;
	}
	if (k->have_runner) {
		confcheck_file(k, path, "spool key", path, &k->group, 4);
		confcheck_file(k, path, "spool key", path, &k->runner, 4);
	}
	if (n == k->problems && spool_key_load(path, key) != 0)
		confcheck_say(k, "%s", err_str());
	sodium_memzero(key, sizeof(key));
}

/* confcheck_run - check c; the problems go to out, one a line; their
 * number is returned. */
int
confcheck_run(const struct conf *c, FILE *out)
{
	struct confcheck k;
	size_t	 i;

	memset(&k, 0, sizeof(k));
	k.c = c;
	k.out = out;
	for (i = 0; i < c->broken.n; i++)
		confcheck_say(&k, "%s (this site keeps its last good "
		    "settings; every other site is unaffected)",
		    c->broken.v[i]);
	(void)confcheck_who_init(&k);
	confcheck_conf_files(&k);
	confcheck_dns(&k);
	confcheck_sites(&k);
	if (k.have_runner) {
		confcheck_file(&k, confcheck_at(c, "smarthost",
		    "password_file"), "password_file",
		    c->smarthost_password_file, &k.runner, 4);
		confcheck_file(&k, confcheck_at(c, "smarthost", "ca_file"),
		    "ca_file", c->ca_file, &k.runner, 4);
	}
	confcheck_key(&k);
	confcheck_log(&k);
	confcheck_notify(&k);
	confcheck_listener(&k);
	confcheck_spool(&k);
	return k.problems;
}
