/*
 * sched.c - fair choice of the next due message; see sched.h.
 *
 * Sites are kept in an array (never freed before sched_free, so the
 * caller's handles stay valid) with an open-addressing index by name.
 * The sites whose queue is not empty form a circular list, the ring; its
 * head is the site whose turn is next.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/sched.h"
#include "util/msg.h"

typedef char sched_qid[SPOOL_QIDLEN + 1];

struct sched_site {
	char	*name;
	sched_qid *q;
	size_t	 head, n, cap;		/* queued: q[head .. n-1] */
	unsigned busy, parked;
	struct sched_site *rnext, *rprev;	/* the ring; NULL if out */
};

struct sched {
	struct sched_site **v;
	size_t	 nv, capv;
	size_t	*idx;			/* 0 free, else index + 1 */
	size_t	 nidx;			/* a power of two */
	struct sched_site *ring;
	size_t	 waiting;
};

/* sched_hash - FNV-1a over a name. */
static size_t
sched_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

/* sched_new - an empty scheduler. */
int
sched_new(struct sched **sp)
{
	struct sched *s;

	if ((*sp = s = calloc(1, sizeof(*s))) == NULL)
		return err_set(EX_TEMPFAIL, "out of memory");
	s->nidx = 64;
	if ((s->idx = calloc(s->nidx, sizeof(*s->idx))) == NULL) {
		free(s);
		*sp = NULL;
		return err_set(EX_TEMPFAIL, "out of memory");
	}
	return 0;
}

/* sched_free - release everything. */
void
sched_free(struct sched *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nv; i++) {
		free(s->v[i]->name);
		free(s->v[i]->q);
		free(s->v[i]);
	}
	free(s->v);
	free(s->idx);
	free(s);
}

/* sched_ring_out - take site x off the ring. */
static void
sched_ring_out(struct sched *s, struct sched_site *x)
{
	if (x->rnext == NULL)
		return;
	if (x->rnext == x)
		s->ring = NULL;
	else {
		x->rprev->rnext = x->rnext;
		x->rnext->rprev = x->rprev;
		if (s->ring == x)
			s->ring = x->rnext;
	}
	x->rnext = x->rprev = NULL;
}

/* sched_ring_in - put site x on the ring, last in turn. */
static void
sched_ring_in(struct sched *s, struct sched_site *x)
{
	if (x->rnext != NULL)
		return;
	if (s->ring == NULL) {
		x->rnext = x->rprev = x;
		s->ring = x;
		return;
	}
	x->rnext = s->ring;
	x->rprev = s->ring->rprev;
	s->ring->rprev->rnext = x;
	s->ring->rprev = x;
}

/* sched_clear - empty every queue. */
void
sched_clear(struct sched *s)
{
	size_t	 i;

	for (i = 0; i < s->nv; i++) {
		s->v[i]->head = s->v[i]->n = 0;
		s->v[i]->rnext = s->v[i]->rprev = NULL;
	}
	s->ring = NULL;
	s->waiting = 0;
}

/* sched_grow_idx - double the name index. */
static int
sched_grow_idx(struct sched *s)
{
	size_t	 n = s->nidx * 2, i, j;
	size_t	*idx = calloc(n, sizeof(*idx));

	if (idx == NULL)
		return -1;
	for (i = 0; i < s->nv; i++) {
		j = sched_hash(s->v[i]->name) & (n - 1);
		while (idx[j] != 0)
			j = (j + 1) & (n - 1);
		idx[j] = i + 1;
	}
	free(s->idx);
	s->idx = idx;
	s->nidx = n;
	return 0;
}

/* sched_site_of - the site record of name, made when missing. */
struct sched_site *
sched_site_of(struct sched *s, const char *name)
{
	struct sched_site *x, **v;
	size_t	 j;

	j = sched_hash(name) & (s->nidx - 1);
	for (; s->idx[j] != 0; j = (j + 1) & (s->nidx - 1))
		if (strcmp(s->v[s->idx[j] - 1]->name, name) == 0)
			return s->v[s->idx[j] - 1];
	if (s->nv == s->capv) {
		size_t	 ncap = s->capv ? s->capv * 2 : 16;

		if ((v = realloc(s->v, ncap * sizeof(*v))) == NULL)
			return NULL;
		s->v = v;
		s->capv = ncap;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->name = strdup(name)) == NULL) {
		free(x);
		return NULL;
	}
	s->v[s->nv] = x;
	s->idx[j] = ++s->nv;
	if (s->nv * 2 > s->nidx)
		(void)sched_grow_idx(s);
	return x;
}

/* sched_add - append qid to site's queue. */
int
sched_add(struct sched *s, const char *site, const char *qid)
{
	struct sched_site *x = sched_site_of(s, site);
	sched_qid *q;

	if (x == NULL)
		return err_set(EX_TEMPFAIL, "runner: out of memory");
	if (x->head > 0 && x->head == x->n)
		x->head = x->n = 0;
	if (x->n == x->cap) {
		size_t	 ncap = x->cap ? x->cap * 2 : 16;

		if ((q = realloc(x->q, ncap * sizeof(*q))) == NULL)
			return err_set(EX_TEMPFAIL, "runner: out of memory");
		x->q = q;
		x->cap = ncap;
	}
	snprintf(x->q[x->n++], sizeof(sched_qid), "%s", qid);
	s->waiting++;
	sched_ring_in(s, x);
	return 0;
}

/* sched_qid_cmp - queue IDs sort by arrival. */
static int
sched_qid_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* sched_sort - put every site's queue in arrival order. */
void
sched_sort(struct sched *s)
{
	size_t	 i;

	for (i = 0; i < s->nv; i++)
		if (s->v[i]->n - s->v[i]->head > 1)
			qsort(s->v[i]->q + s->v[i]->head, s->v[i]->n -
			    s->v[i]->head, sizeof(sched_qid), sched_qid_cmp);
}

/* sched_next - the next message, round-robin over the sites. */
struct sched_site *
sched_next(struct sched *s, unsigned cap, unsigned pcap,
    char qid[SPOOL_QIDLEN + 1])
{
	struct sched_site *x = s->ring, *pick = NULL, *spare = NULL;

	if (x == NULL)
		return NULL;
	do {
		if (x->parked < pcap) {
			if (x->busy < cap) {
				pick = x;
				break;
			}
			if (spare == NULL)
				spare = x;
		}
		x = x->rnext;
	} while (x != s->ring);
	if (pick == NULL)
		pick = spare;	/* everyone is at the cap: keep slots busy */
	if (pick == NULL)
		return NULL;
	memcpy(qid, pick->q[pick->head++], sizeof(sched_qid));
	s->waiting--;
	s->ring = pick->rnext;
	if (pick->head == pick->n) {
		pick->head = pick->n = 0;
		sched_ring_out(s, pick);
	}
	return pick;
}

/* sched_waiting - messages queued, not started. */
size_t
sched_waiting(const struct sched *s)
{
	return s->waiting;
}

/* sched_busy - change a site's count of messages in delivery. */
void
sched_busy(struct sched_site *x, int delta)
{
	if (x != NULL && (delta > 0 || x->busy >= (unsigned)-delta))
		x->busy += (unsigned)delta;
}

/* sched_parked - change a site's count of messages waiting on DNS. */
void
sched_parked(struct sched_site *x, int delta)
{
	if (x != NULL && (delta > 0 || x->parked >= (unsigned)-delta))
		x->parked += (unsigned)delta;
}

/* sched_site_name - the name a site was queued under. */
const char *
sched_site_name(const struct sched_site *x)
{
	return x->name;
}
