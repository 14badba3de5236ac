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
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/*
 * Mailboxes (RFC 5321 4.1.2): the one form every envelope address takes.
 *
 *	Mailbox    = Local-part "@" ( Domain / address-literal )
 *	Local-part = Dot-string / Quoted-string
 *
 * atext is RFC 5322's, plus bytes >= 0x80 (RFC 6531).  A quoted local
 * part may not hold a blank, "<", ">" or a backslash (it is still sent in
 * quotes; nothing with a blank or an angle bracket reaches a MAIL or RCPT
 * line), and one that is a valid Dot-string loses its quotes.  A domain is
 * LDH labels (plus "_" and bytes >= 0x80), 1..63 bytes each, at most 255
 * in all, one trailing dot dropped; or an address literal [1.2.3.4] /
 * [IPv6:...].  ADDR_F_LOCAL also accepts a bare Local-part (unqualified).
 */

/* addr_atext - a byte of an RFC 5322 atom (or UTF-8). */
static int
addr_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* addr_dot_string - s[0..n) is Atom *("." Atom). */
static int
addr_dot_string(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '.' ? s[i + 1] == '.' : !addr_atext((unsigned char)s[i]))
			return 0;
	return 1;
}

/* addr_local - check and store the local part s[0..n). */
static int
addr_local(const char *s, size_t n, struct mailbox *mb)
{
	size_t	 i;

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		if (addr_dot_string(s + 1, n - 2)) {
			s++;			/* "john.doe" is john.doe */
			n -= 2;
		} else
			for (i = 1; i + 1 < n; i++)
				if ((unsigned char)s[i] <= ' ' ||
				    (unsigned char)s[i] >= 0x7f ||
				    strchr("\"<>\\", s[i]) != NULL)
					return err_set(EX_DATAERR, "bad "
					    "character in a quoted local part");
	} else if (!addr_dot_string(s, n))
		return err_set(EX_DATAERR, "bad local part");
	if (n >= sizeof(mb->local))
		return err_set(EX_DATAERR, "local part too long");
	memcpy(mb->local, s, n);
	mb->local[n] = '\0';
	return 0;
}

/* addr_literal - [IPv4] or [IPv6:...] (or another tag: "Tag:text"). */
static int
addr_literal(const char *s, size_t n)
{
	size_t	 i;

	if (n < 3 || s[0] != '[' || s[n - 1] != ']')
		return 0;
	for (i = 1; i + 1 < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(".:-", s[i]) == NULL)
			return 0;
	return 1;
}

/* addr_domain_ok - LDH labels, or an address literal. */
static int
addr_domain_ok(const char *s, size_t n)
{
	size_t	 i, label = 0;
	unsigned char c;

	if (n == 0 || n > ADDR_DOMAIN_MAX)
		return 0;		/* literals too: mb->domain holds 255 */
	if (addr_literal(s, n))
		return 1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_' || c >= 0x80) {
			if (++label > 63 || (label == 1 && c == '-'))
				return 0;
		} else
			return 0;
		if (c == '-' && (i + 1 == n || s[i + 1] == '.'))
			return 0;
	}
	return label > 0;
}

/* addr_parse_mailbox - check s as a Mailbox and split it; see above. */
int
addr_parse_mailbox(const char *s, int flags, struct mailbox *mb)
{
	const char *at = NULL, *p;
	size_t	 n, dn;
	int	 quoted = 0;

	memset(mb, 0, sizeof(*mb));
	for (p = s; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '@' && !quoted) {
			if (at != NULL)
				return err_set(EX_DATAERR, "more than one @");
			at = p;
		} else if ((unsigned char)*p < ' ' || *p == 0x7f)
			return err_set(EX_DATAERR, "control character in an "
			    "address");
	}
	n = strlen(s);
	if (at == NULL && !(flags & ADDR_F_LOCAL))
		return err_set(EX_DATAERR, "no domain");
	if (addr_local(s, at ? (size_t)(at - s) : n, mb) != 0)
		return EX_DATAERR;
	if (at == NULL)
		return 0;
	dn = n - (size_t)(at + 1 - s);
	if (dn > 1 && at[dn] == '.')
		dn--;			/* "a@x." is a@x */
	if (!addr_domain_ok(at + 1, dn))
		return err_set(EX_DATAERR, "bad domain");
	memcpy(mb->domain, at + 1, dn);
	mb->domain[dn] = '\0';
	return 0;
}

/* addr_format - "local@domain" (or "local") into out. */
int
addr_format(const struct mailbox *mb, char *out, size_t len)
{
	int	 n;

	n = snprintf(out, len, "%s%s%s", mb->local, *mb->domain ? "@" : "",
	    mb->domain);
	if (n < 0 || (size_t)n >= len)
		return err_set(EX_DATAERR, "address too long");
	return 0;
}

/* addr_qualify - give an unqualified mailbox the domain; 1 if it did. */
int
addr_qualify(struct mailbox *mb, const char *domain)
{
	if (*mb->domain != '\0' || domain == NULL || *domain == '\0')
		return 0;
	snprintf(mb->domain, sizeof(mb->domain), "%s", domain);
	return 1;
}

/* addr_same - the same mailbox, ignoring case (local part included, as
 * every real mail system does). */
int
addr_same(const struct mailbox *a, const struct mailbox *b)
{
	return strcasecmp(a->local, b->local) == 0 &&
	    strcasecmp(a->domain, b->domain) == 0;
}

/* addr_mbox_push - append one mailbox to a list. */
static int
addr_mbox_push(struct mboxlist *l, const struct mailbox *mb)
{
	struct mailbox *v;

	if ((v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	v[l->n++] = *mb;
	l->v = v;
	return 0;
}

/* addr_argv_clean - copy word without comments; top-level blanks and
 * commas become ',' and group names ("team:") and ';' are dropped, so
 * what is left is a comma-separated list of bare addresses. */
static int
addr_argv_clean(const char *w, struct buf *out)
{
	size_t	 start = 0;
	int	 quoted = 0, lit = 0, depth = 0, rc = 0;

	for (; *w && rc == 0; w++) {
		if (depth > 0) {
			if (*w == '\\' && w[1])
				w++;
			else if (*w == '(')
				depth++;
			else if (*w == ')')
				depth--;
			continue;
		}
		if (quoted || lit) {
			if (*w == (quoted ? '"' : ']'))
				quoted = lit = 0;
			rc = buf_addch(out, *w);
			continue;
		}
		if (*w == '(')
			depth = 1;
		else if (*w == ':') {
			out->len = start;	/* a group's display name */
		} else if (*w == ' ' || *w == '\t' || *w == ',' || *w == ';') {
			if (out->len > start)
				rc = buf_addch(out, ',');
			start = out->len;
		} else {
			quoted = *w == '"';
			lit = *w == '[';
			rc = buf_addch(out, *w);
		}
	}
	if (rc < 0)
		return err_set(EX_DATAERR, "address too long");
	if (quoted || lit || depth)
		return err_set(EX_DATAERR, "unbalanced quotes, brackets or "
		    "parentheses");
	if (out->ptr)
		out->ptr[out->len] = '\0';
	return 0;
}

/* addr_parse_argv - the mailboxes of one argv word (or -f), as Postfix
 * reads them: "a@x (Alice)", "Alice <a@x>", "a@x, b@y", "a@x b@y",
 * "team: a@x, b@y;", "undisclosed-recipients:;", "a@x.".  Appends to out;
 * EX_DATAERR (nothing appended) if any part is not a valid mailbox. */
int
addr_parse_argv(const char *word, int flags, struct mboxlist *out)
{
	struct addrlist al = { NULL, 0 };
	struct mailbox mb;
	struct buf b;
	size_t	 i, n0 = out->n;
	char	*p, *e;
	int	 rc = 0;

	buf_init(&b, 4 * ADDR_MAX);
	if (strchr(word, '<') != NULL) {
		if ((rc = addr_parse_list(word, &al)) == 0)
			for (i = 0; i < al.n && rc == 0; i++)
				if ((rc = addr_parse_mailbox(al.v[i], flags,
				    &mb)) == 0)
					rc = addr_mbox_push(out, &mb);
	} else if ((rc = addr_argv_clean(word, &b)) == 0 && b.len > 0) {
		for (p = b.ptr; rc == 0 && p != NULL; p = e ? e + 1 : NULL) {
			if ((e = strchr(p, ',')) != NULL)
				*e = '\0';
			if (*p && (rc = addr_parse_mailbox(p, flags, &mb)) == 0)
				rc = addr_mbox_push(out, &mb);
		}
	}
	addr_free(&al);
	buf_free(&b);
	if (rc)
		out->n = n0;
	return rc;
}

/* addr_mbox_free - release a mailbox list. */
void
addr_mbox_free(struct mboxlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * Qualifying header addresses: "root (Cron Daemon)" becomes
 * "root@host (Cron Daemon)", "Admin <root>" becomes "Admin <root@host>".
 * Everything else in the value (names, comments, quoting, folding) is
 * kept as written.
 */

/* addr_hq_mailbox - one mailbox of a header value, qualified into out. */
static int
addr_hq_mailbox(const char *s, size_t n, const char *domain, struct buf *out,
    int *changed)
{
	size_t	 i, lt = n, gt = n, end = 0;
	int	 quoted = 0, depth = 0, lit = 0, at = 0, in_words = 0;
	int	 words = 0, blank = 0, gap = 0;
	char	 c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (depth > 0) {
			if (c == '\\')
				i++;
			else
				depth += (c == '(') - (c == ')');
			continue;
		}
		if (quoted || lit) {
			if (c == '\\' && quoted)
				i++;
			else if (c == (quoted ? '"' : ']'))
				quoted = lit = 0;
			end = i + 1;
			continue;
		}
		if (c == '(')
			depth = 1;
		else if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			blank = words > 0;
		else if (c == '<' && lt == n)
			lt = i;
		else if (c == '>' && lt < n && gt == n)
			gt = i;
		else {
			quoted = c == '"';
			lit = c == '[';
			if (lt < n && gt == n) {
				at |= c == '@';
				in_words = 1;
				continue;
			}
			gap |= blank;
			at |= c == '@' && lt == n;
			words++;
			end = i + 1;
		}
	}
	if (lt < n)			/* name-addr: qualify inside <> */
		end = gt < n && !at && in_words ? gt : n + 1;
	else if (gap || words == 0 || at || quoted || lit || depth)
		end = n + 1;		/* not a plain addr-spec: keep it */
	if (end > n)
		return buf_add(out, s, n);
	*changed = 1;
	if (buf_add(out, s, end) < 0 || buf_addch(out, '@') < 0 ||
	    buf_addstr(out, domain) < 0)
		return -1;
	return buf_add(out, s + end, n - end);
}

/* addr_qualify_header - value with every unqualified addr-spec given
 * "@domain", into out; *changed says whether anything was added.  Names,
 * comments, quoting and folding stay as written; a value that is not an
 * address list comes back unchanged.  -1 if out is full. */
int
addr_qualify_header(const char *v, const char *domain, struct buf *out,
    int *changed)
{
	size_t	 i, start = 0;
	int	 quoted = 0, depth = 0, lit = 0, angle = 0, rc = 0;
	char	 c;

	*changed = 0;
	for (i = 0; rc == 0; i++) {
		c = v[i];
		if (c == '\0') {
			rc = addr_hq_mailbox(v + start, i - start, domain, out,
			    changed);
			break;
		}
		if (depth > 0) {
			if (c == '\\' && v[i + 1])
				i++;
			else
				depth += (c == '(') - (c == ')');
		} else if (quoted || lit) {
			if (c == '\\' && quoted && v[i + 1])
				i++;
			else if (c == (quoted ? '"' : ']'))
				quoted = lit = 0;
		} else if (c == '(')
			depth = 1;
		else if (c == '"')
			quoted = 1;
		else if (c == '[')
			lit = 1;
		else if (c == '<' || c == '>')
			angle = c == '<';
		else if (!angle && (c == ',' || c == ';' || c == ':')) {
			if (c == ':')	/* a group's display name */
				rc = buf_add(out, v + start, i - start);
			else
				rc = addr_hq_mailbox(v + start, i - start,
				    domain, out, changed);
			if (rc == 0)
				rc = buf_addch(out, c);
			start = i + 1;
		}
	}
	if (rc == 0 && out->ptr)
		out->ptr[out->len] = '\0';
	return rc;
}
