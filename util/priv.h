/*
 * priv.h - the privileged-process preamble shared by the set-gid programs
 * (sendmail, and sitemail for site users' list/show/flush).
 */
#ifndef SM_PRIV_H
#define SM_PRIV_H

#include <sys/types.h>

/* priv_sanitize - fds 0-2, umask 027, empty environment but PATH,
 * non-dumpable, no core files.  Call first thing in main(). */
void	priv_sanitize(void);
/* priv_setid - 1 when the process runs set-uid or set-gid. */
int	priv_setid(void);
/* priv_caller - the caller's cwd and its parent's executable (read with
 * the caller's own gid, since /proc/PPID/exe needs it). */
void	priv_caller(char *cwd, size_t cwdlen, char *exe, size_t exelen);
/* priv_is_admin - 1 for root and the runner user (name from the config). */
int	priv_is_admin(uid_t, const char *runner_user);
/* priv_drop - become user (initgroups, setgid, setuid) if root. */
int	priv_drop(const char *user);

#endif
