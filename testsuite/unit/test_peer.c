/*
 * test_peer.c - util/peer.c: /proc/net/tcp{,6} line parsing, and the owner
 * of a real loopback connection by inet_diag and by /proc (IPv4, IPv6).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testsuite/unit/tap.h"
#include "util/peer.h"

/* conn4 - a v4 connection local -> remote (host-order ports). */
static struct peer_conn
conn4(const char *l, unsigned lp, const char *r, unsigned rp)
{
	struct peer_conn c;

	memset(&c, 0, sizeof(c));
	c.local.family = c.remote.family = AF_INET;
	inet_pton(AF_INET, l, c.local.addr);
	inet_pton(AF_INET, r, c.remote.addr);
	c.local.port = (uint16_t)lp;
	c.remote.port = (uint16_t)rp;
	return c;
}

/* test_lines - the parser on fixed lines (little-endian host text). */
static void
test_lines(void)
{
	struct peer_conn c = conn4("192.0.2.10", 41234, "192.0.2.10", 25);
	struct peer_conn c6;
	uid_t	 uid = 0;
	const char *hdr = "  sl  local_address rem_address   st tx_queue "
	    "rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
	/* 192.0.2.10 = 0x0A0200C0 in host order; 41234 = 0xA112 */
	const char *l4 = "   3: 0A0200C0:A112 0A0200C0:0019 01 00000000:"
	    "00000000 00:00000000 00000000  1005        0 4242 1 0 20 4 30 "
	    "10 -1\n";
	const char *other = "   4: 0A0200C0:A113 0A0200C0:0019 01 00000000:"
	    "00000000 00:00000000 00000000  1006        0 4243 1\n";
	const char *l6 = "   0: 00000000000000000000000001000000:C350 "
	    "00000000000000000000000001000000:0019 01 00000000:00000000 "
	    "00:00000000 00000000    33        0 99 1\n";

	is_int(peer_proc_line(hdr, AF_INET, &c, &uid), 0, "header skipped");
	is_int(peer_proc_line(l4, AF_INET, &c, &uid), 1, "v4 line matches");
	is_int(uid, 1005, "v4 uid");
	is_int(peer_proc_line(other, AF_INET, &c, &uid), 0,
	    "another port does not match");
	is_int(peer_proc_line("   3: 0A0200C0:A112 0A0200C0:0019 01\n",
	    AF_INET, &c, &uid), -1, "short line is malformed");
	is_int(peer_proc_line("   3: 0A0200G0:A112 0A0200C0:0019 01 0:0 0:0 "
	    "0 5 0 1\n", AF_INET, &c, &uid), -1, "bad hex is malformed");
	is_int(peer_proc_line("   3: 0A0200C0:A112 0A0200C0:0019 01 0:0 0:0 "
	    "0 99999999999 0 1\n", AF_INET, &c, &uid), -1,
	    "uid overflow is malformed");
	memset(&c6, 0, sizeof(c6));
	c6.local.family = c6.remote.family = AF_INET6;
	inet_pton(AF_INET6, "::1", c6.local.addr);
	inet_pton(AF_INET6, "::1", c6.remote.addr);
	c6.local.port = 50000;
	c6.remote.port = 25;
	is_int(peer_proc_line(l6, AF_INET6, &c6, &uid), 1, "v6 line matches");
	is_int(uid, 33, "v6 uid");
}

/* test_live - a real loopback connection of the given family. */
static void
test_live(int family, const char *addr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	socklen_t len = sizeof(ss);
	struct peer_conn c;
	uid_t	 uid = (uid_t)-1;
	int	 l, cl, a, redir = -1;
	char	 name[64], str[80];

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		inet_pton(AF_INET, addr, &s4->sin_addr);
	else
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
	l = socket(family, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (void *)&ss, sizeof(ss)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (void *)&ss, &len) < 0) {
		printf("ok - # SKIP no %s loopback\n", addr);
		if (l >= 0)
			close(l);
		return;
	}
	cl = socket(family, SOCK_STREAM, 0);
	if (connect(cl, (void *)&ss, len) < 0 || (a = accept(l, NULL, NULL)) < 0) {
		ok(0, "connect");
		return;
	}
	snprintf(name, sizeof(name), "%s: peer_from_fd", addr);
	is_int(peer_from_fd(a, &c, &redir), 0, name);
	is_int(redir, 0, "not redirected");
	is_int(c.local.family, family, "family");
	is_int(peer_owner_diag(&c, &uid), 0, "inet_diag finds the client");
	is_int(uid, getuid(), "inet_diag uid is ours");
	uid = (uid_t)-1;
	is_int(peer_owner_proc(&c, &uid), 0, "/proc/net finds the client");
	is_int(uid, getuid(), "/proc uid is ours");
	peer_ep_str(&c.remote, str, sizeof(str));
	ok(strstr(str, addr) != NULL, "peer_ep_str names the address");
	c.local.port ^= 1;			/* a tuple nobody owns */
	ok(peer_owner(&c, &uid) != 0, "an unknown tuple is refused");
	close(a);
	close(cl);
	close(l);
}

/* main - run the tests. */
int
main(void)
{
	test_lines();
	test_live(AF_INET, "127.0.0.1");
	test_live(AF_INET6, "::1");
	return tap_done();
}
