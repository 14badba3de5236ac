/*
 * test_site.c - identity rules: root is its own exempt site, every
 * system account (uid < 1000) is a site of its own, listed users,
 * login-named sites, "uidN", name collisions, domains and limits.
 */
#include <sys/stat.h>

#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/site.h"
#include "testsuite/unit/tap.h"
#include "util/msg.h"

static char	 dir[] = "/tmp/test_site.XXXXXX";
static char	 file[512];

/* load - write text as sitemail.conf and load it. */
static int
load(struct conf *c, const char *text)
{
	FILE	*fp = fopen(file, "w");

	if (fp == NULL)
		return -1;
	fputs(text, fp);
	fclose(fp);
	if (conf_load(c, dir) != 0) {
		diag("%s", err_str());
		return -1;
	}
	return 0;
}

/* unused_uid - a uid >= 1000 without a passwd entry. */
static uid_t
unused_uid(uid_t from)
{
	while (getpwuid(from) != NULL)
		from++;
	return from;
}

int
main(void)
{
	struct site_id id;
	struct conf_limits lim;
	struct conf c;
	struct passwd *pw;
	char	 want[64];
	uid_t	 u1, u2;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(file, sizeof(file), "%s/sitemail.conf", dir);
	u1 = unused_uid(4000000);
	u2 = unused_uid(u1 + 1);
	{
		char	 text[1024];

		snprintf(text, sizeof(text),
		    "[limits]\nrate = 100/h\n"
		    "[site shop]\nusers = daemon, %lu\n"
		    "domains = Shop.Example, shop.example.org\nburst = 9\n"
		    "[site nobody]\nusers = web99\n",
		    (unsigned long)u2);
		ok(load(&c, text) == 0, "load configuration");
	}

	is_int(site_identify(&c, 0, &id), 0, "identify root");
	is_str(id.name, "root", "uid 0 is the site root");
	is_str(id.login, "root", "login root");
	ok(id.conf == NULL, "no [site root]");
	ok(id.limits.rate >= CONF_LIMIT_EXEMPT && id.limits.burst >=
	    CONF_LIMIT_EXEMPT && id.limits.backlog >= CONF_LIMIT_EXEMPT,
	    "root is exempt from rate limits by default");
	site_limits(&c, "root", &lim);
	ok(lim.burst >= CONF_LIMIT_EXEMPT, "site_limits(root) is exempt too");

	pw = getpwnam("daemon");
	if (pw != NULL) {
		is_int(site_identify(&c, pw->pw_uid, &id), 0, "identify daemon");
		is_str(id.name, "shop", "a listed system user gets its site");
	}
	pw = getpwuid(2);
	is_int(site_identify(&c, 2, &id), 0, "identify uid 2");
	is_str(id.name, pw ? pw->pw_name : "uid2", "unlisted uid < 1000 is a "
	    "site of its own, named by its login");
	ok(id.conf == NULL && fabs(id.limits.rate - 100.0 / 3600) < 1e-9 &&
	    id.limits.burst == 50, "with the default limits, not root's");
	pw = getpwnam("www-data");
	if (pw != NULL) {
		is_int(site_identify(&c, pw->pw_uid, &id), 0, "www-data");
		is_str(id.name, "www-data", "www-data is its own site");
		ok(id.limits.burst == 50, "www-data has default limits");
	}
	pw = getpwuid(3);
	if (pw != NULL && getpwuid(2) != NULL) {
		struct site_id id2;

		(void)site_identify(&c, 2, &id);
		(void)site_identify(&c, 3, &id2);
		ok(strcmp(id.name, id2.name) != 0, "two system accounts never "
		    "share a site (bucket)");
	}

	is_int(site_identify(&c, u1, &id), 0, "identify an unknown uid");
	snprintf(want, sizeof(want), "uid%lu", (unsigned long)u1);
	is_str(id.name, want, "unknown uid -> uidN");
	is_str(id.login, want, "login uidN");
	ok(id.conf == NULL, "no [site] for it");
	ok(fabs(id.limits.rate - 100.0 / 3600) < 1e-9, "default limits");

	is_int(site_identify(&c, u2, &id), 0, "identify a listed uid");
	is_str(id.name, "shop", "listed by number");
	ok(id.limits.burst == 9, "site limits");
	ok(site_owns_domain(&id, "shop.example"), "domain, any case");
	ok(site_owns_domain(&id, "SHOP.EXAMPLE.ORG"), "second domain");
	ok(!site_owns_domain(&id, "example.org"), "not a suffix match");
	ok(!site_owns_domain(&id, NULL), "NULL domain");

	pw = getpwnam("nobody");
	if (pw != NULL && pw->pw_uid >= 1000) {
		is_int(site_identify(&c, pw->pw_uid, &id), 0, "nobody");
		snprintf(want, sizeof(want), "uid%lu",
		    (unsigned long)pw->pw_uid);
		is_str(id.name, want, "login equal to another site's name "
		    "-> uidN");
		is_str(id.login, "nobody", "login kept");
	}

	site_limits(&c, "shop", &lim);
	ok(lim.burst == 9, "site_limits of a configured site");
	site_limits(&c, "someone", &lim);
	ok(lim.burst == 50, "site_limits of an unconfigured site");
	conf_free(&c);

	ok(load(&c, "[site root]\ndomains = example.net\n[site shop]\n"
	    "users = root\n") == 0, "[site root] without limits");
	is_int(site_identify(&c, 0, &id), 0, "root again");
	is_str(id.name, "root", "users = root in another site: uid 0 stays "
	    "root");
	ok(id.conf == conf_site_find(&c, "root") && id.limits.rate >=
	    CONF_LIMIT_EXEMPT, "[site root] still exempt unless it sets a "
	    "rate");
	conf_free(&c);
	ok(load(&c, "[site root]\nrate = 10/h\nburst = 5\n") == 0,
	    "[site root] with limits");
	(void)site_identify(&c, 0, &id);
	ok(id.limits.burst == 5 && id.limits.backlog >= CONF_LIMIT_EXEMPT,
	    "root's own limits apply; the unset ones stay exempt");
	conf_free(&c);

	ok(load(&c, "") == 0, "empty configuration");
	if (pw != NULL && pw->pw_uid >= 1000) {
		is_int(site_identify(&c, pw->pw_uid, &id), 0, "nobody again");
		is_str(id.name, "nobody", "unlisted user -> login name");
	}
	conf_free(&c);
	unlink(file);
	rmdir(dir);
	return tap_done();
}
