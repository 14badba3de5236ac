/*
 * firewall.h - the egress lock: the nftables table "inet sitemail" that
 * sends site users' SMTP connections to sitemail-smtpd (sitemail firewall).
 */
#ifndef SM_FIREWALL_H
#define SM_FIREWALL_H

#include <stdio.h>

#include "util/buf.h"
#include "util/conf.h"

enum firewall_mode {
	FIREWALL_PRINT,			/* print the ruleset */
	FIREWALL_APPLY,			/* load it atomically with nft -f - */
	FIREWALL_REMOVE			/* delete the table */
};

/* firewall_ruleset - the nft script for conf into out; runner_uid and the
 * exempt uids (resolved by the caller) may connect anywhere.  0, or a
 * sysexits status with err_str() set. */
int	firewall_ruleset(const struct conf *, const unsigned long *exempt,
	    size_t nexempt, struct buf *out);
/* firewall_run - print, apply or remove (apply and remove run nft and
 * need root). */
int	firewall_run(const struct conf *, enum firewall_mode, FILE *out);

#endif
