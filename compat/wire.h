/*
 * wire.h - the message as it goes on the wire: a streaming transform of
 * the spooled content that makes it RFC 5321/5322-correct (shared/DESIGN.md
 * "Relay"), read like a file.
 *
 * What comes out: CRLF only, no bare CR or LF, no line over 998 bytes.
 *  - header lines (of the message and of every MIME part) over 998 bytes
 *    are folded at whitespace (else after a comma, else at 997 bytes with
 *    a blank inserted, as Postfix does);
 *  - a leaf part with an identity encoding (none, 7bit, 8bit, binary) whose
 *    body has a line over 998 bytes or 8-bit bytes is re-encoded as
 *    quoted-printable: its Content-Transfer-Encoding is replaced, and a
 *    message without MIME gets MIME-Version and Content-Type text/plain
 *    (charset utf-8, unknown-8bit or us-ascii, from what the text is);
 *    a MIME reader decodes exactly the submitted bytes;
 *  - quoted-printable and base64 parts get soft breaks / line breaks at 76;
 *  - multipart parts (nested up to WIRE_DEPTH) and message/rfc822 parts
 *    are followed; their boundaries and preambles stay as they are.
 * Nothing is ever dropped but the replaced encoding field.  8-bit body
 * text is thus sent 7-bit: libcurl 7.88 cannot add BODY=8BITMIME to MAIL
 * FROM (see compat/wire.c), and a 7-bit body needs no announcement.
 *
 * The content is read twice before the first byte comes out (a scan for
 * the per-part decisions, and a count for wire_size()); memory is bounded
 * (a few line buffers) whatever the message size.  The functions are
 * thread-safe per struct wire and never call err_set() or log_*(): errors
 * are -1 with errno (the relay's worker threads use them).
 *
 * For DKIM (sign the final bytes): read the whole stream once to hash the
 * body, wire_rewind(), then emit the signature field and the stream again.
 */
#ifndef SM_WIRE_H
#define SM_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WIRE_LINE	998		/* RFC 5322 2.1.1 */
#define WIRE_DEPTH	16		/* nested multiparts followed */

/* Where the spooled content comes from: read up to n bytes at off into
 * buf; the bytes read, 0 at the end, or -1 with errno set. */
struct wire_src {
	ssize_t	(*read)(void *ctx, char *buf, size_t n, uint64_t off);
	void	*ctx;
	uint64_t len;			/* content length */
};

struct wire;

/* wire_open - scan the content and get ready to stream it; 0, or -1 with
 * errno (ENOMEM, or the source's read error; EIO if it ends early). */
int	wire_open(struct wire **, const struct wire_src *);
/* wire_read - up to n bytes of the wire form; 0 at the end, -1 with errno
 * on a read error. */
ssize_t	wire_read(struct wire *, char *buf, size_t n);
/* wire_rewind - start the stream over (a retried transfer, DKIM). */
void	wire_rewind(struct wire *);
/* wire_size - the exact length of the wire form. */
uint64_t wire_size(const struct wire *);
/* wire_changed - 1 if the wire form differs from the content other than
 * in line endings (something was folded or re-encoded). */
int	wire_changed(const struct wire *);
/* wire_8bit - 1 if bytes >= 0x80 remain on the wire (in header fields). */
int	wire_8bit(const struct wire *);
/* wire_free - release it (NULL is fine). */
void	wire_free(struct wire *);

#endif
