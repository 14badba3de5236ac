/*
 * notify_int.h - the notifier's state, shared by queue/notify.c (events,
 * rate limit) and queue/notify_mail.c (the notice).  Not for other use.
 */
#ifndef SM_NOTIFY_INT_H
#define SM_NOTIFY_INT_H

#include "queue/notify.h"

#define NOTIFY_LINES	10		/* events described one by one */
#define NOTIFY_DELAY	1		/* seconds from an event to its notice */
#define NOTIFY_STATE_MAX 100000		/* sites with notice state */

/* The notice state of one site ("" = the whole spool). */
struct notify_site {
	char	*name;
	uid_t	 uid;			/* last seen, (uid_t)-1 = unknown */
	time_t	 sent;			/* last notice, 0 = never */
	time_t	 first;			/* first event not yet mailed */
	unsigned total;			/* events not yet mailed */
	unsigned count[NOTIFY_KINDS];
	char	(*lines)[512];		/* NOTIFY_LINES, while events wait */
	enum notify_kind kinds[NOTIFY_LINES];
	size_t	 nlines;
	char	 trigger[32];		/* of the first line */
	int	 over_quota;
	unsigned walk;			/* usage walk that last saw it */
};

/* The one notifier of this process. */
struct notify_state {
	const struct conf *conf;
	unsigned char key[SPOOL_KEYLEN];
	struct notify_site *sites;
	size_t	 nsites;
	unsigned walk;			/* usage walks so far */
};

extern struct notify_state nt;

/* notify_site - the notice state of site (made when new; NULL: full). */
struct notify_site *notify_site(const char *site);
/* notify_mail - queue the notice of s's pending events (notify_mail.c). */
void	notify_mail(const struct notify_site *s, time_t now);

#endif
