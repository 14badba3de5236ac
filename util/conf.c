/*
 * conf.c - load the sitemail configuration (INI, parsed with inih).
 *
 * Files, in this order: DIR/sitemail.conf, then DIR/sites.d/NAME.conf in
 * strcmp() order of NAME (names starting with '.' are skipped).  A missing
 * file or directory means "nothing to add"; an unreadable one is an error.
 * Later values override earlier ones; a [site NAME] section may appear in
 * any file, but only once; a sites.d file holds [site] sections only.  A
 * broken sites.d file (unreadable, a syntax error, a bad value, a site or
 * user defined twice) is left out as a whole and its error kept in
 * conf.broken: it affects only its own sites (shared/DESIGN.md
 * "Configuration"); util/confidx.c supplies their last good text.  An
 * error in sitemail.conf fails the load.  A site's rate, burst, backlog and from_policy
 * start from [limits] (resolved after every file is read, so [limits] may
 * come after a site).
 *
 * Syntax (inih, as packaged by Debian, with multi-line values turned off):
 * "[section]" lines, "key = value" lines (whitespace around both is
 * stripped, "key: value" works too), comments from ';' or '#' at the start
 * of a line, and from " ;" (whitespace, semicolon) inside a line.  A value
 * cannot hold " ;".  Lines are at most CONF_LINE_MAX bytes; NUL bytes are
 * refused.  This file reads each line itself (inih's reader callback) so it
 * knows the line number of every key, tracks sections itself (inih keeps
 * only 50 bytes of a section name, too short for a domain), and sees
 * empty sections.  Every problem is EX_CONFIG with err_str() =
 * "FILE:LINE: what is wrong".
 *
 * Values: durations N, Ns, Nm, Nh, Nd (seconds); sizes N, NK, NM, NG
 * (powers of 1024); rates N/s, N/m, N/h, N/d, and for "rate" a list of
 * them (one per unit); ratios N% (whole, 0 to 100); booleans yes/no,
 * true/false, 1/0; lists separated by commas and/or white space.
 *
 * Cost: this runs on every sendmail call, so it does no DNS and no large
 * allocation.  The default hostname is gethostname(); only when that has
 * no dot are /etc/mailname and then /etc/hostname tried for a name that
 * does.  getaddrinfo() is never called: set hostname= for a proper FQDN.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "util/buf.h"
#include "util/conf.h"
#include "util/confidx.h"
#include "util/msg.h"

#ifndef SM_SYSCONFDIR
#define SM_SYSCONFDIR	"/etc/sitemail"
#endif
#ifndef SM_SPOOLDIR
#define SM_SPOOLDIR	"/var/spool/sitemail"
#endif
#ifndef SM_USER
#define SM_USER		"sitemail"
#endif

#define CONF_LINE_MAX	4096		/* bytes per line, LF included */
#define CONF_LIST_MAX	10000		/* items per list */
#define CONF_SITES_MAX	100000
#define CONF_NAME_MAX	255		/* site names (SITE_NAME_MAX) */
#define CONF_COUNT_MAX	1000000000ULL
#define CONF_DURATION_MAX 2147483647L	/* 68 years */
#define CONF_FILES_MAX	10000		/* files in sites.d */

enum conf_sect {
	S_NONE, S_MAIN, S_DNS, S_LOCAL, S_SMARTHOST, S_LIMITS, S_DKIM, S_SMTPD,
	S_FIREWALL, S_NOTIFY, S_ALIASES, S_SITE
};

static const char *const conf_sect_names[] = {
	"", "main", "dns", "local", "smarthost", "limits", "dkim", "smtpd",
	"firewall", "notify", "aliases", "site"
};

/* Value types, each with its own parser and "want ..." hint. */
enum conf_type {
	T_STRING, T_HOST, T_PATH, T_OPTPATH, T_USER, T_LOG, T_URL,
	T_URLS, T_LIST, T_USERS, T_SIZE, T_DURATION, T_RECIPIENTS,
	T_CONNECTIONS, T_BOOL, T_RATE, T_BURST, T_COUNT, T_POLICY,
	T_RATIO, T_PORT, T_PORTS, T_BLOCK, T_AUTH, T_WEBHOOK
};

struct conf_key {
	enum conf_sect sect;		/* S_LIMITS keys also apply to sites */
	const char *name;
	enum conf_type type;
	size_t	 off;			/* in struct conf, or conf_site */
};

#define C(f)	offsetof(struct conf, f)
#define L(f)	offsetof(struct conf_limits, f)
#define SI(f)	offsetof(struct conf_site, f)

static const struct conf_key conf_keys[] = {
	{ S_MAIN, "hostname", T_HOST, C(hostname) },
	{ S_MAIN, "spool_dir", T_PATH, C(spool_dir) },
	{ S_MAIN, "user", T_USER, C(user) },
	{ S_MAIN, "max_message_size", T_SIZE, C(max_message_size) },
	{ S_MAIN, "max_recipients", T_RECIPIENTS, C(max_recipients) },
	{ S_MAIN, "min_free_space", T_SIZE, C(min_free_space) },
	{ S_MAIN, "queue_lifetime", T_DURATION, C(queue_lifetime) },
	{ S_MAIN, "retry_min", T_DURATION, C(retry_min) },
	{ S_MAIN, "retry_max", T_DURATION, C(retry_max) },
	{ S_MAIN, "log", T_LOG, C(log) },
	{ S_MAIN, "alert_to", T_STRING, C(alert_to) },
	{ S_MAIN, "qualify_domain", T_STRING, C(qualify_domain) },
	{ S_MAIN, "delay_warning", T_DURATION, C(delay_warning) },
	{ S_DNS, "servers", T_LIST, C(dns_servers) },
	{ S_DNS, "timeout", T_DURATION, C(dns_timeout) },
	{ S_DNS, "local_addresses", T_LIST, C(local_addresses) },
	{ S_DNS, "local_mx", T_LIST, C(local_mx) },
	{ S_LOCAL, "transport", T_URL, C(local_transport) },
	{ S_SMARTHOST, "url", T_URL, C(smarthost_url) },
	{ S_SMARTHOST, "fallback", T_URLS, C(smarthost_fallback) },
	{ S_SMARTHOST, "tls_verify", T_BOOL, C(tls_verify) },
	{ S_SMARTHOST, "ca_file", T_OPTPATH, C(ca_file) },
	{ S_SMARTHOST, "username", T_STRING, C(smarthost_username) },
	{ S_SMARTHOST, "password_file", T_OPTPATH,
	    C(smarthost_password_file) },
	{ S_SMARTHOST, "connections", T_CONNECTIONS, C(connections) },
	{ S_SMARTHOST, "allow_plaintext", T_BOOL, C(allow_plaintext) },
	{ S_SMARTHOST, "site_connections", T_CONNECTIONS, C(site_connections) },
	{ S_SMARTHOST, "connect_timeout", T_DURATION, C(connect_timeout) },
	{ S_SMARTHOST, "greeting_timeout", T_DURATION, C(greeting_timeout) },
	{ S_SMARTHOST, "command_timeout", T_DURATION, C(command_timeout) },
	{ S_SMARTHOST, "data_timeout", T_DURATION, C(data_timeout) },
	{ S_SMARTHOST, "soft_bounce", T_BOOL, C(soft_bounce) },
	{ S_LIMITS, "rate", T_RATE, L(rates) },
	{ S_LIMITS, "burst", T_BURST, L(burst) },
	{ S_LIMITS, "backlog", T_COUNT, L(backlog) },
	{ S_LIMITS, "from_policy", T_POLICY, L(from_policy) },
	{ S_LIMITS, "spool_quota", T_SIZE, L(spool_quota) },
	{ S_LIMITS, "max_fail_ratio", T_RATIO, L(max_fail_ratio) },
	{ S_LIMITS, "min_fail_count", T_COUNT, L(min_fail_count) },
	{ S_DKIM, "keys", T_PATH, C(dkim_keys) },
	{ S_DKIM, "selector", T_HOST, C(dkim_selector) },
	{ S_SITE, "users", T_USERS, SI(users) },
	{ S_SITE, "domains", T_LIST, SI(domains) },
	{ S_SITE, "smarthost_username", T_STRING, SI(smarthost_username) },
	{ S_SITE, "smarthost_password_file", T_OPTPATH,
	    SI(smarthost_password_file) },
	{ S_SITE, "dkim", T_BOOL, SI(dkim) },
	{ S_SITE, "dkim_subdomains", T_BOOL, SI(dkim_subdomains) },
	{ S_SITE, "owner", T_STRING, SI(owner) },
};

#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))
_Static_assert(CONF_NKEYS <= 64, "per-site key mask is 64 bits");

/* [smtpd] and [firewall]: global only, so outside the per-site mask. */
static const struct conf_key conf_keys_net[] = {
	{ S_SMTPD, "listen", T_LIST, C(smtpd.listen) },
	{ S_SMTPD, "redirect_port", T_PORT, C(smtpd.redirect_port) },
	{ S_SMTPD, "max_connections_per_site", T_CONNECTIONS,
	    C(smtpd.max_per_site) },
	{ S_SMTPD, "timeout", T_DURATION, C(smtpd.timeout) },
	{ S_SMTPD, "auth", T_AUTH, C(smtpd.auth_accept) },
	{ S_SMTPD, "tls_cert", T_OPTPATH, C(smtpd.tls_cert) },
	{ S_SMTPD, "tls_key", T_OPTPATH, C(smtpd.tls_key) },
	{ S_FIREWALL, "redirect_ports", T_PORTS, C(firewall.redirect_ports) },
	{ S_FIREWALL, "block_ports", T_BLOCK, C(firewall.block_ports) },
	{ S_FIREWALL, "exempt_users", T_USERS, C(firewall.exempt_users) },
	{ S_NOTIFY, "webhook", T_WEBHOOK, C(notify.webhook) },
	{ S_NOTIFY, "metrics", T_OPTPATH, C(notify.metrics) },
	{ S_NOTIFY, "interval", T_DURATION, C(notify.interval) },
};

/* Loader state, one per conf_load() call. */
struct conf_ctx {
	struct conf *conf;
	const char *file;		/* the file being read */
	int	 fd;			/* the file being read */
	const char *mem;		/* or its text, when mem != NULL */
	size_t	 memlen;
	int	 in_sites_d;		/* only [site] sections allowed */
	int	 ioerr;			/* errno of a read error */
	size_t	 rpos, rlen;		/* read buffer position and fill */
	int	 lineno;		/* line being handled */
	int	 status;		/* first error, 0 if none */
	enum conf_sect sect;
	size_t	 site;			/* index when sect == S_SITE */
	uint64_t *set;			/* per site: limits keys given */
	int	*users_line;		/* per site: line of users= */
	size_t	 cap;			/* allocated sites */
	char	 retry_at[512];		/* FILE:LINE of the last retry_* */
	char	 main_path[PATH_MAX];	/* DIR/sitemail.conf */
	size_t	*hash;			/* site index + 1 by name, 0 = free */
	size_t	 hash_size;		/* a power of two, or 0 */
	char	 line[CONF_LINE_MAX + 1];
	unsigned char rbuf[8192];
};

/* conf_error - record the first error as "FILE:LINE: text". */
static int
conf_error(struct conf_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
conf_error(struct conf_ctx *ctx, const char *fmt, ...)
{
	char	 text[768];
	va_list	 ap;

	if (ctx->status)
		return ctx->status;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ctx->status = err_set(EX_CONFIG, "%s:%d: %s", ctx->file, ctx->lineno,
	    text);
	return ctx->status;
}

/* conf_default_dir - the compiled-in $(SYSCONFDIR)/sitemail. */
const char *
conf_default_dir(void)
{
	return SM_SYSCONFDIR;
}

/* Value parsers. */

/* conf_parse_u64 - decimal digits only, at most max; -1 if bad. */
int
conf_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t	 i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* conf_parse_duration - "90", "30s", "5m", "1h", "5d" to seconds; -1 if
 * bad or above 2^31-1 seconds. */
long
conf_parse_duration(const char *s)
{
	size_t	 n = strlen(s);
	uint64_t v, mult = 1;

	if (n > 0) {
		switch (s[n - 1]) {
		case 's': mult = 1; n--; break;
		case 'm': mult = 60; n--; break;
		case 'h': mult = 3600; n--; break;
		case 'd': mult = 86400; n--; break;
		}
	}
	if (conf_parse_u64(s, n, CONF_DURATION_MAX / mult, &v) < 0)
		return -1;
	return (long)(v * mult);
}

/* conf_parse_size - "25M" to bytes (K, M, G are powers of 1024, either
 * case); 0 on success, -1 with errno EINVAL (garbage) or ERANGE. */
int
conf_parse_size(const char *s, size_t *out)
{
	size_t	 n = strlen(s);
	uint64_t v, mult = 1;
	const char *d;

	if (n > 0 && (d = strchr("kKmMgG", s[n - 1])) != NULL) {
		mult = 1ULL << (10 * (1 + (d - "kKmMgG") / 2));
		n--;
	}
	if (n == 0 || strspn(s, "0123456789") != n) {
		errno = EINVAL;
		return -1;
	}
	if (conf_parse_u64(s, n, SIZE_MAX / mult, &v) < 0) {
		errno = ERANGE;
		return -1;
	}
	*out = (size_t)(v * mult);
	return 0;
}

/* conf_rate_one - the len bytes "N/u" at s to N and the unit's seconds;
 * -1 if bad.  N is a whole number up to 10^9. */
static int
conf_rate_one(const char *s, size_t len, double *count, double *period)
{
	const char *slash = memchr(s, '/', len);
	uint64_t n;
	double	 per;

	if (slash == NULL || (size_t)(slash - s) + 2 != len)
		return -1;
	switch (slash[1]) {
	case 's': per = 1; break;
	case 'm': per = 60; break;
	case 'h': per = 3600; break;
	case 'd': per = 86400; break;
	default: return -1;
	}
	if (conf_parse_u64(s, (size_t)(slash - s), CONF_COUNT_MAX, &n) < 0)
		return -1;
	*count = (double)n;
	*period = per;
	return 0;
}

/* conf_parse_rate - "100/h" to tokens per second; -1 if bad.  N is a
 * whole number up to 10^9; 0 is allowed (the site never refills). */
double
conf_parse_rate(const char *s)
{
	double	 n, per;

	if (conf_rate_one(s, strlen(s), &n, &per) < 0)
		return -1;
	return n / per;
}

/* conf_rates_set1 - a list of one rate. */
void
conf_rates_set1(struct conf_rates *r, double count, double period)
{
	memset(r, 0, sizeof(*r));
	r->n = 1;
	r->count[0] = count;
	r->period[0] = period;
}

/* conf_rates_insert - add count/period to r in period order; -1 when the
 * unit is there already or the list is full. */
static int
conf_rates_insert(struct conf_rates *r, double count, double period)
{
	unsigned i, j;

	if (r->n == CONF_RATES_MAX)
		return -1;
	for (i = 0; i < r->n && r->period[i] < period; i++)
		;
	if (i < r->n && r->period[i] == period)
		return -1;
	for (j = r->n; j > i; j--) {
		r->count[j] = r->count[j - 1];
		r->period[j] = r->period[j - 1];
	}
	r->count[i] = count;
	r->period[i] = period;
	r->n++;
	return 0;
}

/* conf_parse_rates - a rate list into *out, sorted by period. */
int
conf_parse_rates(const char *s, struct conf_rates *out)
{
	static const char sep[] = ", \t";
	struct conf_rates r;
	double	 n, per;
	size_t	 len;
	unsigned i;

	memset(&r, 0, sizeof(r));
	for (s += strspn(s, sep); *s != '\0'; s += strspn(s, sep)) {
		len = strcspn(s, sep);
		if (conf_rate_one(s, len, &n, &per) < 0 ||
		    conf_rates_insert(&r, n, per) < 0)
			return -1;
		s += len;
	}
	for (i = 0; r.n > 1 && i < r.n; i++)
		if (r.count[i] < 1)
			return -1;	/* a 0/x bucket in a list: never */
	if (r.n == 0)
		return -1;
	*out = r;
	return 0;
}

/* conf_parse_ratio - "50%" (whole, 0 to 100) to 0.5; -1 if bad. */
static double
conf_parse_ratio(const char *s)
{
	size_t	 n = strlen(s);
	uint64_t v;

	if (n < 2 || s[n - 1] != '%' || conf_parse_u64(s, n - 1, 100, &v) < 0)
		return -1;
	return (double)v / 100;
}

/* conf_parse_bool - yes/no, true/false, 1/0 (any case); -1 if bad. */
static int
conf_parse_bool(const char *s)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0)
		return 1;
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0)
		return 0;
	return -1;
}

/* conf_printable - 1 if s has no control bytes (and, if nospace, no
 * spaces either). */
static int
conf_printable(const char *s, int nospace)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    (nospace && *s == ' '))
			return 0;
	return 1;
}

/* conf_valid_name - 1 if s is a site, host or user name: letters,
 * digits, '.', '-', '_', 1..max bytes. */
static int
conf_valid_name(const char *s, size_t max)
{
	size_t	 n = strlen(s);

	return n > 0 && n <= max && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

/* conf_valid_url - 1 if s is smtp://... or smtps://... (or empty). */
static int
conf_valid_url(const char *s)
{
	if (*s == '\0')
		return 1;
	if (strncmp(s, "smtp://", 7) == 0)
		s += 7;
	else if (strncmp(s, "smtps://", 8) == 0)
		s += 8;
	else
		return 0;
	return *s != '\0' && *s != '/' && conf_printable(s, 1);
}

/* conf_webhook_ok - 1 if url is https://HOST..., or http:// to a
 * loopback host: 127.0.0.0/8, [::1] or localhost (tests). */
int
conf_webhook_ok(const char *url)
{
	const char *h;
	size_t	 n;

	if (strncmp(url, "https://", 8) == 0)
		return url[8] != '\0' && url[8] != '/' && url[8] != ':';
	if (strncmp(url, "http://", 7) != 0)
		return 0;
	h = url + 7;
	if (strncmp(h, "[::1]", 5) == 0)
		return h[5] == '\0' || h[5] == ':' || h[5] == '/';
	n = strcspn(h, ":/?#");
	if (n == 9 && strncmp(h, "localhost", 9) == 0)
		return 1;
	return n > 4 && strncmp(h, "127.", 4) == 0 &&
	    strspn(h, "0123456789.") == n;
}

/* Lists. */

/* conf_list_free - release a list. */
static void
conf_list_free(struct conf_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* conf_list_parse - split on commas and white space into a new list;
 * -1 if an item fails check() or there are too many; -2 out of memory. */
static int
conf_list_parse(const char *s, struct conf_list *out, int (*check)(const char *))
{
	struct conf_list l = { NULL, 0 };
	size_t	 n, cap = 0;
	char	**nv;
	int	 rc = 0;

	while (rc == 0) {
		s += strspn(s, ", \t");
		if ((n = strcspn(s, ", \t")) == 0)
			break;
		if (l.n == CONF_LIST_MAX) {
			rc = -1;
			break;
		}
		if (l.n == cap) {
			cap = cap ? cap * 2 : 4;
			if ((nv = reallocarray(l.v, cap, sizeof(*nv))) == NULL) {
				rc = -2;
				break;
			}
			l.v = nv;
		}
		if ((l.v[l.n] = strndup(s, n)) == NULL) {
			rc = -2;
			break;
		}
		if (!check(l.v[l.n++]))
			rc = -1;
		s += n;
	}
	if (rc != 0) {
		conf_list_free(&l);
		return rc;
	}
	conf_list_free(out);
	*out = l;
	return 0;
}

/* conf_list_has - 1 if the list holds item. */
static int
conf_list_has(const struct conf_list *l, const char *item)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], item) == 0)
			return 1;
	return 0;
}

/* conf_item_any - any printable item. */
static int
conf_item_any(const char *s)
{
	return conf_printable(s, 1);
}

/* conf_item_url - an smtp:// or smtps:// URL. */
static int
conf_item_url(const char *s)
{
	return conf_valid_url(s);
}

/* conf_item_user - a login name, or a uid that fits uid_t. */
static int
conf_item_user(const char *s)
{
	uint64_t v;

	if (strspn(s, "0123456789") == strlen(s))
		return conf_parse_u64(s, strlen(s), (uid_t)-1 - 1ULL, &v) == 0;
	return conf_valid_name(s, 64);
}

/* conf_item_port - a TCP port, 1..65535. */
static int
conf_item_port(const char *s)
{
	uint64_t v;

	return conf_parse_u64(s, strlen(s), 65535, &v) == 0 && v > 0;
}

/* conf_item_block - a port of block_ports, or the word "allow". */
static int
conf_item_block(const char *s)
{
	return strcmp(s, "allow") == 0 || conf_item_port(s);
}

/* Setting values. */

/* conf_set_string - replace the string at *field with a copy of value. */
static int
conf_set_string(struct conf_ctx *ctx, char **field, const char *value)
{
	char	*p;

	if ((p = strdup(value)) == NULL) {
		ctx->status = err_set(EX_TEMPFAIL, "out of memory");
		return ctx->status;
	}
	free(*field);
	*field = p;
	return 0;
}

/* conf_want - the hint shown after a bad value of type t. */
static const char *
conf_want(enum conf_type t)
{
	switch (t) {
	case T_HOST: return "want a host name";
	case T_PATH: return "want an absolute path";
	case T_OPTPATH: return "want an absolute path or nothing";
	case T_USER: return "want a user name";
	case T_LOG: return "want syslog, stderr or file:/path";
	case T_URL: return "want smtp://host[:port] or smtps://host[:port]";
	case T_URLS: return "want a list of smtp:// or smtps:// URLs";
	case T_LIST: return "want a list of names";
	case T_USERS: return "want a list of login names or uids";
	case T_SIZE: return "want a size like 25M (K, M, G)";
	case T_DURATION: return "want a duration like 30s, 5m, 1h or 5d";
	case T_RECIPIENTS: return "want a number from 1 to 100000";
	case T_CONNECTIONS: return "want a number from 1 to 256";
	case T_BOOL: return "want yes or no";
	case T_RATE: return "want N/s, N/m, N/h or N/d, or a list with at "
	    "most one of each";
	case T_RATIO: return "want a percentage from 0% to 100%";
	case T_BURST: return "want a whole number from 1 to 1000000000";
	case T_COUNT: return "want a whole number from 0 to 1000000000";
	case T_POLICY: return "want allow, rewrite or reject";
	case T_PORT: return "want a port from 1 to 65535";
	case T_PORTS: return "want a list of ports";
	case T_BLOCK: return "want a list of ports, or allow";
	case T_AUTH: return "want accept or refuse";
	case T_WEBHOOK: return "want an https:// URL (http:// only to "
	    "127.0.0.1, [::1] or localhost) or nothing";
	default: return "want text without control characters";
	}
}

/* conf_set_number - the numeric types; -1 if value is bad. */
static int
conf_set_number(enum conf_type t, void *field, const char *value)
{
	uint64_t v;
	long	 d;
	double	 r;
	int	 b;

	switch (t) {
	case T_SIZE:
		return conf_parse_size(value, field) < 0 ||
		    *(size_t *)field == 0 ? -1 : 0;
	case T_DURATION:
		if ((d = conf_parse_duration(value)) <= 0)
			return -1;
		*(long *)field = d;
		return 0;
	case T_RECIPIENTS:
	case T_CONNECTIONS:
		if (conf_parse_u64(value, strlen(value),
		    t == T_RECIPIENTS ? 100000 : 256, &v) < 0 || v == 0)
			return -1;
		*(unsigned *)field = (unsigned)v;
		return 0;
	case T_BOOL:
		if ((b = conf_parse_bool(value)) < 0)
			return -1;
		*(int *)field = b;
		return 0;
	case T_RATE:
		return conf_parse_rates(value, field);
	case T_RATIO:
		if ((r = conf_parse_ratio(value)) < 0)
			return -1;
		*(double *)field = r;
		return 0;
	default:		/* T_BURST, T_COUNT */
		if (conf_parse_u64(value, strlen(value), CONF_COUNT_MAX,
		    &v) < 0 || (t == T_BURST && v == 0))
			return -1;
		*(double *)field = (double)v;
		return 0;
	}
}

/* conf_set_policy - allow | rewrite | reject; -1 if bad. */
static int
conf_set_policy(enum conf_from_policy *field, const char *value)
{
	if (strcmp(value, "allow") == 0)
		*field = FROM_ALLOW;
	else if (strcmp(value, "rewrite") == 0)
		*field = FROM_REWRITE;
	else if (strcmp(value, "reject") == 0)
		*field = FROM_REJECT;
	else
		return -1;
	return 0;
}

/* conf_check_string - validate a string-typed value; 1 if good. */
static int
conf_check_string(enum conf_type t, const char *value)
{
	switch (t) {
	case T_HOST:
		return conf_valid_name(value, 253);
	case T_PATH:
		return value[0] == '/' && conf_printable(value, 0);
	case T_OPTPATH:
		return (value[0] == '\0' || value[0] == '/') &&
		    conf_printable(value, 0);
	case T_USER:
		return conf_valid_name(value, 64);
	case T_LOG:
		return strcmp(value, "syslog") == 0 ||
		    strcmp(value, "stderr") == 0 ||
		    (strncmp(value, "file:/", 6) == 0 &&
		    conf_printable(value, 0));
	case T_URL:
		return conf_valid_url(value);
	case T_WEBHOOK:
		return conf_printable(value, 0) && strpbrk(value, " \t") ==
		    NULL && (value[0] == '\0' || conf_webhook_ok(value));
	default:
		return conf_printable(value, 0);
	}
}

/* conf_set - parse value as type t into field; records any error. */
static int
conf_set(struct conf_ctx *ctx, const struct conf_key *k, void *field,
    const char *value)
{
	uint64_t port;
	int	 rc;

	switch (k->type) {
	case T_LIST:
	case T_URLS:
	case T_USERS:
	case T_PORTS:
	case T_BLOCK:
		rc = conf_list_parse(value, field, k->type == T_URLS ?
		    conf_item_url : k->type == T_USERS ? conf_item_user :
		    k->type == T_PORTS ? conf_item_port : k->type == T_BLOCK ?
		    conf_item_block : conf_item_any);
		if (rc == 0 && k->type == T_BLOCK &&
		    ((struct conf_list *)field)->n > 1 &&
		    conf_list_has(field, "allow"))
			rc = -1;	/* "allow" stands alone */
		if (rc == -2)
			return ctx->status = err_set(EX_TEMPFAIL,
			    "out of memory");
		break;
	case T_SIZE: case T_DURATION: case T_RECIPIENTS: case T_CONNECTIONS:
	case T_BOOL: case T_RATE: case T_BURST: case T_COUNT: case T_RATIO:
		rc = conf_set_number(k->type, field, value);
		break;
	case T_POLICY:
		rc = conf_set_policy(field, value);
		break;
	case T_PORT:
		rc = conf_parse_u64(value, strlen(value), 65535, &port) < 0 ||
		    port == 0 ? -1 : 0;
		if (rc == 0)
			*(unsigned *)field = (unsigned)port;
		break;
	case T_AUTH:
		rc = strcmp(value, "accept") == 0 ? 1 :
		    strcmp(value, "refuse") == 0 ? 0 : -1;
		if (rc >= 0)
			*(int *)field = rc;
		rc = rc < 0 ? -1 : 0;
		break;
	default:
		if (!conf_check_string(k->type, value))
			rc = -1;
		else
			return conf_set_string(ctx, field, value);
		break;
	}
	if (rc < 0)
		return conf_error(ctx, "bad value \"%s\" for %s (%s)", value,
		    k->name, conf_want(k->type));
	return 0;
}

/* conf_key_find - the key named name valid in section sect, or NULL. */
static const struct conf_key *
conf_key_find(enum conf_sect sect, const char *name)
{
	size_t	 i;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (strcmp(conf_keys[i].name, name) != 0)
			continue;
		if (conf_keys[i].sect == sect ||
		    (sect == S_SITE && conf_keys[i].sect == S_LIMITS))
			return &conf_keys[i];
	}
	for (i = 0; i < sizeof(conf_keys_net) / sizeof(*conf_keys_net); i++)
		if (conf_keys_net[i].sect == sect &&
		    strcmp(conf_keys_net[i].name, name) == 0)
			return &conf_keys_net[i];
	return NULL;
}

/* conf_where_set - remember FILE:LINE of a key (for check-config). */
static int
conf_where_set(struct conf_ctx *ctx, const struct conf_key *k,
    struct conf_site *site)
{
	struct conf *c = ctx->conf;
	size_t	 i = (size_t)(k - conf_keys);
	char	 at[PATH_MAX + 16];

	if (k < conf_keys || k >= conf_keys + CONF_NKEYS)
		return 0;		/* [smtpd], [firewall]: not tracked */
	if (site != NULL) {
		if (k->type == T_USERS)
			site->users_line = ctx->lineno;
		else if (k->off == SI(smarthost_password_file))
			site->password_line = ctx->lineno;
		return 0;
	}
	if (c->where == NULL &&
	    (c->where = calloc(CONF_NKEYS, sizeof(*c->where))) == NULL)
		return ctx->status = err_set(EX_TEMPFAIL, "out of memory");
	snprintf(at, sizeof(at), "%s:%d", ctx->file, ctx->lineno);
	return conf_set_string(ctx, &c->where[i], at);
}

/* conf_where - "FILE:LINE" where [section] key was last set, or NULL. */
const char *
conf_where(const struct conf *c, const char *section, const char *key)
{
	size_t	 i;

	for (i = 0; c->where != NULL && i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].name, key) == 0 &&
		    strcmp(conf_sect_names[conf_keys[i].sect], section) == 0)
			return c->where[i];
	return NULL;
}

/* conf_alias_add - one [aliases] line: an unqualified name and the
 * address list it stands for (checked where it is used: intake). */
static int
conf_alias_add(struct conf_ctx *ctx, const char *name, const char *value)
{
	struct conf *c = ctx->conf;
	char	**n, **v;

	if (!conf_valid_name(name, 64) || strchr(name, '@') != NULL ||
	    !conf_printable(value, 0) || *value == '\0')
		return conf_error(ctx, "bad alias \"%s\" (want NAME = "
		    "address, ...)", name);
	n = reallocarray(c->alias_names.v, c->alias_names.n + 1, sizeof(*n));
	if (n != NULL)
		c->alias_names.v = n;
	v = reallocarray(c->alias_values.v, c->alias_values.n + 1,
	    sizeof(*v));
	if (v != NULL)
		c->alias_values.v = v;
	if (n == NULL || v == NULL ||
	    (n[c->alias_names.n] = strdup(name)) == NULL)
		return ctx->status = err_set(EX_TEMPFAIL, "out of memory");
	if ((v[c->alias_values.n] = strdup(value)) == NULL) {
		free(n[c->alias_names.n]);
		return ctx->status = err_set(EX_TEMPFAIL, "out of memory");
	}
	c->alias_names.n++;
	c->alias_values.n++;
	return 0;
}

/* conf_alias - the [aliases] value for name (case-insensitive), or NULL. */
const char *
conf_alias(const struct conf *c, const char *name)
{
	size_t	 i;

	for (i = c->alias_names.n; i-- > 0;)
		if (strcasecmp(c->alias_names.v[i], name) == 0)
			return c->alias_values.v[i];
	return NULL;
}

/* conf_handler - inih callback for one "name = value" line. */
static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_ctx *ctx = user;
	const struct conf_key *k;
	struct conf_site *site = NULL;
	char	*base;

	(void)section;		/* truncated by inih; ours is ctx->sect */
	if (ctx->status)
		return 0;
	if (ctx->sect == S_NONE)
		return !conf_error(ctx, "\"%s\" outside of any [section]",
		    name);
	if (ctx->sect == S_ALIASES)
		return conf_alias_add(ctx, name, value) == 0;
	if ((k = conf_key_find(ctx->sect, name)) == NULL) {
		if (ctx->sect == S_SITE)
			return !conf_error(ctx, "unknown key \"%s\" in [site "
			    "%s]", name, ctx->conf->sites[ctx->site].name);
		return !conf_error(ctx, "unknown key \"%s\" in [%s]", name,
		    conf_sect_names[ctx->sect]);
	}
	if (ctx->sect == S_SITE) {
		site = &ctx->conf->sites[ctx->site];
		base = (char *)site;
		if (k->sect == S_LIMITS) {
			base = (char *)&site->limits;
			ctx->set[ctx->site] |= (uint64_t)1 << (k - conf_keys);
		} else if (k->type == T_USERS)
			ctx->users_line[ctx->site] = ctx->lineno;
	} else if (ctx->sect == S_LIMITS)
		base = (char *)&ctx->conf->limits;
	else
		base = (char *)ctx->conf;
	if (conf_where_set(ctx, k, site) != 0)
		return 0;
	if (k->sect == S_MAIN && (k->off == C(retry_min) ||
	    k->off == C(retry_max)))
		snprintf(ctx->retry_at, sizeof(ctx->retry_at), "%s:%d",
		    ctx->file, ctx->lineno);
	return conf_set(ctx, k, base + k->off, value) == 0;
}

/* Sections. */

/* conf_hash_name - FNV-1a over a site name. */
static size_t
conf_hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

/* conf_hash_slot - the slot holding name, or the free slot it would take
 * (loading must not be quadratic in the number of sites). */
static size_t *
conf_hash_slot(struct conf_ctx *ctx, const char *name)
{
	size_t	 mask = ctx->hash_size - 1, i = conf_hash_name(name) & mask;

	while (ctx->hash[i] != 0 &&
	    strcmp(ctx->conf->sites[ctx->hash[i] - 1].name, name) != 0)
		i = (i + 1) & mask;
	return &ctx->hash[i];
}

/* conf_hash_grow - keep the table at most half full for n sites. */
static int
conf_hash_grow(struct conf_ctx *ctx, size_t n)
{
	size_t	*old = ctx->hash, oldsize = ctx->hash_size, i;

	if (n * 2 < ctx->hash_size)
		return 0;
	ctx->hash_size = ctx->hash_size ? ctx->hash_size * 2 : 64;
	if ((ctx->hash = calloc(ctx->hash_size, sizeof(*ctx->hash))) == NULL) {
		ctx->hash = old;
		ctx->hash_size = oldsize;
		return -1;
	}
	for (i = 0; i < oldsize; i++)
		if (old[i] != 0)
			*conf_hash_slot(ctx, ctx->conf->sites[old[i] - 1].name) =
			    old[i];
	free(old);
	return 0;
}

/* conf_site_add - start [site name], refusing a second definition. */
static int
conf_site_add(struct conf_ctx *ctx, const char *name)
{
	struct conf *c = ctx->conf;
	const struct conf_site *old;
	struct conf_site *s;
	size_t	 ncap, *slot;
	void	*p;

	if (!conf_valid_name(name, CONF_NAME_MAX))
		return conf_error(ctx, "bad site name \"%s\" (want letters, "
		    "digits, '.', '-' and '_')", name);
	if (c->nsites == CONF_SITES_MAX)
		return conf_error(ctx, "too many sites");
	if (conf_hash_grow(ctx, c->nsites + 1) < 0)
		return ctx->status = err_set(EX_TEMPFAIL, "out of memory");
	slot = conf_hash_slot(ctx, name);
	if (*slot != 0) {
		old = &c->sites[*slot - 1];
		return conf_error(ctx, "site \"%s\" is already defined at "
		    "%s:%d", name, old->file, old->line);
	}
	if (c->nsites == ctx->cap) {
		ncap = ctx->cap ? ctx->cap * 2 : 8;
		if ((p = reallocarray(c->sites, ncap, sizeof(*c->sites))))
			c->sites = p;
		if (p && (p = reallocarray(ctx->set, ncap, sizeof(*ctx->set))))
			ctx->set = p;
		if (p && (p = reallocarray(ctx->users_line, ncap,
		    sizeof(*ctx->users_line))))
			ctx->users_line = p;
		if (p == NULL)
			return ctx->status = err_set(EX_TEMPFAIL,
			    "out of memory");
		ctx->cap = ncap;
	}
	s = &c->sites[c->nsites];
	memset(s, 0, sizeof(*s));
	s->line = ctx->lineno;
	if ((s->name = strdup(name)) == NULL ||
	    (s->file = strdup(ctx->file)) == NULL ||
	    (s->smarthost_username = strdup("")) == NULL ||
	    (s->smarthost_password_file = strdup("")) == NULL ||
	    (s->owner = strdup("")) == NULL) {
		free(s->name);
		free(s->file);
		free(s->smarthost_username);
		free(s->smarthost_password_file);
		return ctx->status = err_set(EX_TEMPFAIL, "out of memory");
	}
	ctx->set[c->nsites] = 0;
	s->dkim = 1;
	ctx->users_line[c->nsites] = 0;
	ctx->site = c->nsites++;
	*slot = c->nsites;
	ctx->sect = S_SITE;
	return 0;
}

/* conf_section - handle a "[name]" header (text between the brackets). */
static int
conf_section(struct conf_ctx *ctx, char *name)
{
	char	*end;
	int	 i;

	while (isspace((unsigned char)*name))
		name++;
	end = name + strlen(name);
	while (end > name && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (strncmp(name, "site", 4) == 0 &&
	    (name[4] == '\0' || isspace((unsigned char)name[4]))) {
		for (name += 4; isspace((unsigned char)*name); name++)
			;
		if (*name == '\0')
			return conf_error(ctx, "[site] needs a name: [site "
			    "NAME]");
		return conf_site_add(ctx, name);
	}
	if (ctx->in_sites_d)
		return conf_error(ctx, "only [site NAME] sections belong in "
		    "sites.d, not [%s]", name);
	for (i = S_MAIN; i < S_SITE; i++)
		if (strcmp(name, conf_sect_names[i]) == 0) {
			ctx->sect = (enum conf_sect)i;
			return 0;
		}
	return conf_error(ctx, "unknown section [%s]", name);
}

/* conf_header - if line is a "[section]" line (as inih sees it), handle
 * it here: inih's copy of the name is truncated and it never reports
 * empty sections. */
static int
conf_header(struct conf_ctx *ctx, char *line)
{
	char	*p = line, *q;
	int	 was_space = 0;

	if (ctx->lineno == 1 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '[')
		return 0;
	/* Like inih: ']' ends the name, " ;" starts a comment. */
	for (q = p + 1; *q && *q != ']' && !(was_space && *q == ';'); q++)
		was_space = isspace((unsigned char)*q);
	if (*q != ']')
		return conf_error(ctx, "section header without ']'");
	for (p = q + 1; isspace((unsigned char)*p); p++)
		;
	if (*p != '\0' && *p != ';' && *p != '#')
		return conf_error(ctx, "text after a section header");
	*q = '\0';
	return conf_section(ctx, strchr(line, '[') + 1);
}

/* conf_getc - the next byte of the file, or EOF (ctx->ioerr on error). */
static int
conf_getc(struct conf_ctx *ctx)
{
	ssize_t	 r;

	if (ctx->mem != NULL)
		return ctx->rpos < ctx->memlen ?
		    (unsigned char)ctx->mem[ctx->rpos++] : EOF;
	if (ctx->rpos == ctx->rlen) {
		while ((r = read(ctx->fd, ctx->rbuf, sizeof(ctx->rbuf))) < 0 &&
		    errno == EINTR)
			;
		if (r <= 0) {
			if (r < 0)
				ctx->ioerr = errno;
			return EOF;
		}
		ctx->rpos = 0;
		ctx->rlen = (size_t)r;
	}
	return ctx->rbuf[ctx->rpos++];
}

/* conf_reader - inih reader: one whole line per call, counting lines and
 * handling section headers; NULL at EOF or after an error. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_ctx *ctx = stream;
	size_t	 n = 0;
	int	 ch = EOF;

	if (ctx->status)
		return NULL;
	while (n < CONF_LINE_MAX && (ch = conf_getc(ctx)) != EOF) {
		ctx->line[n++] = (char)ch;
		if (ch == '\n')
			break;
		if (ch == '\0')
			break;
	}
	if (n == 0)
		return NULL;
	ctx->lineno++;
	ctx->line[n] = '\0';
	if (ch == '\0' || memchr(ctx->line, '\0', n) != NULL) {
		conf_error(ctx, "NUL byte in line");
		return NULL;
	}
	if (ch != '\n' && ch != EOF) {
		conf_error(ctx, "line longer than %d bytes", CONF_LINE_MAX);
		return NULL;
	}
	if (n + 1 > (size_t)num) {
		conf_error(ctx, "line too long for the INI parser");
		return NULL;
	}
	memcpy(str, ctx->line, n + 1);
	if (conf_header(ctx, ctx->line) != 0)
		return NULL;
	return str;
}

static int conf_parse_stream(struct conf_ctx *, const char *);

/* conf_parse_file - read dirfd/name (path for messages); a missing file
 * is fine. */
static int
conf_parse_file(struct conf_ctx *ctx, int dirfd, const char *name,
    const char *path)
{
	int	 rc;

	if ((ctx->fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		return ctx->status = err_set(EX_CONFIG, "cannot read %s: %s",
		    path, strerror(errno));
	}
	rc = conf_parse_stream(ctx, path);
	close(ctx->fd);
	ctx->fd = -1;
	return rc;
}

/* conf_parse_text - parse text as if it were the file path. */
static int
conf_parse_text(struct conf_ctx *ctx, const char *path, const char *text,
    size_t len)
{
	int	 rc;

	ctx->mem = text;
	ctx->memlen = len;
	rc = conf_parse_stream(ctx, path);
	ctx->mem = NULL;
	return rc;
}

/* conf_parse_stream - run inih over ctx->fd or ctx->mem. */
static int
conf_parse_stream(struct conf_ctx *ctx, const char *path)
{
	int	 rc;

	ctx->file = path;
	ctx->lineno = 0;
	ctx->sect = S_NONE;
	ctx->ioerr = 0;
	ctx->rpos = ctx->rlen = 0;
	/* The packaged inih reads its settings at run time. */
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_max_line = CONF_LINE_MAX + 3;
	ini_initial_alloc = CONF_LINE_MAX + 3;
	rc = ini_parse_stream(conf_reader, ctx, conf_handler, ctx);
	if (ctx->status == 0 && ctx->ioerr)
		ctx->status = err_set(EX_CONFIG, "cannot read %s: %s", path,
		    strerror(ctx->ioerr));
	else if (ctx->status == 0 && rc == -2)
		ctx->status = err_set(EX_TEMPFAIL, "out of memory");
	else if (ctx->status == 0 && rc != 0) {
		ctx->lineno = rc;
		conf_error(ctx, "syntax error (want \"key = value\" or "
		    "\"[section]\")");
	}
	return ctx->status;
}

/* conf_cmp - qsort comparison of file names. */
static int
conf_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* conf_list_push - append a copy of s to a list; -1 when out of memory. */
static int
conf_list_push(struct conf_list *l, size_t *cap, const char *s)
{
	char	**nv;

	if (l->n == *cap) {
		if ((nv = reallocarray(l->v, *cap ? *cap * 2 : 16,
		    sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		*cap = *cap ? *cap * 2 : 16;
	}
	if ((l->v[l->n] = strdup(s)) == NULL)
		return -1;
	l->n++;
	return 0;
}

/* conf_sites_d - the sorted *.conf names in the directory dirfd. */
static int
conf_sites_d(int dirfd, const char *path, struct conf_list *names)
{
	struct dirent *de;
	DIR	*d;
	size_t	 n, cap = 0;
	int	 fd, rc = 0;

	if ((fd = dup(dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return err_set(EX_CONFIG, "cannot read %s: %s", path,
		    strerror(errno));
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n <= 5 ||
		    strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		if (names->n == CONF_FILES_MAX)
			rc = err_set(EX_CONFIG, "too many files in %s", path);
		else if (conf_list_push(names, &cap, de->d_name) < 0)
			rc = err_set(EX_TEMPFAIL, "out of memory");
	}
	closedir(d);
	if (names->n > 1)
		qsort(names->v, names->n, sizeof(*names->v), conf_cmp);
	return rc;
}

/* Finishing. */

static void conf_site_free(struct conf_site *);
static void conf_ctx_free(struct conf *);
static int conf_broken_file(struct conf_ctx *, const char *);

/* conf_limit_size - the bytes of a [limits] field of type t. */
static size_t
conf_limit_size(enum conf_type t)
{
	switch (t) {
	case T_POLICY: return sizeof(enum conf_from_policy);
	case T_SIZE: return sizeof(size_t);
	case T_RATE: return sizeof(struct conf_rates);
	default: return sizeof(double);
	}
}

/* conf_limits_rate - set the bucket-0 figure "rate" from the list. */
static void
conf_limits_rate(struct conf_limits *l)
{
	l->rate = l->rates.count[0] / l->rates.period[0];
}

/* conf_resolve_limits - sites inherit the [limits] keys they did not set. */
static void
conf_resolve_limits(struct conf_ctx *ctx)
{
	struct conf *c = ctx->conf;
	struct conf_limits *l;
	size_t	 i, bit;

	struct conf_limits root;

	conf_limits_rate(&c->limits);
	root = c->limits;	/* root is exempt from rates by default */
	root.burst = root.backlog = CONF_LIMIT_EXEMPT;
	conf_rates_set1(&root.rates, CONF_LIMIT_EXEMPT, 1);
	root.max_fail_ratio = 1;	/* and from the failure freeze */
	for (i = 0; i < c->nsites; i++) {
		l = &c->sites[i].limits;
		for (bit = 0; bit < CONF_NKEYS; bit++) {
			if (conf_keys[bit].sect != S_LIMITS ||
			    (ctx->set[i] & ((uint64_t)1 << bit)))
				continue;
			memcpy((char *)l + conf_keys[bit].off,
			    (strcmp(c->sites[i].name, "root") == 0 ?
			    (char *)&root : (char *)&c->limits) +
			    conf_keys[bit].off,
			    conf_limit_size(conf_keys[bit].type));
		}
		conf_limits_rate(l);
	}
}

/* A users= entry and its site, for finding a user listed twice. */
struct conf_user_ref {
	const char *user;
	size_t	 site;
};

/* conf_user_cmp - order user references by name, then site. */
static int
conf_user_cmp(const void *a, const void *b)
{
	const struct conf_user_ref *x = a, *y = b;
	int	 d = strcmp(x->user, y->user);

	if (d != 0)
		return d;
	return x->site < y->site ? -1 : x->site > y->site;
}

/* conf_check_users - no user (login or uid, as written) in two sites. */
static int
conf_check_users(struct conf_ctx *ctx)
{
	struct conf *c = ctx->conf;
	struct conf_user_ref *refs;
	const struct conf_site *a, *b;
	size_t	 i, j, n = 0;
	int	 rc = 0;

	for (i = 0; i < c->nsites; i++)
		n += c->sites[i].users.n;
	if (n < 2)
		return 0;
	if ((refs = calloc(n, sizeof(*refs))) == NULL)
		return ctx->status = err_set(EX_TEMPFAIL, "out of memory");
	for (n = 0, i = 0; i < c->nsites; i++)
		for (j = 0; j < c->sites[i].users.n; j++) {
			refs[n].user = c->sites[i].users.v[j];
			refs[n++].site = i;
		}
	qsort(refs, n, sizeof(*refs), conf_user_cmp);
	for (i = 1; i < n && rc == 0; i++) {
		if (strcmp(refs[i - 1].user, refs[i].user) != 0 ||
		    refs[i - 1].site == refs[i].site)
			continue;
		a = &c->sites[refs[i - 1].site];
		b = &c->sites[refs[i].site];
		if (refs[i].site < refs[i - 1].site) {
			const struct conf_site *t = a;

			a = b;
			b = t;
		}
		ctx->file = b->file;
		ctx->lineno = ctx->users_line[b - c->sites];
		rc = conf_error(ctx, "user \"%s\" is in [site %s] and also in "
		    "[site %s] (%s:%d)", refs[i].user, b->name, a->name,
		    a->file, ctx->users_line[a - c->sites]);
	}
	free(refs);
	if (rc == EX_CONFIG && strcmp(ctx->file, ctx->main_path) != 0) {
		/* The later sites.d file is left out; look again. */
		if ((rc = conf_broken_file(ctx, ctx->file)) == 0)
			rc = conf_check_users(ctx);
	}
	return rc;
}

/* conf_hostname_file - the first line of path if it is a dotted name. */
static int
conf_hostname_file(const char *path, char *out, size_t size)
{
	FILE	*fp;
	int	 ok = 0;

	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	if (fgets(out, (int)size, fp) != NULL) {
		out[strcspn(out, " \t\r\n")] = '\0';
		ok = strchr(out, '.') != NULL && conf_valid_name(out, 253);
	}
	fclose(fp);
	return ok;
}

/* conf_default_hostname - gethostname(), or a dotted name from
 * /etc/mailname or /etc/hostname when it has no dot; no DNS. */
static int
conf_default_hostname(struct conf_ctx *ctx)
{
	char	 host[256], alt[256];
	const char *pick;

	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	pick = host;
	if (strchr(host, '.') == NULL &&
	    (conf_hostname_file("/etc/mailname", alt, sizeof(alt)) ||
	    conf_hostname_file("/etc/hostname", alt, sizeof(alt))))
		pick = alt;
	return conf_set_string(ctx, &ctx->conf->hostname, pick);
}

/* conf_finish - checks and derived values once every file is read. */
static int
conf_finish(struct conf_ctx *ctx)
{
	struct conf *c = ctx->conf;

	conf_resolve_limits(ctx);
	if (conf_check_users(ctx) != 0)
		return ctx->status;
	if (c->retry_min > c->retry_max) {
		ctx->status = err_set(EX_CONFIG, "%s: retry_min (%lds) is "
		    "larger than retry_max (%lds)", ctx->retry_at, c->retry_min,
		    c->retry_max);
		return ctx->status;
	}
	if (*c->hostname == '\0')
		return conf_default_hostname(ctx);
	return 0;
}

/* conf_join - a new string a + b, or NULL. */
static char *
conf_join(const char *a, const char *b)
{
	size_t	 na = strlen(a), nb = strlen(b);
	char	*p = malloc(na + nb + 1);

	if (p != NULL) {
		memcpy(p, a, na);
		memcpy(p + na, b, nb + 1);
	}
	return p;
}

/* conf_defaults - the built-in values (shared/DESIGN.md). */
static int
conf_defaults(struct conf *c, const char *dir)
{
	char	**strings[] = { &c->hostname, &c->log, &c->alert_to,
	    &c->qualify_domain,
	    &c->local_transport, &c->smarthost_url, &c->ca_file,
	    &c->smarthost_username, &c->smarthost_password_file,
	    &c->dkim_selector, &c->smtpd.tls_cert, &c->smtpd.tls_key,
	    &c->notify.webhook, &c->notify.metrics };
	size_t	 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if ((*strings[i] = strdup("")) == NULL)
			return -1;
	free(c->log);
	if ((c->log = strdup("syslog")) == NULL ||
	    (c->spool_dir = strdup(SM_SPOOLDIR)) == NULL ||
	    (c->user = strdup(SM_USER)) == NULL ||
	    (c->dir = strdup(dir)) == NULL ||
	    (c->dkim_keys = conf_join(dir, "/dkim")) == NULL)
		return -1;
	free(c->dkim_selector);
	if ((c->dkim_selector = strdup("sitemail")) == NULL)
		return -1;
	c->max_message_size = 25 * 1024 * 1024;
	c->min_free_space = 64 * 1024 * 1024;
	c->limits.spool_quota = (size_t)1024 * 1024 * 1024;
	c->max_recipients = 100;
	c->queue_lifetime = 5 * 86400;
	c->retry_min = 60;
	c->retry_max = 3600;
	c->dns_timeout = 5;
	c->tls_verify = 1;
	c->connections = 4;
	c->allow_plaintext = 0;
	c->delay_warning = 4 * 3600;
	c->notify.interval = 600;
	c->connect_timeout = 30;
	c->greeting_timeout = 300;
	c->command_timeout = 300;
	c->data_timeout = 300;
	c->limits.rate = 100.0 / 3600;
	conf_rates_set1(&c->limits.rates, 100, 3600);
	c->limits.max_fail_ratio = 0.5;
	c->limits.min_fail_count = 20;
	c->limits.burst = 50;
	c->limits.backlog = 200;
	c->limits.from_policy = FROM_REWRITE;
	c->smtpd.redirect_port = 10025;
	c->smtpd.max_per_site = 10;
	c->smtpd.timeout = 300;
	c->smtpd.auth_accept = 1;
	if (conf_list_parse("127.0.0.1:25, [::1]:25", &c->smtpd.listen,
	    conf_item_any) != 0 || conf_list_parse("25",
	    &c->firewall.redirect_ports, conf_item_port) != 0 ||
	    conf_list_parse("465, 587", &c->firewall.block_ports,
	    conf_item_port) != 0 || conf_list_parse("root",
	    &c->firewall.exempt_users, conf_item_user) != 0)
		return -1;
	return 0;
}

/* conf_ctx_of - the loading state of c (between conf_load_main and
 * conf_load_done). */
static struct conf_ctx *
conf_ctx_of(struct conf *c)
{
	return c->loading;
}

/* conf_load_main - defaults, then dir/sitemail.conf (or text, parsed as
 * that file, when text != NULL).  On failure c is released. */
int
conf_load_main(struct conf *c, const char *dir, const char *text,
    size_t len)
{
	struct conf_ctx *ctx;
	int	 rc;

	if (dir == NULL)
		dir = conf_default_dir();
	if (conf_defaults(c, dir) < 0 ||
	    (ctx = calloc(1, sizeof(*ctx))) == NULL) {
		conf_free(c);
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	c->loading = ctx;
	ctx->conf = c;
	ctx->fd = -1;
	if (snprintf(ctx->main_path, sizeof(ctx->main_path),
	    "%s/sitemail.conf", dir) >= (int)sizeof(ctx->main_path))
		rc = err_set(EX_CONFIG, "configuration path too long");
	else if (text != NULL)
		rc = conf_parse_text(ctx, ctx->main_path, text, len);
	else
		rc = conf_parse_file(ctx, AT_FDCWD, ctx->main_path,
		    ctx->main_path);
	if (rc != 0)
		conf_free(c);
	return rc;
}

/* conf_sites_drop - forget sites from index from on whose file is file
 * (NULL: all of them), and rebuild the name table. */
static int
conf_sites_drop(struct conf_ctx *ctx, size_t from, const char *file)
{
	struct conf *c = ctx->conf;
	struct conf_site *s;
	size_t	 i, n = from;

	for (i = from; i < c->nsites; i++) {
		s = &c->sites[i];
		if (file != NULL && strcmp(s->file, file) != 0) {
			c->sites[n] = *s;
			ctx->set[n] = ctx->set[i];
			ctx->users_line[n++] = ctx->users_line[i];
			continue;
		}
		conf_site_free(s);
	}
	c->nsites = n;
	free(ctx->hash);
	for (ctx->hash_size = 64; ctx->hash_size <= n * 2; ctx->hash_size *= 2)
		;
	if ((ctx->hash = calloc(ctx->hash_size, sizeof(*ctx->hash))) == NULL) {
		ctx->hash_size = 0;
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	for (i = 0; i < c->nsites; i++)
		*conf_hash_slot(ctx, c->sites[i].name) = i + 1;
	return 0;
}

/* conf_broken_file - leave file out, keeping err_str() in c->broken. */
static int
conf_broken_file(struct conf_ctx *ctx, const char *file)
{
	struct conf *c = ctx->conf;
	char	*copy, **nv;
	int	 rc;

	if ((copy = strdup(file)) == NULL || (nv = reallocarray(
	    c->broken.v, c->broken.n + 1, sizeof(*nv))) == NULL ||
	    (nv[c->broken.n] = strdup(err_str())) == NULL) {
		free(copy);
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	c->broken.v = nv;
	c->broken.n++;
	rc = conf_sites_drop(ctx, 0, copy);
	free(copy);
	ctx->status = 0;
	return rc;
}

/* conf_add_file - add the sites of dir/sites.d/name (text, when not NULL,
 * stands for its content), all or none.  An EX_CONFIG error leaves c as
 * it was; the caller decides whether to record it (conf_add_broken). */
int
conf_add_file(struct conf *c, const char *name, const char *text,
    size_t len)
{
	struct conf_ctx *ctx = conf_ctx_of(c);
	struct buf path;
	size_t	 n0 = c->nsites;
	int	 rc;

	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/sites.d/%s", c->dir, name) < 0)
		rc = err_set(EX_CONFIG, "configuration path too long");
	else {
		ctx->in_sites_d = 1;
		/* Sites keep their own copy of this path (conf_site.file). */
		rc = text != NULL ? conf_parse_text(ctx, buf_str(&path), text,
		    len) : conf_parse_file(ctx, AT_FDCWD, buf_str(&path),
		    buf_str(&path));
		ctx->in_sites_d = 0;
	}
	if (rc != 0) {
		ctx->status = 0;
		if (conf_sites_drop(ctx, n0, NULL) != 0)
			rc = EX_TEMPFAIL;
	}
	buf_free(&path);
	return rc;
}

/* conf_add_broken - record the error of a file left out (err_str()). */
int
conf_add_broken(struct conf *c, const char *name)
{
	struct buf path;
	int	 rc;

	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/sites.d/%s", c->dir, name) < 0)
		rc = err_set(EX_CONFIG, "configuration path too long");
	else
		rc = conf_broken_file(conf_ctx_of(c), buf_str(&path));
	buf_free(&path);
	return rc;
}

/* conf_sites_d_names - the sorted *.conf names in dir/sites.d; a missing
 * directory gives none. */
int
conf_sites_d_names(const char *dir, struct conf_list *names)
{
	struct buf path;
	int	 dirfd, rc = 0;

	names->v = NULL;
	names->n = 0;
	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/sites.d", dir) < 0)
		rc = err_set(EX_CONFIG, "configuration path too long");
	else if ((dirfd = open(buf_str(&path), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = err_set(EX_CONFIG, "cannot read %s: %s",
			    buf_str(&path), strerror(errno));
	} else {
		rc = conf_sites_d(dirfd, buf_str(&path), names);
		close(dirfd);
	}
	if (rc != 0)
		conf_list_free(names);
	buf_free(&path);
	return rc;
}

/* conf_load_done - checks and derived values once every file is read;
 * the loading state is released.  On failure c is released. */
int
conf_load_done(struct conf *c)
{
	struct conf_ctx *ctx = conf_ctx_of(c);
	int	 rc = conf_finish(ctx);

	conf_ctx_free(c);
	if (rc != 0)
		conf_free(c);
	return rc;
}

/* conf_load - defaults, then dir/sitemail.conf, then dir/sites.d/ *.conf;
 * a broken sites.d file is left out (its error in c->broken).  On
 * failure everything is released again (conf_free() is harmless). */
int
conf_load(struct conf *c, const char *dir)
{
	struct conf_list names = { NULL, 0 };
	size_t	 i;
	int	 rc;

	if ((rc = conf_load_main(c, dir, NULL, 0)) != 0)
		return rc;
	if ((rc = conf_sites_d_names(c->dir, &names)) != 0) {
		/* An unreadable sites.d: every site defaults, noted. */
		rc = rc == EX_CONFIG ? conf_broken_file(conf_ctx_of(c),
		    "") : rc;
	}
	for (i = 0; i < names.n && rc == 0; i++)
		if ((rc = conf_add_file(c, names.v[i], NULL, 0)) == EX_CONFIG)
			rc = conf_add_broken(c, names.v[i]);
	conf_list_free(&names);
	if (rc != 0) {
		conf_free(c);
		return rc;
	}
	return conf_load_done(c);
}

/* conf_ctx_free - release the loading state. */
static void
conf_ctx_free(struct conf *c)
{
	struct conf_ctx *ctx = c->loading;

	if (ctx == NULL)
		return;
	free(ctx->set);
	free(ctx->users_line);
	free(ctx->hash);
	free(ctx);
	c->loading = NULL;
}

/* conf_site_free - release one site's strings and lists. */
static void
conf_site_free(struct conf_site *s)
{
	free(s->name);
	conf_list_free(&s->users);
	conf_list_free(&s->domains);
	free(s->smarthost_username);
	free(s->smarthost_password_file);
	free(s->owner);
	free(s->file);
}

/* conf_free - release everything conf_load() allocated. */
void
conf_free(struct conf *c)
{
	size_t	 i;

	free(c->hostname);
	free(c->spool_dir);
	free(c->user);
	free(c->log);
	free(c->alert_to);
	free(c->qualify_domain);
	conf_list_free(&c->alias_names);
	conf_list_free(&c->alias_values);
	conf_list_free(&c->dns_servers);
	conf_list_free(&c->local_addresses);
	conf_list_free(&c->local_mx);
	free(c->local_transport);
	free(c->smarthost_url);
	conf_list_free(&c->smarthost_fallback);
	free(c->ca_file);
	free(c->smarthost_username);
	free(c->smarthost_password_file);
	conf_ctx_free(c);
	for (i = 0; c->where != NULL && i < CONF_NKEYS; i++)
		free(c->where[i]);
	free(c->where);
	free(c->dkim_keys);
	free(c->dkim_selector);
	conf_list_free(&c->smtpd.listen);
	free(c->smtpd.tls_cert);
	free(c->smtpd.tls_key);
	free(c->notify.webhook);
	free(c->notify.metrics);
	conf_list_free(&c->firewall.redirect_ports);
	conf_list_free(&c->firewall.block_ports);
	conf_list_free(&c->firewall.exempt_users);
	for (i = 0; i < c->nsites; i++)
		conf_site_free(&c->sites[i]);
	free(c->sites);
	free(c->dir);
	conf_list_free(&c->broken);
	confidx_close(c->index);
	memset(c, 0, sizeof(*c));
}

/* conf_site_find - the [site] section named name, or NULL. */
const struct conf_site *
conf_site_find(const struct conf *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->nsites; i++)
		if (strcmp(c->sites[i].name, name) == 0)
			return &c->sites[i];
	return NULL;
}

/* conf_user_match - 1 if the users= entry s names uid (all digits) or
 * login (anything else). */
static int
conf_user_match(const char *s, uid_t uid, const char *login)
{
	size_t	 n = strlen(s);
	uint64_t v;

	if (strspn(s, "0123456789") == n)
		return conf_parse_u64(s, n, (uid_t)-1 - 1ULL, &v) == 0 &&
		    v == (uint64_t)uid;
	return login != NULL && strcmp(s, login) == 0;
}

/* conf_site_for_user - the [site] whose users= lists uid or login, or NULL.
 * Numeric entries match the uid, others the login name (login may be
 * NULL). */
const struct conf_site *
conf_site_for_user(const struct conf *c, uid_t uid, const char *login)
{
	const struct conf_site *s;
	size_t	 i, j;

	for (i = 0; i < c->nsites; i++) {
		s = &c->sites[i];
		for (j = 0; j < s->users.n; j++)
			if (conf_user_match(s->users.v[j], uid, login))
				return s;
	}
	return NULL;
}
