/*
 * msgfix.c - header fixes applied at intake; see msgfix.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat/msgfix.h"
#include "util/buf.h"
#include "util/msg.h"

/* msgfix_extract_named - add the addresses of every field called name. */
static int
msgfix_extract_named(const struct headers *h, const char *name,
    struct addrlist *out, int *seen)
{
	ssize_t	 i;
	char	*v;

	for (i = headers_find(h, name, 0); i >= 0;
	    i = headers_find(h, name, (size_t)i + 1)) {
		*seen = 1;
		if ((v = headers_value(h, (size_t)i)) == NULL)
			return err_set(EX_TEMPFAIL, "out of memory");
		(void)addr_parse_list(v, out);
		free(v);
	}
	return 0;
}

/* msgfix_extract - -t: To/Cc/Bcc, or Resent-To/Cc/Bcc when any exist. */
int
msgfix_extract(const struct headers *h, struct addrlist *out)
{
	static const char *const resent[] = { "Resent-To", "Resent-Cc",
	    "Resent-Bcc" };
	static const char *const plain[] = { "To", "Cc", "Bcc" };
	const char *const *names = plain;
	size_t	 i;
	int	 seen = 0, rc;

	for (i = 0; i < 3; i++)
		if (headers_find(h, resent[i], 0) >= 0)
			names = resent;
	for (i = 0; i < 3; i++)
		if ((rc = msgfix_extract_named(h, names[i], out, &seen)) != 0)
			return rc;
	return 0;
}

/* msgfix_hide - remove fields that must not leave this host. */
void
msgfix_hide(struct headers *h)
{
	headers_remove(h, "Bcc");
	headers_remove(h, "Resent-Bcc");
	headers_remove(h, "Return-Path");
	headers_remove(h, "Content-Length");
}

/* msgfix_date - RFC 5322 date-time in local time. */
void
msgfix_date(time_t t, char *out, size_t len)
{
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(out, len, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0 && len)
		out[0] = '\0';
}

/* msgfix_phrase - append a display name, quoted when it needs to be. */
static int
msgfix_phrase(struct buf *b, const char *name)
{
	const char *p;

	if (strpbrk(name, "()<>[]:;@\\,.\"") == NULL)
		return buf_addstr(b, name);
	if (buf_addch(b, '"') < 0)
		return -1;
	for (p = name; *p; p++)
		if ((*p == '"' || *p == '\\') && buf_addch(b, '\\') < 0)
			return -1;
		else if (buf_addch(b, *p) < 0)
			return -1;
	return buf_addch(b, '"');
}

/* msgfix_from - "Full Name <sender>" or the bare sender. */
static int
msgfix_from(struct headers *h, const struct msgfix_info *fi)
{
	struct buf b;
	int	 rc = 0;

	buf_init(&b, 2048);
	if (fi->fullname && *fi->fullname) {
		if (msgfix_phrase(&b, fi->fullname) < 0 ||
		    buf_printf(&b, " <%s>", fi->sender) < 0)
			rc = -1;
	} else if (buf_addstr(&b, fi->sender) < 0)
		rc = -1;
	if (rc == 0 && headers_add(h, "From", buf_str(&b)) != 0)
		rc = -1;
	buf_free(&b);
	return rc < 0 ? err_set(EX_DATAERR, "cannot add From header") : 0;
}

/* msgfix_complete - add Date, Message-ID and From when missing. */
int
msgfix_complete(struct headers *h, const struct msgfix_info *fi)
{
	char	 date[64];
	struct buf b;
	int	 rc = 0;

	if (headers_find(h, "Date", 0) < 0) {
		msgfix_date(fi->now, date, sizeof(date));
		rc |= headers_add(h, "Date", date);
	}
	if (headers_find(h, "Message-ID", 0) < 0) {
		buf_init(&b, 1024);
		if (buf_printf(&b, "<%s@%s>", fi->qid, fi->hostname) < 0)
			rc = -1;
		else
			rc |= headers_add(h, "Message-ID", buf_str(&b));
		buf_free(&b);
	}
	if (rc)
		return err_set(EX_DATAERR, "cannot add Date or Message-ID");
	if (headers_find(h, "From", 0) < 0 && *fi->sender)
		return msgfix_from(h, fi);
	return 0;
}

/* msgfix_received - prepend our Received trace field. */
int
msgfix_received(struct headers *h, const struct msgfix_info *fi)
{
	char	 date[64];
	struct buf b;
	int	 rc;

	msgfix_date(fi->now, date, sizeof(date));
	buf_init(&b, 2048);
	rc = buf_printf(&b, "from %s (uid %lu, site %s) by %s (sitemail) "
	    "id %s; %s", fi->login, (unsigned long)fi->uid, fi->site,
	    fi->hostname, fi->qid, date);
	if (rc == 0)
		rc = headers_prepend(h, "Received", buf_str(&b));
	buf_free(&b);
	return rc ? err_set(EX_DATAERR, "cannot add Received header") : 0;
}
