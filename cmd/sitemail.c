/*
 * sitemail.c - sitemail(8), the administration command.
 *
 * Installed set-gid "sitemail" like sendmail, so that a site user can
 * list, show and flush their own site's mail; every other verb is for root
 * and the runner user only (exit 77 otherwise).  It sanitises its process
 * state the same way sendmail does, and honours -C only when it is not
 * running set-id or the caller is root.
 *
 * Usage: sitemail [-C DIR] VERB [ARGS]; see sitemail(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "queue/site.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/msg.h"
#include "util/priv.h"

/* What every verb gets. */
struct cli {
	struct conf conf;
	struct site_id caller;		/* the caller's own site */
	int	 admin;			/* root or the runner user */
	const char *confdir;
};

struct verb {
	const char *name;
	int	 admin_only;
	int	(*fn)(struct cli *, int, char **);
	const char *usage;
};

/* cli_keypath - $(confdir)/spool.key into out. */
static int
cli_keypath(const struct cli *c, struct buf *out)
{
	if (buf_printf(out, "%s/spool.key", c->confdir) < 0)
		return err_set(EX_CONFIG, "config directory name too long");
	return 0;
}

/* verb_check_config - the config was loaded by main; report on it. */
static int
verb_check_config(struct cli *c, int argc, char **argv)
{
	unsigned char key[SPOOL_KEYLEN];
	struct buf path;
	int	 rc;

	buf_init(&path, PATH_MAX);
	if ((rc = cli_keypath(c, &path)) == 0 &&
	    (rc = spool_key_load(buf_str(&path), key)) != 0)
		msg_warnx("warning: %s", err_str());
	buf_free(&path);
	printf("%s: configuration OK: %zu site%s, spool %s\n", c->confdir,
	    c->conf.nsites, c->conf.nsites == 1 ? "" : "s",
	    c->conf.spool_dir);
	return 0;
}

/* verb_keygen - make the spool signing key (never overwrites one). */
static int
verb_keygen(struct cli *c, int argc, char **argv)
{
	struct group *gr;
	struct buf path;
	int	 rc;

	buf_init(&path, PATH_MAX);
	if (argc > 1)
		rc = buf_addstr(&path, argv[1]) < 0 ?
		    err_set(EX_USAGE, "path too long") : 0;
	else
		rc = cli_keypath(c, &path);
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

/* show_field - one "name: value" line of the envelope. */
static void
show_field(const char *name, const char *value)
{
	printf("%-10s %s\n", name, value && *value ? value : "-");
}

/* show_content - copy the content to stdout (all, or the header only). */
static int
show_content(struct spool_msg *m, int header_only)
{
	char	 buf[65536];
	uint64_t off = 0;
	ssize_t	 n;
	char	*end;

	while (off < m->content_len) {
		n = spool_read_content(m, off, buf, sizeof(buf));
		if (n <= 0)
			return err_set(EX_IOERR, "cannot read the message");
		if (header_only && (end = memmem(buf, (size_t)n, "\r\n\r\n",
		    4)) != NULL) {
			fwrite(buf, 1, (size_t)(end - buf) + 2, stdout);
			return 0;
		}
		fwrite(buf, 1, (size_t)n, stdout);
		off += (uint64_t)n;
	}
	return 0;
}

/* verb_show - envelope and header (--body: all, --raw: content only). */
static int
verb_show(struct cli *c, int argc, char **argv)
{
	unsigned char key[SPOOL_KEYLEN];
	struct spool_msg m;
	struct buf path;
	char	 num[64];
	int	 rc, raw = 0, body = 0, dirfd, i;
	const char *id = NULL;
	size_t	 r;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--raw") == 0)
			raw = 1;
		else if (strcmp(argv[i], "--body") == 0)
			body = 1;
		else
			id = argv[i];
	if (id == NULL || !spool_qid_valid(id))
		return err_set(EX_USAGE, "usage: sitemail show [--body|--raw] ID");
	buf_init(&path, PATH_MAX);
	if ((rc = cli_keypath(c, &path)) == 0)
		rc = spool_key_load(buf_str(&path), key);
	buf_reset(&path);
	if (rc == 0 && buf_printf(&path, "%s/queue", c->conf.spool_dir) < 0)
		rc = err_set(EX_CONFIG, "spool_dir too long");
	dirfd = rc ? -1 : open(buf_str(&path), O_RDONLY | O_DIRECTORY);
	buf_free(&path);
	if (rc == 0 && dirfd < 0)
		rc = err_set(EX_TEMPFAIL, "cannot open the queue: %s",
		    strerror(errno));
	if (rc == 0 && (rc = spool_open(&m, dirfd, id, key)) != 0 &&
	    rc != EX_DATAERR)
		rc = err_set(EX_NOINPUT, "%s: no such message", id);
	if (dirfd >= 0)
		close(dirfd);
	sodium_memzero(key, sizeof(key));
	if (rc)
		return rc;
	if (!c->admin && strcmp(m.env.site, c->caller.name) != 0) {
		spool_close(&m);
		return err_set(EX_NOINPUT, "%s: no such message", id);
	}
	if (!raw) {
		show_field("queue_id:", m.env.qid);
		show_field("site:", m.env.site);
		snprintf(num, sizeof(num), "%lu", (unsigned long)m.env.uid);
		show_field("uid:", num);
		show_field("login:", m.env.login);
		printf("%-10s <%s>\n", "sender:", m.env.sender);
		snprintf(num, sizeof(num), "%lld.%06ld",
		    (long long)m.env.time, m.env.time_usec);
		show_field("time:", num);
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)m.content_len);
		show_field("size:", num);
		show_field("cwd:", m.env.cwd);
		show_field("exe:", m.env.exe);
		show_field("script:", m.env.script);
		for (r = 0; r < m.env.nrcpt; r++)
			printf("%-10s <%s>\n", "rcpt:", m.env.rcpt[r]);
		printf("\n");
	}
	rc = show_content(&m, !raw && !body);
	spool_close(&m);
	return rc;
}

static const struct verb cli_verbs[] = {
	{ "check-config", 1, verb_check_config, "check-config" },
	{ "keygen", 1, verb_keygen, "keygen [PATH]" },
	{ "show", 0, verb_show, "show [--body|--raw] ID" },
};

/* cli_usage - the verb list on stderr. */
static void
cli_usage(void)
{
	size_t	 i;

	fprintf(stderr, "usage: sitemail [-C DIR] VERB [ARGS]\nverbs:\n");
	for (i = 0; i < sizeof(cli_verbs) / sizeof(cli_verbs[0]); i++)
		fprintf(stderr, "  sitemail %s\n", cli_verbs[i].usage);
	exit(EX_USAGE);
}

/* main - sanitise, load the config, check permission, run the verb. */
int
main(int argc, char **argv)
{
	static struct cli c;
	const struct verb *v = NULL;
	int	 setid, rc;
	size_t	 i;

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
		cli_usage();
	for (i = 0; i < sizeof(cli_verbs) / sizeof(cli_verbs[0]); i++)
		if (strcmp(argv[0], cli_verbs[i].name) == 0)
			v = &cli_verbs[i];
	if (v == NULL) {
		msg_warnx("unknown verb \"%s\"", argv[0]);
		cli_usage();
	}
	if ((rc = conf_load(&c.conf, c.confdir)) != 0)
		msg_fatal(rc, "%s", err_str());
	if ((rc = log_open("sitemail", c.conf.log)) != 0)
		msg_fatal(rc, "%s", err_str());
	c.admin = priv_is_admin(getuid(), c.conf.user);
	if (v->admin_only && !c.admin)
		msg_fatal(EX_NOPERM, "%s: permission denied (root or user %s "
		    "only)", v->name, c.conf.user);
	if ((rc = site_identify(&c.conf, getuid(), &c.caller)) != 0)
		msg_fatal(rc, "%s", err_str());
	if ((rc = v->fn(&c, argc, argv)) != 0)
		msg_fatal(rc, "%s", err_str());
	return 0;
}
