/*
 * compat.h - the sendmail surface: options, the message reader, header
 * fixes, address parsing and the "sendmail -bs" SMTP dialogue.
 *
 * Files: opts.c (argv -> struct opts, with popt), linein.c (line input
 * with line-ending normalisation and dot handling), header.c (header block
 * parsing and fixes), addr.c (RFC 5322 address lists and RFC 5321
 * mailboxes: every envelope address), smtpin.c (-bs); wire.h / wire.c
 * (the relay's wire form of a spooled message).
 *
 * Internal message form: lines end in CRLF; a bare CR (not before LF)
 * becomes a blank at intake, in the header and the body alike (as
 * Postfix's cleanup does), so none reaches the spool; content is not
 * dot-stuffed (libcurl stuffs on the wire).
 */
#ifndef SM_COMPAT_H
#define SM_COMPAT_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"

/* --- opts.c: command line ----------------------------------------------- */

enum opts_mode {
	MODE_DELIVER,		/* -bm (default): read a message */
	MODE_SMTP,		/* -bs: SMTP dialogue on stdin/stdout */
	MODE_LIST,		/* -bp, argv[0] mailq */
	MODE_FLUSH,		/* -q, -qI<id>, -qR<domain>, -qS<sender> */
	MODE_NEWALIASES,	/* -bi, argv[0] newaliases: nothing to do */
	MODE_VERIFY		/* -bv: check addresses, deliver nothing */
};

struct opts {
	enum opts_mode mode;
	int	 extract;		/* -t */
	int	 ignore_dots;		/* -i, -oi */
	int	 verbose;		/* -v */
	const char *sender;		/* -f / -r, NULL when absent */
	const char *fullname;		/* -F */
	const char *config;		/* -C: honoured only when unprivileged */
	int	 debug_opts;		/* -X, -d or -O were given */
	const char *q_id;		/* -qI */
	const char *q_domain;		/* -qR */
	const char *q_sender;		/* -qS */
	char	**rcpt;			/* argv recipients, byte-exact */
	size_t	 nrcpt;
	int	 help;		/* --help: print opts_usage() and exit 0 */
	int	 version;	/* --version: print the versions and exit 0 */
	void	*ctx;			/* popt context, freed by opts_free */
};

/* opts_parse - parse argv (argv[0] dispatch, clusters, "--").  Returns 0,
 * or EX_USAGE with err_str() naming the offending flag.  Rejects CR, LF
 * and NUL in -f, -F and recipients with EX_USAGE as well. */
int	opts_parse(struct opts *, int argc, char **argv);
/* opts_free - release what opts_parse() allocated. */
void	opts_free(struct opts *);
/* opts_usage - the usage text (the flags that matter) on f. */
void	opts_usage(FILE *f, const char *prog);

/* --- linein.c: line input ----------------------------------------------- */

enum linein_dot {
	DOT_NONE,		/* read to EOF (-i) */
	DOT_ENDS,		/* a lone "." ends the message (no -i) */
	DOT_SMTP		/* SMTP DATA: lone "." ends, ".." -> "." */
};

struct linein {
	int	 fd;
	char	*buf;			/* 64 KiB input buffer */
	size_t	 pos, end;
	int	 eof;
	int	 pending_cr;		/* unused: a CR at a buffer edge stays
					 * in buf until the next read */
	int	 bol;			/* at the beginning of a line */
	enum linein_dot dot;
	int	 done;			/* the dot ended the message */
	uint64_t nread;			/* raw bytes read from fd */
	/* optional reader instead of read(fd) (a TLS session) */
	ssize_t	(*rd)(void *rdctx, void *buf, size_t n);
	void	*rdctx;
};

/* linein_init - read from fd; dot = DOT_NONE, at the start of a line.
 * For SMTP DATA on a stream that also carries commands, set dot =
 * DOT_SMTP and done = 0 before the message, and dot = DOT_NONE and
 * done = 0 after it. */
void	linein_init(struct linein *, int fd);
/* linein_free - release the buffer. */
void	linein_free(struct linein *);
/* linein_get - the next piece of a line.  Returns 1 with *p and *n set
 * and *eol set when the piece ends a line (its CR LF / LF is not
 * included), 0 at the end of input (EOF or the terminating dot), or -1 on
 * a read error (errno and err_str() set).  A single piece is at most 64
 * KiB; longer lines arrive in several pieces.  A bare CR is data.  EOF and
 * the dot both give 0: check done (DOT_SMTP: never commit without it). */
int	linein_get(struct linein *, const char **p, size_t *n, int *eol);
/* linein_line - a whole line into out, which has room for max bytes
 * including the NUL (commands of the -bs dialogue; no dot handling).
 * Returns 1 with *n set, 0 at EOF, -1 on error, -2 if longer than max - 1
 * (the rest of the line is discarded). */
int	linein_line(struct linein *, char *out, size_t max, size_t *n);

/* --- header.c: the header block ----------------------------------------- */

#define HDR_LINE_MAX	998		/* bytes per header line (RFC 5322) */
#define HDR_BLOCK_MAX	(1024 * 1024)	/* the whole header block */
#define HDR_FIRST_MAX	(HDR_LINE_MAX + 64 * 1024 + 2)	/* body_first */

struct hdr {
	char	*text;			/* "Name: value\r\n" with continuations */
	size_t	 len;
	size_t	 namelen;		/* length of "Name" */
};

struct headers {
	struct hdr *v;
	size_t	 n, cap;
	size_t	 bytes;
};

/* headers_read - drop leading "From " / ">From " lines, then read the
 * header block (appended to h, which starts zeroed) through the empty line
 * (or EOF / the dot).  EX_DATAERR for NUL or a
 * block over HDR_BLOCK_MAX; EX_TEMPFAIL for a read error.  Header lines
 * of any length are taken whole; a bare CR in the header becomes a blank.  A line that is
 * neither a field nor a continuation starts the body: it is appended to
 * body_first in internal form, ready to write after the empty line - with
 * its CR LF when the whole line was read; the rest of a longer line stays
 * in the linein (bol = 0) for the body reader.  body_first must allow
 * HDR_FIRST_MAX bytes.  On an error the input is left mid-message. */
int	headers_read(struct headers *, struct linein *, struct buf *body_first);
/* headers_find - the index of the first header named name, or -1. */
ssize_t	headers_find(const struct headers *, const char *name, size_t from);
/* headers_value - the unfolded value of header i (malloc'd; CR LF of the
 * folds removed, blanks trimmed at both ends), NULL if i is out of range
 * or memory is short. */
char	*headers_value(const struct headers *, size_t i);
/* headers_add - append "name: value"; CR and LF in value become blanks,
 * and a value too long for 78 columns is folded at blanks (after a comma
 * when it can).  EX_DATAERR if a word cannot fit in HDR_LINE_MAX, even
 * after breaking it at a comma; EX_SOFTWARE for a bad name. */
int	headers_add(struct headers *, const char *name, const char *value);
/* headers_prepend - insert "name: value" before every other header. */
int	headers_prepend(struct headers *, const char *name, const char *value);
/* headers_set - replace the value of header i (folded as headers_add
 * does), keeping its name and place. */
int	headers_set(struct headers *, size_t i, const char *value);
/* headers_remove - drop every header named name; returns how many. */
size_t	headers_remove(struct headers *, const char *name);
/* headers_free - release the block. */
void	headers_free(struct headers *);

/* --- addr.c: addresses --------------------------------------------------- */

struct addrlist {
	char	**v;			/* bare addr-specs, "user@domain" */
	size_t	 n;
};

/* addr_parse_list - extract the addr-specs of an RFC 5322 address list
 * (names, comments, quoted strings, groups, route-addrs).  Appends to out
 * (v stays NULL-terminated).  Unqualified names are kept as given; no
 * address holds a control byte.  EX_DATAERR when part of the list was
 * malformed - what could be recovered is appended all the same. */
int	addr_parse_list(const char *value, struct addrlist *out);
/* addr_domain - the domain part of an address (after the last '@'), or "". */
const char *addr_domain(const char *addr);
/* addr_free - release an address list. */
void	addr_free(struct addrlist *);

/* One envelope address, parsed once: the local part as it goes on the
 * wire (a Dot-string, or a quoted string without blanks or <>) and the
 * domain ("" while unqualified), kept apart for policy, routing, the log
 * and libcurl alike.  The rules are in addr.c. */
#define ADDR_LOCAL_MAX	255
#define ADDR_DOMAIN_MAX	255
#define ADDR_MAILBOX_MAX (ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2)
struct mailbox {
	char	 local[ADDR_LOCAL_MAX + 1];
	char	 domain[ADDR_DOMAIN_MAX + 1];
};

struct mboxlist {
	struct mailbox *v;
	size_t	 n;
};

#define ADDR_F_LOCAL	0x1		/* a bare local part is accepted */

/* addr_parse_mailbox - s must be one RFC 5321 Mailbox (or, with
 * ADDR_F_LOCAL, a bare local part); split it into mb.  EX_DATAERR with
 * err_str() saying what is wrong. */
int	addr_parse_mailbox(const char *s, int flags, struct mailbox *mb);
/* addr_parse_argv - the mailboxes of one argv word or -f value, read as
 * Postfix reads them (comments dropped, lists split at commas and blanks,
 * groups give their members, a trailing dot dropped); appended to out.
 * EX_DATAERR (nothing appended) if any of them is not a valid mailbox. */
int	addr_parse_argv(const char *word, int flags, struct mboxlist *out);
/* addr_format - "local@domain" ("local" while unqualified) into out;
 * EX_DATAERR if it does not fit. */
int	addr_format(const struct mailbox *, char *out, size_t len);
/* addr_qualify - set the domain of an unqualified mailbox; 1 if it did. */
int	addr_qualify(struct mailbox *, const char *domain);
/* addr_same - one mailbox, compared without regard to case. */
int	addr_same(const struct mailbox *, const struct mailbox *);
/* addr_mbox_free - release a mailbox list. */
void	addr_mbox_free(struct mboxlist *);
/* addr_qualify_header - a From/To/Cc/... value with "@domain" added to
 * every unqualified address, everything else kept as written; *changed
 * set when something was added.  -1 if out is full. */
int	addr_qualify_header(const char *value, const char *domain,
	    struct buf *out, int *changed);

/* --- smtpin.c: sendmail -bs --------------------------------------------- */

/* How a session reads and writes when not plain fds (TLS). */
struct smtpin_io {
	ssize_t	(*rd)(void *ioctx, void *buf, size_t n);
	ssize_t	(*wr)(void *ioctx, const void *buf, size_t n);
	void	*ioctx;
};

/* What the dialogue asks of its caller for each message. */
struct smtpin_ops {
	/* take one message: sender, recipients and the DATA stream (dot
	 * handling already set to DOT_SMTP).  Return 0 and fill qid, or a
	 * sysexits status with err_str() set; the dialogue maps it to a
	 * reply code.  Must consume the stream to its terminating dot. */
	int	(*deliver)(void *ctx, const char *sender, char **rcpt,
		    size_t nrcpt, struct linein *data, char *qid, size_t qidlen);
	void	*ctx;
	const char *hostname;		/* for the greeting */
	unsigned max_recipients;
	size_t	 max_size;		/* advertised in EHLO SIZE */
	/* The loopback listener (sitemail-smtpd) sets listener = 1: EHLO
	 * adds SMTPUTF8, AUTH PLAIN LOGIN and (with starttls) STARTTLS; a
	 * temporary failure answers 451 4.7.1 when it is a freeze.
	 * sendmail -bs leaves all of these zero. */
	int	 listener;
	int	 auth_accept;		/* AUTH: any credentials pass (else 535) */
	/* a login was given (cleaned of control bytes); identity unchanged */
	void	(*on_auth)(void *ctx, const char *mech, const char *login);
	/* switch the connection to TLS after "220 Ready": fill *rd / *wr and
	 * their context; 0, or -1 (the session ends) */
	int	(*starttls)(void *ctx, int fd, struct smtpin_io *io);
};

/* smtpin_run - the dialogue on fd 0 / fd 1 until QUIT or EOF (also EOF
 * inside DATA, which gets no reply).  Nothing is ever written to stderr;
 * SIGPIPE is ignored while it runs.  The recipients handed to deliver()
 * are NULL-terminated; the sender is "" for MAIL FROM:<>.  Returns 0, or
 * EX_IOERR on an I/O error. */
int	smtpin_run(const struct smtpin_ops *);
/* smtpin_serve - the same dialogue on a connected socket fd (reads and
 * writes both go to fd; STARTTLS switches them to ops->starttls's io).
 * The caller puts receive / send timeouts on fd; a timed-out read ends
 * the session with 421. */
int	smtpin_serve(const struct smtpin_ops *, int fd);

#endif
