/*
 * notify.c - abuse events in sitemaild: the log line, the webhook body,
 * the per-site rate limit of notices, and where events come from (see
 * notify.h).  The notice text is queue/notify_mail.c's.
 */
#include <sys/stat.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/freeze.h"
#include "queue/metrics.h"
#include "queue/notify.h"
#include "queue/notify_int.h"
#include "queue/qstate.h"
#include "queue/site.h"
#include "queue/webhook.h"
#include "spool/usage.h"
#include "util/msg.h"

struct notify_state nt;

static const char *const notify_kinds[NOTIFY_KINDS] = {
	"freeze", "thaw", "quota", "quarantine"
};

/* notify_kind_name - the event's name. */
const char *
notify_kind_name(enum notify_kind k)
{
	return (unsigned)k < NOTIFY_KINDS ? notify_kinds[k] : "?";
}

/* notify_site - the notice state of site, made when new (NULL: full). */
struct notify_site *
notify_site(const char *site)
{
	struct notify_site *v;
	size_t	 i;

	for (i = 0; i < nt.nsites; i++)
		if (strcmp(nt.sites[i].name, site) == 0)
			return &nt.sites[i];
	if (nt.nsites == NOTIFY_STATE_MAX ||
	    (v = realloc(nt.sites, (nt.nsites + 1) * sizeof(*v))) == NULL)
		return NULL;
	nt.sites = v;
	memset(&v[nt.nsites], 0, sizeof(v[0]));
	v[nt.nsites].uid = (uid_t)-1;
	if ((v[nt.nsites].name = strdup(site)) == NULL)
		return NULL;
	return &v[nt.nsites++];
}

/* notify_figs - "name=value ..." of an event into out. */
static void
notify_figs(const struct notify_ev *ev, char *out, size_t len)
{
	size_t	 i, o = 0;

	out[0] = '\0';
	for (i = 0; i < ev->nfig && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s=%.10g",
		    i ? " " : "", ev->fig[i].name, ev->fig[i].value);
}

/* notify_time - t as RFC 3339 UTC. */
static void
notify_time(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* notify_json_top - append "key": [{"name": v, "count": n}, ...]. */
static int
notify_json_top(struct buf *b, const char *site, int what, const char *key,
    const char *name)
{
	struct notify_top top[NOTIFY_TOP];
	size_t	 n, i;
	int	 rc;

	n = notify_ring_top(site, what, top, NOTIFY_TOP);
	rc = buf_printf(b, ",\"%s\":[", key);
	for (i = 0; rc == 0 && i < n; i++)
		if ((rc = buf_printf(b, "%s{\"%s\":", i ? "," : "", name)) ==
		    0 && (rc = notify_json_str(b, top[i].what)) == 0)
			rc = buf_printf(b, ",\"count\":%u}", top[i].n);
	return rc == 0 ? buf_addch(b, ']') : rc;
}

/* notify_json - the webhook body of ev. */
static int
notify_json(struct buf *b, const struct notify_ev *ev, const char *detail,
    time_t now)
{
	char	 when[32];
	size_t	 i;
	int	 rc;

	notify_time(now, when, sizeof(when));
	rc = buf_printf(b, "{\"event\":\"%s\",\"site\":",
	    notify_kind_name(ev->kind));
	if (rc == 0)
		rc = notify_json_str(b, ev->site);
	if (rc == 0 && ev->uid == (uid_t)-1)
		rc = buf_addstr(b, ",\"uid\":null");
	else if (rc == 0)
		rc = buf_printf(b, ",\"uid\":%lu", (unsigned long)ev->uid);
	if (rc == 0 && (rc = buf_addstr(b, ",\"trigger\":")) == 0)
		rc = notify_json_str(b, ev->trigger);
	if (rc == 0)
		rc = buf_addstr(b, ",\"figures\":{");
	for (i = 0; rc == 0 && i < ev->nfig; i++)
		rc = buf_printf(b, "%s\"%s\":%.10g", i ? "," : "",
		    ev->fig[i].name, ev->fig[i].value);
	if (rc == 0 && (rc = buf_addch(b, '}')) == 0)
		rc = notify_json_top(b, ev->site, 1, "top_scripts", "script");
	if (rc == 0)
		rc = notify_json_top(b, ev->site, 0, "top_cwds", "cwd");
	if (rc == 0 && (rc = buf_addstr(b, ",\"detail\":")) == 0)
		rc = notify_json_str(b, detail);
	if (rc == 0 && (rc = buf_printf(b, ",\"time\":\"%s\",\"host\":",
	    when)) == 0)
		rc = notify_json_str(b, nt.conf->hostname);
	return rc == 0 ? buf_addch(b, '}') : rc;
}

/* notify_queue - note ev for the site's next notice. */
static void
notify_queue(const struct notify_ev *ev, const char *figs,
    const char *detail, time_t now)
{
	struct notify_site *s = notify_site(ev->site);
	char	 hms[16];
	struct tm tm;

	if (s == NULL)
		return;
	if (ev->uid != (uid_t)-1)
		s->uid = ev->uid;
	if (s->total++ == 0)
		s->first = now;
	s->count[ev->kind]++;
	if (s->lines == NULL &&
	    (s->lines = calloc(NOTIFY_LINES, sizeof(*s->lines))) == NULL)
		return;
	if (s->nlines == NOTIFY_LINES)
		return;
	localtime_r(&now, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	snprintf(s->lines[s->nlines], sizeof(s->lines[0]), "%s %s, trigger "
	    "%s%s%s%s%s", hms, notify_kind_name(ev->kind), ev->trigger,
	    *figs ? ": " : "", figs, *detail ? "; " : "", detail);
	s->kinds[s->nlines++] = ev->kind;
	if (s->nlines == 1)
		snprintf(s->trigger, sizeof(s->trigger), "%s", ev->trigger);
}

/* notify_event - log an event, post it, and queue it for its notice. */
void
notify_event(const struct notify_ev *ev)
{
	char	 figs[256], detail[1024], site[SITE_NAME_MAX + 1];
	time_t	 now = time(NULL);
	struct buf b;

	if (nt.conf == NULL)
		return;
	notify_figs(ev, figs, sizeof(figs));
	notify_clean(detail, sizeof(detail), ev->detail);
	if (ev->detail == NULL || *ev->detail == '\0')
		detail[0] = '\0';
	notify_clean(site, sizeof(site), ev->site);
	log_info("notify: event=%s site=%s trigger=%s%s%s", notify_kind_name(
	    ev->kind), *ev->site ? site : "-", ev->trigger, *figs ? " " : "",
	    figs);
	if (ev->kind == NOTIFY_FREEZE)
		metrics_count(ev->site, METRICS_FROZEN, 1);
	if (*nt.conf->notify.webhook) {
		buf_init(&b, 65536);
		if (notify_json(&b, ev, detail, now) == 0 &&
		    buf_addch(&b, '\0') == 0)
			webhook_post(b.ptr);
		buf_free(&b);
	}
	notify_queue(ev, figs, detail, now);
}

/* notify_due - 1 if s's notice goes now: the first event of a quiet
 * site after NOTIFY_DELAY, the rest at the end of the interval. */
static int
notify_due(const struct notify_site *s, time_t now)
{
	if (s->total == 0 || now < s->first + NOTIFY_DELAY)
		return 0;
	return s->sent == 0 || now >= s->sent + nt.conf->notify.interval ||
	    now < s->sent;		/* the clock went back */
}

/* notify_pending - 1 if some event waits for its notice. */
int
notify_pending(void)
{
	size_t	 i;

	for (i = 0; i < nt.nsites; i++)
		if (nt.sites[i].total > 0)
			return 1;
	return 0;
}

/* notify_tick - mail the notices that are due (force: every pending
 * one, at shutdown). */
void
notify_tick(time_t now, int force)
{
	struct notify_site *s;
	size_t	 i;

	if (nt.conf == NULL)
		return;
	for (i = 0; i < nt.nsites; i++) {
		s = &nt.sites[i];
		if (s->total == 0 || (!force && !notify_due(s, now)))
			continue;
		notify_mail(s, now);
		free(s->lines);
		s->lines = NULL;
		s->sent = now;
		s->total = 0;
		s->nlines = 0;
		memset(s->count, 0, sizeof(s->count));
	}
}

/* notify_seen - remember a message sitemaild has indexed. */
void
notify_seen(const struct envelope *env)
{
	struct notify_site *s;

	if (nt.conf == NULL || env->site == NULL)
		return;
	notify_ring_add(env->site, env->qid, env->cwd, env->script &&
	    *env->script ? env->script : env->exe, env->rcpt, env->nrcpt);
	metrics_count(env->site, METRICS_ACCEPTED, 1);
	if ((s = notify_site(env->site)) != NULL)
		s->uid = env->uid;
}

/* notify_queued_hook - qstate's "queued:" line: a message was indexed. */
static void
notify_queued_hook(const struct envelope *env, uint64_t size)
{
	(void)size;
	notify_seen(env);
}

/* notify_site_uid - the last uid seen for site, or (uid_t)-1. */
static uid_t
notify_site_uid(const char *site)
{
	struct notify_site *s = notify_site(site);

	return s != NULL ? s->uid : (uid_t)-1;
}

/* notify_frozen_change - a freeze marker appeared or went.  The event
 * is taken from the change itself, not from the marker read later (a
 * fast freeze-thaw loop has changed it again by then); an automatic
 * marker (its cause has reported it) is skipped. */
void
notify_frozen_change(const char *marker, int exists)
{
	struct notify_ev ev;
	char	 site[SITE_NAME_MAX + 1];

	if (nt.conf == NULL || freeze_marker_site(marker, site,
	    sizeof(site)) != 0)
		return;
	if (exists && freeze_site_get(nt.conf->spool_dir, site) == 2)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = exists ? NOTIFY_FREEZE : NOTIFY_THAW;
	ev.site = site;
	ev.uid = notify_site_uid(site);
	ev.trigger = "admin";
	notify_event(&ev);
}

/* notify_quarantined - queue/qid (owned by uid) was quarantined. */
void
notify_quarantined(const char *qid, uid_t uid, const char *why)
{
	struct notify_ev ev;
	struct site_id id;
	char	 detail[600];

	if (nt.conf == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = NOTIFY_QUARANTINE;
	ev.site = site_identify(nt.conf, uid, &id) == 0 ? id.name : "";
	ev.uid = uid;
	ev.trigger = "verify";
	snprintf(detail, sizeof(detail), "%s: %s", qid, why);
	ev.detail = detail;
	notify_event(&ev);
}

/* notify_usage - one site's spool usage: a quota event at the edge. */
void
notify_usage(const char *site, uint64_t bytes, unsigned msgs)
{
	struct conf_limits lim;
	struct notify_site *s;
	struct notify_ev ev;
	int	 over;

	metrics_usage(site, bytes, msgs);
	if (nt.conf == NULL || (s = notify_site(site)) == NULL)
		return;
	s->walk = nt.walk;
	site_limits(nt.conf, site, &lim);
	over = lim.spool_quota > 0 && bytes >= lim.spool_quota;
	if (over && !s->over_quota) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = NOTIFY_QUOTA;
		ev.site = site;
		ev.uid = s->uid;
		ev.trigger = "spool_quota";
		ev.fig[0].name = "bytes";
		ev.fig[0].value = (double)bytes;
		ev.fig[1].name = "spool_quota";
		ev.fig[1].value = (double)lim.spool_quota;
		ev.nfig = 2;
		ev.detail = "intake refuses the site's new mail (75) until its "
		    "queue drains";
		notify_event(&ev);
	}
	s->over_quota = over;
}

/* notify_usage_begin - a usage walk starts: a site the last walk did
 * not see holds nothing, so it is under its quota. */
static void
notify_usage_begin(void)
{
	size_t	 i;

	metrics_usage_begin();
	for (i = 0; i < nt.nsites; i++)
		if (nt.sites[i].walk != nt.walk)
			nt.sites[i].over_quota = 0;
	nt.walk++;
}

/* notify_space - the spool's free bytes: an event at the edge. */
void
notify_space(uint64_t avail)
{
	static int low;
	struct notify_ev ev;
	int	 now_low;

	if (nt.conf == NULL)
		return;
	now_low = nt.conf->min_free_space > 0 &&
	    avail < nt.conf->min_free_space;
	if (now_low && !low) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = NOTIFY_QUOTA;
		ev.site = "";
		ev.uid = (uid_t)-1;
		ev.trigger = "min_free_space";
		ev.fig[0].name = "free_bytes";
		ev.fig[0].value = (double)avail;
		ev.fig[1].name = "min_free_space";
		ev.fig[1].value = (double)nt.conf->min_free_space;
		ev.nfig = 2;
		ev.detail = "intake refuses every site's new mail (75) until "
		    "space is freed";
		notify_event(&ev);
	}
	low = now_low;
}

/* notify_conf - use a new configuration and key. */
void
notify_conf(const struct conf *c, const unsigned char key[SPOOL_KEYLEN])
{
	nt.conf = c;
	memcpy(nt.key, key, SPOOL_KEYLEN);
	if (*c->notify.webhook == '\0')
		webhook_close();
	else if (webhook_open(c->notify.webhook, c->ca_file) != 0)
		log_error("%s", err_str());
}

/* notify_open - start the notifier (hooks into indexing and usage). */
int
notify_open(const struct conf *c, const unsigned char key[SPOOL_KEYLEN])
{
	notify_conf(c, key);
	qstate_queued_hook(notify_queued_hook);
	usage_hooks(notify_usage_begin, notify_usage, metrics_oldest,
	    notify_space);
	return 0;
}

/* notify_close - stop the webhook worker and forget everything. */
void
notify_close(void)
{
	size_t	 i;

	webhook_close();
	qstate_queued_hook(NULL);
	usage_hooks(NULL, NULL, NULL, NULL);
	for (i = 0; i < nt.nsites; i++) {
		free(nt.sites[i].name);
		free(nt.sites[i].lines);
	}
	free(nt.sites);
	notify_ring_free();
	metrics_free();
	explicit_bzero(nt.key, sizeof(nt.key));
	memset(&nt, 0, sizeof(nt));
}
