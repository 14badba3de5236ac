/*
 * webhook.c - the [notify] webhook: JSON events POSTed by a worker thread
 * of sitemaild (see webhook.h).
 *
 * The queue of pending events is in memory (a restart forgets it): at
 * most WEBHOOK_PENDING bodies, the oldest dropped (and logged) beyond
 * that.  The worker posts them in order; an answer other than 2xx, or no
 * answer within WEBHOOK_TIMEOUT seconds, is retried after 1, 2, 4, ... up
 * to WEBHOOK_BACKOFF_MAX seconds, WEBHOOK_TRIES times in all, then the
 * event is dropped and logged.  The loop of sitemaild only appends under
 * a mutex: a receiver that hangs or refuses delays nothing but the
 * webhook.
 *
 * Transport: libcurl; https:// with certificate and host verification
 * (the system CA store, or [smarthost] ca_file), http:// only to a
 * loopback host (conf_webhook_ok), no redirects, no other protocol.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "queue/webhook.h"
#include "util/msg.h"

/* One event waiting to go. */
struct webhook_item {
	struct webhook_item *next;
	char	*body;
	unsigned tries;
	time_t	 due;
};

static pthread_mutex_t wh_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wh_cv = PTHREAD_COND_INITIALIZER;

static struct {
	pthread_t thread;
	int	 running, stop;
	char	*url, *ca_file;
	struct webhook_item *head, *tail;
	size_t	 n;
	unsigned long posted, dropped;
} wh;

/* webhook_abort - curl progress callback: stop a transfer at shutdown. */
static int
webhook_abort(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
    curl_off_t d)
{
	(void)arg, (void)a, (void)b, (void)c, (void)d;
	return __atomic_load_n(&wh.stop, __ATOMIC_RELAXED);
}

/* webhook_sink - curl write callback: the answer body is not used. */
static size_t
webhook_sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n;
}

/* webhook_send - POST body to url once: the HTTP status, or 0 when no
 * answer came (why in err). */
static long
webhook_send(const char *url, const char *ca, const char *body, char *err)
{
	struct curl_slist *h = NULL;
	long	 status = 0;
	CURL	*c;

	err[0] = '\0';
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, CURL_ERROR_SIZE, "curl_easy_init failed");
		return 0;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca != NULL && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)WEBHOOK_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)WEBHOOK_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sitemail-webhook");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, webhook_sink);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, webhook_abort);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return status;
}

/* webhook_backoff - seconds before try number tries + 1. */
static time_t
webhook_backoff(unsigned tries)
{
	time_t	 s = (time_t)1 << (tries > 12 ? 12 : tries - 1);

	return s > WEBHOOK_BACKOFF_MAX ? WEBHOOK_BACKOFF_MAX : s;
}

/* webhook_done - the head was tried once with answer status (locked). */
static void
webhook_done(struct webhook_item *it, long status, const char *err)
{
	if (status >= 200 && status < 300) {
		wh.head = it->next;
		if (wh.head == NULL)
			wh.tail = NULL;
		wh.n--;
		wh.posted++;
		free(it->body);
		free(it);
		return;
	}
	if (++it->tries >= WEBHOOK_TRIES) {
		wh.head = it->next;
		if (wh.head == NULL)
			wh.tail = NULL;
		wh.n--;
		wh.dropped++;
		log_warn("webhook: event dropped after %u tries: %s", it->tries,
		    status ? "HTTP error" : err);
		free(it->body);
		free(it);
		return;
	}
	it->due = time(NULL) + webhook_backoff(it->tries);
	if (status)
		log_warn("webhook: HTTP %ld; try %u again in %lds", status,
		    it->tries + 1, (long)(it->due - time(NULL)));
	else
		log_warn("webhook: %s; try %u again in %lds", err, it->tries + 1,
		    (long)(it->due - time(NULL)));
}

/* webhook_main - the worker: post the head when due, in order. */
static void *
webhook_main(void *arg)
{
	char	 err[CURL_ERROR_SIZE], *body, *url, *ca;
	struct webhook_item *it;
	struct timespec ts;
	long	 status;

	(void)arg;
	pthread_mutex_lock(&wh_mu);
	while (!wh.stop) {
		it = wh.head;
		if (it == NULL || it->due > time(NULL)) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec = it != NULL ? it->due : ts.tv_sec + 60;
			(void)pthread_cond_timedwait(&wh_cv, &wh_mu, &ts);
			continue;
		}
		body = strdup(it->body);
		url = strdup(wh.url);
		ca = wh.ca_file ? strdup(wh.ca_file) : NULL;
		pthread_mutex_unlock(&wh_mu);
		status = body && url ? webhook_send(url, ca, body, err) : 0;
		if (!body || !url)
			snprintf(err, sizeof(err), "out of memory");
		free(body);
		free(url);
		free(ca);
		pthread_mutex_lock(&wh_mu);
		if (wh.stop)
			break;
		if (wh.head == it)	/* still ours: never dropped meanwhile */
			webhook_done(it, status, err);
	}
	pthread_mutex_unlock(&wh_mu);
	return NULL;
}

/* webhook_set - the URL and CA file to use from now on. */
static int
webhook_set(const char *url, const char *ca_file)
{
	char	*u = strdup(url), *c = strdup(ca_file ? ca_file : "");

	if (u == NULL || c == NULL) {
		free(u);
		free(c);
		return err_set(EX_TEMPFAIL, "webhook: out of memory");
	}
	free(wh.url);
	free(wh.ca_file);
	wh.url = u;
	wh.ca_file = c;
	return 0;
}

/* webhook_open - start the worker for url (or switch it to url). */
int
webhook_open(const char *url, const char *ca_file)
{
	int	 rc;

	if (!conf_webhook_ok(url))
		return err_set(EX_CONFIG, "webhook: refusing %s (https://, or "
		    "http:// to a loopback host only)", url);
	pthread_mutex_lock(&wh_mu);
	rc = webhook_set(url, ca_file);
	pthread_mutex_unlock(&wh_mu);
	if (rc != 0 || wh.running)
		return rc;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	wh.stop = 0;
	if ((rc = pthread_create(&wh.thread, NULL, webhook_main, NULL)) != 0)
		return err_set(EX_OSERR, "webhook: cannot start its thread: %s",
		    strerror(rc));
	wh.running = 1;
	return 0;
}

/* webhook_post - queue one JSON body (copied) for the worker. */
void
webhook_post(const char *body)
{
	struct webhook_item *it, *old = NULL;

	if (!wh.running)
		return;
	if ((it = calloc(1, sizeof(*it))) == NULL ||
	    (it->body = strdup(body)) == NULL) {
		free(it);
		log_warn("webhook: out of memory: event dropped");
		return;
	}
	pthread_mutex_lock(&wh_mu);
	if (wh.n == WEBHOOK_PENDING && wh.head != NULL &&
	    wh.head->next != NULL) {
		/* Drop the oldest not in flight (the head may be). */
		old = wh.head->next;
		wh.head->next = old->next;
		if (wh.tail == old)
			wh.tail = wh.head;
		wh.n--;
		wh.dropped++;
	}
	if (wh.tail)
		wh.tail->next = it;
	else
		wh.head = it;
	wh.tail = it;
	wh.n++;
	pthread_cond_signal(&wh_cv);
	pthread_mutex_unlock(&wh_mu);
	if (old != NULL) {
		log_warn("webhook: more than %d events pending: the oldest "
		    "dropped", WEBHOOK_PENDING);
		free(old->body);
		free(old);
	}
}

/* webhook_pending - events not yet delivered. */
size_t
webhook_pending(void)
{
	size_t	 n;

	pthread_mutex_lock(&wh_mu);
	n = wh.n;
	pthread_mutex_unlock(&wh_mu);
	return n;
}

/* webhook_close - stop the worker (a transfer in flight is aborted) and
 * forget what is pending. */
void
webhook_close(void)
{
	struct webhook_item *it;

	if (wh.running) {
		pthread_mutex_lock(&wh_mu);
		__atomic_store_n(&wh.stop, 1, __ATOMIC_RELAXED);
		pthread_cond_signal(&wh_cv);
		pthread_mutex_unlock(&wh_mu);
		pthread_join(wh.thread, NULL);
		wh.running = 0;
	}
	if (wh.n > 0)
		log_warn("webhook: %zu event(s) not delivered at shutdown",
		    wh.n);
	while ((it = wh.head) != NULL) {
		wh.head = it->next;
		free(it->body);
		free(it);
	}
	wh.tail = NULL;
	wh.n = 0;
	free(wh.url);
	free(wh.ca_file);
	wh.url = wh.ca_file = NULL;
}
