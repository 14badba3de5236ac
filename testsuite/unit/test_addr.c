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

int
main(void)
{
	buf_init(&joined, 1 << 20);
	t_good();
	t_bad();
	t_domain();
	t_append();
	t_long();
	buf_free(&joined);
	return tap_done();
}
