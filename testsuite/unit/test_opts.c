/*
 * test_opts.c - the sendmail command line as real clients write it
 * (shared/COMPAT.md), argv[0] dispatch, and the usage errors.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"
#include "testsuite/unit/tap.h"
#include "util/msg.h"

#define MAXARGS	32

static char *av[MAXARGS + 1];
static int ac;

/* parse - opts_parse() over a NULL-terminated list of words. */
static int
parse(struct opts *o, const char *argv0, ...)
{
	va_list	 ap;
	const char *w;

	ac = 0;
	av[ac++] = (char *)argv0;
	va_start(ap, argv0);
	while ((w = va_arg(ap, const char *)) != NULL && ac < MAXARGS)
		av[ac++] = (char *)w;
	va_end(ap);
	av[ac] = NULL;
	return opts_parse(o, ac, av);
}

/* rcpts - the recipients joined with "|". */
static struct buf rcpt_buf;

static const char *
rcpts(const struct opts *o)
{
	size_t	 i;

	if (rcpt_buf.max == 0)
		buf_init(&rcpt_buf, 4096);
	buf_reset(&rcpt_buf);
	for (i = 0; i < o->nrcpt; i++)
		if ((i && buf_addch(&rcpt_buf, '|') < 0) ||
		    buf_addstr(&rcpt_buf, o->rcpt[i]) < 0)
			return "(too long)";
	return buf_str(&rcpt_buf);
}

/* t_php - PHP mail() with the default sendmail_path and with -f. */
static void
t_php(void)
{
	struct opts o;

	is_int(parse(&o, "/usr/sbin/sendmail", "-t", "-i", NULL), 0,
	    "php: -t -i");
	is_int(o.mode, MODE_DELIVER, "php: deliver mode");
	ok(o.extract && o.ignore_dots, "php: -t and -i set");
	ok(o.sender == NULL && o.fullname == NULL, "php: no sender");
	is_int(o.nrcpt, 0, "php: no argv recipients");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-t", "-i", "-fwww@example.com", NULL),
	    0, "php: -t -i -fwww@example.com");
	is_str(o.sender, "www@example.com", "php: attached -f");
	opts_free(&o);
}

/* t_phpmailer - PHPMailer isSendmail, old and new argument order. */
static void
t_phpmailer(void)
{
	struct opts o;

	is_int(parse(&o, "sendmail", "-oi", "-fbounce@example.com", "-t",
	    NULL), 0, "phpmailer <=7.0.1: -oi -f<Sender> -t");
	ok(o.ignore_dots && o.extract, "phpmailer old: -oi -t");
	is_str(o.sender, "bounce@example.com", "phpmailer old: sender");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-fbounce@example.com", "-i", "-t",
	    NULL), 0, "phpmailer >=7.0.2: -f<Sender> -i -t");
	ok(o.ignore_dots && o.extract, "phpmailer new: -i -t");
	is_str(o.sender, "bounce@example.com", "phpmailer new: sender");
	opts_free(&o);
}

/* t_cron - cronie, ISC cron, Debian cron, BusyBox crond. */
static void
t_cron(void)
{
	struct opts o;

	is_int(parse(&o, "/usr/sbin/sendmail", "-FCronDaemon", "-i", "-odi",
	    "-oem", "-oi", "-t", "-f", "root", NULL), 0, "cronie");
	is_str(o.fullname, "CronDaemon", "cronie: -F");
	is_str(o.sender, "root", "cronie: -f root (unqualified kept)");
	ok(o.extract && o.ignore_dots, "cronie: -t -i");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-FCronDaemon", "-odi", "-oem", "-oi",
	    "-t", NULL), 0, "vixie cron 4");
	ok(o.extract && o.ignore_dots, "vixie: -oi -t");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-FCronDaemon", "-i", "-B8BITMIME",
	    "-oem", "admin@example.com", NULL), 0, "debian cron");
	is_str(rcpts(&o), "admin@example.com", "debian cron: argv recipient");
	ok(!o.extract && o.ignore_dots, "debian cron: no -t, -i");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-ti", NULL), 0, "busybox: -ti");
	ok(o.extract && o.ignore_dots, "busybox: cluster -ti");
	opts_free(&o);
}

/* t_mua - mutt, s-nail, mailutils, OpenBSD mail, git, MIME::Lite. */
static void
t_mua(void)
{
	struct opts o;

	is_int(parse(&o, "sendmail", "-oem", "-oi", "-B8BITMIME", "-f",
	    "me@example.com", "-N", "never", "-R", "hdrs", "--",
	    "a@example.com", "-dash@example.com", NULL), 0, "mutt");
	is_str(o.sender, "me@example.com", "mutt: sender");
	is_str(rcpts(&o), "a@example.com|-dash@example.com",
	    "mutt: recipients after --, a leading dash kept");
	ok(o.ignore_dots && !o.extract, "mutt: -oi, no -t");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-i", "-m", "-v", "-F", "Jane Q. Doe",
	    "-f", "jane@example.com", "--", "a@example.com", "b@example.com",
	    NULL), 0, "s-nail");
	is_str(o.fullname, "Jane Q. Doe", "s-nail: -F with blanks");
	is_int(o.verbose, 1, "s-nail: -v");
	is_int(o.nrcpt, 2, "s-nail: two recipients");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-oi", "-f", "from@example.com", "-t",
	    NULL), 0, "mailutils");
	ok(o.extract, "mailutils: -t");
	opts_free(&o);

	is_int(parse(&o, "/usr/sbin/send-mail", "-oi", "x@example.com", NULL),
	    0, "openbsd mail: argv[0] send-mail");
	is_int(o.mode, MODE_DELIVER, "send-mail: deliver mode");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-f", "dev@example.com", "-i",
	    "list@example.org", "Joe <joe@example.net>", NULL), 0,
	    "git send-email");
	is_str(rcpts(&o), "list@example.org|Joe <joe@example.net>",
	    "git: recipients byte-exact");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-t", "-oi", "-oem",
	    "-fperl@example.com", NULL), 0, "MIME::Lite");
	is_str(o.sender, "perl@example.com", "MIME::Lite: sender");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-oi", "-t", NULL), 0,
	    "unattended-upgrades");
	opts_free(&o);
}

/* t_symfony - -bs, and the -t transport's -f'<sender>' + recipients. */
static void
t_symfony(void)
{
	struct opts o;

	is_int(parse(&o, "/usr/sbin/sendmail", "-bs", NULL), 0, "symfony -bs");
	is_int(o.mode, MODE_SMTP, "-bs: smtp mode");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-i", "-f<app@example.com>",
	    "to@example.com", NULL), 0, "symfony -t mode argv");
	is_str(o.sender, "app@example.com", "-f<addr>: brackets removed");
	opts_free(&o);
}

/* t_argv0 - mailq, newaliases, and -b overriding them. */
static void
t_argv0(void)
{
	struct opts o;

	is_int(parse(&o, "/usr/bin/mailq", NULL), 0, "mailq");
	is_int(o.mode, MODE_LIST, "mailq: list mode");
	opts_free(&o);
	is_int(parse(&o, "newaliases", NULL), 0, "newaliases");
	is_int(o.mode, MODE_NEWALIASES, "newaliases mode");
	opts_free(&o);
	is_int(parse(&o, "newaliases", "-bp", NULL), 0, "newaliases -bp");
	is_int(o.mode, MODE_LIST, "a later -bp wins over argv[0]");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-bp", NULL), 0, "-bp");
	is_int(o.mode, MODE_LIST, "-bp: list mode");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-bi", NULL), 0, "-bi");
	is_int(o.mode, MODE_NEWALIASES, "-bi: newaliases");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-I", NULL), 0, "-I");
	is_int(o.mode, MODE_NEWALIASES, "-I: newaliases");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-bm", "a@b", NULL), 0, "-bm");
	is_int(o.mode, MODE_DELIVER, "-bm: deliver");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-bv", "a@b", "c@d", NULL), 0, "-bv");
	is_int(o.mode, MODE_VERIFY, "-bv: verify");
	is_int(o.nrcpt, 2, "-bv: addresses");
	opts_free(&o);
}

/* t_flush - -q and its selectors. */
static void
t_flush(void)
{
	struct opts o;

	is_int(parse(&o, "sendmail", "-q", NULL), 0, "-q");
	is_int(o.mode, MODE_FLUSH, "-q: flush");
	ok(!o.q_id && !o.q_domain && !o.q_sender, "-q: no selector");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-q30m", NULL), 0, "-q30m");
	is_int(o.mode, MODE_FLUSH, "-q30m: flush");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-qI0123ABC", NULL), 0, "-qI");
	is_str(o.q_id, "0123ABC", "-qI: id");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-qRexample.com", "-qSme@x.org", NULL),
	    0, "-qR -qS");
	is_str(o.q_domain, "example.com", "-qR: domain");
	is_str(o.q_sender, "me@x.org", "-qS: sender");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-vq", NULL), 0, "-vq cluster");
	is_int(o.mode, MODE_FLUSH, "-vq: flush");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-qX", NULL), EX_USAGE, "-qX: usage");
	ok(strstr(err_str(), "qX") != NULL, "-qX: error names it");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-qR", NULL), EX_USAGE, "-qR alone");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-q", "x@y", NULL), EX_USAGE,
	    "-q never takes the next word; a recipient is an error");
	opts_free(&o);
}

/* t_sender - -f / -r forms and the null sender. */
static void
t_sender(void)
{
	struct opts o;

	is_int(parse(&o, "sendmail", "-f", "", "a@b", NULL), 0, "-f ''");
	is_str(o.sender, "", "-f '': null sender");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-f", "<>", "a@b", NULL), 0, "-f <>");
	is_str(o.sender, "", "-f <>: null sender");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-f", " < a@b > ", "c@d", NULL), 0,
	    "-f ' < a@b > '");
	is_str(o.sender, "a@b", "blanks trimmed inside and outside <>");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-f<>", "a@b", NULL), 0, "-f<>");
	is_str(o.sender, "", "-f<>: null sender");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-f", "Jane <j@example.com>", "a@b",
	    NULL), 0, "-f 'Name <addr>'");
	is_str(o.sender, "j@example.com", "-f 'Name <addr>': the address");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-r", "old@example.com", "a@b", NULL),
	    0, "-r");
	is_str(o.sender, "old@example.com", "-r: sender");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-f=x@y", "a@b", NULL), 0, "-f=x@y");
	is_str(o.sender, "=x@y", "-f=x@y: value is byte-exact (getopt)");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-f", "-odd@y", "a@b", NULL), 0,
	    "-f -odd@y");
	is_str(o.sender, "-odd@y", "-f takes the next word, dash or not");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-tif", "s@example.com", "r@b", NULL), 0,
	    "-tif sender");
	ok(o.extract && o.ignore_dots, "-tif: t and i");
	is_str(o.sender, "s@example.com", "-tif: sender from next word");
	is_str(rcpts(&o), "r@b", "-tif: recipient after");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-tifs@example.com", NULL), 0,
	    "-tifsender");
	is_str(o.sender, "s@example.com", "-tifsender: attached sender");
	opts_free(&o);
}

/* t_ignored - flags that are accepted and ignored. */
static void
t_ignored(void)
{
	struct opts o;

	is_int(parse(&o, "sendmail", "-odb", "-odq", "-oep", "-oee", "-oem",
	    "-oA/etc/aliases", "-oXunknown", "-o", "i", "-U", "-G", "-n",
	    "-V", "envid", "-L", "tag", "-h", "5", "-B", "7BIT", "-N",
	    "success,failure", "-R", "full", "-v", "-v", "-46", "a@b", NULL),
	    0, "every ignored flag");
	ok(o.ignore_dots, "-o i (separate value) is -oi");
	is_int(o.verbose, 2, "-v twice");
	is_str(rcpts(&o), "a@b", "ignored flags eat their values");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "-C", "/tmp/cfg", "-X", "/tmp/log",
	    "-d0.1", "-O", "Timeout=1", "a@b", NULL), 0, "-C -X -d -O");
	is_str(o.config, "/tmp/cfg", "-C: config");
	ok(o.debug_opts, "-X/-d/-O: debug_opts");
	opts_free(&o);

	is_int(parse(&o, "sendmail", "a@b", "-v", "c@d", NULL), 0,
	    "options end at the first recipient");
	is_str(rcpts(&o), "a@b|-v|c@d", "a later -v is a recipient");
	is_int(o.verbose, 0, "and does not set verbose");
	opts_free(&o);
}

/* t_errors - usage errors name the flag; CR/LF refused. */
static void
t_errors(void)
{
	struct opts o;

	is_int(parse(&o, "sendmail", "-Z", "a@b", NULL), EX_USAGE, "-Z");
	is_str(err_str(), "unknown option -- 'Z'", "-Z: error names it");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-tZi", NULL), EX_USAGE, "-tZi");
	is_str(err_str(), "unknown option -- 'Z'",
	    "-tZi: names the letter, not the cluster");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-Mrm", "ID", NULL), EX_USAGE,
	    "exim -Mrm");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "--hlep", NULL), EX_USAGE, "--hlep");
	ok(strstr(err_str(), "--hlep") != NULL, "--hlep: named");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-bd", NULL), EX_USAGE, "-bd");
	is_str(err_str(), "unsupported option -- 'bd'", "-bd: named");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-bt", NULL), EX_USAGE, "-bt");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-t", "-f", NULL), EX_USAGE,
	    "-f without value");
	is_str(err_str(), "option requires an argument -- 'f'",
	    "-f without value: named");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-f", "a@b\r\nX: y", "c@d", NULL),
	    EX_USAGE, "CR LF in -f");
	ok(strstr(err_str(), "CR or LF") != NULL, "-f CR LF: clear error");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-F", "Name\nBcc: x", "c@d", NULL),
	    EX_USAGE, "LF in -F");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-i", "c@d\r", NULL), EX_USAGE,
	    "CR in a recipient");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "--", "c@d\nBcc: e@f", NULL), EX_USAGE,
	    "LF in a recipient after --");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-bs", "-t", NULL), EX_USAGE, "-bs -t");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-bs", "a@b", NULL), EX_USAGE,
	    "-bs with recipients");
	opts_free(&o);
	is_int(parse(&o, "mailq", "a@b", NULL), EX_USAGE, "mailq with args");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-f", "Name <", NULL), EX_USAGE,
	    "-f with no address in it");
	opts_free(&o);
}

/* t_edge - odd but legal words. */
static void
t_edge(void)
{
	struct opts o;
	char	*empty[] = { NULL };

	is_int(opts_parse(&o, 0, empty), 0, "argc 0");
	is_int(o.mode, MODE_DELIVER, "argc 0: deliver");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-", "a@b", NULL), 0, "lone -");
	is_str(rcpts(&o), "-|a@b", "lone - is a recipient (getopt)");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "--", NULL), 0, "-- alone");
	is_int(o.nrcpt, 0, "-- alone: no recipients");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-i", "--", "--", NULL), 0, "-- --");
	is_str(rcpts(&o), "--", "a second -- is a recipient");
	opts_free(&o);
}

/* t_help - --help and --version among the options, and only there. */
static void
t_help(void)
{
	struct opts o;

	is_int(parse(&o, "sendmail", "--help", NULL), 0, "--help parses");
	ok(o.help && !o.version, "--help sets help");
	opts_free(&o);
	is_int(parse(&o, "mailq", "--version", NULL), 0, "mailq --version");
	ok(o.version && !o.help, "--version sets version");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-t", "-i", "--help", "-Zbad", NULL), 0,
	    "-t -i --help: nothing after --help is parsed");
	ok(o.help, "... help set");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "-i", "--", "--help", NULL), 0,
	    "-- --help: a recipient");
	ok(!o.help && !o.version, "... no help");
	is_str(rcpts(&o), "--help", "... the recipient is --help");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "a@example.com", "--version", NULL), 0,
	    "recipient then --version");
	ok(!o.version, "... --version after a recipient is a recipient");
	opts_free(&o);
	is_int(parse(&o, "sendmail", "--helpme", NULL), EX_USAGE,
	    "--helpme is still a usage error");
	opts_free(&o);
}

int
main(void)
{
	t_help();
	t_php();
	t_phpmailer();
	t_cron();
	t_mua();
	t_symfony();
	t_argv0();
	t_flush();
	t_sender();
	t_ignored();
	t_errors();
	t_edge();
	buf_free(&rcpt_buf);
	return tap_done();
}
