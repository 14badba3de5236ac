/*
 * route.c - the routing decision for one recipient; see route.h for the
 * rules.  The evidence printer is in route_explain.c.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "queue/route.h"
#include "util/msg.h"

#define ROUTE_MEMO_SLOTS	32

/* One address of a local interface. */
struct route_ifa {
	struct dns_addr addr;
	struct dns_addr mask;		/* used for loopback interfaces */
	int	 loopback;
	char	 name[IF_NAMESIZE + 1];
};

/* A recent temporary failure, so one pass does not time out twice. */
struct route_memo {
	int	 qtype;
	char	*name;
	time_t	 at;
	char	 why[160];
};

struct route_ctx {
	const struct conf *conf;
	struct dns_resolver *res;
	struct dns_cache *cache;	/* NULL: running without the cache */
	char	 cache_err[300];
	struct route_ifa *ifa;
	size_t	 nifa;
	struct dns_addr *laddr;		/* [dns] local_addresses */
	size_t	 nladdr;
	struct route_memo memo[ROUTE_MEMO_SLOTS];
	size_t	 memo_next;
	struct route_ctx *root;		/* self, or the ctx this is a clone of */
	int	 cache_only;		/* never ask DNS (route_clone_cached) */
	unsigned misses;		/* cache_only: questions not cached */
	pthread_mutex_t lock;		/* root only: cache and memo */
};

/* route_kind_name - "smarthost", "local", "bounce" or "defer". */
const char *
route_kind_name(enum route_kind k)
{
	switch (k) {
	case ROUTE_SMARTHOST:
		return "smarthost";
	case ROUTE_LOCAL:
		return "local";
	case ROUTE_BOUNCE:
		return "bounce";
	case ROUTE_DEFER:
		break;
	}
	return "defer";
}

/* route_match_name - the name of a match kind. */
const char *
route_match_name(enum route_match m)
{
	switch (m) {
	case ROUTE_MATCH_NONE:
		return "none";
	case ROUTE_MATCH_INTERFACE:
		return "interface";
	case ROUTE_MATCH_LOCAL_ADDRESSES:
		return "local_addresses";
	case ROUTE_MATCH_LOCAL_MX:
		return "local_mx";
	case ROUTE_MATCH_UNQUALIFIED:
		break;
	}
	return "unqualified";
}

/* route_sockaddr_addr - a dns_addr from a sockaddr; -1 if not IP. */
static int
route_sockaddr_addr(const struct sockaddr *sa, struct dns_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		a->family = AF_INET;
		memcpy(a->a, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		a->family = AF_INET6;
		memcpy(a->a, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
		return 0;
	}
	return -1;
}

/* route_unmap - an IPv4-mapped IPv6 address as plain IPv4. */
static struct dns_addr
route_unmap(const struct dns_addr *a)
{
	static const unsigned char pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	struct dns_addr v = *a;

	if (a->family == AF_INET6 && memcmp(a->a, pfx, 12) == 0) {
		memset(&v, 0, sizeof(v));
		v.family = AF_INET;
		memcpy(v.a, a->a + 12, 4);
	}
	return v;
}

/* route_addr_eq - same family and bytes. */
static int
route_addr_eq(const struct dns_addr *x, const struct dns_addr *y)
{
	size_t	 n = x->family == AF_INET ? 4 : 16;

	return x->family == y->family && memcmp(x->a, y->a, n) == 0;
}

/* route_addr_in - x is inside the network of (net, mask). */
static int
route_addr_in(const struct dns_addr *x, const struct dns_addr *net,
    const struct dns_addr *mask)
{
	size_t	 i, n = x->family == AF_INET ? 4 : 16;

	if (x->family != net->family)
		return 0;
	for (i = 0; i < n; i++)
		if ((x->a[i] & mask->a[i]) != (net->a[i] & mask->a[i]))
			return 0;
	return 1;
}

/* route_addr_match - is this address this host's, and why. */
enum route_match
route_addr_match(const struct route_ctx *ctx, const struct dns_addr *addr,
    char *detail, size_t len)
{
	struct dns_addr a = route_unmap(addr);
	size_t	 i;

	for (i = 0; i < ctx->nifa; i++) {
		const struct route_ifa *f = &ctx->ifa[i];

		if (route_addr_eq(&a, &f->addr) || (f->loopback &&
		    route_addr_in(&a, &f->addr, &f->mask))) {
			snprintf(detail, len, "%s", f->name);
			return ROUTE_MATCH_INTERFACE;
		}
	}
	for (i = 0; i < ctx->nladdr; i++)
		if (route_addr_eq(&a, &ctx->laddr[i])) {
			snprintf(detail, len, "local_addresses");
			return ROUTE_MATCH_LOCAL_ADDRESSES;
		}
	if (len)
		detail[0] = '\0';
	return ROUTE_MATCH_NONE;
}

/* route_parse_ip - "1.2.3.4", "::1" or "[::1]" to an address. */
static int
route_parse_ip(const char *s, struct dns_addr *a)
{
	char	 tmp[INET6_ADDRSTRLEN + 2];
	size_t	 n = strlen(s);

	memset(a, 0, sizeof(*a));
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(tmp)) {
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		s = tmp;
	}
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->family = AF_INET6;
		*a = route_unmap(a);
		return 0;
	}
	return -1;
}

/* route_load_local_addresses - parse [dns] local_addresses. */
static int
route_load_local_addresses(struct route_ctx *ctx)
{
	const struct conf_list *l = &ctx->conf->local_addresses;
	size_t	 i;

	if (l->n == 0)
		return 0;
	if ((ctx->laddr = calloc(l->n, sizeof(*ctx->laddr))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	for (i = 0; i < l->n; i++)
		if (route_parse_ip(l->v[i], &ctx->laddr[i]) < 0)
			return err_set(EX_CONFIG, "[dns] local_addresses: "
			    "\"%s\" is not an IP address", l->v[i]);
	ctx->nladdr = l->n;
	return 0;
}

/* route_load_interfaces - the addresses of every interface (getifaddrs). */
static int
route_load_interfaces(struct route_ctx *ctx)
{
	struct ifaddrs *all, *i;
	struct route_ifa *f;
	size_t	 n = 0;

	if (getifaddrs(&all) < 0)
		return err_set(EX_OSERR, "getifaddrs: %s", strerror(errno));
	for (i = all; i != NULL; i = i->ifa_next)
		n++;
	if (n > 0 && (ctx->ifa = calloc(n, sizeof(*ctx->ifa))) == NULL) {
		freeifaddrs(all);
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	for (i = all; i != NULL; i = i->ifa_next) {
		f = &ctx->ifa[ctx->nifa];
		if (route_sockaddr_addr(i->ifa_addr, &f->addr) < 0)
			continue;
		if (route_sockaddr_addr(i->ifa_netmask, &f->mask) < 0 ||
		    f->mask.family != f->addr.family)
			memset(f->mask.a, 0xff, sizeof(f->mask.a));
		f->loopback = (i->ifa_flags & IFF_LOOPBACK) != 0;
		snprintf(f->name, sizeof(f->name), "%s",
		    i->ifa_name ? i->ifa_name : "?");
		ctx->nifa++;
	}
	freeifaddrs(all);
	return 0;
}

/* route_open - resolver, DNS cache and this host's addresses, once. */
int
route_open(struct route_ctx **cp, const struct conf *conf)
{
	struct route_ctx *ctx;
	int	 st;

	*cp = NULL;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	ctx->conf = conf;
	ctx->root = ctx;
	pthread_mutex_init(&ctx->lock, NULL);
	if ((st = dns_resolver_open(&ctx->res, conf)) != 0 ||
	    (st = route_load_local_addresses(ctx)) != 0 ||
	    (st = route_load_interfaces(ctx)) != 0) {
		route_close(ctx);
		return st;
	}
	if (conf->spool_dir == NULL || conf->spool_dir[0] == '\0')
		snprintf(ctx->cache_err, sizeof(ctx->cache_err),
		    "no spool_dir");
	else if (dns_cache_open(&ctx->cache, conf->spool_dir) != 0)
		snprintf(ctx->cache_err, sizeof(ctx->cache_err), "%s",
		    err_str());
	*cp = ctx;
	return 0;
}

/* route_close - release everything route_open made. */
void
route_close(struct route_ctx *ctx)
{
	size_t	 i;

	if (ctx == NULL)
		return;
	dns_resolver_close(ctx->res);
	if (ctx->root != ctx && ctx->root != NULL) {
		free(ctx);		/* a clone shares everything else */
		return;
	}
	dns_cache_close(ctx->cache);
	for (i = 0; i < ROUTE_MEMO_SLOTS; i++)
		free(ctx->memo[i].name);
	free(ctx->ifa);
	free(ctx->laddr);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

/* route_clone_new - a context sharing ctx's cache, failure memo and
 * this host's addresses, without a resolver yet. */
static struct route_ctx *
route_clone_new(struct route_ctx *ctx)
{
	struct route_ctx *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->root = ctx->root;
	c->conf = ctx->conf;
	c->cache = ctx->root->cache;
	c->ifa = ctx->root->ifa;
	c->nifa = ctx->root->nifa;
	c->laddr = ctx->root->laddr;
	c->nladdr = ctx->root->nladdr;
	return c;
}

/* route_clone - a context with a resolver of its own that shares the
 * cache, the failure memo and this host's addresses with ctx (for a
 * worker thread; close it before ctx). */
int
route_clone(struct route_ctx *ctx, struct route_ctx **cp)
{
	struct route_ctx *c;
	int	 st;

	if ((*cp = c = route_clone_new(ctx)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	if ((st = dns_resolver_open(&c->res, ctx->conf)) != 0) {
		free(c);
		*cp = NULL;
	}
	return st;
}

/* route_clone_cached - a context that answers from the DNS cache and the
 * failure memo only, never asking DNS (sitemaild's -bv answers: they must
 * not wait); route_cached_misses says whether a question was not cached. */
int
route_clone_cached(struct route_ctx *ctx, struct route_ctx **cp)
{
	if ((*cp = route_clone_new(ctx)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	(*cp)->cache_only = 1;
	return 0;
}

/* route_cached_misses - questions a cache-only context could not answer. */
unsigned
route_cached_misses(const struct route_ctx *ctx)
{
	return ctx->misses;
}

/* route_cache_purge - drop expired DNS cache records. */
int
route_cache_purge(struct route_ctx *ctx)
{
	int	 n;

	if (ctx->cache == NULL)
		return 0;
	pthread_mutex_lock(&ctx->root->lock);
	n = dns_cache_purge(ctx->cache, time(NULL));
	pthread_mutex_unlock(&ctx->root->lock);
	return n;
}

/* route_cache_state - "" when the cache is in use, else why not. */
const char *
route_cache_state(const struct route_ctx *ctx)
{
	return ctx->cache ? "" : ctx->cache_err;
}

/* route_resolver_describe - the resolver in use, for the evidence. */
int
route_resolver_describe(const struct route_ctx *ctx, struct buf *out)
{
	return dns_resolver_describe(ctx->res, out);
}

/* route_memo_find - a remembered recent failure of (name, qtype). */
static const struct route_memo *
route_memo_find(const struct route_ctx *ctx, const char *name, int qtype,
    time_t now)
{
	size_t	 i;

	for (i = 0; i < ROUTE_MEMO_SLOTS; i++) {
		const struct route_memo *m = &ctx->memo[i];

		if (m->name != NULL && m->qtype == qtype &&
		    now - m->at < ROUTE_TEMPFAIL_MEMO && now >= m->at &&
		    strcmp(m->name, name) == 0)
			return m;
	}
	return NULL;
}

/* route_memo_add - remember a temporary failure. */
static void
route_memo_add(struct route_ctx *ctx, const struct dns_answer *ans,
    time_t now)
{
	struct route_memo *m = &ctx->memo[ctx->memo_next];

	free(m->name);
	if ((m->name = strdup(ans->qname)) == NULL)
		return;
	m->qtype = ans->qtype;
	m->at = now;
	snprintf(m->why, sizeof(m->why), "%s", ans->why);
	ctx->memo_next = (ctx->memo_next + 1) % ROUTE_MEMO_SLOTS;
}

/* route_lookup - one question: the cache, a recent failure, or DNS.  The
 * cache and the memo are the root's, used under its lock; the query runs
 * unlocked on this context's own resolver. */
static void
route_lookup(struct route_ctx *ctx, const char *name, int qtype,
    struct dns_answer *ans)
{
	struct route_ctx *root = ctx->root;
	const struct route_memo *m;
	time_t	 now = time(NULL);
	int	 hit;

	pthread_mutex_lock(&root->lock);
	hit = root->cache != NULL &&
	    dns_cache_get(root->cache, name, qtype, now, ans) == 0;
	if (!hit) {
		dns_answer_free(ans);
		if (dns_answer_init(ans, name, qtype) == 0 &&
		    (m = route_memo_find(root, ans->qname, qtype, now)) !=
		    NULL) {
			snprintf(ans->why, sizeof(ans->why), "%s", m->why);
			hit = 1;
		}
	}
	pthread_mutex_unlock(&root->lock);
	if (hit)
		return;
	if (ctx->cache_only) {
		ctx->misses++;
		ans->status = DNS_TEMPFAIL;
		snprintf(ans->why, sizeof(ans->why), "%s: not in the DNS "
		    "cache yet (looked up at delivery)", name);
		return;
	}
	dns_answer_free(ans);
	if (dns_query(ctx->res, name, qtype, ans) != 0) {
		snprintf(ans->why, sizeof(ans->why), "%s", err_str());
		ans->status = DNS_TEMPFAIL;
	}
	pthread_mutex_lock(&root->lock);
	if (ans->status == DNS_TEMPFAIL) {
		if (ans->qname != NULL)
			route_memo_add(root, ans, now);
	} else if (root->cache != NULL &&
	    dns_cache_put(root->cache, ans, now) != 0)
		log_warn("DNS cache: %s", err_str());
	pthread_mutex_unlock(&root->lock);
}

/* route_set - the kind, DSN and one-line reason of a decision. */
static int
route_set(struct route_decision *d, enum route_kind kind, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
route_set(struct route_decision *d, enum route_kind kind, const char *dsn,
    const char *fmt, ...)
{
	va_list	 ap;

	d->kind = kind;
	snprintf(d->dsn, sizeof(d->dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	return 0;
}

/* route_go_local - LOCAL through [local] transport, or DEFER 4.3.5. */
static int
route_go_local(const struct route_ctx *ctx, struct route_decision *d,
    const char *why)
{
	const char *t = ctx->conf->local_transport;

	if (t == NULL || t[0] == '\0')
		return route_set(d, ROUTE_DEFER, "4.3.5", "%s, but no [local] "
		    "transport is configured", why);
	d->transport = t;
	return route_set(d, ROUTE_LOCAL, "", "%s", why);
}

/* route_go_smarthost - SMARTHOST with a reason. */
static int
route_go_smarthost(const struct route_ctx *ctx, struct route_decision *d,
    const char *why)
{
	const char *t = ctx->conf->smarthost_url;

	d->transport = t != NULL && t[0] != '\0' ? t : NULL;
	return route_set(d, ROUTE_SMARTHOST, "", "%s", why);
}

/* route_note_match - record what matched: address (or NULL) and why. */
static void
route_note_match(struct route_decision *d, const char *host,
    const struct dns_addr *a, enum route_match m, const char *detail)
{
	free(d->mx_host);
	d->mx_host = host ? strdup(host) : NULL;
	d->match = m;
	snprintf(d->match_detail, sizeof(d->match_detail), "%s", detail);
	if (a != NULL)
		dns_addr_str(a, d->matched_addr, sizeof(d->matched_addr));
	else
		d->matched_addr[0] = '\0';
}

/* route_literal - user@[1.2.3.4] or user@[IPv6:...]. */
static int
route_literal(struct route_ctx *ctx, const char *dom,
    struct route_decision *d)
{
	struct dns_addr a = { 0 };
	char	 in[INET6_ADDRSTRLEN + 8], detail[64], why[256];
	const char *p = dom + 1;
	size_t	 n = strlen(dom);
	enum route_match m;

	d->literal = 1;
	if ((d->domain = strdup(dom)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	if (n < 3 || dom[n - 1] != ']' || n - 2 >= sizeof(in))
		return route_set(d, ROUTE_BOUNCE, "5.1.3",
		    "bad domain literal %s", dom);
	if (strncasecmp(p, "IPv6:", 5) == 0)
		p += 5;
	memcpy(in, p, (size_t)(dom + n - 1 - p));
	in[dom + n - 1 - p] = '\0';
	if ((p == dom + 1 ? inet_pton(AF_INET, in, a.a) :
	    inet_pton(AF_INET6, in, a.a)) != 1)
		return route_set(d, ROUTE_BOUNCE, "5.1.3",
		    "bad domain literal %s", dom);
	a.family = p == dom + 1 ? AF_INET : AF_INET6;
	a = route_unmap(&a);
	if ((m = route_addr_match(ctx, &a, detail, sizeof(detail))) ==
	    ROUTE_MATCH_NONE) {
		snprintf(why, sizeof(why), "domain literal %s is not this host",
		    dom);
		return route_go_smarthost(ctx, d, why);
	}
	route_note_match(d, dom, &a, m, detail);
	snprintf(why, sizeof(why), "domain literal %s is this host (%s%s)",
	    dom, m == ROUTE_MATCH_INTERFACE ? "interface " : "", detail);
	return route_go_local(ctx, d, why);
}

/* route_domain_check - 0 valid ASCII name, 1 non-ASCII, -1 bad syntax. */
static int
route_domain_check(const char *dom)
{
	size_t	 label = 0, n = strlen(dom);
	const unsigned char *p;
	int	 utf8 = 0;

	if (n == 0 || n > 253 || dom[0] == '.' || dom[n - 1] == '.')
		return -1;
	for (p = (const unsigned char *)dom; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (++label > 63)
			return -1;
		if (*p >= 0x80)
			utf8 = 1;
		else if (!isalnum(*p) && *p != '-' && *p != '_')
			return -1;
	}
	return utf8;
}

/* route_mx_list - the usable MX hosts of an answer, sorted and shuffled. */
static int
route_mx_list(struct route_decision *d, const struct dns_answer *mxq)
{
	struct dns_mx *v;
	size_t	 i, n = 0;

	if ((v = calloc(mxq->n ? mxq->n : 1, sizeof(*v))) == NULL ||
	    (d->mx = calloc(mxq->n ? mxq->n : 1, sizeof(*d->mx))) == NULL) {
		free(v);
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	for (i = 0; i < mxq->n; i++)
		if (strcmp(mxq->mx[i].host, ".") != 0)
			v[n++] = mxq->mx[i];	/* borrowed strings */
	dns_mx_sort(v, n);
	for (i = 0; i < n; i++) {
		d->mx[i].pref = v[i].pref;
		d->mx[i].best = v[i].pref == v[0].pref;
		if ((d->mx[i].host = strdup(v[i].host)) == NULL) {
			free(v);
			return err_set(EX_TEMPFAIL, "out of memory");
		}
		d->nmx = i + 1;
	}
	free(v);
	return 0;
}

/* route_implicit_mx - no MX: the domain itself at preference 0. */
static int
route_implicit_mx(struct route_decision *d)
{
	d->implicit_mx = 1;
	if ((d->mx = calloc(1, sizeof(*d->mx))) == NULL ||
	    (d->mx[0].host = strdup(d->domain)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	d->mx[0].best = 1;
	d->nmx = 1;
	return 0;
}

/* route_in_local_mx - host is named in [dns] local_mx; the entry, or NULL. */
static const char *
route_in_local_mx(const struct route_ctx *ctx, const char *host)
{
	const struct conf_list *l = &ctx->conf->local_mx;
	size_t	 i, n, hn = strlen(host);

	for (i = 0; i < l->n; i++) {
		n = strlen(l->v[i]);
		if (n > 1 && l->v[i][n - 1] == '.')
			n--;
		if (n == hn && strncasecmp(l->v[i], host, n) == 0)
			return l->v[i];
	}
	return NULL;
}

/* route_match_answer - the first address of ans that is this host. */
static int
route_match_answer(const struct route_ctx *ctx, struct route_decision *d,
    const struct route_mx *m, const struct dns_answer *ans)
{
	char	 detail[64];
	enum route_match k;
	size_t	 i;

	if (ans->status != DNS_OK)
		return 0;
	for (i = 0; i < ans->n; i++) {
		k = route_addr_match(ctx, &ans->addr[i], detail, sizeof(detail));
		if (k != ROUTE_MATCH_NONE) {
			route_note_match(d, m->host, &ans->addr[i], k, detail);
			return 1;
		}
	}
	return 0;
}

/* route_resolve_hosts - look up best MX hosts (all, when full); match. */
static void
route_resolve_hosts(struct route_ctx *ctx, struct route_decision *d,
    int full)
{
	const char *entry;
	size_t	 i;

	for (i = 0; i < d->nmx; i++) {
		struct route_mx *m = &d->mx[i];
		int	 matched = d->match != ROUTE_MATCH_NONE;

		if (!m->best && !full)
			continue;
		if ((entry = route_in_local_mx(ctx, m->host)) != NULL) {
			m->local_mx = 1;
			if (m->best && !matched)
				route_note_match(d, m->host, NULL,
				    ROUTE_MATCH_LOCAL_MX, entry);
			if (!full)
				continue;
		}
		if (matched && !full)
			continue;
		route_lookup(ctx, m->host, ns_t_a, &m->a);
		route_lookup(ctx, m->host, ns_t_aaaa, &m->aaaa);
		m->looked_up = 1;
		if (m->best && d->match == ROUTE_MATCH_NONE &&
		    !route_match_answer(ctx, d, m, &m->a))
			(void)route_match_answer(ctx, d, m, &m->aaaa);
	}
}

/* route_account - TTL and cache flags over the answers the decision used. */
static void
route_account(struct route_decision *d)
{
	const struct dns_answer *used[1 + 2 * DNS_RECORDS_MAX];
	size_t	 i, n = 0;
	int	 seen = 0;

	if (d->mxq.qname != NULL)
		used[n++] = &d->mxq;
	for (i = 0; i < d->nmx && n + 2 <= sizeof(used) / sizeof(used[0]); i++)
		if (d->mx[i].best && d->mx[i].looked_up) {
			used[n++] = &d->mx[i].a;
			used[n++] = &d->mx[i].aaaa;
		}
	d->ttl = n ? 0 : -1;
	d->from_cache = n > 0;
	for (i = 0; i < n; i++) {
		if (!used[i]->from_cache)
			d->from_cache = 0;
		if (used[i]->status == DNS_TEMPFAIL)
			continue;
		if (!seen++ || (long)used[i]->ttl < d->ttl)
			d->ttl = (long)used[i]->ttl;
	}
}

/* route_best_failure - the first best MX whose address lookup failed. */
static const struct dns_answer *
route_best_failure(const struct route_decision *d)
{
	size_t	 i;

	for (i = 0; i < d->nmx; i++) {
		const struct route_mx *m = &d->mx[i];

		if (!m->best || !m->looked_up)
			continue;
		if (m->a.status == DNS_TEMPFAIL)
			return &m->a;
		if (m->aaaa.status == DNS_TEMPFAIL)
			return &m->aaaa;
	}
	return NULL;
}

/* route_best_names - "a, b" of the best MX hosts, sorted, into out. */
static void
route_best_names(const struct route_decision *d, char *out, size_t len)
{
	const char *prev = "";
	size_t	 i, off = 0;

	out[0] = '\0';
	for (;;) {		/* selection by name: stable text */
		const char *next = NULL;
		int	 n;

		for (i = 0; i < d->nmx; i++)
			if (d->mx[i].best && strcmp(d->mx[i].host, prev) > 0 &&
			    (next == NULL || strcmp(d->mx[i].host, next) < 0))
				next = d->mx[i].host;
		if (next == NULL)
			return;
		n = snprintf(out + off, len - off, "%s%s", off ? ", " : "",
		    next);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
		prev = next;
	}
}

/* route_conclude - the decision once the MX hosts have been looked at. */
static int
route_conclude(struct route_ctx *ctx, struct route_decision *d)
{
	const struct dns_answer *fail;
	char	 why[ROUTE_REASON_MAX - 64], names[256];
	size_t	 i, naddr = 0;

	route_best_names(d, names, sizeof(names));
	if (d->match == ROUTE_MATCH_LOCAL_MX) {
		snprintf(why, sizeof(why), "%s %s is listed in local_mx",
		    d->implicit_mx ? "domain (no MX)" : "best MX", d->mx_host);
		return route_go_local(ctx, d, why);
	}
	if (d->match != ROUTE_MATCH_NONE) {
		snprintf(why, sizeof(why), "%s %s is this host (%s, %s%s)",
		    d->implicit_mx ? "domain (no MX)" : "best MX", d->mx_host,
		    d->matched_addr, d->match == ROUTE_MATCH_INTERFACE ?
		    "interface " : "", d->match_detail);
		return route_go_local(ctx, d, why);
	}
	if ((fail = route_best_failure(d)) != NULL)
		return route_set(d, ROUTE_DEFER, "4.4.3", "%s lookup for %s %s "
		    "failed: %s", dns_type_name(fail->qtype), d->implicit_mx ?
		    "domain" : "best MX", fail->qname, fail->why);
	for (i = 0; i < d->nmx; i++)
		if (d->mx[i].best)
			naddr += (d->mx[i].a.status == DNS_OK ? d->mx[i].a.n : 0)
			    + (d->mx[i].aaaa.status == DNS_OK ?
			    d->mx[i].aaaa.n : 0);
	if (d->implicit_mx && naddr == 0)
		return route_set(d, ROUTE_BOUNCE, "5.1.2", "domain %s has no "
		    "MX and no A/AAAA records", d->domain);
	if (d->implicit_mx)
		snprintf(why, sizeof(why), "domain %s has no MX and is not "
		    "this host", d->domain);
	else if (naddr == 0)
		snprintf(why, sizeof(why), "best MX %s has no address, so is "
		    "not this host", names);
	else
		snprintf(why, sizeof(why), "best MX %s is not this host",
		    names);
	return route_go_smarthost(ctx, d, why);
}

/* route_domain - route by the DNS answers for a domain name. */
static int
route_domain(struct route_ctx *ctx, const char *dom,
    struct route_decision *d, int full)
{
	int	 st = 0, chk;

	if ((d->domain = dns_name_norm(dom)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	if ((chk = route_domain_check(d->domain)) < 0)
		return route_set(d, ROUTE_BOUNCE, "5.1.3", "bad domain syntax "
		    "in %s", d->domain);
	if (chk > 0)
		return route_go_smarthost(ctx, d, "non-ASCII domain, not "
		    "resolved here: left to the smarthost");
	route_lookup(ctx, d->domain, ns_t_mx, &d->mxq);
	switch (d->mxq.status) {
	case DNS_TEMPFAIL:
		route_account(d);
		return route_set(d, ROUTE_DEFER, "4.4.3", "MX lookup for %s "
		    "failed: %s", d->domain, d->mxq.why);
	case DNS_NXDOMAIN:
		route_account(d);
		return route_set(d, ROUTE_BOUNCE, "5.1.2", "domain %s does not "
		    "exist (NXDOMAIN)", d->domain);
	case DNS_NODATA:
		st = route_implicit_mx(d);
		break;
	case DNS_OK:
		st = route_mx_list(d, &d->mxq);
		break;
	}
	if (st != 0)
		return st;
	if (d->nmx == 0) {
		d->null_mx = 1;
		route_account(d);
		return route_set(d, ROUTE_BOUNCE, "5.1.10", "domain %s accepts "
		    "no mail (null MX, RFC 7505)", d->domain);
	}
	route_resolve_hosts(ctx, d, full);
	route_account(d);
	return route_conclude(ctx, d);
}

/* route_decide - the decision for address; full: look up every MX host. */
int
route_decide(struct route_ctx *ctx, const char *address,
    struct route_decision *d, int full)
{
	const char *at;
	size_t	 n = strlen(address);

	memset(d, 0, sizeof(*d));
	d->ttl = -1;
	if (n >= 2 && address[0] == '<' && address[n - 1] == '>') {
		address++;
		n -= 2;
	}
	if ((d->address = strndup(address, n)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	if (n == 0)
		return route_set(d, ROUTE_BOUNCE, "5.1.3", "empty address");
	if ((at = strrchr(d->address, '@')) == NULL) {
		route_note_match(d, NULL, NULL, ROUTE_MATCH_UNQUALIFIED, "");
		return route_go_local(ctx, d, "unqualified address: a user of "
		    "this host");
	}
	if (at[1] == '\0')
		return route_set(d, ROUTE_BOUNCE, "5.1.3", "no domain after @");
	if (at[1] == '[')
		return route_literal(ctx, at + 1, d);
	return route_domain(ctx, at + 1, d, full);
}

/* route_address - decide where address goes; 0, or a sysexits status. */
int
route_address(struct route_ctx *ctx, const char *address,
    struct route_decision *d)
{
	return route_decide(ctx, address, d, 0);
}

/* route_decision_free - release what a decision holds. */
void
route_decision_free(struct route_decision *d)
{
	size_t	 i;

	for (i = 0; i < d->nmx; i++) {
		free(d->mx[i].host);
		dns_answer_free(&d->mx[i].a);
		dns_answer_free(&d->mx[i].aaaa);
	}
	free(d->mx);
	dns_answer_free(&d->mxq);
	free(d->address);
	free(d->domain);
	free(d->mx_host);
	memset(d, 0, sizeof(*d));
}
