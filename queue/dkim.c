/*
 * dkim.c - DKIM signing over a byte stream; see dkim.h.
 *
 * Relaxed body canonicalization (RFC 6376 3.4.4) is a small state machine
 * so the body is hashed in one pass as it is fed: white space is held
 * back until the next visible byte (runs become one SP, trailing ones
 * vanish), and line ends are held back as a count until the next visible
 * byte (empty lines at the end vanish).  A CR that is not followed by LF
 * is an ordinary byte.  Canonical bytes go through a small buffer into
 * the SHA-256 of the body.
 *
 * Relaxed header canonicalization (3.4.2): the name in lower case, the
 * value unfolded, white-space runs made one SP, white space around the
 * colon and at the end removed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "compat/compat.h"
#include "queue/dkim.h"
#include "util/msg.h"

#define DKIM_OUT_BUF	8192
#define DKIM_KEY_MAX	(64 * 1024)	/* bytes of a key file */

struct dkim_signer {
	struct buf hdr;			/* the header, as fed */
	int	 in_body;		/* the blank line was seen */
	int	 overflow;		/* the header was too long */
	size_t	 hseen;			/* header bytes fed */
	struct buf *sink;		/* tests: canonical body bytes go here */
	unsigned char tail[4];		/* last bytes of the header so far */
	EVP_MD_CTX *body;		/* SHA-256 of the canonical body */
	size_t	 crlfs;			/* held-back line ends */
	int	 ws;			/* held-back white space */
	int	 cr;			/* a CR that may start a CRLF */
	int	 line_open;		/* visible bytes since the last CRLF */
	int	 any;			/* any visible byte in the body */
	int	 failed;
	unsigned char bh[EVP_MAX_MD_SIZE];	/* body hash, once finished */
	unsigned bhlen;			/* 0 until the body is finished */
	unsigned char out[DKIM_OUT_BUF];
	size_t	 nout;
};

static const char *const dkim_signed[] = { DKIM_SIGNED_HEADERS };
#define DKIM_NSIGNED	(sizeof(dkim_signed) / sizeof(dkim_signed[0]))

/* dkim_signer_new - a signer for one message. */
int
dkim_signer_new(struct dkim_signer **sp)
{
	struct dkim_signer *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return err_set(EX_TEMPFAIL, "dkim: out of memory");
	buf_init(&s->hdr, DKIM_HEADER_MAX);
	if ((s->body = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s->body, EVP_sha256(), NULL) != 1) {
		dkim_signer_free(s);
		return err_set(EX_TEMPFAIL, "dkim: cannot start SHA-256");
	}
	*sp = s;
	return 0;
}

/* dkim_signer_free - release a signer. */
void
dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL)
		return;
	buf_free(&s->hdr);
	EVP_MD_CTX_free(s->body);
	free(s);
}

/* dkim_body_flush - hash the buffered canonical body bytes. */
static void
dkim_body_flush(struct dkim_signer *s)
{
	if (s->nout > 0 && (s->sink ? buf_add(s->sink, s->out, s->nout) < 0 :
	    EVP_DigestUpdate(s->body, s->out, s->nout) != 1))
		s->failed = 1;
	s->nout = 0;
}

/* dkim_body_put - one canonical body byte. */
static inline void
dkim_body_put(struct dkim_signer *s, unsigned char c)
{
	if (s->nout == sizeof(s->out))
		dkim_body_flush(s);
	s->out[s->nout++] = c;
}

/* dkim_body_visible - a visible byte: first the held-back line ends and
 * white space. */
static inline void
dkim_body_visible(struct dkim_signer *s, unsigned char c)
{
	for (; s->crlfs > 0; s->crlfs--) {
		dkim_body_put(s, '\r');
		dkim_body_put(s, '\n');
	}
	if (s->ws) {
		dkim_body_put(s, ' ');
		s->ws = 0;
	}
	dkim_body_put(s, c);
	s->line_open = s->any = 1;
}

/* dkim_body_run - the length of the run at p of bytes that are neither
 * CR nor white space (copied as they are). */
static inline size_t
dkim_body_run(const unsigned char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] == '\r' || p[i] == ' ' || p[i] == '\t')
			break;
	return i;
}

/* dkim_body_put_n - n canonical body bytes. */
static void
dkim_body_put_n(struct dkim_signer *s, const unsigned char *p, size_t n)
{
	size_t	 k;

	while (n > 0) {
		if (s->nout == sizeof(s->out))
			dkim_body_flush(s);
		k = sizeof(s->out) - s->nout;
		if (k > n)
			k = n;
		memcpy(s->out + s->nout, p, k);
		s->nout += k;
		p += k;
		n -= k;
	}
}

/* dkim_body_feed - canonicalize and hash n body bytes.  After a visible
 * byte, the run of plain bytes behind it is copied in one go. */
static void
dkim_body_feed(struct dkim_signer *s, const unsigned char *p, size_t n)
{
	size_t	 i, k;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (s->cr) {
			s->cr = 0;
			if (c == '\n') {
				s->crlfs++;
				s->ws = s->line_open = 0;
				continue;
			}
			dkim_body_visible(s, '\r');
		}
		if (c == '\r')
			s->cr = 1;
		else if (c == ' ' || c == '\t')
			s->ws = 1;
		else {
			dkim_body_visible(s, c);
			k = dkim_body_run(p + i + 1, n - i - 1);
			dkim_body_put_n(s, p + i + 1, k);
			i += k;
		}
	}
}

/* dkim_body_end - the end of the body: a final CRLF after visible text. */
static void
dkim_body_end(struct dkim_signer *s)
{
	if (s->cr) {
		s->cr = 0;
		dkim_body_visible(s, '\r');
	}
	if (s->any) {
		dkim_body_put(s, '\r');
		dkim_body_put(s, '\n');
	}
	s->crlfs = 0;
	s->ws = 0;
	dkim_body_flush(s);
}

/* dkim_header_feed - header bytes up to the blank line; returns how many
 * of the n bytes belong to the header (the rest is body). */
static size_t
dkim_header_feed(struct dkim_signer *s, const unsigned char *p, size_t n)
{
	size_t	 i, take = n;

	for (i = 0; i < n; i++) {
		memmove(s->tail, s->tail + 1, 3);
		s->tail[3] = p[i];
		/* "\r\n" at the very start, or "\r\n\r\n": the blank line. */
		if ((s->hseen + i == 1 && p[i] == '\n' && s->tail[2] == '\r') ||
		    memcmp(s->tail, "\r\n\r\n", 4) == 0) {
			take = i + 1;
			s->in_body = 1;
			break;
		}
	}
	if (!s->overflow && buf_add(&s->hdr, p, take) < 0)
		s->overflow = 1;
	s->hseen += take;
	return take;
}

/* dkim_signer_feed - the next n bytes of the message. */
int
dkim_signer_feed(struct dkim_signer *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t	 k;

	if (!s->in_body) {
		k = dkim_header_feed(s, p, n);
		p += k;
		n -= k;
	}
	if (n > 0)
		dkim_body_feed(s, p, n);
	if (s->failed)
		return err_set(EX_SOFTWARE, "dkim: hashing failed");
	return 0;
}

/* dkim_signer_feed_all - feed the whole stream from a reader. */
int
dkim_signer_feed_all(struct dkim_signer *s, dkim_reader rd, void *ctx)
{
	char	*b;
	ssize_t	 n;
	int	 rc = 0;

	if ((b = malloc(65536)) == NULL)
		return err_set(EX_TEMPFAIL, "dkim: out of memory");
	while ((n = rd(ctx, b, 65536)) > 0)
		if ((rc = dkim_signer_feed(s, b, (size_t)n)) != 0)
			break;
	free(b);
	if (n < 0)
		return EX_TEMPFAIL;
	return rc;
}

/* dkim_signer_in_body - 1 once the end of the header has been fed. */
int
dkim_signer_in_body(const struct dkim_signer *s)
{
	return s->in_body;
}

/* Header fields. */

/* One header field inside the kept header. */
struct dkim_field {
	const char *p;			/* name ... value, without final CRLF */
	size_t	 n;
	size_t	 namelen;
	int	 used;			/* hashed already (bottom-up choice) */
};

/* dkim_fields - split the header into fields; the count, -1 on memory. */
static ssize_t
dkim_fields(const struct dkim_signer *s, struct dkim_field **fp)
{
	const char *p = s->hdr.ptr, *end = p ? p + s->hdr.len : NULL, *eol,
		 *colon;
	struct dkim_field *f = NULL, *nf;
	size_t	 n = 0, cap = 0;

	while (p != NULL && p < end && !(end - p >= 2 && p[0] == '\r' &&
	    p[1] == '\n')) {
		eol = p;
		for (;;) {		/* the field ends at a CRLF not followed by WSP */
			eol = memmem(eol, (size_t)(end - eol), "\r\n", 2);
			if (eol == NULL)
				eol = end;
			if (eol == end || eol + 2 >= end ||
			    (eol[2] != ' ' && eol[2] != '\t'))
				break;
			eol += 2;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon != NULL) {
			if (n == cap) {
				cap = cap ? cap * 2 : 32;
				if ((nf = reallocarray(f, cap, sizeof(*f))) ==
				    NULL) {
					free(f);
					return -1;
				}
				f = nf;
			}
			f[n].p = p;
			f[n].n = (size_t)(eol - p);
			f[n].namelen = (size_t)(colon - p);
			while (f[n].namelen > 0 && (p[f[n].namelen - 1] == ' ' ||
			    p[f[n].namelen - 1] == '\t'))
				f[n].namelen--;
			f[n].used = 0;
			n++;
		}
		p = eol == end ? end : eol + 2;
	}
	*fp = f;
	return (ssize_t)n;
}

/* dkim_field_is - 1 if field f is named name (case-insensitive). */
static int
dkim_field_is(const struct dkim_field *f, const char *name)
{
	return strlen(name) == f->namelen &&
	    strncasecmp(f->p, name, f->namelen) == 0;
}

/* dkim_canon_header - the relaxed form of one field, with CRLF. */
int
dkim_canon_header(const char *field, size_t n, struct buf *out)
{
	const char *colon = memchr(field, ':', n);
	size_t	 i, namelen, start = out->len;
	int	 ws = 0, rc = 0;

	if (colon == NULL)
		return -1;
	namelen = (size_t)(colon - field);
	while (namelen > 0 && (field[namelen - 1] == ' ' ||
	    field[namelen - 1] == '\t'))
		namelen--;
	for (i = 0; i < namelen && rc == 0; i++)
		rc = buf_addch(out, field[i] >= 'A' && field[i] <= 'Z' ?
		    field[i] + 32 : field[i]);
	if (rc == 0)
		rc = buf_addch(out, ':');
	for (i = (size_t)(colon - field) + 1; i < n && rc == 0; i++) {
		char	 c = field[i];

		if (c == '\r' || c == '\n')
			continue;	/* unfold */
		if (c == ' ' || c == '\t') {
			ws = 1;
			continue;
		}
		if (ws && out->len > start + namelen + 1)
			rc = buf_addch(out, ' ');
		ws = 0;
		if (rc == 0)
			rc = buf_addch(out, c);
	}
	if (rc == 0)
		rc = buf_add(out, "\r\n", 2);
	return rc;
}

/* dkim_canon_body - the relaxed form of a whole body (tests). */
int
dkim_canon_body(const char *p, size_t n, struct buf *out)
{
	struct dkim_signer s;

	memset(&s, 0, sizeof(s));
	s.sink = out;
	dkim_body_feed(&s, (const unsigned char *)p, n);
	dkim_body_end(&s);
	return s.failed ? -1 : 0;
}

/* dkim_signer_from_domain - the domain of the one From address. */
int
dkim_signer_from_domain(const struct dkim_signer *s, char *out, size_t len,
    char *why, size_t whylen)
{
	struct dkim_field *f = NULL;
	struct addrlist al = { NULL, 0 };
	ssize_t	 n, i, at = -1;
	char	*v = NULL;
	const char *d;
	int	 rc = -1;

	if (s->overflow) {
		snprintf(why, whylen, "header over %d bytes", DKIM_HEADER_MAX);
		return -1;
	}
	if ((n = dkim_fields(s, &f)) < 0) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (dkim_field_is(&f[i], "from")) {
			if (at >= 0) {
				snprintf(why, whylen, "several From headers");
				goto out;
			}
			at = i;
		}
	if (at < 0) {
		snprintf(why, whylen, "no From header");
		goto out;
	}
	v = strndup(f[at].p + f[at].namelen + 1, f[at].n - f[at].namelen - 1);
	if (v == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	(void)addr_parse_list(v, &al);
	if (al.n != 1) {
		snprintf(why, whylen, "%s", al.n ? "several From addresses" :
		    "no address in From");
		goto out;
	}
	d = addr_domain(al.v[0]);
	if (*d == '\0' || strlen(d) >= len) {
		snprintf(why, whylen, "no usable domain in From");
		goto out;
	}
	for (i = 0; d[i]; i++)
		out[i] = d[i] >= 'A' && d[i] <= 'Z' ? d[i] + 32 : d[i];
	out[i] = '\0';
	rc = 0;
out:
	addr_free(&al);
	free(v);
	free(f);
	return rc;
}

/* Signing. */

/* dkim_b64 - append the base64 of n bytes to out. */
static int
dkim_b64(const unsigned char *p, size_t n, struct buf *out)
{
	unsigned char *t;
	int	 k, rc;

	if ((t = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return -1;
	k = EVP_EncodeBlock(t, p, (int)n);
	rc = k < 0 ? -1 : buf_add(out, t, (size_t)k);
	free(t);
	return rc;
}

/* dkim_h_list - the h= list and the signed fields' canonical bytes. */
static int
dkim_h_list(struct dkim_field *f, size_t n, struct buf *h, struct buf *data)
{
	size_t	 i, k, count;
	ssize_t	 j;

	for (i = 0; i < DKIM_NSIGNED; i++) {
		for (count = 0, k = 0; k < n; k++)
			count += dkim_field_is(&f[k], dkim_signed[i]);
		if (i == 0)
			count++;	/* oversign From */
		for (k = 0; k < count; k++) {
			if ((h->len && buf_addch(h, ':') < 0) ||
			    buf_addstr(h, dkim_signed[i]) < 0)
				return -1;
			/* Bottom-up: the last instance not used yet. */
			for (j = (ssize_t)n - 1; j >= 0; j--)
				if (!f[j].used &&
				    dkim_field_is(&f[j], dkim_signed[i]))
					break;
			if (j < 0)
				continue;	/* the oversigned null field */
			f[j].used = 1;
			if (dkim_canon_header(f[j].p, f[j].n, data) < 0)
				return -1;
		}
	}
	return 0;
}

/* dkim_is_ed25519 - 1 for an Ed25519 key. */
static int
dkim_is_ed25519(EVP_PKEY *key)
{
	return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
}

/* dkim_sign_data - the signature of data, base64, folded: RSA-SHA256
 * (PKCS#1 v1.5 over SHA-256 of data), or for an Ed25519 key PureEdDSA
 * over the SHA-256 digest of data (RFC 8463). */
static int
dkim_sign_data(EVP_PKEY *key, const struct buf *data, struct buf *out)
{
	EVP_MD_CTX *md;
	unsigned char *sig = NULL, dg[32];
	const unsigned char *m = (const unsigned char *)data->ptr;
	size_t	 siglen = 0, mlen = data->len, i;
	struct buf b64;
	int	 rc = -1, ed = dkim_is_ed25519(key);

	buf_init(&b64, DKIM_SIG_MAX);
	if (ed) {
		if (EVP_Digest(m, mlen, dg, NULL, EVP_sha256(), NULL) != 1)
			return -1;
		m = dg;
		mlen = sizeof(dg);
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, ed ? NULL : EVP_sha256(), NULL,
	    key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, m, mlen) != 1 ||
	    (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(md, sig, &siglen, m, mlen) != 1 ||
	    dkim_b64(sig, siglen, &b64) < 0)
		goto out;
	for (i = 0; i < b64.len; i += DKIM_B64_LINE) {
		if (i > 0 && buf_add(out, "\r\n\t", 3) < 0)
			goto out;
		if (buf_add(out, b64.ptr + i, b64.len - i < DKIM_B64_LINE ?
		    b64.len - i : DKIM_B64_LINE) < 0)
			goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	free(sig);
	buf_free(&b64);
	return rc;
}

/* dkim_signer_finish - append the DKIM-Signature header to out. */
int
dkim_signer_finish(struct dkim_signer *s, EVP_PKEY *key, const char *domain,
    const char *selector, time_t t, struct buf *out)
{
	struct dkim_field *f = NULL;
	struct buf h, data, sig;
	ssize_t	 n;
	int	 rc = EX_SOFTWARE;

	if (s->overflow)
		return err_set(EX_DATAERR, "dkim: header over %d bytes",
		    DKIM_HEADER_MAX);
	if (s->bhlen == 0) {		/* the first signature ends the body */
		dkim_body_end(s);
		if (s->failed || EVP_DigestFinal_ex(s->body, s->bh,
		    &s->bhlen) != 1 || s->bhlen == 0)
			return err_set(EX_SOFTWARE, "dkim: hashing failed");
	}
	buf_init(&h, 4096);
	buf_init(&data, DKIM_HEADER_MAX + DKIM_SIG_MAX);
	buf_init(&sig, DKIM_SIG_MAX);
	if ((n = dkim_fields(s, &f)) < 0 ||
	    dkim_h_list(f, (size_t)n, &h, &data) < 0)
		goto fail;
	if (buf_printf(&sig, "DKIM-Signature: v=1; a=%s; "
	    "c=relaxed/relaxed; d=%s; s=%s;\r\n\tt=%lld; h=%s;\r\n\tbh=",
	    dkim_is_ed25519(key) ? "ed25519-sha256" : "rsa-sha256", domain,
	    selector, (long long)t, buf_str(&h)) < 0 ||
	    dkim_b64(s->bh, s->bhlen, &sig) < 0 ||
	    buf_addstr(&sig, ";\r\n\tb=") < 0)
		goto fail;
	/* The signature's own header, b= empty, last and without CRLF. */
	if (dkim_canon_header(sig.ptr, sig.len, &data) < 0)
		goto fail;
	data.len -= 2;
	if (dkim_sign_data(key, &data, &sig) < 0) {
		rc = err_set(EX_SOFTWARE, "dkim: signing failed (key "
		    "unusable?)");
		goto out;
	}
	if (buf_add(&sig, "\r\n", 2) < 0 || buf_add(out, sig.ptr, sig.len) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	rc = err_set(EX_TEMPFAIL, "dkim: out of memory");
out:
	free(f);
	buf_free(&h);
	buf_free(&data);
	buf_free(&sig);
	return rc;
}

/* Keys. */

/* dkim_key_read - load a PEM private key from path. */
int
dkim_key_read(const char *path, EVP_PKEY **kp)
{
	char	*b;
	ssize_t	 n;
	size_t	 len = 0;
	BIO	*bio;
	EVP_PKEY *k;
	struct stat st;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return err_set(errno == ENOENT ? EX_NOINPUT : EX_NOPERM,
		    "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		return err_set(EX_NOPERM, "%s: refused: not a regular file of "
		    "mode 0600 (a key the group or others can read is not "
		    "used: chmod 600 it, and consider it leaked)", path);
	}
	if ((b = malloc(DKIM_KEY_MAX)) == NULL) {
		close(fd);
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	while (len < DKIM_KEY_MAX && (n = read(fd, b + len,
	    DKIM_KEY_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	bio = BIO_new_mem_buf(b, (int)len);
	k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(b, DKIM_KEY_MAX);
	free(b);
	if (k == NULL)
		return err_set(EX_DATAERR, "%s: not a PEM private key", path);
	if (!dkim_is_ed25519(k) && (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(k) < 1024 || EVP_PKEY_get_bits(k) > 8192)) {
		EVP_PKEY_free(k);
		return err_set(EX_DATAERR, "%s: neither an RSA key of 1024 to "
		    "8192 bits nor an Ed25519 key", path);
	}
	*kp = k;
	return 0;
}

/* dkim_key_bits - the key's size in bits. */
int
dkim_key_bits(EVP_PKEY *k)
{
	return EVP_PKEY_get_bits(k);
}

/* dkim_key_type - "rsa" or "ed25519" (the k= tag). */
const char *
dkim_key_type(EVP_PKEY *k)
{
	return dkim_is_ed25519(k) ? "ed25519" : "rsa";
}

/* dkim_pubkey_b64 - the p= value: base64 DER SubjectPublicKeyInfo for
 * RSA, the raw 32-byte public key for Ed25519 (RFC 8463). */
int
dkim_pubkey_b64(EVP_PKEY *k, struct buf *out)
{
	unsigned char *der = NULL, raw[32];
	size_t	 rawlen = sizeof(raw);
	int	 n, rc;

	if (dkim_is_ed25519(k)) {
		if (EVP_PKEY_get_raw_public_key(k, raw, &rawlen) != 1)
			return err_set(EX_SOFTWARE, "dkim: cannot get the "
			    "public key");
		return dkim_b64(raw, rawlen, out) < 0 ?
		    err_set(EX_TEMPFAIL, "out of memory") : 0;
	}
	if ((n = i2d_PUBKEY(k, &der)) <= 0)
		return err_set(EX_SOFTWARE, "dkim: cannot encode the public "
		    "key");
	rc = dkim_b64(der, (size_t)n, out);
	OPENSSL_free(der);
	return rc < 0 ? err_set(EX_TEMPFAIL, "out of memory") : 0;
}
