/*
 * fuzz_addr.c - libFuzzer target for addr_parse_list: any bytes (made a C
 * string) must parse without a crash or a leak, and every address that
 * comes out is non-empty, bounded and free of control bytes.  The same
 * string then goes through the envelope parsers (addr_parse_mailbox,
 * addr_parse_argv): whatever they accept has one "@" outside a quoted
 * local part, and no blank, "<", ">" or control byte outside what a
 * quoted local part may hold (never blanks or angle brackets); and
 * through addr_qualify_header, whose output only ever adds "@domain"
 * pieces.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* check_mailbox - an accepted mailbox is safe for a MAIL/RCPT line. */
static void
check_mailbox(const struct mailbox *mb)
{
	char	 a[ADDR_MAILBOX_MAX + 1];
	const unsigned char *p;
	int	 at = 0;

	if (mb->local[0] == '\0' || addr_format(mb, a, sizeof(a)) != 0)
		abort();
	for (p = (const unsigned char *)a; *p; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
			abort();
		at += *p == '@';
	}
	/* Every "@" is the separator or sits inside a quoted local part. */
	for (p = (const unsigned char *)mb->local; *p; p++)
		at -= *p == '@';
	if (at != (mb->domain[0] != '\0') ||
	    (strchr(mb->local, '@') && mb->local[0] != '"') ||
	    strchr(mb->domain, '@'))
		abort();
}

/* check_envelope - the envelope parsers on s. */
static void
check_envelope(const char *s, size_t size)
{
	struct mboxlist l = { NULL, 0 };
	struct mailbox mb;
	struct buf q;
	size_t	 i;
	int	 changed;

	if (addr_parse_mailbox(s, ADDR_F_LOCAL, &mb) == 0)
		check_mailbox(&mb);
	if (addr_parse_argv(s, ADDR_F_LOCAL, &l) == 0)
		for (i = 0; i < l.n; i++)
			check_mailbox(&l.v[i]);
	addr_mbox_free(&l);
	buf_init(&q, 4 * size + 4096);
	if (addr_qualify_header(s, "fuzz.test", &q, &changed) == 0 &&
	    (q.len < size || changed != (q.len > size) ||
	    (!changed && size && memcmp(q.ptr, s, size) != 0)))
		abort();
	buf_free(&q);
}

/* LLVMFuzzerTestOneInput - parse, then check each address. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addrlist al = { NULL, 0 };
	const unsigned char *p;
	char	*s;
	size_t	 i;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)addr_parse_list(s, &al);
	for (i = 0; i < al.n; i++) {
		if (al.v[i][0] == '\0' || strlen(al.v[i]) > 998 ||
		    strlen(al.v[i]) > size)
			abort();
		for (p = (const unsigned char *)al.v[i]; *p; p++)
			if ((*p < ' ' && *p != '\t') || *p == 0x7f)
				abort();
		(void)addr_domain(al.v[i]);
	}
	if (al.n && al.v[al.n] != NULL)
		abort();
	addr_free(&al);
	check_envelope(s, strlen(s));
	free(s);
	return 0;
}
