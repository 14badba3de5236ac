/*
 * dkim_key.c - DKIM key choice, the runner's key cache and its signing
 * hook; see dkim_key.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat/wire.h"
#include "queue/dkim_key.h"
#include "util/msg.h"

#define DKIM_READ_CHUNK	65536

/* One cached key, reloaded when the file's identity or ctime changes. */
struct dkim_cached {
	char	*path;
	dev_t	 dev;
	ino_t	 ino;
	struct timespec ctime;		/* any change: chmod, chown, write */
	EVP_PKEY *key;
};

struct dkim_cache {
	struct dkim_cached k[DKIM_CACHE_KEYS];
	size_t	 next;			/* slot replaced when full */
};

/* dkim_key_path - keys/DOMAIN.SELECTOR.key into out. */
int
dkim_key_path(const struct conf *c, const char *domain, const char *selector,
    char *out, size_t len)
{
	int	 n;

	n = snprintf(out, len, "%s/%s.%s.key", c->dkim_keys, domain, selector);
	if (n < 0 || (size_t)n >= len)
		return err_set(EX_CONFIG, "dkim: key path too long");
	return 0;
}

/* dkim_site_domain - 1 if d is one of the site's domains. */
static int
dkim_site_domain(const struct conf_site *s, const char *d)
{
	size_t	 i;

	for (i = 0; i < s->domains.n; i++)
		if (strcasecmp(s->domains.v[i], d) == 0)
			return 1;
	return 0;
}

/* dkim_key_exists - 1 if the key file for (d, selector) is there. */
static int
dkim_key_exists(const struct conf *c, const char *d, const char *sel,
    char *path, size_t len)
{
	struct stat st;

	return dkim_key_path(c, d, sel, path, len) == 0 &&
	    stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dkim_take - choose (d, selector, path), and the Ed25519 key of
 * selector-ed25519 when there is one. */
static int
dkim_take(const struct conf *c, struct dkim_choice *ch, const char *d,
    const char *sel)
{
	ch->sign = 1;
	snprintf(ch->domain, sizeof(ch->domain), "%s", d);
	snprintf(ch->selector, sizeof(ch->selector), "%s", sel);
	snprintf(ch->ed_selector, sizeof(ch->ed_selector), "%s%s", sel,
	    DKIM_ED_SUFFIX);
	if (!dkim_key_exists(c, d, ch->ed_selector, ch->ed_path,
	    sizeof(ch->ed_path)))
		ch->ed_selector[0] = ch->ed_path[0] = '\0';
	return 0;
}

/* dkim_parent - the nearest parent of d that is one of the site's
 * domains, or NULL. */
static const char *
dkim_parent(const struct conf_site *s, const char *d)
{
	const char *p;

	for (p = strchr(d, '.'); p != NULL; p = strchr(p + 1, '.'))
		if (p[1] != '\0' && dkim_site_domain(s, p + 1))
			return p + 1;
	return NULL;
}

/* dkim_choose - the key for a From domain of site. */
int
dkim_choose(const struct conf *c, const char *site, const char *from,
    const char *from_why, struct dkim_choice *ch)
{
	const struct conf_site *s = conf_site_find(c, site);
	const char *sel = c->dkim_selector, *parent;
	int	 owned;

	memset(ch, 0, sizeof(*ch));
	if (from == NULL) {
		snprintf(ch->why, sizeof(ch->why), "%s", from_why);
		return 0;
	}
	if (s == NULL) {
		snprintf(ch->why, sizeof(ch->why), "site %s has no [site] "
		    "section, so no domains", site);
		return 0;
	}
	if (!s->dkim) {
		snprintf(ch->why, sizeof(ch->why), "dkim = no for site %s",
		    site);
		return 0;
	}
	owned = dkim_site_domain(s, from);
	if (owned && dkim_key_exists(c, from, sel, ch->path, sizeof(ch->path)))
		return dkim_take(c, ch, from, sel);
	parent = dkim_parent(s, from);
	if (parent && s->dkim_subdomains && dkim_key_exists(c, parent, sel,
	    ch->path, sizeof(ch->path)))
		return dkim_take(c, ch, parent, sel);
	if (owned || (parent && s->dkim_subdomains))
		snprintf(ch->why, sizeof(ch->why), "no key %s.%s.key in %s",
		    parent && s->dkim_subdomains ? parent : from, sel,
		    c->dkim_keys);
	else if (parent)
		snprintf(ch->why, sizeof(ch->why), "%s is a subdomain of %s "
		    "and dkim_subdomains = no", from, parent);
	else
		snprintf(ch->why, sizeof(ch->why), "From domain %s is not one "
		    "of site %s's domains", from, site);
	return 0;
}

/* The key cache. */

/* dkim_cache_new - an empty key cache. */
int
dkim_cache_new(struct dkim_cache **cp)
{
	if ((*cp = calloc(1, sizeof(**cp))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	return 0;
}

/* dkim_cached_drop - empty one slot. */
static void
dkim_cached_drop(struct dkim_cached *k)
{
	free(k->path);
	EVP_PKEY_free(k->key);
	memset(k, 0, sizeof(*k));
}

/* dkim_cache_free - release the cache and its keys. */
void
dkim_cache_free(struct dkim_cache *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < DKIM_CACHE_KEYS; i++)
		dkim_cached_drop(&c->k[i]);
	free(c);
}

/* dkim_cache_get - the key at path, loaded or cached. */
int
dkim_cache_get(struct dkim_cache *c, const char *path, EVP_PKEY **kp)
{
	struct dkim_cached *k = NULL;
	struct stat st;
	EVP_PKEY *key;
	size_t	 i;
	int	 rc;

	if (stat(path, &st) < 0)
		return err_set(errno == ENOENT ? EX_NOINPUT : EX_NOPERM,
		    "cannot read %s: %s", path, strerror(errno));
	for (i = 0; i < DKIM_CACHE_KEYS; i++)
		if (c->k[i].path && strcmp(c->k[i].path, path) == 0) {
			k = &c->k[i];
			break;
		}
	if (k && k->dev == st.st_dev && k->ino == st.st_ino &&
	    k->ctime.tv_sec == st.st_ctim.tv_sec &&
	    k->ctime.tv_nsec == st.st_ctim.tv_nsec) {
		*kp = k->key;
		return 0;
	}
	if ((rc = dkim_key_read(path, &key)) != 0)
		return rc;
	if (k == NULL) {
		k = &c->k[c->next];
		c->next = (c->next + 1) % DKIM_CACHE_KEYS;
	}
	dkim_cached_drop(k);
	if ((k->path = strdup(path)) == NULL) {
		EVP_PKEY_free(key);
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	k->key = key;
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->ctime = st.st_ctim;
	*kp = key;
	return 0;
}

/* The runner's hook. */

/* dkim_feed_header - feed the stream until the end of the header (or of
 * the stream); -1 on a read error. */
static int
dkim_feed_header(struct dkim_signer *s, dkim_reader rd, void *ctx,
    char *b, int *eof)
{
	ssize_t	 n;

	*eof = 0;
	while (!dkim_signer_in_body(s)) {
		if ((n = rd(ctx, b, DKIM_READ_CHUNK)) < 0)
			return -1;
		if (n == 0) {
			*eof = 1;
			break;
		}
		if (dkim_signer_feed(s, b, (size_t)n) != 0)
			return -1;
	}
	return 0;
}

/* dkim_sign_ed - the second signature, ed25519-sha256; a failure only
 * leaves it out (and says so in note). */
static void
dkim_sign_ed(struct dkim_cache *cache, struct dkim_signer *s,
    const struct dkim_choice *ch, time_t now, struct buf *out, char *note,
    size_t notelen)
{
	size_t	 n = strlen(note);
	EVP_PKEY *key;

	if (dkim_cache_get(cache, ch->ed_path, &key) != 0)
		snprintf(note + n, notelen - n, " (no ed25519: %s)", err_str());
	else if (strcmp(dkim_key_type(key), "ed25519") != 0)
		snprintf(note + n, notelen - n, " (no ed25519: %s is not an "
		    "Ed25519 key)", ch->ed_path);
	else if (dkim_signer_finish(s, key, ch->domain, ch->ed_selector, now,
	    out) != 0)
		snprintf(note + n, notelen - n, " (no ed25519: %s)", err_str());
	else
		snprintf(note + n, notelen - n, "+%s", ch->ed_selector);
}

/* dkim_sign_stream - choose the key, sign, and say what was done. */
int
dkim_sign_stream(struct dkim_cache *cache, const struct conf *c,
    const char *site, dkim_reader rd, void *ctx, time_t now, struct buf *out,
    char *note, size_t notelen)
{
	struct dkim_signer *s = NULL;
	struct dkim_choice ch;
	char	 from[DKIM_DOMAIN_MAX + 1], why[200], *b = NULL;
	EVP_PKEY *key;
	int	 rc, eof;

	if ((rc = dkim_signer_new(&s)) != 0 ||
	    (b = malloc(DKIM_READ_CHUNK)) == NULL) {
		rc = rc ? rc : err_set(EX_TEMPFAIL, "out of memory");
		goto fail;
	}
	if ((rc = dkim_feed_header(s, rd, ctx, b, &eof)) != 0) {
		rc = EX_TEMPFAIL;
		goto fail;
	}
	rc = dkim_signer_from_domain(s, from, sizeof(from), why, sizeof(why));
	dkim_choose(c, site, rc == 0 ? from : NULL, why, &ch);
	if (!ch.sign) {
		snprintf(note, notelen, "none (%s)", ch.why);
		rc = 0;
		goto out;
	}
	if ((rc = dkim_cache_get(cache, ch.path, &key)) != 0)
		goto fail;
	if (strcmp(dkim_key_type(key), "rsa") != 0) {
		rc = err_set(EX_CONFIG, "%s is not an RSA key", ch.path);
		goto fail;
	}
	if ((!eof && (rc = dkim_signer_feed_all(s, rd, ctx)) != 0) ||
	    (rc = dkim_signer_finish(s, key, ch.domain, ch.selector, now,
	    out)) != 0)
		goto fail;
	snprintf(note, notelen, "%s/%s", ch.domain, ch.selector);
	if (ch.ed_path[0])
		dkim_sign_ed(cache, s, &ch, now, out, note, notelen);
	goto out;
fail:
	snprintf(note, notelen, "none (signing failed: %s)", err_str());
out:
	free(b);
	dkim_signer_free(s);
	return rc;
}

/* dkim_spool_src_read - wire_src.read over the verified spool file. */
static ssize_t
dkim_spool_src_read(void *arg, char *buf, size_t n, uint64_t off)
{
	return spool_read_content(arg, off, buf, n);
}

/* dkim_spool_read - the next wire-form bytes of src->msg: exactly what
 * relay_read sends after the signature, so what is signed is sent. */
ssize_t
dkim_spool_read(void *arg, void *buf, size_t n)
{
	struct dkim_spool_src *src = arg;
	struct wire_src ws;

	if (src->w == NULL) {
		ws.read = dkim_spool_src_read;
		ws.ctx = src->msg;
		ws.len = src->msg->content_len;
		if (wire_open(&src->w, &ws) != 0)
			return -1;
	}
	return wire_read(src->w, buf, n);
}

/* dkim_spool_done - release the wire stream. */
void
dkim_spool_done(struct dkim_spool_src *src)
{
	wire_free(src->w);
	src->w = NULL;
}
