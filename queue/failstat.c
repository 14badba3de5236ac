/*
 * failstat.c - per-site delivery results over a sliding hour, in
 * sitemaild's memory (see failstat.h).  Each site has FAILSTAT_SLOTS
 * one-minute slots, slot (minute % FAILSTAT_SLOTS), each stamped with the
 * minute it counts; a slot whose stamp is older than the window counts
 * nothing and is reused.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>

#include "queue/failstat.h"

/* One minute of one site. */
struct failstat_slot {
	time_t	 minute;		/* now / FAILSTAT_SLOT it counts */
	unsigned sent, bounced, policy;
};

/* One site. */
struct failstat_site {
	char	*name;
	struct failstat_slot slot[FAILSTAT_SLOTS];
};

struct failstat {
	struct failstat_site *v;
	size_t	 n, cap;
};

/* failstat_new - empty counters. */
struct failstat *
failstat_new(void)
{
	return calloc(1, sizeof(struct failstat));
}

/* failstat_free - release the counters. */
void
failstat_free(struct failstat *fs)
{
	size_t	 i;

	if (fs == NULL)
		return;
	for (i = 0; i < fs->n; i++)
		free(fs->v[i].name);
	free(fs->v);
	free(fs);
}

/* failstat_mentions_spam - 1 if text holds "spam" in any case. */
static int
failstat_mentions_spam(const char *text)
{
	const char *p;

	for (p = text; p != NULL && *p != '\0'; p++)
		if (strncasecmp(p, "spam", 4) == 0)
			return 1;
	return 0;
}

/* failstat_classify - the kind of one server reply. */
enum failstat_kind
failstat_classify(int code, const char *dsn, char stage, const char *text)
{
	int	 policy;

	if (code >= 200 && code < 300)
		return FAILSTAT_SENT;
	if (code < 500 || code >= 600 || stage == 0)
		return FAILSTAT_NONE;	/* 4xx, or no server reply */
	policy = (dsn != NULL && strncmp(dsn, "5.7.", 4) == 0) ||
	    stage == 'M' || stage == 'D';
	if (!policy)
		return FAILSTAT_BOUNCED;
	return failstat_mentions_spam(text) ? FAILSTAT_SPAMMED :
	    FAILSTAT_POLICY;
}

/* failstat_find - the site's entry, or NULL. */
static struct failstat_site *
failstat_find(const struct failstat *fs, const char *site)
{
	size_t	 i;

	for (i = 0; fs != NULL && i < fs->n; i++)
		if (strcmp(fs->v[i].name, site) == 0)
			return &fs->v[i];
	return NULL;
}

/* failstat_site - the site's entry, made when missing (NULL: no memory). */
static struct failstat_site *
failstat_site(struct failstat *fs, const char *site)
{
	struct failstat_site *s = failstat_find(fs, site), *v;
	size_t	 cap;

	if (s != NULL)
		return s;
	if (fs->n == fs->cap) {
		cap = fs->cap ? fs->cap * 2 : 16;
		if ((v = realloc(fs->v, cap * sizeof(*v))) == NULL)
			return NULL;
		fs->v = v;
		fs->cap = cap;
	}
	s = &fs->v[fs->n];
	memset(s, 0, sizeof(*s));
	if ((s->name = strdup(site)) == NULL)
		return NULL;
	fs->n++;
	return s;
}

/* failstat_sum - the site's counts over the window ending at now. */
static void
failstat_sum(const struct failstat_site *s, time_t now,
    struct failstat_fig *fig)
{
	time_t	 cur = now / FAILSTAT_SLOT;
	size_t	 i;

	memset(fig, 0, sizeof(*fig));
	for (i = 0; s != NULL && i < FAILSTAT_SLOTS; i++) {
		const struct failstat_slot *sl = &s->slot[i];

		if (sl->minute > cur || sl->minute <= cur - FAILSTAT_SLOTS)
			continue;	/* out of the window (or clock back) */
		fig->sent += sl->sent;
		fig->bounced += sl->bounced;
		fig->policy += sl->policy;
	}
}

/* failstat_add - count one result; the freeze verdict. */
enum failstat_verdict
failstat_add(struct failstat *fs, const char *site, enum failstat_kind kind,
    time_t now, const struct conf_limits *lim, struct failstat_fig *fig)
{
	struct failstat_site *s;
	struct failstat_slot *sl;
	time_t	 cur = now / FAILSTAT_SLOT;
	unsigned fails, min;

	memset(fig, 0, sizeof(*fig));
	if (kind == FAILSTAT_NONE || (s = failstat_site(fs, site)) == NULL)
		return FAILSTAT_OK;
	sl = &s->slot[(size_t)(cur % FAILSTAT_SLOTS)];
	if (sl->minute != cur) {
		memset(sl, 0, sizeof(*sl));
		sl->minute = cur;
	}
	if (kind == FAILSTAT_SENT)
		sl->sent++;
	else if (kind == FAILSTAT_BOUNCED)
		sl->bounced++;
	else
		sl->policy++;
	failstat_sum(s, now, fig);
	if (kind == FAILSTAT_SPAMMED)
		return FAILSTAT_SPAM;
	fails = fig->bounced + fig->policy;
	min = lim->min_fail_count >= 1 ? (unsigned)lim->min_fail_count : 1;
	if (lim->max_fail_ratio < 1 && fails >= min &&
	    (double)fails > lim->max_fail_ratio * (double)(fails + fig->sent))
		return FAILSTAT_RATIO;
	return FAILSTAT_OK;
}

/* failstat_get - the site's counts at time now. */
void
failstat_get(const struct failstat *fs, const char *site, time_t now,
    struct failstat_fig *fig)
{
	failstat_sum(failstat_find(fs, site), now, fig);
}

/* failstat_forget - drop the site's counts. */
void
failstat_forget(struct failstat *fs, const char *site)
{
	struct failstat_site *s = failstat_find(fs, site);

	if (s != NULL)
		memset(s->slot, 0, sizeof(s->slot));
}

/* failstat_figures - the figures of a freeze, for its log line. */
void
failstat_figures(const struct failstat_fig *fig,
    const struct conf_limits *lim, char *out, size_t len)
{
	unsigned fails = fig->bounced + fig->policy;

	snprintf(out, len, "%u/%u in 1h (max %.0f%%, min %.0f): %u bounced, "
	    "%u refused for policy, %u sent", fails, fails + fig->sent,
	    lim->max_fail_ratio * 100, lim->min_fail_count, fig->bounced,
	    fig->policy, fig->sent);
}
