/*
 * priv.c - process hygiene for set-gid programs and privilege dropping.
 */
#include <fcntl.h>
#include <signal.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/msg.h"
#include "util/priv.h"

#define PRIV_SAFE_PATH	"PATH=/usr/sbin:/usr/bin:/sbin:/bin"

/* priv_sanitize - make the inherited process state safe. */
void
priv_sanitize(void)
{
	struct rlimit rl = { 0, 0 };
	int	 fd;

	/* fds 0-2 must exist, or a later open() would take their place. */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd < 0)
		_exit(EX_OSERR);
	close(fd);
	umask(027);
	/* A file size limit makes writes fail (EFBIG), never kills us. */
	signal(SIGXFSZ, SIG_IGN);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
	if (clearenv() != 0 || putenv((char *)PRIV_SAFE_PATH) != 0)
		_exit(EX_OSERR);
}

/* priv_setid - 1 when running set-id. */
int
priv_setid(void)
{
	return getegid() != getgid() || geteuid() != getuid();
}

/* priv_caller - record the caller's cwd and its parent's executable. */
void
priv_caller(char *cwd, size_t cwdlen, char *exe, size_t exelen)
{
	char	 path[64];
	gid_t	 egid = getegid();
	int	 dropped = 0;
	ssize_t	 n;

	if (getcwd(cwd, cwdlen) == NULL)
		snprintf(cwd, cwdlen, "?");
	if (egid != getgid() && setegid(getgid()) == 0)
		dropped = 1;
	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)getppid());
	n = readlink(path, exe, exelen - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (n <= 0)
		snprintf(exe, exelen, "?");
	if (dropped && setegid(egid) != 0)
		msg_fatal(EX_OSERR, "cannot restore group privileges");
}

/* priv_is_admin - root, or the runner user. */
int
priv_is_admin(uid_t uid, const char *runner_user)
{
	struct passwd pw, *res = NULL;
	char	 pbuf[4096];

	if (uid == 0)
		return 1;
	if (getpwnam_r(runner_user, &pw, pbuf, sizeof(pbuf), &res) != 0 ||
	    res == NULL)
		return 0;
	return pw.pw_uid == uid;
}

/* priv_drop - switch to user for good when running as root. */
int
priv_drop(const char *user)
{
	struct passwd pw, *res = NULL;
	char	 pbuf[4096];

	if (geteuid() != 0)
		return 0;
	if (getpwnam_r(user, &pw, pbuf, sizeof(pbuf), &res) != 0 || !res)
		return err_set(EX_NOUSER, "no such user \"%s\"", user);
	if (initgroups(user, pw.pw_gid) != 0 || setgid(pw.pw_gid) != 0 ||
	    setuid(pw.pw_uid) != 0)
		return err_set(EX_OSERR, "cannot become user %s: %s", user,
		    strerror(errno));
	if (setuid(0) == 0)
		return err_set(EX_OSERR, "could regain root after dropping");
	return 0;
}
