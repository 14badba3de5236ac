/*
 * site_conf.c - the intake's configuration and identity in one call.
 *
 * The set-gid intake runs in a process a site controls, so it reads the
 * compiled index (util/confidx.h) and never writes, locks or creates it:
 *	1. sitemail.conf is parsed (one small file).  When it is broken,
 *	   the last good copy kept in the index is used instead, so sendmail
 *	   never loses a message over it (the error stays in conf.broken).
 *	2. When the index is for this directory, whole in every piece
 *	   touched, and sites.d has not changed since it was built (one
 *	   stat), the caller's uid (or login) is looked up in it: only that
 *	   site's own file is parsed, or, when it is broken or unreadable,
 *	   its last good text from the index.  Cost: O(log sites).
 *	3. Otherwise every sites.d file is parsed; a broken one is replaced
 *	   by its last good text when an index has it, else left out.
 * Another site's broken file thus never fails this site's submission.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/site.h"
#include "util/confidx.h"
#include "util/msg.h"

#ifndef SM_SPOOLDIR
#define SM_SPOOLDIR	"/var/spool/sitemail"
#endif

/* site_conf_index - open the index of spool for dir (header checked). */
static struct confidx *
site_conf_index(const char *spool, const char *dir)
{
	struct confidx *x = NULL;
	char	 path[PATH_MAX];

	if (confidx_path(spool, path, sizeof(path)) == 0)
		(void)confidx_open(&x, path, dir, 0);
	return x;
}

/* site_conf_spool_hint - the spool_dir a broken sitemail.conf names on
 * a "spool_dir = /path" line (the last one), else the compiled-in one. */
static void
site_conf_spool_hint(const char *dir, char *out, size_t size)
{
	char	 path[PATH_MAX], line[PATH_MAX + 64], *p, *e;
	FILE	*fp;

	snprintf(out, size, "%s", SM_SPOOLDIR);
	if (snprintf(path, sizeof(path), "%s/sitemail.conf", dir) >=
	    (int)sizeof(path) || (fp = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		p = line + strspn(line, " \t");
		if (strncmp(p, "spool_dir", 9) != 0)
			continue;
		p += 9 + strspn(p + 9, " \t");
		if (*p != '=' && *p != ':')
			continue;
		p += 1 + strspn(p + 1, " \t");
		e = p + strcspn(p, " \t\r\n;");
		if (*p == '/' && e > p)
			snprintf(out, size, "%.*s", (int)(e - p), p);
	}
	fclose(fp);
}

/* site_conf_main - sitemail.conf, or its last good copy from the index
 * (found through site_conf_spool_hint) when it does not load.  *ix gets
 * the index (or NULL). */
static int
site_conf_main(struct conf *c, const char *dir, struct confidx **ix)
{
	char	*name, *text, err[1024], spool[PATH_MAX];
	size_t	 len;
	int	 rc;

	*ix = NULL;
	if ((rc = conf_load_main(c, dir, NULL, 0)) == 0) {
		*ix = site_conf_index(c->spool_dir, dir);
		return 0;
	}
	if (rc != EX_CONFIG)
		return rc;
	snprintf(err, sizeof(err), "%s", err_str());
	site_conf_spool_hint(dir, spool, sizeof(spool));
	if ((*ix = site_conf_index(spool, dir)) == NULL ||
	    confidx_record(*ix, 0, &name, &text, &len) != 0) {
		confidx_close(*ix);
		*ix = NULL;
		return err_set(EX_CONFIG, "%s", err);
	}
	rc = conf_load_main(c, dir, text, len);
	free(name);
	free(text);
	if (rc == 0) {			/* noted, as a file left out is */
		err_set(EX_CONFIG, "%s (using its last good copy)", err);
		c->main_fallback = 1;
		return conf_add_broken(c, "");
	}
	if (rc != 0) {
		confidx_close(*ix);
		*ix = NULL;
		return err_set(EX_CONFIG, "%s", err);
	}
	return 0;
}

/* site_conf_rec - add the file of record rec: as it is now, else its
 * last good text from the index; 0, or EX_CONFIG if the index is bad. */
static int
site_conf_rec(struct conf *c, struct confidx *ix, uint32_t rec)
{
	char	*name, *text;
	size_t	 len;
	int	 rc;

	if (rec == 0)			/* a [site] in sitemail.conf */
		return 0;
	if ((rc = confidx_record(ix, rec, &name, &text, &len)) != 0)
		return rc;
	if ((rc = conf_add_file(c, name, NULL, 0)) == EX_CONFIG)
		rc = conf_add_file(c, name, text, len);
	if (rc == EX_CONFIG)
		rc = conf_add_broken(c, name);
	free(name);
	free(text);
	return rc;
}

/* site_conf_last_good - the last good text of sites.d/name in ix. */
static int
site_conf_last_good(struct conf *c, struct confidx *ix, const char *name)
{
	size_t	 nrec, nuid, nlogin, len;
	uint32_t i;
	char	*n, *text;
	int	 rc = EX_CONFIG;

	if (ix == NULL)
		return EX_CONFIG;
	confidx_count(ix, &nrec, &nuid, &nlogin);
	for (i = 1; i < nrec && rc == EX_CONFIG; i++) {
		if (confidx_record(ix, i, &n, &text, &len) != 0)
			break;
		if (strcmp(n, name) == 0)
			rc = conf_add_file(c, name, text, len);
		free(n);
		free(text);
	}
	return rc;
}

/* site_conf_all - every sites.d file, each broken one replaced by its
 * last good text (when ix has it) or left out. */
static int
site_conf_all(struct conf *c, struct confidx *ix)
{
	struct conf_list names;
	size_t	 i;
	int	 rc;

	if ((rc = conf_sites_d_names(c->dir, &names)) != 0)
		return rc == EX_CONFIG ? conf_add_broken(c, "") : rc;
	for (i = 0; i < names.n && (rc == 0 || rc == EX_CONFIG); i++)
		if ((rc = conf_add_file(c, names.v[i], NULL, 0)) ==
		    EX_CONFIG && (rc = conf_add_broken(c, names.v[i])) == 0)
			(void)site_conf_last_good(c, ix, names.v[i]);
	for (i = 0; i < names.n; i++)
		free(names.v[i]);
	free(names.v);
	return rc == EX_CONFIG ? 0 : rc;
}

/* site_conf_lookup - the record of uid (or its login) in ix: 0, 1 when
 * not listed, EX_CONFIG when a touched entry is damaged. */
static int
site_conf_lookup(struct confidx *ix, uid_t uid, uint32_t *rec)
{
	char	 login[SITE_LOGIN_MAX + 1];
	int	 rc, found;

	if ((rc = confidx_find_uid(ix, uid, rec)) != 1)
		return rc;
	if ((found = site_login(uid, login, sizeof(login))) > 1)
		return found;
	return found ? confidx_find_login(ix, login, rec) : 1;
}

/* site_conf_load - configuration and identity of uid (see above). */
int
site_conf_load(struct conf *c, const char *dir, uid_t uid,
    struct site_id *id)
{
	struct confidx *ix;
	uint32_t rec;
	int	 rc, fresh, found = 1;

	if (dir == NULL)
		dir = conf_default_dir();
	if ((rc = site_conf_main(c, dir, &ix)) != 0)
		return rc;
	fresh = ix != NULL && confidx_fresh(ix, dir);
	if (fresh && (found = site_conf_lookup(ix, uid, &rec)) == 0)
		found = site_conf_rec(c, ix, rec);
	if (found == EX_TEMPFAIL)
		rc = found;
	else if (found != 0 && found != 1) {	/* damaged: parse it all */
		fresh = 0;
		rc = site_conf_all(c, NULL);
	} else if (!fresh)
		rc = site_conf_all(c, ix);
	if (rc != 0 || (rc = conf_load_done(c)) != 0) {
		confidx_close(ix);
		conf_free(c);
		return rc;
	}
	/* A fresh index stays open: other sites' names (site.c). */
	if (fresh)
		c->index = ix;
	else
		confidx_close(ix);
	if ((rc = site_identify(c, uid, id)) != 0)
		conf_free(c);
	return rc;
}
