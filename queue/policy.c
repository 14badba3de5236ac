/*
 * policy.c - the from_policy judge of the envelope sender and the From
 * header; the rules are in policy.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat/compat.h"
#include "queue/policy.h"
#include "queue/site.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/msg.h"

#define POLICY_DOMAIN_MAX 255

/* What one From judgement found. */
struct policy_from {
	int	 foreign;		/* some From address is not owned */
	int	 has_addr;		/* some From has an address */
	int	 valid;			/* every From is a list of valid
					 * qualified mailboxes */
	char	 bad[POLICY_ADDR_MAX];	/* the first foreign address */
	struct buf orig;		/* the From values, joined by ", " */
};

/* policy_hostname - the hostname to qualify with. */
static const char *
policy_hostname(const char *hostname)
{
	return hostname != NULL && *hostname != '\0' ? hostname : "localhost";
}

/* policy_login - the local part of the site's own address. */
static const char *
policy_login(const struct site_id *site)
{
	return site->login[0] != '\0' ? site->login : site->name;
}

/* policy_site_address - <login>@<first domain> or <login>@<hostname>. */
int
policy_site_address(const struct site_id *site, const char *hostname,
    char *out, size_t len)
{
	const char *domain = policy_hostname(hostname);
	int	 n;

	if (site->conf != NULL && site->conf->domains.n > 0)
		domain = site->conf->domains.v[0];
	n = snprintf(out, len, "%s@%s", policy_login(site), domain);
	if (n < 0 || (size_t)n >= len)
		return err_set(EX_SOFTWARE, "site address of %s too long",
		    site->name);
	return 0;
}

/* policy_owns_domain - domain or one of its parent domains is the site's. */
static int
policy_owns_domain(const struct site_id *site, const char *domain)
{
	char	 d[POLICY_DOMAIN_MAX + 1];
	const char *p;
	size_t	 n = strlen(domain);

	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (n == 0 || n > POLICY_DOMAIN_MAX)
		return 0;
	memcpy(d, domain, n);
	d[n] = '\0';
	if (site_owns_domain(site, d))
		return 1;
	if (d[0] == '[')		/* a domain literal has no parents */
		return 0;
	for (p = strchr(d, '.'); p != NULL; p = strchr(p + 1, '.'))
		if (p[1] != '\0' && site_owns_domain(site, p + 1))
			return 1;
	return 0;
}

/* policy_owns - 1 if the site may send as addr. */
int
policy_owns(const struct site_id *site, const char *hostname,
    const char *addr)
{
	const char *domain;
	size_t	 len;

	if (addr == NULL || *addr == '\0')
		return 1;
	hostname = policy_hostname(hostname);
	len = strlen(addr);
	domain = addr_domain(addr);	/* the last '@' outside quotes */
	if (*domain == '\0' && addr[len - 1] == '@')
		return 0;		/* an empty domain */
	if (*domain == '\0')
		domain = hostname;	/* unqualified: <addr>@<hostname> */
	if (policy_owns_domain(site, domain))
		return 1;
	/* an address at this host (root@hostname, cron's and fail2ban's
	 * own) belongs to whichever site sends it */
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	return len == strlen(hostname) && strncasecmp(domain, hostname,
	    len) == 0;
}

/* policy_refuse - the EX_NOPERM reason for a foreign address. */
static int
policy_refuse(const struct site_id *site, const char *what, const char *addr)
{
	const char *domain = addr_domain(addr);

	if (*domain != '\0')
		return err_set(EX_NOPERM, "%s domain \"%.255s\" is not a domain "
		    "of site %s (from_policy = reject)", what, domain,
		    site->name);
	return err_set(EX_NOPERM, "%s \"%.255s\" is not an address of site %s "
	    "(from_policy = reject)", what, addr, site->name);
}

/* policy_note - append one "; "-separated item to the note. */
static void
policy_note(struct buf *note, const char *what, const char *from,
    const char *to)
{
	if (note == NULL)
		return;
	if (note->len > 0)
		(void)buf_addstr(note, "; ");
	(void)buf_printf(note, "%s <%.255s> rewritten to <%s>", what, from, to);
}

/* policy_sender - judge (and under rewrite fix) the envelope sender. */
static int
policy_sender(const struct site_id *site, const char *hostname,
    const char *own, char **sender, struct buf *note)
{
	char	*s;

	if (*sender == NULL) {
		if ((*sender = strdup(own)) == NULL)
			return err_set(EX_TEMPFAIL, "out of memory");
		return 0;
	}
	if (site->limits.from_policy == FROM_ALLOW ||
	    policy_owns(site, hostname, *sender))
		return 0;
	if (site->limits.from_policy == FROM_REJECT)
		return policy_refuse(site, "sender", *sender);
	if ((s = strdup(own)) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	policy_note(note, "sender", *sender, own);
	free(*sender);
	*sender = s;
	return 0;
}

/* policy_judge_value - judge the addresses of one From value. */
static int
policy_judge_value(const struct site_id *site, const char *hostname,
    const char *value, struct policy_from *pf)
{
	struct addrlist al = { NULL, 0 };
	struct mailbox mb;
	size_t	 i;

	if (addr_parse_list(value, &al) != 0 || al.n == 0) {
		if (!pf->foreign)
			snprintf(pf->bad, sizeof(pf->bad), "%s", value);
		pf->foreign = 1;
		pf->valid = 0;
		addr_free(&al);
		return 0;
	}
	pf->has_addr = 1;
	for (i = 0; i < al.n; i++) {
		if (addr_parse_mailbox(al.v[i], 0, &mb) != 0)
			pf->valid = 0;
		if (policy_owns(site, hostname, al.v[i]))
			continue;
		if (!pf->foreign)
			snprintf(pf->bad, sizeof(pf->bad), "%s", al.v[i]);
		pf->foreign = 1;
	}
	addr_free(&al);
	return 0;
}

/* policy_judge_from - judge every From header; collect the values. */
static int
policy_judge_from(const struct site_id *site, const char *hostname,
    const struct headers *h, struct policy_from *pf)
{
	ssize_t	 i;
	char	*value;
	int	 rc = 0;

	for (i = headers_find(h, "From", 0); i >= 0 && rc == 0;
	    i = headers_find(h, "From", (size_t)i + 1)) {
		if ((value = headers_value(h, (size_t)i)) == NULL)
			return err_set(EX_TEMPFAIL, "out of memory");
		if ((pf->orig.len > 0 && buf_addstr(&pf->orig, ", ") < 0) ||
		    buf_addstr(&pf->orig, value) < 0)
			rc = err_set(EX_TEMPFAIL, "From header too long");
		else
			rc = policy_judge_value(site, hostname, value, pf);
		free(value);
	}
	return rc;
}

/* policy_rewrite_from - replace From; keep the original value. */
static int
policy_rewrite_from(struct headers *h, const struct policy_from *pf,
    const char *own)
{
	const char *orig = buf_str(&pf->orig);

	headers_remove(h, "From");
	headers_remove(h, "X-Original-From");
	if (pf->has_addr && pf->valid && headers_find(h, "Reply-To", 0) < 0 &&
	    headers_add(h, "Reply-To", orig) != 0)
		return err_set(EX_TEMPFAIL, "cannot add Reply-To");
	if (headers_add(h, "X-Original-From", orig) != 0 ||
	    headers_add(h, "From", own) != 0)
		return err_set(EX_TEMPFAIL, "cannot rewrite From");
	return 0;
}

/* policy_from - judge (and under rewrite fix) the From header. */
static int
policy_from(const struct site_id *site, const char *hostname,
    const char *own, struct headers *h, struct buf *note)
{
	struct policy_from pf;
	int	 rc;

	if (h == NULL || site->limits.from_policy == FROM_ALLOW)
		return 0;
	memset(&pf, 0, sizeof(pf));
	pf.valid = 1;
	buf_init(&pf.orig, HDR_BLOCK_MAX);
	rc = policy_judge_from(site, hostname, h, &pf);
	if (rc == 0 && pf.foreign) {
		if (site->limits.from_policy == FROM_REJECT)
			rc = policy_refuse(site, "From", pf.bad);
		else if ((rc = policy_rewrite_from(h, &pf, own)) == 0)
			policy_note(note, "From", pf.bad, own);
	}
	buf_free(&pf.orig);
	return rc;
}

/* policy_apply - judge and fix the envelope sender and the From header. */
int
policy_apply(const struct site_id *site, const char *hostname,
    char **sender, struct headers *h, struct buf *note)
{
	char	 own[POLICY_ADDR_MAX];
	int	 rc;

	if ((rc = policy_site_address(site, hostname, own, sizeof(own))) != 0)
		return rc;
	if ((rc = policy_sender(site, hostname, own, sender, note)) != 0)
		return rc;
	return policy_from(site, hostname, own, h, note);
}
