/*
 * site.h - who sent a message: the site of a real uid.
 *
 * Rules (shared/DESIGN.md "Identity"): root is the site "root", exempt
 * from rate limits unless [site root] sets them; a uid listed (by number
 * or login) in some [site] users= belongs to that site; any other uid
 * (system accounts below 1000 included) gets a site named after its login
 * name (or "uidN" when it has no passwd entry), with the [limits] defaults.
 * "system" is the site of the notices sitemail writes itself.
 */
#ifndef SM_SITE_H
#define SM_SITE_H

#include <sys/types.h>

#include "util/conf.h"

#define SITE_SYSTEM	"system"		/* sitemail's own notices */
#define SITE_ROOT	"root"
#define SITE_NAME_MAX	255
#define SITE_LOGIN_MAX	64

struct site_id {
	char	 name[SITE_NAME_MAX + 1];
	uid_t	 uid;
	char	 login[SITE_LOGIN_MAX + 1];
	const struct conf_site *conf;	/* NULL when only defaults apply */
	struct conf_limits limits;	/* effective limits */
};

/* site_identify - fill id for uid (login looked up with getpwuid_r). */
int	site_identify(const struct conf *, uid_t, struct site_id *);
/* site_login - the passwd login of uid into out: 1 found, 0 not, or an
 * EX_ status. */
int	site_login(uid_t, char *out, size_t size);
/* site_conf_load - the intake's configuration and identity in one call:
 * dir/sitemail.conf (or its last good copy in the index), then only the
 * caller's own site file, found through the compiled index
 * (util/confidx.h); without a usable index, every file, skipping broken
 * ones.  See queue/site_conf.c. */
int	site_conf_load(struct conf *, const char *dir, uid_t, struct site_id *);
/* site_owns_domain - 1 if domain (case-insensitive) is one of the site's. */
int	site_owns_domain(const struct site_id *, const char *domain);
/* site_limits - the effective limits of a site known by name. */
void	site_limits(const struct conf *, const char *name, struct conf_limits *);

#endif
