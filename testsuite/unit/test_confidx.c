/*
 * test_confidx.c - the compiled site index (util/confidx.h) and the
 * intake's loader over it (site_conf_load): round trip with many sites,
 * lookups by uid and login, a broken sites.d file keeping its last good
 * text, a broken sitemail.conf served from the index, staleness, and
 * damaged files (truncated, bit flips in header, entries and body)
 * rejected, with the intake falling back to parsing the files.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/site.h"
#include "testsuite/unit/tap.h"
#include "util/confidx.h"
#include "util/msg.h"

#define NSITES	2000
#define UID0	4100000

static char	 dir[] = "/tmp/test_confidx.XXXXXX";
static char	 idx[512];

/* put - write text to dir/name. */
static void
put(const char *name, const char *text)
{
	char	 path[512];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
}

/* build - rebuild the index; the load status (write status must be 0). */
static int
build(struct conf *c)
{
	int	 wrote = -1, rc;

	if ((rc = confidx_build(c, dir, &wrote)) != 0)
		return rc;
	if (wrote != 0)
		diag("write: %s", err_str());
	return wrote;
}

/* intake - the site name site_conf_load gives uid, or "ERR". */
static const char *
intake(uid_t uid, char *out, size_t size, char *domain, size_t dsize)
{
	struct site_id id;
	struct conf c;

	if (site_conf_load(&c, dir, uid, &id) != 0) {
		diag("%s", err_str());
		return "ERR";
	}
	snprintf(out, size, "%s", id.name);
	if (domain != NULL)
		snprintf(domain, dsize, "%s", id.conf && id.conf->domains.n ?
		    id.conf->domains.v[0] : "");
	conf_free(&c);
	return out;
}

/* flip - xor one byte of the index at off. */
static void
flip(off_t off)
{
	unsigned char b;
	int	 fd = open(idx, O_RDWR);

	if (fd < 0 || pread(fd, &b, 1, off) != 1)
		abort();
	b ^= 0x40;
	if (pwrite(fd, &b, 1, off) != 1)
		abort();
	close(fd);
}

/* copy - cp src dst (byte for byte). */
static void
copy(const char *src, const char *dst)
{
	char	 buf[65536];
	ssize_t	 n;
	int	 in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT |
	    O_TRUNC, 0600);

	if (in < 0 || out < 0)
		abort();
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			abort();
	close(in);
	close(out);
}

/* test_round_trip - many sites in, each found again. */
static void
test_round_trip(void)
{
	struct confidx *x;
	struct conf c;
	char	 name[64], text[256], *n = NULL, *t = NULL, got[300], dom[300];
	size_t	 len, nrec, nuid, nlogin;
	uint32_t rec;
	int	 i, bad = 0;

	for (i = 0; i < NSITES; i++) {
		snprintf(name, sizeof(name), "sites.d/s%04d.conf", i);
		snprintf(text, sizeof(text), "[site s%04d]\nusers = %d, "
		    "login%04d\ndomains = s%04d.example\n", i, UID0 + i, i, i);
		put(name, text);
	}
	is_int(build(&c), 0, "index built over 2000 sites");
	is_int((int)c.nsites, NSITES, "all sites loaded");
	conf_free(&c);
	is_int(confidx_open(&x, idx, dir, 1), 0, "whole index checks out");
	if (x == NULL)
		return;
	confidx_count(x, &nrec, &nuid, &nlogin);
	ok(nrec == NSITES + 1 && nuid == NSITES && nlogin == NSITES,
	    "one record per file plus sitemail.conf; uids and logins");
	for (i = 0; i < NSITES; i++) {
		snprintf(name, sizeof(name), "s%04d.conf", i);
		if (confidx_find_uid(x, UID0 + i, &rec) != 0 ||
		    confidx_record(x, rec, &n, &t, &len) != 0) {
			bad++;
			continue;
		}
		snprintf(text, sizeof(text), "[site s%04d]", i);
		if (strcmp(n, name) != 0 || strstr(t, text) == NULL)
			bad++;
		free(n);
		free(t);
	}
	is_int(bad, 0, "every uid finds its own file and text");
	is_int(confidx_find_login(x, "login1234", &rec), 0, "login found");
	ok(confidx_record(x, rec, &n, &t, &len) == 0 &&
	    strcmp(n, "s1234.conf") == 0, "login -> its file");
	free(n);
	free(t);
	is_int(confidx_find_uid(x, UID0 + NSITES, &rec), 1, "unlisted uid");
	is_int(confidx_find_login(x, "nobody-here", &rec), 1, "unlisted login");
	ok(confidx_has_site(x, "s0007") && !confidx_has_site(x, "s9999"),
	    "site names");
	ok(confidx_record(x, 0, &n, &t, &len) == 0 &&
	    strcmp(n, CONFIDX_MAIN) == 0 && strstr(t, "spool_dir") != NULL,
	    "record 0 is sitemail.conf");
	free(n);
	free(t);
	ok(confidx_fresh(x, dir), "fresh");
	confidx_close(x);
	is_str(intake(UID0 + 42, got, sizeof(got), dom, sizeof(dom)), "s0042",
	    "intake: uid -> its site through the index");
	is_str(dom, "s0042.example", "intake: with its settings");
}

/* test_broken_site - a broken file keeps its last good text; others and
 * the intake are unaffected. */
static void
test_broken_site(void)
{
	struct confidx *x;
	struct conf c;
	char	 got[300], dom[300], *n = NULL, *t = NULL;
	size_t	 len;
	uint32_t rec;

	put("sites.d/s0001.conf", "[site s0001]\nusers = 4100001\n"
	    "domains = broken.example\nthis is not ini\n");
	put("sites.d/s1998.conf", "[site s1998]\nusers = 4101998\n"
	    "rate = 5/x\n");
	is_int(build(&c), 0, "a broken sites.d file does not fail the build");
	ok(c.broken.n == 2 && strstr(c.broken.v[0], "s0001.conf:4:") != NULL &&
	    strstr(c.broken.v[1], "s1998.conf:3:") != NULL,
	    "each file left out is noted with its line (a late one too)");
	is_int((int)c.nsites, NSITES, "both keep their last good settings");
	ok(conf_site_find(&c, "s0001") != NULL &&
	    strcmp(conf_site_find(&c, "s0001")->domains.v[0],
	    "s0001.example") == 0, "the runner keeps its last good settings");
	conf_free(&c);
	if (confidx_open(&x, idx, dir, 1) == 0) {
		ok(confidx_find_uid(x, UID0 + 1, &rec) == 0 &&
		    confidx_record(x, rec, &n, &t, &len) == 0 &&
		    strstr(t, "s0001.example") != NULL, "the index keeps its "
		    "last good text");
		free(n);
		free(t);
		confidx_close(x);
	} else
		ok(0, "index opens");
	is_str(intake(UID0 + 1, got, sizeof(got), dom, sizeof(dom)), "s0001",
	    "intake: the broken site keeps its identity");
	is_str(dom, "s0001.example", "intake: and its last good domains");
	is_str(intake(UID0 + 2, got, sizeof(got), NULL, 0), "s0002",
	    "intake: another site is unaffected");
	{
		char	 path[512];

		snprintf(path, sizeof(path), "%s/sites.d/s0001.conf", dir);
		unlink(path);
	}
	put("sites.d/s0001.conf", "[site s0001]\nusers = 4100001\n"
	    "domains = fixed.example\n");
	is_str(intake(UID0 + 1, got, sizeof(got), dom, sizeof(dom)), "s0001",
	    "intake reads the site's own file as it is now");
	is_str(dom, "fixed.example", "a fixed file applies at once");
}

/* test_broken_main - sitemail.conf broken after a good index. */
static void
test_broken_main(void)
{
	struct conf c;
	char	 got[300], want[600];

	put("sitemail.conf", "[main]\nspool_dir = /tmp/none\n");
	snprintf(want, sizeof(want), "[main]\nspool_dir = %s/spool\n"
	    "max_recipients = lots\n", dir);
	put("sitemail.conf", want);
	is_int(confidx_build(&c, dir, NULL), EX_CONFIG, "runner: a broken "
	    "sitemail.conf fails");
	snprintf(want, sizeof(want), "%s/sitemail.conf:3:", dir);
	ok(strncmp(err_str(), want, strlen(want)) == 0, "naming its line");
	is_str(intake(UID0 + 3, got, sizeof(got), NULL, 0), "s0003",
	    "intake: commits with the last good sitemail.conf");
	snprintf(want, sizeof(want), "[main]\nspool_dir = %s/spool\n", dir);
	put("sitemail.conf", want);
}

/* test_damage - truncated and flipped files are refused; the intake
 * falls back to parsing. */
static void
test_damage(void)
{
	struct confidx *x;
	struct conf c;
	struct stat st;
	char	 got[300], save[600];
	uint32_t rec;
	int	 rc;

	is_int(build(&c), 0, "rebuilt");
	conf_free(&c);
	stat(idx, &st);
	is_int(build(&c), 0, "rebuilt again, nothing changed");
	conf_free(&c);
	{
		struct stat st2;

		ok(stat(idx, &st2) == 0 && st2.st_ino == st.st_ino &&
		    st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec,
		    "an unchanged index is not written again");
	}
	snprintf(save, sizeof(save), "%s.save", idx);
	copy(idx, save);
	stat(idx, &st);

	if (truncate(idx, st.st_size - 1) != 0)
		abort();
	ok(confidx_open(&x, idx, dir, 0) == EX_CONFIG && x == NULL,
	    "truncated: refused");
	is_str(intake(UID0 + 5, got, sizeof(got), NULL, 0), "s0005",
	    "intake falls back to the files");
	if (truncate(idx, 50) != 0)
		abort();
	ok(confidx_open(&x, idx, dir, 0) == EX_CONFIG, "half a header: refused");

	copy(save, idx);
	flip(9);
	ok(confidx_open(&x, idx, dir, 0) == EX_CONFIG, "version flipped");
	copy(save, idx);
	flip(0);
	ok(confidx_open(&x, idx, dir, 0) == EX_CONFIG, "magic flipped");
	copy(save, idx);
	flip(70);
	ok(confidx_open(&x, idx, dir, 0) == EX_CONFIG, "table offset flipped");
	copy(save, idx);
	flip(st.st_size - 3);
	rc = confidx_open(&x, idx, dir, 0);
	is_int(rc, 0, "a body flip passes the header check");
	confidx_close(x);
	ok(confidx_open(&x, idx, dir, 1) == EX_CONFIG, "but not the full one");

	/* A flip inside the uid table: the touched entry is caught. */
	copy(save, idx);
	flip(112 + (NSITES + 1) * 24 + (NSITES / 2) * 12);
	if (confidx_open(&x, idx, dir, 0) == 0) {
		ok(confidx_find_uid(x, UID0 + NSITES / 2, &rec) == EX_CONFIG,
		    "damaged uid entry: refused");
		confidx_close(x);
	} else
		ok(0, "index opens");
	is_str(intake(UID0 + NSITES / 2, got, sizeof(got), NULL, 0), "s1000",
	    "intake: still the right site (parsed)");
	copy(save, idx);
	unlink(save);
}

/* test_stale - a new file in sites.d makes the index stale. */
static void
test_stale(void)
{
	struct confidx *x;
	char	 got[300];

	put("sites.d/zz.conf", "[site zz]\nusers = 4199999\n");
	if (confidx_open(&x, idx, dir, 0) == 0) {
		ok(!confidx_fresh(x, dir), "stale after sites.d changed");
		confidx_close(x);
	}
	is_str(intake(4199999, got, sizeof(got), NULL, 0), "zz",
	    "intake sees the new file at once (parses it all)");
}

int
main(void)
{
	char	 path[512], conf[600];
	struct passwd *pw = getpwuid(getuid());

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/sites.d", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/spool", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/spool/state", dir);
	mkdir(path, 0755);
	snprintf(conf, sizeof(conf), "[main]\nspool_dir = %s/spool\n"
	    "user = %s\n", dir, pw ? pw->pw_name : "root");
	put("sitemail.conf", conf);
	snprintf(path, sizeof(path), "%s/spool", dir);
	confidx_path(path, idx, sizeof(idx));
	test_round_trip();
	test_broken_site();
	test_broken_main();
	test_damage();
	test_stale();
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		diag("cleanup failed");
	return tap_done();
}
