/*
 * buf.c - bounded dynamic buffers; see buf.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* buf_init - set up an empty buffer that may hold up to max bytes. */
void
buf_init(struct buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

/* buf_grow - make room for n more bytes plus the terminator. */
static int
buf_grow(struct buf *b, size_t n)
{
	size_t	 need, cap;
	char	*p;

	if (n > b->max || b->len > b->max - n) {
		errno = E2BIG;
		return -1;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	if ((p = realloc(b->ptr, cap)) == NULL)
		return -1;
	b->ptr = p;
	b->cap = cap;
	return 0;
}

/* buf_add - append n bytes. */
int
buf_add(struct buf *b, const void *data, size_t n)
{
	if (buf_grow(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

/* buf_addstr - append a C string. */
int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* buf_addch - append one byte. */
int
buf_addch(struct buf *b, int c)
{
	char	 ch = (char)c;

	return buf_add(b, &ch, 1);
}

/* buf_vprintf - append formatted text, all or nothing. */
int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 aq;
	int	 n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || buf_grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

/* buf_printf - append formatted text, all or nothing. */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

/* buf_str - the contents as a C string. */
const char *
buf_str(const struct buf *b)
{
	return b->ptr ? b->ptr : "";
}

/* buf_reset - empty the buffer, keeping its memory. */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

/* buf_free - release the memory. */
void
buf_free(struct buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

/* buf_steal - hand the contents to the caller. */
char *
buf_steal(struct buf *b)
{
	char	*p = b->ptr;

	if (p == NULL)
		p = calloc(1, 1);
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}
