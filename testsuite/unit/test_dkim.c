/*
 * test_dkim.c - queue/dkim.c and queue/dkim_key.c: relaxed canonicalization
 * against the examples of RFC 6376 section 3.4.5 (and python3-dkim's
 * answers for the edge cases), golden signatures, streaming in any chunk
 * size, the From domain, and which key signs (dkim_choose).
 *
 * Golden values: testsuite/unit/dkim/golden.py computed bh= and b= for
 * dkim/m1.eml and dkim/m2.eml with dkim/test.key (a throwaway 2048-bit
 * test key) independently of this code (python3-dkim's canonicalization
 * and its own RSA signer); RSA PKCS#1 v1.5 is deterministic, so b= must be
 * byte-equal.  The public key's p= value is from "openssl pkey -pubout".
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/dkim.h"
#include "queue/dkim_key.h"
#include "testsuite/unit/tap.h"
#include "util/msg.h"

#define M1_BH	"8FgCLEyEGQVpUoZ0O9hEu41wySInYyxBc7dffMTbkoQ="
#define M1_B	"TkWDm8LGW2oKBomBV3FG7xdLS2lSwcMa2YBSd20MYr8pjjejIhxEhFtRC8NIafp6" \
	"KrSuSP7raxYHJy7/AJ7rWG5q6CqT68Wy4oSQ7FmDfIffS46Eq7Zi11L8TBTzSI6C1kwh" \
	"MVtVqD5IczGAvdIZ5Crp96Z4lwddnFMNkghs3IHp3Fu+LRAwA02sqTMBFzdkkXrOy64j" \
	"015gtJO67z9MH9uhGKgs+v4ggoI5BBFlPRWmIC0krbfV4SpkKR1j/C+h20xRTMa2MKr7" \
	"VU7wceGpO3RVUTUrcaXpZSTbVC77hxnz7AMfSHt8EXNxW/WNzH+oKrzXYYTc9xVdCudA" \
	"ZURVaA=="
#define M2_BH	"uzBDnydz1EPPsc86CdRUJE0ZqrUtMAGsV/oWJ11aqdA="
#define M2_B	"oFwfSU/aJgLvovPzDrpcRGNCsXKb1OYesdQincKTPLlViz+a7wlzBsxHVyxLuN3i" \
	"tb1YzFqlgROvjv9ckAANLT88dwqIl+6hiJ+QAqUlxfKP3+uMO3Ve6TsfOrSeKyoG" \
	"lcXoNZdqtadgO3J5bZtX8jSXEBZoNNk2zSfQKcyVvD3nwYZjHmIdrc7zc7hv54dQ" \
	"ooXkqMFjahZTL6gYDAyWg9pOlBn/mvsT6cTnpD+OR/rmWm8fcM0GynnLSmL15H87" \
	"2zC2wOJ+AV6Q9xieojmdijmi5nL+RMDVYQCjrGcbLAgVF/e2trzK3PpCqg6coKER" \
	"7cc3tdqZmPbzcyOfu2n5Mg=="
#define M1_ED_B	"42xaQwcMbHIbKYen/RLxdR3gZiYFQndfQ9SXpJGIL+kw//66l62dtAURdsM1V9iE" \
	"jiDoOtzhrVDxac/yvDqQCQ=="
#define TEST_ED_P "Y5eof/Fa28wcG/Lp8IQNmvPlQvG4g5pTSm2OWjgD2O0="
#define M2_H	"from:from:to:to:cc:subject:mime-version:content-type:reply-to"
#define TEST_P	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuIJwXy6O7+0REnu4EDEG" \
	"qjwSnJ5Uz2aRpplFM2uBOE1wm5yAgXKHQKAYQqqwaJWG2h8habPKi6OM69cj0mrS" \
	"D/Ri/yuccv/964y5mzFmbRpYjm+l/uhF9HLoOmnCVMyFT6gQHORgQaduKdqZ8xnD" \
	"yP8RBC/i8QXuyp15TGnjtUeQoeFZAP0y9aOhE63R6Yu6i/6Vy8Axc0h5C0t5Gjiv" \
	"13i2cNrmcRwZaomRsuF4NXGURvAVKt4ioPzh202bOoryCcgslvjpWDxb184lsZQq" \
	"b4nd9YwcWkYbi0RwyFgX0RZLod+495tnDsQuOQBMFwooC2UVJpIql2Rje2vlJodx" \
	"JQIDAQAB"

static const char *src;

/* path - SM_SRC/testsuite/unit/dkim/name (static buffer). */
static const char *
path(const char *name)
{
	static char p[1024];

	snprintf(p, sizeof(p), "%s/testsuite/unit/dkim/%s", src, name);
	return p;
}

/* slurp - a whole file (NUL-terminated), or NULL. */
static char *
slurp(const char *file, size_t *len)
{
	FILE	*fp = fopen(file, "rb");
	char	*p;
	long	 n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (p && fread(p, 1, (size_t)n, fp) != (size_t)n) {
		free(p);
		p = NULL;
	}
	if (p)
		p[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return p;
}

/* key_copy - testsuite/unit/dkim/name copied to a fresh mode-0600 file
 * (git keeps only 0644) at tmp (a mkstemp template); tmp, or NULL. */
static const char *
key_copy(const char *name, char *tmp)
{
	size_t	 len;
	char	*k = slurp(path(name), &len);
	int	 fd = mkstemp(tmp);

	if (k == NULL || fd < 0 || fchmod(fd, 0600) < 0 ||
	    write(fd, k, len) != (ssize_t)len) {
		free(k);
		return NULL;
	}
	close(fd);
	free(k);
	return tmp;
}

/* canon_body - the relaxed body of a string, as a static string. */
static const char *
canon_body(const char *s, size_t n)
{
	static char out[4096];
	struct buf b;

	buf_init(&b, sizeof(out) - 1);
	if (dkim_canon_body(s, n, &b) != 0)
		return "(failed)";
	memcpy(out, b.ptr ? b.ptr : "", b.len);
	out[b.len] = '\0';
	buf_free(&b);
	return out;
}

/* test_rfc_examples - RFC 6376 3.4.5, and the edge cases. */
static void
test_rfc_examples(void)
{
	struct buf b;
	static const char body[] = " C \r\nD \t E\r\n\r\n\r\n";

	buf_init(&b, 1024);
	ok(dkim_canon_header("A: X \r\n", 5, &b) == 0 &&
	    dkim_canon_header("B : Y\t\r\n\tZ  ", 12, &b) == 0,
	    "header fields canonicalize");
	is_str(buf_str(&b), "a:X\r\nb:Y Z\r\n", "RFC 6376 3.4.5 relaxed header");
	buf_free(&b);
	is_str(canon_body(body, sizeof(body) - 1), " C\r\nD E\r\n",
	    "RFC 6376 3.4.5 relaxed body");
	is_str(canon_body("", 0), "", "empty body stays empty");
	is_str(canon_body("\r\n\r\n", 4), "", "only empty lines: empty");
	is_str(canon_body("abc", 3), "abc\r\n", "missing final CRLF added");
	is_str(canon_body("a\rb\r\n", 5), "a\rb\r\n", "bare CR is a plain byte");
	is_str(canon_body("abc\r", 4), "abc\r\r\n", "trailing bare CR kept");
	is_str(canon_body(" \t \r\n x  y \t\r\n\t\r\n", 17), "\r\n x y\r\n",
	    "white space only lines and runs");
	is_str(canon_body("\r\n\r\nabc\r\n", 9), "\r\n\r\nabc\r\n",
	    "leading empty lines kept");
}

/* tag - the unfolded value of tag t= in a DKIM-Signature header. */
static char *
tag(const char *hdr, const char *t)
{
	static char out[4096];
	char	 want[16];
	const char *p;
	size_t	 n = 0;

	snprintf(want, sizeof(want), " %s=", t);
	out[0] = '\0';
	if ((p = strstr(hdr, want)) == NULL &&
	    (want[0] = '\t', p = strstr(hdr, want)) == NULL)
		return out;
	for (p += strlen(want); *p && *p != ';' && n < sizeof(out) - 1; p++)
		if (*p != '\r' && *p != '\n' && *p != '\t' && *p != ' ')
			out[n++] = *p;
	out[n] = '\0';
	return out;
}

/* sign_chunks - sign msg fed in chunks of size step into out. */
static int
sign_chunks(EVP_PKEY *key, const char *msg, size_t len, size_t step,
    const char *sel, time_t t, struct buf *out)
{
	struct dkim_signer *s;
	size_t	 off, n;
	int	 rc = 0;

	if (dkim_signer_new(&s) != 0)
		return -1;
	for (off = 0; off < len && rc == 0; off += n) {
		n = len - off < step ? len - off : step;
		rc = dkim_signer_feed(s, msg + off, n);
	}
	if (rc == 0)
		rc = dkim_signer_finish(s, key, "alice.test", sel, t, out);
	dkim_signer_free(s);
	return rc;
}

/* test_golden - byte-equal bh= and b= for the committed messages. */
static void
test_golden(EVP_PKEY *key)
{
	struct buf a, b;
	size_t	 len;
	char	*m1 = slurp(path("m1.eml"), &len);

	buf_init(&a, DKIM_SIG_MAX);
	buf_init(&b, DKIM_SIG_MAX);
	ok(m1 && sign_chunks(key, m1, len, len, "sitemail", 1700000000, &a) == 0,
	    "m1 signed");
	is_str(tag(buf_str(&a), "bh"), M1_BH, "m1: golden bh=");
	is_str(tag(buf_str(&a), "b"), M1_B, "m1: golden b=");
	is_str(tag(buf_str(&a), "h"), "from:from:to:subject:date:message-id",
	    "m1: signed fields, From oversigned, X-Other not signed");
	ok(strncmp(buf_str(&a), "DKIM-Signature: v=1; a=rsa-sha256; "
	    "c=relaxed/relaxed; d=alice.test; s=sitemail;\r\n\tt=1700000000;",
	    87) == 0, "m1: header layout");
	ok(a.len > 2 && memcmp(a.ptr + a.len - 2, "\r\n", 2) == 0 &&
	    strstr(a.ptr, "\n\n") == NULL, "m1: CRLF-terminated, folded");
	free(m1);
	buf_reset(&a);
	m1 = slurp(path("m2.eml"), &len);
	ok(m1 && sign_chunks(key, m1, len, len, "s2", 1765000000, &a) == 0,
	    "m2 signed");
	is_str(tag(buf_str(&a), "bh"), M2_BH, "m2: golden bh= (8-bit, multipart)");
	is_str(tag(buf_str(&a), "b"), M2_B, "m2: golden b=");
	is_str(tag(buf_str(&a), "h"), M2_H,
	    "m2: two To instances, Received not signed");
	ok(m1 && sign_chunks(key, m1, len, 1, "s2", 1765000000, &b) == 0 &&
	    a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0,
	    "m2 fed one byte at a time: the same signature");
	buf_reset(&b);
	ok(m1 && sign_chunks(key, m1, len, 7, "s2", 1765000000, &b) == 0 &&
	    a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0,
	    "m2 fed in 7-byte chunks (CRLF split): the same signature");
	buf_reset(&b);
	ok(m1 && sign_chunks(key, m1, len, len, "s2", 1765000001, &b) == 0 &&
	    strcmp(tag(buf_str(&b), "b"), M2_B) != 0, "another t=: another b=");
	free(m1);
	buf_free(&a);
	buf_free(&b);
}

/* test_ed25519 - the second signature: golden b= (PyNaCl), raw p=, and
 * two signatures from one signer. */
static void
test_ed25519(EVP_PKEY *rsa)
{
	static char tmp[] = "/tmp/test_dkim_ed.XXXXXX";
	const char *kp = key_copy("test-ed25519.key", tmp);
	struct dkim_signer *s = NULL;
	EVP_PKEY *ed;
	struct buf a, b;
	size_t	 len;
	char	*m1 = slurp(path("m1.eml"), &len);

	if (!ok(kp && dkim_key_read(kp, &ed) == 0, "Ed25519 key loads")) {
		free(m1);
		return;
	}
	unlink(kp);
	is_str(dkim_key_type(ed), "ed25519", "its type");
	buf_init(&a, DKIM_SIG_MAX);
	buf_init(&b, DKIM_SIG_MAX);
	ok(dkim_pubkey_b64(ed, &b) == 0, "Ed25519 p= encodes");
	is_str(buf_str(&b), TEST_ED_P, "p= is the raw 32-byte key (RFC 8463)");
	buf_reset(&b);
	ok(m1 && dkim_signer_new(&s) == 0 && dkim_signer_feed(s, m1, len) == 0 &&
	    dkim_signer_finish(s, rsa, "alice.test", "sitemail", 1700000000,
	    &a) == 0 && dkim_signer_finish(s, ed, "alice.test",
	    "sitemail-ed25519", 1700000000, &b) == 0,
	    "one signer, two signatures");
	is_str(tag(buf_str(&a), "b"), M1_B, "the RSA one is still the golden one");
	is_str(tag(buf_str(&b), "a"), "ed25519-sha256", "a=ed25519-sha256");
	is_str(tag(buf_str(&b), "bh"), M1_BH, "the same body hash");
	is_str(tag(buf_str(&b), "b"), M1_ED_B, "golden ed25519-sha256 b=");
	dkim_signer_free(s);
	EVP_PKEY_free(ed);
	buf_free(&a);
	buf_free(&b);
	free(m1);
}

/* from_of - the From domain of a header block (or "ERR: why"). */
static const char *
from_of(const char *hdr)
{
	static char out[300];
	struct dkim_signer *s;
	char	 why[200];

	if (dkim_signer_new(&s) != 0)
		return "(memory)";
	(void)dkim_signer_feed(s, hdr, strlen(hdr));
	if (dkim_signer_from_domain(s, out, sizeof(out), why, sizeof(why)) != 0)
		snprintf(out, sizeof(out), "ERR: %s", why);
	dkim_signer_free(s);
	return out;
}

/* test_from - the From domain. */
static void
test_from(void)
{
	is_str(from_of("From: \"Shop, Inc\" <Sales@Alice.TEST>\r\n\r\nx\r\n"),
	    "alice.test", "display name, quoted comma, case");
	is_str(from_of("Subject: x\r\nFROM:\r\n\tbob@bob.test (Bob)\r\n\r\n"),
	    "bob.test", "folded From with a comment");
	is_str(from_of("From: a@a.test\r\nFrom: b@b.test\r\n\r\n"),
	    "ERR: several From headers", "two From headers: unsigned");
	is_str(from_of("From: a@a.test, b@b.test\r\n\r\n"),
	    "ERR: several From addresses", "two From addresses: unsigned");
	is_str(from_of("To: a@a.test\r\n\r\n"), "ERR: no From header",
	    "no From");
	is_str(from_of("From: a@a.test\r\nTo: x\r\n"), "a.test",
	    "header only, no body");
	is_str(from_of("\r\nFrom: a@a.test\r\n"), "ERR: no From header",
	    "an empty header: From in the body does not count");
}

/* choose - dkim_choose for (site, from) as "d/s" or the reason. */
static const char *
choose(const struct conf *c, const char *site, const char *from)
{
	static struct dkim_choice ch;
	static char out[600];

	dkim_choose(c, site, from, "no From", &ch);
	if (ch.sign)
		snprintf(out, sizeof(out), "%s/%s", ch.domain, ch.selector);
	else
		snprintf(out, sizeof(out), "%s", ch.why);
	return out;
}

/* test_choose - which key signs. */
static void
test_choose(void)
{
	char	 dir[] = "/tmp/test_dkim.XXXXXX", p[1200];
	const char *names[] = { "alice.test.sel.key", "sub.bob.test.sel.key",
	    "bob.test.sel.key", "carol.test.sel.key", "alice.test.old.key" };
	struct conf c;
	FILE	*fp;
	size_t	 i;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(p, sizeof(p), "%s/sitemail.conf", dir);
	fp = fopen(p, "w");
	fprintf(fp, "[dkim]\nkeys = %s/keys\nselector = sel\n"
	    "[site alice]\ndomains = alice.test, alice.example\n"
	    "[site bob]\ndomains = bob.test\ndkim_subdomains = yes\n"
	    "[site carol]\ndomains = carol.test\ndkim = no\n", dir);
	fclose(fp);
	snprintf(p, sizeof(p), "%s/keys", dir);
	mkdir(p, 0700);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/keys/%s", dir, names[i]);
		fclose(fopen(p, "w"));
	}
	if (!ok(conf_load(&c, dir) == 0, "conf with [dkim] and site keys")) {
		diag("%s", err_str());
		return;
	}
	is_str(c.dkim_selector, "sel", "[dkim] selector");
	is_str(choose(&c, "alice", "alice.test"), "alice.test/sel",
	    "own domain with a key");
	snprintf(p, sizeof(p), "no key alice.example.sel.key in %s/keys", dir);
	is_str(choose(&c, "alice", "alice.example"), p,
	    "own domain without a key: the reason names the key and directory");
	is_str(choose(&c, "alice", "other.test"), "From domain other.test is "
	    "not one of site alice's domains", "foreign From: unsigned");
	is_str(choose(&c, "alice", "shop.alice.test"), "shop.alice.test is a "
	    "subdomain of alice.test and dkim_subdomains = no",
	    "subdomain without dkim_subdomains");
	is_str(choose(&c, "bob", "shop.bob.test"), "bob.test/sel",
	    "subdomain: the parent's key with dkim_subdomains = yes");
	is_str(choose(&c, "bob", "x.sub.bob.test"), "bob.test/sel",
	    "a key of a non-site subdomain is not used");
	is_str(choose(&c, "carol", "carol.test"), "dkim = no for site carol",
	    "dkim = no");
	is_str(choose(&c, "dave", "dave.test"), "site dave has no [site] "
	    "section, so no domains", "unknown site");
	is_str(choose(&c, "alice", NULL), "no From", "no From domain");
	conf_free(&c);
	snprintf(p, sizeof(p), "%s/sitemail.conf", dir);
	fp = fopen(p, "w");
	fprintf(fp, "[site x]\ndomains = x.test\ndkim = maybe\n");
	fclose(fp);
	ok(conf_load(&c, dir) == EX_CONFIG && strstr(err_str(),
	    "sitemail.conf:3: bad value \"maybe\" for dkim") != NULL,
	    "dkim = maybe: FILE:LINE and the key");
	fp = fopen(p, "w");
	fprintf(fp, "[dkim]\nselector = bad/sel\n");
	fclose(fp);
	ok(conf_load(&c, dir) == EX_CONFIG && strstr(err_str(),
	    "sitemail.conf:2: bad value") != NULL, "a selector with '/'");
	fp = fopen(p, "w");
	fprintf(fp, "[dkim]\n");
	fclose(fp);
	if (ok(conf_load(&c, dir) == 0, "defaults")) {
		snprintf(p, sizeof(p), "%s/dkim", dir);
		is_str(c.dkim_keys, p, "keys default: dkim in the config dir");
		is_str(c.dkim_selector, "sitemail", "selector default: sitemail");
		conf_free(&c);
	}
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	(void)system(p);
}

/* main - run every group. */
int
main(void)
{
	struct dkim_cache *cache;
	EVP_PKEY *key, *k2, *k3 = NULL;
	struct buf b;
	const char *kp;
	static char keytmp[] = "/tmp/test_dkim_key.XXXXXX";

	src = getenv("SM_SRC") ? getenv("SM_SRC") : ".";
	test_rfc_examples();
	test_from();
	kp = key_copy("test.key", keytmp);

	ok(chmod(path("test.key"), 0644) == 0 &&
	    dkim_key_read(path("test.key"), &key) == EX_NOPERM,
	    "a key the group or others may read is refused");
	if (!ok(kp && dkim_key_read(kp, &key) == 0, "test key (0600) loads"))
		return tap_done();
	is_int(dkim_key_bits(key), 2048, "2048 bits");
	buf_init(&b, 4096);
	ok(dkim_pubkey_b64(key, &b) == 0, "public key encodes");
	is_str(buf_str(&b), TEST_P, "p= equals openssl's SubjectPublicKeyInfo");
	buf_free(&b);
	test_golden(key);
	test_ed25519(key);
	{
		char	 junk[] = "/tmp/test_dkim_junk.XXXXXX";
		int	 fd = mkstemp(junk);

		ok(fd >= 0 && write(fd, "no key\n", 7) == 7 &&
		    dkim_key_read(junk, &k2) == EX_DATAERR,
		    "a 0600 file that is no key: EX_DATAERR");
		if (fd >= 0) {
			close(fd);
			unlink(junk);
		}
	}
	ok(dkim_key_read(path("missing.key"), &k2) == EX_NOINPUT,
	    "a missing key: EX_NOINPUT");
	ok(dkim_cache_new(&cache) == 0 &&
	    dkim_cache_get(cache, kp, &k2) == 0 &&
	    EVP_PKEY_eq(k2, key) == 1, "the cache loads the key");
	ok(dkim_cache_get(cache, kp, &k3) == 0 && k3 == k2,
	    "and then returns the same key");
	dkim_cache_free(cache);
	EVP_PKEY_free(key);
	unlink(kp);
	test_choose();
	return tap_done();
}
