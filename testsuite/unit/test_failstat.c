/*
 * test_failstat.c - the per-site sliding-hour result counter of the
 * failure-ratio auto-freeze (queue/failstat.c): classification of server
 * replies, the ratio and minimum, the spam trigger, the window sliding
 * out, and sites kept apart.
 */
#include <stdio.h>
#include <string.h>

#include "queue/failstat.h"
#include "testsuite/unit/tap.h"

/* lim - limits with a failure ratio and minimum. */
static struct conf_limits
lim(double ratio, double min)
{
	struct conf_limits l;

	memset(&l, 0, sizeof(l));
	l.max_fail_ratio = ratio;
	l.min_fail_count = min;
	return l;
}

/* test_classify - which replies count, and as what. */
static void
test_classify(void)
{
	is_int(failstat_classify(250, "2.0.0", 'D', "250 ok"), FAILSTAT_SENT,
	    "250 to DATA: sent");
	is_int(failstat_classify(550, "5.1.1", 'R', "550 5.1.1 no such user"),
	    FAILSTAT_BOUNCED, "550 5.1.1 to RCPT: bounced");
	is_int(failstat_classify(550, "5.7.1", 'R', "550 5.7.1 relay denied"),
	    FAILSTAT_POLICY, "5.7.x to RCPT: policy");
	is_int(failstat_classify(554, "5.0.0", 'D', "554 rejected"),
	    FAILSTAT_POLICY, "5xx to DATA: policy");
	is_int(failstat_classify(550, "5.0.0", 'M', "550 sender refused"),
	    FAILSTAT_POLICY, "5xx to MAIL: policy");
	is_int(failstat_classify(550, "5.7.1", 'D',
	    "550 5.7.1 message refused as spam"), FAILSTAT_SPAMMED,
	    "5.7.1 ... spam: spammed");
	is_int(failstat_classify(554, "5.7.0", 'D', "554 5.7.0 SPAM score"),
	    FAILSTAT_SPAMMED, "any case");
	is_int(failstat_classify(550, "5.1.1", 'R',
	    "550 5.1.1 <spam@x.test> unknown"), FAILSTAT_BOUNCED,
	    "a mailbox error naming spam is still a bounce");
	is_int(failstat_classify(421, "4.3.2", 'R', "421 busy"), FAILSTAT_NONE,
	    "421: not counted");
	is_int(failstat_classify(451, "4.7.1", 'D', "451 4.7.1 spam? later"),
	    FAILSTAT_NONE, "4xx, even 4.7.x spam: not counted");
	is_int(failstat_classify(421, "4.4.2", 0, "connection lost"),
	    FAILSTAT_NONE, "a session failure: not counted");
	is_int(failstat_classify(550, "5.7.8", 0, "auth"), FAILSTAT_NONE,
	    "no server reply (stage 0): not counted");
}

/* add - count n results of one kind; the last verdict. */
static int
add(struct failstat *fs, const char *site, enum failstat_kind k, int n,
    time_t now, const struct conf_limits *l, struct failstat_fig *fig)
{
	int	 v = FAILSTAT_OK, i;

	for (i = 0; i < n; i++)
		if ((v = failstat_add(fs, site, k, now, l, fig)) != FAILSTAT_OK)
			return v;
	return v;
}

/* test_ratio - the documented case: 30 recipients, 20 refused. */
static void
test_ratio(void)
{
	struct failstat *fs = failstat_new();
	struct conf_limits l = lim(0.5, 20);
	struct failstat_fig fig;
	char	 text[256];
	time_t	 t = 1000000;

	ok(fs != NULL, "new");
	is_int(add(fs, "a", FAILSTAT_SENT, 10, t, &l, &fig), FAILSTAT_OK,
	    "10 sent");
	is_int(add(fs, "a", FAILSTAT_BOUNCED, 19, t + 60, &l, &fig),
	    FAILSTAT_OK, "19 bounced: under min_fail_count 20");
	is_int(failstat_add(fs, "a", FAILSTAT_POLICY, t + 120, &l, &fig),
	    FAILSTAT_RATIO, "the 20th failure of 30 (67% > 50%): freeze");
	ok(fig.sent == 10 && fig.bounced == 19 && fig.policy == 1,
	    "figures: 10 sent, 19 bounced, 1 policy");
	failstat_figures(&fig, &l, text, sizeof(text));
	is_str(text, "20/30 in 1h (max 50%, min 20): 19 bounced, 1 refused "
	    "for policy, 10 sent", "the figures text");
	failstat_forget(fs, "a");
	failstat_get(fs, "a", t + 120, &fig);
	ok(fig.sent + fig.bounced + fig.policy == 0, "forgotten after it");
	/* Exactly 50% is not more than 50%. */
	add(fs, "b", FAILSTAT_SENT, 20, t, &l, &fig);
	is_int(add(fs, "b", FAILSTAT_BOUNCED, 20, t, &l, &fig), FAILSTAT_OK,
	    "20 of 40 failed (50%): not frozen");
	is_int(failstat_add(fs, "b", FAILSTAT_BOUNCED, t, &l, &fig),
	    FAILSTAT_RATIO, "21 of 41: frozen");
	l = lim(1, 0);
	is_int(add(fs, "c", FAILSTAT_BOUNCED, 500, t, &l, &fig), FAILSTAT_OK,
	    "max_fail_ratio 100%: never");
	l = lim(0, 0);
	is_int(failstat_add(fs, "d", FAILSTAT_BOUNCED, t, &l, &fig),
	    FAILSTAT_RATIO, "0% and min 0: the first failure");
	is_int(failstat_add(fs, "e", FAILSTAT_SENT, t, &l, &fig), FAILSTAT_OK,
	    "... but never a success");
	l = lim(0.5, 20);
	is_int(failstat_add(fs, "f", FAILSTAT_NONE, t, &l, &fig), FAILSTAT_OK,
	    "NONE counts nothing");
	failstat_get(fs, "f", t, &fig);
	ok(fig.sent + fig.bounced + fig.policy == 0, "... really nothing");
	is_int(failstat_add(fs, "g", FAILSTAT_SPAMMED, t, &l, &fig),
	    FAILSTAT_SPAM, "one spam refusal: at once");
	ok(fig.policy == 1, "counted as a policy refusal");
	failstat_free(fs);
}

/* test_window - results older than an hour slide out. */
static void
test_window(void)
{
	struct failstat *fs = failstat_new();
	struct conf_limits l = lim(0.5, 20);
	struct failstat_fig fig;
	time_t	 t = 7200 * 1000;	/* on a minute boundary */

	add(fs, "a", FAILSTAT_BOUNCED, 15, t, &l, &fig);
	add(fs, "a", FAILSTAT_BOUNCED, 4, t + 1800, &l, &fig);
	failstat_get(fs, "a", t + 3599, &fig);
	is_int(fig.bounced, 19, "19 in the hour");
	failstat_get(fs, "a", t + 3600, &fig);
	is_int(fig.bounced, 4, "an hour later the first 15 are gone");
	is_int(failstat_add(fs, "a", FAILSTAT_BOUNCED, t + 3600, &l, &fig),
	    FAILSTAT_OK, "so the 20th failure overall does not freeze");
	is_int(fig.bounced, 5, "5 in the window");
	failstat_get(fs, "a", t + 1800 + 3600, &fig);
	is_int(fig.bounced, 1, "the slot of t+1800 slid out too");
	failstat_get(fs, "a", t + 100 * 3600, &fig);
	is_int(fig.bounced, 0, "long after: nothing");
	add(fs, "a", FAILSTAT_SENT, 3, t + 100 * 3600, &l, &fig);
	ok(fig.sent == 3 && fig.bounced == 0, "a reused slot starts at zero");
	failstat_get(fs, "a", t, &fig);
	is_int(fig.sent, 0, "a clock gone back sees no future slot");
	/* Sites are apart. */
	add(fs, "x", FAILSTAT_BOUNCED, 19, t, &l, &fig);
	is_int(failstat_add(fs, "y", FAILSTAT_BOUNCED, t, &l, &fig),
	    FAILSTAT_OK, "another site's failures do not add up");
	failstat_get(fs, "nosuch", t, &fig);
	ok(fig.sent + fig.bounced + fig.policy == 0, "unknown site: zero");
	failstat_free(fs);
	failstat_free(NULL);
}

/* main - every group. */
int
main(void)
{
	test_classify();
	test_ratio();
	test_window();
	return tap_done();
}
