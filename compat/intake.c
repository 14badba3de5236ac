/*
 * intake.c - the intake rules every submission path applies: sendmail(8)
 * (argv, -t, -bs) and the loopback SMTP listener share this code.
 *
 * One message: read the header block (bounded), collect and check the
 * recipients, fix the header (msgfix), apply the site's sender policy,
 * stream the body into a new spool file, get the site's bucket verdict and
 * commit the signed file (fsync + rename).  The caller's identity is fixed
 * before any of this (struct intake.site) and nothing in the message
 * changes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "compat/intake.h"
#include "compat/msgfix.h"
#include "queue/bucket.h"
#include "queue/policy.h"
#include "queue/verdict.h"
#include "spool/spool.h"
#include "spool/usage.h"
#include "util/buf.h"
#include "util/msg.h"

/* One message being taken in. */
struct job {
	struct headers hdr;
	struct addrlist rcpt;
	struct mboxlist mb;		/* the same recipients, parsed */
	struct buf first;		/* a body line headers_read gave back */
	char	*sender;		/* final envelope sender */
	char	 script[1024];		/* X-PHP-Originating-Script */
	struct spool_writer *w;
	struct timeval tv;
	enum bucket_verdict verdict;	/* what the bucket said */
	int	 charged;		/* sitemaild charged it (refund on failure) */
	char	 tokens[64];		/* for the log line */
	unsigned max_rcpt;		/* max_recipients */
};

/* intake_site - fix the caller's site (by uid) and its own address. */
int
intake_site(struct intake *in, uid_t uid)
{
	int	 rc;

	if ((rc = site_identify(in->conf, uid, &in->site)) != 0)
		return rc;
	return policy_site_address(&in->site, in->conf->hostname,
	    in->own_addr, sizeof(in->own_addr));
}

/* intake_close - forget the spool key. */
void
intake_close(struct intake *in)
{
	memset(in->key, 0, sizeof(in->key));
	in->have_key = 0;
}

/* intake_key - load the spool key once. */
static int
intake_key(struct intake *in)
{
	struct buf path;
	int	 rc = 0;

	if (in->have_key)
		return 0;
	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/spool.key", in->conf->dir) < 0)
		rc = err_set(EX_CONFIG, "config directory name too long");
	else if ((rc = spool_key_load(buf_str(&path), in->key)) == 0)
		in->have_key = 1;
	buf_free(&path);
	return rc;
}

/* job_free - release one message's state (aborting an uncommitted file). */
static void
job_free(struct job *j)
{
	if (j->w)
		spool_abort(j->w);
	headers_free(&j->hdr);
	addr_free(&j->rcpt);
	addr_mbox_free(&j->mb);
	buf_free(&j->first);
	free(j->sender);
}

/* job_clean - a copy of caller text fit for an error message. */
static const char *
job_clean(const char *s, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; s[i] && i + 1 < len; i++)
		out[i] = (unsigned char)s[i] < ' ' ||
		    (unsigned char)s[i] >= 0x7f ? '?' : s[i];
	out[i] = '\0';
	return out;
}

/* job_qualify_domain - qualify_domain, or the hostname. */
static const char *
job_qualify_domain(const struct intake *in)
{
	return *in->conf->qualify_domain ? in->conf->qualify_domain :
	    in->conf->hostname;
}

/* job_add_rcpt - add one qualified mailbox, once (case-insensitive). */
static int
job_add_rcpt(struct job *j, const struct mailbox *mb)
{
	char	 a[ADDR_MAILBOX_MAX + 1], **v;
	struct mailbox *m;
	size_t	 i;

	for (i = 0; i < j->mb.n; i++)
		if (addr_same(&j->mb.v[i], mb))
			return 0;
	if (j->rcpt.n >= j->max_rcpt)
		return err_set(EX_NOPERM, "too many recipients: more than %u "
		    "(max_recipients)", j->max_rcpt);
	if (addr_format(mb, a, sizeof(a)) != 0)
		return EX_USAGE;
	m = realloc(j->mb.v, (j->mb.n + 1) * sizeof(*m));
	if (m != NULL)
		j->mb.v = m;
	v = realloc(j->rcpt.v, (j->rcpt.n + 1) * sizeof(*v));
	if (v != NULL)
		j->rcpt.v = v;
	if (m == NULL || v == NULL || (v[j->rcpt.n] = strdup(a)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	m[j->mb.n++] = *mb;
	j->rcpt.n++;
	return 0;
}

/* job_add_list - the mailboxes of an alias or owner value; what is still
 * unqualified gets qualify_domain (an alias never expands twice). */
static int
job_add_list(struct intake *in, struct job *j, const char *value,
    const char *what)
{
	struct mboxlist l = { NULL, 0 };
	char	 c[256];
	size_t	 i;
	int	 rc;

	if (addr_parse_argv(value, ADDR_F_LOCAL, &l) != 0)
		return err_set(EX_CONFIG, "%s \"%s\": %s", what,
		    job_clean(value, c, sizeof(c)), err_str());
	for (i = rc = 0; i < l.n && rc == 0; i++) {
		addr_qualify(&l.v[i], job_qualify_domain(in));
		rc = job_add_rcpt(j, &l.v[i]);
	}
	addr_mbox_free(&l);
	return rc;
}

/* job_resolve - an unqualified recipient: [aliases], then the owner of
 * the site whose login it is, then LOGIN@qualify_domain. */
static int
job_resolve(struct intake *in, struct job *j, struct mailbox *mb)
{
	const char *alias;
	struct passwd *pw;
	struct site_id sid;

	if (*mb->domain)
		return job_add_rcpt(j, mb);
	if ((alias = conf_alias(in->conf, mb->local)) != NULL)
		return job_add_list(in, j, alias, "[aliases] value");
	if ((pw = getpwnam(mb->local)) != NULL &&
	    site_identify(in->conf, pw->pw_uid, &sid) == 0 &&
	    sid.conf != NULL && *sid.conf->owner)
		return job_add_list(in, j, sid.conf->owner, "site owner");
	addr_qualify(mb, job_qualify_domain(in));
	return job_add_rcpt(j, mb);
}

/* job_add_words - one argv (or RCPT, or header) recipient word, parsed
 * like Postfix: "a@x (Alice)", "a@x, b@y", "a@x b@y", groups. */
static int
job_add_words(struct intake *in, struct job *j, const char *word)
{
	struct mboxlist l = { NULL, 0 };
	char	 c[256];
	size_t	 i;
	int	 rc;

	if (addr_parse_argv(word, ADDR_F_LOCAL, &l) != 0)
		return err_set(EX_USAGE, "bad recipient address \"%s\": %s",
		    job_clean(word, c, sizeof(c)), err_str());
	for (i = rc = 0; i < l.n && rc == 0; i++)
		rc = job_resolve(in, j, &l.v[i]);
	addr_mbox_free(&l);
	return rc;
}

/* job_recipients - argv (or RCPT) recipients plus, with -t, the header's. */
static int
job_recipients(struct intake *in, struct job *j, char **rcpt, size_t n,
    int extract)
{
	struct addrlist hdr = { NULL, 0 };
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = job_add_words(in, j, rcpt[i]);
	if (rc == 0 && extract && (rc = msgfix_extract(&j->hdr, &hdr)) == 0)
		for (i = 0; i < hdr.n && rc == 0; i++)
			rc = job_add_words(in, j, hdr.v[i]);
	addr_free(&hdr);
	if (rc)
		return rc;
	if (j->rcpt.n == 0)
		return err_set(EX_USAGE, extract ?
		    "No recipient addresses found in message header" :
		    "no recipients given");
	return 0;
}

/* job_sender - the envelope sender: NULL (the site's own address), "" or
 * "<>" (null), else exactly one mailbox, qualified. */
static int
job_sender(struct intake *in, struct job *j, const char *sender)
{
	struct mboxlist l = { NULL, 0 };
	char	 a[ADDR_MAILBOX_MAX + 1], c[256];
	int	 rc = 0;

	if (sender == NULL)
		sender = in->own_addr;
	if (addr_parse_argv(sender, ADDR_F_LOCAL, &l) != 0)
		rc = err_set(EX_USAGE, "bad sender address \"%s\": %s",
		    job_clean(sender, c, sizeof(c)), err_str());
	else if (l.n > 1)
		rc = err_set(EX_USAGE, "more than one sender address in "
		    "\"%s\"", job_clean(sender, c, sizeof(c)));
	else if (l.n == 0)
		a[0] = '\0';
	else {
		addr_qualify(&l.v[0], job_qualify_domain(in));
		rc = addr_format(&l.v[0], a, sizeof(a)) ? EX_USAGE : 0;
	}
	addr_mbox_free(&l);
	if (rc == 0 && (j->sender = strdup(a)) == NULL)
		rc = err_set(EX_TEMPFAIL, "out of memory");
	return rc;
}

/* job_qualify_headers - From, Sender, Reply-To, To and Cc get
 * qualify_domain on their unqualified addresses. */
static int
job_qualify_headers(struct intake *in, struct job *j)
{
	static const char *const names[] = { "From", "Sender", "Reply-To",
	    "To", "Cc" };
	struct buf out;
	ssize_t	 i;
	size_t	 k;
	char	*v;
	int	 changed, rc = 0;

	buf_init(&out, HDR_BLOCK_MAX);
	for (k = 0; k < sizeof(names) / sizeof(names[0]) && rc == 0; k++)
		for (i = headers_find(&j->hdr, names[k], 0); i >= 0 && rc == 0;
		    i = headers_find(&j->hdr, names[k], (size_t)i + 1)) {
			if ((v = headers_value(&j->hdr, (size_t)i)) == NULL) {
				rc = err_set(EX_TEMPFAIL, "out of memory");
				break;
			}
			buf_reset(&out);
			if (addr_qualify_header(v, job_qualify_domain(in),
			    &out, &changed) == 0 && changed)
				rc = headers_set(&j->hdr, (size_t)i,
				    buf_str(&out));
			free(v);
		}
	buf_free(&out);
	return rc;
}

/* job_script - remember X-PHP-Originating-Script for the log. */
static void
job_script(struct job *j)
{
	ssize_t	 i = headers_find(&j->hdr, "X-PHP-Originating-Script", 0);
	char	*v;

	if (i < 0 || (v = headers_value(&j->hdr, (size_t)i)) == NULL)
		return;
	/* A claim of the caller's: cleaned of control characters. */
	(void)job_clean(v, j->script, sizeof(j->script));
	free(v);
}

/* job_header - fix the header block and apply the sender policy. */
static int
job_header(struct intake *in, struct job *j, const char *sender)
{
	struct msgfix_info fi;
	struct buf note;
	int	 rc;

	if ((rc = job_sender(in, j, sender)) != 0)
		return rc;
	job_script(j);
	msgfix_hide(&j->hdr);
	if ((rc = job_qualify_headers(in, j)) != 0)
		return rc;
	buf_init(&note, 1024);
	rc = policy_apply(&in->site, in->conf->hostname, &j->sender, &j->hdr,
	    &note);
	if (rc == 0 && note.len)
		log_info("%s: %s", spool_writer_qid(j->w), buf_str(&note));
	buf_free(&note);
	if (rc)
		return rc;
	memset(&fi, 0, sizeof(fi));
	fi.qid = spool_writer_qid(j->w);
	fi.hostname = in->conf->hostname;
	fi.login = in->site.login;
	fi.uid = in->site.uid;
	fi.site = in->site.name;
	fi.sender = *j->sender ? j->sender : in->own_addr;
	fi.fullname = in->fullname;
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

/* job_write_nocr - a piece of a body line; a bare CR becomes a blank. */
static int
job_write_nocr(struct job *j, const char *p, size_t n)
{
	const char *cr;
	int	 rc = 0;

	while (rc == 0 && (cr = memchr(p, '\r', n)) != NULL) {
		if ((rc = spool_write(j->w, p, (size_t)(cr - p))) == 0)
			rc = spool_write(j->w, " ", 1);
		n -= (size_t)(cr - p) + 1;
		p = cr + 1;
	}
	return rc ? rc : spool_write(j->w, p, n);
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
		else if ((rc = job_write_nocr(j, p, n)) == 0 && eol)
			rc = spool_write(j->w, "\r\n", 2);
		if (rc == 0 && spool_content_size(j->w) >
		    in->conf->max_message_size)
			rc = err_set(EX_DATAERR, "message is larger than the "
			    "limit of %zu bytes (max_message_size)",
			    in->conf->max_message_size);
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

/* job_field - caller text for the envelope and the log, cleaned in
 * place (job_clean); an empty value becomes "?". */
static char *
job_field(char *s, size_t len)
{
	(void)job_clean(s, s, len);
	if (*s == '\0')
		snprintf(s, len, "?");
	return s;
}

/* job_verdict - ask sitemaild to charge the site's bucket; fills the hold
 * time and flags of the envelope.  With no answer in time the message is
 * committed uncharged and the runner charges it at pickup. */
static int
job_verdict(struct intake *in, struct job *j, struct envelope *env,
    struct verdict_ans *ans)
{
	struct verdict_req req;
	int	 rc;

	memset(&req, 0, sizeof(req));
	req.uid = in->site.uid;
	req.qid = env->qid;
	req.nrcpt = (unsigned)j->rcpt.n;
	req.size = spool_content_size(j->w);
	req.sec = j->tv.tv_sec;
	req.usec = j->tv.tv_usec;
	rc = verdict_charge(in->conf->spool_dir, &req, in->trusted, ans,
	    VERDICT_CHARGE_MS);
	if (rc == EX_UNAVAILABLE) {
		env->flags |= SPOOL_F_NOVERDICT;
		j->verdict = BUCKET_SEND;
		j->charged = 0;
		return 0;
	}
	if (rc)
		return rc;
	j->verdict = ans->verdict;
	j->charged = ans->verdict != BUCKET_REFUSED;
	switch (ans->verdict) {
	case BUCKET_REFUSED:
		return err_set(EX_TEMPFAIL, "site %s is frozen: more than %.0f "
		    "recipients are waiting (backlog limit); mail is not "
		    "accepted until an admin runs 'sitemail thaw %s'",
		    ans->site, ans->limit, ans->site);
	case BUCKET_HOLD:
		env->hold = (time_t)ans->hold + 1;
		break;
	case BUCKET_FROZEN_HOLD:
		env->hold = 0;
		env->flags |= SPOOL_F_UNCHARGED;
		break;
	default:
		env->hold = 0;
	}
	return 0;
}

/* job_commit - fill the envelope, get the verdict and commit. */
static int
job_commit(struct intake *in, struct job *j, char *qid, size_t qidlen)
{
	struct envelope env;
	struct verdict_ans ans;
	uint64_t size = spool_content_size(j->w);
	int	 rc;

	memset(&env, 0, sizeof(env));
	memset(&ans, 0, sizeof(ans));
	env.version = SPOOL_VERSION;
	env.site = in->site.name;
	env.uid = in->site.uid;
	env.login = in->site.login;
	env.sender = j->sender;
	env.time = j->tv.tv_sec;
	env.time_usec = j->tv.tv_usec;
	env.cwd = job_field(in->cwd, sizeof(in->cwd));
	env.exe = job_field(in->exe, sizeof(in->exe));
	env.script = j->script;
	env.origdst = spool_valid_field(in->origdst) ? in->origdst : "?";
	env.rcpt = j->rcpt.v;
	env.nrcpt = j->rcpt.n;
	snprintf(env.qid, sizeof(env.qid), "%s", spool_writer_qid(j->w));
	if ((rc = job_verdict(in, j, &env, &ans)) != 0)
		return rc;
	snprintf(qid, qidlen, "%s", env.qid);
	rc = spool_commit(j->w, &env);
	j->w = NULL;
	if (rc) {
		if (j->charged)
			(void)verdict_refund(in->conf->spool_dir, env.qid,
			    VERDICT_CHARGE_MS);
		return rc;
	}
	if (env.flags & SPOOL_F_NOVERDICT)
		snprintf(j->tokens, sizeof(j->tokens), "verdict=none");
	else
		snprintf(j->tokens, sizeof(j->tokens), "tokens=%.1f%s",
		    ans.tokens, env.hold ? " status=held" : "");
	log_info("%s: site=%s uid=%lu login=%s cwd=%s exe=%s script=%s "
	    "%s%s%sfrom=<%s> size=%llu nrcpt=%zu %s", qid, env.site,
	    (unsigned long)env.uid, env.login, env.cwd, env.exe,
	    *env.script ? env.script : "-", *env.origdst ? "origdst=" : "",
	    env.origdst, *env.origdst ? " " : "", env.sender,
	    (unsigned long long)size, env.nrcpt, j->tokens);
	return 0;
}

/* intake_message - take one message from src; on 0, qid names it. */
int
intake_message(struct intake *in, const char *sender, char **rcpt,
    size_t nrcpt, int extract, struct linein *src, char *qid, size_t qidlen)
{
	struct job j;
	int	 rc;

	memset(&j, 0, sizeof(j));
	j.max_rcpt = in->conf->max_recipients;
	buf_init(&j.first, HDR_FIRST_MAX);
	gettimeofday(&j.tv, NULL);
	rc = usage_check(in->conf->spool_dir, in->site.name,
	    in->site.limits.spool_quota, in->conf->min_free_space);
	if (rc == 0 && (rc = intake_key(in)) == 0)
		rc = spool_create(&j.w, in->conf->spool_dir, in->key);
	if (rc == 0)
		rc = headers_read(&j.hdr, src, &j.first);
	if (rc == 0)
		rc = job_recipients(in, &j, rcpt, nrcpt, extract);
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

/* intake_recipients - the envelope recipients argv words give (parsed,
 * aliased, qualified and deduplicated as intake_message does), for -bv. */
int
intake_recipients(struct intake *in, char **rcpt, size_t nrcpt,
    struct addrlist *out)
{
	struct job j;
	int	 rc;

	memset(&j, 0, sizeof(j));
	j.max_rcpt = in->conf->max_recipients;
	if ((rc = job_recipients(in, &j, rcpt, nrcpt, 0)) == 0) {
		*out = j.rcpt;
		memset(&j.rcpt, 0, sizeof(j.rcpt));
	}
	job_free(&j);
	return rc;
}
