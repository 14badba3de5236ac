/*
 * relay.h - SMTP delivery through libcurl: a pool of reusable connections
 * that relays spooled messages in parallel (one worker thread per
 * connection slot).
 *
 * A job is one SMTP transaction: one open, verified spool message, one
 * envelope sender and the recipients still to be tried.  The body streams
 * from the spool file (pread in the read callback); it is never held in
 * memory.  Each recipient gets its own result from the server's RCPT reply
 * (seen through CURLOPT_DEBUGFUNCTION, CURLINFO_HEADER_IN, in order), and
 * recipients the server accepted get the reply to the end of DATA.  A
 * failure to connect, STARTTLS, verify the certificate or authenticate is a
 * session failure: every recipient of the job is deferred (4xx), never
 * bounced.  Targets are tried in order while they are unreachable
 * (fallback smarthosts).  Easy handles are kept per connection slot so
 * libcurl reuses the SMTP connection for the next message to the same
 * target with the same credentials.
 *
 * Threads: each slot is a worker thread that runs its job's whole SMTP
 * dialogue, so a server slow to answer one slot never delays the others.
 * The pool itself is not thread-safe: one thread (the "main" thread) calls
 * every relay_pool_* function, and done() is only ever called from its
 * relay_pool_perform(), never from a worker.  Workers block every signal
 * and never call err_set() or log_*(); their log lines (fallbacks, spool
 * read errors) are written by relay_pool_perform() before done().  While
 * a job runs, its msg, sender, rcpt, route and auth must stay unchanged
 * (the worker reads them); one msg may be in several jobs at once.
 *
 * Results (job->result[i], one per recipient, filled before done()):
 *  - the RCPT reply when the server refused the recipient (4xx defer,
 *    5xx bounce);
 *  - for accepted recipients, the reply to DATA or to the end of data
 *    (2xx sent, 4xx defer, 5xx bounce);
 *  - a 4xx/5xx reply to MAIL FROM applies to every recipient, except 421
 *    and 530 (AUTH required), which are session failures;
 *  - on a session failure (connect, greeting, STARTTLS, certificate, AUTH,
 *    timeout, connection lost before the final reply) session_failed is 1,
 *    session_text says why, and every result is code 421 (set by the
 *    relay, not the server), a 4.x.x dsn and session_text as text.  A
 *    session failure never yields a 5xx.
 * code is the SMTP reply code; dsn is the reply's enhanced status code,
 * or "C.0.0" from the reply's class when it has none; text is the whole
 * reply ("550 5.1.1 no such user", multi-line replies joined by spaces),
 * sanitised and cut to RELAY_TEXT_MAX.
 *
 * The caller may point job->result at its own array of nrcpt entries;
 * when it is NULL at submit, the relay allocates it and frees it (and
 * does not touch the job) after done() returns.  done() is called from
 * relay_pool_perform() with the slot already free, so it may submit the
 * next job or free this one.  The other fields of relay_job may be read
 * only after done().
 *
 * Fallback: route->urls are tried in order while a transfer fails before
 * MAIL FROM was sent (unreachable, greeting, TLS or AUTH failure); each
 * fallback is logged.  Once a transaction started, no other URL is tried.
 * URLs in job->skip (known dead) are passed over unless every URL is.
 * Out: job->dead has a bit for each URL that was unreachable (connect
 * failed or timed out, no greeting, a 4xx/5xx greeting, or any reply
 * timed out); job->url_ok the URL whose server took the transaction;
 * job->requeue is 1 for a session failure that says nothing about the
 * recipients (unreachable, 421, connection lost or timed out in the
 * middle): the caller retries them without counting an attempt.
 *
 * Timeouts (route): connect_timeout for the TCP connect,
 * greeting_timeout from the connect to the greeting, command_timeout for
 * each reply to a command, data_timeout for the reply to the end of data
 * (0: timeout, else 300 s).  Phase timeouts are enforced in the progress
 * callback, which libcurl calls about once a second.
 *
 * TLS: CURLUSESSL_ALL (STARTTLS required on smtp://) when require_tls and
 * not allow_plaintext; otherwise CURLUSESSL_TRY (STARTTLS when offered).
 * smtps:// is implicit TLS either way.
 *
 * Timing (libcurl 7.88): the wait for the reply to the end of data is a
 * blocking loop inside libcurl; it blocks only its own slot's thread.  On
 * a failed session libcurl also sends QUIT and may wait for its reply, so
 * a job's elapsed time can reach twice the timeout.  A connection whose
 * end of data got no reply is never reused.
 */
#ifndef SM_RELAY_H
#define SM_RELAY_H

#include <stddef.h>

#include "spool/spool.h"

#define RELAY_TEXT_MAX	512

/* How to reach one class of destination (smarthost or local transport). */
struct relay_route {
	const char *const *urls;	/* primary first, then fallbacks */
	size_t	 nurls;
	int	 require_tls;		/* smtp:// must STARTTLS (smarthost) */
	int	 tls_verify;
	const char *ca_file;		/* NULL: system store */
	int	 allow_plaintext;	/* tests on loopback only */
	const char *helo;		/* our hostname */
	long	 timeout;		/* seconds per connection / reply;
					 * 0 = 300 */
	long	 connect_timeout;	/* seconds; 0 = timeout */
	long	 greeting_timeout;	/* from connect to the 220; 0 = timeout */
	long	 command_timeout;	/* per command reply; 0 = timeout */
	long	 data_timeout;		/* reply to the end of DATA; 0 = timeout */
};

/* Credentials for AUTH (NULL username: no AUTH). */
struct relay_auth {
	const char *username;
	const char *password;
};

struct relay_rcpt_result {
	int	 code;			/* SMTP reply code (see above) */
	char	 dsn[16];		/* enhanced status "2.0.0", "4.4.1", ... */
	char	 text[RELAY_TEXT_MAX];	/* the server's reply, sanitised */
	char	 stage;			/* the command it answered: 'M' MAIL,
					 * 'R' RCPT, 'D' DATA or the end of
					 * data; 0 none (session failure) */
};

struct relay_job {
	/* filled by the caller */
	struct spool_msg *msg;
	const char *prefix;		/* bytes sent before the content (the
					 * DKIM-Signature header); may be NULL */
	size_t	 prefix_len;
	const char *sender;		/* "" = null sender */
	char	**rcpt;
	size_t	 nrcpt;
	const struct relay_route *route;
	struct relay_auth auth;
	void	(*done)(struct relay_job *);	/* called once, from perform */
	void	*ctx;
	unsigned skip;			/* route->urls known dead (bit i): not
					 * tried unless every URL is */
	/* filled by the relay before done() */
	struct relay_rcpt_result *result;	/* nrcpt entries */
	int	 session_failed;	/* connect/TLS/AUTH/protocol failure */
	char	 session_text[RELAY_TEXT_MAX];
	char	 relay_name[300];	/* "host[ip]:port" of the last target */
	double	 elapsed;		/* seconds spent on the transaction */
	unsigned dead;			/* URLs found unreachable (bit i) */
	int	 url_ok;		/* URL that took a transaction, or -1 */
	int	 requeue;		/* the session, not the recipients,
					 * failed: do not count it */
};

struct relay_pool;

/* relay_global_init - curl_global_init once per process; also sets SIGPIPE
 * to SIG_IGN so a peer closing mid-write cannot kill the process.  Call it
 * before any thread is started (relay_pool_new calls it too). */
int	relay_global_init(void);
/* relay_version - the libcurl and TLS library loaded, for --version. */
void	relay_version(FILE *);
/* relay_pool_new - a pool of up to connections parallel sessions: starts
 * one worker thread per slot (EX_TEMPFAIL if it cannot). */
int	relay_pool_new(struct relay_pool **, unsigned connections);
/* relay_pool_free - close every connection (QUIT) and join the workers.
 * Jobs still running are aborted (within about a second) and dropped
 * without done(); a server that does not answer QUIT is cut off after a
 * few seconds. */
void	relay_pool_free(struct relay_pool *);
/* relay_pool_idle - how many more jobs can start now. */
unsigned relay_pool_idle(const struct relay_pool *);
/* relay_pool_submit - start job on a free slot (EX_TEMPFAIL if none;
 * EX_CONFIG for a bad URL; EX_DATAERR for an over-long address). */
int	relay_pool_submit(struct relay_pool *, struct relay_job *);
/* relay_pool_fd - readable when a job has finished (an eventfd that
 * relay_pool_perform drains), so a poll loop can wait for jobs and other
 * descriptors at once; -1 when there is none. */
int	relay_pool_fd(const struct relay_pool *);
/* relay_pool_perform - wait up to timeout_ms for transfers, calling done()
 * for finished jobs; returns early once at least one job finished (at
 * once, without waiting, when none is running or timeout_ms <= 0).
 * Returns the number of jobs still running. */
int	relay_pool_perform(struct relay_pool *, int timeout_ms);
/* relay_sanitize - in place: CR, LF and TAB become spaces; other control
 * bytes and non-ASCII bytes become '?'. */
void	relay_sanitize(char *);

#endif
