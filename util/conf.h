/*
 * conf.h - sitemail configuration (INI, parsed with inih).
 *
 * Files: $(SYSCONFDIR)/sitemail/sitemail.conf, then every
 * $(SYSCONFDIR)/sitemail/sites.d/ *.conf in name order.  Sections: [main],
 * [dns], [local], [smarthost], [limits], and [site NAME] (any file).  The
 * site "system" (root and uid < 1000) may be given its own [site system].
 * Durations take s/m/h/d, sizes K/M/G, rates N/s N/m N/h N/d.  A missing
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

/* Per-site limits; [limits] gives the defaults every site starts from. */
struct conf_limits {
	double	 rate;			/* tokens per second */
	double	 burst;			/* bucket size, tokens */
	double	 backlog;		/* waiting recipients before auto-freeze */
	enum conf_from_policy from_policy;
};

struct conf_site {
	char	*name;
	struct conf_list users;		/* login names or numeric uids */
	struct conf_list domains;	/* domains the site may send as */
	struct conf_limits limits;
	char	*smarthost_username;
	char	*smarthost_password_file;
	char	*file;			/* where it was defined */
	int	 line;
};

struct conf {
	/* [main] */
	char	*hostname;
	char	*spool_dir;
	char	*user;
	size_t	 max_message_size;
	unsigned max_recipients;
	long	 queue_lifetime;	/* seconds */
	long	 retry_min;
	long	 retry_max;
	char	*log;
	char	*alert_to;
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
	/* [site ...] */
	struct conf_site *sites;
	size_t	 nsites;
	char	*dir;			/* the configuration directory */
};

/* conf_default_dir - the compiled-in $(SYSCONFDIR)/sitemail. */
const char *conf_default_dir(void);
/* conf_load - defaults, then dir/sitemail.conf, then dir/sites.d/ *.conf
 * (dir NULL = conf_default_dir()).  Every char * in the result is non-NULL
 * ("" when unset); hostname is never "" (see util/conf.c for the default).
 * On failure nothing stays allocated and conf_free() is harmless. */
int	conf_load(struct conf *, const char *dir);
/* conf_free - release everything conf_load() allocated. */
void	conf_free(struct conf *);
/* conf_site_find - the [site] section named name, or NULL. */
const struct conf_site *conf_site_find(const struct conf *, const char *name);
/* conf_site_for_user - the [site] whose users= lists uid (entries of
 * digits) or login (others; login may be NULL), or NULL.  A user is listed
 * in at most one site: conf_load() refuses duplicates. */
const struct conf_site *conf_site_for_user(const struct conf *, uid_t,
	    const char *login);
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

#endif
