/*
 * policy.h - from_policy: may this site send as this sender / From?
 *
 * What a site owns (shared/DESIGN.md "Policy at intake"):
 *   - every address in one of its domains= (case-insensitive), and in any
 *     subdomain of one: with shop.test listed, mail.shop.test is owned too
 *     (but evilshop.test is not);
 *   - every address at <hostname>: intake qualifies "root", cron's
 *     "From: root" and "-f fail2ban" with the hostname first, and such
 *     system mail is never rewritten (shared/DESIGN.md);
 *   - the null sender "" (bounces) always passes.
 * An address without an '@' (outside quotes) is judged as
 * <address>@<hostname>; the domain is what follows the last such '@'.  A trailing
 * dot on a domain is ignored.  A domain literal ([192.0.2.1]) is owned only
 * if it is listed as such.
 *
 * The site's own address is <login>@<first domain>, or <login>@<hostname>
 * when the site has no domains (so under rewrite every foreign sender of
 * such a site becomes <login>@<hostname>, and under reject only that
 * address and the null sender pass).
 *
 * Policies, for the envelope sender and for every address of every From
 * header (a From with no parseable address counts as foreign):
 *   allow    nothing changes.
 *   reject   a foreign one fails with EX_NOPERM.
 *   rewrite  a foreign envelope sender becomes the site address; a foreign
 *            From is replaced by "From: <site address>" (bare address, the
 *            display name is dropped: it is part of the forgery), the
 *            original From value goes to Reply-To when the message has
 *            none (and only when every original address is a valid,
 *            qualified mailbox: no junk Reply-To), and always to
 *            X-Original-From (any X-Original-From the site wrote is
 *            removed first).  The new fields are appended.
 */
#ifndef SM_POLICY_H
#define SM_POLICY_H

#include <stddef.h>

#include "compat/compat.h"
#include "queue/site.h"
#include "util/buf.h"

#define POLICY_ADDR_MAX	512		/* site address buffer size */

/* policy_site_address - the site's own address into out; EX_SOFTWARE if
 * it does not fit. */
int	policy_site_address(const struct site_id *, const char *hostname,
	    char *out, size_t len);
/* policy_owns - 1 if the site may send as addr (rules above), else 0. */
int	policy_owns(const struct site_id *, const char *hostname,
	    const char *addr);
/* policy_apply - judge and fix the envelope sender and the From header
 * under site->limits.from_policy.  *sender is malloc'd and may be replaced
 * (a NULL *sender becomes the site address under every policy).  What was
 * rewritten is appended to note (if not NULL) as "sender <a> rewritten to
 * <b>; From <c> rewritten to <b>".  With no From header only the sender
 * is judged, so it may run before or after a missing From is added from
 * the (judged) sender.  Returns 0,
 * EX_NOPERM (reject; err_str() names the address, the site and the
 * policy), or EX_TEMPFAIL (out of memory). */
int	policy_apply(const struct site_id *, const char *hostname,
	    char **sender, struct headers *, struct buf *note);

#endif
