/*
 * route.h - where a recipient goes: the smarthost, the local transport, a
 * bounce or a deferral, decided from real DNS answers (DESIGN "Routing").
 *
 * A domain is local only when one of its best-preference MX hosts is this
 * host: the host is named in [dns] local_mx, or one of its A/AAAA
 * addresses is an interface address (getifaddrs at route_open; on a
 * loopback interface the whole interface network, e.g. 127.0.0.0/8,
 * counts) or is listed in [dns] local_addresses.  No static list of local
 * domains is ever consulted.
 *
 *	MX answer			decision
 *	NXDOMAIN			BOUNCE 5.1.2
 *	only "." targets (RFC 7505)	BOUNCE 5.1.10 ("." targets beside
 *					real ones are dropped)
 *	SERVFAIL, REFUSED, timeout	DEFER 4.4.3
 *	no MX (NODATA)			implicit MX: the domain itself at
 *					preference 0 (RFC 5321 5.1); no
 *					A/AAAA either: BOUNCE 5.1.2
 *	best MX is this host		LOCAL; DEFER 4.3.5 when [local]
 *					transport is empty
 *	best MX address lookup fails	DEFER 4.4.3 (unless another best MX
 *	temporarily			already matched)
 *	anything else			SMARTHOST
 *
 * Addresses that need no DNS:
 *	"user" (no @)			LOCAL (a user of this host), match
 *					"unqualified"; DEFER 4.3.5 without
 *					[local] transport
 *	user@[1.2.3.4], user@[IPv6:..]	LOCAL when the literal is one of this
 *					host's addresses, else SMARTHOST
 *	bad literal or domain syntax	BOUNCE 5.1.3
 *	non-ASCII domain		SMARTHOST, unresolved (left to the
 *					smarthost, which may speak SMTPUTF8)
 * Surrounding <> are ignored; the domain is after the last '@', compared
 * in lower case without a trailing dot.
 *
 * Answers come from the DNS cache (dns.h) while their TTL lasts.  A
 * temporary failure is never written to the cache, but the same route_ctx
 * remembers it for ROUTE_TEMPFAIL_MEMO seconds so that a pass over many
 * recipients of a broken domain waits for the timeout only once.  Equal
 * preference MX hosts are shuffled in route_decision.mx; the evidence
 * printed by route_explain lists them sorted, for stable output.
 */
#ifndef SM_ROUTE_H
#define SM_ROUTE_H

#include <netinet/in.h>
#include <stddef.h>

#include "queue/dns.h"
#include "util/buf.h"
#include "util/conf.h"

#define ROUTE_TEMPFAIL_MEMO	60	/* seconds a route_ctx recalls a failure */
#define ROUTE_REASON_MAX	512

enum route_kind {
	ROUTE_SMARTHOST,
	ROUTE_LOCAL,
	ROUTE_BOUNCE,
	ROUTE_DEFER
};

/* Why this host was recognised. */
enum route_match {
	ROUTE_MATCH_NONE,
	ROUTE_MATCH_INTERFACE,		/* address of interface match_detail */
	ROUTE_MATCH_LOCAL_ADDRESSES,	/* listed in [dns] local_addresses */
	ROUTE_MATCH_LOCAL_MX,		/* host listed in [dns] local_mx */
	ROUTE_MATCH_UNQUALIFIED		/* an address without a domain */
};

/* One MX host (or the implicit MX) and what its addresses turned out to be. */
struct route_mx {
	unsigned pref;
	char	*host;
	int	 best;			/* has the best preference */
	int	 local_mx;		/* named in [dns] local_mx */
	int	 looked_up;		/* a and aaaa were asked */
	struct dns_answer a, aaaa;
};

struct route_decision {
	enum route_kind kind;
	char	 dsn[8];		/* "" for SMARTHOST and LOCAL */
	char	 reason[ROUTE_REASON_MAX];	/* one line */
	char	*address;		/* as given, without <> */
	char	*domain;		/* normalised; NULL when unqualified */
	const char *transport;		/* URL of the chosen transport, or NULL */
	char	*mx_host;		/* the MX host found to be this host */
	char	 matched_addr[INET6_ADDRSTRLEN];	/* "" if by name */
	enum route_match match;
	char	 match_detail[64];	/* interface name or local_mx entry */
	int	 literal;		/* the domain was an address literal */
	int	 implicit_mx;		/* no MX: the domain's own A/AAAA */
	int	 null_mx;		/* RFC 7505 */
	int	 from_cache;		/* every answer used was cached */
	long	 ttl;			/* seconds the answers used stay valid;
					   -1 when no DNS answer was used */
	struct dns_answer mxq;		/* the MX question; qname NULL if none */
	struct route_mx *mx;		/* preference order, equal ones shuffled */
	size_t	 nmx;
};

struct route_ctx;

/* route_open - resolver, DNS cache and this host's addresses, once. */
int	route_open(struct route_ctx **, const struct conf *);
/* route_clone - a context for another thread: its own resolver, the
 * cache and failure memo shared with ctx under ctx's lock. */
int	route_clone(struct route_ctx *ctx, struct route_ctx **clone);
/* route_clone_cached - a context that answers from the DNS cache and the
 * failure memo only, never asking DNS; close it before ctx. */
int	route_clone_cached(struct route_ctx *ctx, struct route_ctx **clone);
/* route_cached_misses - questions a cache-only context could not answer. */
unsigned route_cached_misses(const struct route_ctx *);
/* route_close - release everything route_open made (for a clone: only
 * its resolver). */
void	route_close(struct route_ctx *);
/* route_address - decide where address goes; 0, or a sysexits status. */
int	route_address(struct route_ctx *, const char *address,
	    struct route_decision *);
/* route_decision_free - release what a decision holds. */
void	route_decision_free(struct route_decision *);
/* route_explain - the decision and its evidence, as text or one JSON object. */
int	route_explain(struct route_ctx *, const char *address, int json,
	    struct buf *out);
/* route_kind_name - "smarthost", "local", "bounce" or "defer". */
const char *route_kind_name(enum route_kind);
/* route_match_name - "none", "interface", "local_addresses", "local_mx",
   "unqualified". */
const char *route_match_name(enum route_match);
/* route_cache_purge - drop expired DNS cache records (for the runner). */
int	route_cache_purge(struct route_ctx *);

/* For route_explain.c and the tests. */
/* route_decide - route_address; with full set, every MX host is looked up. */
int	route_decide(struct route_ctx *, const char *address,
	    struct route_decision *, int full);
/* route_addr_match - is the address this host's; detail says which/why. */
enum route_match route_addr_match(const struct route_ctx *,
	    const struct dns_addr *, char *detail, size_t);
/* route_cache_state - "" when the DNS cache is in use, else why not. */
const char *route_cache_state(const struct route_ctx *);
/* route_resolver_describe - the servers, timeout and tries in use. */
int	route_resolver_describe(const struct route_ctx *, struct buf *);

#endif
