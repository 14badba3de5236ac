/*
 * header.c - the header block of a submitted message; see compat.h.
 *
 * headers_read() follows Postfix: leading "From " and ">From " lines are
 * dropped; then every line of the form "name:" (name = printable ASCII
 * except ":", optionally followed by blanks before the colon) starts a
 * field, and lines that start with SP or HT continue the field before
 * them.  The block ends at an empty line, at the end of input, or at the
 * first line that is neither; that line is the start of the body.
 *
 * Each field is kept in internal form, exactly as read but with every line
 * ended by CR LF: "Name: value\r\n\tmore\r\n".  A bare CR (one not before
 * LF) becomes a blank, so every later reader (from_policy, the receiver)
 * sees the same fields.  Lines of any length are accepted, as Postfix
 * accepts them (the relay folds them, compat/wire.c).  Limits are
 * refused, never truncated: a NUL byte or a block over HDR_BLOCK_MAX bytes
 * is EX_DATAERR.
 *
 * Fields added here are folded at blanks to lines of 78 bytes where the
 * value allows it, and never exceed HDR_LINE_MAX.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat/compat.h"
#include "util/msg.h"

#define HDR_FOLD_AT	78		/* preferred line length (RFC 5322) */

/* hdr_is_blank - SP or HT. */
static int
hdr_is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* hdr_field_name - 1 with *namelen set if p starts a header field. */
static int
hdr_field_name(const char *p, size_t n, size_t *namelen)
{
	size_t	 i = 0, nl;
	unsigned char c;

	while (i < n && (c = (unsigned char)p[i]) > ' ' && c < 0x7f &&
	    c != ':')
		i++;
	if ((nl = i) == 0)
		return 0;
	while (i < n && hdr_is_blank(p[i]))
		i++;
	if (i == n || p[i] != ':')
		return 0;
	*namelen = nl;
	return 1;
}

/* hdr_is_from_ - a mailbox "From " separator line, with any ">" quoting. */
static int
hdr_is_from_(const char *p, size_t n)
{
	size_t	 i = 0;

	while (i < n && p[i] == '>')
		i++;
	return n - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

/* hdr_getline - read one line into line (appending), stopping once it is
 * longer than upto.  *complete says whether the line end was seen.  A
 * bare CR becomes a blank.  Returns 1, 0 at the end of input, or a
 * sysexits status. */
static int
hdr_getline(struct linein *l, struct buf *line, size_t upto, int *complete)
{
	const char *p;
	size_t	 n, i, from = line->len;
	int	 eol = 0, r;

	*complete = 0;
	while (!eol && line->len <= upto) {
		if ((r = linein_get(l, &p, &n, &eol)) < 0)
			return err_set(EX_TEMPFAIL, "error reading the "
			    "message: %s", strerror(errno));
		if (r == 0) {
			if (line->len == 0)
				return 0;
			eol = 1;
			break;
		}
		if (buf_add(line, p, n) < 0)
			return err_set(EX_DATAERR, "message header larger "
			    "than %d bytes", HDR_BLOCK_MAX);
	}
	for (i = from; i < line->len; i++)
		if (line->ptr[i] == '\r')
			line->ptr[i] = ' ';
	*complete = eol;
	return 1;
}

/* hdr_push - insert a field (text is adopted) at index at. */
static int
hdr_push(struct headers *h, size_t at, char *text, size_t len,
    size_t namelen)
{
	struct hdr *v;
	size_t	 cap;

	if (h->n == h->cap) {
		cap = h->cap ? h->cap * 2 : 16;
		if ((v = realloc(h->v, cap * sizeof(*v))) == NULL) {
			free(text);
			return err_set(EX_TEMPFAIL, "out of memory");
		}
		h->v = v;
		h->cap = cap;
	}
	memmove(h->v + at + 1, h->v + at, (h->n - at) * sizeof(*h->v));
	h->v[at].text = text;
	h->v[at].len = len;
	h->v[at].namelen = namelen;
	h->n++;
	h->bytes += len;
	return 0;
}

/* hdr_new_field - store a line read from input as a new field. */
static int
hdr_new_field(struct headers *h, const struct buf *line, size_t namelen)
{
	char	*text;

	if ((text = malloc(line->len + 3)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	memcpy(text, line->ptr, line->len);
	memcpy(text + line->len, "\r\n", 3);
	return hdr_push(h, h->n, text, line->len + 2, namelen);
}

/* hdr_continue - append a continuation line to the last field. */
static int
hdr_continue(struct headers *h, const struct buf *line)
{
	struct hdr *f = &h->v[h->n - 1];
	char	*text;

	if ((text = realloc(f->text, f->len + line->len + 3)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	memcpy(text + f->len, line->ptr, line->len);
	memcpy(text + f->len + line->len, "\r\n", 3);
	f->text = text;
	f->len += line->len + 2;
	h->bytes += line->len + 2;
	return 0;
}

/* hdr_body_first - hand the first body line back, with its CR LF when
 * the line is complete (the rest of a long line stays in the input). */
static int
hdr_body_first(struct buf *body_first, const struct buf *line, int complete)
{
	if (buf_add(body_first, line->ptr, line->len) < 0 ||
	    (complete && buf_add(body_first, "\r\n", 2) < 0))
		return err_set(EX_DATAERR, "message line too long");
	return 0;
}

/* hdr_drain - discard the rest of a line that was read only in part. */
static int
hdr_drain(struct linein *l)
{
	const char *p;
	size_t	 n;
	int	 eol = 0, r;

	while (!eol)
		if ((r = linein_get(l, &p, &n, &eol)) < 0)
			return err_set(EX_TEMPFAIL, "error reading the "
			    "message: %s", strerror(errno));
		else if (r == 0)
			break;
	return 0;
}

/* hdr_store - a field line or a continuation line, within the limits;
 * the rest of a line longer than HDR_LINE_MAX is read first. */
static int
hdr_store(struct headers *h, struct linein *l, struct buf *line,
    size_t namelen, int complete)
{
	int	 rc = 1;

	if (!complete)
		rc = hdr_getline(l, line, HDR_BLOCK_MAX, &complete);
	if (rc > 1)
		return rc;
	if (!complete || h->bytes + line->len + 2 > HDR_BLOCK_MAX)
		return err_set(EX_DATAERR, "message header larger than %d "
		    "bytes", HDR_BLOCK_MAX);
	if (hdr_is_blank(line->ptr[0]))
		return hdr_continue(h, line);
	return hdr_new_field(h, line, namelen);
}

/* headers_read - read the header block; see the file comment. */
int
headers_read(struct headers *h, struct linein *l, struct buf *body_first)
{
	struct buf line;
	size_t	 namelen = 0;
	int	 complete, rc, skip_from = 1, in_field = 0;

	buf_init(&line, HDR_BLOCK_MAX + 2 * 64 * 1024);
	while (buf_reset(&line), (rc = hdr_getline(l, &line, HDR_LINE_MAX,
	    &complete)) == 1) {
		if (line.len && memchr(line.ptr, '\0', line.len) != NULL) {
			rc = err_set(EX_DATAERR, "message contains a NUL byte");
			break;
		}
		if (skip_from && hdr_is_from_(line.ptr, line.len)) {
			if (!complete && (rc = hdr_drain(l)) != 0)
				break;
			continue;
		}
		skip_from = 0;
		if (line.len == 0) {
			rc = 0;
			break;
		}
		if ((in_field && hdr_is_blank(line.ptr[0])) ||
		    hdr_field_name(line.ptr, line.len, &namelen)) {
			if ((rc = hdr_store(h, l, &line, namelen,
			    complete)) != 0)
				break;
			in_field = 1;
			continue;
		}
		rc = hdr_body_first(body_first, &line, complete);
		break;
	}
	buf_free(&line);
	return rc;
}

/* headers_find - the index of the first field named name at or after from. */
ssize_t
headers_find(const struct headers *h, const char *name, size_t from)
{
	size_t	 i, len = strlen(name);

	for (i = from; i < h->n; i++)
		if (h->v[i].namelen == len &&
		    strncasecmp(h->v[i].text, name, len) == 0)
			return (ssize_t)i;
	return -1;
}

/* headers_value - the unfolded value of field i, blanks trimmed. */
char *
headers_value(const struct headers *h, size_t i)
{
	const char *p, *e;
	char	*out;
	size_t	 n = 0;

	if (i >= h->n)
		return NULL;
	p = h->v[i].text + h->v[i].namelen;
	e = h->v[i].text + h->v[i].len;
	while (p < e && *p != ':')
		p++;
	if (p < e)
		p++;
	if ((out = malloc((size_t)(e - p) + 1)) == NULL)
		return NULL;
	for (; p < e; p++) {
		if (*p == '\r' && p + 1 < e && p[1] == '\n') {
			p++;
			continue;
		}
		out[n++] = *p;
	}
	while (n > 0 && hdr_is_blank(out[n - 1]))
		n--;
	out[n] = '\0';
	p = out;
	while (hdr_is_blank(*p))
		p++;
	if (p != out)
		memmove(out, p, n + 1 - (size_t)(p - out));
	return out;
}

/* hdr_break - where to fold s[pos..len): the index of a blank to put a
 * line break before, or len when the rest stays on this line.  Prefers a
 * blank after a comma in the second half of the window, then the last
 * blank that keeps the line within HDR_FOLD_AT, then the first one. */
static size_t
hdr_break(const char *s, size_t pos, size_t len, size_t col)
{
	size_t	 room, lim, j, best = 0;

	room = col < HDR_FOLD_AT ? HDR_FOLD_AT - col : 0;
	if (len - pos <= room)
		return len;
	lim = pos + room;
	for (j = lim; j > pos; j--) {
		if (!hdr_is_blank(s[j]))
			continue;
		if (s[j - 1] == ',' && j > pos + room / 2)
			return j;
		if (best == 0)
			best = j;
	}
	if (best)
		return best;
	for (j = lim + 1; j < len; j++)
		if (hdr_is_blank(s[j]))
			return j;
	return len;
}

/* hdr_comma_split - the place for a forced break in a run of len bytes
 * with no blank: just after the last comma that keeps the line legal. */
static size_t
hdr_comma_split(const char *s, size_t pos, size_t end, size_t col)
{
	size_t	 j, lim;

	lim = pos + (HDR_LINE_MAX - col);
	if (lim > end)
		lim = end;
	for (j = lim; j > pos + 1; j--)
		if (s[j - 1] == ',')
			return j;
	return 0;
}

/* hdr_fold - "name: value\r\n" into b, folded; CR and LF become SP. */
static int
hdr_fold(struct buf *b, const char *name, const char *value)
{
	char	*s;
	size_t	 len, pos, brk, col, cut, i;
	int	 rc = 0;

	while (hdr_is_blank(*value) || *value == '\r' || *value == '\n')
		value++;
	if ((s = strdup(value)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	for (i = 0; s[i]; i++)
		if (s[i] == '\r' || s[i] == '\n')
			s[i] = ' ';
	len = i;
	while (len > 0 && hdr_is_blank(s[len - 1]))
		len--;
	if (buf_printf(b, "%s: ", name) < 0)
		rc = err_set(EX_TEMPFAIL, "out of memory");
	col = b->len;
	for (pos = 0; rc == 0 && pos < len; pos = brk, col = 0) {
		brk = hdr_break(s, pos, len, col);
		while (rc == 0 && col + (brk - pos) > HDR_LINE_MAX) {
			if ((cut = hdr_comma_split(s, pos, brk, col)) == 0) {
				rc = err_set(EX_DATAERR, "cannot fold the %s "
				    "header: a word is longer than %d bytes",
				    name, HDR_LINE_MAX);
				break;
			}
			if (buf_add(b, s + pos, cut - pos) < 0 ||
			    buf_add(b, "\r\n ", 3) < 0)
				rc = err_set(EX_TEMPFAIL, "out of memory");
			pos = cut;
			col = 1;
		}
		if (rc == 0 && (buf_add(b, s + pos, brk - pos) < 0 ||
		    buf_add(b, "\r\n", 2) < 0))
			rc = err_set(EX_TEMPFAIL, "out of memory");
	}
	if (rc == 0 && len == 0 && buf_add(b, "\r\n", 2) < 0)
		rc = err_set(EX_TEMPFAIL, "out of memory");
	free(s);
	return rc;
}

/* hdr_make - build a field for headers_add / headers_prepend. */
static int
hdr_make(struct headers *h, size_t at, const char *name, const char *value)
{
	struct buf b;
	size_t	 nl = strlen(name), i;
	int	 rc;

	for (i = 0; i < nl; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == ':' ||
		    (unsigned char)name[i] >= 0x7f)
			break;
	if (nl == 0 || i < nl || nl > HDR_LINE_MAX - 2)
		return err_set(EX_SOFTWARE, "bad header name \"%s\"", name);
	buf_init(&b, 4 * HDR_BLOCK_MAX);
	if ((rc = hdr_fold(&b, name, value)) != 0) {
		buf_free(&b);
		return rc;
	}
	i = b.len;
	return hdr_push(h, at, buf_steal(&b), i, nl);
}

/* headers_add - append "name: value" (folded). */
int
headers_add(struct headers *h, const char *name, const char *value)
{
	return hdr_make(h, h->n, name, value);
}

/* headers_prepend - insert "name: value" before every other field. */
int
headers_prepend(struct headers *h, const char *name, const char *value)
{
	return hdr_make(h, 0, name, value);
}

/* headers_set - replace the value of field i, keeping its name. */
int
headers_set(struct headers *h, size_t i, const char *value)
{
	char	 name[HDR_LINE_MAX];
	size_t	 nl;
	int	 rc;

	if (i >= h->n || (nl = h->v[i].namelen) >= sizeof(name))
		return err_set(EX_SOFTWARE, "headers_set: bad field");
	memcpy(name, h->v[i].text, nl);
	name[nl] = '\0';
	if ((rc = hdr_make(h, i, name, value)) != 0)
		return rc;
	i++;
	h->bytes -= h->v[i].len;
	free(h->v[i].text);
	memmove(h->v + i, h->v + i + 1, (h->n - i - 1) * sizeof(*h->v));
	h->n--;
	return 0;
}

/* headers_remove - drop every field named name, continuations included. */
size_t
headers_remove(struct headers *h, const char *name)
{
	ssize_t	 i;
	size_t	 removed = 0;

	while ((i = headers_find(h, name, 0)) >= 0) {
		h->bytes -= h->v[i].len;
		free(h->v[i].text);
		memmove(h->v + i, h->v + i + 1,
		    (h->n - (size_t)i - 1) * sizeof(*h->v));
		h->n--;
		removed++;
	}
	return removed;
}

/* headers_free - release the block; it is empty and reusable. */
void
headers_free(struct headers *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		free(h->v[i].text);
	free(h->v);
	h->v = NULL;
	h->n = h->cap = h->bytes = 0;
}
