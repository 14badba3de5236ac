/*
 * site.c - who sent a message: the site of a real uid.
 *
 * Rules, first match wins (shared/DESIGN.md "Identity"):
 *	1. uid 0 is the site "root", exempt from rate limits unless a
 *	   [site root] section sets them (CONF_LIMIT_EXEMPT).
 *	2. a uid listed in some [site] users= (by number, or by its login
 *	   name) belongs to that site (system accounts included).
 *	3. any other uid, below 1000 (www-data, daemons) or not, gets a site
 *	   of its own named after its login name, with the [limits]
 *	   defaults; or "uidN" when it has no passwd entry, when the login is
 *	   not usable as a site name, or when the login equals "root",
 *	   "system" or the name of a configured [site] that does not list it
 *	   (site_conf.c also asks the compiled index), so an unlisted user
 *	   can never share another site's queue, bucket or admin rights.
 * A compromised daemon thus freezes only itself, never root's cron mail.
 * The login recorded is the passwd name, or "uidN" without one.  Nothing
 * from argv, the environment or the message takes part.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "queue/site.h"
#include "util/confidx.h"
#include "util/msg.h"

#define SITE_PWBUF		16384
#define SITE_PWBUF_MAX		(1 << 20)

/* site_valid_name - 1 if s can serve as a site name. */
static int
site_valid_name(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && n <= SITE_NAME_MAX && strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    ".-_") == n;
}

/* site_login - look up the login of uid; 1 found, 0 not, or a status. */
int
site_login(uid_t uid, char *out, size_t size)
{
	struct passwd pw, *res = NULL;
	char	 stackbuf[SITE_PWBUF], *buf = stackbuf, *heap = NULL;
	size_t	 len = sizeof(stackbuf);
	int	 rc;

	while ((rc = getpwuid_r(uid, &pw, buf, len, &res)) == ERANGE &&
	    len < SITE_PWBUF_MAX) {
		len *= 2;
		free(heap);
		if ((heap = malloc(len)) == NULL)
			return err_set(EX_TEMPFAIL, "out of memory");
		buf = heap;
	}
	if (res != NULL) {
		rc = snprintf(out, size, "%s", pw.pw_name) < (int)size &&
		    pw.pw_name[0] != '\0' && strpbrk(pw.pw_name, " \t\r\n") ==
		    NULL;
		free(heap);
		return rc;
	}
	free(heap);
	if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF ||
	    rc == EPERM)
		return 0;
	return err_set(EX_TEMPFAIL, "cannot look up uid %lu: %s",
	    (unsigned long)uid, strerror(rc));
}

/* site_set_name - copy name into id->name (it always fits: see callers). */
static void
site_set_name(struct site_id *id, const char *name)
{
	snprintf(id->name, sizeof(id->name), "%s", name);
}

/* site_name_taken - 1 if name is reserved or a configured site's. */
static int
site_name_taken(const struct conf *c, const char *name)
{
	return strcmp(name, SITE_SYSTEM) == 0 || strcmp(name, SITE_ROOT) == 0 ||
	    conf_site_find(c, name) != NULL ||
	    (c->index != NULL && confidx_has_site(c->index, name));
}

/* site_root_limits - root's limits: [site root], else exempt. */
static void
site_root_limits(const struct conf *c, const struct conf_site *s,
    struct conf_limits *out)
{
	if (s != NULL) {
		*out = s->limits;
		return;
	}
	*out = c->limits;
	out->rate = CONF_LIMIT_EXEMPT;
	out->burst = CONF_LIMIT_EXEMPT;
	out->backlog = CONF_LIMIT_EXEMPT;
	conf_rates_set1(&out->rates, CONF_LIMIT_EXEMPT, 1);
	out->max_fail_ratio = 1;	/* never frozen for failures */
}

/* site_identify - fill id for uid (login looked up with getpwuid_r). */
int
site_identify(const struct conf *c, uid_t uid, struct site_id *id)
{
	const struct conf_site *s = NULL;
	int	 found;

	memset(id, 0, sizeof(*id));
	id->uid = uid;
	if ((found = site_login(uid, id->login, sizeof(id->login))) > 1)
		return found;
	if (!found)
		snprintf(id->login, sizeof(id->login), "uid%lu",
		    (unsigned long)uid);
	if (uid == 0) {
		site_set_name(id, SITE_ROOT);
		id->conf = conf_site_find(c, SITE_ROOT);
		site_root_limits(c, id->conf, &id->limits);
		return 0;
	}
	s = conf_site_for_user(c, uid, found ? id->login : NULL);
	if (s != NULL) {
		site_set_name(id, s->name);
		id->conf = s;
	} else if (found && site_valid_name(id->login) &&
	    !site_name_taken(c, id->login))
		site_set_name(id, id->login);
	else
		snprintf(id->name, sizeof(id->name), "uid%lu",
		    (unsigned long)uid);
	id->limits = id->conf ? id->conf->limits : c->limits;
	return 0;
}

/* site_owns_domain - 1 if domain (case-insensitive) is one of the site's. */
int
site_owns_domain(const struct site_id *id, const char *domain)
{
	size_t	 i;

	if (id->conf == NULL || domain == NULL)
		return 0;
	for (i = 0; i < id->conf->domains.n; i++)
		if (strcasecmp(id->conf->domains.v[i], domain) == 0)
			return 1;
	return 0;
}

/* site_limits - the effective limits of a site known by name. */
void
site_limits(const struct conf *c, const char *name, struct conf_limits *out)
{
	const struct conf_site *s = conf_site_find(c, name);

	if (strcmp(name, SITE_ROOT) == 0)
		site_root_limits(c, s, out);
	else
		*out = s ? s->limits : c->limits;
}
