/*
 * test_site.c - identity rules: system, listed users, login-named sites,
 * "uidN", name collisions, domains and limits.
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
		    "[site system]\nrate = 1000/h\n"
		    "[site shop]\nusers = daemon, %lu\n"
		    "domains = Shop.Example, shop.example.org\nburst = 9\n"
		    "[site nobody]\nusers = web99\n",
		    (unsigned long)u2);
		ok(load(&c, text) == 0, "load configuration");
	}

	is_int(site_identify(&c, 0, &id), 0, "identify root");
	is_str(id.name, "system", "uid 0 is system");
	is_str(id.login, "root", "login root");
	ok(id.conf == conf_site_find(&c, "system"), "system has [site system]");
	ok(fabs(id.limits.rate - 1000.0 / 3600) < 1e-9, "system limits");

	pw = getpwnam("daemon");
	if (pw != NULL) {
		is_int(site_identify(&c, pw->pw_uid, &id), 0, "identify daemon");
		is_str(id.name, "shop", "a listed system user gets its site");
	}
	is_int(site_identify(&c, 2, &id), 0, "identify uid 2");
	is_str(id.name, "system", "unlisted uid < 1000 is system");

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
