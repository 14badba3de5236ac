/*
 * dns_cache.c - parsed DNS answers in spool_dir/state/dns.tdb.
 *
 * Key: "MX/<name>", "A/<name>" or "AAAA/<name>" (dns_cache_key).  Value,
 * every integer big-endian, version first:
 *	u32 version = DNS_CACHE_VERSION
 *	u16 qtype | u16 status
 *	i64 stored | i64 expires		(unix seconds)
 *	u32 ttl					(as answered)
 *	u16 cname length | cname bytes		(length 0: no CNAME)
 *	u16 count | count records
 * An MX record is u16 preference | u16 length | host bytes; an A or AAAA
 * record is u8 family (4 or 6) | 4 or 16 address bytes.  The stored tdb
 * value is that record followed by a 16-byte BLAKE2b hash of it
 * (DNS_CACHE_SUMLEN), so a bit flipped on disk is a miss, never a wrong
 * MX.  A record of another version, a malformed one, one whose hash does
 * not match, or one past its expiry is a miss.
 * Writes take the key's chain lock.  When root creates the file it hands
 * it to the owner of the state directory, so the runner can still use it.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tdb.h>
#include <unistd.h>

#include <sodium.h>

#include "queue/dns.h"
#include "util/db.h"
#include "util/msg.h"

#define DNS_CACHE_REC_MAX	(64 * 1024)
#define DNS_CACHE_SUMLEN	16

struct dns_cache {
	struct tdb_context *tdb;
};

/* Bounds-checked reader over a record. */
struct dns_rd {
	const unsigned char *p, *end;
	int	 bad;
};

/* dns_cache_key - the tdb key "TYPE/name" into out. */
int
dns_cache_key(const char *qname, int qtype, struct buf *out)
{
	buf_reset(out);
	return buf_printf(out, "%s/%s", dns_type_name(qtype), qname);
}

/* dns_put_int - append an n-byte big-endian integer. */
static int
dns_put_int(struct buf *b, uint64_t v, int n)
{
	unsigned char o[8];
	int	 i;

	for (i = 0; i < n; i++)
		o[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	return buf_add(b, o, (size_t)n);
}

/* dns_put_str - append u16 length and the bytes. */
static int
dns_put_str(struct buf *b, const char *s)
{
	size_t	 n = s ? strlen(s) : 0;

	if (n > 0xffff)
		return -1;
	if (dns_put_int(b, n, 2) < 0)
		return -1;
	return n ? buf_add(b, s, n) : 0;
}

/* dns_cache_encode - the record for ans, stored at now, into out. */
int
dns_cache_encode(const struct dns_answer *ans, time_t now, struct buf *out)
{
	size_t	 i;
	int	 r = 0;

	buf_reset(out);
	r |= dns_put_int(out, DNS_CACHE_VERSION, 4);
	r |= dns_put_int(out, (uint64_t)ans->qtype, 2);
	r |= dns_put_int(out, (uint64_t)ans->status, 2);
	r |= dns_put_int(out, (uint64_t)now, 8);
	r |= dns_put_int(out, (uint64_t)(now + (time_t)ans->ttl), 8);
	r |= dns_put_int(out, ans->ttl, 4);
	r |= dns_put_str(out, ans->cname);
	r |= dns_put_int(out, ans->n, 2);
	for (i = 0; i < ans->n && r == 0; i++) {
		if (ans->qtype == ns_t_mx) {
			r |= dns_put_int(out, ans->mx[i].pref, 2);
			r |= dns_put_str(out, ans->mx[i].host);
		} else {
			int	 v6 = ans->addr[i].family == AF_INET6;

			r |= dns_put_int(out, v6 ? 6 : 4, 1);
			r |= buf_add(out, ans->addr[i].a, v6 ? 16 : 4);
		}
	}
	return r ? err_set(EX_SOFTWARE, "cannot encode a DNS cache record") : 0;
}

/* dns_get_int - read an n-byte big-endian integer. */
static uint64_t
dns_get_int(struct dns_rd *rd, int n)
{
	uint64_t v = 0;
	int	 i;

	if (rd->bad || rd->end - rd->p < n) {
		rd->bad = 1;
		return 0;
	}
	for (i = 0; i < n; i++)
		v = (v << 8) | *rd->p++;
	return v;
}

/* dns_get_str - read u16 length and the bytes as a new string. */
static char *
dns_get_str(struct dns_rd *rd, int optional)
{
	size_t	 n = (size_t)dns_get_int(rd, 2);
	char	*s;

	if (n == 0 && optional && !rd->bad)
		return NULL;
	if (rd->bad || n == 0 || (size_t)(rd->end - rd->p) < n ||
	    memchr(rd->p, '\0', n) != NULL) {
		rd->bad = 1;
		return NULL;
	}
	if ((s = strndup((const char *)rd->p, n)) == NULL) {
		rd->bad = 1;
		return NULL;
	}
	rd->p += n;
	return s;
}

/* dns_get_records - read count MX or address records into ans. */
static int
dns_get_records(struct dns_rd *rd, struct dns_answer *ans, size_t count)
{
	size_t	 i, alen;
	int	 fam;

	if (count == 0)
		return 0;
	if (ans->qtype == ns_t_mx)
		ans->mx = calloc(count, sizeof(*ans->mx));
	else
		ans->addr = calloc(count, sizeof(*ans->addr));
	if (ans->mx == NULL && ans->addr == NULL)
		return -1;
	for (i = 0; i < count && !rd->bad; i++) {
		if (ans->qtype == ns_t_mx) {
			ans->mx[i].pref = (unsigned)dns_get_int(rd, 2);
			if ((ans->mx[i].host = dns_get_str(rd, 0)) == NULL)
				break;
			ans->n = i + 1;
			continue;
		}
		fam = (int)dns_get_int(rd, 1);
		alen = fam == 6 ? 16 : 4;
		if ((fam != 4 && fam != 6) || (fam == 6) !=
		    (ans->qtype == ns_t_aaaa) ||
		    (size_t)(rd->end - rd->p) < alen) {
			rd->bad = 1;
			break;
		}
		ans->addr[i].family = fam == 6 ? AF_INET6 : AF_INET;
		memcpy(ans->addr[i].a, rd->p, alen);
		rd->p += alen;
		ans->n = i + 1;
	}
	return rd->bad ? -1 : 0;
}

/* dns_cache_decode - parse a record; -1 when it is malformed. */
int
dns_cache_decode(const unsigned char *data, size_t len,
    struct dns_answer *ans, time_t *stored, time_t *expires)
{
	struct dns_rd rd = { data, data + len, 0 };
	size_t	 count;
	int	 qtype, status;

	if (dns_get_int(&rd, 4) != DNS_CACHE_VERSION)
		return -1;
	qtype = (int)dns_get_int(&rd, 2);
	status = (int)dns_get_int(&rd, 2);
	*stored = (time_t)dns_get_int(&rd, 8);
	*expires = (time_t)dns_get_int(&rd, 8);
	ans->ttl = (uint32_t)dns_get_int(&rd, 4);
	if (rd.bad || (qtype != ns_t_mx && qtype != ns_t_a &&
	    qtype != ns_t_aaaa) || (status != DNS_OK && status != DNS_NXDOMAIN
	    && status != DNS_NODATA))
		return -1;
	ans->qtype = qtype;
	ans->status = (enum dns_status)status;
	ans->cname = dns_get_str(&rd, 1);
	count = (size_t)dns_get_int(&rd, 2);
	if (rd.bad || count > DNS_RECORDS_MAX ||
	    (status == DNS_OK) != (count > 0))
		return -1;
	if (dns_get_records(&rd, ans, count) < 0 || rd.p != rd.end)
		return -1;
	return 0;
}

/* dns_cache_give_away - root made the file: hand it to the dir's owner. */
static void
dns_cache_give_away(int fd, const char *dir)
{
	struct stat sd, sf;

	if (geteuid() != 0 || stat(dir, &sd) < 0 || fstat(fd, &sf) < 0)
		return;
	if (sf.st_uid != sd.st_uid || sf.st_gid != sd.st_gid)
		if (fchown(fd, sd.st_uid, sd.st_gid) < 0)
			log_warn("cannot chown %s/dns.tdb: %s", dir,
			    strerror(errno));
}

/* dns_cache_open - open (creating) spool_dir/state/dns.tdb. */
int
dns_cache_open(struct dns_cache **cp, const char *spool_dir)
{
	struct dns_cache *c;
	struct buf path;
	int	 st = 0;

	*cp = NULL;
	buf_init(&path, 4096);
	if (buf_printf(&path, "%s/state", spool_dir) < 0)
		return err_set(EX_CONFIG, "spool_dir too long");
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		buf_free(&path);
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	if (buf_addstr(&path, "/dns.tdb") < 0)
		st = err_set(EX_CONFIG, "spool_dir too long");
	else if ((c->tdb = db_open(buf_str(&path), 0, TDB_DEFAULT,
	    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0660)) == NULL)
		st = err_set(EX_TEMPFAIL, "cannot open %s: %s", buf_str(&path),
		    strerror(errno ? errno : EIO));
	if (st != 0) {
		free(c);
		buf_free(&path);
		return st;
	}
	path.len -= strlen("/dns.tdb");
	path.ptr[path.len] = '\0';
	dns_cache_give_away(tdb_fd(c->tdb), buf_str(&path));
	buf_free(&path);
	*cp = c;
	return 0;
}

/* dns_cache_close - close the database. */
void
dns_cache_close(struct dns_cache *c)
{
	if (c == NULL)
		return;
	tdb_close(c->tdb);
	free(c);
}

/* dns_cache_sum_add - append the hash of the record in b. */
static int
dns_cache_sum_add(struct buf *b)
{
	unsigned char sum[DNS_CACHE_SUMLEN];

	crypto_generichash(sum, sizeof(sum), (const unsigned char *)b->ptr,
	    b->len, NULL, 0);
	return buf_add(b, sum, sizeof(sum)) < 0 ?
	    err_set(EX_SOFTWARE, "DNS cache record too long") : 0;
}

/* dns_cache_sum_ok - 1 if a stored value ends in the hash of the rest. */
static int
dns_cache_sum_ok(const unsigned char *v, size_t len)
{
	unsigned char sum[DNS_CACHE_SUMLEN];

	if (len <= DNS_CACHE_SUMLEN)
		return 0;
	crypto_generichash(sum, sizeof(sum), v, len - DNS_CACHE_SUMLEN, NULL,
	    0);
	return sodium_memcmp(sum, v + len - DNS_CACHE_SUMLEN, sizeof(sum)) ==
	    0;
}

/* dns_cache_get - a live cached answer: 0, or -1 when there is none. */
int
dns_cache_get(struct dns_cache *c, const char *qname, int qtype, time_t now,
    struct dns_answer *ans)
{
	struct buf key;
	TDB_DATA k, v;
	time_t	 stored, expires;
	int	 r = -1;

	if (dns_answer_init(ans, qname, qtype) < 0)
		return -1;
	buf_init(&key, 2048);
	if (dns_cache_key(ans->qname, qtype, &key) < 0) {
		buf_free(&key);
		return -1;
	}
	k.dptr = (unsigned char *)key.ptr;
	k.dsize = key.len;
	v = tdb_fetch(c->tdb, k);
	buf_free(&key);
	if (v.dptr == NULL)
		return -1;
	if (dns_cache_sum_ok(v.dptr, v.dsize) &&
	    dns_cache_decode(v.dptr, v.dsize - DNS_CACHE_SUMLEN, ans, &stored,
	    &expires) == 0 &&
	    ans->qtype == qtype && expires > now) {
		ans->ttl = (uint32_t)(expires - now);
		ans->from_cache = 1;
		ans->rcode = ans->status == DNS_NXDOMAIN ? ns_r_nxdomain :
		    ns_r_noerror;
		r = 0;
	}
	free(v.dptr);
	if (r < 0) {
		dns_answer_reset(ans);
		ans->qtype = qtype;
	}
	return r;
}

/* dns_cache_put - store a cacheable answer until now + its TTL. */
int
dns_cache_put(struct dns_cache *c, const struct dns_answer *ans, time_t now)
{
	struct buf key, val;
	TDB_DATA k, v;
	int	 st = 0;

	if (ans->status == DNS_TEMPFAIL || ans->ttl == 0 || ans->from_cache)
		return 0;
	buf_init(&key, 2048);
	buf_init(&val, DNS_CACHE_REC_MAX);
	if (dns_cache_key(ans->qname, ans->qtype, &key) < 0 ||
	    (st = dns_cache_encode(ans, now, &val)) != 0 ||
	    (st = dns_cache_sum_add(&val)) != 0) {
		buf_free(&key);
		buf_free(&val);
		return st ? st : err_set(EX_SOFTWARE, "DNS cache key too long");
	}
	k.dptr = (unsigned char *)key.ptr;
	k.dsize = key.len;
	v.dptr = (unsigned char *)val.ptr;
	v.dsize = val.len;
	if (tdb_chainlock(c->tdb, k) != 0)
		st = err_set(EX_TEMPFAIL, "cannot lock the DNS cache: %s",
		    tdb_errorstr(c->tdb));
	else {
		if (tdb_store(c->tdb, k, v, TDB_REPLACE) != 0)
			st = err_set(EX_TEMPFAIL, "cannot write the DNS cache: %s",
			    tdb_errorstr(c->tdb));
		tdb_chainunlock(c->tdb, k);
	}
	buf_free(&key);
	buf_free(&val);
	return st;
}

/* dns_cache_purge_one - tdb_traverse callback: delete if expired. */
static int
dns_cache_purge_one(struct tdb_context *tdb, TDB_DATA k, TDB_DATA v,
    void *arg)
{
	struct dns_rd rd = { v.dptr, v.dptr + v.dsize, 0 };
	time_t	 now = *(const time_t *)arg, expires;
	uint32_t version;

	version = (uint32_t)dns_get_int(&rd, 4);
	(void)dns_get_int(&rd, 4);	/* qtype, status */
	(void)dns_get_int(&rd, 8);	/* stored */
	expires = (time_t)dns_get_int(&rd, 8);
	if (rd.bad || version != DNS_CACHE_VERSION || expires <= now ||
	    !dns_cache_sum_ok(v.dptr, v.dsize))
		return tdb_delete(tdb, k) == 0 ? 0 : -1;
	return 0;
}

/* dns_cache_purge - delete expired records; the number deleted, or -1. */
int
dns_cache_purge(struct dns_cache *c, time_t now)
{
	int	 before, after;

	if ((before = tdb_traverse(c->tdb, NULL, NULL)) < 0)
		return -1;
	if (tdb_traverse(c->tdb, dns_cache_purge_one, &now) < 0)
		return -1;
	if ((after = tdb_traverse(c->tdb, NULL, NULL)) < 0)
		return -1;
	return before - after;
}
