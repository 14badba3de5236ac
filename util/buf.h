/*
 * buf.h - bounded dynamic buffers (the idea of curl's dynbuf).
 *
 * A struct buf grows on demand up to a hard maximum fixed at buf_init().
 * Every append either succeeds completely or fails with -1 and leaves the
 * contents unchanged, so no caller ever sees a silently truncated string.
 * The contents are always NUL-terminated for convenience, but may hold NULs.
 */
#ifndef SM_BUF_H
#define SM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*ptr;		/* contents, NUL-terminated; NULL when empty */
	size_t	 len;		/* bytes used, excluding the terminator */
	size_t	 cap;		/* bytes allocated */
	size_t	 max;		/* hard limit on len */
};

/* buf_init - set up an empty buffer that may hold up to max bytes. */
void	buf_init(struct buf *, size_t max);
/* buf_add - append n bytes; -1 (errno ENOMEM or E2BIG) when it cannot. */
int	buf_add(struct buf *, const void *, size_t n);
/* buf_addstr - append a C string. */
int	buf_addstr(struct buf *, const char *);
/* buf_addch - append one byte. */
int	buf_addch(struct buf *, int);
/* buf_printf - append formatted text (vsnprintf, never truncated). */
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* buf_vprintf - va_list form of buf_printf. */
int	buf_vprintf(struct buf *, const char *, va_list);
/* buf_str - the contents as a C string ("" when empty). */
const char *buf_str(const struct buf *);
/* buf_reset - empty the buffer, keeping its memory. */
void	buf_reset(struct buf *);
/* buf_free - release the memory; the buffer is empty and reusable. */
void	buf_free(struct buf *);
/* buf_steal - hand the contents to the caller (malloc'd, NUL-terminated). */
char	*buf_steal(struct buf *);

#endif
