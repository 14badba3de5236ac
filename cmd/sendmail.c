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
#include "compat/msgfix.h"
#include "queue/admin.h"
#include "queue/bucket.h"
#include "queue/policy.h"
#include "queue/qstate.h"
#include "queue/site.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/msg.h"
#include "util/priv.h"
#include "util/version.h"

struct intake {
	struct conf conf;
	struct site_id site;
	struct opts opts;
	unsigned char key[SPOOL_KEYLEN];
	int	 have_key;
	struct bucket_db *bucket;
	struct qstate *qstate;
	char	 cwd[PATH_MAX];
	char	 exe[PATH_MAX];
	char	 own_addr[512];		/* the site's own sender address */
};

/* One message being taken in. */
struct job {
	struct headers hdr;
	struct addrlist rcpt;
	struct buf first;		/* a body line headers_read gave back */
	char	*sender;		/* final envelope sender */
	char	 script[1024];		/* X-PHP-Originating-Script */
	struct spool_writer *w;
	struct timeval tv;
	enum bucket_verdict verdict;	/* what the bucket said */
	unsigned max_rcpt;		/* max_recipients */
};

/* sm_config - choose the config dir (-C only when unprivileged) and load. */
static void
sm_config(struct intake *in, int privileged)
{
	const char *dir = conf_default_dir();
	int	 rc;

	if (in->opts.config != NULL) {
		if (privileged && getuid() != 0)
			msg_fatal(EX_NOPERM, "-C is honoured only for root; "
			    "refusing to use \"%s\"", in->opts.config);
		dir = in->opts.config;
	}
	if ((rc = conf_load(&in->conf, dir)) != 0)
		msg_fatal(rc, "%s", err_str());
	/* -bs must never write to stderr: a stderr log goes to syslog. */
	if ((rc = log_open("sendmail", in->opts.mode == MODE_SMTP &&
	    strcmp(in->conf.log, "stderr") == 0 ? "syslog" : in->conf.log)) != 0)
		msg_fatal(rc, "%s", err_str());
	if ((rc = site_identify(&in->conf, getuid(), &in->site)) != 0)
		msg_fatal(rc, "%s", err_str());
	if ((rc = policy_site_address(&in->site, in->conf.hostname,
	    in->own_addr, sizeof(in->own_addr))) != 0)
		msg_fatal(rc, "%s", err_str());
}

/* sm_key - load the spool key once. */
static int
sm_key(struct intake *in)
{
	struct buf path;
	int	 rc = 0;

	if (in->have_key)
		return 0;
	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/spool.key", in->conf.dir) < 0)
		rc = err_set(EX_CONFIG, "config directory name too long");
	else if ((rc = spool_key_load(buf_str(&path), in->key)) == 0)
		in->have_key = 1;
	buf_free(&path);
	return rc;
}

/* sm_index - add the queue record now, so mailq need not read the file.
 * A failure only costs speed: the runner indexes unknown files itself. */
static void
sm_index(struct intake *in, const struct envelope *env, uint64_t size)
{
	if (in->qstate == NULL && qstate_open(&in->qstate,
	    in->conf.spool_dir) != 0) {
		log_warn("%s: cannot open the queue state: %s", env->qid,
		    err_str());
		return;
	}
	if (qstate_add(in->qstate, env, size) != 0)
		log_warn("%s: cannot index: %s", env->qid, err_str());
}

/* job_free - release one message's state (aborting an uncommitted file). */
static void
job_free(struct job *j)
{
	if (j->w)
		spool_abort(j->w);
	headers_free(&j->hdr);
	addr_free(&j->rcpt);
	buf_free(&j->first);
	free(j->sender);
}

/* job_add_rcpt - add one recipient (exact duplicates are kept once). */
static int
job_add_rcpt(struct job *j, const char *addr)
{
	char	**v;
	size_t	 i;

	if (!spool_valid_field(addr) || *addr == '\0')
		return err_set(EX_DATAERR, "bad recipient address");
	for (i = 0; i < j->rcpt.n; i++)
		if (strcmp(j->rcpt.v[i], addr) == 0)
			return 0;
	if (j->rcpt.n >= j->max_rcpt)
		return err_set(EX_NOPERM, "too many recipients: more than %u "
		    "(max_recipients)", j->max_rcpt);
	v = realloc(j->rcpt.v, (j->rcpt.n + 1) * sizeof(*v));
	if (v == NULL || (v[j->rcpt.n] = strdup(addr)) == NULL) {
		if (v)
			j->rcpt.v = v;
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	j->rcpt.v = v;
	j->rcpt.n++;
	return 0;
}

/* job_add_words - one argv recipient word: byte-exact, unless it is an
 * address list ("Joe <joe@x>", "a@x, b@y"), as Postfix also accepts. */
static int
job_add_words(struct job *j, const char *word)
{
	struct addrlist l = { NULL, 0 };
	size_t	 i;
	int	 rc = 0;

	if (strpbrk(word, "<,") == NULL)
		return job_add_rcpt(j, word);
	(void)addr_parse_list(word, &l);
	if (l.n == 0)
		rc = job_add_rcpt(j, word);
	for (i = 0; i < l.n && rc == 0; i++)
		rc = job_add_rcpt(j, l.v[i]);
	addr_free(&l);
	return rc;
}

/* job_recipients - argv (or RCPT) recipients plus, with -t, the header's. */
static int
job_recipients(struct job *j, char **rcpt, size_t n, int extract)
{
	struct addrlist hdr = { NULL, 0 };
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = job_add_words(j, rcpt[i]);
	if (rc == 0 && extract && (rc = msgfix_extract(&j->hdr, &hdr)) == 0)
		for (i = 0; i < hdr.n && rc == 0; i++)
			rc = job_add_rcpt(j, hdr.v[i]);
	addr_free(&hdr);
	if (rc)
		return rc;
	if (j->rcpt.n == 0)
		return err_set(EX_USAGE, extract ?
		    "No recipient addresses found in message header" :
		    "no recipients given");
	return 0;
}

/* job_script - remember X-PHP-Originating-Script for the log. */
static void
job_script(struct job *j)
{
	ssize_t	 i = headers_find(&j->hdr, "X-PHP-Originating-Script", 0);
	char	*v;

	if (i < 0 || (v = headers_value(&j->hdr, (size_t)i)) == NULL)
		return;
	snprintf(j->script, sizeof(j->script), "%s", v);
	free(v);
	if (!spool_valid_field(j->script))
		j->script[0] = '\0';
}

/* job_header - fix the header block and apply the sender policy. */
static int
job_header(struct intake *in, struct job *j, const char *sender)
{
	struct msgfix_info fi;
	struct buf note;
	int	 rc;

	j->sender = strdup(sender ? sender : in->own_addr);
	if (j->sender == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	job_script(j);
	msgfix_hide(&j->hdr);
	buf_init(&note, 1024);
	rc = policy_apply(&in->site, in->conf.hostname, &j->sender, &j->hdr,
	    &note);
	if (rc == 0 && note.len)
		log_info("%s: %s", spool_writer_qid(j->w), buf_str(&note));
	buf_free(&note);
	if (rc)
		return rc;
	memset(&fi, 0, sizeof(fi));
	fi.qid = spool_writer_qid(j->w);
	fi.hostname = in->conf.hostname;
	fi.login = in->site.login;
	fi.uid = in->site.uid;
	fi.site = in->site.name;
	fi.sender = *j->sender ? j->sender : in->own_addr;
	fi.fullname = in->opts.fullname;
	fi.now = j->tv.tv_sec;
	if ((rc = msgfix_complete(&j->hdr, &fi)) != 0)
		return rc;
	return msgfix_received(&j->hdr, &fi);
}

/* job_write_header - the fixed header block and the empty line. */
static int
job_write_header(struct job *j)
{
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < j->hdr.n && rc == 0; i++)
		rc = spool_write(j->w, j->hdr.v[i].text, j->hdr.v[i].len);
	if (rc == 0)
		rc = spool_write(j->w, "\r\n", 2);
	if (rc == 0 && j->first.len)
		rc = spool_write(j->w, j->first.ptr, j->first.len);
	return rc;
}

/* job_body - stream the body into the spool file, enforcing the limits.
 * The input is always read to its end, so a -bs session stays in step;
 * with rc already set (an earlier failure) the body is only drained. */
static int
job_body(struct intake *in, struct job *j, struct linein *src, int rc)
{
	const char *p;
	size_t	 n;
	int	 eol, r;

	while ((r = linein_get(src, &p, &n, &eol)) == 1) {
		if (rc)
			continue;
		if (memchr(p, '\0', n) != NULL)
			rc = err_set(EX_DATAERR, "message contains a NUL byte");
		else if ((rc = spool_write(j->w, p, n)) == 0 && eol)
			rc = spool_write(j->w, "\r\n", 2);
		if (rc == 0 && spool_content_size(j->w) >
		    in->conf.max_message_size)
			rc = err_set(EX_DATAERR, "message is larger than the "
			    "limit of %zu bytes (max_message_size)",
			    in->conf.max_message_size);
	}
	if (rc)
		return rc;
	if (r < 0)
		return err_set(EX_TEMPFAIL, "error reading the message: %s",
		    strerror(errno));
	if (src->dot == DOT_SMTP && !src->done)
		rc = err_set(EX_DATAERR, "connection ended inside DATA");
	return rc;
}

/* sm_alert_frozen - log the auto-freeze and queue a notice to alert_to. */
static void
sm_alert_frozen(struct intake *in, const struct bucket_result *br)
{
	struct spool_writer *w;
	struct envelope env;
	struct buf b;
	char	 date[64], *rcpt[1];
	time_t	 now = time(NULL);

	log_warn("site frozen: site=%s uid=%lu backlog=%.0f limit=%.0f "
	    "cwd=%s exe=%s", in->site.name, (unsigned long)in->site.uid,
	    br->backlog, in->site.limits.backlog, in->cwd, in->exe);
	if (*in->conf.alert_to == '\0' || sm_key(in) != 0 ||
	    spool_create(&w, in->conf.spool_dir, in->key) != 0)
		return;
	msgfix_date(now, date, sizeof(date));
	buf_init(&b, 8192);
	(void)buf_printf(&b, "From: sitemail <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\nSubject: sitemail: site %s auto-frozen\r\n"
	    "Date: %s\r\nMessage-ID: <%s@%s>\r\nAuto-Submitted: "
	    "auto-generated\r\n\r\nSite %s (uid %lu) passed its backlog of "
	    "%.0f recipients waiting for tokens and was frozen.\r\n"
	    "Its queued mail is held. Inspect it with 'sitemail list --site "
	    "%s', then 'sitemail thaw %s' or 'sitemail delete --site %s "
	    "--frozen'.\r\nLast caller: cwd %s, program %s\r\n",
	    in->conf.hostname, in->conf.alert_to, in->site.name, date,
	    spool_writer_qid(w), in->conf.hostname, in->site.name,
	    (unsigned long)in->site.uid, in->site.limits.backlog,
	    in->site.name, in->site.name, in->site.name, in->cwd, in->exe);
	memset(&env, 0, sizeof(env));
	rcpt[0] = in->conf.alert_to;
	env.version = SPOOL_VERSION;
	env.site = SITE_SYSTEM;
	env.uid = getuid();
	env.login = in->site.login;
	env.sender = "";
	env.time = now;
	env.flags = SPOOL_F_ALERT;
	env.cwd = env.exe = env.script = "";
	env.rcpt = rcpt;
	env.nrcpt = 1;
	snprintf(env.qid, sizeof(env.qid), "%s", spool_writer_qid(w));
	if (spool_write(w, b.ptr, b.len) != 0) {
		spool_abort(w);
		log_error("site %s: cannot queue the freeze alert: %s",
		    in->site.name, err_str());
	} else if (spool_commit(w, &env) != 0)
		log_error("site %s: cannot queue the freeze alert: %s",
		    in->site.name, err_str());
	else
		sm_index(in, &env, b.len);
	buf_free(&b);
}

/* job_charge - charge the bucket; fills the hold time of the envelope. */
static int
job_charge(struct intake *in, struct job *j, struct envelope *env,
    double *tokens)
{
	struct bucket_result br;
	double	 now = j->tv.tv_sec + j->tv.tv_usec / 1e6;
	int	 rc;

	if (in->bucket == NULL &&
	    (rc = bucket_open(&in->bucket, in->conf.spool_dir)) != 0)
		return rc;
	rc = bucket_charge(in->bucket, in->site.name, &in->site.limits,
	    (double)j->rcpt.n, now, &br);
	if (rc)
		return rc;
	j->verdict = br.verdict;
	if (br.just_frozen)
		sm_alert_frozen(in, &br);
	switch (br.verdict) {
	case BUCKET_REFUSED:
		return err_set(EX_TEMPFAIL, "site %s is frozen: more than %.0f "
		    "recipients are waiting (backlog limit); mail is not "
		    "accepted until an admin runs 'sitemail thaw %s'",
		    in->site.name, in->site.limits.backlog, in->site.name);
	case BUCKET_HOLD:
		env->hold = (time_t)br.hold + 1;
		break;
	case BUCKET_FROZEN_HOLD:
		env->hold = 0;
		env->flags |= SPOOL_F_UNCHARGED;
		break;
	default:
		env->hold = 0;
	}
	*tokens = br.tokens;
	return 0;
}

/* job_commit - fill the envelope, charge the bucket and commit. */
static int
job_commit(struct intake *in, struct job *j, char *qid, size_t qidlen)
{
	struct envelope env;
	uint64_t size = spool_content_size(j->w);
	double	 tokens = 0;
	int	 rc;

	memset(&env, 0, sizeof(env));
	env.version = SPOOL_VERSION;
	env.site = in->site.name;
	env.uid = in->site.uid;
	env.login = in->site.login;
	env.sender = j->sender;
	env.time = j->tv.tv_sec;
	env.time_usec = j->tv.tv_usec;
	env.cwd = spool_valid_field(in->cwd) ? in->cwd : "?";
	env.exe = spool_valid_field(in->exe) ? in->exe : "?";
	env.script = j->script;
	env.rcpt = j->rcpt.v;
	env.nrcpt = j->rcpt.n;
	if ((rc = job_charge(in, j, &env, &tokens)) != 0)
		return rc;
	snprintf(env.qid, sizeof(env.qid), "%s", spool_writer_qid(j->w));
	snprintf(qid, qidlen, "%s", env.qid);
	rc = spool_commit(j->w, &env);
	j->w = NULL;
	if (rc) {
		(void)bucket_refund(in->bucket, in->site.name,
		    &in->site.limits, j->verdict, (double)j->rcpt.n,
		    j->tv.tv_sec + j->tv.tv_usec / 1e6);
		return rc;
	}
	sm_index(in, &env, size);
	log_info("%s: site=%s uid=%lu login=%s cwd=%s exe=%s script=%s "
	    "from=<%s> size=%llu nrcpt=%zu tokens=%.1f%s", qid, env.site,
	    (unsigned long)env.uid, env.login, env.cwd, env.exe,
	    *env.script ? env.script : "-", env.sender,
	    (unsigned long long)size, env.nrcpt, tokens,
	    env.hold ? " status=held" : "");
	return 0;
}

/* intake_message - take one message from src; on 0, qid names it. */
static int
intake_message(struct intake *in, const char *sender, char **rcpt,
    size_t nrcpt, int extract, struct linein *src, char *qid, size_t qidlen)
{
	struct job j;
	int	 rc;

	memset(&j, 0, sizeof(j));
	j.max_rcpt = in->conf.max_recipients;
	buf_init(&j.first, HDR_FIRST_MAX);
	gettimeofday(&j.tv, NULL);
	if ((rc = sm_key(in)) == 0)
		rc = spool_create(&j.w, in->conf.spool_dir, in->key);
	if (rc == 0)
		rc = headers_read(&j.hdr, src, &j.first);
	if (rc == 0)
		rc = job_recipients(&j, rcpt, nrcpt, extract);
	if (rc == 0)
		rc = job_header(in, &j, sender);
	if (rc == 0)
		rc = job_write_header(&j);
	if (rc == 0 || src->dot == DOT_SMTP)
		rc = job_body(in, &j, src, rc);
	if (rc == 0)
		rc = job_commit(in, &j, qid, qidlen);
	job_free(&j);
	return rc;
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
sm_smtp(struct intake *in)
{
	struct smtpin_ops ops;

	memset(&ops, 0, sizeof(ops));
	ops.deliver = smtp_deliver;
	ops.ctx = in;
	ops.hostname = in->conf.hostname;
	ops.max_recipients = in->conf.max_recipients;
	ops.max_size = in->conf.max_message_size;
	return smtpin_run(&ops);
}

/* sm_deliver - the default mode: one message on stdin. */
static int
sm_deliver(struct intake *in)
{
	struct linein src;
	char	 qid[SPOOL_QIDLEN + 1];
	int	 rc;

	linein_init(&src, STDIN_FILENO);
	src.dot = in->opts.ignore_dots ? DOT_NONE : DOT_ENDS;
	rc = intake_message(in, in->opts.sender, in->opts.rcpt,
	    in->opts.nrcpt, in->opts.extract, &src, qid, sizeof(qid));
	linein_free(&src);
	if (rc)
		msg_fatal(rc, "%s", err_str());
	return 0;
}

/* sm_verify - -bv: say how each address would be handled. */
static int
sm_verify(struct intake *in)
{
	size_t	 i;

	if (in->opts.nrcpt == 0)
		msg_fatal(EX_USAGE, "-bv: no addresses given");
	for (i = 0; i < in->opts.nrcpt; i++)
		printf("%s... deliverable: queued by sitemail for site %s, "
		    "routed by MX at delivery\n", in->opts.rcpt[i],
		    in->site.name);
	return 0;
}

/* main - sanitise, parse, identify, then run the requested mode. */
int
main(int argc, char **argv)
{
	static struct intake in;
	int	 privileged, rc;

	priv_sanitize();
	privileged = priv_setid();
	priv_caller(in.cwd, sizeof(in.cwd), in.exe, sizeof(in.exe));
	(void)log_open(argc > 0 ? argv[0] : "sendmail", "syslog");
	if ((rc = opts_parse(&in.opts, argc, argv)) != 0)
		msg_fatal(rc, "%s", err_str());
	if (in.opts.help || in.opts.version) {
		if (in.opts.help)
			opts_usage(stdout, msg_progname());
		else
			version_print(stdout, msg_progname());
		return 0;
	}
	if (in.opts.mode == MODE_SMTP)
		msg_quiet(1);
	sm_config(&in, privileged);
	switch (in.opts.mode) {
	case MODE_SMTP:
		rc = sm_smtp(&in);
		break;
	case MODE_LIST:
		rc = admin_mailq(&in.conf, &in.site,
		    priv_is_admin(getuid(), in.conf.user), stdout);
		break;
	case MODE_FLUSH:
		rc = qstate_flush_request(&in.conf, &in.site,
		    priv_is_admin(getuid(), in.conf.user),
		    in.opts.q_id, in.opts.q_domain, in.opts.q_sender);
		break;
	case MODE_NEWALIASES:
		rc = 0;		/* sitemail has no alias database */
		break;
	case MODE_VERIFY:
		rc = sm_verify(&in);
		break;
	default:
		rc = sm_deliver(&in);
	}
	if (rc && in.opts.mode != MODE_SMTP)
		msg_fatal(rc, "%s", err_str());
	if (in.bucket)
		bucket_close(in.bucket);
	if (in.qstate)
		qstate_close(in.qstate);
	return rc;
}
