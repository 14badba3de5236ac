/*
 * verdictd.h - the server side of the sitemaild socket (queue/verdict.h),
 * driven by sitemaild's poll loop.
 */
#ifndef SM_VERDICTD_H
#define SM_VERDICTD_H

#include <poll.h>
#include <stddef.h>

#include "util/conf.h"

struct runner;
struct verdictd;

/* verdictd_open - listen on spool_dir/state/sitemaild.sock. */
int	verdictd_open(struct verdictd **, struct runner *, const struct conf *);
/* verdictd_set_conf - the configuration after a reload. */
void	verdictd_set_conf(struct verdictd *, const struct conf *);
/* verdictd_close - close the connections and remove the socket. */
void	verdictd_close(struct verdictd *);
/* verdictd_pollfds - fill pfd (listener first); returns the count. */
size_t	verdictd_pollfds(struct verdictd *, struct pollfd *, size_t max);
/* verdictd_events - serve the events poll reported in pfd[0..n). */
void	verdictd_events(struct verdictd *, const struct pollfd *, size_t n);
/* verdictd_timeout_ms - timeout lowered to the nearest deadline. */
int	verdictd_timeout_ms(const struct verdictd *, int timeout);

#endif
