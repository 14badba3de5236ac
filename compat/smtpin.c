/*
 * smtpin.c - the "sendmail -bs" SMTP dialogue on stdin / stdout; see
 * compat.h.
 *
 * Wire format (RFC 5321 subset, as Postfix "smtpd -S"):
 *	220 <host> ESMTP sitemail
 *	HELO <name>		250 <host>
 *	EHLO <name>		250-<host> / 250-PIPELINING / 250-SIZE n /
 *				250-8BITMIME / 250 ENHANCEDSTATUSCODES
 *	MAIL FROM:<addr> [SIZE=n] [BODY=7BIT|8BITMIME]	250 2.1.0 Ok
 *	RCPT TO:<addr>		250 2.1.5 Ok (452 4.5.3 past max_recipients)
 *	DATA			354, the message, then
 *				250 2.0.0 Ok: queued as QID, or an error
 *	RSET, NOOP		250 2.0.0 Ok
 *	VRFY <x>		252 2.5.2
 *	HELP			214 2.0.0
 *	QUIT			221 2.0.0 Bye
 * HELO is not required before MAIL.  DSN parameters (NOTIFY, ORCPT, RET,
 * ENVID) are accepted and ignored.  Commands may end in LF or CR LF.
 *
 * The listener (sitemail-smtpd, ops->listener) speaks the same dialogue on
 * a socket, with more in EHLO:
 *	250-SMTPUTF8		MAIL ... SMTPUTF8 and AUTH=<...> accepted
 *	250-STARTTLS		when ops->starttls is set, before TLS only;
 *				"220 2.0.0 Ready to start TLS", then the
 *				buffered input is dropped and the session
 *				starts over (RFC 3207)
 *	250-AUTH PLAIN LOGIN	AUTH PLAIN [b64], AUTH LOGIN [b64]: with
 *				auth_accept any credentials get "235 2.7.0",
 *				otherwise "535 5.7.8"; the login is reported
 *				to ops->on_auth and never changes the site
 * and a freeze (EX_TEMPFAIL naming "frozen") answers 451 4.7.1.  A read
 * timeout (the caller's SO_RCVTIMEO) answers 421 4.4.2 and ends it.
 *
 * Replies are buffered and written before every read that could block,
 * so pipelined commands get their replies in one write and a client that
 * waits for each reply is never left waiting.  Nothing is ever written to
 * stderr.  A message's outcome maps from its sysexits status:
 *	0		250 2.0.0 Ok: queued as QID
 *	EX_TEMPFAIL	451 4.3.0
 *	EX_DATAERR	554 5.6.0 (552 5.3.4 when the reason is the size)
 *	EX_NOPERM	550 5.7.1
 *	EX_USAGE	501 5.5.4
 *	anything else	451 4.3.0
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "compat/compat.h"
#include "util/msg.h"

#define SMTPIN_LINE_MAX	2048		/* command line, CR LF excluded */
#define SMTPIN_ADDR_MAX	998		/* longest MAIL / RCPT address */
#define SMTPIN_OBUF	4096		/* reply buffer */
#define SMTPIN_ERRORS	50		/* error replies before we hang up */
#define SMTPIN_QIDLEN	128

/* One session. */
struct smtpin {
	const struct smtpin_ops *ops;
	const char *host;
	struct linein in;
	int	 ofd;			/* replies go here ... */
	struct smtpin_io io;		/* ... or through io.wr (TLS) */
	int	 tls;			/* STARTTLS done */
	int	 authed;		/* AUTH done */
	char	 obuf[SMTPIN_OBUF];
	size_t	 olen;
	int	 ioerr;
	unsigned errors;
	int	 quit;
	char	*sender;		/* NULL until MAIL */
	char	**rcpt;
	size_t	 nrcpt;
};

/* smtpin_flush - write the buffered replies to fd 1. */
static void
smtpin_flush(struct smtpin *s)
{
	size_t	 off = 0;
	ssize_t	 w;

	while (off < s->olen && !s->ioerr) {
		w = s->io.wr ? s->io.wr(s->io.ioctx, s->obuf + off,
		    s->olen - off) : write(s->ofd, s->obuf + off,
		    s->olen - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			s->ioerr = 1;
		else
			off += (size_t)w;
	}
	s->olen = 0;
}

static void	smtpin_reply(struct smtpin *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* smtpin_reply - queue one reply line; control bytes in it become '?'. */
static void
smtpin_reply(struct smtpin *s, const char *fmt, ...)
{
	char	 line[1024];
	va_list	 ap;
	size_t	 n, i;
	int	 r;

	va_start(ap, fmt);
	r = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (r < 0)
		r = 0;
	n = (size_t)r < sizeof(line) - 3 ? (size_t)r : sizeof(line) - 3;
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < ' ' || line[i] == 0x7f)
			line[i] = '?';
	memcpy(line + n, "\r\n", 2);
	n += 2;
	if (s->olen + n > sizeof(s->obuf))
		smtpin_flush(s);
	memcpy(s->obuf + s->olen, line, n);
	s->olen += n;
	if (line[0] == '4' || line[0] == '5')
		s->errors++;
}

/* smtpin_reset - forget the current transaction. */
static void
smtpin_reset(struct smtpin *s)
{
	size_t	 i;

	for (i = 0; i < s->nrcpt; i++)
		free(s->rcpt[i]);
	free(s->rcpt);
	free(s->sender);
	s->rcpt = NULL;
	s->nrcpt = 0;
	s->sender = NULL;
}

/* smtpin_line_ready - 1 if a whole command is already buffered. */
static int
smtpin_line_ready(const struct linein *in)
{
	return in->buf != NULL && in->end > in->pos &&
	    memchr(in->buf + in->pos, '\n', in->end - in->pos) != NULL;
}

/* smtpin_word - does the text at p start with word (any case)? */
static const char *
smtpin_word(const char *p, const char *word)
{
	size_t	 n = strlen(word);

	return strncasecmp(p, word, n) == 0 ? p + n : NULL;
}

/* smtpin_path - parse "<addr>" (or a bare addr) at *pp into out.  Drops
 * a source route.  Returns 0, or -1 for bad syntax. */
static int
smtpin_path(const char **pp, char *out, size_t outlen)
{
	const char *p = *pp, *start, *end;
	int	 quoted = 0, angle;
	size_t	 n;

	while (*p == ' ')
		p++;
	angle = *p == '<';
	start = p += angle;
	for (; *p; p++) {
		if (*p == '\\' && quoted && p[1])
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (angle ? *p == '>' : *p == ' '))
			break;
	}
	if (quoted || (angle && *p != '>') || (!angle && p == start))
		return -1;
	end = p;
	*pp = p + (angle && *p == '>');
	if (*start == '@') {		/* <@relay,@relay:user@domain> */
		while (start < end && *start != ':')
			start++;
		if (start == end)
			return -1;
		start++;
	}
	if ((n = (size_t)(end - start)) >= outlen)
		return -1;
	for (quoted = 0, p = start; p < end; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return -1;	/* CR, LF, NUL, TAB, ... */
		if (*p == '\\' && quoted && p + 1 < end &&
		    (unsigned char)p[1] >= ' ' && p[1] != 0x7f)
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == ' ' && !quoted)
			return -1;
	}
	memcpy(out, start, n);
	out[n] = '\0';
	return 0;
}

/* smtpin_params - check MAIL / RCPT parameters; 0 or -1 after a reply. */
static int
smtpin_params(struct smtpin *s, const char *p, int mail)
{
	const char *w, *v;
	size_t	 n;
	unsigned long long size;
	char	*e;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		for (w = p; *p && *p != ' '; p++)
			;
		n = (size_t)(p - w);
		if (mail && (v = smtpin_word(w, "SIZE=")) != NULL) {
			size = strtoull(v, &e, 10);
			if (!isdigit((unsigned char)*v) || e != p) {
				smtpin_reply(s, "501 5.5.4 Bad SIZE syntax");
				return -1;
			}
			if (s->ops->max_size && size > s->ops->max_size) {
				smtpin_reply(s, "552 5.3.4 Message size "
				    "exceeds fixed limit");
				return -1;
			}
		} else if (mail && (v = smtpin_word(w, "BODY=")) != NULL) {
			if ((p - v != 4 || strncasecmp(v, "7BIT", 4) != 0) &&
			    (p - v != 8 || strncasecmp(v, "8BITMIME", 8) != 0)) {
				smtpin_reply(s, "501 5.5.4 Unsupported BODY "
				    "parameter");
				return -1;
			}
		} else if (!((mail && (smtpin_word(w, "RET=") ||
		    smtpin_word(w, "ENVID="))) || (mail && s->ops->listener &&
		    (smtpin_word(w, "AUTH=") || (n == 8 &&
		    strncasecmp(w, "SMTPUTF8", 8) == 0))) || (!mail &&
		    (smtpin_word(w, "NOTIFY=") || smtpin_word(w, "ORCPT="))))) {
			smtpin_reply(s, "555 5.5.4 Unsupported option: %.*s",
			    (int)(n > 64 ? 64 : n), w);
			return -1;
		}
	}
}

/* smtpin_mail - MAIL FROM:<addr> [params]. */
static void
smtpin_mail(struct smtpin *s, const char *arg)
{
	char	 addr[SMTPIN_ADDR_MAX + 1];
	struct mailbox mb;
	const char *p;

	if (s->sender != NULL) {
		smtpin_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if ((p = smtpin_word(arg, "FROM:")) == NULL) {
		smtpin_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (smtpin_path(&p, addr, sizeof(addr)) < 0) {
		smtpin_reply(s, "501 5.1.7 Bad sender address syntax");
		return;
	}
	if (*addr && addr_parse_mailbox(addr, ADDR_F_LOCAL, &mb) != 0) {
		smtpin_reply(s, "553 5.1.7 Bad sender address: %.200s",
		    err_str());
		return;
	}
	if (smtpin_params(s, p, 1) < 0)
		return;
	if ((s->sender = strdup(addr)) == NULL) {
		smtpin_reply(s, "451 4.3.0 Error: out of memory");
		return;
	}
	smtpin_reply(s, "250 2.1.0 Ok");
}

/* smtpin_rcpt - RCPT TO:<addr> [params]. */
static void
smtpin_rcpt(struct smtpin *s, const char *arg)
{
	char	 addr[SMTPIN_ADDR_MAX + 1], **v;
	struct mailbox mb;
	const char *p;

	if (s->sender == NULL) {
		smtpin_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if ((p = smtpin_word(arg, "TO:")) == NULL) {
		smtpin_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (smtpin_path(&p, addr, sizeof(addr)) < 0 || addr[0] == '\0') {
		smtpin_reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	if (addr_parse_mailbox(addr, ADDR_F_LOCAL, &mb) != 0) {
		smtpin_reply(s, "553 5.1.3 Bad recipient address: %.200s",
		    err_str());
		return;
	}
	if (smtpin_params(s, p, 0) < 0)
		return;
	if (s->ops->max_recipients && s->nrcpt >= s->ops->max_recipients) {
		smtpin_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if ((v = realloc(s->rcpt, (s->nrcpt + 2) * sizeof(*v))) == NULL ||
	    (v[s->nrcpt] = strdup(addr)) == NULL) {
		if (v)
			s->rcpt = v;
		smtpin_reply(s, "452 4.3.0 Error: out of memory");
		return;
	}
	v[++s->nrcpt] = NULL;
	s->rcpt = v;
	smtpin_reply(s, "250 2.1.5 Ok");
}

/* smtpin_outcome - the reply for a message's sysexits status. */
static void
smtpin_outcome(struct smtpin *s, int rc, const char *qid)
{
	const char *why = err_str();

	switch (rc) {
	case 0:
		smtpin_reply(s, "250 2.0.0 Ok: queued as %s", qid);
		break;
	case EX_DATAERR:
		if (strcasestr(why, "size") != NULL)
			smtpin_reply(s, "552 5.3.4 Error: %.400s", why);
		else
			smtpin_reply(s, "554 5.6.0 Error: %.400s", why);
		break;
	case EX_NOPERM:
		smtpin_reply(s, "550 5.7.1 Error: %.400s", why);
		break;
	case EX_USAGE:
		smtpin_reply(s, "501 5.5.4 Error: %.400s", why);
		break;
	case EX_TEMPFAIL:
		if (s->ops->listener && strstr(why, "frozen") != NULL) {
			smtpin_reply(s, "451 4.7.1 Error: %.400s", why);
			break;
		}
		/* FALLTHROUGH */
	default:
		smtpin_reply(s, "451 4.3.0 Error: %.400s", why);
	}
}

/* smtpin_data - DATA: hand the message to the caller, then reply. */
static void
smtpin_data(struct smtpin *s, const char *arg)
{
	char	 qid[SMTPIN_QIDLEN];
	const char *p;
	size_t	 n;
	int	 eol, rc, r = 1;

	if (*arg != '\0') {
		smtpin_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->sender == NULL || s->nrcpt == 0) {
		smtpin_reply(s, "503 5.5.1 Error: need %s command",
		    s->sender == NULL ? "MAIL" : "RCPT");
		return;
	}
	smtpin_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtpin_flush(s);
	s->in.dot = DOT_SMTP;
	s->in.done = 0;
	qid[0] = '\0';
	rc = s->ops->deliver(s->ops->ctx, s->sender, s->rcpt, s->nrcpt,
	    &s->in, qid, sizeof(qid));
	while (!s->in.done && (r = linein_get(&s->in, &p, &n, &eol)) > 0)
		;			/* the caller stopped early */
	smtpin_reset(s);
	if (!s->in.done) {		/* EOF or error inside DATA */
		s->ioerr = r < 0;
		s->quit = 1;
		return;
	}
	s->in.dot = DOT_NONE;
	s->in.done = 0;
	s->in.bol = 1;
	smtpin_outcome(s, rc, qid);
}

/* smtpin_ehlo_listener - the listener's extra EHLO keywords. */
static void
smtpin_ehlo_listener(struct smtpin *s)
{
	smtpin_reply(s, "250-SMTPUTF8");
	if (s->ops->starttls != NULL && !s->tls)
		smtpin_reply(s, "250-STARTTLS");
	smtpin_reply(s, "250-AUTH PLAIN LOGIN");
}

/* smtpin_starttls - STARTTLS: "220", then TLS from a clean slate. */
static void
smtpin_starttls(struct smtpin *s, const char *arg)
{
	if (s->ops->starttls == NULL || s->tls) {
		smtpin_reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (*arg != '\0') {
		smtpin_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	smtpin_reply(s, "220 2.0.0 Ready to start TLS");
	smtpin_flush(s);
	s->in.pos = s->in.end = 0;	/* nothing sent before TLS counts */
	if (s->ioerr || s->ops->starttls(s->ops->ctx, s->ofd, &s->io) != 0) {
		s->ioerr = 1;
		return;
	}
	s->in.rd = s->io.rd;
	s->in.rdctx = s->io.ioctx;
	s->tls = 1;
	s->authed = 0;
	smtpin_reset(s);
}

/* smtpin_b64 - decode base64 text into out (NUL-terminated); the length,
 * or -1 if bad. */
static ssize_t
smtpin_b64(const char *text, char *out, size_t outlen)
{
	size_t	 n;

	if (sodium_base642bin((unsigned char *)out, outlen - 1, text,
	    strlen(text), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	out[n] = '\0';
	return (ssize_t)n;
}

/* smtpin_auth_read - one client response line after a 334; 0 or -1
 * (the exchange is over: cancelled or I/O error, reply sent). */
static int
smtpin_auth_read(struct smtpin *s, char *line, size_t max)
{
	size_t	 n;
	int	 r;

	smtpin_flush(s);
	if (s->ioerr || (r = linein_line(&s->in, line, max, &n)) == 0 ||
	    r == -1) {
		s->ioerr = 1;
		return -1;
	}
	if (r == -2 || strcmp(line, "*") == 0) {
		smtpin_reply(s, "501 5.7.0 Authentication aborted");
		return -1;
	}
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	return 0;
}

/* smtpin_auth_login - the login name out of a PLAIN or LOGIN exchange
 * (mech at arg, an initial response may follow); 0, or -1 after a reply. */
static int
smtpin_auth_login(struct smtpin *s, const char *arg, int plain, char *login,
    size_t loginlen)
{
	char	 line[SMTPIN_LINE_MAX + 1], dec[SMTPIN_LINE_MAX];
	const char *init = arg + 5;	/* after the mechanism */
	ssize_t	 n;

	while (*init == ' ')
		init++;
	if (*init == '\0' || strcmp(init, "=") == 0) {
		smtpin_reply(s, plain ? "334 " : "334 VXNlcm5hbWU6");
		if (smtpin_auth_read(s, line, sizeof(line)) < 0)
			return -1;
		init = line;
	}
	if ((n = smtpin_b64(init, dec, sizeof(dec))) < 0) {
		smtpin_reply(s, "501 5.5.2 Error: invalid base64 data");
		return -1;
	}
	if (plain) {		/* authzid NUL authcid NUL password */
		const char *id = memchr(dec, '\0', (size_t)n);

		if (id == NULL || memchr(id + 1, '\0', (size_t)(dec + n -
		    id - 1)) == NULL) {
			smtpin_reply(s, "501 5.5.2 Error: malformed PLAIN "
			    "response");
			return -1;
		}
		snprintf(login, loginlen, "%s", id + 1);
		return 0;
	}
	snprintf(login, loginlen, "%.*s", (int)strnlen(dec, (size_t)n), dec);
	smtpin_reply(s, "334 UGFzc3dvcmQ6");
	return smtpin_auth_read(s, line, sizeof(line));	/* not kept */
}

/* smtpin_auth - AUTH PLAIN / LOGIN: answered, logged, never trusted. */
static void
smtpin_auth(struct smtpin *s, const char *arg)
{
	char	 login[256];
	size_t	 i;
	int	 plain;

	if (s->authed || s->sender != NULL) {
		smtpin_reply(s, "503 5.5.1 Error: %s", s->authed ?
		    "already authenticated" : "AUTH not allowed during a "
		    "mail transaction");
		return;
	}
	plain = strncasecmp(arg, "PLAIN", 5) == 0 && (arg[5] == ' ' ||
	    arg[5] == '\0');
	if (!plain && !(strncasecmp(arg, "LOGIN", 5) == 0 &&
	    (arg[5] == ' ' || arg[5] == '\0'))) {
		smtpin_reply(s, "504 5.5.4 Error: unsupported authentication "
		    "mechanism");
		return;
	}
	login[0] = '\0';
	if (smtpin_auth_login(s, arg, plain, login, sizeof(login)) < 0)
		return;
	for (i = 0; login[i]; i++)
		if ((unsigned char)login[i] < ' ' || login[i] == 0x7f)
			login[i] = '?';
	if (s->ops->on_auth)
		s->ops->on_auth(s->ops->ctx, plain ? "PLAIN" : "LOGIN", login);
	if (!s->ops->auth_accept) {
		smtpin_reply(s, "535 5.7.8 Error: authentication refused: "
		    "this host knows the sender by its user id");
		return;
	}
	s->authed = 1;
	smtpin_reply(s, "235 2.7.0 Authentication successful");
}

/* smtpin_command - one command line. */
static void
smtpin_command(struct smtpin *s, char *line, size_t n)
{
	static const char *const unimpl[] = { "EXPN", "ETRN", "TURN", "ATRN",
	    "STARTTLS", "AUTH", "BDAT", "SEND", "SOML", "SAML", NULL };
	char	*arg;
	size_t	 i, vlen;

	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	for (vlen = 0; vlen < n && line[vlen] != ' '; vlen++)
		;
	arg = line + vlen;
	while (*arg == ' ')
		arg++;
#define VERB(w)	(vlen == sizeof(w) - 1 && strncasecmp(line, w, vlen) == 0)
	if (VERB("HELO") || VERB("EHLO")) {
		if (*arg == '\0') {
			smtpin_reply(s, "501 5.5.4 Syntax: %.4s hostname",
			    line);
			return;
		}
		smtpin_reset(s);
		if (VERB("HELO")) {
			smtpin_reply(s, "250 %s", s->host);
			return;
		}
		smtpin_reply(s, "250-%s", s->host);
		smtpin_reply(s, "250-PIPELINING");
		if (s->ops->max_size)
			smtpin_reply(s, "250-SIZE %zu", s->ops->max_size);
		else
			smtpin_reply(s, "250-SIZE");
		smtpin_reply(s, "250-8BITMIME");
		if (s->ops->listener)
			smtpin_ehlo_listener(s);
		smtpin_reply(s, "250 ENHANCEDSTATUSCODES");
	} else if (s->ops->listener && VERB("STARTTLS"))
		smtpin_starttls(s, arg);
	else if (s->ops->listener && VERB("AUTH"))
		smtpin_auth(s, arg);
	else if (VERB("MAIL"))
		smtpin_mail(s, arg);
	else if (VERB("RCPT"))
		smtpin_rcpt(s, arg);
	else if (VERB("DATA"))
		smtpin_data(s, arg);
	else if (VERB("RSET")) {
		smtpin_reset(s);
		smtpin_reply(s, "250 2.0.0 Ok");
	} else if (VERB("NOOP"))
		smtpin_reply(s, "250 2.0.0 Ok");
	else if (VERB("VRFY")) {
		if (*arg == '\0')
			smtpin_reply(s, "501 5.5.4 Syntax: VRFY address");
		else
			smtpin_reply(s, "252 2.5.2 Cannot VRFY user, but will "
			    "accept message and attempt delivery");
	} else if (VERB("HELP"))
		smtpin_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA "
		    "RSET NOOP VRFY HELP QUIT");
	else if (VERB("QUIT")) {
		smtpin_reply(s, "221 2.0.0 Bye");
		s->quit = 1;
	} else {
		for (i = 0; unimpl[i]; i++)
			if (strlen(unimpl[i]) == vlen &&
			    strncasecmp(line, unimpl[i], vlen) == 0)
				break;
		if (unimpl[i])
			smtpin_reply(s, "502 5.5.1 Error: command not "
			    "implemented");
		else
			smtpin_reply(s, "500 5.5.1 Error: command not "
			    "recognized");
	}
#undef VERB
}

/* smtpin_session - read and answer commands until QUIT, EOF or error. */
static int
smtpin_session(struct smtpin *s)
{
	char	 line[SMTPIN_LINE_MAX + 1];
	size_t	 n;
	int	 r;

	smtpin_reply(s, "220 %s ESMTP sitemail", s->host);
	while (!s->quit && !s->ioerr) {
		if (s->errors >= SMTPIN_ERRORS) {
			smtpin_reply(s, "421 4.7.0 %s Error: too many errors",
			    s->host);
			break;
		}
		if (!smtpin_line_ready(&s->in))
			smtpin_flush(s);
		if (s->ioerr)
			break;
		r = linein_line(&s->in, line, sizeof(line), &n);
		if (r == 0)
			break;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			smtpin_reply(s, "421 4.4.2 %s Error: timeout exceeded",
			    s->host);
			break;
		}
		if (r == -1) {
			s->ioerr = 1;
			break;
		}
		if (r == -2)
			smtpin_reply(s, "500 5.5.2 Error: command line too "
			    "long");
		else if (memchr(line, '\0', n) != NULL)
			smtpin_reply(s, "500 5.5.2 Error: command contains a "
			    "NUL byte");
		else
			smtpin_command(s, line, n);
	}
	smtpin_flush(s);
	return s->ioerr ? EX_IOERR : 0;
}

/* smtpin_start - a session reading fd in and writing fd out. */
static int
smtpin_start(const struct smtpin_ops *ops, int in, int out)
{
	struct smtpin s;
	struct sigaction sa, old;
	int	 rc;

	memset(&s, 0, sizeof(s));
	s.ops = ops;
	s.ofd = out;
	s.host = ops->hostname && *ops->hostname ? ops->hostname : "localhost";
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, &old);	/* a gone client: EPIPE */
	linein_init(&s.in, in);
	rc = smtpin_session(&s);
	smtpin_reset(&s);
	linein_free(&s.in);
	(void)sigaction(SIGPIPE, &old, NULL);
	if (rc)
		err_set(rc, "-bs: I/O error talking to the client");
	return rc;
}

/* smtpin_run - the dialogue on fd 0 / fd 1 until QUIT or EOF. */
int
smtpin_run(const struct smtpin_ops *ops)
{
	return smtpin_start(ops, STDIN_FILENO, STDOUT_FILENO);
}

/* smtpin_serve - the dialogue on a connected socket. */
int
smtpin_serve(const struct smtpin_ops *ops, int fd)
{
	return smtpin_start(ops, fd, fd);
}
