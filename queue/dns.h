/*
 * dns.h - the DNS lookups behind routing: a bounded-time stub resolver
 * (glibc libresolv on a private res_state), a parser for answer packets,
 * and a cache of parsed answers in spool_dir/state/dns.tdb.
 *
 * Resolver: res_ninit() reads /etc/resolv.conf; [dns] servers, when set,
 * replace its nameservers ("ip", "ip:port", "[ip6]" or "[ip6]:port"; at
 * most MAXNS = 3).  Each try waits [dns] timeout seconds, 2 tries per
 * server.  Queries are built with res_nmkquery() plus an EDNS0 OPT record
 * (UDP payload 1232) and sent with res_nsend() with RES_IGNTC: the stub
 * never falls back to TCP (glibc's TCP path has no timeout), so a
 * truncated answer is used as far as it parses.  A server that answers
 * FORMERR to EDNS0 is asked again without it.  res_nsend() hides SERVFAIL
 * and REFUSED behind the same -1 as a timeout; all are temporary.  One
 * query takes at most DNS_TRIES x timeout per server (glibc shortens the
 * wait for the second and third server).
 *
 * Answers: the CNAME chain from the question name is followed inside the
 * answer section (at most DNS_CNAME_MAX links, and re-queried when a
 * server returns the chain without its end); records of the asked type
 * owned by the end of the chain are the data.  rcode NXDOMAIN is
 * DNS_NXDOMAIN; NOERROR without data is DNS_NODATA; every other rcode, a
 * malformed packet or no answer at all is DNS_TEMPFAIL.  The TTL of an
 * answer is the minimum over the chain and the data; of a negative answer,
 * min(SOA TTL, SOA minimum) from the authority section, capped at
 * DNS_NEG_TTL_MAX, or DNS_NEG_TTL_DEFAULT without an SOA.
 *
 * Cache (dns.tdb): key "MX/<name>", "A/<name>" or "AAAA/<name>" (name in
 * lower case, no trailing dot).  Value, all integers big-endian:
 *	u32 version (DNS_CACHE_VERSION) | u16 qtype | u16 status
 *	| i64 stored | i64 expires | u32 ttl | u16 cname length | cname bytes
 *	| u16 count | records
 * where an MX record is u16 preference | u16 length | host bytes, and an
 * address record is u8 family (4 or 6) | 4 or 16 address bytes (details
 * in dns_cache.c), followed by a 16-byte unkeyed BLAKE2b hash of all of
 * that (a record whose hash does not match is a miss: a flipped bit never
 * becomes a wrong MX).  Only DNS_OK, DNS_NXDOMAIN and DNS_NODATA answers with
 * a TTL above zero are stored; writes run under the record's chain lock.
 * An expired record is a miss; dns_cache_purge() deletes them.
 */
#ifndef SM_DNS_H
#define SM_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "util/buf.h"
#include "util/conf.h"

#define DNS_CACHE_VERSION	1
#define DNS_CNAME_MAX		8	/* CNAME links followed per name */
#define DNS_NEG_TTL_DEFAULT	300	/* negative answer without an SOA */
#define DNS_NEG_TTL_MAX		3600	/* cap on negative caching */
#define DNS_TTL_MAX		86400	/* cap on positive caching */
#define DNS_RECORDS_MAX		64	/* records kept per answer */
#define DNS_EDNS_PAYLOAD	1232
#define DNS_TRIES		2	/* tries per server */

enum dns_status {
	DNS_OK,				/* records of the asked type */
	DNS_NXDOMAIN,			/* the name does not exist */
	DNS_NODATA,			/* the name exists, no such records */
	DNS_TEMPFAIL			/* SERVFAIL, REFUSED, timeout, garbage */
};

struct dns_mx {
	unsigned pref;
	char	*host;			/* lower case, no trailing dot; "." = root */
};

struct dns_addr {
	int	 family;		/* AF_INET or AF_INET6 */
	unsigned char a[16];
};

/* One question and its parsed answer. */
struct dns_answer {
	int	 qtype;			/* ns_t_mx, ns_t_a, ns_t_aaaa, ns_t_txt */
	char	*qname;			/* as asked, normalised */
	enum dns_status status;
	int	 rcode;			/* -1 when no packet came back */
	uint32_t ttl;			/* at parse time; remaining if cached */
	int	 from_cache;
	char	*cname;			/* end of the CNAME chain, or NULL */
	struct dns_mx *mx;		/* qtype MX */
	struct dns_addr *addr;		/* qtype A / AAAA */
	char	**txt;			/* qtype TXT (never cached): each
					 * record's strings joined */
	size_t	 n;			/* entries in mx or addr */
	int	 truncated;		/* TC was set */
	int	 has_soa;		/* a negative answer carried an SOA */
	char	 why[160];		/* DNS_TEMPFAIL: what went wrong */
};

struct dns_resolver;
struct dns_cache;

/* dns_type_name - "MX", "A", "AAAA", "TXT" or "TYPEn". */
const char *dns_type_name(int qtype);
/* dns_status_name - "ok", "nxdomain", "nodata" or "tempfail". */
const char *dns_status_name(enum dns_status);
/* dns_name_norm - lower-case copy of name without its trailing dot. */
char	*dns_name_norm(const char *name);
/* dns_addr_str - the printable form of an address into out (46 bytes). */
const char *dns_addr_str(const struct dns_addr *, char *out, size_t);
/* dns_server_parse - "ip", "ip:port", "[ip6]", "[ip6]:port" to a sockaddr. */
int	dns_server_parse(const char *spec, struct sockaddr_storage *);
/* dns_parse - parse an answer packet to ans (set up by dns_answer_init). */
void	dns_parse(const unsigned char *pkt, size_t len, struct dns_answer *);
/* dns_answer_init - an empty answer for (qname, qtype). */
int	dns_answer_init(struct dns_answer *, const char *qname, int qtype);
/* dns_answer_reset - back to an unanswered question (qname, qtype kept). */
void	dns_answer_reset(struct dns_answer *);
/* dns_answer_free - release what an answer holds. */
void	dns_answer_free(struct dns_answer *);
/* dns_mx_sort - by preference, then randomly among equal preferences. */
void	dns_mx_sort(struct dns_mx *, size_t);

/* dns_resolver_open - res_ninit, then servers and timeout from conf. */
int	dns_resolver_open(struct dns_resolver **, const struct conf *);
/* dns_resolver_close - res_nclose and free. */
void	dns_resolver_close(struct dns_resolver *);
/* dns_query - ask the servers (qname, qtype), following CNAMEs. */
int	dns_query(struct dns_resolver *, const char *qname, int qtype,
	    struct dns_answer *);
/* dns_resolver_describe - the servers in use, for the evidence. */
int	dns_resolver_describe(const struct dns_resolver *, struct buf *);

/* dns_cache_open - open (creating) spool_dir/state/dns.tdb. */
int	dns_cache_open(struct dns_cache **, const char *spool_dir);
/* dns_cache_close - close the database. */
void	dns_cache_close(struct dns_cache *);
/* dns_cache_get - a live cached answer: 0, or -1 when there is none. */
int	dns_cache_get(struct dns_cache *, const char *qname, int qtype,
	    time_t now, struct dns_answer *);
/* dns_cache_put - store a cacheable answer until now + its TTL. */
int	dns_cache_put(struct dns_cache *, const struct dns_answer *,
	    time_t now);
/* dns_cache_purge - delete expired records; the number deleted, or -1. */
int	dns_cache_purge(struct dns_cache *, time_t now);
/* dns_cache_encode - the record for ans, stored at now, into out. */
int	dns_cache_encode(const struct dns_answer *, time_t now,
	    struct buf *out);
/* dns_cache_decode - parse a record; -1 when it is malformed. */
int	dns_cache_decode(const unsigned char *, size_t, struct dns_answer *,
	    time_t *stored, time_t *expires);
/* dns_cache_key - the tdb key "TYPE/name" into out. */
int	dns_cache_key(const char *qname, int qtype, struct buf *out);

#endif
