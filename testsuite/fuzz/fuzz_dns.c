/*
 * fuzz_dns.c - libFuzzer target for the DNS answer parser and the dns.tdb
 * record decoder.
 *
 * Input: byte 0 picks the question type (0 MX, 1 A, 2 AAAA) and whether
 * the rest is an answer packet (bit 2 clear) or a cache record (bit 2
 * set).  A packet is parsed as the answer to the name in its own
 * question, so the fuzzer reaches the sections; whatever parses must
 * encode as a cache record that decodes to the same answer.
 */
#include <arpa/nameser.h>
#include <resolv.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/dns.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* fuzz_same - two answers hold the same status and records. */
static int
fuzz_same(const struct dns_answer *a, const struct dns_answer *b)
{
	size_t	 i;

	if (a->status != b->status || a->n != b->n || a->ttl != b->ttl ||
	    (a->cname == NULL) != (b->cname == NULL) ||
	    (a->cname && strcmp(a->cname, b->cname) != 0))
		return 0;
	for (i = 0; i < a->n; i++) {
		if (a->qtype == ns_t_mx) {
			if (a->mx[i].pref != b->mx[i].pref ||
			    strcmp(a->mx[i].host, b->mx[i].host) != 0)
				return 0;
		} else if (a->addr[i].family != b->addr[i].family ||
		    memcmp(a->addr[i].a, b->addr[i].a, 16) != 0)
			return 0;
	}
	return 1;
}

/* fuzz_roundtrip - a parsed answer survives the cache record format. */
static void
fuzz_roundtrip(const struct dns_answer *a)
{
	struct dns_answer b;
	struct buf rec;
	time_t	 st, ex;

	if (a->status == DNS_TEMPFAIL)
		return;
	buf_init(&rec, 1 << 20);
	if (dns_cache_encode(a, 1000, &rec) != 0)
		abort();
	if (dns_answer_init(&b, a->qname, a->qtype) != 0)
		abort();
	if (dns_cache_decode((const unsigned char *)rec.ptr, rec.len, &b,
	    &st, &ex) != 0 || st != 1000 || ex != 1000 + (time_t)a->ttl ||
	    !fuzz_same(a, &b))
		abort();
	dns_answer_free(&b);
	buf_free(&rec);
}

/* LLVMFuzzerTestOneInput - parse a packet or decode a record. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[4] = { ns_t_mx, ns_t_a, ns_t_aaaa, ns_t_mx };
	struct dns_answer a;
	char	 qname[NS_MAXDNAME] = "fuzz.test";
	time_t	 st, ex;
	int	 qtype;

	if (size < 1)
		return 0;
	qtype = types[data[0] & 3];
	if (data[0] & 4) {
		if (dns_answer_init(&a, qname, qtype) != 0)
			return 0;
		if (dns_cache_decode(data + 1, size - 1, &a, &st, &ex) == 0)
			fuzz_roundtrip(&a);
		dns_answer_free(&a);
		return 0;
	}
	data++;
	size--;
	if (size > NS_HFIXEDSZ && dn_expand(data, data + size,
	    data + NS_HFIXEDSZ, qname, sizeof(qname)) < 0)
		snprintf(qname, sizeof(qname), "fuzz.test");
	if (dns_answer_init(&a, qname, qtype) != 0)
		return 0;
	dns_parse(data, size, &a);
	fuzz_roundtrip(&a);
	dns_answer_free(&a);
	return 0;
}
