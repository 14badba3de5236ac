/*
 * notify_ring.c - per site, the last NOTIFY_RING messages sitemaild
 * indexed (queue ID, working directory, script or program, recipient
 * domains), in memory, for the "top" lists of notices and the webhook
 * (see notify.h).  At most NOTIFY_SITES_MAX sites are kept; the one
 * idle longest goes first.  Strings are cleaned on entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue/notify.h"
#include "queue/site.h"

#define RING_DOMAINS	4		/* recipient domains kept per message */
#define RING_TEXT	512		/* longest cwd or script kept */

/* One remembered message. */
struct ring_msg {
	char	 qid[SPOOL_QIDLEN + 1];
	char	*cwd, *script;
	char	*dom[RING_DOMAINS];
};

/* One site's ring. */
struct ring_site {
	char	*name;
	struct ring_msg m[NOTIFY_RING];
	size_t	 next, n;		/* next slot, slots used */
	unsigned long used;		/* last use, for eviction */
};

static struct ring_site *ring_sites;
static size_t ring_nsites;
static unsigned long ring_clock;

/* notify_clean - caller text fit for a log line, a notice or JSON. */
void
notify_clean(char *out, size_t len, const char *in)
{
	size_t	 i;

	snprintf(out, len, "%s", in != NULL && *in ? in : "?");
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

/* ring_msg_free - release one slot. */
static void
ring_msg_free(struct ring_msg *m)
{
	size_t	 i;

	free(m->cwd);
	free(m->script);
	for (i = 0; i < RING_DOMAINS; i++)
		free(m->dom[i]);
	memset(m, 0, sizeof(*m));
}

/* ring_site_free - release one site's ring. */
static void
ring_site_free(struct ring_site *s)
{
	size_t	 i;

	for (i = 0; i < NOTIFY_RING; i++)
		ring_msg_free(&s->m[i]);
	free(s->name);
}

/* ring_find - site's ring, or NULL. */
static struct ring_site *
ring_find(const char *site)
{
	size_t	 i;

	for (i = 0; i < ring_nsites; i++)
		if (strcmp(ring_sites[i].name, site) == 0)
			return &ring_sites[i];
	return NULL;
}

/* ring_get - site's ring, made when new (evicting the idlest if full). */
static struct ring_site *
ring_get(const char *site)
{
	struct ring_site *s = ring_find(site), *v;
	size_t	 i, old = 0;

	if (s != NULL)
		return s;
	if (ring_nsites == NOTIFY_SITES_MAX) {
		for (i = 1; i < ring_nsites; i++)
			if (ring_sites[i].used < ring_sites[old].used)
				old = i;
		ring_site_free(&ring_sites[old]);
		ring_sites[old] = ring_sites[--ring_nsites];
	}
	if ((v = realloc(ring_sites, (ring_nsites + 1) * sizeof(*v))) == NULL)
		return NULL;
	ring_sites = v;
	s = &v[ring_nsites];
	memset(s, 0, sizeof(*s));
	if ((s->name = strdup(site)) == NULL)
		return NULL;
	ring_nsites++;
	return s;
}

/* ring_dup - a cleaned copy of text (NULL when out of memory). */
static char *
ring_dup(const char *text)
{
	char	 c[RING_TEXT];

	notify_clean(c, sizeof(c), text);
	return strdup(c);
}

/* notify_ring_add - remember one message of site. */
void
notify_ring_add(const char *site, const char *qid, const char *cwd,
    const char *script, char *const *rcpt, size_t nrcpt)
{
	struct ring_site *s;
	struct ring_msg *m;
	const char *at;
	size_t	 i, k, nd = 0;

	if ((s = ring_get(site)) == NULL)
		return;
	s->used = ++ring_clock;
	m = &s->m[s->next];
	ring_msg_free(m);
	s->next = (s->next + 1) % NOTIFY_RING;
	if (s->n < NOTIFY_RING)
		s->n++;
	snprintf(m->qid, sizeof(m->qid), "%s", qid);
	m->cwd = ring_dup(cwd);
	m->script = ring_dup(script);
	for (i = 0; i < nrcpt && nd < RING_DOMAINS; i++) {
		at = strrchr(rcpt[i], '@');
		at = at != NULL ? at + 1 : "(local)";
		for (k = 0; k < nd && strcasecmp(m->dom[k], at) != 0; k++)
			;
		if (k == nd && (m->dom[nd] = ring_dup(at)) != NULL)
			nd++;
	}
}

/* ring_field - the value of slot m counted by what (0 cwd, 1 script). */
static const char *
ring_field(const struct ring_msg *m, int what)
{
	return what == 0 ? m->cwd : m->script;
}

/* ring_count - add one sighting of v to the tally t (n used of max). */
static void
ring_count(struct notify_top *t, size_t *n, size_t max, const char *v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < *n; i++)
		if (strcmp(t[i].what, v) == 0) {
			t[i].n++;
			return;
		}
	if (*n == max)
		return;
	snprintf(t[*n].what, sizeof(t[*n].what), "%s", v);
	t[(*n)++].n = 1;
}

/* ring_cmp - most seen first, then by name. */
static int
ring_cmp(const void *a, const void *b)
{
	const struct notify_top *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->what, y->what);
}

/* notify_ring_top - the top n cwds (0), scripts (1) or recipient
 * domains (2) of site's ring. */
size_t
notify_ring_top(const char *site, int what, struct notify_top *top,
    size_t n)
{
	struct ring_site *s = ring_find(site);
	struct notify_top *t;
	size_t	 i, k, nt = 0, max = NOTIFY_RING * RING_DOMAINS;

	if (s == NULL || n == 0 || (t = calloc(max, sizeof(*t))) == NULL)
		return 0;
	for (i = 0; i < NOTIFY_RING; i++) {
		if (s->m[i].qid[0] == '\0')
			continue;
		if (what == 2)
			for (k = 0; k < RING_DOMAINS; k++)
				ring_count(t, &nt, max, s->m[i].dom[k]);
		else
			ring_count(t, &nt, max, ring_field(&s->m[i], what));
	}
	qsort(t, nt, sizeof(*t), ring_cmp);
	if (nt > n)
		nt = n;
	memcpy(top, t, nt * sizeof(*t));
	free(t);
	return nt;
}

/* notify_ring_qids - the newest queue IDs of site's ring, newest first. */
size_t
notify_ring_qids(const char *site, char (*qid)[SPOOL_QIDLEN + 1], size_t n)
{
	struct ring_site *s = ring_find(site);
	size_t	 i, k = 0, slot;

	for (i = 0; s != NULL && i < s->n && k < n; i++) {
		slot = (s->next + NOTIFY_RING - 1 - i) % NOTIFY_RING;
		snprintf(qid[k++], SPOOL_QIDLEN + 1, "%s", s->m[slot].qid);
	}
	return k;
}

/* notify_ring_size - messages in site's ring. */
size_t
notify_ring_size(const char *site)
{
	struct ring_site *s = ring_find(site);

	return s != NULL ? s->n : 0;
}

/* notify_ring_free - forget every ring. */
void
notify_ring_free(void)
{
	size_t	 i;

	for (i = 0; i < ring_nsites; i++)
		ring_site_free(&ring_sites[i]);
	free(ring_sites);
	ring_sites = NULL;
	ring_nsites = 0;
}

/* notify_json_str - append s as a JSON string (quoted, escaped). */
int
notify_json_str(struct buf *b, const char *s)
{
	const unsigned char *p;
	int	 rc = buf_addch(b, '"');

	for (p = (const unsigned char *)s; rc == 0 && *p; p++) {
		if (*p == '"' || *p == '\\')
			rc = buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			rc = buf_printf(b, "\\u%04x", *p);
		else
			rc = buf_addch(b, *p);
	}
	return rc == 0 ? buf_addch(b, '"') : rc;
}
