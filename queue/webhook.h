/*
 * webhook.h - the [notify] webhook: one JSON POST per event (notify.h),
 * sent by a worker thread of sitemaild with retries and backoff, so that
 * neither intake nor the runner's loop ever waits for the receiver.
 *
 * Body (application/json, one object, built by queue/notify.c):
 *	{"event": "freeze"|"thaw"|"quota"|"quarantine", "site": S,
 *	 "uid": N or null, "trigger": T, "figures": {NAME: NUMBER, ...},
 *	 "top_scripts": [{"script": S, "count": N}, ...],
 *	 "top_cwds": [{"cwd": S, "count": N}, ...], "detail": S,
 *	 "time": "YYYY-MM-DDTHH:MM:SSZ", "host": [main] hostname}
 */
#ifndef SM_WEBHOOK_H
#define SM_WEBHOOK_H

#include <stddef.h>

#include "util/conf.h"

#define WEBHOOK_PENDING		256	/* events kept; the oldest go first */
#define WEBHOOK_TRIES		10	/* then the event is dropped */
#define WEBHOOK_BACKOFF_MAX	300	/* seconds between tries, at most */
#define WEBHOOK_TIMEOUT		10	/* seconds per try */

/* webhook_open - start the worker for url (https://, or http:// to
 * loopback), or point a running one at a new url; ca_file "" = system. */
int	webhook_open(const char *url, const char *ca_file);
/* webhook_post - queue one JSON body (copied); never blocks on the
 * network. */
void	webhook_post(const char *body);
/* webhook_pending - events not delivered yet. */
size_t	webhook_pending(void);
/* webhook_close - stop the worker, forget what is pending. */
void	webhook_close(void);

#endif
