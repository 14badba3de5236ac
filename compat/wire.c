/*
 * wire.c - the wire form of a spooled message; see wire.h for what it
 * guarantees.
 *
 * One engine runs in three passes over the content: a scan that records,
 * per MIME entity (numbered in order of appearance: the message is 0),
 * whether its body has a line over WIRE_LINE bytes, 8-bit bytes, and
 * valid UTF-8; a count (output discarded) for wire_size(); and the real
 * stream.  The structure is parsed identically each time, so the emitting
 * passes know each entity's decision when its header starts.
 *
 * Input is cut into lines (CRLF, or a lone LF; a bare CR becomes a blank,
 * as at intake) and handed on in chunks of at most WIRE_LINE + 1 bytes: a
 * first chunk that fills up marks a long line.
 *
 * Why not BODY=8BITMIME: libcurl 7.88 builds the command in
 * smtp_perform_mail() as "MAIL FROM:<%s@%s>" from CURLOPT_MAIL_FROM plus
 * only its own AUTH=, SIZE= and SMTPUTF8 parameters.  Text smuggled into
 * the address ("a@b> BODY=8BITMIME") always ends in the closing ">" it
 * appends ("BODY=8BITMIME>", refused with 501 by Postfix and aiosmtpd), and
 * CURLOPT_CUSTOMREQUEST only replaces VRFY/EXPN/HELP.  So 8-bit body text
 * is converted to quoted-printable here (RFC 6152 section 3's conversion
 * for a server not told of 8-bit data), and the decoded text is unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat/wire.h"

#define WIRE_INBUF	16384
#define WIRE_QP_COL	75		/* encoded bytes per QP line, "=" aside */
#define WIRE_B64_COL	76
#define WIRE_BOUND_MAX	70		/* RFC 2046 boundary length */
#define WIRE_CAP_MAX	1024		/* captured Content-* value bytes */

/* Per-entity facts from the scan. */
#define WF_LONG		0x01		/* a body line over WIRE_LINE */
#define WF_8BIT		0x02		/* a body byte >= 0x80 */
#define WF_BADUTF8	0x04		/* the body is not valid UTF-8 */
#define WF_QP		0x08		/* re-encode the body as QP */

enum wire_state { W_HEADER, W_BODY, W_CONTAINER };
enum wire_cte { CTE_IDENTITY, CTE_QP, CTE_B64 };
enum wire_field { F_OTHER, F_CT, F_CTE, F_MV };

/* What an entity's header said. */
struct wire_ent {
	int	 has_ct, has_cte, has_mv;
	int	 multipart, message;
	enum wire_cte cte;
	char	 boundary[WIRE_BOUND_MAX + 1];
	size_t	 blen;
};

struct wire {
	struct wire_src src;
	int	 pass;			/* 0 scan, 1 count, 2 stream */
	uint64_t in_off;
	char	 in[WIRE_INBUF];
	size_t	 in_pos, in_len;
	int	 in_eof, pending_cr;
	/* the line being cut */
	char	 line[WIRE_LINE + 1];
	size_t	 llen;
	int	 lfirst;		/* the next chunk starts a line */
	/* structure */
	enum wire_state st;
	char	 bound[WIRE_DEPTH][WIRE_BOUND_MAX + 1];
	size_t	 blen[WIRE_DEPTH];
	int	 depth;
	size_t	 ent;			/* current entity */
	size_t	 nent;			/* the last entity number given */
	struct wire_ent eh;
	enum wire_field fkind;		/* field being read */
	int	 fdrop;			/* ... is left out */
	char	 fval[WIRE_CAP_MAX + 1];
	size_t	 fvlen;
	/* body */
	enum wire_cte cte;
	int	 qp;			/* re-encoding this body */
	size_t	 col;
	int	 longline;		/* the line is over WIRE_LINE */
	int	 esc;			/* QP: bytes left of an "=XX" */
	int	 ws;			/* QP: a held blank (0 if none) */
	int	 u8need;		/* UTF-8 continuation bytes due */
	/* header folding */
	char	 fold[WIRE_LINE + 2];
	size_t	 flen;
	/* per-entity flags */
	unsigned char *flags;
	size_t	 nflags;
	/* output */
	char	*out;
	size_t	 olen, opos, ocap;
	uint64_t size;
	int	 changed, eightbit, err;
};

/* wire_flag - the flags byte of entity e (grown on demand), or NULL. */
static unsigned char *
wire_flag(struct wire *w, size_t e)
{
	unsigned char *f;
	size_t	 n;

	if (e >= w->nflags) {
		if (w->pass != 0)
			return NULL;	/* never: the scan saw them all */
		n = w->nflags ? w->nflags * 2 : 64;
		while (n <= e)
			n *= 2;
		if ((f = realloc(w->flags, n)) == NULL) {
			w->err = ENOMEM;
			return NULL;
		}
		memset(f + w->nflags, 0, n - w->nflags);
		w->flags = f;
		w->nflags = n;
	}
	return &w->flags[e];
}

/* wire_has - 1 if entity e has flag f. */
static int
wire_has(struct wire *w, size_t e, unsigned f)
{
	unsigned char *p = e < w->nflags ? &w->flags[e] : NULL;

	return p != NULL && (*p & f) != 0;
}

/* wire_out - append n bytes to the output (nothing in the scan). */
static void
wire_out(struct wire *w, const char *p, size_t n)
{
	size_t	 i, cap;
	char	*o;

	if (w->pass == 0 || n == 0)
		return;
	for (i = 0; i < n && !w->eightbit; i++)
		if ((unsigned char)p[i] >= 0x80)
			w->eightbit = 1;
	if (w->olen + n > w->ocap) {
		cap = w->ocap ? w->ocap : 8192;
		while (cap < w->olen + n)
			cap *= 2;
		if ((o = realloc(w->out, cap)) == NULL) {
			w->err = ENOMEM;
			return;
		}
		w->out = o;
		w->ocap = cap;
	}
	memcpy(w->out + w->olen, p, n);
	w->olen += n;
}

/* wire_outs - append a C string. */
static void
wire_outs(struct wire *w, const char *s)
{
	wire_out(w, s, strlen(s));
}

/* Header fields. */

/* wire_is_wsp - SP or HT. */
static int
wire_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* wire_fold_break - the folding buffer is over WIRE_LINE: put out a line
 * and keep the rest, which starts with a blank. */
static void
wire_fold_break(struct wire *w)
{
	size_t	 i, cut = 0, skip = 0, first = 0;

	while (first < w->flen && wire_is_wsp(w->fold[first]))
		first++;
	for (i = WIRE_LINE; i > first; i--)
		if (wire_is_wsp(w->fold[i])) {
			cut = i;	/* fold before the blank */
			break;
		}
	if (cut == 0)
		for (i = WIRE_LINE - 1; i > first; i--)
			if (w->fold[i - 1] == ',') {
				cut = i;	/* after a comma, blank added */
				break;
			}
	if (cut == 0)
		cut = WIRE_LINE - 1;	/* no choice: as Postfix does */
	skip = wire_is_wsp(w->fold[cut]) ? 0 : 1;
	wire_out(w, w->fold, cut);
	wire_out(w, "\r\n", 2);
	memmove(w->fold + skip, w->fold + cut, w->flen - cut);
	w->flen = w->flen - cut + skip;
	if (skip)
		w->fold[0] = ' ';
	w->changed = 1;
}

/* wire_fold_add - a piece of a header line, folded as it fills. */
static void
wire_fold_add(struct wire *w, const char *p, size_t n)
{
	size_t	 k;

	while (n > 0) {
		k = sizeof(w->fold) - w->flen;
		if (k > n)
			k = n;
		memcpy(w->fold + w->flen, p, k);
		w->flen += k;
		p += k;
		n -= k;
		while (w->flen > WIRE_LINE)
			wire_fold_break(w);
	}
}

/* wire_fold_eol - end the header line. */
static void
wire_fold_eol(struct wire *w)
{
	wire_out(w, w->fold, w->flen);
	wire_out(w, "\r\n", 2);
	w->flen = 0;
}

/* wire_lower_eq - s[0..n) equals lit, ignoring case. */
static int
wire_lower_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* wire_param - the value of parameter name in a Content-Type value
 * (quoted or not) into out; 0 if absent or too long. */
static size_t
wire_param(const char *v, const char *name, char *out, size_t max)
{
	size_t	 nl = strlen(name), n = 0;
	const char *p = v;
	int	 q;

	while ((p = strchr(p, ';')) != NULL) {
		for (p++; wire_is_wsp(*p); p++)
			;
		if (strncasecmp(p, name, nl) != 0 || p[nl] != '=')
			continue;
		p += nl + 1;
		q = *p == '"';
		for (p += q; *p && (q ? *p != '"' : (*p != ';' &&
		    !wire_is_wsp(*p))); p++) {
			if (q && *p == '\\' && p[1])
				p++;
			if (n >= max)
				return 0;
			out[n++] = *p;
		}
		out[n] = '\0';
		return n;
	}
	return 0;
}

/* wire_field_end - what the field just read says about the entity. */
static void
wire_field_end(struct wire *w)
{
	struct wire_ent *e = &w->eh;
	char	*v = w->fval, *t;
	size_t	 n;

	w->fval[w->fvlen] = '\0';
	while (wire_is_wsp(*v))
		v++;
	for (t = v; *t && !wire_is_wsp(*t) && *t != ';'; t++)
		;
	n = (size_t)(t - v);
	if (w->fkind == F_CTE) {
		e->has_cte = 1;
		e->cte = wire_lower_eq(v, n, "quoted-printable") ? CTE_QP :
		    wire_lower_eq(v, n, "base64") ? CTE_B64 : CTE_IDENTITY;
	} else if (w->fkind == F_CT && !e->has_ct) {
		e->has_ct = 1;
		e->multipart = n > 10 && strncasecmp(v, "multipart/", 10) == 0;
		e->message = wire_lower_eq(v, n, "message/rfc822") ||
		    wire_lower_eq(v, n, "message/global");
		e->blen = e->multipart ? wire_param(v, "boundary",
		    e->boundary, WIRE_BOUND_MAX) : 0;
	} else if (w->fkind == F_MV)
		e->has_mv = 1;
	w->fkind = F_OTHER;
	w->fvlen = 0;
}

/* wire_field_start - a new field: which one, and is it left out. */
static void
wire_field_start(struct wire *w, const char *p, size_t n)
{
	const char *c = memchr(p, ':', n);
	size_t	 nl = c ? (size_t)(c - p) : 0;

	while (nl > 0 && wire_is_wsp(p[nl - 1]))
		nl--;
	w->fkind = !c ? F_OTHER :
	    wire_lower_eq(p, nl, "content-type") ? F_CT :
	    wire_lower_eq(p, nl, "content-transfer-encoding") ? F_CTE :
	    wire_lower_eq(p, nl, "mime-version") ? F_MV : F_OTHER;
	w->fdrop = w->fkind == F_CTE && wire_has(w, w->ent, WF_QP);
	w->fvlen = 0;
}

/* wire_field_keep - remember value bytes of a Content-* field. */
static void
wire_field_keep(struct wire *w, const char *p, size_t n)
{
	if (w->fkind == F_OTHER)
		return;
	if (n > WIRE_CAP_MAX - w->fvlen)
		n = WIRE_CAP_MAX - w->fvlen;
	memcpy(w->fval + w->fvlen, p, n);
	w->fvlen += n;
}

/* wire_entity_new - a new entity's header starts. */
static void
wire_entity_new(struct wire *w, size_t e)
{
	memset(&w->eh, 0, sizeof(w->eh));
	w->ent = e;
	w->st = W_HEADER;
	w->fkind = F_OTHER;
	w->fdrop = 0;
	(void)wire_flag(w, e);
}

/* wire_charset - the charset to declare for a body we label. */
static const char *
wire_charset(struct wire *w)
{
	if (!wire_has(w, w->ent, WF_8BIT))
		return "us-ascii";
	return wire_has(w, w->ent, WF_BADUTF8) ? "unknown-8bit" : "utf-8";
}

/* wire_header_end - the empty line: add fields, then the body's state. */
static void
wire_header_end(struct wire *w)
{
	struct wire_ent *e = &w->eh;

	wire_field_end(w);
	w->qp = wire_has(w, w->ent, WF_QP);
	if (w->qp) {
		if (w->ent == 0 && !e->has_mv)
			wire_outs(w, "MIME-Version: 1.0\r\n");
		if (!e->has_ct) {
			wire_outs(w, "Content-Type: text/plain; charset=");
			wire_outs(w, wire_charset(w));
			wire_outs(w, "\r\n");
		}
		wire_outs(w, "Content-Transfer-Encoding: quoted-printable\r\n");
		w->changed = 1;
	}
	wire_out(w, "\r\n", 2);
	w->col = 0;
	w->esc = w->ws = w->u8need = 0;
	if (e->multipart && e->blen > 0 && w->depth < WIRE_DEPTH) {
		memcpy(w->bound[w->depth], e->boundary, e->blen + 1);
		w->blen[w->depth++] = e->blen;
		w->st = W_CONTAINER;
		w->cte = CTE_IDENTITY;
		w->qp = 0;
	} else if (e->message)
		wire_entity_new(w, ++w->nent);	/* the enclosed message */
	else {
		w->st = W_BODY;
		w->cte = e->cte;
	}
}

/* wire_header_chunk - a piece of a header line. */
static void
wire_header_chunk(struct wire *w, const char *p, size_t n, int first,
    int eol)
{
	size_t	 skip = 0;

	if (first && eol && n == 0) {
		wire_header_end(w);
		return;
	}
	if (first && (n == 0 || !wire_is_wsp(p[0]))) {
		wire_field_end(w);
		wire_field_start(w, p, n);
		if (w->fkind != F_OTHER)
			skip = (size_t)((const char *)memchr(p, ':', n) - p) + 1;
	}
	wire_field_keep(w, p + skip, n - skip);
	if (w->fdrop) {
		w->changed = 1;
		return;
	}
	wire_fold_add(w, p, n);
	if (eol)
		wire_fold_eol(w);
}

/* Bodies. */

/* wire_scan_body - the scan's view of a body piece. */
static void
wire_scan_body(struct wire *w, const char *p, size_t n, int first, int eol)
{
	unsigned char *f = wire_flag(w, w->ent), c;
	size_t	 i;

	if (f == NULL)
		return;
	if (first && !eol)
		*f |= WF_LONG;
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c < 0x80) {
			if (w->u8need)
				*f |= WF_BADUTF8;
			w->u8need = 0;
			continue;
		}
		*f |= WF_8BIT;
		if (w->u8need > 0 && (c & 0xc0) == 0x80)
			w->u8need--;
		else if (w->u8need == 0 && c >= 0xc2 && c <= 0xdf)
			w->u8need = 1;
		else if (w->u8need == 0 && (c & 0xf0) == 0xe0)
			w->u8need = 2;
		else if (w->u8need == 0 && c >= 0xf0 && c <= 0xf4)
			w->u8need = 3;
		else
			*f |= WF_BADUTF8;
	}
	if (eol && w->u8need) {
		*f |= WF_BADUTF8;
		w->u8need = 0;
	}
}

/* wire_qp_put - one encoded unit, after a soft break if it would not fit. */
static void
wire_qp_put(struct wire *w, const char *t, size_t n)
{
	if (w->col + n > WIRE_QP_COL) {
		wire_out(w, "=\r\n", 3);
		w->col = 0;
	}
	wire_out(w, t, n);
	w->col += n;
}

/* wire_qp_hex - "=XX" for c. */
static void
wire_qp_hex(struct wire *w, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char	 t[3] = { '=', hex[c >> 4], hex[c & 15] };

	wire_qp_put(w, t, 3);
}

/* wire_qp - encode a body piece as quoted-printable (RFC 2045 6.7). */
static void
wire_qp(struct wire *w, const char *p, size_t n, int first, int eol)
{
	unsigned char c;
	size_t	 i;
	char	 ch;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (w->ws) {
			ch = (char)w->ws;
			wire_qp_put(w, &ch, 1);
			w->ws = 0;
		}
		if (c == ' ' || c == '\t')
			w->ws = c;	/* literal unless it ends the line */
		else if (c > 32 && c < 127 && c != '=' &&
		    !(first && i == 0 && (c == '.' || c == 'F')))
			wire_qp_put(w, (const char *)&p[i], 1);
		else
			wire_qp_hex(w, c);
	}
	if (eol) {
		if (w->ws)
			wire_qp_hex(w, (unsigned char)w->ws);
		w->ws = 0;
		wire_out(w, "\r\n", 2);
		w->col = 0;
	}
}

/* wire_rewrap - a piece of an encoded (QP or base64) or unencodable body:
 * lines broken where they grow too long (soft breaks for QP, where they
 * change nothing; plain breaks for base64, which ignores them). */
static void
wire_rewrap(struct wire *w, const char *p, size_t n, int eol)
{
	size_t	 i, max = w->cte == CTE_QP ? WIRE_QP_COL :
		    w->cte == CTE_B64 ? WIRE_B64_COL : WIRE_LINE;
	size_t	 start = 0;

	if (!w->longline) {
		wire_out(w, p, n);
		if (eol)
			wire_out(w, "\r\n", 2);
		return;
	}
	for (i = 0; i < n; i++) {
		if (w->col >= max && (w->cte != CTE_QP || (w->esc == 0 &&
		    p[i] != '='))) {
			wire_out(w, p + start, i - start);
			wire_outs(w, w->cte == CTE_QP ? "=\r\n" : "\r\n");
			w->changed = 1;
			start = i;
			w->col = 0;
		}
		if (w->esc > 0)
			w->esc--;
		else if (p[i] == '=')
			w->esc = 2;
		w->col++;
	}
	wire_out(w, p + start, n - start);
	if (eol) {
		wire_out(w, "\r\n", 2);
		w->col = 0;
		w->esc = 0;
	}
}

/* wire_boundary - 1 if the line is a boundary of an open multipart:
 * the structure moves on (a new part, or the end of one multipart). */
static int
wire_boundary(struct wire *w, const char *p, size_t n)
{
	const char *r;
	size_t	 rn;
	int	 k, close;

	if (w->depth == 0 || n < 3 || p[0] != '-' || p[1] != '-')
		return 0;
	for (k = w->depth - 1; k >= 0; k--) {
		if (n < 2 + w->blen[k] ||
		    memcmp(p + 2, w->bound[k], w->blen[k]) != 0)
			continue;
		r = p + 2 + w->blen[k];
		rn = n - 2 - w->blen[k];
		close = rn >= 2 && r[0] == '-' && r[1] == '-';
		for (r += close * 2, rn -= (size_t)close * 2; rn > 0 &&
		    wire_is_wsp(*r); r++, rn--)
			;
		if (rn != 0)
			continue;
		wire_out(w, p, n);
		wire_out(w, "\r\n", 2);
		w->col = 0;
		if (close) {
			w->depth = k;
			w->st = W_CONTAINER;
			w->cte = CTE_IDENTITY;
			w->qp = 0;
		} else {
			w->depth = k + 1;
			wire_entity_new(w, ++w->nent);
		}
		return 1;
	}
	return 0;
}

/* wire_chunk - one piece of a line (first: it starts the line; eol: it
 * ends it; a first piece without eol is a line over WIRE_LINE bytes). */
static void
wire_chunk(struct wire *w, const char *p, size_t n, int first, int eol)
{
	if (first) {
		w->longline = !eol;
		w->col = 0;
		w->esc = 0;
	}
	if (w->st != W_HEADER && first && eol && wire_boundary(w, p, n))
		return;
	if (w->st == W_HEADER) {
		wire_header_chunk(w, p, n, first, eol);
		return;
	}
	if (w->pass == 0) {
		if (w->st == W_BODY)
			wire_scan_body(w, p, n, first, eol);
		return;
	}
	if (w->st == W_BODY && w->qp)
		wire_qp(w, p, n, first, eol);
	else
		wire_rewrap(w, p, n, eol);
}

/* wire_leaf_done - the scan's decision for the entity whose body ends. */
static void
wire_leaf_done(struct wire *w, size_t e, enum wire_cte cte)
{
	unsigned char *f = wire_flag(w, e);

	if (f != NULL && cte == CTE_IDENTITY && (*f & (WF_LONG | WF_8BIT)))
		*f |= WF_QP;
}

/* Input. */

/* wire_fill - more input; 0, or -1 (w->err set). */
static int
wire_fill(struct wire *w)
{
	uint64_t left = w->src.len - w->in_off;
	size_t	 n = sizeof(w->in);
	ssize_t	 r;

	if (left == 0) {
		w->in_eof = 1;
		return 0;
	}
	if (n > left)
		n = (size_t)left;
	r = w->src.read(w->src.ctx, w->in, n, w->in_off);
	if (r <= 0) {
		w->err = r < 0 ? errno : EIO;
		return -1;
	}
	w->in_pos = 0;
	w->in_len = (size_t)r;
	w->in_off += (uint64_t)r;
	return 0;
}

/* wire_line_piece - hand on the line buffer. */
static void
wire_line_piece(struct wire *w, int eol)
{
	enum wire_state st = w->st;
	size_t	 ent = w->ent;
	enum wire_cte cte = w->cte;

	wire_chunk(w, w->line, w->llen, w->lfirst, eol);
	if (w->pass == 0 && st == W_BODY && w->st != W_BODY)
		wire_leaf_done(w, ent, cte);	/* a boundary ended it */
	w->lfirst = eol;
	w->llen = 0;
}

/* wire_byte - one input byte into the line being cut. */
static void
wire_byte(struct wire *w, char c)
{
	if (w->pending_cr) {
		w->pending_cr = 0;
		if (c == '\n') {
			wire_line_piece(w, 1);
			return;
		}
		w->line[w->llen++] = ' ';	/* a bare CR */
		if (w->llen == sizeof(w->line))
			wire_line_piece(w, 0);
	}
	if (c == '\r')
		w->pending_cr = 1;
	else if (c == '\n')
		wire_line_piece(w, 1);
	else {
		w->line[w->llen++] = c;
		if (w->llen == sizeof(w->line))
			wire_line_piece(w, 0);
	}
}

/* wire_run - the input up to the next CR or LF (at most what fits in the
 * line being cut) in one copy; then that byte. */
static void
wire_run(struct wire *w)
{
	const char *p = w->in + w->in_pos, *e = w->in + w->in_len, *q;
	size_t	 room = sizeof(w->line) - w->llen, k;

	if (w->pending_cr || *p == '\r' || *p == '\n') {
		wire_byte(w, *p);
		w->in_pos++;
		return;
	}
	for (q = p; q < e && *q != '\r' && *q != '\n' &&
	    (size_t)(q - p) < room; q++)
		;
	k = (size_t)(q - p);
	memcpy(w->line + w->llen, p, k);
	w->llen += k;
	w->in_pos += k;
	if (w->llen == sizeof(w->line))
		wire_line_piece(w, 0);
}

/* wire_finish - the end of the content. */
static void
wire_finish(struct wire *w)
{
	if (w->pending_cr || w->llen > 0 || !w->lfirst) {
		w->pending_cr = 0;
		wire_line_piece(w, 1);
	}
	if (w->st == W_HEADER)
		wire_field_end(w);
	if (w->pass == 0 && w->st == W_BODY)
		wire_leaf_done(w, w->ent, w->cte);
	w->in_eof = 2;
}

/* wire_pump - make output: process input until some is there or the
 * content ends.  -1 on a read error. */
static int
wire_pump(struct wire *w)
{
	while (w->olen == w->opos && w->in_eof < 2 && !w->err) {
		w->olen = w->opos = 0;
		if (w->in_pos == w->in_len) {
			if (wire_fill(w) < 0)
				break;
			if (w->in_eof) {
				wire_finish(w);
				break;
			}
		}
		while (w->in_pos < w->in_len && w->olen < 8192 && !w->err)
			wire_run(w);
	}
	if (w->err) {
		errno = w->err;
		return -1;
	}
	return 0;
}

/* wire_start - begin a pass. */
static void
wire_start(struct wire *w, int pass)
{
	w->pass = pass;
	w->in_off = 0;
	w->in_pos = w->in_len = 0;
	w->in_eof = w->pending_cr = 0;
	w->llen = 0;
	w->lfirst = 1;
	w->depth = 0;
	w->nent = 0;
	w->flen = 0;
	w->olen = w->opos = 0;
	w->col = 0;
	w->esc = w->ws = w->u8need = 0;
	w->qp = 0;
	w->cte = CTE_IDENTITY;
	wire_entity_new(w, 0);
}

/* wire_read - up to n bytes of the wire form. */
ssize_t
wire_read(struct wire *w, char *buf, size_t n)
{
	size_t	 k;

	if (wire_pump(w) < 0)
		return -1;
	k = w->olen - w->opos;
	if (k > n)
		k = n;
	if (k == 0)
		return 0;
	memcpy(buf, w->out + w->opos, k);
	w->opos += k;
	return (ssize_t)k;
}

/* wire_rewind - start the stream over. */
void
wire_rewind(struct wire *w)
{
	wire_start(w, 2);
}

/* wire_open - scan, count, and get ready to stream. */
int
wire_open(struct wire **wp, const struct wire_src *src)
{
	struct wire *w;
	char	 tmp[8192];
	ssize_t	 r;
	int	 saved;

	*wp = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->src = *src;
	wire_start(w, 0);
	while (w->in_eof < 2 && !w->err)
		if (wire_pump(w) < 0)
			break;
	wire_start(w, 1);
	w->size = 0;
	while (!w->err && (r = wire_read(w, tmp, sizeof(tmp))) > 0)
		w->size += (uint64_t)r;
	if (w->err) {
		saved = w->err;
		wire_free(w);
		errno = saved;
		return -1;
	}
	wire_start(w, 2);
	*wp = w;
	return 0;
}

/* wire_size - the exact length of the wire form. */
uint64_t
wire_size(const struct wire *w)
{
	return w->size;
}

/* wire_changed - 1 if something was folded or re-encoded. */
int
wire_changed(const struct wire *w)
{
	return w->changed;
}

/* wire_8bit - 1 if 8-bit bytes remain on the wire. */
int
wire_8bit(const struct wire *w)
{
	return w->eightbit;
}

/* wire_free - release it. */
void
wire_free(struct wire *w)
{
	if (w == NULL)
		return;
	free(w->flags);
	free(w->out);
	free(w);
}
