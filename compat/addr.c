/*
 * addr.c - RFC 5322 address lists (To, Cc, Bcc, -f); see compat.h.
 *
 * The value is cut into tokens (atoms, quoted strings, domain literals
 * and the specials < > @ , ; : .); comments and blanks are dropped, but a
 * blank is remembered so "john doe" (a phrase) differs from "john.doe".
 * Each mailbox is then either a name-addr (the addr-spec inside <...>,
 * any source route "@a,@b:" removed, the display name ignored) or a bare
 * addr-spec.  Groups ("team: a@b, c@d;", "undisclosed-recipients:;")
 * contribute their members.  Unqualified names ("root") are kept as given.
 *
 * The output is the addr-spec as written, quotes included ("\"a b\"@x"),
 * comments and folding blanks removed.  Nothing ever comes out that holds
 * a control character.  Damaged input yields EX_DATAERR, but every mailbox
 * that could be recovered is still appended.
 */
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"
#include "util/buf.h"
#include "util/msg.h"

#define ADDR_MAX	998		/* longest address we hand out */

enum addr_tok {
	TOK_END,
	TOK_WORD,			/* atom, quoted string, domain literal */
	TOK_SPECIAL,			/* one of < > @ , ; : . */
	TOK_BAD				/* a control byte or a stray \ or ] */
};

/* The state of one parse. */
struct addr_parse {
	const char *p;			/* next input byte */
	struct addrlist *out;
	int	 damaged;		/* something was wrong */
	int	 nomem;
	/* the token just read */
	enum addr_tok tok;
	const char *tp;			/* its text */
	size_t	 tn;
	int	 tbad;			/* it holds a control byte */
	/* the mailbox being collected */
	struct buf spec;		/* bare addr-spec (no angle brackets) */
	struct buf angle;		/* the addr-spec inside <...> */
	int	 last, alast;		/* previous token: 0, 'w', '.', '@' */
	int	 nat, anat;		/* "@" seen outside / inside <> */
	int	 phrase;		/* two words in a row: a display name */
	int	 in_angle, have_angle, in_route;
	int	 sbad, abad;		/* the bare / the <> addr-spec is bad */
	int	 bad;			/* the whole mailbox cannot be used */
};

/* addr_ctl - a control byte (which never belongs in an address). */
static int
addr_ctl(unsigned char c)
{
	return (c < ' ' && c != '\t') || c == 0x7f;
}

/* addr_special - a byte that ends an atom. */
static int
addr_special(unsigned char c)
{
	return c == 0 || c == ' ' || c == '\t' || addr_ctl(c) ||
	    strchr("()<>[]:;@\\,.\"", c) != NULL;
}

/* addr_skip_comment - skip a (possibly nested) comment at ap->p. */
static void
addr_skip_comment(struct addr_parse *ap)
{
	int	 depth = 0;

	for (; *ap->p; ap->p++) {
		if (*ap->p == '\\' && ap->p[1])
			ap->p++;
		else if (*ap->p == '(')
			depth++;
		else if (*ap->p == ')' && --depth == 0) {
			ap->p++;
			return;
		}
	}
	ap->damaged = 1;		/* unclosed comment */
}

/* addr_quoted - a quoted string or domain literal ending in close. */
static void
addr_quoted(struct addr_parse *ap, char close)
{
	ap->tp = ap->p++;
	for (; *ap->p && *ap->p != close; ap->p++) {
		if (*ap->p == '\\' && ap->p[1])
			ap->p++;
		if (addr_ctl((unsigned char)*ap->p))
			ap->tbad = 1;
	}
	if (*ap->p == close)
		ap->p++;
	else {
		ap->damaged = 1;	/* unclosed quote or literal */
		ap->tbad = 1;
	}
	ap->tn = (size_t)(ap->p - ap->tp);
	ap->tok = TOK_WORD;
}

/* addr_next - read the next token into ap->tok / tp / tn. */
static void
addr_next(struct addr_parse *ap)
{
	unsigned char c;

	ap->tbad = 0;
	for (;;) {
		c = (unsigned char)*ap->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			ap->p++;
		else if (c == '(')
			addr_skip_comment(ap);
		else
			break;
	}
	ap->tp = ap->p;
	ap->tn = 1;
	if (c == 0) {
		ap->tok = TOK_END;
		ap->tn = 0;
	} else if (c == '"')
		addr_quoted(ap, '"');
	else if (c == '[')
		addr_quoted(ap, ']');
	else if (strchr("<>@,;:.", c) != NULL) {
		ap->tok = TOK_SPECIAL;
		ap->p++;
	} else if (addr_special(c)) {
		ap->tok = TOK_BAD;	/* control byte, ')', ']' or '\' */
		ap->p++;
	} else {
		while (!addr_special((unsigned char)*ap->p))
			ap->p++;
		ap->tn = (size_t)(ap->p - ap->tp);
		ap->tok = TOK_WORD;
	}
}

/* addr_reset - forget the mailbox being collected. */
static void
addr_reset(struct addr_parse *ap)
{
	buf_reset(&ap->spec);
	buf_reset(&ap->angle);
	ap->last = ap->alast = 0;
	ap->nat = ap->anat = 0;
	ap->phrase = ap->in_angle = ap->have_angle = ap->in_route = 0;
	ap->sbad = ap->abad = ap->bad = 0;
}

/* addr_append - add one address to the output list. */
static int
addr_append(struct addrlist *out, const char *s, size_t n)
{
	char	**v, *copy;

	if ((copy = malloc(n + 1)) == NULL)
		return -1;
	memcpy(copy, s, n);
	copy[n] = '\0';
	if ((v = realloc(out->v, (out->n + 2) * sizeof(*v))) == NULL) {
		free(copy);
		return -1;
	}
	v[out->n++] = copy;
	v[out->n] = NULL;
	out->v = v;
	return 0;
}

/* addr_valid - an addr-spec made of words, dots and at most one "@". */
static int
addr_valid(const struct buf *b, int nat, int last)
{
	if (b->len == 0 || b->len > ADDR_MAX || nat > 1 || last != 'w')
		return 0;
	return b->ptr[0] != '@' && b->ptr[0] != '.';
}

/* addr_finish - the mailbox is complete: emit its address if usable. */
static void
addr_finish(struct addr_parse *ap)
{
	const struct buf *b = &ap->spec;
	int	 nat = ap->nat, last = ap->last, bad = ap->bad || ap->sbad;

	if (ap->in_angle) {
		ap->damaged = 1;	/* "<" never closed */
		ap->have_angle = 1;
	}
	if (ap->have_angle) {
		b = &ap->angle;
		nat = ap->anat;
		last = ap->alast;
		bad = ap->bad || ap->abad;
	} else if (ap->phrase)
		ap->damaged = 1;	/* "Name addr" without <> */
	if (b->len == 0 && !bad)
		;			/* "<>", ",,", an empty group */
	else if (bad || (!ap->have_angle && ap->phrase && nat == 0) ||
	    !addr_valid(b, nat, last))
		ap->damaged = 1;
	else if (addr_append(ap->out, b->ptr, b->len) < 0)
		ap->nomem = 1;
	addr_reset(ap);
}

/* addr_add_tok - add the current word or "." or "@" to an addr-spec.
 * Dots are taken as they come ("john..doe@" and "john.@" exist in the
 * wild); "@" must follow a word or a dot. */
static void
addr_add_tok(struct addr_parse *ap, struct buf *b, int *last, int *nat,
    int *bad)
{
	int	 kind = ap->tok == TOK_WORD ? 'w' : *ap->tp;

	if (kind == 'w' && *last == 'w') {
		/* Two words in a row: what came before was a phrase
		 * (an error inside <>, a lost display name outside). */
		ap->phrase = 1;
		buf_reset(b);
		*nat = 0;
		*bad = b == &ap->angle;
	} else if (*last == 0 && kind != 'w')
		*bad = 1;		/* a leading "." or "@" */
	else if (kind == '@' && *last == '@')
		*bad = 1;		/* "@@" */
	if (kind == '@')
		(*nat)++;
	if (ap->tbad)
		*bad = 1;		/* a control byte in quotes */
	if (buf_add(b, ap->tp, ap->tn) < 0)
		*bad = 1;		/* longer than any address */
	*last = kind;
}

/* addr_in_angle - one token inside <...>. */
static void
addr_in_angle(struct addr_parse *ap)
{
	char	 c = ap->tok == TOK_SPECIAL ? *ap->tp : 0;

	if (ap->in_route) {
		if (c == ':')
			ap->in_route = 0;
		else if (ap->tok == TOK_BAD || c == '<' || c == ';')
			ap->bad = 1;
		return;
	}
	if (c == '>') {
		ap->in_angle = 0;
		if (ap->have_angle)
			ap->bad = 1;	/* two <...> in one mailbox */
		ap->have_angle = 1;
	} else if (c == '@' && ap->alast == 0)
		ap->in_route = 1;	/* <@relay,@relay:user@domain> */
	else if (ap->tok == TOK_WORD || c == '.' || c == '@')
		addr_add_tok(ap, &ap->angle, &ap->alast, &ap->anat,
		    &ap->abad);
	else
		ap->bad = 1;
}

/* addr_outside - one token outside <...>. */
static void
addr_outside(struct addr_parse *ap)
{
	char	 c = ap->tok == TOK_SPECIAL ? *ap->tp : 0;

	if (ap->tok == TOK_BAD)
		ap->bad = 1;
	else if (c == '<') {
		if (ap->have_angle)
			ap->bad = 1;
		buf_reset(&ap->angle);
		ap->alast = ap->anat = 0;
		ap->in_angle = 1;
	} else if (c == ',' || c == ';')
		addr_finish(ap);
	else if (c == ':') {
		/* A group starts; its display name is not an address. */
		if (ap->have_angle || ap->nat)
			ap->damaged = 1;
		addr_reset(ap);
	} else if (c == '>')
		ap->damaged = 1;	/* stray ">" */
	else if (ap->have_angle)
		ap->damaged = 1;	/* text after <...> */
	else
		addr_add_tok(ap, &ap->spec, &ap->last, &ap->nat, &ap->sbad);
}

/* addr_parse_list - append the addr-specs of an address list to out. */
int
addr_parse_list(const char *value, struct addrlist *out)
{
	struct addr_parse ap;

	memset(&ap, 0, sizeof(ap));
	ap.p = value ? value : "";
	ap.out = out;
	buf_init(&ap.spec, ADDR_MAX + 1);
	buf_init(&ap.angle, ADDR_MAX + 1);
	for (addr_next(&ap); ap.tok != TOK_END; addr_next(&ap)) {
		if (ap.in_angle && ap.tok == TOK_SPECIAL &&
		    (*ap.tp == ',' || *ap.tp == ';') && !ap.in_route) {
			ap.in_angle = 0;	/* "<a@b, c@d": close it */
			ap.have_angle = 1;
			ap.damaged = 1;
		}
		if (ap.in_angle)
			addr_in_angle(&ap);
		else
			addr_outside(&ap);
	}
	addr_finish(&ap);
	buf_free(&ap.spec);
	buf_free(&ap.angle);
	if (ap.nomem)
		return err_set(EX_TEMPFAIL, "out of memory");
	if (ap.damaged)
		return err_set(EX_DATAERR, "malformed address list");
	return 0;
}

/* addr_domain - the part after the last "@" outside quotes, or "". */
const char *
addr_domain(const char *addr)
{
	const char *at = NULL, *p;
	int	 quoted = 0;

	for (p = addr; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == '@' && !quoted)
			at = p;
	}
	return at ? at + 1 : "";
}

/* addr_free - release an address list. */
void
addr_free(struct addrlist *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
