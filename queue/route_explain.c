/*
 * route_explain.c - the decision and its evidence for "sitemail route".
 *
 * Text: one "key: value" line per fact, in a fixed order, with the DNS
 * evidence indented under the MX line; MX hosts are listed by preference
 * and then name (route_address shuffles equal preferences; this does not,
 * so the output is stable).  Bytes below 0x20 and 0x7f print as '?'.
 *
 *	address:   contact@shop.test
 *	domain:    shop.test
 *	resolver:  127.0.0.1:5353, timeout 5s, 2 tries
 *	cache:     state/dns.tdb
 *	MX shop.test: ok, 1 record (ttl 300, dns)
 *	  10 mx.outside.test (best)
 *	      A mx.outside.test: 203.0.113.10 (ttl 300, dns)
 *	      AAAA mx.outside.test: nodata (ttl 300, dns)
 *	match:     none
 *	route:     smarthost
 *	transport: smtp://relay.example.net:587
 *	dsn:       -
 *	reason:    best MX mx.outside.test is not this host
 *
 * JSON: one object with the same facts (see route_explain_json); strings
 * are escaped here, invalid UTF-8 becomes U+FFFD.
 */
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/route.h"
#include "util/msg.h"

/* route_text_str - append s with control bytes shown as '?'. */
static int
route_text_str(struct buf *out, const char *s)
{
	int	 r = 0;

	for (; s != NULL && *s && r == 0; s++)
		r = buf_addch(out, (unsigned char)*s < 0x20 || *s == 0x7f ?
		    '?' : *s);
	return r;
}

/* route_utf8_len - length of the valid UTF-8 sequence at p, or 0. */
static size_t
route_utf8_len(const unsigned char *p)
{
	size_t	 n, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* route_json_str - append s as a JSON string, or null when s is NULL. */
static int
route_json_str(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t	 n;
	int	 r;

	if (s == NULL)
		return buf_addstr(out, "null");
	r = buf_addch(out, '"');
	while (*p && r == 0) {
		if (*p == '"' || *p == '\\') {
			r = buf_printf(out, "\\%c", *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			r = buf_printf(out, "\\u%04x", *p++);
		} else if ((n = route_utf8_len(p)) == 0) {
			r = buf_addstr(out, "\\ufffd");
			p++;
		} else {
			r = buf_add(out, p, n);
			p += n;
		}
	}
	return r ? r : buf_addch(out, '"');
}

/* route_sorted - indexes of d->mx by preference, then host name. */
static size_t *
route_sorted(const struct route_decision *d)
{
	size_t	*ix, i, j, t;

	if ((ix = calloc(d->nmx ? d->nmx : 1, sizeof(*ix))) == NULL)
		return NULL;
	for (i = 0; i < d->nmx; i++)
		ix[i] = i;
	for (i = 1; i < d->nmx; i++)	/* insertion sort: a few hosts */
		for (j = i; j > 0; j--) {
			const struct route_mx *a = &d->mx[ix[j - 1]],
			    *b = &d->mx[ix[j]];
			if (a->pref < b->pref || (a->pref == b->pref &&
			    strcmp(a->host, b->host) <= 0))
				break;
			t = ix[j];
			ix[j] = ix[j - 1];
			ix[j - 1] = t;
		}
	return ix;
}

/* route_text_addrs - "1.2.3.4 [this host: interface lo], ..." */
static int
route_text_addrs(const struct route_ctx *ctx, const struct dns_answer *a,
    struct buf *out)
{
	char	 s[INET6_ADDRSTRLEN], detail[64];
	size_t	 i;
	int	 r = 0;

	for (i = 0; i < a->n && r == 0; i++) {
		enum route_match m = route_addr_match(ctx, &a->addr[i], detail,
		    sizeof(detail));

		r |= buf_printf(out, "%s%s", i ? ", " : "",
		    dns_addr_str(&a->addr[i], s, sizeof(s)));
		if (m == ROUTE_MATCH_INTERFACE)
			r |= buf_printf(out, " [this host: interface %s]",
			    detail);
		else if (m != ROUTE_MATCH_NONE)
			r |= buf_printf(out, " [this host: %s]", detail);
	}
	return r;
}

/* route_text_lookup - one question and its answer on one line. */
static int
route_text_lookup(const struct route_ctx *ctx, const struct dns_answer *a,
    const char *indent, struct buf *out)
{
	int	 r;

	r = buf_printf(out, "%s%s %s: ", indent, dns_type_name(a->qtype),
	    a->qname);
	if (a->status == DNS_TEMPFAIL)
		return r | buf_printf(out, "tempfail: %s\n", a->why);
	if (a->status == DNS_OK && a->qtype == ns_t_mx)
		r |= buf_printf(out, "ok, %zu record%s", a->n,
		    a->n == 1 ? "" : "s");
	else if (a->status == DNS_OK)
		r |= route_text_addrs(ctx, a, out);
	else
		r |= buf_addstr(out, dns_status_name(a->status));
	if (a->cname != NULL)
		r |= buf_printf(out, " via CNAME %s", a->cname);
	return r | buf_printf(out, " (ttl %lu, %s)\n", (unsigned long)a->ttl,
	    a->from_cache ? "cache" : "dns");
}

/* route_text_mx - the MX answer, each host and its addresses. */
static int
route_text_mx(const struct route_ctx *ctx, const struct route_decision *d,
    struct buf *out)
{
	size_t	*ix, i;
	int	 r;

	r = route_text_lookup(ctx, &d->mxq, "", out);
	if ((ix = route_sorted(d)) == NULL)
		return -1;
	for (i = 0; i < d->nmx && r == 0; i++) {
		const struct route_mx *m = &d->mx[ix[i]];

		r |= buf_printf(out, "  %u %s (%s%s%s)\n", m->pref, m->host,
		    m->best ? "best" : "backup", d->implicit_mx ?
		    ", implicit MX" : "", m->local_mx ? ", local_mx" : "");
		if (!m->looked_up) {
			r |= buf_addstr(out, "      not looked up\n");
			continue;
		}
		r |= route_text_lookup(ctx, &m->a, "      ", out);
		r |= route_text_lookup(ctx, &m->aaaa, "      ", out);
	}
	free(ix);
	for (i = 0; d->mxq.status == DNS_OK && i < d->mxq.n && r == 0; i++)
		if (strcmp(d->mxq.mx[i].host, ".") == 0)
			r |= buf_printf(out, "  %u . (null MX)\n",
			    d->mxq.mx[i].pref);
	return r;
}

/* route_text_match - the "match:" value. */
static int
route_text_match(const struct route_decision *d, struct buf *out)
{
	switch (d->match) {
	case ROUTE_MATCH_NONE:
		return buf_addstr(out, "none");
	case ROUTE_MATCH_UNQUALIFIED:
		return buf_addstr(out, "unqualified address");
	case ROUTE_MATCH_LOCAL_MX:
		return buf_printf(out, "%s (local_mx)", d->mx_host);
	case ROUTE_MATCH_INTERFACE:
		return buf_printf(out, "%s of %s (interface %s)",
		    d->matched_addr, d->mx_host, d->match_detail);
	case ROUTE_MATCH_LOCAL_ADDRESSES:
		break;
	}
	return buf_printf(out, "%s of %s (local_addresses)", d->matched_addr,
	    d->mx_host);
}

/* route_explain_text - the human-readable evidence. */
static int
route_explain_text(struct route_ctx *ctx, const struct route_decision *d,
    struct buf *out)
{
	const char *cache = route_cache_state(ctx);
	int	 r = 0;

	r |= buf_addstr(out, "address:   ");
	r |= route_text_str(out, d->address);
	r |= buf_addstr(out, "\ndomain:    ");
	r |= route_text_str(out, d->domain ? d->domain : "(none)");
	r |= buf_addstr(out, "\nresolver:  ");
	r |= route_resolver_describe(ctx, out);
	r |= buf_addstr(out, "\ncache:     ");
	r |= cache[0] ? buf_printf(out, "off (%s)", cache) :
	    buf_addstr(out, "state/dns.tdb");
	r |= buf_addch(out, '\n');
	if (d->mxq.qname != NULL)
		r |= route_text_mx(ctx, d, out);
	r |= buf_addstr(out, "match:     ");
	r |= route_text_match(d, out);
	r |= buf_printf(out, "\nroute:     %s\ntransport: %s\ndsn:       %s\n"
	    "reason:    ", route_kind_name(d->kind), d->transport ?
	    d->transport : "-", d->dsn[0] ? d->dsn : "-");
	r |= route_text_str(out, d->reason);
	r |= buf_addch(out, '\n');
	return r;
}

/* route_json_lookup - one question and its answer as a JSON object. */
static int
route_json_lookup(const struct dns_answer *a, struct buf *out)
{
	char	 s[INET6_ADDRSTRLEN];
	size_t	 i;
	int	 r = 0;

	if (a->qname == NULL)
		return buf_addstr(out, "null");
	r |= buf_printf(out, "{\"type\":\"%s\",\"name\":",
	    dns_type_name(a->qtype));
	r |= route_json_str(out, a->qname);
	r |= buf_printf(out, ",\"status\":\"%s\",\"cname\":",
	    dns_status_name(a->status));
	r |= route_json_str(out, a->cname);
	r |= buf_printf(out, ",\"ttl\":%lu,\"from_cache\":%s,\"records\":[",
	    (unsigned long)a->ttl, a->from_cache ? "true" : "false");
	for (i = 0; a->status == DNS_OK && i < a->n && r == 0; i++) {
		r |= buf_addstr(out, i ? "," : "");
		if (a->qtype == ns_t_mx) {
			r |= buf_printf(out, "{\"preference\":%u,\"host\":",
			    a->mx[i].pref);
			r |= route_json_str(out, a->mx[i].host);
			r |= buf_addch(out, '}');
		} else
			r |= route_json_str(out, dns_addr_str(&a->addr[i], s,
			    sizeof(s)));
	}
	r |= buf_addstr(out, "],\"error\":");
	r |= route_json_str(out, a->status == DNS_TEMPFAIL ? a->why : NULL);
	return r | buf_addch(out, '}');
}

/* route_json_mx - the MX hosts, sorted, as a JSON array. */
static int
route_json_mx(const struct route_decision *d, struct buf *out)
{
	size_t	*ix, i;
	int	 r = 0;

	if ((ix = route_sorted(d)) == NULL)
		return -1;
	r |= buf_addch(out, '[');
	for (i = 0; i < d->nmx && r == 0; i++) {
		const struct route_mx *m = &d->mx[ix[i]];

		r |= buf_printf(out, "%s{\"preference\":%u,\"host\":",
		    i ? "," : "", m->pref);
		r |= route_json_str(out, m->host);
		r |= buf_printf(out, ",\"best\":%s,\"local_mx\":%s,\"a\":",
		    m->best ? "true" : "false", m->local_mx ? "true" : "false");
		r |= m->looked_up ? route_json_lookup(&m->a, out) :
		    buf_addstr(out, "null");
		r |= buf_addstr(out, ",\"aaaa\":");
		r |= m->looked_up ? route_json_lookup(&m->aaaa, out) :
		    buf_addstr(out, "null");
		r |= buf_addch(out, '}');
	}
	free(ix);
	return r | buf_addch(out, ']');
}

/* route_json_bool - append "key":true|false with a leading comma. */
static int
route_json_bool(struct buf *out, const char *key, int v)
{
	return buf_printf(out, ",\"%s\":%s", key, v ? "true" : "false");
}

/* route_json_field - append ,"key":"value" (or null). */
static int
route_json_field(struct buf *out, const char *key, const char *v)
{
	return buf_printf(out, ",\"%s\":", key) | route_json_str(out, v);
}

/* route_explain_json - the evidence as one JSON object. */
static int
route_explain_json(struct route_ctx *ctx, const struct route_decision *d,
    struct buf *out)
{
	struct buf res;
	const char *cache = route_cache_state(ctx);
	int	 r = 0, m = d->match != ROUTE_MATCH_NONE;

	buf_init(&res, 1024);
	r |= buf_addstr(out, "{\"address\":");
	r |= route_json_str(out, d->address);
	r |= route_json_field(out, "domain", d->domain);
	r |= route_json_field(out, "route", route_kind_name(d->kind));
	r |= route_json_field(out, "transport", d->transport);
	r |= route_json_field(out, "dsn", d->dsn[0] ? d->dsn : NULL);
	r |= route_json_field(out, "reason", d->reason);
	r |= route_json_field(out, "mx_host", d->mx_host);
	r |= route_json_field(out, "matched_address", d->matched_addr[0] ?
	    d->matched_addr : NULL);
	r |= route_json_field(out, "matched_by", m ?
	    route_match_name(d->match) : NULL);
	r |= route_json_field(out, "match_detail", d->match_detail[0] ?
	    d->match_detail : NULL);
	r |= route_json_bool(out, "domain_literal", d->literal);
	r |= route_json_bool(out, "implicit_mx", d->implicit_mx);
	r |= route_json_bool(out, "null_mx", d->null_mx);
	r |= route_json_bool(out, "from_cache", d->from_cache);
	r |= d->ttl < 0 ? buf_addstr(out, ",\"ttl\":null") :
	    buf_printf(out, ",\"ttl\":%ld", d->ttl);
	r |= route_resolver_describe(ctx, &res);
	r |= route_json_field(out, "resolver", buf_str(&res));
	r |= route_json_field(out, "cache_error", cache[0] ? cache : NULL);
	r |= buf_addstr(out, ",\"mx_lookup\":");
	r |= route_json_lookup(&d->mxq, out);
	r |= buf_addstr(out, ",\"mx\":");
	r |= route_json_mx(d, out);
	r |= buf_addstr(out, "}\n");
	buf_free(&res);
	return r;
}

/* route_explain - the decision and its evidence, as text or one JSON object. */
int
route_explain(struct route_ctx *ctx, const char *address, int json,
    struct buf *out)
{
	struct route_decision d;
	int	 st;

	if ((st = route_decide(ctx, address, &d, 1)) == 0 &&
	    (json ? route_explain_json(ctx, &d, out) :
	    route_explain_text(ctx, &d, out)) != 0)
		st = err_set(EX_SOFTWARE, "the explanation does not fit");
	route_decision_free(&d);
	return st;
}
