/*
 * tlsin.h - server-side TLS for the listener's STARTTLS (OpenSSL libssl),
 * kept apart from smtpin.c so sendmail(8) never links it.
 */
#ifndef SM_TLSIN_H
#define SM_TLSIN_H

#include "compat/compat.h"

/* tlsin_init - load cert and key (PEM) into the process's server context;
 * 0, or EX_CONFIG with err_str() set.  Call before dropping privileges. */
int	tlsin_init(const char *cert, const char *key);
/* tlsin_starttls - smtpin_ops.starttls: the TLS handshake on fd, then io
 * reads and writes through it (errno EAGAIN on a socket timeout). */
int	tlsin_starttls(void *ctx, int fd, struct smtpin_io *io);
/* tlsin_done - after the session: close_notify and free its TLS state
 * (a worker serves many sessions). */
void	tlsin_done(void);

#endif
