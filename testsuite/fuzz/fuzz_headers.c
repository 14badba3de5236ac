/*
 * fuzz_headers.c - libFuzzer target for the message reader: the input
 * (after a first byte that picks the dot mode) goes through a memfd into
 * linein, headers_read() and the body pieces, then every field is
 * unfolded, parsed as an address list and edited.  Checks the internal
 * form: every LF is part of a CR LF, no line exceeds its limit, nothing
 * outgrows its bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compat/compat.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* check_text - every LF in t is preceded by CR; lines within max. */
static void
check_text(const char *t, size_t n, size_t max)
{
	size_t	 i, start = 0;

	if (n < 2 || t[n - 2] != '\r' || t[n - 1] != '\n')
		abort();
	for (i = 0; i < n; i++)
		if (t[i] == '\n') {
			if (i == 0 || t[i - 1] != '\r' || i - 1 - start > max)
				abort();
			start = i + 1;
		}
}

/* check_fields - every stored field is well formed. */
static void
check_fields(const struct headers *h)
{
	size_t	 i, sum = 0;

	for (i = 0; i < h->n; i++) {
		check_text(h->v[i].text, h->v[i].len, HDR_LINE_MAX);
		if (strlen(h->v[i].text) != h->v[i].len ||
		    h->v[i].namelen == 0 || h->v[i].namelen >= h->v[i].len)
			abort();
		sum += h->v[i].len;
	}
	if (sum != h->bytes)
		abort();
}

/* edit - unfold, parse and re-add every field. */
static void
edit(struct headers *h)
{
	struct addrlist al = { NULL, 0 };
	size_t	 i, n = h->n;
	char	*v;

	for (i = 0; i < n; i++) {
		if ((v = headers_value(h, i)) == NULL)
			abort();
		if (strchr(v, '\n') != NULL)
			abort();
		(void)addr_parse_list(v, &al);
		if (i < 4)
			(void)headers_add(h, "X-Copy", v);
		free(v);
	}
	addr_free(&al);
	(void)headers_prepend(h, "Received", "from fuzz by fuzz (sitemail)");
	(void)headers_remove(h, "Bcc");
	(void)headers_remove(h, "X-Copy");
	check_fields(h);
}

/* LLVMFuzzerTestOneInput - read one message, check and edit it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct headers h;
	struct linein l;
	struct buf first;
	const char *p;
	size_t	 n;
	int	 eol;

	if (size < 1)
		return 0;
	if (fd < 0 && (fd = memfd_create("fuzz_headers", 0)) < 0)
		abort();
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data + 1, size - 1, 0) !=
	    (ssize_t)(size - 1) || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	memset(&h, 0, sizeof(h));
	buf_init(&first, 70000);
	linein_init(&l, fd);
	l.dot = (enum linein_dot)(data[0] % 3);
	if (headers_read(&h, &l, &first) == 0) {
		check_fields(&h);
		edit(&h);
	}
	while (linein_get(&l, &p, &n, &eol) == 1)
		if (n > 64 * 1024 || memchr(p, '\n', n) != NULL)
			abort();
	if (l.nread != size - 1)
		abort();
	linein_free(&l);
	headers_free(&h);
	buf_free(&first);
	return 0;
}
