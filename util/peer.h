/*
 * peer.h - who is on the other end of a loopback TCP connection: the uid
 * that owns the client socket (NETLINK_SOCK_DIAG inet_diag with the exact
 * 4-tuple, /proc/net/tcp{,6} as the fallback) and the destination the
 * client asked for before a NAT redirect (SO_ORIGINAL_DST).
 */
#ifndef SM_PEER_H
#define SM_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One TCP endpoint; IPv4-mapped IPv6 addresses are stored as AF_INET. */
struct peer_ep {
	int	 family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network order; 4 bytes for v4 */
	uint16_t port;			/* host order */
};

/* The client socket's view of a connection: its own (local) endpoint and
 * the endpoint it connected to (remote: the original destination). */
struct peer_conn {
	struct peer_ep local, remote;
};

/* peer_from_fd - the accepted socket fd as the client socket sees it:
 * local = our peer address, remote = the original destination when the
 * connection was redirected, else our own address.  *redirected is 1 when
 * the two differ.  0, or a sysexits status with err_str() set. */
int	peer_from_fd(int fd, struct peer_conn *, int *redirected);
/* peer_owner - the uid owning the client socket of c: inet_diag first,
 * then /proc/net/tcp{,6}.  0, or EX_NOPERM when no local socket that a
 * process still holds matches (a closed client's socket, orphaned or in
 * TIME_WAIT, has inode 0 and reads as uid 0: it is refused). */
int	peer_owner(const struct peer_conn *, uid_t *uid);
/* peer_owner_diag - inet_diag only; 0, EX_NOPERM (no such socket, or it
 * has inode 0) or EX_UNAVAILABLE (netlink failed). */
int	peer_owner_diag(const struct peer_conn *, uid_t *uid);
/* peer_owner_proc - /proc/net/tcp{,6} only (an IPv4 c in both: a v6
 * socket on a v4-mapped address is only in tcp6); 0 or EX_NOPERM. */
int	peer_owner_proc(const struct peer_conn *, uid_t *uid);
/* peer_proc_line - parse one /proc/net/tcp or tcp6 line (family says
 * which; a v4-mapped tcp6 address reads as IPv4); 1 with *uid set if it
 * describes c and its inode is not 0, 0 if another socket, the header or
 * c's socket with inode 0 (closed: TIME_WAIT or orphaned), -1 if
 * malformed. */
int	peer_proc_line(const char *line, int family, const struct peer_conn *,
	    uid_t *uid);
/* peer_ep_str - "1.2.3.4:25" or "[::1]:25" into out. */
void	peer_ep_str(const struct peer_ep *, char *out, size_t len);

#endif
