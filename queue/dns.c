/*
 * dns.c - the stub resolver and the answer parser; see dns.h for the
 * rules (CNAME chains, status, TTLs, time bounds).
 *
 * Wire format: queries come from res_nmkquery() with one EDNS0 OPT record
 * appended by hand (root name, type 41, class = UDP payload, TTL 0, no
 * rdata).  Answers are parsed with ns_initparse()/ns_parserr(); names are
 * handled in their presentation form (ns_name_uncompress), lower-cased,
 * without the trailing dot.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "queue/dns.h"
#include "util/msg.h"

#define DNS_ANSWER_MAX	65536

struct dns_resolver {
	struct __res_state rs;
	int	 timeout;		/* seconds per try */
	char	 servers[256];		/* for the evidence */
};

/* dns_type_name - "MX", "A", "AAAA", "TXT" or "TYPEn". */
const char *
dns_type_name(int qtype)
{
	static char other[16];

	switch (qtype) {
	case ns_t_mx:
		return "MX";
	case ns_t_a:
		return "A";
	case ns_t_aaaa:
		return "AAAA";
	case ns_t_cname:
		return "CNAME";
	case ns_t_txt:
		return "TXT";
	}
	snprintf(other, sizeof(other), "TYPE%d", qtype);
	return other;
}

/* dns_status_name - the lower-case name of a status. */
const char *
dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		break;
	}
	return "tempfail";
}

/* dns_name_norm - lower-case copy of name without its trailing dot. */
char *
dns_name_norm(const char *name)
{
	size_t	 n = strlen(name), i;
	char	*s;

	if (n > 1 && name[n - 1] == '.' && (n < 2 || name[n - 2] != '\\'))
		n--;
	if (n == 0)
		return strdup(".");
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)name[i]);
	s[n] = '\0';
	return s;
}

/* dns_addr_str - the printable form of an address into out. */
const char *
dns_addr_str(const struct dns_addr *a, char *out, size_t len)
{
	if (inet_ntop(a->family, a->a, out, (socklen_t)len) == NULL)
		snprintf(out, len, "?");
	return out;
}

/* dns_parse_port - a decimal port 1..65535, or -1. */
static int
dns_parse_port(const char *s)
{
	long	 v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

/* dns_server_parse - "ip", "ip:port", "[ip6]", "[ip6]:port" to a sockaddr. */
int
dns_server_parse(const char *spec, struct sockaddr_storage *ss)
{
	char	 host[INET6_ADDRSTRLEN + 1];
	const char *p, *port = NULL;
	size_t	 hlen;
	int	 pnum = NS_DEFAULTPORT;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		if ((p = strchr(spec, ']')) == NULL)
			return err_set(EX_CONFIG, "bad DNS server \"%s\": "
			    "no closing ]", spec);
		hlen = (size_t)(p - spec - 1);
		spec++;
		if (p[1] == ':')
			port = p + 2;
		else if (p[1] != '\0')
			return err_set(EX_CONFIG, "bad DNS server \"%s\"",
			    spec - 1);
	} else if ((p = strchr(spec, ':')) != NULL && strchr(p + 1, ':') == NULL) {
		hlen = (size_t)(p - spec);
		port = p + 1;
	} else
		hlen = strlen(spec);
	if (hlen == 0 || hlen >= sizeof(host))
		return err_set(EX_CONFIG, "bad DNS server address \"%s\"", spec);
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (port != NULL && (pnum = dns_parse_port(port)) < 0)
		return err_set(EX_CONFIG, "bad DNS server port in \"%s\"", spec);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)pnum);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)pnum);
		return 0;
	}
	return err_set(EX_CONFIG, "bad DNS server address \"%s\"", host);
}

/* dns_answer_init - an empty answer for (qname, qtype). */
int
dns_answer_init(struct dns_answer *ans, const char *qname, int qtype)
{
	memset(ans, 0, sizeof(*ans));
	ans->qtype = qtype;
	ans->status = DNS_TEMPFAIL;
	ans->rcode = -1;
	if ((ans->qname = dns_name_norm(qname)) == NULL)
		return -1;
	return 0;
}

/* dns_answer_clear - drop the parsed data, keeping qname and qtype. */
static void
dns_answer_clear(struct dns_answer *ans)
{
	size_t	 i;

	for (i = 0; ans->mx != NULL && i < ans->n; i++)
		free(ans->mx[i].host);
	for (i = 0; ans->txt != NULL && i < ans->n; i++)
		free(ans->txt[i]);
	free(ans->txt);
	ans->txt = NULL;
	free(ans->mx);
	free(ans->addr);
	free(ans->cname);
	ans->mx = NULL;
	ans->addr = NULL;
	ans->cname = NULL;
	ans->n = 0;
}

/* dns_answer_reset - back to an unanswered question (qname, qtype kept). */
void
dns_answer_reset(struct dns_answer *ans)
{
	dns_answer_clear(ans);
	ans->status = DNS_TEMPFAIL;
	ans->rcode = -1;
	ans->ttl = 0;
	ans->from_cache = ans->truncated = ans->has_soa = 0;
	ans->why[0] = '\0';
}

/* dns_answer_free - release what an answer holds. */
void
dns_answer_free(struct dns_answer *ans)
{
	dns_answer_clear(ans);
	free(ans->qname);
	ans->qname = NULL;
}

/* dns_why - make ans a temporary failure with a reason; returns -1. */
static int
dns_why(struct dns_answer *ans, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
dns_why(struct dns_answer *ans, const char *fmt, ...)
{
	va_list	 ap;

	dns_answer_clear(ans);
	ans->status = DNS_TEMPFAIL;
	ans->ttl = 0;
	va_start(ap, fmt);
	vsnprintf(ans->why, sizeof(ans->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* dns_same_name - case-insensitive equality of presentation names. */
static int
dns_same_name(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	if (la == 0 || (la == 1 && a[0] == '.'))
		return lb == 0 || (lb == 1 && b[0] == '.');
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* dns_rdata_name - uncompress the name at rdata+off, which must fit. */
static int
dns_rdata_name(const ns_msg *msg, const ns_rr *rr, size_t off, char *out,
    size_t len)
{
	int	 n;

	if (off >= rr->rdlength)
		return -1;
	n = ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg),
	    rr->rdata + off, out, len);
	if (n < 0 || (size_t)n > rr->rdlength - off)
		return -1;
	return 0;
}

/* dns_rcode_name - a name for an rcode in reasons. */
static const char *
dns_rcode_name(int rcode)
{
	static const char *names[] = { "NOERROR", "FORMERR", "SERVFAIL",
	    "NXDOMAIN", "NOTIMP", "REFUSED" };

	return rcode >= 0 && rcode < 6 ? names[rcode] : "error rcode";
}

/* dns_follow_chain - the end of the CNAME chain from qname; -1 if too long. */
static int
dns_follow_chain(ns_msg *msg, const char *qname, char *cur, size_t len,
    uint32_t *ttl)
{
	ns_rr	 rr;
	int	 i, hops, found, n = ns_msg_count(*msg, ns_s_an);

	snprintf(cur, len, "%s", qname);
	for (hops = 0; hops <= DNS_CNAME_MAX; hops++) {
		found = 0;
		for (i = 0; i < n && !found; i++) {
			if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
				return -1;
			if (rr.type != ns_t_cname || rr.rr_class != ns_c_in ||
			    !dns_same_name(rr.name, cur))
				continue;
			if (dns_rdata_name(msg, &rr, 0, cur, len) < 0)
				return -1;
			if (rr.ttl < *ttl)
				*ttl = rr.ttl;
			found = 1;
		}
		if (!found)
			return 0;
	}
	return -1;
}

/* dns_add_mx - append one MX record. */
static int
dns_add_mx(struct dns_answer *ans, unsigned pref, const char *host)
{
	struct dns_mx *v;

	if (ans->n >= DNS_RECORDS_MAX)
		return 0;
	if ((v = realloc(ans->mx, (ans->n + 1) * sizeof(*v))) == NULL)
		return -1;
	ans->mx = v;
	v[ans->n].pref = pref;
	if ((v[ans->n].host = dns_name_norm(host)) == NULL)
		return -1;
	ans->n++;
	return 0;
}

/* dns_add_addr - append one address record. */
static int
dns_add_addr(struct dns_answer *ans, int family, const unsigned char *a,
    size_t len)
{
	struct dns_addr *v;

	if (ans->n >= DNS_RECORDS_MAX)
		return 0;
	if ((v = realloc(ans->addr, (ans->n + 1) * sizeof(*v))) == NULL)
		return -1;
	ans->addr = v;
	memset(&v[ans->n], 0, sizeof(v[ans->n]));
	v[ans->n].family = family;
	memcpy(v[ans->n].a, a, len);
	ans->n++;
	return 0;
}

/* dns_add_txt - append one TXT record, its character-strings joined. */
static int
dns_add_txt(struct dns_answer *ans, const unsigned char *p, size_t len)
{
	char	**v, *t;
	size_t	 i = 0, n = 0, k;

	if (ans->n >= DNS_RECORDS_MAX)
		return 0;
	if ((t = malloc(len + 1)) == NULL)
		return -2;
	while (i < len) {
		k = p[i++];
		if (k > len - i) {
			free(t);
			return -1;
		}
		memcpy(t + n, p + i, k);
		n += k;
		i += k;
	}
	t[n] = '\0';
	if ((v = realloc(ans->txt, (ans->n + 1) * sizeof(*v))) == NULL) {
		free(t);
		return -2;
	}
	ans->txt = v;
	v[ans->n++] = t;
	return 0;
}

/* dns_take_record - add rr (owned by the chain's end) to ans; -1 if bad. */
static int
dns_take_record(ns_msg *msg, const ns_rr *rr, struct dns_answer *ans)
{
	char	 host[NS_MAXDNAME];

	switch (ans->qtype) {
	case ns_t_mx:
		if (rr->rdlength < 3 || dns_rdata_name(msg, rr, 2, host,
		    sizeof(host)) < 0)
			return -1;
		return dns_add_mx(ans, ns_get16(rr->rdata), host) < 0 ? -2 : 0;
	case ns_t_a:
		if (rr->rdlength != 4)
			return -1;
		return dns_add_addr(ans, AF_INET, rr->rdata, 4) < 0 ? -2 : 0;
	case ns_t_aaaa:
		if (rr->rdlength != 16)
			return -1;
		return dns_add_addr(ans, AF_INET6, rr->rdata, 16) < 0 ? -2 : 0;
	case ns_t_txt:
		return dns_add_txt(ans, rr->rdata, rr->rdlength);
	}
	return -1;
}

/* dns_collect - the records of qtype owned by owner; -1 bad, -2 memory. */
static int
dns_collect(ns_msg *msg, const char *owner, struct dns_answer *ans,
    uint32_t *ttl)
{
	ns_rr	 rr;
	int	 i, r, n = ns_msg_count(*msg, ns_s_an);

	for (i = 0; i < n; i++) {
		if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
			return -1;
		if (rr.type != ans->qtype || rr.rr_class != ns_c_in ||
		    !dns_same_name(rr.name, owner))
			continue;
		if ((r = dns_take_record(msg, &rr, ans)) < 0)
			return r;
		if (rr.ttl < *ttl)
			*ttl = rr.ttl;
	}
	return 0;
}

/* dns_negative_ttl - min(SOA TTL, SOA minimum) from authority, capped. */
static uint32_t
dns_negative_ttl(ns_msg *msg, int *has_soa)
{
	ns_rr	 rr;
	char	 name[NS_MAXDNAME];
	const unsigned char *p, *end;
	uint32_t ttl, min;
	int	 i, n, l;

	*has_soa = 0;
	n = ns_msg_count(*msg, ns_s_ns);
	for (i = 0; i < n; i++) {
		if (ns_parserr(msg, ns_s_ns, i, &rr) < 0 || rr.type != ns_t_soa)
			continue;
		p = rr.rdata;
		end = rr.rdata + rr.rdlength;
		for (l = 0; l < 2; l++) {	/* MNAME, RNAME */
			int c = ns_name_uncompress(ns_msg_base(*msg),
			    ns_msg_end(*msg), p, name, sizeof(name));
			if (c < 0 || c > end - p)
				return DNS_NEG_TTL_DEFAULT;
			p += c;
		}
		if (end - p < 20)
			return DNS_NEG_TTL_DEFAULT;
		min = (uint32_t)ns_get32(p + 16);
		ttl = rr.ttl < min ? rr.ttl : min;
		*has_soa = 1;
		return ttl > DNS_NEG_TTL_MAX ? DNS_NEG_TTL_MAX : ttl;
	}
	return DNS_NEG_TTL_DEFAULT;
}

/* dns_check_question - the packet is a response to (qname, qtype). */
static int
dns_check_question(ns_msg *msg, const struct dns_answer *ans)
{
	ns_rr	 rr;

	if (!ns_msg_getflag(*msg, ns_f_qr))
		return -1;
	if (ns_msg_count(*msg, ns_s_qd) != 1 ||
	    ns_parserr(msg, ns_s_qd, 0, &rr) < 0)
		return -1;
	if (rr.type != ans->qtype || rr.rr_class != ns_c_in ||
	    !dns_same_name(rr.name, ans->qname))
		return -1;
	return 0;
}

/* dns_parse_msg - dns_parse on an initialised ns_msg; -1 sets ans->why. */
static int
dns_parse_msg(ns_msg *msg, struct dns_answer *ans)
{
	char	 end[NS_MAXDNAME];
	uint32_t ttl = UINT32_MAX, neg;
	int	 r;

	if (dns_check_question(msg, ans) < 0)
		return dns_why(ans, "answer does not match the question");
	if (ans->rcode != ns_r_noerror && ans->rcode != ns_r_nxdomain)
		return dns_why(ans, "server answered %s",
		    dns_rcode_name(ans->rcode));
	if (dns_follow_chain(msg, ans->qname, end, sizeof(end), &ttl) < 0)
		return dns_why(ans, "CNAME chain too long or malformed");
	if (!dns_same_name(end, ans->qname) &&
	    (ans->cname = dns_name_norm(end)) == NULL)
		return dns_why(ans, "out of memory");
	if (ans->rcode == ns_r_noerror &&
	    (r = dns_collect(msg, end, ans, &ttl)) < 0)
		return dns_why(ans, r == -2 ? "out of memory" :
		    "malformed %s record", dns_type_name(ans->qtype));
	if (ans->n > 0) {
		ans->status = DNS_OK;
		ans->ttl = ttl > DNS_TTL_MAX ? DNS_TTL_MAX : ttl;
		return 0;
	}
	if (ans->truncated)
		return dns_why(ans, "truncated answer without records");
	ans->status = ans->rcode == ns_r_nxdomain ? DNS_NXDOMAIN : DNS_NODATA;
	neg = dns_negative_ttl(msg, &ans->has_soa);
	ans->ttl = neg < ttl ? neg : ttl;
	return 0;
}

/* dns_parse - parse an answer packet to ans (set up by dns_answer_init). */
void
dns_parse(const unsigned char *pkt, size_t len, struct dns_answer *ans)
{
	ns_msg	 msg;

	dns_answer_clear(ans);
	ans->status = DNS_TEMPFAIL;
	ans->ttl = 0;
	ans->has_soa = ans->truncated = 0;
	ans->why[0] = '\0';
	if (ans->qname == NULL) {
		dns_why(ans, "no question");
		return;
	}
	if (len < NS_HFIXEDSZ || len > INT_MAX) {
		dns_why(ans, "malformed answer (%zu bytes)", len);
		return;
	}
	ans->rcode = pkt[3] & 0x0f;
	ans->truncated = (pkt[2] & 0x02) != 0;
	if (ns_initparse(pkt, (int)len, &msg) < 0)
		dns_why(ans, "%s answer", ans->truncated ? "truncated" :
		    "malformed");
	else
		(void)dns_parse_msg(&msg, ans);
}

/* dns_mx_cmp - order MX records by preference, then name. */
static int
dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcmp(x->host, y->host);
}

/* dns_mx_sort - by preference, then randomly among equal preferences. */
void
dns_mx_sort(struct dns_mx *mx, size_t n)
{
	size_t	 lo, hi, i, j;
	struct dns_mx t;

	if (n < 2)
		return;
	qsort(mx, n, sizeof(*mx), dns_mx_cmp);
	for (lo = 0; lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && mx[hi].pref == mx[lo].pref; hi++)
			;
		for (i = hi - 1; i > lo; i--) {
			j = lo + arc4random_uniform((uint32_t)(i - lo + 1));
			t = mx[i];
			mx[i] = mx[j];
			mx[j] = t;
		}
	}
}

/* dns_set_servers - replace the resolv.conf servers with [dns] servers. */
static int
dns_set_servers(struct dns_resolver *r, const struct conf_list *list)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6;
	size_t	 i;
	int	 st;

	if (list->n > MAXNS)
		return err_set(EX_CONFIG, "[dns] servers: at most %d servers",
		    MAXNS);
	for (i = 0; i < list->n; i++)
		if ((st = dns_server_parse(list->v[i], &ss)) != 0)
			return st;
	for (i = 0; i < MAXNS; i++) {
		free(r->rs._u._ext.nsaddrs[i]);
		r->rs._u._ext.nsaddrs[i] = NULL;
		memset(&r->rs.nsaddr_list[i], 0, sizeof(r->rs.nsaddr_list[i]));
	}
	r->rs._u._ext.nscount = 0;
	for (i = 0; i < list->n; i++) {
		(void)dns_server_parse(list->v[i], &ss);
		if (ss.ss_family == AF_INET) {
			memcpy(&r->rs.nsaddr_list[i], &ss,
			    sizeof(struct sockaddr_in));
			continue;
		}
		/* IPv6: glibc reads _u._ext.nsaddrs[i] when sin_family is 0. */
		if ((s6 = malloc(sizeof(*s6))) == NULL)
			return err_set(EX_TEMPFAIL, "out of memory");
		memcpy(s6, &ss, sizeof(*s6));
		r->rs._u._ext.nsaddrs[i] = s6;
		r->rs.nsaddr_list[i].sin_family = 0;
	}
	r->rs.nscount = (int)list->n;
	return 0;
}

/* dns_describe_servers - "ip:port, ..." of the servers in use. */
static void
dns_describe_servers(struct dns_resolver *r)
{
	char	 a[INET6_ADDRSTRLEN];
	size_t	 off = 0;
	int	 i;

	r->servers[0] = '\0';
	for (i = 0; i < r->rs.nscount && i < MAXNS; i++) {
		const struct sockaddr_in6 *s6 = r->rs._u._ext.nsaddrs[i];
		const struct sockaddr_in *s4 = &r->rs.nsaddr_list[i];
		int	 n;

		if (s4->sin_family == AF_INET)
			n = snprintf(r->servers + off, sizeof(r->servers) - off,
			    "%s%s:%u", i ? ", " : "", inet_ntop(AF_INET,
			    &s4->sin_addr, a, sizeof(a)), ntohs(s4->sin_port));
		else if (s6 != NULL)
			n = snprintf(r->servers + off, sizeof(r->servers) - off,
			    "%s[%s]:%u", i ? ", " : "", inet_ntop(AF_INET6,
			    &s6->sin6_addr, a, sizeof(a)), ntohs(s6->sin6_port));
		else
			continue;
		if (n < 0 || (size_t)n >= sizeof(r->servers) - off)
			break;
		off += (size_t)n;
	}
}

/* dns_resolver_open - res_ninit, then servers and timeout from conf. */
int
dns_resolver_open(struct dns_resolver **rp, const struct conf *conf)
{
	struct dns_resolver *r;
	int	 st;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	if (res_ninit(&r->rs) < 0) {
		free(r);
		return err_set(EX_TEMPFAIL, "cannot initialise the resolver");
	}
	if (conf->dns_servers.n > 0 &&
	    (st = dns_set_servers(r, &conf->dns_servers)) != 0) {
		res_nclose(&r->rs);
		free(r);
		return st;
	}
	r->timeout = conf->dns_timeout < 1 ? 1 :
	    conf->dns_timeout > 60 ? 60 : (int)conf->dns_timeout;
	r->rs.retrans = r->timeout;
	r->rs.retry = DNS_TRIES;
	r->rs.options |= RES_IGNTC;
	r->rs.options &= ~(unsigned long)(RES_USEVC | RES_DNSRCH | RES_DEFNAMES);
	dns_describe_servers(r);
	*rp = r;
	return 0;
}

/* dns_resolver_close - res_nclose and free. */
void
dns_resolver_close(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	res_nclose(&r->rs);
	free(r);
}

/* dns_resolver_describe - the servers in use, for the evidence. */
int
dns_resolver_describe(const struct dns_resolver *r, struct buf *out)
{
	return buf_printf(out, "%s, timeout %ds, %d tries",
	    r->servers[0] ? r->servers : "(none)", r->timeout, DNS_TRIES);
}

/* dns_ask - one question to the servers, parsed into ans. */
static void
dns_ask(struct dns_resolver *r, int edns, struct dns_answer *ans)
{
	static const unsigned char opt[11] = { 0, 0, 41,
	    DNS_EDNS_PAYLOAD >> 8, DNS_EDNS_PAYLOAD & 0xff };
	unsigned char q[NS_PACKETSZ + sizeof(opt)], *a;
	struct timespec t0, t1;
	long	 ms;
	int	 qlen, n, err;

	qlen = res_nmkquery(&r->rs, ns_o_query, ans->qname, ns_c_in,
	    ans->qtype, NULL, 0, NULL, q, NS_PACKETSZ);
	if (qlen < NS_HFIXEDSZ) {
		dns_why(ans, "cannot make a query for \"%s\"", ans->qname);
		return;
	}
	if (edns) {		/* OPT: root, type 41, payload, TTL 0, rdlen 0 */
		memcpy(q + qlen, opt, sizeof(opt));
		qlen += (int)sizeof(opt);
		q[11] = 1;	/* ARCOUNT = 1 */
	}
	if ((a = malloc(DNS_ANSWER_MAX)) == NULL) {
		dns_why(ans, "out of memory");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	n = res_nsend(&r->rs, q, qlen, a, DNS_ANSWER_MAX);
	err = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (n < 0)	/* glibc hides SERVFAIL/REFUSED; no wait means no timeout */
		dns_why(ans, "no usable answer from %s: %s",
		    r->servers[0] ? r->servers : "the DNS servers",
		    err == ECONNREFUSED ? "connection refused" :
		    ms < r->timeout * 1000L ? "server failure (SERVFAIL, "
		    "REFUSED or NOTIMP)" : "timed out");
	else
		dns_parse(a, (size_t)n, ans);
	free(a);
}

/* dns_merge - fold the answer for the end of a chain into ans. */
static void
dns_merge(struct dns_answer *ans, struct dns_answer *next)
{
	uint32_t ttl = ans->ttl;

	if (next->cname == NULL) {	/* the chain ended at next's name */
		next->cname = ans->cname;
		ans->cname = NULL;
	}
	dns_answer_clear(ans);
	ans->status = next->status;
	ans->rcode = next->rcode;
	ans->truncated = next->truncated;
	ans->has_soa = next->has_soa;
	ans->cname = next->cname;
	ans->mx = next->mx;
	ans->addr = next->addr;
	ans->txt = next->txt;
	ans->n = next->n;
	memcpy(ans->why, next->why, sizeof(ans->why));
	ans->ttl = next->status == DNS_TEMPFAIL ? 0 :
	    next->ttl < ttl ? next->ttl : ttl;
	next->cname = NULL;
	next->mx = NULL;
	next->addr = NULL;
	next->txt = NULL;
	next->n = 0;
}

/* dns_query - ask the servers (qname, qtype), following CNAMEs. */
int
dns_query(struct dns_resolver *r, const char *qname, int qtype,
    struct dns_answer *ans)
{
	struct dns_answer next;
	int	 hops, moved;

	if (dns_answer_init(ans, qname, qtype) < 0)
		return err_set(EX_TEMPFAIL, "out of memory");
	dns_ask(r, 1, ans);
	if (ans->status == DNS_TEMPFAIL && ans->rcode == ns_r_formerr)
		dns_ask(r, 0, ans);	/* a server that cannot EDNS0 */
	/* A server gave a chain without its end and no SOA: ask the end. */
	for (hops = 0; ans->status == DNS_NODATA && ans->cname != NULL &&
	    !ans->has_soa && hops < DNS_CNAME_MAX; hops++) {
		if (dns_answer_init(&next, ans->cname, qtype) < 0)
			return err_set(EX_TEMPFAIL, "out of memory");
		dns_ask(r, 1, &next);
		moved = next.cname != NULL;
		dns_merge(ans, &next);
		dns_answer_free(&next);
		if (!moved)
			break;
	}
	return 0;
}
