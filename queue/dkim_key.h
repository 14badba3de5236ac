/*
 * dkim_key.h - which DKIM key signs a message, the runner's key cache,
 * and the runner's signing hook.
 *
 * Key files: [dkim] keys/DOMAIN.SELECTOR.key (DOMAIN in lower case), a PEM
 * private key owned by the runner user, mode 0600, in a directory of mode
 * 0700: the set-gid programs (group sitemail, running inside the sites)
 * can neither read nor list them.
 *
 * Choice (dkim_choose), for the From domain F of a message of site S:
 *  - S has a [site] section with dkim = yes (the default);
 *  - F is one of S's domains and keys/F.SEL.key exists: d=F;
 *  - else, with dkim_subdomains = yes, the nearest parent P of F that is
 *    one of S's domains and has keys/P.SEL.key: d=P;
 *  - else the message goes unsigned, and why says so.
 * SEL is [dkim] selector.  Rotation: keygen a second selector, publish
 * its record, then switch [dkim] selector (see INSTALL).  The key must be
 * RSA.  When keys/D.SEL-ed25519.key (an Ed25519 key) exists too, a second
 * signature (ed25519-sha256, selector SEL-ed25519) is added; never
 * instead of the RSA one (Gmail and Outlook verify RSA only).
 */
#ifndef SM_DKIM_KEY_H
#define SM_DKIM_KEY_H

#include <limits.h>
#include <time.h>

#include "queue/dkim.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/conf.h"

#define DKIM_DOMAIN_MAX		253
#define DKIM_WHY_MAX		400
#define DKIM_CACHE_KEYS		64
#define DKIM_ED_SUFFIX		"-ed25519"

/* The outcome of a key choice. */
struct dkim_choice {
	int	 sign;			/* 1: sign with d=domain, s=selector */
	char	 domain[DKIM_DOMAIN_MAX + 1];
	char	 selector[64];
	char	 path[PATH_MAX];
	char	 ed_selector[80];	/* "" or SELECTOR-ed25519 */
	char	 ed_path[PATH_MAX];	/* its key, when it exists */
	char	 why[DKIM_WHY_MAX];	/* sign == 0: the reason */
};

struct dkim_cache;

/* dkim_key_path - keys/DOMAIN.SELECTOR.key into out (EX_CONFIG: too long). */
int	dkim_key_path(const struct conf *, const char *domain,
	    const char *selector, char *out, size_t len);
/* dkim_choose - the key for a From domain of site (see above); from NULL
 * means the message had no usable From (from_why says why).  Returns 0;
 * ch->sign says whether to sign. */
int	dkim_choose(const struct conf *, const char *site, const char *from,
	    const char *from_why, struct dkim_choice *ch);

/* dkim_cache_new - an empty key cache (keys reloaded when a file
 * changes). */
int	dkim_cache_new(struct dkim_cache **);
/* dkim_cache_free - release the cache and its keys. */
void	dkim_cache_free(struct dkim_cache *);
/* dkim_cache_get - the key at path, loaded or cached (borrowed). */
int	dkim_cache_get(struct dkim_cache *, const char *path, EVP_PKEY **);

/* dkim_sign_stream - the runner's hook: read the message from rd (the
 * bytes that will go on the wire), choose the key for its From domain and
 * append the DKIM-Signature header to out when it is signed.  note gets
 * "DOMAIN/SELECTOR" (plus "+SELECTOR-ed25519" with a second signature)
 * or "none (reason)".  The body is read only when the
 * message is signed.  Non-zero only for a failure to read or sign (note
 * says so too); the caller relays the message unsigned then. */
int	dkim_sign_stream(struct dkim_cache *, const struct conf *,
	    const char *site, dkim_reader rd, void *ctx, time_t now,
	    struct buf *out, char *note, size_t notelen);

/* A dkim_reader over the wire form (compat/wire.h) of an open spool
 * message: the bytes the relay sends after the signature. */
struct wire;
struct dkim_spool_src {
	struct spool_msg *msg;
	struct wire *w;			/* opened on the first read */
};
/* dkim_spool_read - the next wire-form bytes of src->msg. */
ssize_t	dkim_spool_read(void *src, void *buf, size_t n);
/* dkim_spool_done - release what dkim_spool_read opened. */
void	dkim_spool_done(struct dkim_spool_src *);

#endif
