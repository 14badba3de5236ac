/*
 * test_sched.c - queue/sched.c: due messages are served round-robin
 * across sites, in arrival order within a site, each site within its
 * share of slots while another site waits, and never idling free slots.
 */
#include <stdio.h>
#include <string.h>

#include "queue/sched.h"
#include "testsuite/unit/tap.h"
#include "util/msg.h"

/* qid - a queue ID that sorts by n. */
static const char *
qid(unsigned n)
{
	static char b[SPOOL_QIDLEN + 1];

	snprintf(b, sizeof(b), "%020u", n);
	return b;
}

/* test_round_robin - A's backlog does not delay B. */
static void
test_round_robin(void)
{
	struct sched *s;
	struct sched_site *x;
	char	 q[SPOOL_QIDLEN + 1], order[64] = "";
	unsigned i;

	is_int(sched_new(&s), 0, "new");
	for (i = 0; i < 1000; i++)
		sched_add(s, "a", qid(1000 - i));	/* added out of order */
	for (i = 0; i < 3; i++)
		sched_add(s, "b", qid(5000 + i));
	sched_sort(s);
	is_int(sched_waiting(s), 1003, "1003 waiting");
	for (i = 0; i < 6 && (x = sched_next(s, 100, 100, q)); i++)
		snprintf(order + strlen(order), sizeof(order) - strlen(order),
		    "%s", sched_site_name(x));
	is_str(order, "ababab", "sites alternate");
	sched_clear(s);
	sched_add(s, "a", qid(9));
	sched_add(s, "a", qid(3));
	sched_sort(s);
	x = sched_next(s, 100, 100, q);
	is_str(q, qid(3), "arrival order within a site");
	sched_free(s);
}

/* test_cap - a site at its share waits while another can go; alone, it
 * takes every slot. */
static void
test_cap(void)
{
	struct sched *s;
	struct sched_site *a, *b, *x;
	char	 q[SPOOL_QIDLEN + 1];

	sched_new(&s);
	sched_add(s, "a", qid(1));
	sched_add(s, "a", qid(2));
	sched_add(s, "a", qid(3));
	a = sched_next(s, 2, 8, q);
	sched_busy(a, 1);
	x = sched_next(s, 2, 8, q);
	sched_busy(x, 1);
	b = sched_site_of(s, "b");
	sched_add(s, "b", qid(10));
	sched_add(s, "b", qid(11));
	x = sched_next(s, 2, 8, q);
	ok(x == b, "a at its cap of 2: b goes");
	sched_busy(x, 1);
	x = sched_next(s, 2, 8, q);
	ok(x == b, "b under its cap goes before a");
	sched_busy(x, 1);
	x = sched_next(s, 2, 8, q);
	ok(x == a, "both at the cap: the slot is not left idle");
	sched_parked(b, 8);
	sched_add(s, "b", qid(12));
	ok(sched_next(s, 2, 8, q) == NULL, "b parked to its limit: nobody");
	sched_parked(b, -8);
	ok(sched_next(s, 2, 8, q) == b, "unparked: b again");
	is_int(sched_waiting(s), 0, "all taken");
	sched_free(s);
}

/* main - run the cases. */
int
main(void)
{
	test_round_robin();
	test_cap();
	return tap_done();
}
