/*
 * dkim.h - DKIM signing (RFC 6376): relaxed/relaxed canonicalization and
 * rsa-sha256 signatures with OpenSSL's libcrypto, over a byte stream.
 *
 * The signer is fed the message exactly as it goes on the wire (CRLF line
 * ends, not dot-stuffed), in chunks of any size: the header (up to
 * DKIM_HEADER_MAX bytes) is kept to choose and hash the signed fields,
 * the body is canonicalized and hashed as it passes and never held.  So
 * whatever transforms the content before relaying (wire fixes) goes in
 * front of the signer, and the signer sees the final bytes.
 *
 * Signed fields: those of DKIM_SIGNED_HEADERS present in the message, one
 * h= entry per instance (bottom-up, RFC 6376 5.4.2), plus one more "from"
 * so that a From header added later breaks the signature (oversigning).
 *
 * The DKIM-Signature header made (folded, CRLF-terminated):
 *	DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=D; s=S;
 *		t=T; h=from:to:...:from;
 *		bh=BASE64;
 *		b=BASE64 (folded every DKIM_B64_LINE characters)
 * It goes in front of the message.
 *
 * Key files (DOMAIN.SELECTOR.key): a PEM private key (PKCS#8 or PKCS#1),
 * RSA 1024 to 8192 bits, or Ed25519 (PKCS#8) for a second signature.
 */
#ifndef SM_DKIM_H
#define SM_DKIM_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>

#include "util/buf.h"

#define DKIM_HEADER_MAX		(1024 * 1024)	/* header bytes kept */
#define DKIM_B64_LINE		72
#define DKIM_SIG_MAX		16384		/* the DKIM-Signature header */
#define DKIM_SIGNED_HEADERS	"from", "to", "cc", "subject", "date", \
	"message-id", "mime-version", "content-type", \
	"content-transfer-encoding", "reply-to"

struct dkim_signer;

/* dkim_reader - read up to n next bytes of the stream into buf: the count,
 * 0 at the end, -1 on error (with err_set). */
typedef ssize_t (*dkim_reader)(void *ctx, void *buf, size_t n);

/* dkim_signer_new - a signer for one message (EX_TEMPFAIL: memory). */
int	dkim_signer_new(struct dkim_signer **);
/* dkim_signer_free - release a signer (NULL is harmless). */
void	dkim_signer_free(struct dkim_signer *);
/* dkim_signer_feed - the next n bytes of the message. */
int	dkim_signer_feed(struct dkim_signer *, const void *, size_t n);
/* dkim_signer_feed_all - feed the whole stream from a reader. */
int	dkim_signer_feed_all(struct dkim_signer *, dkim_reader, void *ctx);
/* dkim_signer_in_body - 1 once the end of the header has been fed. */
int	dkim_signer_in_body(const struct dkim_signer *);
/* dkim_signer_from_domain - the domain of the one From address, lower
 * case, into out; 0, or -1 with why set (no From, several, too long). */
int	dkim_signer_from_domain(const struct dkim_signer *, char *out,
	    size_t len, char *why, size_t whylen);
/* dkim_signer_finish - end of the message: append the DKIM-Signature
 * header for (domain, selector, t) signed with key to out: rsa-sha256
 * for an RSA key, ed25519-sha256 (RFC 8463) for an Ed25519 key.  May be
 * called again with another key for a second signature (same body hash,
 * same h= fields; neither signature covers the other). */
int	dkim_signer_finish(struct dkim_signer *, EVP_PKEY *key,
	    const char *domain, const char *selector, time_t t,
	    struct buf *out);

/* dkim_canon_header - append the relaxed form of one header field (name,
 * colon, value with its folding; no final CRLF) to out, with CRLF. */
int	dkim_canon_header(const char *field, size_t n, struct buf *out);
/* dkim_canon_body - the relaxed form of a whole body, for tests. */
int	dkim_canon_body(const char *, size_t n, struct buf *out);

/* dkim_key_read - load a PEM private key from path (O_NOFOLLOW); RSA only.
 * EX_NOINPUT when missing, EX_NOPERM when unreadable or when the group or
 * others may read it (mode & 077), EX_DATAERR when it is not a usable
 * key. */
int	dkim_key_read(const char *path, EVP_PKEY **);
/* dkim_key_bits - the key's size in bits. */
int	dkim_key_bits(EVP_PKEY *);
/* dkim_key_type - "rsa" or "ed25519": the k= tag of its DNS record. */
const char *dkim_key_type(EVP_PKEY *);
/* dkim_pubkey_b64 - the p= tag: base64 DER SubjectPublicKeyInfo (RSA) or
 * the raw 32-byte public key (Ed25519, RFC 8463). */
int	dkim_pubkey_b64(EVP_PKEY *, struct buf *out);

#endif
