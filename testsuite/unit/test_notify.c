/*
 * test_notify.c - the pure parts of the notifier: the webhook URL rule,
 * JSON string and Prometheus label escaping, caller text cleaning, and the
 * per-site ring's "top" lists (counts, order, the 100-message window).
 */
#include <stdio.h>
#include <string.h>

#include "queue/metrics.h"
#include "queue/notify.h"
#include "testsuite/unit/tap.h"
#include "util/buf.h"
#include "util/conf.h"

/* test_webhook_url - https anywhere, http only to loopback. */
static void
test_webhook_url(void)
{
	ok(conf_webhook_ok("https://hooks.example.net/x"), "https host");
	ok(conf_webhook_ok("http://127.0.0.1:8080/hook"), "http 127.0.0.1");
	ok(conf_webhook_ok("http://127.1.2.3/"), "http 127/8");
	ok(conf_webhook_ok("http://[::1]:99/h"), "http [::1]");
	ok(conf_webhook_ok("http://localhost/h"), "http localhost");
	ok(!conf_webhook_ok("http://192.0.2.1/h"), "http remote refused");
	ok(!conf_webhook_ok("http://127.0.0.1.evil.net/h"),
	    "http 127.0.0.1.evil.net refused");
	ok(!conf_webhook_ok("http://localhost.evil.net/h"),
	    "http localhost.evil.net refused");
	ok(!conf_webhook_ok("ftp://127.0.0.1/"), "ftp refused");
	ok(!conf_webhook_ok("https://"), "https without a host refused");
}

/* test_escape - JSON strings and label values. */
static void
test_escape(void)
{
	struct buf b;
	char	 c[64];

	buf_init(&b, 1024);
	ok(notify_json_str(&b, "a\"b\\c\n\x01") == 0 && buf_addch(&b, 0) == 0,
	    "json string");
	is_str(b.ptr, "\"a\\\"b\\\\c\\u000a\\u0001\"", "json escapes");
	buf_reset(&b);
	ok(metrics_label(&b, "s\"i\\t\ne") == 0 && buf_addch(&b, 0) == 0,
	    "label");
	is_str(b.ptr, "s\\\"i\\\\t\\ne", "label escapes \\ \" and newline");
	buf_free(&b);
	notify_clean(c, sizeof(c), "x\ry\x7fz");
	is_str(c, "x?y?z", "control bytes cleaned");
	notify_clean(c, sizeof(c), NULL);
	is_str(c, "?", "missing text shown as ?");
}

/* test_ring - counts, order and the window of the last NOTIFY_RING. */
static void
test_ring(void)
{
	struct notify_top top[NOTIFY_TOP];
	char	 qid[SPOOL_QIDLEN + 1], q[3][SPOOL_QIDLEN + 1];
	char	*rcpt[] = { "a@x.test", "b@X.test", "c@y.test" };
	size_t	 n;
	int	 i;

	for (i = 0; i < 150; i++) {
		snprintf(qid, sizeof(qid), "%020d", i);
		notify_ring_add("s1", qid, i < 60 ? "/old" : "/www",
		    i % 3 ? "send.php" : "cron\x01.php", rcpt, 3);
	}
	notify_ring_add("s2", "00000000000000000999", "/other", "x", rcpt, 1);
	is_int(notify_ring_size("s1"), NOTIFY_RING, "the ring keeps 100");
	n = notify_ring_top("s1", 0, top, NOTIFY_TOP);
	is_int(n, 2, "two cwds in the window");
	is_str(top[0].what, "/www", "top cwd");
	is_int(top[0].n, 90, "its count (the newest 90)");
	is_int(top[1].n, 10, "the old cwd: 10 left in the window");
	n = notify_ring_top("s1", 1, top, NOTIFY_TOP);
	is_str(top[0].what, "send.php", "top script");
	is_int(top[0].n + top[1].n, 100, "scripts sum to the window");
	is_str(top[1].what, "cron?.php", "script cleaned");
	n = notify_ring_top("s1", 2, top, NOTIFY_TOP);
	is_int(n, 2, "domains, case-insensitive per message");
	is_str(top[0].what, "x.test", "top domain");
	is_int(top[0].n, 100, "once per message");
	is_int(notify_ring_qids("s1", q, 3), 3, "newest ids");
	is_str(q[0], "00000000000000000149", "newest first");
	is_int(notify_ring_top("s2", 0, top, NOTIFY_TOP), 1, "sites apart");
	is_int(notify_ring_top("none", 0, top, NOTIFY_TOP), 0, "unknown site");
	notify_ring_free();
}

int
main(void)
{
	test_webhook_url();
	test_escape();
	test_ring();
	return tap_done();
}
