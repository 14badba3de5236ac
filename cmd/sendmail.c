/*
 * sendmail.c - sendmail(8), the setgid intake program of sitemail.
 *
 * Runs in the caller's process with egid "sitemail".  It sanitises the
 * inherited state first, never executes another program, and does no DNS
 * and no network I/O: it reads one message (argv recipients, -t, or the
 * -bs SMTP dialogue), fixes its header, applies the site's sender policy,
 * charges the site's token bucket and commits one signed spool file.  Exit
 * 0 means the spool file is fsync'd and renamed into queue/.  Also serves
 * mailq / -bp (the caller's own site only) and -q (wake the runner).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "compat/compat.h"
#include "compat/intake.h"
#include "compat/msgfix.h"
#include "queue/qstate.h"
#include "queue/site.h"
#include "queue/verdict.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/msg.h"
#include "util/priv.h"
#include "util/version.h"

/* The sendmail process: its options and its one caller. */
struct sm {
	struct conf conf;
	struct opts opts;
	struct intake in;
};

/* sm_config - choose the config dir (-C only when unprivileged) and load. */
static void
sm_config(struct sm *sm, int privileged)
{
	const char *dir = conf_default_dir();
	int	 rc;

	if (sm->opts.config != NULL) {
		if (privileged && getuid() != 0)
			msg_fatal(EX_NOPERM, "-C is honoured only for root; "
			    "refusing to use \"%s\"", sm->opts.config);
		dir = sm->opts.config;
	}
	/* The compiled index: only this site's file is read (site_conf.c). */
	if ((rc = site_conf_load(&sm->conf, dir, getuid(), &sm->in.site)) != 0)
		msg_fatal(rc, "%s", err_str());
	/* -bs must never write to stderr: a stderr log goes to syslog. */
	if ((rc = log_open("sendmail", sm->opts.mode == MODE_SMTP &&
	    strcmp(sm->conf.log, "stderr") == 0 ? "syslog" : sm->conf.log)) != 0)
		msg_fatal(rc, "%s", err_str());
	sm->in.conf = &sm->conf;
	sm->in.fullname = sm->opts.fullname;
	if ((rc = intake_site(&sm->in, getuid())) != 0)
		msg_fatal(rc, "%s", err_str());
}

/* smtp_deliver - the -bs dialogue's per-message callback. */
static int
smtp_deliver(void *ctx, const char *sender, char **rcpt, size_t nrcpt,
    struct linein *data, char *qid, size_t qidlen)
{
	struct intake *in = ctx;
	int	 rc;

	rc = intake_message(in, sender, rcpt, nrcpt, 0, data, qid, qidlen);
	if (rc)
		log_warn("reject: site=%s uid=%lu: %s", in->site.name,
		    (unsigned long)in->site.uid, err_str());
	return rc;
}

/* sm_smtp - sendmail -bs. */
static int
sm_smtp(struct sm *sm)
{
	struct smtpin_ops ops;

	memset(&ops, 0, sizeof(ops));
	ops.deliver = smtp_deliver;
	ops.ctx = &sm->in;
	ops.hostname = sm->conf.hostname;
	ops.max_recipients = sm->conf.max_recipients;
	ops.max_size = sm->conf.max_message_size;
	return smtpin_run(&ops);
}

/* sm_deliver - the default mode: one message on stdin. */
static int
sm_deliver(struct sm *sm)
{
	struct linein src;
	char	 qid[SPOOL_QIDLEN + 1];
	int	 rc;

	linein_init(&src, STDIN_FILENO);
	src.dot = sm->opts.ignore_dots ? DOT_NONE : DOT_ENDS;
	rc = intake_message(&sm->in, sm->opts.sender, sm->opts.rcpt,
	    sm->opts.nrcpt, sm->opts.extract, &src, qid, sizeof(qid));
	linein_free(&src);
	if (rc)
		msg_fatal(rc, "%s", err_str());
	return 0;
}

/* sm_mailq - mailq / -bp: sitemaild answers (the set-gid program never
 * opens the shared state); root and the runner user see every site. */
static int
sm_mailq(struct sm *sm)
{
	return verdict_ask(sm->conf.spool_dir, stdout, "list", "all",
	    priv_is_admin(getuid(), sm->conf.user) ? "1" : NULL,
	    (char *)NULL);
}

/* sm_flush - -q, -qI, -qR, -qS: a site user asks sitemaild (their own
 * site only); root and the runner user leave a request file in
 * state/flush/, which works whether or not sitemaild runs now. */
static int
sm_flush(struct sm *sm)
{
	if (priv_is_admin(getuid(), sm->conf.user))
		return qstate_flush_request(&sm->conf, &sm->in.site, 1,
		    sm->opts.q_id, sm->opts.q_domain, sm->opts.q_sender);
	return verdict_ask(sm->conf.spool_dir, stdout, "flush", "id",
	    sm->opts.q_id, "domain", sm->opts.q_domain, "sender",
	    sm->opts.q_sender, (char *)NULL);
}

/* sm_verify - -bv: each recipient as intake would take it, and how
 * sitemaild would route it now (from its DNS cache; no query is made).
 * Exit 0 when every address is deliverable, EX_NOUSER when one is not. */
static int
sm_verify(struct sm *sm)
{
	struct addrlist al = { NULL, 0 };
	char	*ans = NULL;
	size_t	 i, nans = 0;
	FILE	*fp;
	int	 rc, bad = 0;

	if (sm->opts.nrcpt == 0)
		msg_fatal(EX_USAGE, "-bv: no addresses given");
	if ((rc = intake_recipients(&sm->in, sm->opts.rcpt, sm->opts.nrcpt,
	    &al)) != 0)
		msg_fatal(rc, "%s", err_str());
	for (i = 0; i < al.n; i++) {
		if ((fp = open_memstream(&ans, &nans)) == NULL)
			msg_fatal(EX_TEMPFAIL, "out of memory");
		rc = verdict_ask(sm->conf.spool_dir, fp, "verify", "addr",
		    al.v[i], (char *)NULL);
		fclose(fp);
		if (rc == 0)
			printf("%s... %s", al.v[i], ans);
		else
			printf("%s... deliverable: queued for site %s; routed "
			    "by MX at delivery (sitemaild does not answer "
			    "now)\n", al.v[i], sm->in.site.name);
		bad |= rc == 0 && strncmp(ans, "undeliverable", 13) == 0;
		free(ans);
		ans = NULL;
	}
	addr_free(&al);
	return bad ? EX_NOUSER : 0;
}

/* main - sanitise, parse, identify, then run the requested mode. */
int
main(int argc, char **argv)
{
	static struct sm sm;
	int	 privileged, rc;

	priv_sanitize();
	privileged = priv_setid();
	priv_caller(sm.in.cwd, sizeof(sm.in.cwd), sm.in.exe,
	    sizeof(sm.in.exe));
	(void)log_open(argc > 0 ? argv[0] : "sendmail", "syslog");
	if ((rc = opts_parse(&sm.opts, argc, argv)) != 0)
		msg_fatal(rc, "%s", err_str());
	if (sm.opts.help || sm.opts.version) {
		if (sm.opts.help)
			opts_usage(stdout, msg_progname());
		else
			version_print(stdout, msg_progname());
		return 0;
	}
	if (sm.opts.mode == MODE_SMTP)
		msg_quiet(1);
	sm_config(&sm, privileged);
	switch (sm.opts.mode) {
	case MODE_SMTP:
		rc = sm_smtp(&sm);
		break;
	case MODE_LIST:
		rc = sm_mailq(&sm);
		break;
	case MODE_FLUSH:
		rc = sm_flush(&sm);
		break;
	case MODE_NEWALIASES:
		rc = 0;		/* sitemail has no alias database */
		break;
	case MODE_VERIFY:
		rc = sm_verify(&sm);
		break;
	default:
		rc = sm_deliver(&sm);
	}
	if (rc && sm.opts.mode != MODE_SMTP)
		msg_fatal(rc, "%s", err_str());
	intake_close(&sm.in);
	return rc;
}
