/*
 * verdict.h - the local socket between the set-gid programs and sitemaild.
 *
 * sitemaild is the single writer of shared state.  The set-gid programs
 * (sendmail, and sitemail run by a site user) run inside processes a site
 * controls, so they never open a tdb file or take a lock: what they need
 * from the shared state they ask sitemaild over the unix stream socket
 * spool_dir/state/sitemaild.sock (mode 0660, group sitemail; the state/
 * directory is 0770, so only the set-gid group and the runner reach it).
 *
 * Wire format: one request line per connection, at most VERDICT_LINE_MAX
 * bytes, words separated by single spaces, values %-escaped (see
 * verdict_escape: any byte outside 0x21-0x7e other than these, and '%'
 * and '=' themselves, as %XX):
 *	charge uid=N nrcpt=N size=N time=SECONDS.USEC qid=QID
 *	refund qid=QID
 *	list [json=1] [site=S] [sender=RE] [rcpt=RE] [frozen=1]
 *	show qid=QID [mode=0|1|2] [json=1]
 *	flush [id=QID] [domain=D] [sender=S]
 *	verify addr=ADDRESS	(one recipient, answered from the DNS
 *				cache only: "ok" then one line)
 * The first answer line is "ok" plus key=value words, or
 * "err STATUS TEXT" (STATUS a sysexits code); list, show and verify then
 * stream their text until sitemaild closes the connection.  A charge is
 * answered "ok verdict=send|hold|frozen-hold|refused site=S hold=T
 * tokens=X backlog=X limit=X".
 *
 * Identity: sitemaild takes the caller's uid from SO_PEERCRED, never from
 * the request.  Only a peer running as root or the runner user (the
 * loopback listener, which identifies its clients itself) may state the
 * uid of the site it acts for with uid=.
 *
 * Timeouts: the client gives up after a short deadline (VERDICT_CHARGE_MS
 * for a charge); a charge with no answer is committed uncharged
 * (SPOOL_F_NOVERDICT) and the runner charges it when it picks the file up.
 * sitemaild serves every connection without blocking and drops one that
 * does not send its request within VERDICT_READ_MS, so a stopped client
 * delays nobody else.
 */
#ifndef SM_VERDICT_H
#define SM_VERDICT_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "queue/bucket.h"

#define VERDICT_SOCK		"state/sitemaild.sock"	/* under spool_dir */
#define VERDICT_LINE_MAX	4096
#define VERDICT_CHARGE_MS	500	/* intake's wait for a charge */
#define VERDICT_QUERY_MS	10000	/* a listing's total deadline */
#define VERDICT_READ_MS		1000	/* sitemaild's wait for a request */

/* A charge request as intake sends it. */
struct verdict_req {
	uid_t	 uid;			/* for a trusted peer; else ignored */
	const char *qid;
	unsigned nrcpt;
	unsigned long long size;
	long long sec;
	long	 usec;
};

/* sitemaild's answer to a charge. */
struct verdict_ans {
	enum bucket_verdict verdict;
	char	 site[256];		/* the site sitemaild charged */
	double	 hold;			/* HOLD: unix time the hold ends */
	double	 tokens;		/* balance after the charge */
	double	 backlog;		/* recipients waiting */
	double	 limit;			/* the site's backlog limit */
};

/* verdict_charge - ask for the bucket verdict of one message.  0 with ans
 * filled; EX_UNAVAILABLE when sitemaild did not answer in timeout_ms (the
 * caller commits uncharged); another status for an answer "err". */
int	verdict_charge(const char *spool_dir, const struct verdict_req *,
	    int trusted, struct verdict_ans *, int timeout_ms);
/* verdict_refund - undo a charge whose message was not committed. */
int	verdict_refund(const char *spool_dir, const char *qid, int timeout_ms);
/* verdict_query - send one request line (list, show, flush, verify) and
 * copy the streamed answer to out.  0, EX_UNAVAILABLE (no answer), or
 * the status of an "err" answer with err_str() set to its text. */
int	verdict_query(const char *spool_dir, const char *line, FILE *out,
	    int timeout_ms);
/* verdict_ask - a request "VERB key=value..." built from NULL-terminated
 * key/value pairs (NULL or empty values left out), answer copied to out;
 * EX_TEMPFAIL with a clear message when sitemaild does not answer. */
int	verdict_ask(const char *spool_dir, FILE *out, const char *verb, ...)
	    __attribute__((sentinel));
/* verdict_escape - append key=value to b with the value %-escaped. */
struct buf;
int	verdict_escape(struct buf *b, const char *key, const char *value);
/* verdict_unescape - decode a %-escaped value in place; -1 if malformed. */
int	verdict_unescape(char *s);
/* verdict_word - the value of key= among the words of line (unescaped
 * into out), or NULL. */
const char *verdict_word(const char *line, const char *key, char *out,
	    size_t outlen);
/* verdict_name - "send", "hold", "frozen-hold" or "refused". */
const char *verdict_name(enum bucket_verdict);

#endif
