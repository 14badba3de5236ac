/*
 * test_firewall.c - the [smtpd] and [firewall] keys (defaults, values,
 * errors) and the nftables text of queue/firewall.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/firewall.h"
#include "testsuite/unit/tap.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/msg.h"

static char	 dir[] = "/tmp/test_firewall.XXXXXX";

/* load - text as sitemail.conf; the status of conf_load. */
static int
load(struct conf *c, const char *text)
{
	char	 path[512];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/sitemail.conf", dir);
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
	return conf_load(c, dir);
}

/* text - the ruleset for conf text with exempt uids 0 and 998. */
static char *
text(const char *conftext)
{
	static const unsigned long exempt[] = { 0, 998 };
	struct conf c;
	struct buf b;

	if (load(&c, conftext) != 0) {
		printf("# %s\n", err_str());
		return strdup("");
	}
	buf_init(&b, 65536);
	if (firewall_ruleset(&c, exempt, 2, &b) != 0)
		abort();
	conf_free(&c);
	return buf_steal(&b);
}

/* test_conf - defaults, values and refusals. */
static void
test_conf(void)
{
	struct conf c;

	is_int(load(&c, ""), 0, "empty config loads");
	is_int(c.smtpd.listen.n, 2, "listen: two defaults");
	is_str(c.smtpd.listen.v[0], "127.0.0.1:25", "listen: 127.0.0.1:25");
	is_str(c.smtpd.listen.v[1], "[::1]:25", "listen: [::1]:25");
	is_int(c.smtpd.redirect_port, 10025, "redirect_port 10025");
	is_int(c.smtpd.max_per_site, 10, "max_connections_per_site 10");
	is_int(c.smtpd.timeout, 300, "timeout 5m");
	is_int(c.smtpd.auth_accept, 1, "auth accept");
	is_str(c.smtpd.tls_cert, "", "no certificate");
	is_int(c.firewall.redirect_ports.n, 1, "redirect_ports: one");
	is_str(c.firewall.block_ports.v[1], "587", "block_ports 465, 587");
	is_str(c.firewall.exempt_users.v[0], "root", "exempt_users root");
	conf_free(&c);
	is_int(load(&c, "[smtpd]\nlisten = 127.0.0.1:2525\nredirect_port = 2626"
	    "\nmax_connections_per_site = 3\ntimeout = 30s\nauth = refuse\n"
	    "tls_cert = /etc/c.pem\ntls_key = /etc/k.pem\n[firewall]\n"
	    "redirect_ports = 25, 2525\nblock_ports = allow\n"
	    "exempt_users = root, 1001, backup\n"), 0, "every key set");
	is_int(c.smtpd.redirect_port, 2626, "redirect_port set");
	is_int(c.smtpd.max_per_site, 3, "max_connections_per_site set");
	is_int(c.smtpd.timeout, 30, "timeout set");
	is_int(c.smtpd.auth_accept, 0, "auth refuse");
	is_str(c.smtpd.tls_key, "/etc/k.pem", "tls_key set");
	is_int(c.firewall.redirect_ports.n, 2, "two redirect ports");
	is_str(c.firewall.block_ports.v[0], "allow", "block_ports allow");
	is_int(c.firewall.exempt_users.n, 3, "three exempt users");
	conf_free(&c);
	is_int(load(&c, "[smtpd]\nredirect_port = 0\n"), EX_CONFIG,
	    "port 0 refused");
	ok(strstr(err_str(), "want a port") != NULL, "... with a hint");
	is_int(load(&c, "[smtpd]\nauth = maybe\n"), EX_CONFIG,
	    "auth = maybe refused");
	is_int(load(&c, "[firewall]\nblock_ports = 465, allow\n"), EX_CONFIG,
	    "allow mixed with ports refused");
	is_int(load(&c, "[firewall]\nredirect_ports = 25, 70000\n"),
	    EX_CONFIG, "port 70000 refused");
	is_int(load(&c, "[firewall]\nrate = 1/s\n"), EX_CONFIG,
	    "a [limits] key in [firewall] refused");
	is_int(load(&c, "[smtpd]\nmax_connections_per_site = 0\n"),
	    EX_CONFIG, "0 connections refused");
}

/* test_text - the ruleset. */
static void
test_text(void)
{
	char	*t = text("");

	ok(strstr(t, "\ntable inet sitemail { }\ndelete table inet sitemail\n"
	    "table inet sitemail {\n") != NULL,
	    "replaces the whole table in one script");
	ok(strstr(t, "type nat hook output priority -100;") != NULL,
	    "nat output hook");
	ok(strstr(t, "meta skuid { 0, 998 } accept") != NULL,
	    "root and the runner are exempt");
	ok(strstr(t, "\t\tip daddr != 127.0.0.0/8 tcp dport { 25 } redirect "
	    "to :10025\n") != NULL, "IPv4 port 25 redirected to 10025");
	ok(strstr(t, "\t\tip6 daddr != ::1 tcp dport { 25 } redirect to "
	    ":10025\n") != NULL, "IPv6 port 25 redirected to 10025");
	ok(strstr(t, "type filter hook output priority 0;") != NULL,
	    "filter output hook");
	ok(strstr(t, "ct state != new accept") != NULL,
	    "only new connections are blocked");
	ok(strstr(t, "ip daddr != 127.0.0.0/8 tcp dport { 465, 587 } reject "
	    "with tcp reset") != NULL, "465 and 587 rejected (IPv4)");
	ok(strstr(t, "ip6 daddr != ::1 tcp dport { 465, 587 } reject with tcp "
	    "reset") != NULL, "465 and 587 rejected (IPv6)");
	free(t);
	t = text("[firewall]\nblock_ports = allow\n[smtpd]\nredirect_port = "
	    "2525\n");
	ok(strstr(t, "reject") == NULL && strstr(t, "smtp_block") == NULL,
	    "block_ports = allow: no block chain");
	ok(strstr(t, "redirect to :2525") != NULL, "redirect_port followed");
	free(t);
	t = text("[firewall]\nredirect_ports = 25, 2525\nblock_ports = 465\n");
	ok(strstr(t, "tcp dport { 25, 2525 } redirect") != NULL,
	    "two redirect ports");
	ok(strstr(t, "tcp dport { 465 } reject") != NULL, "one block port");
	free(t);
}

/* main - run the tests in a scratch directory. */
int
main(void)
{
	char	 path[600];

	if (mkdtemp(dir) == NULL)
		abort();
	test_conf();
	test_text();
	snprintf(path, sizeof(path), "%s/sitemail.conf", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
