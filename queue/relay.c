/*
 * relay.c - SMTP delivery through libcurl; see relay.h.
 *
 * Threads.  Each of the "connections" slots is a worker thread that runs
 * its jobs with curl_easy_perform on its own easy handle, reset and reused
 * for every job.  The connection stays in that handle's connection cache
 * (at most one, CURLOPT_MAXCONNECTS 1), so the slot's next job to the same
 * URL with the same credentials and TLS settings reuses the open SMTP
 * session (MAIL FROM follows the previous transaction's "250" directly).
 * libcurl closes a connection whose transfer failed before the end of
 * data; one that got no reply to the end of data (timeout, abort) it
 * keeps, so the worker shuts that socket down (relay_slot_perform) and a
 * session out of step is never reused.  libcurl 7.88 waits for the reply
 * to the end of data, and for the reply to QUIT, in a blocking loop; under
 * one multi handle that stalled every other connection, in a worker it
 * blocks only that slot.
 *
 * Hand-over.  The main thread (the caller of relay_pool_submit and
 * relay_pool_perform) prepares a job on an idle slot while its worker is
 * parked (URL, options, state), sets the slot's "queued" flag and signals
 * the slot's condition variable.  The worker runs the transfer, and any
 * fallback URLs, to the end, appends the slot to the pool's done list and
 * signals the pool's condition variable, on which relay_pool_perform
 * waits; perform then calls done() from the main thread.  The pool mutex
 * guards "queued", the done list and the table of open sockets; the rest
 * of a slot belongs to the side that holds its job, and passing the job
 * through the mutex orders every access.
 *
 * Workers call nothing that is not thread-safe: no err_set() (one static
 * buffer) and no log_*() (the main thread may reopen the log meanwhile).
 * What a worker has to report (fallbacks, spool read errors) is kept in
 * the slot's notes and logged by the main thread before done().  The
 * content is read with pread(2) on the open spool file, not with
 * spool_read_content(), which reports errors through err_set().  Workers
 * start with every signal blocked, so the process's signals (SIGTERM,
 * SIGHUP, a signalfd) go to the main thread only.
 *
 * Shutdown: relay_pool_free sets the stop flag, wakes every worker and
 * joins them.  A transfer in progress sees the flag in its progress
 * callback, which libcurl calls at least once a second, also inside its
 * blocking waits, and is aborted (the connection is closed without QUIT).
 * Each worker then frees its easy handle, which sends QUIT on its idle
 * connection, all slots at once.  A server that does not answer QUIT gets
 * RELAY_STOP_GRACE seconds; then every socket libcurl opened (tracked
 * through CURLOPT_OPENSOCKETFUNCTION / CLOSESOCKETFUNCTION) is shut down,
 * so relay_pool_free never waits for a peer much longer than that.
 *
 * Per-recipient replies: libcurl reports one error for the whole
 * transaction, so the verbose debug stream is used instead.  Every command
 * line libcurl sends arrives as CURLINFO_HEADER_OUT and every reply line
 * as CURLINFO_HEADER_IN, strictly in order (SMTP in libcurl does not
 * pipeline).  The slot tracks the phase from the commands (greeting, EHLO,
 * STARTTLS, AUTH, MAIL, RCPT n, DATA, end of data) and files each complete
 * reply (multi-line replies joined) under that phase.  Credentials sent in
 * AUTH are never stored or logged.
 *
 * Content is the spool's CRLF text, not dot-stuffed; libcurl dot-stuffs
 * an SMTP upload itself (tested with lines that begin with ".").
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "compat/wire.h"
#include "queue/relay.h"
#include "util/buf.h"
#include "util/msg.h"

#ifdef CURLOPT_MAIL_RCPT_ALLOWFAILS
#define RELAY_OPT_ALLOWFAILS	CURLOPT_MAIL_RCPT_ALLOWFAILS
#else
#define RELAY_OPT_ALLOWFAILS	CURLOPT_MAIL_RCPT_ALLLOWFAILS
#endif

#define RELAY_TIMEOUT_DEFAULT	300L	/* seconds, when the route gives 0 */
#define RELAY_LINE_MAX		2048	/* one reply line kept for parsing */
#define RELAY_SESSION_CODE	421	/* result code after a session failure */
#define RELAY_NOTES_MAX		8192	/* a worker's log lines for one job */
#define RELAY_SOCKS		4	/* sockets tracked per slot */
#define RELAY_STOP_GRACE	5	/* seconds for QUIT before sockets are
					 * shut down in relay_pool_free */

/* Where the SMTP dialogue is, as seen from the commands libcurl sent. */
enum relay_phase {
	PH_GREETING,			/* new connection, nothing sent */
	PH_EHLO,
	PH_STARTTLS,
	PH_AUTH,
	PH_MAIL,
	PH_RCPT,
	PH_DATA,			/* DATA sent, waiting for 354 */
	PH_BODY,			/* content sent, waiting for the end */
	PH_DONE,			/* end-of-data reply received */
	PH_OTHER			/* QUIT, RSET, NOOP, ... */
};

/* One complete server reply. */
struct relay_reply {
	int	 code;			/* 0 = none */
	int	 phase;			/* the phase it answered */
	char	 text[RELAY_TEXT_MAX];	/* "250 2.0.0 text", sanitised */
};

struct relay_slot {
	struct relay_pool *pool;
	CURL	*easy;			/* freed by the worker as it exits */
	pthread_t thread;
	int	 thread_ok;		/* the worker runs */
	pthread_cond_t wake;		/* queued was set, or stop */
	int	 wake_ok;
	/* Under pool->lock. */
	int	 queued;		/* a job waits for the worker */
	struct relay_slot *next_done;	/* on the pool's done list */
	curl_socket_t socks[RELAY_SOCKS]; /* libcurl's open sockets, or -1 */
	/* The job's side: main thread while idle or done, worker meanwhile. */
	struct relay_job *job;		/* NULL when idle */
	int	 result_owned;		/* job->result was allocated here */
	struct buf notes;		/* log lines for the main thread */
	char	 from[1024];		/* "<sender>" */
	struct curl_slist *rcpts;
	char	*url;			/* current URL with the HELO path */
	char	*host;			/* its host part, for relay_name */
	long	 url_port;
	size_t	 urlidx;		/* index into route->urls */
	uint64_t off;			/* content bytes handed to libcurl */
	struct wire *wire;		/* the content in wire form */
	int	 phase;
	int	 mail_sent;		/* a transaction was started */
	int	 quitting;		/* QUIT sent: later replies ignored */
	size_t	 nrcpt_sent;		/* RCPT commands seen */
	char	 line[RELAY_LINE_MAX];	/* reply line being received */
	size_t	 linelen;
	struct relay_reply cur;		/* multi-line reply being joined */
	struct relay_reply last;	/* last complete reply */
	struct relay_reply mail;	/* reply to MAIL FROM */
	struct relay_reply data;	/* reply to DATA or to the end of data */
	char	 errbuf[CURL_ERROR_SIZE];
	struct timespec start;
	double	 wait_since;		/* a reply is awaited since (mono s) */
	long	 wait_limit;		/* for so long; 0 = nothing awaited */
	const char *wait_what;		/* "the greeting", ... */
	const char *timed_out;		/* what we gave up waiting for */
	int	 greet_pending;		/* connecting: the greeting timer
					 * starts once connected */
	int	 body_sent;		/* all content handed to libcurl */
};

struct relay_pool {
	pthread_mutex_t lock;
	int	 lock_ok;
	pthread_cond_t done_cv;		/* a slot joined the done list */
	int	 done_cv_ok;
	atomic_int stop;		/* relay_pool_free: workers exit */
	struct relay_slot *done_head;	/* finished, in order; under lock */
	struct relay_slot *done_tail;
	struct relay_slot *slots;
	unsigned nslots;
	unsigned busy;			/* slots with a job; main thread only */
	int	 evfd;			/* eventfd: readable when a job is done */
};

/* relay_textf - format display text into a fixed field; server text may
 * be cut at the field's end (it is only ever shown, never parsed). */
static void __attribute__((format(printf, 3, 4)))
relay_textf(char *dst, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

/* relay_version - the libcurl and TLS library loaded, for --version. */
void
relay_version(FILE *f)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	fprintf(f, "libcurl %s loaded (%s)\n", cv->version,
	    cv->ssl_version ? cv->ssl_version : "no TLS");
}

/* relay_global_init - curl_global_init once per process. */
int
relay_global_init(void)
{
	static int done;
	CURLcode rc;

	if (done)
		return 0;
	/* A peer that closes mid-write must not kill the runner. */
	signal(SIGPIPE, SIG_IGN);
	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
		return err_set(EX_SOFTWARE, "curl_global_init: %s",
		    curl_easy_strerror(rc));
	done = 1;
	return 0;
}

/* relay_sanitize - CR, LF, TAB to spaces; other controls and non-ASCII to
 * '?', in place. */
void
relay_sanitize(char *s)
{
	unsigned char *p;

	for (p = (unsigned char *)s; *p; p++) {
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
		else if (*p < 0x20 || *p >= 0x7f)
			*p = '?';
	}
}

/* relay_note - keep one log line for the main thread (level 'W' warning,
 * 'E' error); workers must not log themselves.  Dropped when full. */
static void __attribute__((format(printf, 3, 4)))
relay_note(struct relay_slot *slot, int level, const char *fmt, ...)
{
	char	 line[RELAY_TEXT_MAX * 2];
	va_list	 ap;

	line[0] = (char)level;
	va_start(ap, fmt);
	vsnprintf(line + 1, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	(void)buf_add(&slot->notes, line, strlen(line) + 1);
}

/* relay_notes_log - log a slot's notes (main thread) and forget them. */
static void
relay_notes_log(struct relay_slot *slot)
{
	const char *p = slot->notes.ptr, *end;

	if (p == NULL)
		return;
	for (end = p + slot->notes.len; p < end; p += strlen(p) + 1) {
		if (*p == 'E')
			log_error("%s", p + 1);
		else
			log_warn("%s", p + 1);
	}
	buf_reset(&slot->notes);
}

/* relay_mono - a monotonic clock in seconds. */
static double
relay_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* relay_tmo - one of the route's timeouts, or its default. */
static long
relay_tmo(const struct relay_route *route, long t)
{
	if (t > 0)
		return t;
	return route->timeout > 0 ? route->timeout : RELAY_TIMEOUT_DEFAULT;
}

/* relay_await - a reply is now awaited, for at most limit seconds. */
static void
relay_await(struct relay_slot *slot, long limit, const char *what)
{
	slot->wait_since = relay_mono();
	slot->wait_limit = limit;
	slot->wait_what = what;
}

/* relay_slot_clear - forget the per-job state of a slot. */
static void
relay_slot_clear(struct relay_slot *slot)
{
	curl_slist_free_all(slot->rcpts);
	slot->rcpts = NULL;
	free(slot->url);
	slot->url = NULL;
	free(slot->host);
	slot->host = NULL;
	wire_free(slot->wire);
	slot->wire = NULL;
	slot->job = NULL;
	slot->result_owned = 0;
}

static void relay_slot_run(struct relay_slot *);
static size_t relay_next_url(const struct relay_job *, size_t);

/* relay_worker - a slot's thread: run each queued job, hand it back. */
static void *
relay_worker(void *arg)
{
	struct relay_slot *slot = arg;
	struct relay_pool *pool = slot->pool;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!slot->queued && !atomic_load(&pool->stop))
			pthread_cond_wait(&slot->wake, &pool->lock);
		if (atomic_load(&pool->stop))
			break;
		slot->queued = 0;
		pthread_mutex_unlock(&pool->lock);
		relay_slot_run(slot);
		pthread_mutex_lock(&pool->lock);
		slot->next_done = NULL;
		if (pool->done_tail != NULL)
			pool->done_tail->next_done = slot;
		else
			pool->done_head = slot;
		pool->done_tail = slot;
		pthread_cond_signal(&pool->done_cv);
		if (pool->evfd >= 0)
			(void)eventfd_write(pool->evfd, 1);
	}
	pthread_mutex_unlock(&pool->lock);
	/* QUIT on the idle connection, if any, in parallel with the others. */
	curl_easy_setopt(slot->easy, CURLOPT_VERBOSE, 0L);
	curl_easy_cleanup(slot->easy);
	slot->easy = NULL;
	return NULL;
}

/* relay_pool_locks - the pool's mutex and condition variables. */
static int
relay_pool_locks(struct relay_pool *pool)
{
	pthread_condattr_t ca;
	unsigned i;
	int	 rc;

	if (pthread_mutex_init(&pool->lock, NULL) != 0)
		return -1;
	pool->lock_ok = 1;
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0 && (rc = pthread_cond_init(&pool->done_cv, &ca)) == 0)
		pool->done_cv_ok = 1;
	pthread_condattr_destroy(&ca);
	for (i = 0; rc == 0 && i < pool->nslots; i++)
		if ((rc = pthread_cond_init(&pool->slots[i].wake, NULL)) == 0)
			pool->slots[i].wake_ok = 1;
	return rc == 0 ? 0 : -1;
}

/* relay_pool_start - start the workers with every signal blocked. */
static int
relay_pool_start(struct relay_pool *pool)
{
	sigset_t all, old;
	unsigned i;
	int	 rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; rc == 0 && i < pool->nslots; i++)
		if ((rc = pthread_create(&pool->slots[i].thread, NULL,
		    relay_worker, &pool->slots[i])) == 0)
			pool->slots[i].thread_ok = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return err_set(EX_TEMPFAIL, "relay: cannot start a connection "
		    "thread: %s", strerror(rc));
	return 0;
}

/* relay_pool_new - a pool of up to connections parallel sessions. */
int
relay_pool_new(struct relay_pool **pp, unsigned connections)
{
	struct relay_pool *pool;
	unsigned i, j;
	int	 status;

	*pp = NULL;
	if ((status = relay_global_init()) != 0)
		return status;
	if (connections == 0)
		connections = 1;
	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		goto nomem;
	atomic_init(&pool->stop, 0);
	pool->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if ((pool->slots = calloc(connections, sizeof(*pool->slots))) == NULL)
		goto nomem;
	pool->nslots = connections;
	for (i = 0; i < connections; i++) {
		pool->slots[i].pool = pool;
		for (j = 0; j < RELAY_SOCKS; j++)
			pool->slots[i].socks[j] = CURL_SOCKET_BAD;
		buf_init(&pool->slots[i].notes, RELAY_NOTES_MAX);
		if ((pool->slots[i].easy = curl_easy_init()) == NULL)
			goto nomem;
	}
	if (relay_pool_locks(pool) != 0) {
		status = err_set(EX_TEMPFAIL, "relay: cannot create the pool's "
		    "locks");
		goto fail;
	}
	if ((status = relay_pool_start(pool)) != 0)
		goto fail;
	*pp = pool;
	return 0;
nomem:
	status = err_set(EX_TEMPFAIL, "relay: cannot create a connection "
	    "pool: out of memory");
fail:
	relay_pool_free(pool);
	return status;
}

/* relay_pool_shutdown - shut down every socket libcurl has open, so that
 * whatever a worker waits for fails at once. */
static void
relay_pool_shutdown(struct relay_pool *pool)
{
	unsigned i, j;

	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < pool->nslots; i++)
		for (j = 0; j < RELAY_SOCKS; j++)
			if (pool->slots[i].socks[j] != CURL_SOCKET_BAD)
				(void)shutdown(pool->slots[i].socks[j],
				    SHUT_RDWR);
	pthread_mutex_unlock(&pool->lock);
}

/* relay_pool_stop - stop and join every worker.  Running transfers abort
 * (progress callback); idle connections get RELAY_STOP_GRACE seconds for
 * their QUIT before every socket is shut down. */
static void
relay_pool_stop(struct relay_pool *pool)
{
	struct timespec deadline;
	unsigned i;
	int	 late = 0;

	if (!pool->lock_ok)
		return;
	pthread_mutex_lock(&pool->lock);
	atomic_store(&pool->stop, 1);
	for (i = 0; i < pool->nslots; i++)
		if (pool->slots[i].wake_ok)
			pthread_cond_signal(&pool->slots[i].wake);
	pthread_mutex_unlock(&pool->lock);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += RELAY_STOP_GRACE;
	for (i = 0; i < pool->nslots; i++) {
		if (!pool->slots[i].thread_ok)
			continue;
		if (!late && pthread_timedjoin_np(pool->slots[i].thread, NULL,
		    &deadline) == 0) {
			pool->slots[i].thread_ok = 0;
			continue;
		}
		if (!late)
			relay_pool_shutdown(pool);
		late = 1;
		pthread_join(pool->slots[i].thread, NULL);
		pool->slots[i].thread_ok = 0;
	}
}

/* relay_pool_free - stop the workers and close every connection. */
void
relay_pool_free(struct relay_pool *pool)
{
	unsigned i;

	if (pool == NULL)
		return;
	relay_pool_stop(pool);
	for (i = 0; pool->slots && i < pool->nslots; i++) {
		struct relay_slot *slot = &pool->slots[i];

		if (slot->job != NULL && slot->result_owned) {
			free(slot->job->result);
			slot->job->result = NULL;
		}
		relay_notes_log(slot);
		relay_slot_clear(slot);
		buf_free(&slot->notes);
		if (slot->easy != NULL)		/* its worker never ran */
			curl_easy_cleanup(slot->easy);
		if (slot->wake_ok)
			pthread_cond_destroy(&slot->wake);
	}
	if (pool->done_cv_ok)
		pthread_cond_destroy(&pool->done_cv);
	if (pool->lock_ok)
		pthread_mutex_destroy(&pool->lock);
	if (pool->evfd >= 0)
		close(pool->evfd);
	free(pool->slots);
	free(pool);
}

/* relay_pool_idle - how many more jobs can start now. */
unsigned
relay_pool_idle(const struct relay_pool *pool)
{
	return pool->nslots - pool->busy;
}

/* relay_reply_set - copy a finished reply into a result. */
static void
relay_result_set(struct relay_rcpt_result *r, const struct relay_reply *rep)
{
	const char *t;
	size_t	 n;

	r->code = rep->code;
	r->stage = rep->phase == PH_MAIL ? 'M' : rep->phase == PH_RCPT ? 'R' :
	    rep->phase >= PH_DATA && rep->phase <= PH_DONE ? 'D' : 0;
	relay_textf(r->text, sizeof(r->text), "%s", rep->text);
	/* Enhanced status code: "250 2.1.5 ..." -> "2.1.5". */
	t = rep->text;
	if (strlen(t) > 4)
		t += 4;
	n = strspn(t, "0123456789.");
	if (n >= 5 && n < sizeof(r->dsn) && t[0] == '0' + rep->code / 100 &&
	    t[1] == '.' && (t[n] == ' ' || t[n] == '\0'))
		snprintf(r->dsn, sizeof(r->dsn), "%.*s", (int)n, t);
	else
		snprintf(r->dsn, sizeof(r->dsn), "%d.0.0", rep->code / 100);
}

/* relay_reply_done - file a complete reply under the phase it answers. */
static void
relay_reply_done(struct relay_slot *slot, struct relay_reply *rep)
{
	struct relay_job *job = slot->job;

	rep->phase = slot->phase;
	slot->last = *rep;
	slot->wait_limit = 0;
	switch (slot->phase) {
	case PH_MAIL:
		slot->mail = *rep;
		break;
	case PH_RCPT:
		if (slot->nrcpt_sent >= 1 && slot->nrcpt_sent <= job->nrcpt)
			relay_result_set(&job->result[slot->nrcpt_sent - 1],
			    rep);
		break;
	case PH_DATA:
		if (rep->code == 354)
			slot->phase = PH_BODY;
		else
			slot->data = *rep;
		break;
	case PH_BODY:
		slot->data = *rep;
		slot->phase = PH_DONE;
		break;
	default:
		break;
	}
}

/* relay_reply_line - add one reply line; a final line completes it. */
static void
relay_reply_line(struct relay_slot *slot, char *line, size_t len)
{
	struct relay_reply *cur = &slot->cur;
	size_t	 have, i;
	int	 more;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	line[len] = '\0';
	for (i = 0; i < len; i++)
		if (line[i] == '\0')
			line[i] = '?';
	if (len < 3 || line[0] < '1' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9')
		return;				/* not a reply line */
	more = len > 3 && line[3] == '-';
	have = strlen(cur->text);
	if (have == 0) {
		cur->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		snprintf(cur->text, sizeof(cur->text), "%.3s", line);
		have = 3;
	}
	if (len > 4 && have + 1 < sizeof(cur->text))
		relay_textf(cur->text + have, sizeof(cur->text) - have, " %s",
		    line + 4);
	if (more)
		return;
	relay_sanitize(cur->text);
	relay_reply_done(slot, cur);
	memset(cur, 0, sizeof(*cur));
}

/* relay_reply_in - reassemble CURLINFO_HEADER_IN bytes into lines. */
static void
relay_reply_in(struct relay_slot *slot, const char *data, size_t size)
{
	size_t	 i;

	for (i = 0; i < size; i++) {
		if (slot->linelen < sizeof(slot->line) - 1)
			slot->line[slot->linelen++] = data[i];
		if (data[i] == '\n') {
			relay_reply_line(slot, slot->line, slot->linelen);
			slot->linelen = 0;
		}
	}
}

/* relay_command_out - move the phase along from a command line sent. */
static void
relay_command_out(struct relay_slot *slot, const char *data, size_t size)
{
	char	 verb[5];
	size_t	 i;

	relay_await(slot, relay_tmo(slot->job->route,
	    slot->job->route->command_timeout), "a reply to a command");
	/* AUTH continuation lines (base64) follow a 334 challenge. */
	if (slot->phase == PH_AUTH && slot->last.code == 334)
		return;
	for (i = 0; i < 4; i++)
		verb[i] = i < size ? (data[i] & ~0x20) : '\0';
	verb[4] = '\0';
	if (strcmp(verb, "EHLO") == 0 || strcmp(verb, "HELO") == 0)
		slot->phase = PH_EHLO;
	else if (strcmp(verb, "STAR") == 0)
		slot->phase = PH_STARTTLS;
	else if (strcmp(verb, "AUTH") == 0)
		slot->phase = PH_AUTH;
	else if (strcmp(verb, "MAIL") == 0) {
		slot->phase = PH_MAIL;
		slot->mail_sent = 1;
	} else if (strcmp(verb, "RCPT") == 0) {
		slot->phase = PH_RCPT;
		slot->nrcpt_sent++;
	} else if (strcmp(verb, "DATA") == 0)
		slot->phase = PH_DATA;
	else if (strcmp(verb, "QUIT") == 0)
		slot->quitting = 1;		/* keep the failing phase */
	else
		slot->phase = PH_OTHER;
}

/* relay_debug - CURLOPT_DEBUGFUNCTION: follow the dialogue. */
static int
relay_debug(CURL *easy, curl_infotype type, char *data, size_t size,
    void *arg)
{
	struct relay_slot *slot = arg;

	(void)easy;
	if (slot->job == NULL)
		return 0;
	if (slot->quitting)
		return 0;			/* libcurl closing a failed session */
	if (type == CURLINFO_HEADER_IN)
		relay_reply_in(slot, data, size);
	else if (type == CURLINFO_HEADER_OUT)
		relay_command_out(slot, data, size);
	return 0;
}

/* relay_wire_src - the wire transform's source: pread on the verified
 * spool file (spool_read_content would call err_set). */
static ssize_t
relay_wire_src(void *arg, char *buf, size_t n, uint64_t off)
{
	struct spool_msg *msg = arg;
	ssize_t	 got;

	do
		got = pread(msg->fd, buf, n, (off_t)(msg->content_off + off));
	while (got < 0 && errno == EINTR);
	return got;
}

/* relay_read - CURLOPT_READFUNCTION: the job's prefix (the DKIM
 * signature), then the content in wire form (compat/wire.c: folded,
 * re-encoded, CRLF only); slot->off counts prefix and wire bytes. */
static size_t
relay_read(char *ptr, size_t size, size_t nitems, void *arg)
{
	struct relay_slot *slot = arg;
	uint64_t plen = slot->job->prefix_len;
	size_t	 n = size * nitems;
	ssize_t	 got;
	char	 ebuf[128];

	if (slot->off < plen) {
		if (n > plen - slot->off)
			n = (size_t)(plen - slot->off);
		memcpy(ptr, slot->job->prefix + slot->off, n);
		slot->off += n;
		return n;
	}
	if ((got = wire_read(slot->wire, ptr, n)) < 0) {
		relay_note(slot, 'E', "%s: relay: cannot read spool content "
		    "near %llu: %s", slot->job->msg->env.qid,
		    (unsigned long long)slot->off,
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return CURL_READFUNC_ABORT;
	}
	slot->off += (uint64_t)got;
	if (slot->off == plen + wire_size(slot->wire) && !slot->body_sent) {
		/* All handed over: the end of data follows at once. */
		slot->body_sent = 1;
		relay_await(slot, relay_tmo(slot->job->route,
		    slot->job->route->data_timeout),
		    "the reply to the end of data");
	}
	return (size_t)got;
}

/* relay_progress - CURLOPT_XFERINFOFUNCTION: abort once the pool stops. */
static int
relay_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct relay_slot *slot = arg;
	curl_off_t connected = 0;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (atomic_load(&slot->pool->stop))
		return 1;
	if (slot->greet_pending && slot->phase == PH_GREETING &&
	    slot->wait_limit > 0 && curl_easy_getinfo(slot->easy,
	    CURLINFO_CONNECT_TIME_T, &connected) == CURLE_OK &&
	    connected > 0) {
		slot->greet_pending = 0;
		relay_await(slot, relay_tmo(slot->job->route,
		    slot->job->route->greeting_timeout), "the greeting");
	}
	if (slot->wait_limit > 0 &&
	    relay_mono() - slot->wait_since > (double)slot->wait_limit) {
		slot->timed_out = slot->wait_what;
		return 1;
	}
	return 0;
}

/* relay_opensocket - CURLOPT_OPENSOCKETFUNCTION: a close-on-exec socket,
 * remembered so that relay_pool_stop can shut it down. */
static curl_socket_t
relay_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct relay_slot *slot = arg;
	curl_socket_t s;
	unsigned i;

	(void)purpose;
	s = socket(addr->family, addr->socktype | SOCK_CLOEXEC,
	    addr->protocol);
	if (s < 0)
		return CURL_SOCKET_BAD;
	/* The connect has its own timeout; the greeting timer starts once
	 * connected (relay_progress), this is only a backstop. */
	relay_await(slot, relay_tmo(slot->job->route,
	    slot->job->route->connect_timeout) + relay_tmo(slot->job->route,
	    slot->job->route->greeting_timeout), "the greeting");
	slot->greet_pending = 1;
	pthread_mutex_lock(&slot->pool->lock);
	for (i = 0; i < RELAY_SOCKS; i++)
		if (slot->socks[i] == CURL_SOCKET_BAD) {
			slot->socks[i] = s;
			break;
		}
	pthread_mutex_unlock(&slot->pool->lock);
	return s;
}

/* relay_closesocket - CURLOPT_CLOSESOCKETFUNCTION: forget, then close. */
static int
relay_closesocket(void *arg, curl_socket_t s)
{
	struct relay_slot *slot = arg;
	unsigned i;

	pthread_mutex_lock(&slot->pool->lock);
	for (i = 0; i < RELAY_SOCKS; i++)
		if (slot->socks[i] == s)
			slot->socks[i] = CURL_SOCKET_BAD;
	pthread_mutex_unlock(&slot->pool->lock);
	return close(s);
}

/* relay_url_build - the route's URL with our HELO name as its path; on
 * failure why says what is wrong (workers call this: no err_set). */
static int
relay_url_build(struct relay_slot *slot, const char *url, const char *helo,
    char *why, size_t len)
{
	CURLU	*u;
	CURLUcode uc;
	char	*path = NULL, *port = NULL, *hpath = NULL;
	int	 status = 0;
	size_t	 n;

	free(slot->url);
	free(slot->host);
	slot->url = slot->host = NULL;
	if ((u = curl_url()) == NULL) {
		relay_textf(why, len, "relay: out of memory");
		return EX_TEMPFAIL;
	}
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		relay_textf(why, len, "relay: bad URL \"%s\": %s", url,
		    curl_url_strerror(uc));
		status = EX_CONFIG;
		goto out;
	}
	if (helo && *helo && (curl_url_get(u, CURLUPART_PATH, &path, 0) !=
	    CURLUE_OK || strcmp(path, "") == 0 || strcmp(path, "/") == 0)) {
		n = strlen(helo) + 2;
		if ((hpath = malloc(n)) == NULL) {
			relay_textf(why, len, "relay: out of memory");
			status = EX_TEMPFAIL;
			goto out;
		}
		snprintf(hpath, n, "/%s", helo);
		if (curl_url_set(u, CURLUPART_PATH, hpath, CURLU_URLENCODE) !=
		    CURLUE_OK) {
			relay_textf(why, len, "relay: bad HELO name \"%s\"",
			    helo);
			status = EX_CONFIG;
			goto out;
		}
	}
	if (curl_url_get(u, CURLUPART_URL, &slot->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &slot->host, 0) != CURLUE_OK) {
		relay_textf(why, len, "relay: bad URL \"%s\"", url);
		status = EX_CONFIG;
		goto out;
	}
	slot->url_port = 0;
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK)
		slot->url_port = strtol(port, NULL, 10);
out:
	curl_free(path);
	curl_free(port);
	free(hpath);
	curl_url_cleanup(u);
	return status;
}

/* relay_slot_rewind - fresh dialogue state for a (re)started transfer. */
static void
relay_slot_rewind(struct relay_slot *slot)
{
	size_t	 i;

	slot->off = 0;
	if (slot->wire != NULL)
		wire_rewind(slot->wire);
	slot->phase = PH_GREETING;
	slot->mail_sent = 0;
	slot->quitting = 0;
	slot->nrcpt_sent = 0;
	slot->linelen = 0;
	slot->wait_limit = 0;
	slot->timed_out = NULL;
	slot->body_sent = 0;
	slot->greet_pending = 0;
	memset(&slot->cur, 0, sizeof(slot->cur));
	memset(&slot->last, 0, sizeof(slot->last));
	memset(&slot->mail, 0, sizeof(slot->mail));
	memset(&slot->data, 0, sizeof(slot->data));
	slot->errbuf[0] = '\0';
	for (i = 0; i < slot->job->nrcpt; i++)
		memset(&slot->job->result[i], 0, sizeof(slot->job->result[i]));
}

/* relay_slot_setopt - every option for one job on a freshly reset handle. */
static CURLcode
relay_slot_setopt(struct relay_slot *slot)
{
	const struct relay_job *job = slot->job;
	const struct relay_route *route = job->route;
	long	 timeout = relay_tmo(route, route->greeting_timeout);
	CURL	*e = slot->easy;
	CURLcode rc = CURLE_OK;

	curl_easy_reset(e);
#define SET(opt, val) do { if (rc == CURLE_OK) \
	rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, slot->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	SET(CURLOPT_NOSIGNAL, 1L);		/* threads: no alarm() */
	SET(CURLOPT_MAXCONNECTS, 1L);		/* one cached connection */
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, relay_progress);
	SET(CURLOPT_XFERINFODATA, slot);
	SET(CURLOPT_OPENSOCKETFUNCTION, relay_opensocket);
	SET(CURLOPT_OPENSOCKETDATA, slot);
	SET(CURLOPT_CLOSESOCKETFUNCTION, relay_closesocket);
	SET(CURLOPT_CLOSESOCKETDATA, slot);
	SET(CURLOPT_ERRORBUFFER, slot->errbuf);
	SET(CURLOPT_VERBOSE, 1L);
	SET(CURLOPT_DEBUGFUNCTION, relay_debug);
	SET(CURLOPT_DEBUGDATA, slot);
	SET(CURLOPT_MAIL_FROM, slot->from);
	SET(CURLOPT_MAIL_RCPT, slot->rcpts);
	SET(RELAY_OPT_ALLOWFAILS, 1L);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, relay_read);
	SET(CURLOPT_READDATA, slot);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)(job->prefix_len +
	    wire_size(slot->wire)));
	SET(CURLOPT_USE_SSL, route->require_tls && !route->allow_plaintext ?
	    (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
	SET(CURLOPT_SSL_VERIFYPEER, route->tls_verify ? 1L : 0L);
	SET(CURLOPT_SSL_VERIFYHOST, route->tls_verify ? 2L : 0L);
	if (route->ca_file && *route->ca_file)
		SET(CURLOPT_CAINFO, route->ca_file);
	if (job->auth.username && *job->auth.username) {
		SET(CURLOPT_USERNAME, job->auth.username);
		SET(CURLOPT_PASSWORD, job->auth.password ?
		    job->auth.password : "");
	}
	/* libcurl's own reply timeout is the longest of ours, a backstop:
	 * each phase's limit is enforced in relay_progress. */
	if (relay_tmo(route, route->command_timeout) > timeout)
		timeout = relay_tmo(route, route->command_timeout);
	if (relay_tmo(route, route->data_timeout) > timeout)
		timeout = relay_tmo(route, route->data_timeout);
	SET(CURLOPT_CONNECTTIMEOUT, relay_tmo(route, route->connect_timeout));
	SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, timeout);
#undef SET
	return rc;
}

/* relay_slot_prepare - fresh state, URL and options for the slot's current
 * URL; on failure why says what is wrong (workers call this). */
static int
relay_slot_prepare(struct relay_slot *slot, char *why, size_t len)
{
	const struct relay_route *route = slot->job->route;
	CURLcode rc;
	int	 status;

	relay_slot_rewind(slot);
	if ((status = relay_url_build(slot, route->urls[slot->urlidx],
	    route->helo, why, len)) != 0)
		return status;
	if ((rc = relay_slot_setopt(slot)) != CURLE_OK) {
		relay_textf(why, len, "relay: curl_easy_setopt: %s",
		    curl_easy_strerror(rc));
		return EX_SOFTWARE;
	}
	return 0;
}

/* relay_rcpt_list - the CURLOPT_MAIL_RCPT list ("<addr>" each). */
static int
relay_rcpt_list(struct relay_slot *slot)
{
	const struct relay_job *job = slot->job;
	struct curl_slist *l;
	char	 rcpt[1024];
	size_t	 i;

	for (i = 0; i < job->nrcpt; i++) {
		if (snprintf(rcpt, sizeof(rcpt), "<%s>", job->rcpt[i]) >=
		    (int)sizeof(rcpt))
			return err_set(EX_DATAERR, "relay: recipient address "
			    "too long");
		if ((l = curl_slist_append(slot->rcpts, rcpt)) == NULL)
			return err_set(EX_TEMPFAIL, "relay: out of memory");
		slot->rcpts = l;
	}
	return 0;
}

/* relay_wire_open - the wire form of the job's content (compat/wire.h). */
static int
relay_wire_open(struct relay_slot *slot)
{
	struct spool_msg *msg = slot->job->msg;
	struct wire_src src = { relay_wire_src, msg, msg->content_len };

	if (wire_open(&slot->wire, &src) != 0)
		return err_set(errno == ENOMEM ? EX_TEMPFAIL : EX_IOERR,
		    "%s: relay: cannot read spool content: %s", msg->env.qid,
		    strerror(errno));
	return 0;
}

/* relay_pool_submit - start job on a free slot (EX_TEMPFAIL if none). */
int
relay_pool_submit(struct relay_pool *pool, struct relay_job *job)
{
	struct relay_slot *slot = NULL;
	char	 why[RELAY_TEXT_MAX];
	unsigned i;
	int	 status;

	for (i = 0; i < pool->nslots && slot == NULL; i++)
		if (pool->slots[i].job == NULL)
			slot = &pool->slots[i];
	if (slot == NULL)
		return err_set(EX_TEMPFAIL, "relay: no free connection slot");
	if (job->nrcpt == 0 || job->route == NULL || job->route->nurls == 0 ||
	    job->msg == NULL || job->sender == NULL || job->done == NULL)
		return err_set(EX_SOFTWARE, "relay: incomplete job");
	if (snprintf(slot->from, sizeof(slot->from), "<%s>", job->sender) >=
	    (int)sizeof(slot->from))
		return err_set(EX_DATAERR, "relay: sender address too long");
	job->session_failed = 0;
	job->session_text[0] = job->relay_name[0] = '\0';
	job->elapsed = 0;
	job->dead = 0;
	job->url_ok = -1;
	job->requeue = 0;
	slot->job = job;
	if (job->result == NULL) {
		if ((job->result = calloc(job->nrcpt,
		    sizeof(*job->result))) == NULL) {
			slot->job = NULL;
			return err_set(EX_TEMPFAIL, "relay: out of memory");
		}
		slot->result_owned = 1;
	}
	/* The first URL not known dead; all dead: try them all anyway. */
	if ((slot->urlidx = relay_next_url(job, 0)) >= job->route->nurls) {
		job->skip = 0;
		slot->urlidx = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &slot->start);
	if ((status = relay_rcpt_list(slot)) == 0 &&
	    (status = relay_wire_open(slot)) == 0 &&
	    (status = relay_slot_prepare(slot, why, sizeof(why))) != 0)
		err_set(status, "%s", why);
	if (status != 0) {
		if (slot->result_owned) {
			free(job->result);
			job->result = NULL;
		}
		relay_slot_clear(slot);
		return status;
	}
	/* The worker owns the job (and the slot's state) from here on. */
	pthread_mutex_lock(&pool->lock);
	slot->queued = 1;
	pthread_cond_signal(&slot->wake);
	pthread_mutex_unlock(&pool->lock);
	pool->busy++;
	return 0;
}

/* relay_relay_name - "host[ip]:port" of the server last tried. */
static void
relay_relay_name(struct relay_slot *slot)
{
	struct relay_job *job = slot->job;
	const char *host = slot->host ? slot->host : "none";
	int	 hlen = (int)strlen(host);
	char	*ip = NULL;
	long	 port = 0;

	curl_easy_getinfo(slot->easy, CURLINFO_PRIMARY_IP, &ip);
	curl_easy_getinfo(slot->easy, CURLINFO_PRIMARY_PORT, &port);
	if (port <= 0)
		port = slot->url_port;
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host++;				/* IPv6 literal: no brackets */
		hlen -= 2;
	}
	relay_textf(job->relay_name, sizeof(job->relay_name), "%.*s[%s]:%ld",
	    hlen, host, ip && *ip ? ip : "none", port);
	relay_sanitize(job->relay_name);
}

/* relay_answered - 1 if the last reply answered the last command sent. */
static int
relay_answered(const struct relay_slot *slot)
{
	const struct relay_reply *rep = &slot->last;

	return rep->code != 0 && (rep->phase == slot->phase ||
	    (rep->phase == PH_BODY && slot->phase == PH_DONE));
}

/* relay_session_dsn - a 4.x.x status for a session failure. */
static const char *
relay_session_dsn(struct relay_slot *slot, CURLcode rc, char *buf, size_t len)
{
	struct relay_rcpt_result tmp;

	if (relay_answered(slot) && slot->last.code >= 400) {
		relay_result_set(&tmp, &slot->last);
		relay_textf(buf, len, "4%s", tmp.dsn + 1);
		return buf;
	}
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return "4.4.1";
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return "4.7.0";
	case CURLE_LOGIN_DENIED:
		return "4.7.8";
	default:
		return "4.4.2";
	}
}

/* relay_session_why - one line on why a session failed. */
static void
relay_session_why(struct relay_slot *slot, CURLcode rc, char *out, size_t len)
{
	static const char *const phase_name[] = {
		[PH_GREETING] = "the greeting", [PH_EHLO] = "EHLO",
		[PH_STARTTLS] = "STARTTLS", [PH_AUTH] = "AUTH",
		[PH_MAIL] = "MAIL FROM", [PH_RCPT] = "RCPT TO",
		[PH_DATA] = "DATA", [PH_BODY] = "end of data",
		[PH_DONE] = "end of data", [PH_OTHER] = "a command",
	};
	const char *host = slot->host ? slot->host : "server";
	const char *why = slot->errbuf[0] ? slot->errbuf :
	    curl_easy_strerror(rc);

	if (slot->timed_out != NULL && slot->phase == PH_BODY)
		relay_textf(out, len, "lost connection with %s while sending "
		    "message data: timeout after %lds waiting for %s", host,
		    slot->wait_limit, slot->timed_out);
	else if (slot->timed_out != NULL)
		relay_textf(out, len, "timeout after %lds waiting for %s "
		    "from %s (during %s)", slot->wait_limit, slot->timed_out,
		    host, phase_name[slot->phase]);
	else if (relay_answered(slot) && slot->last.code >= 400)
		relay_textf(out, len, "%s said: %s (in reply to %s)", host,
		    slot->last.text, phase_name[slot->last.phase]);
	else if (slot->phase == PH_BODY)
		relay_textf(out, len, "lost connection with %s while sending "
		    "message data: %s", host, why);
	else if (slot->phase != PH_GREETING)
		relay_textf(out, len, "%s (during %s with %s)", why,
		    phase_name[slot->phase], host);
	else
		relay_textf(out, len, "%s", why);
	relay_sanitize(out);
}

/* relay_session_fail - the whole job is deferred: record why. */
static void
relay_session_fail(struct relay_slot *slot, CURLcode rc)
{
	struct relay_job *job = slot->job;
	char	 dsnbuf[16];
	const char *dsn;
	size_t	 i;

	job->session_failed = 1;
	relay_session_why(slot, rc, job->session_text,
	    sizeof(job->session_text));
	dsn = relay_session_dsn(slot, rc, dsnbuf, sizeof(dsnbuf));
	for (i = 0; i < job->nrcpt; i++) {
		job->result[i].code = RELAY_SESSION_CODE;
		job->result[i].stage = 0;
		snprintf(job->result[i].dsn, sizeof(job->result[i].dsn),
		    "%s", dsn);
		relay_textf(job->result[i].text, sizeof(job->result[i].text),
		    "%s", job->session_text);
	}
}

/* relay_rcpt_all_answered - 1 if every RCPT got its own reply. */
static int
relay_rcpt_all_answered(const struct relay_slot *slot)
{
	size_t	 i;

	if (slot->nrcpt_sent != slot->job->nrcpt)
		return 0;
	for (i = 0; i < slot->job->nrcpt; i++)
		if (slot->job->result[i].code == 0)
			return 0;
	return 1;
}

/* relay_apply_data - accepted recipients take the reply to DATA. */
static void
relay_apply_data(struct relay_slot *slot)
{
	struct relay_job *job = slot->job;
	size_t	 i;

	for (i = 0; i < job->nrcpt; i++)
		if (job->result[i].code / 100 == 2)
			relay_result_set(&job->result[i], &slot->data);
}

/* relay_next_url - the first URL at or after i not known dead, or nurls. */
static size_t
relay_next_url(const struct relay_job *job, size_t i)
{
	for (; i < job->route->nurls; i++)
		if (i >= 32 || !(job->skip & (1u << i)))
			return i;
	return job->route->nurls;
}

/* relay_unreachable - 1 if the current URL's server never took part:
 * the connect failed or timed out, or the greeting did not come or was a
 * refusal; or any reply timed out. */
static int
relay_unreachable(const struct relay_slot *slot, CURLcode rc)
{
	if (slot->timed_out != NULL)
		return 1;
	if (slot->mail_sent || rc == CURLE_SSL_CONNECT_ERROR ||
	    rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_USE_SSL_FAILED)
		return 0;
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
	    rc == CURLE_COULDNT_RESOLVE_HOST ||
	    (slot->phase == PH_GREETING && slot->last.code == 0) ||
	    (slot->last.phase == PH_GREETING && slot->last.code >= 400);
}

/* relay_session_requeue - a session failure of the whole job: the
 * recipients are requeued without an attempt when it was not their fault
 * (unreachable, 421, lost or timed out mid-session). */
static void
relay_session_requeue(struct relay_slot *slot, CURLcode rc)
{
	relay_session_fail(slot, rc);
	slot->job->requeue = relay_unreachable(slot, rc) ||
	    slot->last.code == 421 || slot->mail.code == 421 ||
	    !relay_answered(slot);
}

/* relay_classify - per-recipient results, or 1 to try the next URL. */
static int
relay_classify(struct relay_slot *slot, CURLcode rc)
{
	struct relay_job *job = slot->job;
	size_t	 i, accepted = 0;

	if (relay_unreachable(slot, rc) && slot->urlidx < 32)
		job->dead |= 1u << slot->urlidx;
	if (!slot->mail_sent) {
		/* Connect, greeting, TLS or AUTH failure: nothing started. */
		if (relay_next_url(job, slot->urlidx + 1) < job->route->nurls)
			return 1;
		relay_session_requeue(slot, rc);
		if (!relay_unreachable(slot, rc))
			job->requeue = 0;	/* TLS, AUTH: ours to fix */
		return 0;
	}
	job->url_ok = (int)slot->urlidx;
	if (slot->mail.code >= 400) {
		/* 530: the server wants AUTH; that is ours to fix, not a
		 * bounce.  Any other MAIL FROM reply applies to everyone. */
		if (slot->mail.code == 530 || slot->mail.code == 421) {
			relay_session_requeue(slot, rc);
			if (slot->mail.code == 530)
				job->requeue = 0;
			return 0;
		}
		for (i = 0; i < job->nrcpt; i++)
			relay_result_set(&job->result[i], &slot->mail);
		return 0;
	}
	if (!relay_rcpt_all_answered(slot)) {
		relay_session_requeue(slot, rc);
		return 0;
	}
	for (i = 0; i < job->nrcpt; i++)
		if (job->result[i].code / 100 == 2)
			accepted++;
	if (accepted == 0)
		return 0;			/* every RCPT refused */
	if (slot->data.code == 0 || slot->data.code == 421 ||
	    (rc == CURLE_OK && slot->data.code / 100 != 2)) {
		relay_session_requeue(slot, rc);	/* no final answer */
		return 0;
	}
	relay_apply_data(slot);
	return 0;
}

/* relay_slot_perform - worker: one transfer.  libcurl 7.88 keeps the
 * connection of a transfer that failed in its done phase, also when the
 * end of data got no reply (timeout, abort): such a connection, out of
 * step, has its socket shut down, so it is never reused and is closed
 * without QUIT.  (A final 4xx/5xx reply leaves it in step and reusable.) */
static CURLcode
relay_slot_perform(struct relay_slot *slot)
{
	curl_socket_t s = CURL_SOCKET_BAD;
	CURLcode rc;

	rc = curl_easy_perform(slot->easy);
	relay_relay_name(slot);
	if (rc != CURLE_OK && !relay_answered(slot) &&
	    curl_easy_getinfo(slot->easy, CURLINFO_ACTIVESOCKET, &s) ==
	    CURLE_OK && s != CURL_SOCKET_BAD)
		(void)shutdown(s, SHUT_RD);
	return rc;
}

/* relay_slot_run - worker: run the job, falling back along the route's
 * URLs while nothing was started; fills the job's results. */
static void
relay_slot_run(struct relay_slot *slot)
{
	struct relay_job *job = slot->job;
	char	 why[RELAY_TEXT_MAX];
	struct timespec now;
	CURLcode rc;

	rc = relay_slot_perform(slot);
	while (!atomic_load(&slot->pool->stop) && relay_classify(slot, rc)) {
		relay_session_why(slot, rc, why, sizeof(why));
		slot->urlidx = relay_next_url(job, slot->urlidx + 1);
		relay_note(slot, 'W', "%s: relay %s: %s; trying %s",
		    job->msg->env.qid, job->relay_name, why,
		    job->route->urls[slot->urlidx]);
		if (relay_slot_prepare(slot, why, sizeof(why)) != 0) {
			relay_textf(slot->errbuf, sizeof(slot->errbuf), "%s",
			    why);
			rc = CURLE_FAILED_INIT;
		} else
			rc = relay_slot_perform(slot);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	job->elapsed = (double)(now.tv_sec - slot->start.tv_sec) +
	    (double)(now.tv_nsec - slot->start.tv_nsec) / 1e9;
}

/* relay_slot_finish - main thread: report a finished job, free its slot. */
static void
relay_slot_finish(struct relay_slot *slot)
{
	struct relay_job *job = slot->job;
	struct relay_rcpt_result *owned = NULL;

	relay_notes_log(slot);
	if (slot->result_owned)
		owned = job->result;
	relay_slot_clear(slot);
	slot->pool->busy--;
	job->done(job);				/* may submit or free job */
	free(owned);
}

/* relay_deadline - CLOCK_MONOTONIC now plus ms. */
static void
relay_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* relay_pool_perform - wait up to timeout_ms for jobs to finish and call
 * done() for each finished one; returns as soon as at least one finished.
 * Returns the number still running. */
/* relay_pool_fd - a descriptor that polls readable when a job finished
 * (drained by relay_pool_perform), or -1. */
int
relay_pool_fd(const struct relay_pool *pool)
{
	return pool ? pool->evfd : -1;
}

int
relay_pool_perform(struct relay_pool *pool, int timeout_ms)
{
	struct relay_slot *list, *next;
	struct timespec deadline;

	if (pool->evfd >= 0) {
		eventfd_t n;

		(void)eventfd_read(pool->evfd, &n);
	}
	if (pool->busy == 0)
		return 0;
	if (timeout_ms > 0)
		relay_deadline(&deadline, timeout_ms);
	pthread_mutex_lock(&pool->lock);
	while (pool->done_head == NULL && timeout_ms > 0)
		if (pthread_cond_timedwait(&pool->done_cv, &pool->lock,
		    &deadline) != 0)
			break;			/* ETIMEDOUT */
	list = pool->done_head;
	pool->done_head = pool->done_tail = NULL;
	pthread_mutex_unlock(&pool->lock);
	for (; list != NULL; list = next) {
		next = list->next_done;
		relay_slot_finish(list);
	}
	return (int)pool->busy;
}
