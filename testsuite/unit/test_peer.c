/*
 * test_peer.c - util/peer.c: /proc/net/tcp{,6} line parsing, and the owner
 * of a real loopback connection by inet_diag and by /proc (IPv4, IPv6, a
 * v6 client on a v4-mapped address); a client that has closed (orphaned,
 * then TIME_WAIT: inode 0, uid 0) is refused, not attributed to root.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
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
	const char *l4cut = "   3: 0A0200C0:A112 0A0200C0:0019 01 00000000:"
	    "00000000 00:00000000 00000000  1005\n";
	/* as /proc shows them once the client has closed (uid 0, inode 0) */
	const char *orphan = "   3: 0A0200C0:A112 0A0200C0:0019 05 00000000:"
	    "00000000 03:00001769 00000000     0        0 0 3 "
	    "000000009517c6dd\n";
	const char *tw = "   3: 0A0200C0:A112 0A0200C0:0019 06 00000000:"
	    "00000000 03:00001769 00000000     0        0 0 3 "
	    "000000009517c6dd\n";
	/* ::ffff:192.0.2.10 in tcp6: words 0, 0, FFFF0000, 0A0200C0 */
	const char *mapped = "   1: 0000000000000000FFFF00000A0200C0:A112 "
	    "0000000000000000FFFF00000A0200C0:0019 01 00000000:00000000 "
	    "00:00000000 00000000  1007        0 5151 1\n";

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
	is_int(peer_proc_line(l4cut, AF_INET, &c, &uid), -1,
	    "a line cut after the uid (no inode) is malformed");
	uid = 4711;
	is_int(peer_proc_line(orphan, AF_INET, &c, &uid), 0,
	    "c's socket with inode 0 (orphaned, uid 0) is no match");
	is_int(peer_proc_line(tw, AF_INET, &c, &uid), 0,
	    "c's socket in TIME_WAIT (inode 0) is no match");
	is_int(uid, 4711, "uid untouched by an ownerless socket");
	is_int(peer_proc_line(mapped, AF_INET6, &c, &uid), 1,
	    "a v4-mapped tcp6 line matches the v4 connection");
	is_int(uid, 1007, "v4-mapped uid");
	is_int(peer_proc_line(mapped, AF_INET6, &c6, &uid), 0,
	    "a v4-mapped tcp6 line is not ::1");
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

/* listen_on - a listening socket on addr:0 of family, its address in
 * *ss; -1 if the family or address is not available here. */
static int
listen_on(int family, const char *addr, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;
	int	 l;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		inet_pton(AF_INET, addr, &s4->sin_addr);
	else
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
	*len = sizeof(*ss);
	if ((l = socket(family, SOCK_STREAM, 0)) < 0)
		return -1;
	if (bind(l, (void *)ss, sizeof(*ss)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (void *)ss, len) < 0) {
		close(l);
		return -1;
	}
	return l;
}

/* test_closed - a client that closes before the lookup: the kernel keeps
 * its 4-tuple orphaned (FIN_WAIT), then in TIME_WAIT, both with inode 0
 * and uid 0; the lookup must fail rather than name root. */
static void
test_closed(int family, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct peer_conn c;
	uid_t	 uid;
	int	 l, cl, a, redir;
	char	 b, name[96];

	if ((l = listen_on(family, addr, &ss, &len)) < 0) {
		printf("ok - # SKIP no %s loopback\n", addr);
		return;
	}
	cl = socket(family, SOCK_STREAM, 0);
	if (cl < 0 || connect(cl, (void *)&ss, len) < 0 ||
	    (a = accept(l, NULL, NULL)) < 0) {
		ok(0, "connect");
		close(l);
		return;
	}
	snprintf(name, sizeof(name), "%s closed: peer_from_fd", addr);
	is_int(peer_from_fd(a, &c, &redir), 0, name);
	uid = (uid_t)-1;
	is_int(peer_owner(&c, &uid), 0, "open client: found");
	is_int(uid, getuid(), "open client: our uid");
	/* close() orphans the client socket at once (FIN_WAIT1/2); reading
	 * the end of file on a makes sure its FIN went out. */
	close(cl);
	is_int(read(a, &b, 1), 0, "the accepted side sees the client's FIN");
	uid = 4711;
	is_int(peer_owner_diag(&c, &uid), EX_NOPERM,
	    "orphaned client: inet_diag refuses (inode 0)");
	is_int(peer_owner_proc(&c, &uid), EX_NOPERM,
	    "orphaned client: /proc refuses (inode 0)");
	is_int(peer_owner(&c, &uid), EX_NOPERM, "orphaned client: refused");
	is_int(uid, 4711, "orphaned client: no uid given");
	/* our close answers the client's FIN: the client goes TIME_WAIT */
	close(a);
	is_int(peer_owner_diag(&c, &uid), EX_NOPERM,
	    "TIME_WAIT client: inet_diag refuses");
	is_int(peer_owner_proc(&c, &uid), EX_NOPERM,
	    "TIME_WAIT client: /proc refuses");
	is_int(uid, 4711, "TIME_WAIT client: no uid given");
	close(l);
}

/* test_mapped - an AF_INET6 client on ::ffff:127.0.0.1 to an IPv4
 * listener: its socket is listed only in /proc/net/tcp6. */
static void
test_mapped(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 s6;
	struct sockaddr_in *s4 = (void *)&ss;
	socklen_t len;
	struct peer_conn c;
	uid_t	 uid;
	int	 l, cl, a, redir;

	if ((l = listen_on(AF_INET, "127.0.0.1", &ss, &len)) < 0 ||
	    (cl = socket(AF_INET6, SOCK_STREAM, 0)) < 0) {
		printf("ok - # SKIP no v4-mapped loopback\n");
		if (l >= 0)
			close(l);
		return;
	}
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = s4->sin_port;
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr);
	if (connect(cl, (void *)&s6, sizeof(s6)) < 0 ||
	    (a = accept(l, NULL, NULL)) < 0) {
		printf("ok - # SKIP no v4-mapped connect\n");
		close(cl);
		close(l);
		return;
	}
	is_int(peer_from_fd(a, &c, &redir), 0, "v4-mapped: peer_from_fd");
	is_int(c.local.family, AF_INET, "v4-mapped: an IPv4 peer");
	uid = (uid_t)-1;
	is_int(peer_owner_proc(&c, &uid), 0,
	    "v4-mapped: /proc/net/tcp6 finds the client");
	is_int(uid, getuid(), "v4-mapped: /proc uid is ours");
	uid = (uid_t)-1;
	is_int(peer_owner_diag(&c, &uid), 0,
	    "v4-mapped: inet_diag finds the client");
	is_int(uid, getuid(), "v4-mapped: inet_diag uid is ours");
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
	test_closed(AF_INET, "127.0.0.1");
	test_closed(AF_INET6, "::1");
	test_mapped();
	return tap_done();
}
