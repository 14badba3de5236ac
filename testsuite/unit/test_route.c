/*
 * test_route.c - the pure parts of routing: DNS answer parsing from
 * wire-format packets built here, the [dns] servers syntax, MX ordering,
 * the dns.tdb record format and cache, and decisions that need no DNS
 * (unqualified addresses, domain literals, syntax errors, JSON escaping).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/dns.h"
#include "queue/route.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/msg.h"
#include "testsuite/unit/tap.h"

/* A packet under construction. */
struct pkt {
	unsigned char b[4096];
	size_t	 n;
};

#define F_QR	0x8000
#define F_TC	0x0200
#define F_RD	0x0100
#define F_RA	0x0080

/* p_u16 - append a 16-bit big-endian value. */
static void
p_u16(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (unsigned char)(v >> 8);
	p->b[p->n++] = (unsigned char)v;
}

/* p_u32 - append a 32-bit big-endian value. */
static void
p_u32(struct pkt *p, unsigned long v)
{
	p_u16(p, (unsigned)(v >> 16) & 0xffff);
	p_u16(p, (unsigned)v & 0xffff);
}

/* p_name - append a name as uncompressed labels ("" or "." is the root). */
static void
p_name(struct pkt *p, const char *name)
{
	const char *dot;
	size_t	 l;

	while (*name && strcmp(name, ".") != 0) {
		dot = strchr(name, '.');
		l = dot ? (size_t)(dot - name) : strlen(name);
		p->b[p->n++] = (unsigned char)l;
		memcpy(p->b + p->n, name, l);
		p->n += l;
		name += l + (dot != NULL);
	}
	p->b[p->n++] = 0;
}

/* p_head - header and the question. */
static void
p_head(struct pkt *p, unsigned flags, int rcode, const char *qname,
    int qtype, int an, int ns, int ar)
{
	p->n = 0;
	p_u16(p, 0x1234);
	p_u16(p, flags | F_QR | F_RD | F_RA | (unsigned)rcode);
	p_u16(p, 1);
	p_u16(p, (unsigned)an);
	p_u16(p, (unsigned)ns);
	p_u16(p, (unsigned)ar);
	p_name(p, qname);
	p_u16(p, (unsigned)qtype);
	p_u16(p, ns_c_in);
}

/* p_rr_start - owner, type, class, TTL; returns where rdlength goes. */
static size_t
p_rr_start(struct pkt *p, const char *owner, int type, unsigned long ttl)
{
	size_t	 at;

	p_name(p, owner);
	p_u16(p, (unsigned)type);
	p_u16(p, ns_c_in);
	p_u32(p, ttl);
	at = p->n;
	p_u16(p, 0);
	return at;
}

/* p_rr_end - fill in rdlength. */
static void
p_rr_end(struct pkt *p, size_t at)
{
	size_t	 len = p->n - at - 2;

	p->b[at] = (unsigned char)(len >> 8);
	p->b[at + 1] = (unsigned char)len;
}

/* p_mx - one MX record. */
static void
p_mx(struct pkt *p, const char *owner, unsigned long ttl, unsigned pref,
    const char *host)
{
	size_t	 at = p_rr_start(p, owner, ns_t_mx, ttl);

	p_u16(p, pref);
	p_name(p, host);
	p_rr_end(p, at);
}

/* p_cname - one CNAME record. */
static void
p_cname(struct pkt *p, const char *owner, unsigned long ttl, const char *to)
{
	size_t	 at = p_rr_start(p, owner, ns_t_cname, ttl);

	p_name(p, to);
	p_rr_end(p, at);
}

/* p_addr - one A or AAAA record. */
static void
p_addr(struct pkt *p, const char *owner, unsigned long ttl, const char *ip)
{
	unsigned char a[16];
	int	 v6 = strchr(ip, ':') != NULL;
	size_t	 at = p_rr_start(p, owner, v6 ? ns_t_aaaa : ns_t_a, ttl);

	inet_pton(v6 ? AF_INET6 : AF_INET, ip, a);
	memcpy(p->b + p->n, a, v6 ? 16 : 4);
	p->n += v6 ? 16 : 4;
	p_rr_end(p, at);
}

/* p_soa - one SOA record with the given minimum. */
static void
p_soa(struct pkt *p, const char *owner, unsigned long ttl, unsigned long min)
{
	size_t	 at = p_rr_start(p, owner, ns_t_soa, ttl);

	p_name(p, "ns.test");
	p_name(p, "hostmaster.test");
	p_u32(p, 1);
	p_u32(p, 3600);
	p_u32(p, 600);
	p_u32(p, 86400);
	p_u32(p, min);
	p_rr_end(p, at);
}

/* parse - dns_parse of p as the answer to (qname, qtype). */
static void
parse(const struct pkt *p, const char *qname, int qtype,
    struct dns_answer *ans)
{
	dns_answer_init(ans, qname, qtype);
	dns_parse(p->b, p->n, ans);
}

/* test_parse_mx - MX answers, compression, null MX, case. */
static void
test_parse_mx(void)
{
	struct pkt p;
	struct dns_answer a;

	p_head(&p, 0, 0, "Shop.Test", ns_t_mx, 3, 0, 0);
	p_mx(&p, "shop.test", 300, 20, "MX2.Outside.TEST");
	p_mx(&p, "SHOP.test", 120, 10, "mx1.outside.test");
	p_mx(&p, "other.test", 5, 5, "not.mine.test");
	parse(&p, "shop.test.", ns_t_mx, &a);
	is_int(a.status, DNS_OK, "MX: ok");
	is_int(a.n, 2, "MX: two records of the owner, the other ignored");
	is_str(a.mx[0].host, "mx2.outside.test", "MX: host lower-cased");
	is_int(a.mx[0].pref, 20, "MX: preference");
	is_int(a.ttl, 120, "MX: ttl is the minimum");
	ok(a.cname == NULL, "MX: no cname");
	dns_answer_free(&a);

	/* compressed MX target pointing into the question name */
	p_head(&p, 0, 0, "c.test", ns_t_mx, 1, 0, 0);
	{
		size_t	 at = p_rr_start(&p, "c.test", ns_t_mx, 60);

		p_u16(&p, 5);
		p.b[p.n++] = 2;
		memcpy(p.b + p.n, "mx", 2);
		p.n += 2;
		p.b[p.n++] = 0xc0;
		p.b[p.n++] = 12;	/* -> "c.test" */
		p_rr_end(&p, at);
	}
	parse(&p, "c.test", ns_t_mx, &a);
	is_int(a.status, DNS_OK, "compressed MX: ok");
	is_str(a.n ? a.mx[0].host : "", "mx.c.test", "compressed MX: host");
	dns_answer_free(&a);

	p_head(&p, 0, 0, "nullmx.test", ns_t_mx, 1, 0, 0);
	p_mx(&p, "nullmx.test", 300, 0, ".");
	parse(&p, "nullmx.test", ns_t_mx, &a);
	is_int(a.status, DNS_OK, "null MX: ok");
	is_str(a.n ? a.mx[0].host : "", ".", "null MX: root target");
	dns_answer_free(&a);

	/* MX rdata too short */
	p_head(&p, 0, 0, "bad.test", ns_t_mx, 1, 0, 0);
	{
		size_t	 at = p_rr_start(&p, "bad.test", ns_t_mx, 60);

		p_u16(&p, 5);
		p_rr_end(&p, at);
	}
	parse(&p, "bad.test", ns_t_mx, &a);
	is_int(a.status, DNS_TEMPFAIL, "short MX rdata: tempfail");
	dns_answer_free(&a);
}

/* test_parse_cname - chains, loops, NXDOMAIN at the end. */
static void
test_parse_cname(void)
{
	struct pkt p;
	struct dns_answer a;
	char	 s[INET6_ADDRSTRLEN];

	p_head(&p, 0, 0, "alias.test", ns_t_a, 3, 0, 0);
	p_addr(&p, "real.test", 50, "198.51.100.7");
	p_cname(&p, "mid.test", 200, "real.test");
	p_cname(&p, "alias.test", 100, "Mid.Test");
	parse(&p, "alias.test", ns_t_a, &a);
	is_int(a.status, DNS_OK, "CNAME chain: ok");
	is_str(a.cname, "real.test", "CNAME chain: end of the chain");
	is_int(a.n, 1, "CNAME chain: one address");
	is_str(a.n ? dns_addr_str(&a.addr[0], s, sizeof(s)) : "",
	    "198.51.100.7", "CNAME chain: address");
	is_int(a.ttl, 50, "CNAME chain: ttl over chain and data");
	dns_answer_free(&a);

	p_head(&p, 0, 0, "loop.test", ns_t_a, 2, 0, 0);
	p_cname(&p, "loop.test", 100, "pool.test");
	p_cname(&p, "pool.test", 100, "loop.test");
	parse(&p, "loop.test", ns_t_a, &a);
	is_int(a.status, DNS_TEMPFAIL, "CNAME loop: tempfail");
	ok(strstr(a.why, "CNAME") != NULL, "CNAME loop: reason");
	dns_answer_free(&a);

	p_head(&p, 0, ns_r_nxdomain, "dangle.test", ns_t_a, 1, 1, 0);
	p_cname(&p, "dangle.test", 100, "gone.test");
	p_soa(&p, "test", 900, 60);
	parse(&p, "dangle.test", ns_t_a, &a);
	is_int(a.status, DNS_NXDOMAIN, "CNAME to nothing: nxdomain");
	is_str(a.cname, "gone.test", "CNAME to nothing: cname kept");
	is_int(a.ttl, 60, "CNAME to nothing: SOA minimum");
	ok(a.has_soa, "CNAME to nothing: has SOA");
	dns_answer_free(&a);

	/* chain without its end and no SOA: NODATA, for dns_query to chase */
	p_head(&p, 0, 0, "half.test", ns_t_aaaa, 1, 0, 0);
	p_cname(&p, "half.test", 100, "end.test");
	parse(&p, "half.test", ns_t_aaaa, &a);
	is_int(a.status, DNS_NODATA, "open chain: nodata");
	ok(!a.has_soa && a.cname != NULL, "open chain: no SOA, cname set");
	dns_answer_free(&a);
}

/* test_parse_negative - NXDOMAIN, NODATA and their TTLs. */
static void
test_parse_negative(void)
{
	struct pkt p;
	struct dns_answer a;

	p_head(&p, 0, ns_r_nxdomain, "missing.test", ns_t_mx, 0, 1, 0);
	p_soa(&p, "test", 120, 7200);
	parse(&p, "missing.test", ns_t_mx, &a);
	is_int(a.status, DNS_NXDOMAIN, "NXDOMAIN");
	is_int(a.ttl, 120, "NXDOMAIN: min(SOA ttl, minimum)");
	dns_answer_free(&a);

	p_head(&p, 0, ns_r_nxdomain, "missing.test", ns_t_mx, 0, 1, 0);
	p_soa(&p, "test", 86400, 86400);
	parse(&p, "missing.test", ns_t_mx, &a);
	is_int(a.ttl, DNS_NEG_TTL_MAX, "NXDOMAIN: negative TTL capped");
	dns_answer_free(&a);

	p_head(&p, 0, ns_r_nxdomain, "missing.test", ns_t_mx, 0, 0, 0);
	parse(&p, "missing.test", ns_t_mx, &a);
	is_int(a.ttl, DNS_NEG_TTL_DEFAULT, "NXDOMAIN without SOA: default");
	ok(!a.has_soa, "NXDOMAIN without SOA: has_soa 0");
	dns_answer_free(&a);

	p_head(&p, 0, 0, "aonly.test", ns_t_mx, 1, 1, 0);
	p_addr(&p, "aonly.test", 300, "203.0.113.40");
	p_soa(&p, "test", 30, 600);
	parse(&p, "aonly.test", ns_t_mx, &a);
	is_int(a.status, DNS_NODATA, "NODATA: other types only");
	is_int(a.ttl, 30, "NODATA: SOA ttl");
	dns_answer_free(&a);
}

/* test_parse_errors - rcodes, mismatches, truncation, garbage. */
static void
test_parse_errors(void)
{
	struct pkt p;
	struct dns_answer a;
	int	 rc;
	size_t	 len;
	static const int bad[] = { ns_r_formerr, ns_r_servfail, ns_r_notimpl,
	    ns_r_refused, 9 };

	for (rc = 0; rc < (int)(sizeof(bad) / sizeof(bad[0])); rc++) {
		p_head(&p, 0, bad[rc], "x.test", ns_t_mx, 0, 0, 0);
		parse(&p, "x.test", ns_t_mx, &a);
		is_int(a.status, DNS_TEMPFAIL, "error rcode: tempfail");
		is_int(a.rcode, bad[rc], "error rcode: kept");
		dns_answer_free(&a);
	}
	p_head(&p, 0, 0, "x.test", ns_t_mx, 0, 0, 0);
	parse(&p, "y.test", ns_t_mx, &a);
	is_int(a.status, DNS_TEMPFAIL, "other question name: tempfail");
	dns_answer_free(&a);
	parse(&p, "x.test", ns_t_a, &a);
	is_int(a.status, DNS_TEMPFAIL, "other question type: tempfail");
	dns_answer_free(&a);
	p.b[2] &= 0x7f;		/* not a response */
	parse(&p, "x.test", ns_t_mx, &a);
	is_int(a.status, DNS_TEMPFAIL, "QR clear: tempfail");
	dns_answer_free(&a);

	p_head(&p, F_TC, 0, "x.test", ns_t_mx, 0, 0, 0);
	parse(&p, "x.test", ns_t_mx, &a);
	is_int(a.status, DNS_TEMPFAIL, "TC without records: tempfail");
	dns_answer_free(&a);
	p_head(&p, F_TC, 0, "x.test", ns_t_mx, 1, 0, 0);
	p_mx(&p, "x.test", 60, 10, "mx.x.test");
	parse(&p, "x.test", ns_t_mx, &a);
	ok(a.status == DNS_OK && a.truncated, "TC with records: used");
	dns_answer_free(&a);

	p_head(&p, 0, 0, "x.test", ns_t_a, 1, 0, 0);
	{
		size_t	 at = p_rr_start(&p, "x.test", ns_t_a, 60);

		p_u16(&p, 1);
		p_rr_end(&p, at);
	}
	parse(&p, "x.test", ns_t_a, &a);
	is_int(a.status, DNS_TEMPFAIL, "A with 2-byte rdata: tempfail");
	dns_answer_free(&a);

	p_head(&p, 0, 0, "x.test", ns_t_mx, 2, 0, 0);
	p_mx(&p, "x.test", 60, 10, "mx.x.test");
	for (len = 0; len < p.n; len++) {	/* every truncation */
		dns_answer_init(&a, "x.test", ns_t_mx);
		dns_parse(p.b, len, &a);
		if (a.status != DNS_TEMPFAIL)
			break;
		dns_answer_free(&a);
	}
	is_int(len, p.n, "every cut packet (and wrong counts): tempfail");
	if (len < p.n)
		dns_answer_free(&a);
}

/* test_servers - the [dns] servers syntax. */
static void
test_servers(void)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *s4 = (const void *)&ss;
	const struct sockaddr_in6 *s6 = (const void *)&ss;
	static const char *badv[] = { "", "1.2.3.4:", "1.2.3.4:0",
	    "1.2.3.4:65536", "1.2.3.4:53x", "host.test", "[::1", "[::1]x",
	    "[::1]:", "[1.2.3]:53", "1.2.3.4.5", "[]:53", ":53" };
	size_t	 i;

	is_int(dns_server_parse("127.0.0.1", &ss), 0, "ip");
	ok(ss.ss_family == AF_INET && ntohs(s4->sin_port) == 53, "ip: port 53");
	is_int(dns_server_parse("127.0.0.1:5353", &ss), 0, "ip:port");
	is_int(ntohs(s4->sin_port), 5353, "ip:port: port");
	is_int(dns_server_parse("[::1]:5300", &ss), 0, "[ip6]:port");
	ok(ss.ss_family == AF_INET6 && ntohs(s6->sin6_port) == 5300,
	    "[ip6]:port: family and port");
	is_int(dns_server_parse("::1", &ss), 0, "bare ip6");
	is_int(ntohs(s6->sin6_port), 53, "bare ip6: port 53");
	is_int(dns_server_parse("[fd00::2]", &ss), 0, "[ip6]");
	for (i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		char	 name[64];

		snprintf(name, sizeof(name), "bad server \"%s\"", badv[i]);
		is_int(dns_server_parse(badv[i], &ss), EX_CONFIG, name);
	}
}

/* test_mx_sort - preference order; equal preferences are shuffled. */
static void
test_mx_sort(void)
{
	struct dns_mx v[4];
	int	 first[3] = { 0, 0, 0 }, i, sorted = 1, last = 1;
	char	 h[4][2] = { "a", "b", "c", "d" };

	for (i = 0; i < 300; i++) {
		v[0] = (struct dns_mx){ 20, h[3] };
		v[1] = (struct dns_mx){ 10, h[2] };
		v[2] = (struct dns_mx){ 10, h[0] };
		v[3] = (struct dns_mx){ 10, h[1] };
		dns_mx_sort(v, 4);
		if (v[0].pref != 10 || v[1].pref != 10 || v[2].pref != 10)
			sorted = 0;
		if (strcmp(v[3].host, "d") != 0)
			last = 0;
		first[v[0].host[0] - 'a']++;
	}
	ok(sorted, "MX sort: preference order");
	ok(last, "MX sort: the worse preference stays last");
	ok(first[0] && first[1] && first[2],
	    "MX sort: each equal-preference host comes first sometimes");
}

/* test_record - the dns.tdb value: round trip, layout, rejects. */
static void
test_record(void)
{
	struct dns_answer a, b;
	struct buf out;
	time_t	 st, ex;
	size_t	 len;
	int	 fails;

	buf_init(&out, 65536);
	dns_answer_init(&a, "cname.test", ns_t_mx);
	a.status = DNS_OK;
	a.ttl = 300;
	a.cname = strdup("real.test");
	a.mx = calloc(2, sizeof(*a.mx));
	a.mx[0] = (struct dns_mx){ 10, strdup("mx1.test") };
	a.mx[1] = (struct dns_mx){ 20, strdup("mx2.test") };
	a.n = 2;
	is_int(dns_cache_encode(&a, 1000, &out), 0, "encode MX");
	ok(out.len > 4 && memcmp(out.ptr, "\0\0\0\1", 4) == 0,
	    "record: version 1 first, big-endian");
	ok(out.len > 6 && (unsigned char)out.ptr[5] == ns_t_mx,
	    "record: qtype after the version");
	dns_answer_init(&b, "cname.test", ns_t_mx);
	is_int(dns_cache_decode((unsigned char *)out.ptr, out.len, &b, &st,
	    &ex), 0, "decode MX");
	ok(st == 1000 && ex == 1300, "decode: stored and expires");
	ok(b.status == DNS_OK && b.n == 2 && b.mx[1].pref == 20 &&
	    strcmp(b.mx[1].host, "mx2.test") == 0, "decode: MX records");
	is_str(b.cname, "real.test", "decode: cname");
	dns_answer_free(&b);
	for (fails = 0, len = 0; len < out.len; len++) {
		dns_answer_init(&b, "cname.test", ns_t_mx);
		fails += dns_cache_decode((unsigned char *)out.ptr, len, &b,
		    &st, &ex) < 0;
		dns_answer_free(&b);
	}
	is_int(fails, out.len, "decode: every truncated record rejected");
	buf_addch(&out, 0);
	dns_answer_init(&b, "cname.test", ns_t_mx);
	is_int(dns_cache_decode((unsigned char *)out.ptr, out.len, &b, &st,
	    &ex), -1, "decode: trailing byte rejected");
	dns_answer_free(&b);
	out.ptr[3] = 2;
	dns_answer_init(&b, "cname.test", ns_t_mx);
	is_int(dns_cache_decode((unsigned char *)out.ptr, out.len - 1, &b,
	    &st, &ex), -1, "decode: other version rejected");
	dns_answer_free(&b);
	dns_answer_free(&a);

	dns_answer_init(&a, "v6.test", ns_t_aaaa);
	a.status = DNS_OK;
	a.ttl = 60;
	a.addr = calloc(1, sizeof(*a.addr));
	a.addr[0].family = AF_INET6;
	inet_pton(AF_INET6, "::1", a.addr[0].a);
	a.n = 1;
	dns_cache_encode(&a, 5, &out);
	dns_answer_init(&b, "v6.test", ns_t_aaaa);
	ok(dns_cache_decode((unsigned char *)out.ptr, out.len, &b, &st, &ex)
	    == 0 && b.n == 1 && b.addr[0].family == AF_INET6 &&
	    memcmp(a.addr[0].a, b.addr[0].a, 16) == 0, "AAAA round trip");
	dns_answer_free(&b);
	dns_answer_free(&a);

	dns_answer_init(&a, "gone.test", ns_t_a);
	a.status = DNS_NXDOMAIN;
	a.ttl = 300;
	dns_cache_encode(&a, 5, &out);
	dns_answer_init(&b, "gone.test", ns_t_a);
	ok(dns_cache_decode((unsigned char *)out.ptr, out.len, &b, &st, &ex)
	    == 0 && b.status == DNS_NXDOMAIN && b.n == 0, "NXDOMAIN round trip");
	dns_answer_free(&b);
	dns_answer_free(&a);
	buf_free(&out);
}

/* test_cache - put, get while live, miss after expiry, purge. */
static void
test_cache(const char *dir)
{
	struct dns_cache *c;
	struct dns_answer a, b;
	char	 state[512];

	snprintf(state, sizeof(state), "%s/state", dir);
	mkdir(state, 0700);
	if (!ok(dns_cache_open(&c, dir) == 0, "cache open"))
		return;
	dns_answer_init(&a, "Shop.Test.", ns_t_a);
	a.status = DNS_OK;
	a.ttl = 100;
	a.addr = calloc(1, sizeof(*a.addr));
	a.addr[0].family = AF_INET;
	inet_pton(AF_INET, "203.0.113.10", a.addr[0].a);
	a.n = 1;
	is_int(dns_cache_put(c, &a, 1000), 0, "cache put");
	ok(dns_cache_get(c, "shop.test", ns_t_a, 1040, &b) == 0 &&
	    b.from_cache && b.ttl == 60 && b.n == 1, "cache hit, remaining ttl");
	dns_answer_free(&b);
	is_int(dns_cache_get(c, "shop.test", ns_t_aaaa, 1040, &b), -1,
	    "cache: other type misses");
	dns_answer_free(&b);
	is_int(dns_cache_get(c, "shop.test", ns_t_a, 1100, &b), -1,
	    "cache: expired misses");
	dns_answer_free(&b);
	a.status = DNS_TEMPFAIL;
	free(a.qname);
	a.qname = strdup("fail.test");
	is_int(dns_cache_put(c, &a, 1000), 0, "cache put tempfail: no error");
	is_int(dns_cache_get(c, "fail.test", ns_t_a, 1000, &b), -1,
	    "cache: tempfail never stored");
	dns_answer_free(&b);
	dns_answer_free(&a);
	is_int(dns_cache_purge(c, 1100), 1, "cache purge: one expired");
	dns_cache_close(c);
}

/* test_conf - a configuration that needs no DNS server. */
static void
test_conf(struct conf *c, const char *spool, char **servers, char **laddr,
    char **lmx)
{
	memset(c, 0, sizeof(*c));
	c->spool_dir = (char *)spool;
	c->dns_servers.v = servers;
	c->dns_servers.n = 1;
	c->dns_timeout = 1;
	c->local_addresses.v = laddr;
	c->local_addresses.n = 1;
	c->local_mx.v = lmx;
	c->local_mx.n = 1;
	c->smarthost_url = (char *)"smtp://relay.test:587";
}

/* decide - route_address and return the kind; dsn into dsn. */
static int
decide(struct route_ctx *ctx, const char *addr, char *dsn, size_t len)
{
	struct route_decision d;
	int	 k;

	if (route_address(ctx, addr, &d) != 0)
		return -1;
	k = (int)d.kind;
	snprintf(dsn, len, "%s", d.dsn);
	route_decision_free(&d);
	return k;
}

/* test_route_nodns - decisions that never reach DNS. */
static void
test_route_nodns(const char *dir)
{
	struct conf c;
	struct route_ctx *ctx;
	struct route_decision d;
	struct dns_addr a = { 0 };
	struct buf out;
	char	*srv[4] = { (char *)"127.0.0.1:9", (char *)"[::1]:9",
	    (char *)"127.0.0.1", (char *)"::1" };
	char	*laddr[1] = { (char *)"198.51.100.7" };
	char	*lmx[1] = { (char *)"Mail.Named.Test." };
	char	*bad[1] = { (char *)"not-an-ip" };
	char	 dsn[8], detail[64];

	test_conf(&c, dir, srv, laddr, lmx);
	if (!ok(route_open(&ctx, &c) == 0, "route_open"))
		return;
	is_int(decide(ctx, "root", dsn, sizeof(dsn)), ROUTE_DEFER,
	    "unqualified without [local] transport: defer");
	is_str(dsn, "4.3.5", "unqualified without transport: 4.3.5");
	c.local_transport = (char *)"smtp://127.0.0.1:25";
	is_int(decide(ctx, "<root>", dsn, sizeof(dsn)), ROUTE_LOCAL,
	    "unqualified: local");
	is_int(decide(ctx, "u@[127.0.0.1]", dsn, sizeof(dsn)), ROUTE_LOCAL,
	    "literal 127.0.0.1: local");
	is_int(decide(ctx, "u@[127.1.2.3]", dsn, sizeof(dsn)), ROUTE_LOCAL,
	    "literal in loopback net: local");
	is_int(decide(ctx, "u@[198.51.100.7]", dsn, sizeof(dsn)), ROUTE_LOCAL,
	    "literal in local_addresses: local");
	is_int(decide(ctx, "u@[IPv6:::ffff:198.51.100.7]", dsn, sizeof(dsn)),
	    ROUTE_LOCAL, "v4-mapped literal: local");
	is_int(decide(ctx, "u@[ipv6:::1]", dsn, sizeof(dsn)), ROUTE_LOCAL,
	    "literal ::1: local");
	is_int(decide(ctx, "u@[203.0.113.9]", dsn, sizeof(dsn)),
	    ROUTE_SMARTHOST, "other literal: smarthost");
	is_int(decide(ctx, "u@[::1]", dsn, sizeof(dsn)), ROUTE_BOUNCE,
	    "IPv6 literal without tag: bounce");
	is_str(dsn, "5.1.3", "bad literal: 5.1.3");
	is_int(decide(ctx, "u@[1.2.3.4", dsn, sizeof(dsn)), ROUTE_BOUNCE,
	    "unclosed literal: bounce");
	is_int(decide(ctx, "", dsn, sizeof(dsn)), ROUTE_BOUNCE, "empty: bounce");
	is_int(decide(ctx, "<>", dsn, sizeof(dsn)), ROUTE_BOUNCE, "<>: bounce");
	is_int(decide(ctx, "u@", dsn, sizeof(dsn)), ROUTE_BOUNCE,
	    "no domain: bounce");
	is_int(decide(ctx, "u@a..b", dsn, sizeof(dsn)), ROUTE_BOUNCE,
	    "empty label: bounce");
	is_int(decide(ctx, "u@a b.test", dsn, sizeof(dsn)), ROUTE_BOUNCE,
	    "space in domain: bounce");
	is_int(decide(ctx, "u@x.test..", dsn, sizeof(dsn)), ROUTE_BOUNCE,
	    "two trailing dots: bounce");
	is_int(decide(ctx, "u@.x.test", dsn, sizeof(dsn)), ROUTE_BOUNCE,
	    "leading dot: bounce");
	is_int(decide(ctx, "u@bücher.test", dsn, sizeof(dsn)), ROUTE_SMARTHOST,
	    "non-ASCII domain: smarthost, unresolved");

	inet_pton(AF_INET, "127.0.0.53", a.a);
	a.family = AF_INET;
	is_int(route_addr_match(ctx, &a, detail, sizeof(detail)),
	    ROUTE_MATCH_INTERFACE, "127.0.0.53 is on the loopback interface");
	inet_pton(AF_INET, "203.0.113.77", a.a);
	is_int(route_addr_match(ctx, &a, detail, sizeof(detail)),
	    ROUTE_MATCH_NONE, "203.0.113.77 is not this host");

	buf_init(&out, 65536);
	is_int(route_explain(ctx, "a\"b\\c\001\xff@[127.0.0.1]", 1, &out), 0,
	    "explain --json");
	ok(strstr(buf_str(&out), "\"a\\\"b\\\\c\\u0001\\ufffd@[127.0.0.1]\"")
	    != NULL, "JSON escapes quote, backslash, control, bad UTF-8");
	ok(strstr(buf_str(&out), "\"route\":\"local\"") != NULL, "JSON route");
	buf_reset(&out);
	is_int(route_explain(ctx, "a\001b@[127.0.0.1]", 0, &out), 0,
	    "explain text");
	ok(strstr(buf_str(&out), "address:   a?b@[127.0.0.1]\n") != NULL,
	    "text shows control bytes as ?");
	buf_free(&out);
	ok(route_address(ctx, "x@[127.0.0.1]", &d) == 0 &&
	    d.match == ROUTE_MATCH_INTERFACE && strcmp(d.match_detail, "lo")
	    == 0 && d.ttl == -1, "decision: interface lo, no DNS ttl");
	route_decision_free(&d);
	route_close(ctx);

	c.dns_servers.n = 2;
	ok(route_open(&ctx, &c) == 0, "route_open with an IPv6 server");
	buf_init(&out, 65536);
	route_explain(ctx, "x@[127.0.0.1]", 0, &out);
	ok(strstr(buf_str(&out), "resolver:  127.0.0.1:9, [::1]:9, timeout 1s,"
	    " 2 tries\n") != NULL, "resolver line names both servers");
	buf_free(&out);
	route_close(ctx);
	c.dns_servers.n = 4;
	is_int(route_open(&ctx, &c), EX_CONFIG, "four servers: EX_CONFIG");
	c.dns_servers.n = 1;
	c.local_addresses.v = bad;
	is_int(route_open(&ctx, &c), EX_CONFIG, "bad local_addresses: EX_CONFIG");
}

/* test_names - normalisation of names. */
static void
test_names(void)
{
	static const char *in[] = { "Foo.COM.", "foo.com", ".", "", "A" };
	static const char *want[] = { "foo.com", "foo.com", ".", ".", "a" };
	size_t	 i;
	char	*n;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		n = dns_name_norm(in[i]);
		is_str(n, want[i], "dns_name_norm");
		free(n);
	}
	is_str(dns_type_name(ns_t_aaaa), "AAAA", "type name");
	is_str(dns_status_name(DNS_NODATA), "nodata", "status name");
}

/* main - run every group in a scratch directory. */
int
main(void)
{
	char	 dir[] = "/tmp/test_route.XXXXXX", cmd[64];

	if (mkdtemp(dir) == NULL)
		return 2;
	test_parse_mx();
	test_parse_cname();
	test_parse_negative();
	test_parse_errors();
	test_servers();
	test_mx_sort();
	test_record();
	test_cache(dir);
	test_route_nodns(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	test_names();
	return tap_done();
}
