/*
 * relay.c - SMTP delivery through libcurl; see relay.h.
 *
 * One CURLM drives up to "connections" slots.  Each slot owns one easy
 * handle that is reset and reused for every job it runs; the connections
 * themselves live in the multi handle's connection cache, so the next job
 * to the same URL with the same credentials and TLS settings reuses the
 * open SMTP session (MAIL FROM follows the previous transaction's "250"
 * directly).  libcurl closes a connection that ended a transfer with an
 * error, so a broken session is never reused.
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
 * The end-of-data reply: libcurl 7.88 waits for it in a blocking loop
 * inside its "done" phase, so a slow final reply stalls the other slots
 * for up to the reply timeout (a libcurl limitation, not fixable here).
 *
 * Content is the spool's CRLF text, not dot-stuffed; libcurl dot-stuffs
 * an SMTP upload itself (tested with lines that begin with ".").
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "queue/relay.h"
#include "util/msg.h"

#ifdef CURLOPT_MAIL_RCPT_ALLOWFAILS
#define RELAY_OPT_ALLOWFAILS	CURLOPT_MAIL_RCPT_ALLOWFAILS
#else
#define RELAY_OPT_ALLOWFAILS	CURLOPT_MAIL_RCPT_ALLLOWFAILS
#endif

#define RELAY_TIMEOUT_DEFAULT	300L	/* seconds, when the route gives 0 */
#define RELAY_LINE_MAX		2048	/* one reply line kept for parsing */
#define RELAY_SESSION_CODE	421	/* result code after a session failure */

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
	CURL	*easy;
	struct relay_job *job;		/* NULL when idle */
	int	 result_owned;		/* job->result was allocated here */
	struct curl_slist *rcpts;
	char	*url;			/* current URL with the HELO path */
	char	*host;			/* its host part, for relay_name */
	long	 url_port;
	size_t	 urlidx;		/* index into route->urls */
	uint64_t off;			/* content bytes handed to libcurl */
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
};

struct relay_pool {
	CURLM	*multi;
	struct relay_slot *slots;
	unsigned nslots;
	unsigned busy;
	unsigned finished;		/* jobs finished in this perform call */
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

/* relay_pool_new - a pool of up to connections parallel sessions. */
int
relay_pool_new(struct relay_pool **pp, unsigned connections)
{
	struct relay_pool *pool;
	unsigned i;

	*pp = NULL;
	if (connections == 0)
		connections = 1;
	if ((pool = calloc(1, sizeof(*pool))) == NULL ||
	    (pool->slots = calloc(connections, sizeof(*pool->slots))) == NULL)
		goto nomem;
	pool->nslots = connections;
	if ((pool->multi = curl_multi_init()) == NULL)
		goto nomem;
	curl_multi_setopt(pool->multi, CURLMOPT_MAXCONNECTS, (long)connections);
	for (i = 0; i < connections; i++) {
		pool->slots[i].pool = pool;
		if ((pool->slots[i].easy = curl_easy_init()) == NULL)
			goto nomem;
	}
	*pp = pool;
	return 0;
nomem:
	relay_pool_free(pool);
	return err_set(EX_TEMPFAIL, "relay: cannot create a connection pool: "
	    "out of memory");
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
	slot->job = NULL;
	slot->result_owned = 0;
}

/* relay_pool_free - close every connection. */
void
relay_pool_free(struct relay_pool *pool)
{
	unsigned i;

	if (pool == NULL)
		return;
	for (i = 0; pool->slots && i < pool->nslots; i++) {
		struct relay_slot *slot = &pool->slots[i];

		if (slot->easy == NULL)
			continue;
		if (slot->job != NULL) {
			curl_multi_remove_handle(pool->multi, slot->easy);
			if (slot->result_owned) {
				free(slot->job->result);
				slot->job->result = NULL;
			}
		}
		relay_slot_clear(slot);
		curl_easy_cleanup(slot->easy);
	}
	if (pool->multi)
		curl_multi_cleanup(pool->multi);	/* QUIT on idle ones */
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

/* relay_read - CURLOPT_READFUNCTION: the content, straight from the spool. */
static size_t
relay_read(char *ptr, size_t size, size_t nitems, void *arg)
{
	struct relay_slot *slot = arg;
	struct spool_msg *msg = slot->job->msg;
	uint64_t left = msg->content_len - slot->off;
	size_t	 n = size * nitems;
	ssize_t	 got;

	if (left == 0)
		return 0;
	if (n > left)
		n = (size_t)left;
	got = spool_read_content(msg, slot->off, ptr, n);
	if (got <= 0) {
		log_error("%s: relay: cannot read spool content at %llu: %s",
		    msg->env.qid, (unsigned long long)slot->off,
		    got < 0 ? err_str() : "unexpected end of file");
		return CURL_READFUNC_ABORT;
	}
	slot->off += (uint64_t)got;
	return (size_t)got;
}

/* relay_url_build - the route's URL with our HELO name as its path. */
static int
relay_url_build(struct relay_slot *slot, const char *url, const char *helo)
{
	CURLU	*u;
	CURLUcode uc;
	char	*path = NULL, *port = NULL, *hpath = NULL;
	int	 status = 0;
	size_t	 n;

	free(slot->url);
	free(slot->host);
	slot->url = slot->host = NULL;
	if ((u = curl_url()) == NULL)
		return err_set(EX_TEMPFAIL, "relay: out of memory");
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		status = err_set(EX_CONFIG, "relay: bad URL \"%s\": %s", url,
		    curl_url_strerror(uc));
		goto out;
	}
	if (helo && *helo && (curl_url_get(u, CURLUPART_PATH, &path, 0) !=
	    CURLUE_OK || strcmp(path, "") == 0 || strcmp(path, "/") == 0)) {
		n = strlen(helo) + 2;
		if ((hpath = malloc(n)) == NULL) {
			status = err_set(EX_TEMPFAIL, "relay: out of memory");
			goto out;
		}
		snprintf(hpath, n, "/%s", helo);
		if (curl_url_set(u, CURLUPART_PATH, hpath, CURLU_URLENCODE) !=
		    CURLUE_OK) {
			status = err_set(EX_CONFIG, "relay: bad HELO name "
			    "\"%s\"", helo);
			goto out;
		}
	}
	if (curl_url_get(u, CURLUPART_URL, &slot->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &slot->host, 0) != CURLUE_OK) {
		status = err_set(EX_CONFIG, "relay: bad URL \"%s\"", url);
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
	slot->phase = PH_GREETING;
	slot->mail_sent = 0;
	slot->quitting = 0;
	slot->nrcpt_sent = 0;
	slot->linelen = 0;
	memset(&slot->cur, 0, sizeof(slot->cur));
	memset(&slot->last, 0, sizeof(slot->last));
	memset(&slot->mail, 0, sizeof(slot->mail));
	memset(&slot->data, 0, sizeof(slot->data));
	slot->errbuf[0] = '\0';
	for (i = 0; i < slot->job->nrcpt; i++)
		memset(&slot->job->result[i], 0, sizeof(slot->job->result[i]));
}

/* relay_slot_setopt - every option for one job on a freshly reset handle. */
static int
relay_slot_setopt(struct relay_slot *slot)
{
	const struct relay_job *job = slot->job;
	const struct relay_route *route = job->route;
	long	 timeout = route->timeout > 0 ? route->timeout :
		    RELAY_TIMEOUT_DEFAULT;
	char	 from[1024];
	CURL	*e = slot->easy;
	CURLcode rc = CURLE_OK;

	if (snprintf(from, sizeof(from), "<%s>", job->sender) >=
	    (int)sizeof(from))
		return err_set(EX_DATAERR, "relay: sender address too long");
	curl_easy_reset(e);
#define SET(opt, val) do { if (rc == CURLE_OK) \
	rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_PRIVATE, slot);
	SET(CURLOPT_URL, slot->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, slot->errbuf);
	SET(CURLOPT_VERBOSE, 1L);
	SET(CURLOPT_DEBUGFUNCTION, relay_debug);
	SET(CURLOPT_DEBUGDATA, slot);
	SET(CURLOPT_MAIL_FROM, from);
	SET(CURLOPT_MAIL_RCPT, slot->rcpts);
	SET(RELAY_OPT_ALLOWFAILS, 1L);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, relay_read);
	SET(CURLOPT_READDATA, slot);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)job->msg->content_len);
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
	SET(CURLOPT_CONNECTTIMEOUT, timeout);
	SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, timeout);
#undef SET
	if (rc != CURLE_OK)
		return err_set(EX_SOFTWARE, "relay: curl_easy_setopt: %s",
		    curl_easy_strerror(rc));
	return 0;
}

/* relay_slot_start - point the slot at its current URL and add it. */
static int
relay_slot_start(struct relay_slot *slot)
{
	const struct relay_route *route = slot->job->route;
	CURLMcode mc;
	int	 status;

	if ((status = relay_url_build(slot, route->urls[slot->urlidx],
	    route->helo)) != 0 || (status = relay_slot_setopt(slot)) != 0)
		return status;
	relay_slot_rewind(slot);
	if ((mc = curl_multi_add_handle(slot->pool->multi, slot->easy)) !=
	    CURLM_OK)
		return err_set(EX_SOFTWARE, "relay: curl_multi_add_handle: %s",
		    curl_multi_strerror(mc));
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

/* relay_pool_submit - start job on a free slot (EX_TEMPFAIL if none). */
int
relay_pool_submit(struct relay_pool *pool, struct relay_job *job)
{
	struct relay_slot *slot = NULL;
	unsigned i;
	int	 status;

	for (i = 0; i < pool->nslots && slot == NULL; i++)
		if (pool->slots[i].job == NULL)
			slot = &pool->slots[i];
	if (slot == NULL)
		return err_set(EX_TEMPFAIL, "relay: no free connection slot");
	if (job->nrcpt == 0 || job->route == NULL || job->route->nurls == 0 ||
	    job->msg == NULL || job->sender == NULL)
		return err_set(EX_SOFTWARE, "relay: incomplete job");
	job->session_failed = 0;
	job->session_text[0] = job->relay_name[0] = '\0';
	job->elapsed = 0;
	slot->job = job;
	if (job->result == NULL) {
		if ((job->result = calloc(job->nrcpt,
		    sizeof(*job->result))) == NULL) {
			slot->job = NULL;
			return err_set(EX_TEMPFAIL, "relay: out of memory");
		}
		slot->result_owned = 1;
	}
	slot->urlidx = 0;
	clock_gettime(CLOCK_MONOTONIC, &slot->start);
	if ((status = relay_rcpt_list(slot)) != 0 ||
	    (status = relay_slot_start(slot)) != 0) {
		if (slot->result_owned) {
			free(job->result);
			job->result = NULL;
		}
		relay_slot_clear(slot);
		return status;
	}
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

	if (relay_answered(slot) && slot->last.code >= 400)
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

/* relay_classify - per-recipient results, or 1 to try the next URL. */
static int
relay_classify(struct relay_slot *slot, CURLcode rc)
{
	struct relay_job *job = slot->job;
	size_t	 i, accepted = 0;

	if (!slot->mail_sent) {
		/* Connect, greeting, TLS or AUTH failure: nothing started. */
		if (slot->urlidx + 1 < job->route->nurls)
			return 1;
		relay_session_fail(slot, rc);
		return 0;
	}
	if (slot->mail.code >= 400) {
		/* 530: the server wants AUTH; that is ours to fix, not a
		 * bounce.  Any other MAIL FROM reply applies to everyone. */
		if (slot->mail.code == 530 || slot->mail.code == 421) {
			relay_session_fail(slot, rc);
			return 0;
		}
		for (i = 0; i < job->nrcpt; i++)
			relay_result_set(&job->result[i], &slot->mail);
		return 0;
	}
	if (!relay_rcpt_all_answered(slot)) {
		relay_session_fail(slot, rc);
		return 0;
	}
	for (i = 0; i < job->nrcpt; i++)
		if (job->result[i].code / 100 == 2)
			accepted++;
	if (accepted == 0)
		return 0;			/* every RCPT refused */
	if (slot->data.code == 0 || slot->data.code == 421 ||
	    (rc == CURLE_OK && slot->data.code / 100 != 2)) {
		relay_session_fail(slot, rc);	/* no final answer */
		return 0;
	}
	relay_apply_data(slot);
	return 0;
}

/* relay_slot_finish - a transfer ended: fall back, or report the job. */
static void
relay_slot_finish(struct relay_slot *slot, CURLcode rc)
{
	struct relay_pool *pool = slot->pool;
	struct relay_job *job = slot->job;
	struct relay_rcpt_result *owned = NULL;
	struct timespec now;
	char	 why[RELAY_TEXT_MAX];

	curl_multi_remove_handle(pool->multi, slot->easy);
	relay_relay_name(slot);
	while (relay_classify(slot, rc)) {
		relay_session_why(slot, rc, why, sizeof(why));
		log_warn("%s: relay %s: %s; trying %s", job->msg->env.qid,
		    job->relay_name, why, job->route->urls[slot->urlidx + 1]);
		slot->urlidx++;
		if (relay_slot_start(slot) == 0)
			return;
		relay_slot_rewind(slot);
		relay_textf(slot->errbuf, sizeof(slot->errbuf), "%s", err_str());
		rc = CURLE_FAILED_INIT;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	job->elapsed = (double)(now.tv_sec - slot->start.tv_sec) +
	    (double)(now.tv_nsec - slot->start.tv_nsec) / 1e9;
	if (slot->result_owned)
		owned = job->result;
	relay_slot_clear(slot);
	pool->busy--;
	pool->finished++;
	job->done(job);				/* may submit or free job */
	free(owned);
}

/* relay_pool_collect - finish every transfer libcurl reports as done. */
static void
relay_pool_collect(struct relay_pool *pool)
{
	struct relay_slot *slot;
	char	*priv;
	CURLMsg	*m;
	int	 left;

	while ((m = curl_multi_info_read(pool->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		slot = (struct relay_slot *)(void *)priv;
		if (slot == NULL || slot->job == NULL)
			continue;
		relay_slot_finish(slot, m->data.result);
	}
}

/* relay_ms_since - milliseconds elapsed since t0. */
static long
relay_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 +
	    (long)(now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* relay_pool_perform - drive transfers for up to timeout_ms; returns early
 * once at least one job finished.  Returns the number still running. */
int
relay_pool_perform(struct relay_pool *pool, int timeout_ms)
{
	struct timespec t0;
	int	 running, left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pool->finished = 0;
	for (;;) {
		curl_multi_perform(pool->multi, &running);
		relay_pool_collect(pool);
		if (pool->finished || pool->busy == 0)
			break;
		left = timeout_ms - (int)relay_ms_since(&t0);
		if (left <= 0)
			break;
		curl_multi_poll(pool->multi, NULL, 0, left, NULL);
	}
	return (int)pool->busy;
}
