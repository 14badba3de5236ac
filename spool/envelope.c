/*
 * envelope.c - the envelope text of a spool file: format and strict parse.
 *
 * The envelope is a sequence of lines "KEY SP VALUE LF".  KEY is one of
 * the names below; VALUE is every byte after the first space up to the
 * LF, verbatim (it may be empty and may hold spaces, never CR, LF or NUL).
 * The writer emits, in this order:
 *
 *	qid QID			20 lowercase hex digits (spool_qid_valid)
 *	site NAME		non-empty
 *	uid N			decimal, 0..4294967294
 *	login NAME
 *	sender ADDR		empty for the null sender
 *	time SECS.USEC		decimal seconds, '.', exactly 6 digits
 *	flags N			decimal, only SPOOL_F_* bits
 *	hold SECS		decimal, 0 = not held
 *	cwd PATH
 *	exe PATH
 *	script TEXT
 *	origdst HOST:PORT	optional, only when not empty: the original
 *				destination of a connection the listener
 *				took in (older files have none)
 *	rcpt ADDR		one line per recipient, at least one, non-empty
 *
 * The parser is strict: every line must end in LF, keys are exact
 * (lower case), every key but rcpt appears at most once, qid, site, uid,
 * sender and time are required (the others default to "" or 0), numbers
 * are canonical decimal (no sign, no spaces, no leading zeros), and at
 * least one rcpt line is present.  Anything else is rejected.  The order
 * of lines is not significant to the parser.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool/spool.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/msg.h"

/* Single-valued keys, in the order the writer emits them. */
enum env_key {
	K_QID, K_SITE, K_UID, K_LOGIN, K_SENDER, K_TIME, K_FLAGS, K_HOLD,
	K_CWD, K_EXE, K_SCRIPT, K_ORIGDST, K_RCPT, K_NKEYS
};

static const char *const env_keys[K_NKEYS] = {
	"qid", "site", "uid", "login", "sender", "time", "flags", "hold",
	"cwd", "exe", "script", "origdst", "rcpt"
};

#define ENV_REQUIRED	((1u << K_QID) | (1u << K_SITE) | (1u << K_UID) | \
			 (1u << K_SENDER) | (1u << K_TIME))
#define ENV_FLAGS_KNOWN	(SPOOL_F_BOUNCE | SPOOL_F_ALERT | SPOOL_F_UNCHARGED | \
			 SPOOL_F_NOVERDICT)
#define ENV_RCPT_MAX	(1u << 20)	/* far above any max_recipients */

/* spool_valid_field - 1 if s holds no CR, LF or NUL (envelope-safe). */
int
spool_valid_field(const char *s)
{
	if (s == NULL)
		return 0;
	return strpbrk(s, "\r\n") == NULL;
}

/* env_str - a field for writing: NULL counts as "". */
static const char *
env_str(const char *s)
{
	return s ? s : "";
}

/* spool_envelope_format - append the envelope text of env to out. */
int
spool_envelope_format(const struct envelope *env, struct buf *out)
{
	const char *opt[] = { env->login, env->sender, env->cwd, env->exe,
	    env->script, env->origdst };
	size_t	 i;
	int	 rc;

	if (!spool_qid_valid(env->qid))
		return err_set(EX_SOFTWARE, "envelope without a valid qid");
	if (env->site == NULL || *env->site == '\0' ||
	    !spool_valid_field(env->site))
		return err_set(EX_DATAERR, "bad site name in envelope");
	for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (!spool_valid_field(env_str(opt[i])))
			return err_set(EX_DATAERR,
			    "envelope field holds CR or LF");
	if (env->nrcpt == 0)
		return err_set(EX_DATAERR, "no recipients");
	if (env->nrcpt > ENV_RCPT_MAX)
		return err_set(EX_DATAERR, "too many recipients");
	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i] == NULL || *env->rcpt[i] == '\0' ||
		    !spool_valid_field(env->rcpt[i]))
			return err_set(EX_DATAERR,
			    "bad recipient address in envelope");
	if (env->time < 0 || env->time_usec < 0 || env->time_usec > 999999 ||
	    env->hold < 0 || (env->flags & ~ENV_FLAGS_KNOWN) ||
	    env->uid == (uid_t)-1)
		return err_set(EX_SOFTWARE, "bad number in envelope");

	rc = buf_printf(out, "qid %s\nsite %s\nuid %lu\nlogin %s\n"
	    "sender %s\ntime %lld.%06ld\nflags %u\nhold %lld\ncwd %s\n"
	    "exe %s\nscript %s\n", env->qid, env->site,
	    (unsigned long)env->uid, env_str(env->login),
	    env_str(env->sender), (long long)env->time, env->time_usec,
	    env->flags, (long long)env->hold, env_str(env->cwd),
	    env_str(env->exe), env_str(env->script));
	if (rc == 0 && *env_str(env->origdst))
		rc = buf_printf(out, "origdst %s\n", env->origdst);
	for (i = 0; rc == 0 && i < env->nrcpt; i++)
		rc = buf_printf(out, "rcpt %s\n", env->rcpt[i]);
	if (rc < 0)
		return err_set(EX_TEMPFAIL, "envelope too large: %s",
		    strerror(errno));
	return 0;
}

/* spool_number - canonical decimal text of length n (no sign, no leading
 * zero), at most max; -1 if bad. */
int
spool_number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	return conf_parse_u64(s, n, max, out);
}

/* env_time - parse "SECS.USEC" with exactly six digits after the dot. */
static int
env_time(const char *s, size_t n, struct envelope *env)
{
	const char *dot = memchr(s, '.', n);
	uint64_t secs, usec;

	if (dot == NULL || (size_t)(s + n - dot - 1) != 6)
		return -1;
	if (spool_number(s, (size_t)(dot - s), (uint64_t)INT64_MAX,
	    &secs) < 0)
		return -1;
	/* Six digits, leading zeros allowed here: check them by hand. */
	usec = 0;
	for (dot++; dot < s + n; dot++) {
		if (*dot < '0' || *dot > '9')
			return -1;
		usec = usec * 10 + (unsigned)(*dot - '0');
	}
	env->time = (time_t)secs;
	env->time_usec = (long)usec;
	return 0;
}

/* env_strdup - a NUL-terminated copy of n bytes. */
static char *
env_strdup(const char *s, size_t n)
{
	char	*p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* env_add_rcpt - append one recipient, growing the array geometrically. */
static int
env_add_rcpt(struct envelope *env, size_t *cap, const char *v, size_t n)
{
	char	**nv;
	size_t	 ncap;

	if (env->nrcpt == *cap) {
		ncap = *cap ? *cap * 2 : 8;
		if ((nv = reallocarray(env->rcpt, ncap, sizeof(*nv))) == NULL)
			return -1;
		env->rcpt = nv;
		*cap = ncap;
	}
	if ((env->rcpt[env->nrcpt] = env_strdup(v, n)) == NULL)
		return -1;
	env->nrcpt++;
	return 0;
}

/* env_key_find - the key index of the n bytes at s, or -1. */
static int
env_key_find(const char *s, size_t n)
{
	int	 k;

	for (k = 0; k < K_NKEYS; k++)
		if (strlen(env_keys[k]) == n && memcmp(env_keys[k], s, n) == 0)
			return k;
	return -1;
}

/* env_set_string - store a string value into the field of key k. */
static int
env_set_string(struct envelope *env, int k, const char *v, size_t n)
{
	char	**field;

	switch (k) {
	case K_SITE:	field = &env->site; break;
	case K_LOGIN:	field = &env->login; break;
	case K_SENDER:	field = &env->sender; break;
	case K_CWD:	field = &env->cwd; break;
	case K_EXE:	field = &env->exe; break;
	case K_ORIGDST:	field = &env->origdst; break;
	default:	field = &env->script; break;
	}
	return (*field = env_strdup(v, n)) == NULL ? -1 : 0;
}

/* env_line - apply one "key value" line (without its LF). */
static int
env_line(struct envelope *env, const char *s, size_t n, unsigned *seen,
    size_t *cap, unsigned lineno)
{
	const char *sp = memchr(s, ' ', n);
	const char *v;
	size_t	 vn;
	uint64_t num;
	int	 k;

	if (sp == NULL)
		return err_set(EX_DATAERR, "envelope line %u: no value",
		    lineno);
	if ((k = env_key_find(s, (size_t)(sp - s))) < 0)
		return err_set(EX_DATAERR, "envelope line %u: unknown key",
		    lineno);
	v = sp + 1;
	vn = (size_t)(s + n - v);
	if (k == K_RCPT) {
		if (vn == 0)
			return err_set(EX_DATAERR,
			    "envelope line %u: empty recipient", lineno);
		if (env->nrcpt >= ENV_RCPT_MAX)
			return err_set(EX_DATAERR,
			    "envelope: too many recipients");
		if (env_add_rcpt(env, cap, v, vn) < 0)
			return err_set(EX_TEMPFAIL, "out of memory");
		return 0;
	}
	if (*seen & (1u << k))
		return err_set(EX_DATAERR, "envelope line %u: duplicate %s",
		    lineno, env_keys[k]);
	*seen |= 1u << k;
	switch (k) {
	case K_QID:
		if (vn != SPOOL_QIDLEN)
			break;
		memcpy(env->qid, v, vn);
		env->qid[vn] = '\0';
		if (spool_qid_valid(env->qid))
			return 0;
		break;
	case K_UID:
		if (spool_number(v, vn, (uid_t)-1 - 1ULL, &num) < 0)
			break;
		env->uid = (uid_t)num;
		return 0;
	case K_TIME:
		if (env_time(v, vn, env) < 0)
			break;
		return 0;
	case K_FLAGS:
		if (spool_number(v, vn, UINT_MAX, &num) < 0 ||
		    (num & ~(uint64_t)ENV_FLAGS_KNOWN))
			break;
		env->flags = (unsigned)num;
		return 0;
	case K_HOLD:
		if (spool_number(v, vn, (uint64_t)INT64_MAX, &num) < 0)
			break;
		env->hold = (time_t)num;
		return 0;
	case K_SITE:
		if (vn == 0)
			break;
		/* FALLTHROUGH */
	default:
		if (env_set_string(env, k, v, vn) < 0)
			return err_set(EX_TEMPFAIL, "out of memory");
		return 0;
	}
	return err_set(EX_DATAERR, "envelope line %u: bad value for %s",
	    lineno, env_keys[k]);
}

/* env_defaults - fill the optional string fields left unset with "". */
static int
env_defaults(struct envelope *env)
{
	char	**opt[] = { &env->login, &env->cwd, &env->exe, &env->script,
	    &env->origdst };
	size_t	 i;

	for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (*opt[i] == NULL && (*opt[i] = calloc(1, 1)) == NULL)
			return err_set(EX_TEMPFAIL, "out of memory");
	return 0;
}

/* spool_envelope_parse - strictly parse len bytes of envelope text. */
int
spool_envelope_parse(const char *text, size_t len, struct envelope *env)
{
	const char *p = text, *end = text + len, *nl;
	unsigned seen = 0, lineno = 0;
	size_t	 cap = 0;
	int	 rc;

	memset(env, 0, sizeof(*env));
	env->version = SPOOL_VERSION;
	if (len == 0 || text[len - 1] != '\n') {
		rc = err_set(EX_DATAERR, "envelope does not end in a newline");
		goto fail;
	}
	if (memchr(text, '\0', len) != NULL || memchr(text, '\r', len)) {
		rc = err_set(EX_DATAERR, "envelope holds NUL or CR");
		goto fail;
	}
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((rc = env_line(env, p, (size_t)(nl - p), &seen, &cap,
		    ++lineno)) != 0)
			goto fail;
	}
	if ((seen & ENV_REQUIRED) != ENV_REQUIRED) {
		rc = err_set(EX_DATAERR, "envelope lacks a required key");
		goto fail;
	}
	if (env->nrcpt == 0) {
		rc = err_set(EX_DATAERR, "envelope has no recipients");
		goto fail;
	}
	if ((rc = env_defaults(env)) != 0)
		goto fail;
	return 0;
fail:
	spool_envelope_free(env);
	return rc;
}

/* spool_envelope_free - free the strings of an envelope. */
void
spool_envelope_free(struct envelope *env)
{
	size_t	 i;

	free(env->site);
	free(env->login);
	free(env->sender);
	free(env->cwd);
	free(env->exe);
	free(env->script);
	free(env->origdst);
	for (i = 0; i < env->nrcpt; i++)
		free(env->rcpt[i]);
	free(env->rcpt);
	env->site = env->login = env->sender = NULL;
	env->cwd = env->exe = env->script = env->origdst = NULL;
	env->rcpt = NULL;
	env->nrcpt = 0;
}
