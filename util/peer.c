/*
 * peer.c - the owner uid of the client end of a loopback TCP connection
 * and its original destination; see peer.h.
 *
 * inet_diag: one SOCK_DIAG_BY_FAMILY request (no dump) with the client
 * socket's exact 4-tuple (idiag_src = its local endpoint, idiag_dst = the
 * endpoint it connected to) finds that socket; the reply's idiag_uid is its
 * owner.  A socket of another host has no entry here, so the lookup fails
 * and the connection is refused.
 *
 * Only a socket that a process still holds names its owner: once the
 * client has closed, the kernel keeps the 4-tuple as an orphan (FIN_WAIT1,
 * FIN_WAIT2, CLOSING, LAST_ACK) or as TIME_WAIT, and reports it with inode
 * 0 and uid 0 (inet_twsk_diag_fill; an orphan has no struct socket).  A
 * client that sends its whole dialogue and closes at once could otherwise
 * have its mail attributed to root, so inode 0 (here and in /proc) is
 * refused like a socket of another host.
 *
 * /proc/net/tcp{,6} line format (the fallback):
 *	sl: LOCAL REMOTE st txq:rxq tr:when retr uid timeout inode ...
 * LOCAL and REMOTE are HEX:PORT, HEX being the address as 32-bit words
 * printed with %08X in host byte order (one word for IPv4, four for
 * IPv6) and PORT %04X.  An AF_INET6 socket talking to a v4-mapped address
 * (::ffff:127.0.0.1) is listed only in tcp6, so an IPv4 peer is looked for
 * in both files.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/msg.h"
#include "util/peer.h"

#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST	80	/* linux/netfilter_ipv6/ip6_tables.h */
#endif

/* peer_ep_set - fill ep from a sockaddr (v4-mapped v6 becomes v4). */
static int
peer_ep_set(struct peer_ep *ep, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *s4 = (const void *)ss;
	const struct sockaddr_in6 *s6 = (const void *)ss;

	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET) {
		ep->family = AF_INET;
		memcpy(ep->addr, &s4->sin_addr, 4);
		ep->port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		ep->port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			ep->family = AF_INET;
			memcpy(ep->addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			ep->family = AF_INET6;
			memcpy(ep->addr, &s6->sin6_addr, 16);
		}
	} else
		return -1;
	return 0;
}

/* peer_ep_eq - 1 if two endpoints are the same. */
static int
peer_ep_eq(const struct peer_ep *a, const struct peer_ep *b)
{
	return a->family == b->family && a->port == b->port &&
	    memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* peer_origdst - SO_ORIGINAL_DST (or its IPv6 twin) of fd; -1 if none. */
static int
peer_origdst(int fd, int family, struct peer_ep *ep)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len) < 0)
			return -1;
	} else if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss,
	    &len) < 0)
		return -1;
	return peer_ep_set(ep, &ss);
}

/* peer_from_fd - the client socket's view of the accepted socket fd. */
int
peer_from_fd(int fd, struct peer_conn *c, int *redirected)
{
	struct sockaddr_storage ss;
	struct peer_ep here, orig;
	socklen_t len = sizeof(ss);

	*redirected = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    peer_ep_set(&c->local, &ss) < 0)
		return err_set(EX_NOPERM, "no peer address: %s",
		    strerror(errno));
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    peer_ep_set(&here, &ss) < 0)
		return err_set(EX_NOPERM, "no local address: %s",
		    strerror(errno));
	c->remote = here;
	if (peer_origdst(fd, c->local.family, &orig) == 0 &&
	    orig.family == here.family && !peer_ep_eq(&orig, &here)) {
		c->remote = orig;
		*redirected = 1;
	}
	return 0;
}

/* peer_diag_request - send the exact-lookup request for c on socket s. */
static int
peer_diag_request(int s, const struct peer_conn *c)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	struct sockaddr_nl sa;

	memset(&msg, 0, sizeof(msg));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.nlh.nlmsg_seq = 1;
	msg.req.sdiag_family = (unsigned char)c->local.family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0u;
	msg.req.id.idiag_sport = htons(c->local.port);
	msg.req.id.idiag_dport = htons(c->remote.port);
	memcpy(msg.req.id.idiag_src, c->local.addr,
	    c->local.family == AF_INET ? 4 : 16);
	memcpy(msg.req.id.idiag_dst, c->remote.addr,
	    c->remote.family == AF_INET ? 4 : 16);
	msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	return sendto(s, &msg, sizeof(msg), 0, (struct sockaddr *)&sa,
	    sizeof(sa)) == (ssize_t)sizeof(msg) ? 0 : -1;
}

/* peer_diag_reply - read the answer; 0 found, 1 no such socket, 2 the
 * socket has no owner any more (inode 0: closed), -1 error. */
static int
peer_diag_reply(int s, const struct peer_conn *c, uid_t *uid)
{
	long	 buf[2048];
	struct nlmsghdr *h;
	struct inet_diag_msg *m;
	struct pollfd pfd = { s, POLLIN, 0 };
	ssize_t	 n;

	if (poll(&pfd, 1, 1000) != 1)
		return -1;
	if ((n = recv(s, buf, sizeof(buf), 0)) <= 0)
		return -1;
	for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
	    h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) &&
			    e->error == -ENOENT ? 1 : -1;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			continue;
		m = NLMSG_DATA(h);
		if (ntohs(m->id.idiag_sport) != c->local.port ||
		    ntohs(m->id.idiag_dport) != c->remote.port)
			continue;
		if (m->idiag_inode == 0)
			return 2;		/* TIME_WAIT or orphaned */
		*uid = (uid_t)m->idiag_uid;
		return 0;
	}
	return 1;
}

/* peer_owner_diag - the owner uid by inet_diag. */
int
peer_owner_diag(const struct peer_conn *c, uid_t *uid)
{
	int	 s, r;

	if (c->local.family != c->remote.family)
		return err_set(EX_NOPERM, "mixed address families");
	s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (s < 0)
		return err_set(EX_UNAVAILABLE, "netlink: %s", strerror(errno));
	r = peer_diag_request(s, c) < 0 ? -1 : peer_diag_reply(s, c, uid);
	close(s);
	if (r < 0)
		return err_set(EX_UNAVAILABLE, "inet_diag lookup failed");
	if (r == 2)
		return err_set(EX_NOPERM, "the client socket is closed (no "
		    "process holds it)");
	if (r > 0)
		return err_set(EX_NOPERM, "no local socket owns the "
		    "connection");
	return 0;
}

/* peer_v4mapped - 1 if the 16 bytes at a are ::ffff:a.b.c.d. */
static int
peer_v4mapped(const unsigned char *a)
{
	static const unsigned char pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

/* peer_hex_ep - parse "HEX:PORT" at p into ep (a v4-mapped IPv6 address
 * becomes AF_INET, as in peer_ep_set); the end, or NULL. */
static const char *
peer_hex_ep(const char *p, int family, struct peer_ep *ep)
{
	size_t	 words = family == AF_INET ? 1 : 4, i, k;
	uint32_t w;
	unsigned v;

	memset(ep, 0, sizeof(*ep));
	ep->family = family;
	for (i = 0; i < words; i++) {
		for (w = 0, k = 0; k < 8; k++, p++) {
			if (*p >= '0' && *p <= '9')
				v = (unsigned)(*p - '0');
			else if (*p >= 'A' && *p <= 'F')
				v = (unsigned)(*p - 'A' + 10);
			else if (*p >= 'a' && *p <= 'f')
				v = (unsigned)(*p - 'a' + 10);
			else
				return NULL;
			w = w << 4 | v;
		}
		memcpy(ep->addr + 4 * i, &w, 4);	/* host order */
	}
	if (*p++ != ':')
		return NULL;
	for (w = 0, k = 0; k < 4; k++, p++) {
		if (*p >= '0' && *p <= '9')
			v = (unsigned)(*p - '0');
		else if (*p >= 'A' && *p <= 'F')
			v = (unsigned)(*p - 'A' + 10);
		else
			return NULL;
		w = w << 4 | v;
	}
	ep->port = (uint16_t)w;
	if (family == AF_INET6 && peer_v4mapped(ep->addr)) {
		memmove(ep->addr, ep->addr + 12, 4);	/* stored as v4 */
		memset(ep->addr + 4, 0, 12);
		ep->family = AF_INET;
	}
	return *p == ' ' ? p : NULL;
}

/* peer_skip - skip n blank-separated fields after p; NULL if short. */
static const char *
peer_skip(const char *p, int n)
{
	while (n-- > 0) {
		while (*p == ' ')
			p++;
		if (*p == '\0' || *p == '\n')
			return NULL;
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	while (*p == ' ')
		p++;
	return p;
}

/* peer_dec - parse a decimal field of at most max digits at p into *v;
 * the end (a blank, newline or NUL), or NULL. */
static const char *
peer_dec(const char *p, int max, unsigned long long *v)
{
	int	 digits = 0;

	for (*v = 0; *p >= '0' && *p <= '9' && digits < max; p++, digits++)
		*v = *v * 10 + (unsigned)(*p - '0');
	if (digits == 0 || (*p != ' ' && *p != '\n' && *p != '\0'))
		return NULL;
	return p;
}

/* peer_proc_line - one /proc/net/tcp{,6} line against c. */
int
peer_proc_line(const char *line, int family, const struct peer_conn *c,
    uid_t *uid)
{
	struct peer_ep l, r;
	const char *p = line;
	unsigned long long v, ino;

	while (*p == ' ')
		p++;
	if (strncmp(p, "sl", 2) == 0)
		return 0;			/* the header */
	if ((p = strchr(p, ':')) == NULL || p[1] != ' ')
		return -1;
	p += 2;
	while (*p == ' ')
		p++;
	if ((p = peer_hex_ep(p, family, &l)) == NULL)
		return -1;
	while (*p == ' ')
		p++;
	if ((p = peer_hex_ep(p, family, &r)) == NULL)
		return -1;
	if ((p = peer_skip(p, 4)) == NULL)	/* st, queues, timer, retr */
		return -1;
	if ((p = peer_dec(p, 10, &v)) == NULL || v >= (uid_t)-1)
		return -1;
	if ((p = peer_skip(p, 1)) == NULL)	/* timeout */
		return -1;
	if ((p = peer_dec(p, 19, &ino)) == NULL)
		return -1;
	if (!peer_ep_eq(&l, &c->local) || !peer_ep_eq(&r, &c->remote))
		return 0;
	if (ino == 0)
		return 0;		/* TIME_WAIT or orphaned: no owner */
	*uid = (uid_t)v;
	return 1;
}

/* peer_proc_scan - look for c in one /proc/net file of the given family;
 * 1 found, 0 not there, -1 with errno set if the file cannot be read. */
static int
peer_proc_scan(const char *path, int family, const struct peer_conn *c,
    uid_t *uid)
{
	FILE	*f;
	char	 line[512];
	int	 r = 0;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (r != 1 && fgets(line, sizeof(line), f) != NULL)
		r = peer_proc_line(line, family, c, uid);
	fclose(f);
	return r == 1 ? 1 : 0;
}

/* peer_owner_proc - the owner uid from /proc/net/tcp or tcp6 (both for
 * an IPv4 peer: a v6 socket on a v4-mapped address is only in tcp6). */
int
peer_owner_proc(const struct peer_conn *c, uid_t *uid)
{
	int	 r4 = -1, r6;

	if (c->local.family == AF_INET &&
	    (r4 = peer_proc_scan("/proc/net/tcp", AF_INET, c, uid)) == 1)
		return 0;
	if ((r6 = peer_proc_scan("/proc/net/tcp6", AF_INET6, c, uid)) == 1)
		return 0;
	if (r4 < 0 && r6 < 0)			/* neither file was read */
		return err_set(EX_NOPERM, "cannot read /proc/net/tcp%s: %s",
		    c->local.family == AF_INET ? "{,6}" : "6",
		    strerror(errno));
	return err_set(EX_NOPERM, "no local socket owns the connection");
}

/* peer_owner - inet_diag, then /proc/net/tcp{,6} when netlink failed. */
int
peer_owner(const struct peer_conn *c, uid_t *uid)
{
	int	 rc = peer_owner_diag(c, uid);

	if (rc == EX_UNAVAILABLE)
		rc = peer_owner_proc(c, uid);
	return rc;
}

/* peer_ep_str - "1.2.3.4:25" or "[::1]:25". */
void
peer_ep_str(const struct peer_ep *ep, char *out, size_t len)
{
	char	 a[INET6_ADDRSTRLEN];

	if (inet_ntop(ep->family, ep->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	if (ep->family == AF_INET6)
		snprintf(out, len, "[%s]:%u", a, ep->port);
	else
		snprintf(out, len, "%s:%u", a, ep->port);
}
