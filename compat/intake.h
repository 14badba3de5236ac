/*
 * intake.h - the shared intake rules: one message from a known caller into
 * a signed spool file.  Used by sendmail(8) and by sitemail-smtpd(8).
 */
#ifndef SM_INTAKE_H
#define SM_INTAKE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "compat/compat.h"
#include "queue/site.h"
#include "spool/spool.h"
#include "util/conf.h"

/* A caller whose site is known: one per sendmail process, one per
 * listener session.  The caller fills conf, cwd, exe and (optionally)
 * fullname and origdst, then calls intake_site(). */
struct intake {
	const struct conf *conf;
	struct site_id site;		/* intake_site() */
	char	 own_addr[512];		/* the site's own sender address */
	char	 cwd[PATH_MAX];		/* caller's working directory */
	char	 exe[PATH_MAX];		/* caller's parent executable */
	char	 origdst[128];		/* listener: where the client tried
					 * to connect ("" for sendmail) */
	const char *fullname;		/* -F, or NULL */
	int	 trusted;		/* the listener: sitemaild takes the
					 * site's uid from the request */
	unsigned char key[SPOOL_KEYLEN];
	int	 have_key;
};

/* intake_site - fix the caller's site (by uid) and its own address. */
int	intake_site(struct intake *, uid_t uid);
/* intake_message - take one message: argv/RCPT recipients (plus the
 * header's with extract), the input stream, the envelope sender (NULL: the
 * site's own address).  Returns 0 with qid filled once the file is
 * committed, or a sysexits status with err_str() set.  With src->dot ==
 * DOT_SMTP the stream is always read to its terminating dot. */
int	intake_message(struct intake *, const char *sender, char **rcpt,
	    size_t nrcpt, int extract, struct linein *src, char *qid,
	    size_t qidlen);
/* intake_recipients - the envelope recipients argv words give (parsed,
 * aliased, qualified and deduplicated as intake_message does), for -bv. */
int	intake_recipients(struct intake *, char **rcpt, size_t nrcpt,
	    struct addrlist *out);
/* intake_close - release what intake_message() opened on the way. */
void	intake_close(struct intake *);

#endif
