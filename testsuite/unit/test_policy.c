/*
 * test_policy.c - unit tests of queue/policy.c: what a site owns
 * (domains, subdomains, its own Unix address, the null sender) and the
 * allow / reject / rewrite policies for the envelope sender and From.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"
#include "queue/policy.h"
#include "queue/site.h"
#include "testsuite/unit/tap.h"
#include "util/buf.h"
#include "util/msg.h"

#define HOST	"web01.example.net"

static char *shop_domains[] = { "shop.test", "shop.example" };
static char *other_domains[] = { "other.test" };
static struct conf_site shop_conf, other_conf;

/* mksite - a site with login and domains (conf NULL: no domains). */
static void
mksite(struct site_id *s, const char *name, const char *login,
    const struct conf_site *conf, enum conf_from_policy p)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->login, sizeof(s->login), "%s", login);
	s->uid = 1001;
	s->conf = conf;
	s->limits.rate = 1;
	s->limits.burst = 10;
	s->limits.backlog = 10;
	s->limits.from_policy = p;
}

/* hval - the trimmed value of the n-th header named name, or NULL. */
static char *
hval(const struct headers *h, const char *name, int nth)
{
	static char out[4][1024];
	static int slot;
	ssize_t	 i = headers_find(h, name, 0);
	char	*v, *p, *e;

	while (i >= 0 && nth-- > 0)
		i = headers_find(h, name, (size_t)i + 1);
	if (i < 0 || (v = headers_value(h, (size_t)i)) == NULL)
		return NULL;
	for (p = v; *p == ' ' || *p == '\t'; p++)
		;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		e--;
	slot = (slot + 1) % 4;
	snprintf(out[slot], sizeof(out[slot]), "%.*s", (int)(e - p), p);
	free(v);
	return out[slot];
}

/* hcount - how many headers are named name. */
static int
hcount(const struct headers *h, const char *name)
{
	ssize_t	 i;
	int	 n = 0;

	for (i = headers_find(h, name, 0); i >= 0;
	    i = headers_find(h, name, (size_t)i + 1))
		n++;
	return n;
}

/* msg - a header block with a From (when from != NULL) and a Subject. */
static void
msg(struct headers *h, const char *from)
{
	memset(h, 0, sizeof(*h));
	if (from != NULL)
		headers_add(h, "From", from);
	headers_add(h, "Subject", "hello");
}

/* run - policy_apply on a copy of sender; returns the status. */
static int
run(const struct site_id *s, const char *sender, struct headers *h,
    char **out, struct buf *note)
{
	char	*snd = sender ? strdup(sender) : NULL;
	int	 rc;

	buf_reset(note);
	rc = policy_apply(s, HOST, &snd, h, note);
	free(*out);
	*out = snd;
	return rc;
}

/* test_owns - the ownership rules. */
static void
test_owns(void)
{
	struct site_id s, n;
	char	 a[POLICY_ADDR_MAX];

	mksite(&s, "shop.test", "web1", &shop_conf, FROM_REWRITE);
	mksite(&n, "web2", "web2", NULL, FROM_REWRITE);
	policy_site_address(&s, HOST, a, sizeof(a));
	is_str(a, "web1@shop.test", "site address: login@first domain");
	policy_site_address(&n, HOST, a, sizeof(a));
	is_str(a, "web2@" HOST, "no domains: login@hostname");
	ok(policy_owns(&s, HOST, "info@shop.test"), "own domain");
	ok(policy_owns(&s, HOST, "info@shop.example"), "second domain");
	ok(policy_owns(&s, HOST, "Info@SHOP.Test"), "case-insensitive");
	ok(policy_owns(&s, HOST, "info@mail.shop.test"), "subdomain");
	ok(policy_owns(&s, HOST, "info@a.b.shop.test"), "deeper subdomain");
	ok(policy_owns(&s, HOST, "info@shop.test."), "trailing dot");
	ok(!policy_owns(&s, HOST, "info@evilshop.test"), "not a subdomain");
	ok(!policy_owns(&s, HOST, "info@test"), "not a parent domain");
	ok(!policy_owns(&s, HOST, "info@other.test"), "another site's domain");
	ok(!policy_owns(&s, HOST, "info@evil.test"), "a foreign domain");
	ok(!policy_owns(&s, HOST, "info@[192.0.2.1]"), "a domain literal");
	ok(!policy_owns(&s, HOST, "info@"), "an empty domain");
	ok(policy_owns(&s, HOST, ""), "the null sender");
	ok(policy_owns(&s, HOST, "\"x@shop.test\""),
	    "a quoted @ is no domain: unqualified, so at the hostname");
	ok(policy_owns(&s, HOST, "\"a@evil.test\"@shop.test"),
	    "the domain is after the last @ outside quotes");
	ok(policy_owns(&s, HOST, "web1@" HOST), "its own Unix address");
	ok(policy_owns(&s, HOST, "web1@WEB01.example.net"), "... any case");
	ok(policy_owns(&s, HOST, "web1"), "its unqualified login");
	/* issue 10: after qualification, any address at the hostname is
	 * the sending site's own (root, fail2ban, cron's From). */
	ok(policy_owns(&s, HOST, "web2@" HOST), "another login @hostname");
	ok(policy_owns(&s, HOST, "root"), "an unqualified root");
	ok(policy_owns(&s, HOST, "fail2ban@" HOST "."), "trailing dot @host");
	ok(!policy_owns(&s, HOST, "web2@x" HOST), "not a longer hostname");
	ok(policy_owns(&n, HOST, "web2@" HOST), "no domains: own address");
	ok(!policy_owns(&n, HOST, "info@shop.test"), "no domains: no domain");
}

/* test_allow - allow changes nothing. */
static void
test_allow(struct buf *note)
{
	struct site_id s;
	struct headers h;
	char	*snd = NULL;

	mksite(&s, "shop.test", "web1", &shop_conf, FROM_ALLOW);
	msg(&h, "Evil <x@evil.test>");
	is_int(run(&s, "x@evil.test", &h, &snd, note), 0, "allow: accepted");
	is_str(snd, "x@evil.test", "allow: sender kept");
	is_str(hval(&h, "From", 0), "Evil <x@evil.test>", "allow: From kept");
	ok(hcount(&h, "Reply-To") == 0 && hcount(&h, "X-Original-From") == 0,
	    "allow: nothing added");
	ok(note->len == 0, "allow: no note");
	headers_free(&h);
	free(snd);
}

/* test_reject - reject refuses a foreign sender or From. */
static void
test_reject(struct buf *note)
{
	struct site_id s;
	struct headers h;
	char	*snd = NULL;

	mksite(&s, "shop.test", "web1", &shop_conf, FROM_REJECT);
	msg(&h, "Shop <info@shop.test>");
	is_int(run(&s, "x@evil.test", &h, &snd, note), EX_NOPERM,
	    "reject: foreign sender -> EX_NOPERM");
	is_str(err_str(), "sender domain \"evil.test\" is not a domain of "
	    "site shop.test (from_policy = reject)", "reject: the reason");
	is_str(snd, "x@evil.test", "reject: sender untouched");
	is_int(run(&s, "web1@shop.test", &h, &snd, note), 0,
	    "reject: own sender and From pass");
	is_int(run(&s, "bounce@mail.shop.test", &h, &snd, note), 0,
	    "reject: a subdomain sender passes");
	headers_free(&h);
	msg(&h, "Evil <x@evil.test>");
	is_int(run(&s, "web1@shop.test", &h, &snd, note), EX_NOPERM,
	    "reject: foreign From -> EX_NOPERM");
	is_str(err_str(), "From domain \"evil.test\" is not a domain of site "
	    "shop.test (from_policy = reject)", "reject: the From reason");
	is_str(hval(&h, "From", 0), "Evil <x@evil.test>", "reject: From kept");
	headers_free(&h);
	msg(&h, "Other Site <ceo@other.test>");
	is_int(run(&s, "web1@shop.test", &h, &snd, note), EX_NOPERM,
	    "reject: a From forged as another hosted site");
	headers_free(&h);
	msg(&h, "a@shop.test, b@evil.test");
	is_int(run(&s, "web1@shop.test", &h, &snd, note), EX_NOPERM,
	    "reject: one foreign address of two is enough");
	headers_free(&h);
	msg(&h, "undisclosed-recipients:;");
	is_int(run(&s, "web1@shop.test", &h, &snd, note), EX_NOPERM,
	    "reject: a From without an address");
	headers_free(&h);
	msg(&h, NULL);
	is_int(run(&s, "", &h, &snd, note), 0, "reject: null sender passes");
	is_str(snd, "", "reject: null sender kept");
	is_int(run(&s, NULL, &h, &snd, note), 0, "reject: no sender passes");
	is_str(snd, "web1@shop.test", "no sender: the site address");
	headers_free(&h);
	free(snd);
}

/* test_rewrite_sender - rewrite fixes the envelope sender. */
static void
test_rewrite_sender(struct buf *note)
{
	struct site_id s, n;
	struct headers h;
	char	*snd = NULL;

	mksite(&s, "shop.test", "web1", &shop_conf, FROM_REWRITE);
	msg(&h, "Shop <info@shop.test>");
	is_int(run(&s, "x@evil.test", &h, &snd, note), 0,
	    "rewrite: foreign sender accepted");
	is_str(snd, "web1@shop.test", "rewrite: sender is the site address");
	is_str(buf_str(note), "sender <x@evil.test> rewritten to "
	    "<web1@shop.test>", "rewrite: the note");
	is_str(hval(&h, "From", 0), "Shop <info@shop.test>",
	    "rewrite: own From untouched");
	ok(hcount(&h, "X-Original-From") == 0, "rewrite: own From: no "
	    "X-Original-From");
	run(&s, "bounces@lists.shop.example", &h, &snd, note);
	is_str(snd, "bounces@lists.shop.example", "rewrite: owned sender kept");
	run(&s, "", &h, &snd, note);
	is_str(snd, "", "rewrite: null sender kept");
	mksite(&n, "web2", "web2", NULL, FROM_REWRITE);
	run(&n, "info@shop.test", &h, &snd, note);
	is_str(snd, "web2@" HOST, "rewrite, no domains: login@hostname");
	headers_free(&h);
	free(snd);
}

/* test_rewrite_from - rewrite replaces a foreign From. */
static void
test_rewrite_from(struct buf *note)
{
	struct site_id s;
	struct headers h;
	char	*snd = NULL;

	mksite(&s, "shop.test", "web1", &shop_conf, FROM_REWRITE);
	msg(&h, "\"PayPal\" <service@other.test>");
	headers_add(&h, "X-Original-From", "forged@whatever.test");
	is_int(run(&s, "web1@shop.test", &h, &snd, note), 0,
	    "rewrite: foreign From accepted");
	is_str(hval(&h, "From", 0), "web1@shop.test", "rewrite: From replaced");
	is_int(hcount(&h, "From"), 1, "rewrite: one From");
	is_str(hval(&h, "Reply-To", 0), "\"PayPal\" <service@other.test>",
	    "rewrite: the original in Reply-To");
	is_str(hval(&h, "X-Original-From", 0), "\"PayPal\" <service@other.test>",
	    "rewrite: the original in X-Original-From");
	is_int(hcount(&h, "X-Original-From"), 1,
	    "rewrite: the site's own X-Original-From is gone");
	is_str(buf_str(note), "From <service@other.test> rewritten to "
	    "<web1@shop.test>", "rewrite: the note");
	is_str(snd, "web1@shop.test", "rewrite: sender untouched");
	headers_free(&h);

	msg(&h, "x@evil.test");
	headers_add(&h, "Reply-To", "support@shop.test");
	run(&s, "x@evil.test", &h, &snd, note);
	is_str(hval(&h, "Reply-To", 0), "support@shop.test",
	    "rewrite: an existing Reply-To is kept");
	is_int(hcount(&h, "Reply-To"), 1, "rewrite: one Reply-To");
	is_str(hval(&h, "X-Original-From", 0), "x@evil.test",
	    "rewrite: X-Original-From even so");
	is_str(snd, "web1@shop.test", "rewrite: both sender and From");
	ok(strstr(buf_str(note), "sender <x@evil.test>") &&
	    strstr(buf_str(note), "; From <x@evil.test>"), "rewrite: both noted");
	headers_free(&h);

	msg(&h, "undisclosed-recipients:;");
	run(&s, "web1@shop.test", &h, &snd, note);
	is_str(hval(&h, "From", 0), "web1@shop.test",
	    "rewrite: a From without an address is replaced");
	is_int(hcount(&h, "Reply-To"), 0, "rewrite: ... with no Reply-To");
	headers_free(&h);

	/* issue 10: a Reply-To only when the original is a valid address */
	msg(&h, "junk <not an address>, x@evil.test");
	run(&s, "web1@shop.test", &h, &snd, note);
	is_str(hval(&h, "From", 0), "web1@shop.test",
	    "rewrite: a From with a junk address is replaced");
	is_int(hcount(&h, "Reply-To"), 0, "rewrite: ... and gets no junk "
	    "Reply-To");
	headers_free(&h);
	msg(&h, "Mallory (Cron Daemon) <mallory@evil.test>");
	run(&s, "web1@shop.test", &h, &snd, note);
	is_int(hcount(&h, "Reply-To"), 1, "rewrite: a valid foreign From is "
	    "kept in Reply-To");
	headers_free(&h);

	msg(&h, "web1@" HOST);
	run(&s, "web1@" HOST, &h, &snd, note);
	is_str(hval(&h, "From", 0), "web1@" HOST,
	    "rewrite: its own Unix address is kept");
	ok(note->len == 0, "rewrite: nothing noted");
	headers_free(&h);

	mksite(&s, "web2", "web2", NULL, FROM_REJECT);
	msg(&h, "web2 (Cron Daemon)");
	is_int(run(&s, NULL, &h, &snd, note), 0,
	    "reject, no domains: cron's unqualified From passes");
	is_str(snd, "web2@" HOST, "... with the sender login@hostname");
	headers_free(&h);
	free(snd);
}

/* main - run every group of tests. */
int
main(void)
{
	struct buf note;

	shop_conf.name = "shop.test";
	shop_conf.domains.v = shop_domains;
	shop_conf.domains.n = 2;
	other_conf.name = "other.test";
	other_conf.domains.v = other_domains;
	other_conf.domains.n = 1;
	buf_init(&note, 4096);
	test_owns();
	test_allow(&note);
	test_reject(&note);
	test_rewrite_sender(&note);
	test_rewrite_from(&note);
	buf_free(&note);
	return tap_done();
}
