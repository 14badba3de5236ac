/*
 * msgfix.h - the header fixes every submitted message gets (Postfix
 * cleanup's job): recipient extraction for -t, removal of Bcc, Resent-Bcc,
 * Return-Path and Content-Length, missing Date / Message-ID / From, and the Received line.
 */
#ifndef SM_MSGFIX_H
#define SM_MSGFIX_H

#include <sys/types.h>
#include <time.h>

#include "compat/compat.h"

struct msgfix_info {
	const char *qid;
	const char *hostname;
	const char *login;
	uid_t	 uid;
	const char *site;
	const char *sender;		/* envelope sender for a missing From */
	const char *fullname;		/* -F, or NULL */
	time_t	 now;
};

/* msgfix_extract - -t: add To/Cc/Bcc addresses (Resent-* when present). */
int	msgfix_extract(const struct headers *, struct addrlist *);
/* msgfix_hide - remove Bcc, Resent-Bcc, Return-Path and Content-Length. */
void	msgfix_hide(struct headers *);
/* msgfix_complete - add Date, Message-ID and From when missing. */
int	msgfix_complete(struct headers *, const struct msgfix_info *);
/* msgfix_received - prepend the sitemail Received trace field. */
int	msgfix_received(struct headers *, const struct msgfix_info *);
/* msgfix_date - an RFC 5322 date for t into out (at least 40 bytes). */
void	msgfix_date(time_t, char *out, size_t len);

#endif
