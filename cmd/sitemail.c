/*
 * sitemail.c - sitemail(8), the administration command: a thin dispatcher
 * over queue/admin.h.
 *
 * Installed set-gid "sitemail" like sendmail, so that a site user can
 * list, show and flush their own site's mail; every other verb is for root
 * and the runner user only (exit 77 otherwise).  It sanitises its process
 * state the same way sendmail does, and honours -C only when it is not
 * running set-id or the caller is root.  Run by root, the queue verbs
 * switch to the runner user first, so that every file they create or
 * change keeps the owner the runner and intake expect.
 *
 * Usage: sitemail [-C DIR] VERB [ARGS]; see sitemail(8).  A few Postfix
 * and Exim words are accepted as aliases (hold, release, remove, rm).
 */
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "queue/admin.h"
#include "queue/admin_report.h"
#include "queue/confcheck.h"
#include "queue/firewall.h"
#include "queue/site.h"
#include "queue/verdict.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/confidx.h"
#include "util/msg.h"
#include "util/priv.h"
#include "util/version.h"

/* What every verb gets. */
struct cli {
	struct conf conf;
	struct site_id caller;		/* the caller's own site */
	int	 admin;			/* root or the runner user */
	const char *confdir;
	struct admin a;
};

/* The options of one verb. */
struct cli_args {
	const char *site, *sender, *rcpt;
	int	 json, frozen, body, raw, apply, remove;
	char	**pos;			/* positional arguments */
	size_t	 npos;
};

/* Which options a verb takes. */
#define O_SITE		0x01
#define O_SENDER	0x02
#define O_RCPT		0x04
#define O_JSON		0x08
#define O_FROZEN	0x10
#define O_BODY		0x20
#define O_RAW		0x40
#define O_ARGV		0x80		/* every word is positional */
#define O_APPLY		0x100		/* --apply, --remove */

struct verb {
	const char *name;
	int	 admin_only;
	int	 queue;			/* runs as the runner user for root */
	unsigned opts;
	int	(*fn)(struct cli *, struct cli_args *);
	const char *usage;
};

static const struct verb *cli_verb;

/* cli_usage_verb - one verb's usage line, then exit 64. */
static void __attribute__((noreturn))
cli_usage_verb(const char *fmt, const char *arg)
{
	if (fmt != NULL) {
		fprintf(stderr, "sitemail: ");
		fprintf(stderr, fmt, arg);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: sitemail %s\n", cli_verb->usage);
	exit(EX_USAGE);
}

/* cli_opt_value - the value of --name VALUE or --name=VALUE. */
static const char *
cli_opt_value(char **argv, int argc, int *i, const char *name)
{
	size_t	 n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		cli_usage_verb("%s needs a value", name);
	return argv[++*i];
}

/* cli_flag - 1 if argv[i] is one of the flag's spellings. */
static int
cli_flag(const char *arg, const char *a, const char *b)
{
	return strcmp(arg, a) == 0 || (b != NULL && strcmp(arg, b) == 0);
}

/* cli_parse - the options of the verb in argv[1..]; the rest are
 * positional ("--" ends the options, "-" is positional). */
static void
cli_parse(int argc, char **argv, unsigned allowed, struct cli_args *ar)
{
	const char *v;
	int	 i, opts = 1;

	memset(ar, 0, sizeof(*ar));
	ar->pos = calloc((size_t)argc + 1, sizeof(*ar->pos));
	if (ar->pos == NULL)
		msg_fatal(EX_OSERR, "out of memory");
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!opts || (allowed & O_ARGV) || arg[0] != '-' ||
		    arg[1] == '\0') {
			ar->pos[ar->npos++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0)
			opts = 0;
		else if ((allowed & O_SITE) &&
		    (v = cli_opt_value(argv, argc, &i, "--site")) != NULL)
			ar->site = v;
		else if ((allowed & O_SENDER) &&
		    (v = cli_opt_value(argv, argc, &i, "--sender")) != NULL)
			ar->sender = v;
		else if ((allowed & O_RCPT) &&
		    (v = cli_opt_value(argv, argc, &i, "--rcpt")) != NULL)
			ar->rcpt = v;
		else if ((allowed & O_JSON) && cli_flag(arg, "--json", "-j"))
			ar->json = 1;
		else if ((allowed & O_FROZEN) && cli_flag(arg, "--frozen", NULL))
			ar->frozen = 1;
		else if ((allowed & O_BODY) && cli_flag(arg, "--body", "-b"))
			ar->body = 1;
		else if ((allowed & O_RAW) && cli_flag(arg, "--raw", NULL))
			ar->raw = 1;
		else if ((allowed & O_APPLY) && cli_flag(arg, "--apply", NULL))
			ar->apply = 1;
		else if ((allowed & O_APPLY) && cli_flag(arg, "--remove", NULL))
			ar->remove = 1;
		else if (cli_flag(arg, "--help", "-h"))
			cli_usage_verb(NULL, NULL);
		else
			cli_usage_verb("unknown option \"%s\"", arg);
	}
}

/* cli_ids - the positional queue IDs, or those on stdin for "-".  IDs are
 * normalised (case, mailq marks); a word that is not one is kept as it
 * is, so that the verb reports it as "no such message". */
static void
cli_ids(struct cli_args *ar, char ***idsp, size_t *np)
{
	char	 qid[SPOOL_QIDLEN + 1], **ids;
	size_t	 i;
	int	 rc;

	if (ar->npos == 1 && strcmp(ar->pos[0], "-") == 0) {
		if ((rc = admin_ids_read(stdin, idsp, np)) != 0)
			msg_fatal(rc, "%s", err_str());
		return;
	}
	if ((ids = calloc(ar->npos + 1, sizeof(*ids))) == NULL)
		msg_fatal(EX_OSERR, "out of memory");
	for (i = 0; i < ar->npos; i++) {
		const char *w = admin_qid_parse(ar->pos[i], qid) == 0 ?
		    qid : ar->pos[i];

		if ((ids[i] = strdup(w)) == NULL)
			msg_fatal(EX_OSERR, "out of memory");
	}
	*idsp = ids;
	*np = ar->npos;
}

/* cli_filter - the selection options as a filter. */
static void
cli_filter(const struct cli_args *ar, struct admin_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->site = ar->site;
	f->sender_re = ar->sender;
	f->rcpt_re = ar->rcpt;
	f->frozen = ar->frozen;
}

/* verb_check_config - the config was loaded by main (sites.d files left
 * out are in conf.broken); check everything else (queue/confcheck.c). */
static int
verb_check_config(struct cli *c, struct cli_args *ar)
{
	int	 n;

	if (ar->npos)
		cli_usage_verb("unexpected argument \"%s\"", ar->pos[0]);
	n = confcheck_run(&c->conf, stdout);
	fflush(stdout);
	/* DKIM keys the runner would refuse (owner, mode, unusable). */
	n += admin_dkim_check_config(&c->conf);
	if (n > 0)
		return err_set(EX_CONFIG, "%s: %d problem%s found",
		    c->confdir, n, n == 1 ? "" : "s");
	printf("%s: configuration OK: %zu site%s, spool %s\n", c->confdir,
	    c->conf.nsites, c->conf.nsites == 1 ? "" : "s",
	    c->conf.spool_dir);
	return 0;
}

/* verb_reload - rebuild the site index from the files (util/confidx.h);
 * a running sitemaild rebuilds it by itself when files change. */
static int
verb_reload(struct cli *c, struct cli_args *ar)
{
	struct conf nc;
	size_t	 i;
	int	 rc, wrote;

	if (ar->npos)
		cli_usage_verb("unexpected argument \"%s\"", ar->pos[0]);
	if ((rc = confidx_build(&nc, c->confdir, &wrote)) != 0)
		return rc;
	for (i = 0; i < nc.broken.n; i++)
		printf("%s (left out: the site keeps its last good "
		    "settings)\n", nc.broken.v[i]);
	if (wrote == 0)
		printf("site index of %s rebuilt: %zu site%s\n", c->confdir,
		    nc.nsites, nc.nsites == 1 ? "" : "s");
	fflush(stdout);
	rc = wrote != 0 ? wrote : nc.broken.n > 0 ? err_set(EX_CONFIG,
	    "%zu file%s left out", nc.broken.n, nc.broken.n == 1 ? "" :
	    "s") : 0;
	conf_free(&nc);
	return rc;
}

/* verb_keygen - make the spool signing key (never overwrites one). */
static int
verb_keygen(struct cli *c, struct cli_args *ar)
{
	struct group *gr;
	struct buf path;
	int	 rc = 0;

	buf_init(&path, PATH_MAX);
	if (ar->npos > 1)
		cli_usage_verb("unexpected argument \"%s\"", ar->pos[1]);
	if (ar->npos == 1 ? buf_addstr(&path, ar->pos[0]) < 0 :
	    buf_printf(&path, "%s/spool.key", c->confdir) < 0)
		rc = err_set(EX_USAGE, "path too long");
	gr = getgrnam(c->conf.user);
	if (rc == 0)
		rc = spool_key_generate(buf_str(&path),
		    gr ? gr->gr_gid : getgid());
	if (rc == 0)
		printf("sitemail: wrote a new spool key to %s\n",
		    buf_str(&path));
	buf_free(&path);
	return rc;
}

/* verb_list - list [--site S] [--sender RE] [--rcpt RE] [--frozen]. */
static int
verb_list(struct cli *c, struct cli_args *ar)
{
	struct admin_filter f;

	if (ar->npos)
		cli_usage_verb("unexpected argument \"%s\"", ar->pos[0]);
	cli_filter(ar, &f);
	if (!c->admin) {
		/* A site user never opens the shared state: sitemaild
		 * answers, for the caller's own site only. */
		if (ar->site && strcmp(ar->site, c->caller.name) != 0)
			return err_set(EX_NOPERM, "site %s: permission denied "
			    "(you may see your own site %s only)", ar->site,
			    c->caller.name);
		return verdict_ask(c->conf.spool_dir, stdout, "list",
		    "json", ar->json ? "1" : NULL, "sender", ar->sender,
		    "rcpt", ar->rcpt, "frozen", ar->frozen ? "1" : NULL,
		    (char *)NULL);
	}
	return admin_list(&c->a, &f, ar->json, stdout);
}

/* verb_show - show [--body|--raw] [--json] ID. */
static int
verb_show(struct cli *c, struct cli_args *ar)
{
	char	 qid[SPOOL_QIDLEN + 1];
	int	 mode = ar->raw ? ADMIN_SHOW_RAW : ar->body ? ADMIN_SHOW_BODY :
		    ADMIN_SHOW_HEADER;

	if (ar->npos != 1)
		cli_usage_verb("%s", ar->npos ? "one queue ID, please" :
		    "which message?");
	if (admin_qid_parse(ar->pos[0], qid) != 0)
		return err_set(EX_NOINPUT, "%s: no such message", ar->pos[0]);
	if (!c->admin) {
		char	 m[2] = { (char)('0' + mode), '\0' };

		return verdict_ask(c->conf.spool_dir, stdout, "show", "qid",
		    qid, "mode", m, "json", ar->json ? "1" : NULL,
		    (char *)NULL);
	}
	return admin_show(&c->a, qid, mode, ar->json, stdout);
}

/* verb_flush - flush [--site S | ID...]. */
static int
verb_flush(struct cli *c, struct cli_args *ar)
{
	char	**ids = NULL;
	size_t	 n = 0;
	int	 rc;

	if (ar->site && ar->npos)
		cli_usage_verb("%s", "either --site or queue IDs");
	if (ar->npos)
		cli_ids(ar, &ids, &n);
	if (!c->admin) {
		size_t	 i;

		if (ar->site && strcmp(ar->site, c->caller.name) != 0)
			rc = err_set(EX_NOPERM, "flush: you may flush only "
			    "site %s", c->caller.name);
		else if (n == 0)
			rc = verdict_ask(c->conf.spool_dir, stdout, "flush",
			    (char *)NULL);
		else
			for (i = 0, rc = 0; i < n && rc == 0; i++)
				rc = verdict_ask(c->conf.spool_dir, stdout,
				    "flush", "id", ids[i], (char *)NULL);
		admin_ids_free(ids, n);
		return rc;
	}
	rc = admin_flush(&c->a, ar->site, ids, n);
	admin_ids_free(ids, n);
	return rc;
}

/* cli_freeze - freeze/thaw SITE | --site SITE | ID... */
static int
cli_freeze(struct cli *c, struct cli_args *ar, int freeze)
{
	char	 qid[SPOOL_QIDLEN + 1], **ids = NULL;
	size_t	 n = 0;
	int	 rc;

	if (ar->site && ar->npos)
		cli_usage_verb("%s", "either a site or queue IDs");
	if (ar->site)
		return admin_freeze_site(&c->a, ar->site, freeze, stdout);
	if (ar->npos == 0)
		cli_usage_verb("%s", "which site or messages?");
	if (ar->npos == 1 && strcmp(ar->pos[0], "-") != 0 &&
	    admin_qid_parse(ar->pos[0], qid) != 0)
		return admin_freeze_site(&c->a, ar->pos[0], freeze, stdout);
	cli_ids(ar, &ids, &n);
	rc = admin_freeze_ids(&c->a, ids, n, freeze, stdout);
	admin_ids_free(ids, n);
	return rc;
}

/* verb_freeze - freeze SITE | ID... */
static int
verb_freeze(struct cli *c, struct cli_args *ar)
{
	return cli_freeze(c, ar, 1);
}

/* verb_thaw - thaw SITE | ID... */
static int
verb_thaw(struct cli *c, struct cli_args *ar)
{
	return cli_freeze(c, ar, 0);
}

/* verb_delete - delete ID... | - | --site S [--frozen] [selectors]. */
static int
verb_delete(struct cli *c, struct cli_args *ar)
{
	struct admin_filter f;
	char	**ids = NULL;
	size_t	 n = 0;
	int	 rc;

	cli_filter(ar, &f);
	if (ar->npos && (f.site || f.sender_re || f.rcpt_re || f.frozen))
		cli_usage_verb("%s", "either queue IDs or --site");
	if (!ar->npos && !f.site)
		cli_usage_verb("%s", ar->sender || ar->rcpt || ar->frozen ?
		    "selectors need --site" : "which messages?");
	if (ar->npos == 0)
		return admin_delete(&c->a, &f, NULL, 0, stdout);
	cli_ids(ar, &ids, &n);
	rc = admin_delete(&c->a, NULL, ids, n, stdout);
	admin_ids_free(ids, n);
	return rc;
}

/* verb_bounce - bounce ID... | - */
static int
verb_bounce(struct cli *c, struct cli_args *ar)
{
	char	**ids = NULL;
	size_t	 n = 0;
	int	 rc;

	if (ar->npos == 0)
		cli_usage_verb("%s", "which messages?");
	cli_ids(ar, &ids, &n);
	rc = admin_bounce(&c->a, ids, n, stdout);
	admin_ids_free(ids, n);
	return rc;
}

/* verb_sites - sites [--json]. */
static int
verb_sites(struct cli *c, struct cli_args *ar)
{
	if (ar->npos)
		cli_usage_verb("unexpected argument \"%s\"", ar->pos[0]);
	return admin_sites(&c->a, ar->json, stdout);
}

/* verb_route - route ADDRESS [--json]. */
static int
verb_route(struct cli *c, struct cli_args *ar)
{
	if (ar->npos != 1)
		cli_usage_verb("%s", "one address, please");
	return admin_route(&c->a, ar->pos[0], ar->json, stdout);
}

/* verb_dkim - dkim keygen|list|check ... (queue/admin_dkim.c). */
static int
verb_dkim(struct cli *c, struct cli_args *ar)
{
	return admin_dkim(&c->conf, ar->pos, ar->npos, stdout);
}

/* verb_firewall - firewall [--apply | --remove] (queue/firewall.c). */
static int
verb_firewall(struct cli *c, struct cli_args *ar)
{
	if (ar->npos || (ar->apply && ar->remove))
		cli_usage_verb("%s", "at most one of --apply and --remove");
	return firewall_run(&c->conf, ar->apply ? FIREWALL_APPLY :
	    ar->remove ? FIREWALL_REMOVE : FIREWALL_PRINT, stdout);
}

/* verb_report - report [--since 24h] [--json] (queue/admin_report.c). */
static int
verb_report(struct cli *c, struct cli_args *ar)
{
	return admin_report_argv(&c->conf, ar->pos, ar->npos, stdout);
}

#define O_SELECT	(O_SITE | O_SENDER | O_RCPT | O_FROZEN)

static const struct verb cli_verbs[] = {
	{ "list", 0, 1, O_SELECT | O_JSON, verb_list,
	    "list [--site S] [--sender RE] [--rcpt RE] [--frozen] [--json]" },
	{ "show", 0, 1, O_JSON | O_BODY | O_RAW, verb_show,
	    "show [--body | --raw | --json] ID" },
	{ "flush", 0, 1, O_SITE, verb_flush, "flush [--site S | ID... | -]" },
	{ "freeze", 1, 1, O_SITE, verb_freeze, "freeze SITE | ID... | -" },
	{ "thaw", 1, 1, O_SITE, verb_thaw, "thaw SITE | ID... | -" },
	{ "delete", 1, 1, O_SELECT, verb_delete,
	    "delete ID... | - | --site S [--frozen] [--sender RE] [--rcpt RE]" },
	{ "bounce", 1, 1, 0, verb_bounce, "bounce ID... | -" },
	{ "sites", 1, 1, O_JSON, verb_sites, "sites [--json]" },
	{ "route", 1, 1, O_JSON, verb_route, "route ADDRESS [--json]" },
	{ "report", 1, 0, O_ARGV, verb_report, "report [--since 24h] [--json]" },
	{ "check-config", 1, 0, 0, verb_check_config, "check-config" },
	{ "reload", 1, 0, 0, verb_reload, "reload" },
	{ "keygen", 1, 0, 0, verb_keygen, "keygen [PATH]" },
	{ "dkim", 1, 0, O_ARGV, verb_dkim, "dkim keygen DOMAIN [--selector S] "
	    "[--bits N] [--type rsa|ed25519] | list [--json] | check DOMAIN "
	    "[--site S]" },
	{ "firewall", 1, 0, O_APPLY, verb_firewall,
	    "firewall [--apply | --remove]" },
	/* Postfix and Exim habits */
	{ "hold", 1, 1, O_SITE, verb_freeze, "hold SITE | ID... (= freeze)" },
	{ "release", 1, 1, O_SITE, verb_thaw, "release SITE | ID... (= thaw)" },
	{ "remove", 1, 1, O_SELECT, verb_delete, "remove ... (= delete)" },
	{ "rm", 1, 1, O_SELECT, verb_delete, "rm ... (= delete)" },
};

/* cli_usage - the verb list on stderr. */
static void __attribute__((noreturn))
cli_usage(int status)
{
	size_t	 i;

	fprintf(status ? stderr : stdout,
	    "usage: sitemail [-C DIR] VERB [ARGS]\n"
	    "       sitemail --help | --version\nverbs:\n");
	for (i = 0; i < sizeof(cli_verbs) / sizeof(cli_verbs[0]); i++)
		fprintf(status ? stderr : stdout, "  sitemail %s\n",
		    cli_verbs[i].usage);
	exit(status);
}

/* cli_find - the verb called name. */
static const struct verb *
cli_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(cli_verbs) / sizeof(cli_verbs[0]); i++)
		if (strcmp(name, cli_verbs[i].name) == 0)
			return &cli_verbs[i];
	return NULL;
}

/* cli_setup - config, log, permission, identity, and for root the switch
 * to the runner user. */
static void
cli_setup(struct cli *c, const struct verb *v)
{
	uid_t	 uid = getuid();
	int	 rc;

	/* Site users: the intake's view (their own site, its last good
	 * settings); admins: the runner's (every site, last good ones for
	 * files left out).  A broken sitemail.conf stops both (78). */
	if (uid != 0 && (rc = site_conf_load(&c->conf, c->confdir, uid,
	    &c->caller)) != 0)
		msg_fatal(rc, "%s", err_str());
	if (uid != 0 && c->conf.main_fallback)
		msg_fatal(EX_CONFIG, "%s", c->conf.broken.v[0]);
	c->admin = uid == 0 || priv_is_admin(uid, c->conf.user);
	if (c->admin) {
		conf_free(&c->conf);
		if ((rc = confidx_build(&c->conf, c->confdir, NULL)) != 0 ||
		    (rc = site_identify(&c->conf, uid, &c->caller)) != 0)
			msg_fatal(rc, "%s", err_str());
	}
	if ((rc = log_open("sitemail", c->conf.log)) != 0)
		msg_fatal(rc, "%s", err_str());
	if (v->admin_only && !c->admin)
		msg_fatal(EX_NOPERM, "%s: permission denied (root or user %s "
		    "only)", v->name, c->conf.user);
	if (v->queue && geteuid() == 0 && (rc = priv_drop(c->conf.user)) != 0)
		msg_fatal(rc, "%s", err_str());
	admin_init(&c->a, &c->conf, &c->caller, uid, c->admin);
}

/* main - sanitise, load the config, check permission, run the verb. */
int
main(int argc, char **argv)
{
	static struct cli c;
	struct cli_args ar;
	int	 setid, rc;

	priv_sanitize();
	setid = priv_setid();
	(void)log_open("sitemail", "syslog");
	c.confdir = conf_default_dir();
	argv++, argc--;
	if (argc >= 2 && strcmp(argv[0], "-C") == 0) {
		if (setid && getuid() != 0)
			msg_fatal(EX_NOPERM, "-C is honoured only for root");
		c.confdir = argv[1];
		argv += 2, argc -= 2;
	}
	if (argc < 1)
		cli_usage(EX_USAGE);
	if (cli_flag(argv[0], "--help", "-h") || strcmp(argv[0], "help") == 0)
		cli_usage(0);
	if (version_flag(argv[0])) {
		version_print(stdout, "sitemail");
		return 0;
	}
	if ((cli_verb = cli_find(argv[0])) == NULL) {
		msg_warnx("unknown verb \"%s\"", argv[0]);
		cli_usage(EX_USAGE);
	}
	cli_setup(&c, cli_verb);
	cli_parse(argc, argv, cli_verb->opts, &ar);
	rc = cli_verb->fn(&c, &ar);
	admin_close(&c.a);
	free(ar.pos);
	if (rc != 0)
		msg_fatal(rc, "%s", err_str());
	return 0;
}
