/*
 * relay.h - SMTP delivery through libcurl: a pool of reusable connections
 * that relays spooled messages in parallel (curl multi interface).
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
	long	 timeout;		/* seconds per connection / reply */
};

/* Credentials for AUTH (NULL username: no AUTH). */
struct relay_auth {
	const char *username;
	const char *password;
};

struct relay_rcpt_result {
	int	 code;			/* SMTP reply code; 0 = not tried */
	char	 dsn[16];		/* enhanced status "2.0.0", "4.4.1", ... */
	char	 text[RELAY_TEXT_MAX];	/* the server's reply, sanitised */
};

struct relay_job {
	/* filled by the caller */
	struct spool_msg *msg;
	const char *sender;		/* "" = null sender */
	char	**rcpt;
	size_t	 nrcpt;
	const struct relay_route *route;
	struct relay_auth auth;
	void	(*done)(struct relay_job *);	/* called once, from perform */
	void	*ctx;
	/* filled by the relay before done() */
	struct relay_rcpt_result *result;	/* nrcpt entries */
	int	 session_failed;	/* connect/TLS/AUTH/protocol failure */
	char	 session_text[RELAY_TEXT_MAX];
	char	 relay_name[300];	/* "host[ip]:port" of the last target */
	double	 elapsed;		/* seconds spent on the transaction */
};

struct relay_pool;

/* relay_global_init - curl_global_init once per process. */
int	relay_global_init(void);
/* relay_pool_new - a pool of up to connections parallel sessions. */
int	relay_pool_new(struct relay_pool **, unsigned connections);
/* relay_pool_free - close every connection. */
void	relay_pool_free(struct relay_pool *);
/* relay_pool_idle - how many more jobs can start now. */
unsigned relay_pool_idle(const struct relay_pool *);
/* relay_pool_submit - start job on a free slot (EX_TEMPFAIL if none). */
int	relay_pool_submit(struct relay_pool *, struct relay_job *);
/* relay_pool_perform - drive transfers for up to timeout_ms, calling done()
 * for finished jobs.  Returns the number of jobs still running. */
int	relay_pool_perform(struct relay_pool *, int timeout_ms);
/* relay_sanitize - replace CR, LF, NUL and control bytes in place. */
void	relay_sanitize(char *);

#endif
