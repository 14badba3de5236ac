/*
 * fuzz_headers.c - libFuzzer target for the message reader: the input
 * (after a first byte that picks the dot mode) goes through a memfd into
 * linein, headers_read() and the body pieces, then every field is
 * unfolded, parsed as an address list, qualified and edited.  Checks the
 * internal form: every LF is part of a CR LF, no bare CR is left in a
 * field, nothing outgrows its bound.  The same bytes then go through the
 * wire transform (compat/wire.c): CRLF only, no line over 998 bytes,
 * wire_size() exact.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compat/compat.h"
#include "compat/wire.h"
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
		if (t[i] == '\r' && (i + 1 == n || t[i + 1] != '\n'))
			abort();	/* a bare CR in a field */
		else if (t[i] == '\n') {
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
		check_text(h->v[i].text, h->v[i].len, HDR_BLOCK_MAX);
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
	struct buf q;
	size_t	 i, n = h->n;
	char	*v;
	int	 changed;

	buf_init(&q, 2 * HDR_BLOCK_MAX);
	for (i = 0; i < n; i++) {
		if ((v = headers_value(h, i)) == NULL)
			abort();
		if (strchr(v, '\n') != NULL || strchr(v, '\r') != NULL)
			abort();
		(void)addr_parse_list(v, &al);
		buf_reset(&q);
		if (addr_qualify_header(v, "fuzz.test", &q, &changed) == 0 &&
		    changed && i < 4)
			(void)headers_set(h, i, buf_str(&q));
		if (i < 4)
			(void)headers_add(h, "X-Copy", v);
		free(v);
	}
	addr_free(&al);
	buf_free(&q);
	(void)headers_prepend(h, "Received", "from fuzz by fuzz (sitemail)");
	(void)headers_remove(h, "Bcc");
	(void)headers_remove(h, "X-Copy");
	check_fields(h);
}

/* mem_read - wire_src.read over the fuzz input. */
static ssize_t
mem_read(void *ctx, char *buf, size_t n, uint64_t off)
{
	const struct buf *b = ctx;

	if (off >= b->len)
		return 0;
	if (n > b->len - off)
		n = (size_t)(b->len - off);
	memcpy(buf, b->ptr + off, n);
	return (ssize_t)n;
}

/* check_wire - the wire form of the input obeys the wire rules. */
static void
check_wire(const uint8_t *data, size_t size)
{
	struct buf in;
	struct wire_src src = { mem_read, &in, size };
	struct wire *w;
	char	 out[4096];
	ssize_t	 r, i;
	uint64_t total = 0, col = 0;
	int	 cr = 0;

	buf_init(&in, size + 1);
	if (size && buf_add(&in, data, size) < 0)
		abort();
	if (wire_open(&w, &src) != 0)
		abort();
	while ((r = wire_read(w, out, sizeof(out))) > 0) {
		for (i = 0; i < r; i++) {
			if (cr && out[i] != '\n')
				abort();	/* a bare CR */
			if (!cr && out[i] == '\n')
				abort();	/* a bare LF */
			cr = out[i] == '\r';
			col = out[i] == '\n' ? 0 : col + !cr;
			if (col > WIRE_LINE)
				abort();
		}
		total += (uint64_t)r;
	}
	if (r < 0 || total != wire_size(w) || cr)
		abort();
	wire_free(w);
	buf_free(&in);
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
	check_wire(data + 1, size - 1);
	return 0;
}
