/*
 * test_conf.c - the configuration loader: defaults, every value type,
 * FILE:LINE errors, sites.d, site inheritance, users, and the duration,
 * size and rate parsers.  Works in a private mkdtemp() directory.
 */
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsuite/unit/tap.h"
#include "util/conf.h"
#include "util/msg.h"

static char	 dir[] = "/tmp/test_conf.XXXXXX";
static char	 conffile[512];

/* rm_entry - nftw callback removing one entry. */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(path);
}

/* put - write text to dir/name (name may be "sites.d/x.conf"). */
static void
put(const char *name, const char *text)
{
	char	 path[512];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL) {
		diag("cannot write %s", path);
		return;
	}
	fputs(text, fp);
	fclose(fp);
}

/* drop - remove dir/name. */
static void
drop(const char *name)
{
	char	 path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* load_main - load with text as sitemail.conf; returns the status. */
static int
load_main(struct conf *c, const char *text)
{
	put("sitemail.conf", text);
	return conf_load(c, dir);
}

/* expect_error - text as sitemail.conf fails with EX_CONFIG and the
 * reason "FILE:line: want". */
static void
expect_error(const char *text, int line, const char *want, const char *name)
{
	char	 exp[1024];
	struct conf c;
	int	 rc = load_main(&c, text);

	is_int(rc, EX_CONFIG, name);
	if (rc == 0)
		conf_free(&c);
	snprintf(exp, sizeof(exp), "%s:%d: %s", conffile, line, want);
	is_str(err_str(), exp, name);
}

/* near - doubles equal to within a part in 10^9. */
static int
near(double a, double b)
{
	return fabs(a - b) <= fabs(b) * 1e-9;
}

/* test_defaults - no files at all: the DESIGN.md defaults. */
static void
test_defaults(void)
{
	struct conf c;

	drop("sitemail.conf");
	is_int(conf_load(&c, dir), 0, "missing sitemail.conf is fine");
	ok(c.hostname && *c.hostname, "hostname defaults to something");
	is_str(c.spool_dir, SM_SPOOLDIR, "spool_dir");
	is_str(c.user, SM_USER, "user");
	is_int(c.max_message_size, 25 * 1024 * 1024, "max_message_size");
	is_int(c.max_recipients, 100, "max_recipients");
	is_int(c.queue_lifetime, 5 * 86400, "queue_lifetime");
	is_int(c.retry_min, 60, "retry_min");
	is_int(c.retry_max, 3600, "retry_max");
	is_str(c.log, "syslog", "log");
	is_str(c.alert_to, "", "alert_to");
	is_int(c.dns_servers.n, 0, "dns servers");
	is_int(c.dns_timeout, 5, "dns timeout");
	is_str(c.local_transport, "", "local transport");
	is_str(c.smarthost_url, "", "smarthost url");
	is_int(c.tls_verify, 1, "tls_verify");
	is_int(c.connections, 4, "connections");
	is_int(c.allow_plaintext, 0, "allow_plaintext");
	ok(near(c.limits.rate, 100.0 / 3600), "rate 100/h");
	ok(near(c.limits.burst, 50), "burst 50");
	ok(near(c.limits.backlog, 200), "backlog 200");
	is_int(c.limits.from_policy, FROM_REWRITE, "from_policy rewrite");
	is_int(c.nsites, 0, "no sites");
	is_str(c.dir, dir, "dir");
	conf_free(&c);
	is_int(conf_load(&c, "/nonexistent/dir"), 0, "missing dir is fine");
	conf_free(&c);
	ok(conf_default_dir() && *conf_default_dir() == '/', "default dir");
}

/* test_values - every key and value type. */
static void
test_values(void)
{
	struct conf c;
	const struct conf_site *s;

	int	 rc;

	rc = load_main(&c,
	    "; a comment\n"
	    "# another\n"
	    "[main]\n"
	    "hostname = web01.example.net      ; default: FQDN\n"
	    "spool_dir = /srv/spool\n"
	    "user = mailer\n"
	    "max_message_size = 10M\n"
	    "max_recipients = 7\n"
	    "queue_lifetime = 2d\n"
	    "retry_min = 30s\n"
	    "retry_max = 2h\n"
	    "log = file:/tmp/x.log\n"
	    "alert_to = abuse@example.net\n"
	    "\n"
	    "[dns]\n"
	    "servers = 127.0.0.1:5353, [::1]:53\n"
	    "timeout = 3\n"
	    "local_addresses = 192.0.2.1 198.51.100.2,203.0.113.3\n"
	    "local_mx = mx.example.net\n"
	    "[local]\n"
	    "transport = smtp://127.0.0.1:25\n"
	    "[smarthost]\n"
	    "url = smtps://relay.example.net:465\n"
	    "fallback = smtp://a:587, smtp://b:587\n"
	    "tls_verify = no\n"
	    "ca_file = /etc/ssl/ca.pem\n"
	    "username = user\n"
	    "password_file = /etc/sitemail/pw\n"
	    "connections = 9\n"
	    "allow_plaintext = TRUE\n"
	    "[limits]\n"
	    "rate = 10/m\n"
	    "burst = 5\n"
	    "backlog = 0\n"
	    "from_policy = reject\n"
	    "[site example.com]\n"
	    "users = web1, 1005\n"
	    "domains = example.com, example.org\n"
	    "rate = 300/h\n"
	    "smarthost_username = ex\n"
	    "smarthost_password_file = /etc/sitemail/ex.pw\n");
	is_int(rc, 0, "a full configuration loads");
	if (rc != 0) {
		diag("%s", err_str());
		return;
	}
	is_str(c.hostname, "web01.example.net", "hostname, inline comment");
	is_str(c.spool_dir, "/srv/spool", "spool_dir");
	is_str(c.user, "mailer", "user");
	is_int(c.max_message_size, 10 * 1024 * 1024, "size");
	is_int(c.max_recipients, 7, "max_recipients");
	is_int(c.queue_lifetime, 2 * 86400, "queue_lifetime");
	is_int(c.retry_min, 30, "retry_min");
	is_int(c.retry_max, 7200, "retry_max");
	is_str(c.log, "file:/tmp/x.log", "log");
	is_str(c.alert_to, "abuse@example.net", "alert_to");
	is_int(c.dns_servers.n, 2, "two dns servers");
	if (c.dns_servers.n == 2)
		is_str(c.dns_servers.v[1], "[::1]:53", "second dns server");
	is_int(c.dns_timeout, 3, "timeout");
	is_int(c.local_addresses.n, 3, "list split on spaces and commas");
	is_int(c.local_mx.n, 1, "local_mx");
	is_str(c.local_transport, "smtp://127.0.0.1:25", "local transport");
	is_str(c.smarthost_url, "smtps://relay.example.net:465", "url");
	is_int(c.smarthost_fallback.n, 2, "fallback");
	is_int(c.tls_verify, 0, "tls_verify no");
	is_str(c.ca_file, "/etc/ssl/ca.pem", "ca_file");
	is_str(c.smarthost_username, "user", "username");
	is_str(c.smarthost_password_file, "/etc/sitemail/pw", "password");
	is_int(c.connections, 9, "connections");
	is_int(c.allow_plaintext, 1, "allow_plaintext TRUE");
	ok(near(c.limits.rate, 10.0 / 60), "limits rate");
	ok(near(c.limits.burst, 5), "limits burst");
	ok(c.limits.backlog == 0, "limits backlog 0");
	is_int(c.limits.from_policy, FROM_REJECT, "limits from_policy");
	is_int(c.nsites, 1, "one site");
	s = conf_site_find(&c, "example.com");
	ok(s != NULL, "site found");
	if (s != NULL) {
		is_int(s->users.n, 2, "users");
		is_int(s->domains.n, 2, "domains");
		ok(near(s->limits.rate, 300.0 / 3600), "site rate");
		ok(near(s->limits.burst, 5), "site burst inherited");
		is_int(s->limits.from_policy, FROM_REJECT, "policy inherited");
		is_str(s->smarthost_username, "ex", "site username");
		is_str(s->smarthost_password_file, "/etc/sitemail/ex.pw",
		    "site password file");
		is_str(s->file, conffile, "site file");
		is_int(s->line, 36, "site line");
	}
	ok(conf_site_for_user(&c, 1005, "nobody") == s, "uid 1005 matches");
	ok(conf_site_for_user(&c, 4242, "web1") == s, "login web1 matches");
	ok(conf_site_for_user(&c, 4242, "web2") == NULL, "web2 matches none");
	ok(conf_site_for_user(&c, 4242, NULL) == NULL, "NULL login");
	ok(conf_site_find(&c, "nope") == NULL, "unknown site");
	conf_free(&c);

	is_int(load_main(&c, "[smarthost]\ntls_verify = 1\nallow_plaintext = "
	    "false\n[main]\nmax_message_size = 1024\n"), 0, "bool 1/false");
	is_int(c.tls_verify, 1, "tls_verify 1");
	is_int(c.allow_plaintext, 0, "allow_plaintext false");
	is_int(c.max_message_size, 1024, "plain byte size");
	conf_free(&c);

	is_int(load_main(&c, "\xEF\xBB\xBF[main]\r\nuser = x\r\n"
	    "  [dns]   ; indented header\n  timeout = 9\n"), 0,
	    "BOM, CRLF, indentation");
	is_str(c.user, "x", "value of a CRLF line");
	is_int(c.dns_timeout, 9, "indented key is not a continuation");
	conf_free(&c);
}

/* test_errors - unknown keys and bad values name FILE:LINE. */
static void
test_errors(void)
{
	expect_error("[main]\nhostname = a.b\nx = 1\n", 3,
	    "unknown key \"x\" in [main]", "unknown key");
	expect_error("[limits]\nrate = abc\n", 2, "bad value \"abc\" for rate "
	    "(want N/s, N/m, N/h or N/d, or a list with at most one of each)",
	    "bad rate");
	expect_error("[site a]\n\n\nbogus = 1\n", 4,
	    "unknown key \"bogus\" in [site a]", "unknown key in a site");
	expect_error("[site a]\nhostname = x\n", 2,
	    "unknown key \"hostname\" in [site a]", "main key in a site");
	expect_error("[limits]\nusers = x\n", 2,
	    "unknown key \"users\" in [limits]", "site key in [limits]");
	expect_error("[bogus]\n", 1, "unknown section [bogus]",
	    "empty unknown section");
	expect_error("[main]\n[Main]\n", 2, "unknown section [Main]",
	    "sections are case sensitive");
	expect_error("[site]\n", 1, "[site] needs a name: [site NAME]",
	    "site without a name");
	expect_error("[site a/b]\n", 1, "bad site name \"a/b\" (want letters, "
	    "digits, '.', '-' and '_')", "bad site name");
	expect_error("user = x\n", 1, "\"user\" outside of any [section]",
	    "key before any section");
	expect_error("[main]\njust words\n", 2, "syntax error (want \"key = "
	    "value\" or \"[section]\")", "line without =");
	expect_error("[main\n", 1, "section header without ']'",
	    "unterminated header");
	expect_error("[main] junk\n", 1, "text after a section header",
	    "junk after header");
	expect_error("[main]\nmax_recipients = 0\n", 2, "bad value \"0\" for "
	    "max_recipients (want a number from 1 to 100000)", "zero rcpts");
	expect_error("[main]\nmax_message_size = 25T\n", 2, "bad value \"25T\" "
	    "for max_message_size (want a size like 25M (K, M, G))",
	    "bad size");
	expect_error("[main]\nqueue_lifetime = 5w\n", 2, "bad value \"5w\" for "
	    "queue_lifetime (want a duration like 30s, 5m, 1h or 5d)",
	    "bad duration");
	expect_error("[main]\nretry_min = 0\n", 2, "bad value \"0\" for "
	    "retry_min (want a duration like 30s, 5m, 1h or 5d)",
	    "zero duration");
	expect_error("[smarthost]\ntls_verify = maybe\n", 2, "bad value "
	    "\"maybe\" for tls_verify (want yes or no)", "bad boolean");
	expect_error("[smarthost]\nurl = http://x\n", 2, "bad value "
	    "\"http://x\" for url (want smtp://host[:port] or "
	    "smtps://host[:port])", "bad url");
	expect_error("[smarthost]\nconnections = 1000\n", 2, "bad value "
	    "\"1000\" for connections (want a number from 1 to 256)",
	    "too many connections");
	expect_error("[limits]\nburst = 0\n", 2, "bad value \"0\" for burst "
	    "(want a whole number from 1 to 1000000000)", "zero burst");
	expect_error("[limits]\nbacklog = -1\n", 2, "bad value \"-1\" for "
	    "backlog (want a whole number from 0 to 1000000000)",
	    "negative backlog");
	expect_error("[limits]\nfrom_policy = drop\n", 2, "bad value \"drop\" "
	    "for from_policy (want allow, rewrite or reject)", "bad policy");
	expect_error("[main]\nlog = file:relative\n", 2, "bad value "
	    "\"file:relative\" for log (want syslog, stderr or file:/path)",
	    "bad log");
	expect_error("[main]\nspool_dir = relative\n", 2, "bad value "
	    "\"relative\" for spool_dir (want an absolute path)",
	    "relative spool_dir");
	expect_error("[main]\nhostname = a b\n", 2, "bad value \"a b\" for "
	    "hostname (want a host name)", "bad hostname");
	expect_error("[site a]\nusers = web1, 99999999999\n", 2, "bad value "
	    "\"web1, 99999999999\" for users (want a list of login names or "
	    "uids)", "uid overflow in users");
	expect_error("[main]\nhostname = a.b\nhostname = \n", 3, "bad value "
	    "\"\" for hostname (want a host name)", "empty hostname");
}

/* test_lines - limits on line length and content. */
static void
test_lines(void)
{
	char	 big[6000], exp[600];
	struct conf c;
	const struct conf_site *s;

	memset(big, 'a', sizeof(big));
	memcpy(big, "[main]\nalert_to = ", 18);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	expect_error(big, 2, "line longer than 4096 bytes", "long line");

	memset(big, 'b', 3000);
	memcpy(big, "[main]\nalert_to = ", 18);
	memcpy(big + 3000, "\n[dns]\ntimeout = 7\n", 20);
	is_int(load_main(&c, big), 0, "a 3000-byte line is fine");
	is_int(strlen(c.alert_to), 3000 - 18, "long value kept whole");
	is_int(c.dns_timeout, 7, "and parsing goes on");
	conf_free(&c);

	{
		char	 path[512];
		FILE	*fp;

		snprintf(path, sizeof(path), "%s/sitemail.conf", dir);
		fp = fopen(path, "w");
		fwrite("[main]\nuser = a\0b\n", 1, 18, fp);
		fclose(fp);
	}
	is_int(conf_load(&c, dir), EX_CONFIG, "NUL byte refused");
	snprintf(exp, sizeof(exp), "%s:2: NUL byte in line", conffile);
	is_str(err_str(), exp, "NUL byte reason");

	/* Section names longer than inih's 50 bytes still work. */
	is_int(load_main(&c, "[site a-very-long-site-name-that-is-longer-than-"
	    "fifty-bytes.example.com]\nrate = 1/s\n"), 0, "long site name");
	s = conf_site_find(&c, "a-very-long-site-name-that-is-longer-than-"
	    "fifty-bytes.example.com");
	ok(s != NULL && near(s->limits.rate, 1), "long site name kept");
	conf_free(&c);

	is_int(load_main(&c, "[main]\nuser = x\n[main]\nuser = y\n"), 0,
	    "a section may repeat");
	is_str(c.user, "y", "later value wins");
	conf_free(&c);

	expect_error("[main]\nretry_min = 2h\n", 2, "retry_min (7200s) is "
	    "larger than retry_max (3600s)", "retry_min > retry_max");
}

/* test_sites_d - per-site files, order, overrides and conflicts. */
static void
test_sites_d(void)
{
	char	 path[512], exp[1024];
	struct conf c;
	const struct conf_site *a, *b;
	int	 rc;

	snprintf(path, sizeof(path), "%s/sites.d", dir);
	mkdir(path, 0755);
	put("sitemail.conf", "[site a]\nusers = web1\nburst = 7\n"
	    "[limits]\nrate = 60/m\nburst = 3\nbacklog = 9\n");
	put("sites.d/b.conf", "[site b]\nusers = 2001 web2\n"
	    "domains = b.example\nfrom_policy = allow\n");
	put("sites.d/a.conf", "[main]\nhostname = first.example\n");
	put("sites.d/c.conf", "[site c]\nusers = 2003\n");
	put("sites.d/ignored.txt", "garbage\n");
	put("sites.d/.hidden.conf", "garbage\n");
	rc = conf_load(&c, dir);
	is_int(rc, 0, "sites.d loads");
	if (rc != 0) {
		diag("%s", err_str());
		return;
	}
	ok(strcmp(c.hostname, "first.example") != 0, "[main] in sites.d is "
	    "not applied");
	snprintf(exp, sizeof(exp), "%s/sites.d/a.conf:1: only [site NAME] "
	    "sections belong in sites.d, not [main]", dir);
	is_int((int)c.broken.n, 1, "one file left out");
	is_str(c.broken.n ? c.broken.v[0] : "", exp, "it is named with its "
	    "line");
	ok(conf_site_find(&c, "c") != NULL, "the files after it load");
	a = conf_site_find(&c, "a");
	b = conf_site_find(&c, "b");
	ok(a && b, "both sites");
	if (a && b) {
		ok(near(a->limits.rate, 1), "[limits] after a site still "
		    "applies to it");
		ok(near(a->limits.burst, 7), "site value beats [limits]");
		ok(near(a->limits.backlog, 9), "backlog inherited");
		ok(near(b->limits.burst, 3), "site in sites.d inherits");
		is_int(b->limits.from_policy, FROM_ALLOW, "site policy");
		ok(strstr(b->file, "sites.d/b.conf") != NULL, "site file");
		is_int(b->line, 1, "site line");
		ok(conf_site_for_user(&c, 2001, "x") == b, "uid 2001 -> b");
		ok(conf_site_for_user(&c, 1, "web2") == b, "web2 -> b");
		ok(conf_site_for_user(&c, 1, "web1") == a, "web1 -> a");
	}
	conf_free(&c);

	put("sites.d/d.conf", "\n[site a]\n");
	is_int(conf_load(&c, dir), 0, "duplicate site: only its file is out");
	snprintf(exp, sizeof(exp), "%s/sites.d/d.conf:2: site \"a\" is "
	    "already defined at %s:1", dir, conffile);
	is_str(c.broken.n > 1 ? c.broken.v[1] : "", exp,
	    "duplicate site names both places");
	ok(conf_site_find(&c, "a") && strcmp(conf_site_find(&c, "a")->file,
	    conffile) == 0, "the first definition stays");
	conf_free(&c);
	drop("sites.d/d.conf");

	put("sites.d/e.conf", "[site e]\n\nusers = x, web2\n");
	is_int(conf_load(&c, dir), 0, "user in two sites: the later file out");
	snprintf(exp, sizeof(exp), "%s/sites.d/e.conf:3: user \"web2\" is in "
	    "[site e] and also in [site b] (%s/sites.d/b.conf:2)", dir, dir);
	is_str(c.broken.n > 1 ? c.broken.v[1] : "", exp,
	    "user in two sites names both");
	ok(conf_site_find(&c, "e") == NULL && conf_site_find(&c, "b"),
	    "site e left out, b kept");
	conf_free(&c);
	drop("sites.d/e.conf");

	put("sites.d/f.conf", "[site f]\nrate = 5/x\n");
	is_int(conf_load(&c, dir), 0, "bad value in sites.d: others load");
	snprintf(exp, sizeof(exp), "%s/sites.d/f.conf:2: bad value \"5/x\" for "
	    "rate (want N/s, N/m, N/h or N/d, or a list with at most one of "
	    "each)", dir);
	is_str(c.broken.n > 1 ? c.broken.v[1] : "", exp,
	    "sites.d error names its file");
	ok(conf_site_find(&c, "f") == NULL && conf_site_find(&c, "b"),
	    "site f left out, b kept");
	conf_free(&c);
	drop("sites.d/f.conf");

	drop("sites.d/a.conf");
	drop("sites.d/b.conf");
	drop("sites.d/c.conf");
	drop("sites.d/ignored.txt");
	drop("sites.d/.hidden.conf");
	rmdir(path);
}

/* test_parsers - durations, sizes and rates, with garbage and overflow. */
static void
test_parsers(void)
{
	size_t	 n = 77;

	is_int(conf_parse_duration("90"), 90, "90");
	is_int(conf_parse_duration("30s"), 30, "30s");
	is_int(conf_parse_duration("5m"), 300, "5m");
	is_int(conf_parse_duration("1h"), 3600, "1h");
	is_int(conf_parse_duration("5d"), 432000, "5d");
	is_int(conf_parse_duration("0"), 0, "0");
	is_int(conf_parse_duration(""), -1, "empty");
	is_int(conf_parse_duration("m"), -1, "unit only");
	is_int(conf_parse_duration("5w"), -1, "unknown unit");
	is_int(conf_parse_duration("-5"), -1, "negative");
	is_int(conf_parse_duration(" 5"), -1, "space");
	is_int(conf_parse_duration("5mm"), -1, "two units");
	is_int(conf_parse_duration("1.5h"), -1, "fraction");
	is_int(conf_parse_duration("2147483647"), 2147483647L, "max");
	is_int(conf_parse_duration("2147483648"), -1, "over max");
	is_int(conf_parse_duration("24856d"), -1, "over max in days");
	is_int(conf_parse_duration("99999999999999999999999d"), -1,
	    "overflow");

	ok(conf_parse_size("25M", &n) == 0 && n == 25u << 20, "25M");
	ok(conf_parse_size("1k", &n) == 0 && n == 1024, "1k");
	ok(conf_parse_size("2G", &n) == 0 && n == 2ULL << 30, "2G");
	ok(conf_parse_size("0", &n) == 0 && n == 0, "0");
	n = 77;
	ok(conf_parse_size("", &n) == -1 && errno == EINVAL && n == 77,
	    "empty");
	ok(conf_parse_size("M", &n) == -1 && errno == EINVAL, "unit only");
	ok(conf_parse_size("1T", &n) == -1 && errno == EINVAL, "T unknown");
	ok(conf_parse_size("-1", &n) == -1 && errno == EINVAL, "negative");
	ok(conf_parse_size("1 M", &n) == -1 && errno == EINVAL, "space");
	ok(conf_parse_size("18446744073709551616", &n) == -1 &&
	    errno == ERANGE, "2^64 overflows");
	ok(conf_parse_size("17179869184G", &n) == -1 && errno == ERANGE,
	    "2^34 G overflows");
	ok(conf_parse_size("18446744073709551615", &n) == 0 &&
	    n == SIZE_MAX, "SIZE_MAX");
	is_int(n == SIZE_MAX, 1, "n untouched only on error");

	ok(near(conf_parse_rate("100/h"), 100.0 / 3600), "100/h");
	ok(near(conf_parse_rate("5/s"), 5), "5/s");
	ok(near(conf_parse_rate("60/m"), 1), "60/m");
	ok(near(conf_parse_rate("86400/d"), 1), "86400/d");
	ok(conf_parse_rate("0/h") == 0, "0/h");
	ok(conf_parse_rate("100") < 0, "no unit");
	ok(conf_parse_rate("100/") < 0, "empty unit");
	ok(conf_parse_rate("100/x") < 0, "bad unit");
	ok(conf_parse_rate("100/hh") < 0, "long unit");
	ok(conf_parse_rate("/h") < 0, "no number");
	ok(conf_parse_rate("-1/h") < 0, "negative");
	ok(conf_parse_rate("1.5/h") < 0, "fraction");
	ok(conf_parse_rate("1000000000/s") > 0, "10^9/s");
	ok(conf_parse_rate("1000000001/s") < 0, "over 10^9");
	ok(conf_parse_rate("99999999999999999999999/s") < 0, "overflow");
}

/* test_rates - rate lists, max_fail_ratio and min_fail_count: parsed,
 * inherited, refused with FILE:LINE. */
static void
test_rates(void)
{
	struct conf_rates r;
	const struct conf_site *s;
	struct conf c;

	is_int(conf_parse_rates("100/h, 1000/d", &r), 0, "100/h, 1000/d");
	ok(r.n == 2 && r.count[0] == 100 && r.period[0] == 3600 &&
	    r.count[1] == 1000 && r.period[1] == 86400, "two buckets");
	is_int(conf_parse_rates(" 20/h 5/m,1/s ", &r), 0, "blanks, commas");
	ok(r.n == 3 && r.period[0] == 1 && r.period[1] == 60 &&
	    r.period[2] == 3600 && r.count[2] == 20, "sorted by period");
	is_int(conf_parse_rates("0/h", &r), 0, "a single 0/h is allowed");
	is_int(conf_parse_rates("5/m, 0/h", &r), -1, "0/h in a list is not");
	is_int(conf_parse_rates("5/m, 6/m", &r), -1, "one rate per unit");
	is_int(conf_parse_rates("1/s,1/m,1/h,1/d", &r), 0, "four units");
	is_int(conf_parse_rates("", &r), -1, "empty");
	is_int(conf_parse_rates(",", &r), -1, "a lone comma");
	is_int(conf_parse_rates("5/m,,x", &r), -1, "garbage after a rate");
	is_int(conf_parse_rates("5/mm", &r), -1, "a long unit");
	is_int(load_main(&c, "[limits]\nrate = 5/m, 20/h\nburst = 5\n"
	    "max_fail_ratio = 30%\nmin_fail_count = 7\n[site a]\n"
	    "rate = 300/h\n[site b]\nmax_fail_ratio = 100%\n"), 0,
	    "lists and ratios load");
	ok(c.limits.rates.n == 2 && fabs(c.limits.rate - 5.0 / 60) < 1e-9,
	    "rate is the first bucket's");
	ok(fabs(c.limits.max_fail_ratio - 0.3) < 1e-9 &&
	    c.limits.min_fail_count == 7, "max_fail_ratio 30%, min 7");
	s = conf_site_find(&c, "a");
	ok(s && s->limits.rates.n == 1 && s->limits.rates.count[0] == 300 &&
	    fabs(s->limits.rate - 300.0 / 3600) < 1e-9 &&
	    fabs(s->limits.max_fail_ratio - 0.3) < 1e-9,
	    "a site's own rate replaces the list; the ratio is inherited");
	s = conf_site_find(&c, "b");
	ok(s && s->limits.rates.n == 2 && s->limits.max_fail_ratio == 1,
	    "the list is inherited; 100% turns the freeze off");
	conf_free(&c);
	is_int(load_main(&c, "[main]\n"), 0, "defaults");
	ok(c.limits.rates.n == 1 && c.limits.rates.count[0] == 100 &&
	    c.limits.max_fail_ratio == 0.5 && c.limits.min_fail_count == 20,
	    "defaults: 100/h, 50%, 20");
	conf_free(&c);
	expect_error("[limits]\n\nrate = 5/m, 7/m\n", 3, "bad value \"5/m, "
	    "7/m\" for rate (want N/s, N/m, N/h or N/d, or a list with at "
	    "most one of each)", "a unit twice is refused with its line");
	expect_error("[site x]\nrate = 5/m; 20/h\n", 2, "bad value \"5/m; "
	    "20/h\" for rate (want N/s, N/m, N/h or N/d, or a list with at "
	    "most one of each)", "a bad separator");
	expect_error("[limits]\nmax_fail_ratio = 50\n", 2, "bad value \"50\" "
	    "for max_fail_ratio (want a percentage from 0% to 100%)",
	    "a ratio wants %");
	expect_error("[limits]\nmax_fail_ratio = 101%\n", 2, "bad value "
	    "\"101%\" for max_fail_ratio (want a percentage from 0% to 100%)",
	    "over 100%");
	expect_error("[limits]\nmin_fail_count = -1\n", 2, "bad value \"-1\" "
	    "for min_fail_count (want a whole number from 0 to 1000000000)",
	    "a negative count");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(conffile, sizeof(conffile), "%s/sitemail.conf", dir);
	test_defaults();
	test_values();
	test_errors();
	test_lines();
	test_sites_d();
	test_parsers();
	test_rates();
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
