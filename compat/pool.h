/*
 * pool.h - the pre-forked session workers of sitemail-smtpd: each worker
 * accepts, identifies and serves one connection at a time, and the
 * per-site session count is kept in memory the workers share.
 */
#ifndef SM_POOL_H
#define SM_POOL_H

#include <signal.h>
#include <stddef.h>

#define POOL_SITE_MAX	255		/* SITE_NAME_MAX */

struct pool_ops {
	/* identify the client on fd (in a worker): 0 with site filled, or
	 * non-zero after the refusal was sent */
	int	(*identify)(void *ctx, int fd, char *site, size_t len);
	/* serve one session on fd (in a worker) */
	void	(*session)(void *ctx, int fd);
	/* the site already holds n sessions: send the refusal */
	void	(*too_many)(void *ctx, int fd, const char *site, unsigned n);
	/* in the parent, at least every half second: 1 when the
	 * configuration was reloaded (the workers are then replaced) */
	int	(*tick)(void *ctx);
	void	*ctx;
	const int *lfd;			/* listening sockets */
	size_t	 nlfd;
	const unsigned *max_per_site;	/* read at each connection */
	volatile sig_atomic_t *stop;	/* set by SIGTERM */
};

/* pool_run - start the workers and keep enough of them idle until *stop;
 * then let running sessions finish on their own.  0, or a sysexits
 * status with err_str() set. */
int	pool_run(const struct pool_ops *);

#endif
