/*
 * conf.h - sitemail configuration (INI, parsed with inih).
 *
 * Files: $(SYSCONFDIR)/sitemail/sitemail.conf, then every
 * $(SYSCONFDIR)/sitemail/sites.d/ *.conf in name order.  Sections: [main],
 * [aliases], [dns], [local], [smarthost], [limits], [dkim], [smtpd],
 * [firewall], and [site NAME] (sites.d files hold [site] sections only).
 * root's site "root" is exempt from rates unless a [site root] sets them.
 * A broken sites.d file is left out, its error kept in conf.broken
 * ("FILE:LINE: what"): it never stops the other sites.
 * Durations take s/m/h/d, sizes K/M/G, rates N/s N/m N/h N/d (rate takes
 * a list, one token bucket each), ratios N%.  A missing
 * file means built-in defaults.  An unknown key or bad value fails with
 * EX_CONFIG and err_str() = "FILE:LINE: what is wrong".
 */
#ifndef SM_CONF_H
#define SM_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum conf_from_policy {
	FROM_ALLOW,
	FROM_REWRITE,
	FROM_REJECT
};

/* A list of strings from a comma-separated value. */
struct conf_list {
	char	**v;
	size_t	 n;
};

#define CONF_RATES_MAX	4		/* rate list: at most one per unit */

/* The rate list ("5/m, 20/h"): one token bucket each, sorted by period,
 * shortest first.  Bucket 0 holds burst tokens, every other bucket the N
 * of its own "N/unit". */
struct conf_rates {
	unsigned n;			/* 1..CONF_RATES_MAX */
	double	 count[CONF_RATES_MAX];	/* N of "N/unit" */
	double	 period[CONF_RATES_MAX];	/* the unit, seconds: 1 60 3600 86400 */
};

/* Per-site limits; [limits] gives the defaults every site starts from. */
struct conf_limits {
	double	 rate;			/* tokens per second of bucket 0 (set
					 * from rates when the load is done) */
	double	 burst;			/* size of bucket 0, tokens */
	double	 backlog;		/* waiting recipients before auto-freeze */
	enum conf_from_policy from_policy;
	size_t	 spool_quota;		/* bytes in the spool, tmp/ included */
	struct conf_rates rates;	/* every bucket */
	double	 max_fail_ratio;	/* 0..1; freeze above it (1 = never) */
	double	 min_fail_count;	/* failures in the hour before that */
};

struct conf_site {
	char	*name;
	struct conf_list users;		/* login names or numeric uids */
	struct conf_list domains;	/* domains the site may send as */
	struct conf_limits limits;
	char	*smarthost_username;
	char	*smarthost_password_file;
	int	 dkim;			/* sign as its domains that have keys */
	int	 dkim_subdomains;	/* a subdomain signs with its parent's key */
	char	*owner;			/* gets its logins' unqualified mail */
	char	*file;			/* where it was defined */
	int	 line;
	int	 users_line, password_line;	/* of those keys, or 0 */
};

/* rate, burst and backlog of an exempt site (root): no limit at all. */
#define CONF_LIMIT_EXEMPT	1e9

struct confidx;

/* [smtpd]: the loopback SMTP listener (sitemail-smtpd). */
struct conf_smtpd {
	struct conf_list listen;	/* "ip:port" or "[ip6]:port" */
	unsigned redirect_port;		/* also bound on 127.0.0.1 and ::1 */
	unsigned max_per_site;		/* max_connections_per_site */
	long	 timeout;		/* idle and per-command, seconds */
	int	 auth_accept;		/* auth = accept (1) | refuse (0) */
	char	*tls_cert, *tls_key;	/* "" = no STARTTLS */
};

/* [firewall]: the egress lock (sitemail firewall). */
struct conf_firewall {
	struct conf_list redirect_ports;
	struct conf_list block_ports;	/* or the single word "allow" */
	struct conf_list exempt_users;	/* besides the runner user */
};

/* [notify]: abuse notices, webhook and metrics (queue/notify.h). */
struct conf_notify {
	char	*webhook;		/* https:// URL, or "" */
	char	*metrics;		/* Prometheus textfile path, or "" */
	long	 interval;		/* seconds between notices of a site */
};

/* conf_webhook_ok - 1 if url is https://HOST..., or http:// to a
 * loopback host (127.0.0.0/8, [::1], localhost). */
int	conf_webhook_ok(const char *url);

struct conf {
	/* [main] */
	char	*hostname;
	char	*spool_dir;
	char	*user;
	size_t	 max_message_size;
	size_t	 min_free_space;	/* spool file system, bytes */
	unsigned max_recipients;
	long	 queue_lifetime;	/* seconds */
	long	 retry_min;
	long	 retry_max;
	char	*log;
	char	*alert_to;
	char	*qualify_domain;	/* "" = hostname */
	struct conf_list alias_names;	/* [aliases]: name = value */
	struct conf_list alias_values;
	long	 delay_warning;		/* seconds; 0 = no delayed DSN */
	/* [dns] */
	struct conf_list dns_servers;	/* "ip" or "ip:port" or "[ip6]:port" */
	long	 dns_timeout;
	struct conf_list local_addresses;
	struct conf_list local_mx;
	/* [local] */
	char	*local_transport;
	/* [smarthost] */
	char	*smarthost_url;
	struct conf_list smarthost_fallback;
	int	 tls_verify;
	char	*ca_file;
	char	*smarthost_username;
	char	*smarthost_password_file;
	unsigned connections;
	int	 allow_plaintext;
	unsigned site_connections;	/* slots one site may hold; 0 = half */
	long	 connect_timeout;	/* seconds (0 = the default) */
	long	 greeting_timeout;
	long	 command_timeout;
	long	 data_timeout;		/* the reply to the end of DATA */
	int	 soft_bounce;		/* 5xx replies are deferrals */
	/* [limits] */
	struct conf_limits limits;
	/* [dkim] */
	char	*dkim_keys;		/* directory of DOMAIN.SELECTOR.key */
	char	*dkim_selector;
	struct conf_smtpd smtpd;
	struct conf_firewall firewall;
	struct conf_notify notify;
	/* [site ...] */
	struct conf_site *sites;
	size_t	 nsites;
	char	*dir;			/* the configuration directory */
	struct conf_list broken;	/* errors of sites.d files left out */
	int	 main_fallback;		/* sitemail.conf is broken: its last
					   good copy is in use (broken.v[0]) */
	struct confidx *index;		/* the compiled index in use, or NULL */
	void	*loading;		/* state between conf_load_main/_done */
	char	**where;		/* "FILE:LINE" per key (conf_where) */
};

/* conf_default_dir - the compiled-in $(SYSCONFDIR)/sitemail. */
const char *conf_default_dir(void);
/* conf_load - defaults, then dir/sitemail.conf, then dir/sites.d/ *.conf
 * (dir NULL = conf_default_dir()).  Every char * in the result is non-NULL
 * ("" when unset); hostname is never "" (see util/conf.c for the default).
 * On failure nothing stays allocated and conf_free() is harmless. */
int	conf_load(struct conf *, const char *dir);
/* Staged loading (util/confidx.c, queue/site_conf.c):
 * conf_load_main, any number of conf_add_file, then conf_load_done. */
/* conf_load_main - defaults, then dir/sitemail.conf, or text parsed as
 * that file when text != NULL.  On failure c is released. */
int	conf_load_main(struct conf *, const char *dir, const char *text,
	    size_t len);
/* conf_add_file - the [site] sections of dir/sites.d/name (text, when not
 * NULL, stands for its content), all or none: on error (EX_CONFIG, with
 * err_str() = "FILE:LINE: what") c is unchanged. */
int	conf_add_file(struct conf *, const char *name, const char *text,
	    size_t len);
/* conf_add_broken - note sites.d/name as left out, with err_str(). */
int	conf_add_broken(struct conf *, const char *name);
/* conf_load_done - resolve limits, refuse users listed twice (the later
 * sites.d file is left out), default the hostname.  On failure c is
 * released. */
int	conf_load_done(struct conf *);
/* conf_sites_d_names - the *.conf names in dir/sites.d in load order. */
int	conf_sites_d_names(const char *dir, struct conf_list *names);
/* conf_where - "FILE:LINE" where [section] key (not [site]) was last
 * set, or NULL when it has its default. */
const char *conf_where(const struct conf *, const char *section,
	    const char *key);
/* conf_free - release everything conf_load() allocated. */
void	conf_free(struct conf *);
/* conf_site_find - the [site] section named name, or NULL. */
const struct conf_site *conf_site_find(const struct conf *, const char *name);
/* conf_site_for_user - the [site] whose users= lists uid (entries of
 * digits) or login (others; login may be NULL), or NULL.  A user is listed
 * in at most one site: conf_load() refuses duplicates. */
const struct conf_site *conf_site_for_user(const struct conf *, uid_t,
	    const char *login);
/* conf_alias - the [aliases] value for an unqualified name, or NULL. */
const char *conf_alias(const struct conf *, const char *name);
/* conf_parse_u64 - n decimal digits (nothing else) to a number <= max;
 * -1 if bad.  Shared with the spool envelope parser. */
int	conf_parse_u64(const char *, size_t n, uint64_t max, uint64_t *out);
/* conf_parse_duration - "90", "30s", "5m", "1h", "5d" to seconds; -1 if
 * bad or over 2^31-1 seconds. */
long	conf_parse_duration(const char *);
/* conf_parse_size - "25M" to bytes (K/M/G = 1024^n) into *out: 0, or -1
 * with errno EINVAL (garbage) or ERANGE (overflow) and *out untouched. */
int	conf_parse_size(const char *, size_t *);
/* conf_parse_rate - "100/h" to tokens per second (N whole, 0..10^9); -1
 * if bad. */
double	conf_parse_rate(const char *);
/* conf_parse_rates - a rate list "100/h, 1000/d" (commas and/or blanks,
 * at most one rate per unit; N >= 1 when there are several) into *out,
 * sorted by period; -1 if bad (*out untouched). */
int	conf_parse_rates(const char *, struct conf_rates *out);
/* conf_rates_set1 - a list of the single rate count/period. */
void	conf_rates_set1(struct conf_rates *, double count, double period);

#endif
