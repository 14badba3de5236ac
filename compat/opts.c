/*
 * opts.c - the sendmail command line, parsed with popt; see compat.h.
 *
 * Sendmail's syntax is getopt(3) with a few oddities that popt does not
 * share, so argv is first translated into a canonical form, then popt
 * parses that:
 *
 *   - Clusters are split: "-tif sender" and "-tifsender" both become
 *     "-t" "-i" "-f" "sender".  An option that takes a value takes the
 *     rest of its cluster, or else the next word, whatever it looks like
 *     ("-f -x" means the sender "-x").  popt never sees an attached value,
 *     so it cannot strip a leading "=" from one.
 *   - "-q" takes an optional value that must be attached: "-q", "-q30m",
 *     "-qI<id>", "-qR<domain>", "-qS<sender>".  It never takes the next
 *     word.
 *   - Options end at "--" or at the first word that does not start with
 *     "-" (or is "-" alone).  The remaining words are the recipients; they
 *     never pass through popt and are kept byte for byte.
 *   - An option letter that is not in the table is a usage error naming
 *     it ("unknown option -- 'Z'"), as is a long option ("--foo"), except
 *     "--help" and "--version" among the options: they set o->help or
 *     o->version and nothing else is parsed.
 *
 * Meaning, after Postfix sendmail:
 *   -t	extract recipients (added to any on the command line)
 *   -i, -oi	a lone "." does not end the message
 *   -f addr, -r addr	envelope sender; "", "<>" = the null sender,
 *		"<a@b>" and "Name <a@b>" give a@b
 *   -F name	full name for a From header we add
 *   -bm -bs -bp -bv -bi	modes; any other -b letter is a usage error
 *   -I	newaliases
 *   -q...	flush the queue (with the selectors above)
 *   -C file	alternate config; -X file, -d val, -O opt set debug_opts
 *	(the caller honours these only when it is not running set-id)
 *   -v	verbose
 *   -o<x>	-oi as above; every other -o option (-oem, -odi, -oA..., and
 *	unknown ones) is ignored, as Postfix does
 *   ignored, with a value: -B -N -R -V -L -h -e -p -A
 *   ignored, alone: -G -U -m -n -c -x -4 -6
 * argv[0] "mailq" starts in MODE_LIST, "newaliases" in MODE_NEWALIASES;
 * a later -b option still wins.  CR and LF are refused in -f, -F, the -q
 * selectors and the recipients.
 */
#include <ctype.h>
#include <popt.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"
#include "util/msg.h"

/* What opts_parse() allocated; opts->ctx points here. */
struct opts_priv {
	poptContext pc;
	const char **cargv;		/* the canonical argv given to popt */
	int	 cargc;
	char	 dash[256][3];		/* "-x" for every option letter */
	char	**owned;		/* values popt handed us */
	size_t	 nowned;
};

/* Option letters.  val is the letter; POPT_ARG_NONE takes no value. */
static const struct poptOption opts_table[] = {
	{ NULL, 't', POPT_ARG_NONE, NULL, 't', "extract recipients", NULL },
	{ NULL, 'i', POPT_ARG_NONE, NULL, 'i', "dots are data", NULL },
	{ NULL, 'v', POPT_ARG_NONE, NULL, 'v', "verbose", NULL },
	{ NULL, 'I', POPT_ARG_NONE, NULL, 'I', "newaliases", NULL },
	{ NULL, 'G', POPT_ARG_NONE, NULL, 'G', "relay (ignored)", NULL },
	{ NULL, 'U', POPT_ARG_NONE, NULL, 'U', "submission (ignored)", NULL },
	{ NULL, 'm', POPT_ARG_NONE, NULL, 'm', "me too (ignored)", NULL },
	{ NULL, 'n', POPT_ARG_NONE, NULL, 'n', "no aliases (ignored)", NULL },
	{ NULL, 'c', POPT_ARG_NONE, NULL, 'c', "(ignored)", NULL },
	{ NULL, 'x', POPT_ARG_NONE, NULL, 'x', "(ignored)", NULL },
	{ NULL, '4', POPT_ARG_NONE, NULL, '4', "(ignored)", NULL },
	{ NULL, '6', POPT_ARG_NONE, NULL, '6', "(ignored)", NULL },
	{ NULL, 'f', POPT_ARG_STRING, NULL, 'f', "sender", "addr" },
	{ NULL, 'r', POPT_ARG_STRING, NULL, 'f', "sender (old)", "addr" },
	{ NULL, 'F', POPT_ARG_STRING, NULL, 'F', "full name", "name" },
	{ NULL, 'b', POPT_ARG_STRING, NULL, 'b', "mode", "m|s|p|v|i" },
	{ NULL, 'o', POPT_ARG_STRING, NULL, 'o', "sendmail option", "opt" },
	{ NULL, 'q', POPT_ARG_STRING, NULL, 'q', "flush", "[I|R|S]val" },
	{ NULL, 'C', POPT_ARG_STRING, NULL, 'C', "config", "dir" },
	{ NULL, 'X', POPT_ARG_STRING, NULL, 'X', "debug log", "file" },
	{ NULL, 'd', POPT_ARG_STRING, NULL, 'X', "debug", "val" },
	{ NULL, 'O', POPT_ARG_STRING, NULL, 'X', "option", "opt=val" },
	{ NULL, 'B', POPT_ARG_STRING, NULL, '-', "body type", "type" },
	{ NULL, 'N', POPT_ARG_STRING, NULL, '-', "DSN notify", "dsn" },
	{ NULL, 'R', POPT_ARG_STRING, NULL, '-', "DSN return", "ret" },
	{ NULL, 'V', POPT_ARG_STRING, NULL, '-', "DSN envid", "id" },
	{ NULL, 'L', POPT_ARG_STRING, NULL, '-', "log label", "tag" },
	{ NULL, 'h', POPT_ARG_STRING, NULL, '-', "hop count", "n" },
	{ NULL, 'e', POPT_ARG_STRING, NULL, '-', "error mode", "x" },
	{ NULL, 'p', POPT_ARG_STRING, NULL, '-', "protocol", "proto" },
	{ NULL, 'A', POPT_ARG_STRING, NULL, '-', "submit file", "x" },
	POPT_TABLEEND
};

/* opts_find - the table entry of an option letter, or NULL. */
static const struct poptOption *
opts_find(int c)
{
	const struct poptOption *o;

	for (o = opts_table; o->shortName || o->longName; o++)
		if (o->shortName == c)
			return o;
	return NULL;
}

/* opts_unknown - the usage error for an option letter. */
static int
opts_unknown(const char *why, int c)
{
	if (isprint(c))
		return err_set(EX_USAGE, "%s -- '%c'", why, c);
	return err_set(EX_USAGE, "%s -- '\\x%02x'", why, c & 0xff);
}

/* opts_push - append one word to the canonical argv. */
static void
opts_push(struct opts_priv *pv, const char *word)
{
	pv->cargv[pv->cargc++] = word;
	pv->cargv[pv->cargc] = NULL;
}

/* opts_cluster - translate one option word; *i moves past a value taken
 * from the next word. */
static int
opts_cluster(struct opts_priv *pv, int argc, char **argv, int *i)
{
	const struct poptOption *o;
	const char *a = argv[*i];
	unsigned char c;
	size_t	 j;

	for (j = 1; (c = (unsigned char)a[j]) != '\0'; j++) {
		if ((o = opts_find(c)) == NULL)
			return opts_unknown("unknown option", c);
		opts_push(pv, pv->dash[c]);
		if (o->argInfo == POPT_ARG_NONE)
			continue;
		if (c == 'q' || a[j + 1] != '\0')
			opts_push(pv, a + j + 1);
		else if (*i + 1 < argc)
			opts_push(pv, argv[++*i]);
		else
			return opts_unknown("option requires an argument", c);
		break;
	}
	return 0;
}

/* opts_canon - the canonical argv for popt; *first = the first recipient. */
static int
opts_canon(struct opts_priv *pv, int argc, char **argv, int *first)
{
	size_t	 total;
	int	 i, c, rc;

	for (c = 0; c < 256; c++) {
		pv->dash[c][0] = '-';
		pv->dash[c][1] = (char)c;
		pv->dash[c][2] = '\0';
	}
	/* Each option letter gives one word, each word at most one value. */
	for (i = 1, total = 2; i < argc; i++)
		total += strlen(argv[i]) + 1;
	if ((pv->cargv = calloc(total, sizeof(*pv->cargv))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	opts_push(pv, argc > 0 && argv[0] ? argv[0] : "sendmail");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			break;
		if (argv[i][1] == '-')
			return err_set(EX_USAGE, "unknown option -- '%s'",
			    argv[i]);
		if ((rc = opts_cluster(pv, argc, argv, &i)) != 0)
			return rc;
	}
	*first = i < argc ? i : argc;
	return 0;
}

/* opts_keep - remember a value popt allocated, to free it later. */
static int
opts_keep(struct opts_priv *pv, char *s)
{
	char	**v;

	if ((v = realloc(pv->owned, (pv->nowned + 1) * sizeof(*v))) == NULL) {
		free(s);
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	pv->owned = v;
	v[pv->nowned++] = s;
	return 0;
}

/* opts_linebreak - 1 if s holds a CR or LF. */
static int
opts_linebreak(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

/* opts_trim - s without leading and trailing blanks (in place). */
static char *
opts_trim(char *s)
{
	size_t	 n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* opts_sender - normalise -f/-r: trim, "<>" and "" = null sender, strip
 * one pair of angle brackets, take the address out of "Name <a@b>". */
static int
opts_sender(struct opts *o, char *s)
{
	struct addrlist al = { NULL, 0 };
	size_t	 n;

	s = opts_trim(s);
	n = strlen(s);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>' &&
	    memchr(s + 1, '<', n - 2) == NULL) {
		s[n - 1] = '\0';
		s = opts_trim(s + 1);
	} else if (strchr(s, '<') != NULL) {
		(void)addr_parse_list(s, &al);
		if (al.n == 0) {
			addr_free(&al);
			return err_set(EX_USAGE, "-f: no address in \"%s\"",
			    s);
		}
		if (strlen(al.v[0]) <= n)
			memmove(s, al.v[0], strlen(al.v[0]) + 1);
		addr_free(&al);
	}
	o->sender = s;
	return 0;
}

/* opts_mode_b - -bX. */
static int
opts_mode_b(struct opts *o, const char *v)
{
	static const struct { char c; enum opts_mode mode; } modes[] = {
		{ 'm', MODE_DELIVER }, { 's', MODE_SMTP }, { 'p', MODE_LIST },
		{ 'v', MODE_VERIFY }, { 'i', MODE_NEWALIASES } };
	size_t	 k;

	if (v[0] != '\0' && v[1] == '\0')
		for (k = 0; k < sizeof(modes) / sizeof(modes[0]); k++)
			if (modes[k].c == v[0]) {
				o->mode = modes[k].mode;
				return 0;
			}
	return err_set(EX_USAGE, "unsupported option -- 'b%s'", v);
}

/* opts_mode_q - -q, -q<interval>, -qI<id>, -qR<domain>, -qS<sender>. */
static int
opts_mode_q(struct opts *o, const char *v)
{
	o->mode = MODE_FLUSH;
	if (v[0] == '\0' || isdigit((unsigned char)v[0]))
		return 0;
	if (strchr("IRS", v[0]) == NULL)
		return err_set(EX_USAGE, "unsupported option -- 'q%s'", v);
	if (v[1] == '\0')
		return err_set(EX_USAGE, "-q%c needs a value, as in "
		    "-q%cvalue", v[0], v[0]);
	if (opts_linebreak(v))
		return err_set(EX_USAGE, "-q%c: value contains CR or LF", v[0]);
	if (v[0] == 'I')
		o->q_id = v + 1;
	else if (v[0] == 'R')
		o->q_domain = v + 1;
	else
		o->q_sender = v + 1;
	return 0;
}

/* opts_apply - the meaning of one option (value v, owned by pv). */
static int
opts_apply(struct opts *o, int c, char *v)
{
	switch (c) {
	case 't':
		o->extract = 1;
		return 0;
	case 'i':
		o->ignore_dots = 1;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	case 'I':
		o->mode = MODE_NEWALIASES;
		return 0;
	case 'f':
		if (opts_linebreak(v))
			return err_set(EX_USAGE, "-f: sender address contains "
			    "CR or LF");
		return opts_sender(o, v);
	case 'F':
		if (opts_linebreak(v))
			return err_set(EX_USAGE, "-F: full name contains CR "
			    "or LF");
		o->fullname = v;
		return 0;
	case 'b':
		return opts_mode_b(o, v);
	case 'q':
		return opts_mode_q(o, v);
	case 'o':
		if (v[0] == 'i')
			o->ignore_dots = 1;
		return 0;
	case 'C':
		o->config = v;
		return 0;
	case 'X':
		o->debug_opts = 1;
		return 0;
	default:
		return 0;		/* accepted and ignored */
	}
}

/* opts_popt - run popt over the canonical argv. */
static int
opts_popt(struct opts *o, struct opts_priv *pv)
{
	char	*v;
	int	 c, rc;

	pv->pc = poptGetContext(pv->cargv[0], pv->cargc, pv->cargv,
	    opts_table, POPT_CONTEXT_POSIXMEHARDER | POPT_CONTEXT_NO_EXEC);
	if (pv->pc == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	while ((c = poptGetNextOpt(pv->pc)) > 0) {
		v = poptGetOptArg(pv->pc);
		if (v != NULL && (rc = opts_keep(pv, v)) != 0)
			return rc;
		if ((rc = opts_apply(o, c, v ? v : (char *)"")) != 0)
			return rc;
	}
	if (c < -1)
		return err_set(EX_USAGE, "%s: %s",
		    poptBadOption(pv->pc, POPT_BADOPTION_NOALIAS),
		    poptStrerror(c));
	return 0;
}

/* opts_argv0 - the starting mode from the program name. */
static enum opts_mode
opts_argv0(const char *argv0)
{
	const char *base;

	if (argv0 == NULL)
		return MODE_DELIVER;
	base = (base = strrchr(argv0, '/')) ? base + 1 : argv0;
	if (strcmp(base, "mailq") == 0)
		return MODE_LIST;
	if (strcmp(base, "newaliases") == 0)
		return MODE_NEWALIASES;
	return MODE_DELIVER;
}

/* opts_recipients - the words after the options, byte for byte. */
static int
opts_recipients(struct opts *o, int argc, char **argv, int first)
{
	int	 i;

	o->rcpt = calloc((size_t)(argc - first) + 1, sizeof(*o->rcpt));
	if (o->rcpt == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	for (i = first; i < argc; i++) {
		if (opts_linebreak(argv[i]))
			return err_set(EX_USAGE, "recipient address contains "
			    "CR or LF");
		o->rcpt[o->nrcpt++] = argv[i];
	}
	return 0;
}

/* opts_check - options that contradict the mode. */
static int
opts_check(const struct opts *o)
{
	static const char *const name[] = { "delivery", "-bs", "-bp/mailq",
	    "-q", "-bi/newaliases", "-bv" };

	if (o->extract && o->mode != MODE_DELIVER)
		return err_set(EX_USAGE, "-t can be used only in delivery "
		    "mode, not with %s", name[o->mode]);
	if (o->nrcpt && o->mode != MODE_DELIVER && o->mode != MODE_VERIFY)
		return err_set(EX_USAGE, "%s takes no recipients (got \"%s\")",
		    name[o->mode], o->rcpt[0]);
	return 0;
}

/* opts_long - 1 if an option word before the recipients is --help or
 * --version (setting o->help or o->version). */
static int
opts_long(struct opts *o, int argc, char **argv)
{
	int	 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0 || argv[i][0] != '-' ||
		    argv[i][1] == '\0')
			return 0;
		if (strcmp(argv[i], "--help") == 0)
			return o->help = 1;
		if (strcmp(argv[i], "--version") == 0)
			return o->version = 1;
	}
	return 0;
}

/* opts_usage - the usage text (the flags that matter) on f. */
void
opts_usage(FILE *f, const char *prog)
{
	fprintf(f,
	    "usage: %s [OPTIONS] [--] [RECIPIENT...] < MESSAGE\n"
	    "       mailq | %s -bp       list the queue (a site user: its own)\n"
	    "       %s -q[I<id>|R<domain>|S<sender>]   ask sitemaild to flush\n"
	    "Delivery (default -bm):\n"
	    "  -t            also send to the To, Cc and Bcc recipients\n"
	    "  -i, -oi       a line with a lone \".\" does not end the message\n"
	    "  -f ADDR       envelope sender (-r is the same; \"<>\" = null)\n"
	    "  -F NAME       full name for a From header that sitemail adds\n"
	    "  -bs           speak SMTP on stdin/stdout (Symfony Mailer)\n"
	    "  -bv           say how each recipient would be routed; send nothing\n"
	    "  -bi, newaliases   accepted; sitemail has no alias database\n"
	    "Accepted for compatibility, ignored: -odi -odb -odq -oem -oep -oee "
	    "-oXxx\n"
	    "  -B TYPE -N DSN -R RET -V ENVID -L TAG -h N -G -U -v\n"
	    "  --help        this text;  --version  versions, then exit\n"
	    "The site is your Unix user; its limits and policy are set by the "
	    "admin.\n"
	    "Exit status: 0 committed, 64 usage, 65 bad message, 75 try later "
	    "(spool,\nrate limit, frozen site), 77 refused by policy, 78 "
	    "configuration.\nSee sendmail(8).\n", prog, prog, prog);
}

/* opts_parse - parse argv; see the file comment. */
int
opts_parse(struct opts *o, int argc, char **argv)
{
	struct opts_priv *pv;
	int	 first = argc, rc;

	memset(o, 0, sizeof(*o));
	if ((pv = calloc(1, sizeof(*pv))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	o->ctx = pv;
	o->mode = opts_argv0(argc > 0 ? argv[0] : NULL);
	if (opts_long(o, argc, argv))
		return 0;
	if ((rc = opts_canon(pv, argc, argv, &first)) != 0 ||
	    (rc = opts_popt(o, pv)) != 0 ||
	    (rc = opts_recipients(o, argc, argv, first)) != 0 ||
	    (rc = opts_check(o)) != 0)
		return rc;
	return 0;
}

/* opts_free - release what opts_parse() allocated. */
void
opts_free(struct opts *o)
{
	struct opts_priv *pv = o->ctx;
	size_t	 i;

	if (pv != NULL) {
		if (pv->pc)
			poptFreeContext(pv->pc);
		for (i = 0; i < pv->nowned; i++)
			free(pv->owned[i]);
		free(pv->owned);
		free(pv->cargv);
		free(pv);
	}
	free(o->rcpt);
	memset(o, 0, sizeof(*o));
}
