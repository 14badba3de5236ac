/*
 * verdict.c - the client side of the sitemaild socket (see verdict.h):
 * what the set-gid programs use instead of opening shared state.
 *
 * Every call is one connection: connect (non-blocking), send one line,
 * read the answer, all within one deadline.  Nothing here takes a lock or
 * creates a file.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/verdict.h"
#include "util/buf.h"
#include "util/msg.h"

/* verdict_ms - milliseconds on a monotonic clock. */
static long long
verdict_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* verdict_wait - poll fd for events until the deadline; 0 when ready. */
static int
verdict_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int	 n;

	for (;;) {
		if ((left = deadline - verdict_ms()) <= 0)
			return -1;
		pfd.fd = fd;
		pfd.events = events;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* verdict_connect - a non-blocking connection to the socket, or -1. */
static int
verdict_connect(const char *spool_dir, long long deadline)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(len);
	int	 fd, n, err = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", spool_dir,
	    VERDICT_SOCK);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (errno == EINPROGRESS || errno == EAGAIN) {
		len = sizeof(err);
		if (verdict_wait(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
		    err == 0)
			return fd;
	}
	close(fd);
	return -1;
}

/* verdict_send - write the whole line before the deadline. */
static int
verdict_send(int fd, const char *p, size_t n, long long deadline)
{
	ssize_t	 w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (verdict_wait(fd, POLLOUT, deadline) != 0)
			return -1;
	}
	return 0;
}

/* verdict_read - read into buf up to max bytes before the deadline; the
 * byte count, 0 at EOF, -1 on error or timeout. */
static ssize_t
verdict_read(int fd, char *buf, size_t max, long long deadline)
{
	ssize_t	 n;

	for (;;) {
		n = recv(fd, buf, max, 0);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (verdict_wait(fd, POLLIN, deadline) != 0)
			return -1;
	}
}

/* verdict_status - read the first answer line into line; 0 for "ok",
 * the status of "err", EX_UNAVAILABLE for no answer.  Bytes after the
 * line are left in rest/nrest. */
static int
verdict_status(int fd, char *line, size_t max, char *rest, size_t *nrest,
    long long deadline)
{
	size_t	 have = 0, i;
	ssize_t	 n;
	char	*nl;
	unsigned long st;

	for (;;) {
		if (have + 1 >= max)
			return err_set(EX_PROTOCOL, "sitemaild: answer too long");
		n = verdict_read(fd, line + have, max - 1 - have, deadline);
		if (n <= 0)
			return err_set(EX_UNAVAILABLE, "sitemaild did not "
			    "answer");
		have += (size_t)n;
		line[have] = '\0';
		if ((nl = memchr(line, '\n', have)) != NULL)
			break;
	}
	*nl = '\0';
	*nrest = have - (size_t)(nl + 1 - line);
	memcpy(rest, nl + 1, *nrest);
	if (strncmp(line, "ok", 2) == 0 && (line[2] == '\0' || line[2] == ' '))
		return 0;
	if (strncmp(line, "err ", 4) != 0)
		return err_set(EX_PROTOCOL, "sitemaild: bad answer");
	st = strtoul(line + 4, &nl, 10);
	if (st == 0 || st > 255 || *nl != ' ')
		return err_set(EX_PROTOCOL, "sitemaild: bad answer");
	for (i = 0; nl[i]; i++)
		if ((unsigned char)nl[i] < 0x20 || nl[i] == 0x7f)
			nl[i] = '?';
	return err_set((int)st, "%s", nl + 1);
}

/* verdict_exchange - one request; the first answer line in line, then
 * (with out) the rest of the stream copied to out. */
static int
verdict_exchange(const char *spool_dir, const char *req, char *line,
    size_t max, FILE *out, int timeout_ms)
{
	long long deadline = verdict_ms() + timeout_ms;
	char	 rest[VERDICT_LINE_MAX], chunk[16384];
	size_t	 nrest = 0;
	ssize_t	 n;
	int	 fd, rc;

	if ((fd = verdict_connect(spool_dir, deadline)) < 0)
		return err_set(EX_UNAVAILABLE, "sitemaild is not running");
	if (verdict_send(fd, req, strlen(req), deadline) != 0) {
		close(fd);
		return err_set(EX_UNAVAILABLE, "sitemaild did not answer");
	}
	rc = verdict_status(fd, line, max, rest, &nrest, deadline);
	if (rc == 0 && out != NULL) {
		if (nrest > 0)
			fwrite(rest, 1, nrest, out);
		while ((n = verdict_read(fd, chunk, sizeof(chunk),
		    deadline)) > 0)
			fwrite(chunk, 1, (size_t)n, out);
		if (n < 0)
			rc = err_set(EX_UNAVAILABLE, "sitemaild: the answer "
			    "was cut short");
	}
	close(fd);
	return rc;
}

/* verdict_escape - append " key=value" to b with the value %-escaped. */
int
verdict_escape(struct buf *b, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char	 e[4] = "%";

	if (buf_printf(b, " %s=", key) < 0)
		return -1;
	for (p = (const unsigned char *)value; *p; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '%' && *p != '=') {
			if (buf_add(b, (const char *)p, 1) < 0)
				return -1;
			continue;
		}
		e[1] = hex[*p >> 4];
		e[2] = hex[*p & 15];
		if (buf_add(b, e, 3) < 0)
			return -1;
	}
	return 0;
}

/* verdict_hex - one hex digit's value, or -1. */
static int
verdict_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* verdict_unescape - decode a %-escaped value in place; -1 if malformed
 * (or if it decodes to a NUL byte). */
int
verdict_unescape(char *s)
{
	char	*o = s;
	int	 h, l;

	for (; *s; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		if ((h = verdict_hex(s[1])) < 0 ||
		    (l = verdict_hex(s[2])) < 0 || (h | l) == 0)
			return -1;
		*o++ = (char)(h * 16 + l);
		s += 2;
	}
	*o = '\0';
	return 0;
}

/* verdict_word - the unescaped value of key= among the words of line. */
const char *
verdict_word(const char *line, const char *key, char *out, size_t outlen)
{
	size_t	 klen = strlen(key), n;
	const char *p = line, *end;

	while (p != NULL && *p) {
		while (*p == ' ')
			p++;
		end = strchr(p, ' ');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			if (n - klen - 1 >= outlen)
				return NULL;
			memcpy(out, p + klen + 1, n - klen - 1);
			out[n - klen - 1] = '\0';
			return verdict_unescape(out) == 0 ? out : NULL;
		}
		p = end;
	}
	return NULL;
}

/* verdict_name - the wire name of a bucket verdict. */
const char *
verdict_name(enum bucket_verdict v)
{
	switch (v) {
	case BUCKET_SEND:
		return "send";
	case BUCKET_HOLD:
		return "hold";
	case BUCKET_FROZEN_HOLD:
		return "frozen-hold";
	default:
		return "refused";
	}
}

/* verdict_number - the double value of key=, or 0. */
static double
verdict_number(const char *line, const char *key)
{
	char	 v[64];

	if (verdict_word(line, key, v, sizeof(v)) == NULL)
		return 0;
	return strtod(v, NULL);
}

/* verdict_parse - a charge's "ok" line into ans. */
static int
verdict_parse(const char *line, struct verdict_ans *ans)
{
	char	 v[32];
	int	 k;

	memset(ans, 0, sizeof(*ans));
	if (verdict_word(line, "verdict", v, sizeof(v)) == NULL ||
	    verdict_word(line, "site", ans->site, sizeof(ans->site)) == NULL)
		return err_set(EX_PROTOCOL, "sitemaild: bad charge answer");
	for (k = BUCKET_SEND; k <= BUCKET_REFUSED; k++)
		if (strcmp(v, verdict_name((enum bucket_verdict)k)) == 0)
			break;
	if (k > BUCKET_REFUSED)
		return err_set(EX_PROTOCOL, "sitemaild: bad verdict");
	ans->verdict = (enum bucket_verdict)k;
	ans->hold = verdict_number(line, "hold");
	ans->tokens = verdict_number(line, "tokens");
	ans->backlog = verdict_number(line, "backlog");
	ans->limit = verdict_number(line, "limit");
	return 0;
}

/* verdict_charge - ask for the bucket verdict of one message. */
int
verdict_charge(const char *spool_dir, const struct verdict_req *req,
    int trusted, struct verdict_ans *ans, int timeout_ms)
{
	char	 line[VERDICT_LINE_MAX];
	struct buf b;
	int	 rc;

	buf_init(&b, VERDICT_LINE_MAX);
	rc = buf_printf(&b, "charge nrcpt=%u size=%llu time=%lld.%06ld",
	    req->nrcpt, req->size, req->sec, req->usec) < 0 ||
	    (trusted && buf_printf(&b, " uid=%lu",
	    (unsigned long)req->uid) < 0) ||
	    verdict_escape(&b, "qid", req->qid) < 0 ||
	    buf_add(&b, "\n", 1) < 0;
	if (rc)
		rc = err_set(EX_SOFTWARE, "charge request too long");
	else if ((rc = verdict_exchange(spool_dir, buf_str(&b), line,
	    sizeof(line), NULL, timeout_ms)) == 0)
		rc = verdict_parse(line, ans);
	buf_free(&b);
	return rc;
}

/* verdict_refund - undo a charge whose message was not committed. */
int
verdict_refund(const char *spool_dir, const char *qid, int timeout_ms)
{
	char	 line[VERDICT_LINE_MAX];
	struct buf b;
	int	 rc;

	buf_init(&b, 256);
	if (buf_printf(&b, "refund") < 0 || verdict_escape(&b, "qid", qid) < 0 ||
	    buf_add(&b, "\n", 1) < 0)
		rc = err_set(EX_SOFTWARE, "refund request too long");
	else
		rc = verdict_exchange(spool_dir, buf_str(&b), line,
		    sizeof(line), NULL, timeout_ms);
	buf_free(&b);
	return rc;
}

/* verdict_query - one request line; the streamed answer goes to out. */
int
verdict_query(const char *spool_dir, const char *line, FILE *out,
    int timeout_ms)
{
	char	 first[VERDICT_LINE_MAX];

	return verdict_exchange(spool_dir, line, first, sizeof(first), out,
	    timeout_ms);
}

/* verdict_ask - a request "VERB key=value..." from NULL-terminated pairs
 * (a pair with a NULL or empty value is left out); the answer goes to
 * out.  EX_UNAVAILABLE gets a message that says what to do. */
int
verdict_ask(const char *spool_dir, FILE *out, const char *verb, ...)
{
	const char *k, *v;
	struct buf b;
	va_list	 ap;
	int	 rc = 0;

	buf_init(&b, VERDICT_LINE_MAX - 1);
	if (buf_addstr(&b, verb) < 0)
		rc = -1;
	va_start(ap, verb);
	while (rc == 0 && (k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v != NULL && *v != '\0' && verdict_escape(&b, k, v) < 0)
			rc = -1;
	}
	va_end(ap);
	if (rc == 0 && buf_addch(&b, '\n') < 0)
		rc = -1;
	if (rc != 0)
		rc = err_set(EX_USAGE, "%s: request too long", verb);
	else if ((rc = verdict_query(spool_dir, buf_str(&b), out,
	    VERDICT_QUERY_MS)) == EX_UNAVAILABLE)
		rc = err_set(EX_TEMPFAIL, "the mail queue is unavailable: "
		    "sitemaild is not answering (ask the admin to check "
		    "'systemctl status sitemaild')");
	buf_free(&b);
	return rc;
}
