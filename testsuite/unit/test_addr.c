/*
 * test_addr.c - RFC 5322 address lists (compat/addr.c): names, comments,
 * quoted local parts, groups, route-addrs, unqualified names, garbage.
 */
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"
#include "testsuite/unit/tap.h"
#include "util/buf.h"
#include "util/msg.h"

static struct buf joined;
static int last_rc;

/* parse - the addresses of value joined with "|"; sets last_rc. */
static const char *
parse(const char *value)
{
	struct addrlist al = { NULL, 0 };
	size_t	 i;

	last_rc = addr_parse_list(value, &al);
	buf_reset(&joined);
	for (i = 0; i < al.n; i++) {
		if (i)
			buf_addch(&joined, '|');
		buf_addstr(&joined, al.v[i]);
	}
	if (al.n && al.v[al.n] != NULL)
		buf_addstr(&joined, "(not NULL-terminated)");
	addr_free(&al);
	return buf_str(&joined);
}

/* tname - value as a test name: control bytes shown as '?'. */
static const char *
tname(const char *value)
{
	static char out[256];
	size_t	 i;

	snprintf(out, sizeof(out), "%s", value);
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < ' ')
			out[i] = '?';
	return out;
}

#define GOOD(value, want) do {						\
	is_str(parse(value), want, tname(value));			\
	is_int(last_rc, 0, "  ... status 0");				\
} while (0)
#define BAD(value, want) do {						\
	is_str(parse(value), want, tname(value));			\
	is_int(last_rc, EX_DATAERR, "  ... EX_DATAERR");		\
} while (0)

/* t_good - well-formed lists. */
static void
t_good(void)
{
	GOOD("a@b.example", "a@b.example");
	GOOD("\"Name\" <a@b>", "a@b");
	GOOD("Name <a@b>, c@d", "a@b|c@d");
	GOOD("John Q. Public <jqp@example.com>", "jqp@example.com");
	GOOD("\"Doe, John\" <jd@x.org>, \"a\\\"b\" <ab@x.org>",
	    "jd@x.org|ab@x.org");
	GOOD("a@b (Alice), (lead) c@d (Carol (nested))", "a@b|c@d");
	GOOD("\"john doe\"@example.com", "\"john doe\"@example.com");
	GOOD("<\"a@b\"@example.com>", "\"a@b\"@example.com");
	GOOD("undisclosed-recipients:;", "");
	GOOD("team: a@b, Bob <c@d>;, e@f", "a@b|c@d|e@f");
	GOOD("empty:; , x@y", "x@y");
	GOOD("<@relay.example,@other.example:a@b>", "a@b");
	GOOD("Route <@relay:a@b>", "a@b");
	GOOD("root", "root");
	GOOD("<postmaster>", "postmaster");
	GOOD("a@b,,c@d, ,", "a@b|c@d");
	GOOD("", "");
	GOOD("<>", "");
	GOOD("user@[192.0.2.1]", "user@[192.0.2.1]");
	GOOD("j\xc3\xb6rg@ex\xc3\xa4mple.de", "j\xc3\xb6rg@ex\xc3\xa4mple.de");
	GOOD("john..doe@docomo.ne.jp, x.@y.jp", "john..doe@docomo.ne.jp|x.@y.jp");
	GOOD("first . last @ example . com", "first.last@example.com");
	GOOD("a@b,\r\n\tc@d", "a@b|c@d");
	GOOD("=?UTF-8?B?w4RyZ2VyIMOE?= <x@y>", "x@y");
	GOOD("Dr. .Who <who@tardis>", "who@tardis");
}

/* t_bad - damaged lists: EX_DATAERR, but what can be saved is saved. */
static void
t_bad(void)
{
	BAD("John Doe", "");
	BAD("John Doe john@example.com", "john@example.com");
	BAD("<a@b", "a@b");
	BAD("<a@b, c@d>", "a@b|c@d");
	BAD("\"unclosed", "");
	BAD("a@b (unclosed", "a@b");
	BAD("@@@", "");
	BAD("a@@b, ok@x", "ok@x");
	BAD("a@b@c", "");
	BAD("<<<>>>", "");
	BAD("a\x01" "b@c, d@e", "d@e");
	BAD("\"a\rb\"@c", "");
	BAD("a@b\\c, d@e", "d@e");
	BAD("Foo <a@b> trailing, x@y", "a@b|x@y");
	BAD("<a@b> <c@d>", "");
	BAD("a@", "");
	BAD(".a@b", "");
	BAD("<john doe@x>", "");
	BAD(")(", "");
	BAD("[unclosed", "");
}

/* t_domain - addr_domain. */
static void
t_domain(void)
{
	is_str(addr_domain("a@b.example"), "b.example", "domain");
	is_str(addr_domain("user"), "", "unqualified: empty");
	is_str(addr_domain("\"a@b\"@c.example"), "c.example",
	    "@ inside quotes is not the separator");
	is_str(addr_domain("a@"), "", "nothing after @");
	is_str(addr_domain("a@b@c"), "c", "last @");
	is_str(addr_domain(""), "", "empty");
}

/* t_append - the list grows across calls; NULL value is harmless. */
static void
t_append(void)
{
	struct addrlist al = { NULL, 0 };

	is_int(addr_parse_list("a@b", &al), 0, "first call");
	is_int(addr_parse_list("c@d, e@f", &al), 0, "second call");
	is_int(al.n, 3, "appended");
	is_str(al.v[2], "e@f", "order kept");
	is_int(addr_parse_list(NULL, &al), 0, "NULL value");
	addr_free(&al);
	is_int(al.n, 0, "freed");
}

/* t_long - a huge list and an over-long address. */
static void
t_long(void)
{
	struct addrlist al = { NULL, 0 };
	struct buf b;
	int	 i;

	buf_init(&b, 1 << 22);
	for (i = 0; i < 5000; i++)
		buf_printf(&b, "%sName %d <u%d@example.com>", i ? ", " : "",
		    i, i);
	is_int(addr_parse_list(buf_str(&b), &al), 0, "5000 addresses");
	is_int(al.n, 5000, "all of them");
	addr_free(&al);
	buf_reset(&b);
	while (b.len < 2000)
		buf_addch(&b, 'x');
	buf_addstr(&b, "@example.com, ok@x");
	is_int(addr_parse_list(buf_str(&b), &al), EX_DATAERR,
	    "2000-byte local part: EX_DATAERR");
	is_int(al.n, 1, "the good one survives");
	addr_free(&al);
	buf_free(&b);
}

/* argv - addr_parse_argv(word) as "local@domain|..." or "ERR". */
static const char *
argv(const char *word)
{
	struct mboxlist l = { NULL, 0 };
	char	 a[ADDR_MAILBOX_MAX + 1];
	size_t	 i;

	buf_reset(&joined);
	if (addr_parse_argv(word, ADDR_F_LOCAL, &l) != 0)
		return "ERR";
	for (i = 0; i < l.n; i++) {
		if (i)
			buf_addch(&joined, '|');
		if (addr_format(&l.v[i], a, sizeof(a)) != 0)
			buf_addstr(&joined, "(too long)");
		else
			buf_addstr(&joined, a);
	}
	addr_mbox_free(&l);
	return buf_str(&joined);
}

/* t_mailbox - the strict RFC 5321 Mailbox, local part and domain apart. */
static void
t_mailbox(void)
{
	struct mailbox mb;

	is_int(addr_parse_mailbox("bob@x.test", 0, &mb), 0, "plain mailbox");
	is_str(mb.local, "bob", "  local part");
	is_str(mb.domain, "x.test", "  domain");
	is_int(addr_parse_mailbox("\"john\"@x.test", 0, &mb), 0, "quoted atom");
	is_str(mb.local, "john", "  unquoted");
	is_int(addr_parse_mailbox("\"j..n\"@x.test", 0, &mb), 0,
	    "quoted dots");
	is_str(mb.local, "\"j..n\"", "  stays quoted");
	is_int(addr_parse_mailbox("a@x.test.", 0, &mb), 0, "trailing dot");
	is_str(mb.domain, "x.test", "  dropped");
	is_int(addr_parse_mailbox("a@[192.0.2.1]", 0, &mb), 0, "literal");
	is_int(addr_parse_mailbox("a@[IPv6:2001:db8::1]", 0, &mb), 0,
	    "IPv6 literal");
	is_int(addr_parse_mailbox("root", 0, &mb), EX_DATAERR,
	    "no domain without ADDR_F_LOCAL");
	is_int(addr_parse_mailbox("root", ADDR_F_LOCAL, &mb), 0,
	    "no domain with ADDR_F_LOCAL");
	is_str(mb.domain, "", "  unqualified");
	/* an address literal longer than the domain buffer (ASan found a
	 * stack overflow here through fuzz_smtpin) */
	{
		char	 lit[600];
		size_t	 k;

		memcpy(lit, "a@[", 3);
		for (k = 3; k < 500; k++)
			lit[k] = k % 4 ? '1' : '.';
		memcpy(lit + 500, "]", 2);
		is_int(addr_parse_mailbox(lit, 0, &mb), EX_DATAERR,
		    "a 497-octet address literal is refused");
	}
	/* fuzz_addr: a long quoted local part full of "@" and no domain */
	is_int(addr_parse_mailbox("\"[@@@@@@@@@66@@@@@@@@@@@@@@@@@@@@@@@@@@@@"
	    "@@@@H@@@@@@@@@@@@@@@@@@@@@@@@op6ceo@m@V@2V\"", ADDR_F_LOCAL,
	    &mb), 0, "quoted local part of 82 octets with 66 \"@\"");
	ok(mb.local[0] == '"' && mb.domain[0] == '\0',
	    "  every \"@\" stays inside the local part");
	ok(addr_qualify(&mb, "web01.example.net") == 1 &&
	    strcmp(mb.domain, "web01.example.net") == 0, "qualified");
	ok(addr_qualify(&mb, "other") == 0, "  only once");
	/* injection: nothing with a blank, <, > or a control byte passes */
	is_int(addr_parse_mailbox("ceo@bank.test> ENVID=q@site.test", 0, &mb),
	    EX_DATAERR, "MAIL parameter injection");
	is_int(addr_parse_mailbox("bob@x.test> NOTIFY=NEVER", 0, &mb),
	    EX_DATAERR, "RCPT parameter injection");
	is_int(addr_parse_mailbox("victim@gmail.test>ORCPT=rfc822;a@here.test",
	    0, &mb), EX_DATAERR, "two domains");
	is_int(addr_parse_mailbox("a\r\nRSET@x", 0, &mb), EX_DATAERR, "CRLF");
	is_int(addr_parse_mailbox("\"a b\"@x", 0, &mb), EX_DATAERR,
	    "quoted blank");
	is_int(addr_parse_mailbox("\"a>\"@x", 0, &mb), EX_DATAERR,
	    "quoted >");
	is_int(addr_parse_mailbox("a@b@c", 0, &mb), EX_DATAERR, "two @");
	is_int(addr_parse_mailbox("a..b@c", 0, &mb), EX_DATAERR, "a..b");
	is_int(addr_parse_mailbox(".a@c", 0, &mb), EX_DATAERR, ".a");
	is_int(addr_parse_mailbox("a@-c.test", 0, &mb), EX_DATAERR, "-label");
	is_int(addr_parse_mailbox("a@c..test", 0, &mb), EX_DATAERR, "empty label");
	is_int(addr_parse_mailbox("a@", 0, &mb), EX_DATAERR, "empty domain");
	is_int(addr_parse_mailbox("@x", 0, &mb), EX_DATAERR, "empty local");
	is_int(addr_parse_mailbox("a@x y", 0, &mb), EX_DATAERR, "blank");
	ok(addr_parse_mailbox("A@X.test", 0, &mb) == 0, "case kept");
	{
		struct mailbox m2;

		addr_parse_mailbox("a@x.TEST", 0, &m2);
		ok(addr_same(&mb, &m2), "addr_same ignores case");
	}
}

/* t_argv - argv words and -f, read as Postfix reads them. */
static void
t_argv(void)
{
	is_str(argv("a@x.test b@y.test"), "a@x.test|b@y.test", "'a@x b@y'");
	is_str(argv("a@x.test (Alice)"), "a@x.test", "'a@x (Alice)'");
	is_str(argv("a@x.test "), "a@x.test", "'a@x '");
	is_str(argv("undisclosed-recipients:;"), "", "empty group");
	is_str(argv("team: a@x.test, b@y.test;"), "a@x.test|b@y.test",
	    "group members");
	is_str(argv("a@x.test."), "a@x.test", "trailing dot");
	is_str(argv("b@x.test (Bounce)"), "b@x.test", "-f with a comment");
	is_str(argv("Alice <a@x.test>, b@y.test"), "a@x.test|b@y.test",
	    "name-addr list");
	is_str(argv("root"), "root", "unqualified kept for the caller");
	is_str(argv("a@x.test,b@y.test"), "a@x.test|b@y.test", "comma list");
	is_str(argv("ceo@bank.test> ENVID=q@site.test"), "ERR",
	    "injection refused");
	is_str(argv("bob@x.test> NOTIFY=NEVER ORCPT=rfc822;x@y"), "ERR",
	    "RCPT injection refused");
	is_str(argv("a@x.test (unclosed"), "ERR", "unclosed comment");
	is_str(argv("a@[IPv6:2001:db8::1]"), "a@[IPv6:2001:db8::1]",
	    "literal with colons is no group");
}

/* hq - addr_qualify_header(value) with "host.test". */
static const char *
hq(const char *v)
{
	int	 changed;

	buf_reset(&joined);
	if (addr_qualify_header(v, "host.test", &joined, &changed) != 0)
		return "ERR";
	return buf_str(&joined);
}

/* t_qualify_header - unqualified header addresses get the domain. */
static void
t_qualify_header(void)
{
	is_str(hq("root"), "root@host.test", "From: root");
	is_str(hq("root (Cron Daemon)"), "root@host.test (Cron Daemon)",
	    "cron's From");
	is_str(hq("Admin <root>"), "Admin <root@host.test>", "name-addr");
	is_str(hq("a@x.test, root, \"B, C\" <bob>"),
	    "a@x.test, root@host.test, \"B, C\" <bob@host.test>", "a list");
	is_str(hq("a@x.test"), "a@x.test", "qualified unchanged");
	is_str(hq("undisclosed-recipients:;"), "undisclosed-recipients:;",
	    "empty group unchanged");
	is_str(hq("team: root, a@x.test;"), "team: root@host.test, a@x.test;",
	    "group member");
	is_str(hq("John Smith"), "John Smith", "a phrase is no address");
	is_str(hq("<>"), "<>", "null path unchanged");
	is_str(hq("\"root\" (x)"), "\"root\"@host.test (x)", "quoted local");
}

/* main - run every case. */
int
main(void)
{
	buf_init(&joined, 1 << 20);
	t_good();
	t_bad();
	t_domain();
	t_append();
	t_long();
	t_mailbox();
	t_argv();
	t_qualify_header();
	buf_free(&joined);
	return tap_done();
}
