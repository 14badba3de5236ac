/*
 * fuzz_smtpd.c - libFuzzer target for the listener's side of the ESMTP
 * dialogue (compat/smtpin.c with ops.listener: SMTPUTF8, AUTH PLAIN /
 * LOGIN, the MAIL parameters it adds, the 451 4.7.1 freeze reply).  The
 * input is the client's side of a session, written into one end of a
 * socketpair that is then shut down; smtpin_serve() runs on the other
 * end (non-blocking, so a full reply buffer ends the session instead of
 * hanging).  deliver() drains each message and picks a status from it.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compat/compat.h"
#include "util/msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* f_deliver - drain the message; the status depends on its size. */
static int
f_deliver(void *ctx, const char *sender, char **rcpt, size_t nrcpt,
    struct linein *data, char *qid, size_t qidlen)
{
	static const int status[] = { 0, EX_TEMPFAIL, EX_DATAERR, EX_NOPERM,
	    EX_USAGE };
	const char *p;
	size_t	 n, total = 0;
	int	 eol, rc;

	(void)ctx;
	if (sender == NULL || nrcpt == 0 || rcpt[nrcpt] != NULL)
		abort();
	while (linein_get(data, &p, &n, &eol) == 1)
		total += n;
	snprintf(qid, qidlen, "Q%zu", total);
	rc = status[total % 5];
	if (rc == EX_TEMPFAIL && total % 2)
		return err_set(rc, "site s is frozen: test");
	return rc ? err_set(rc, "status %d", rc) : 0;
}

/* f_auth - the login must arrive cleaned of control bytes. */
static void
f_auth(void *ctx, const char *mech, const char *login)
{
	(void)ctx;
	(void)mech;
	for (; *login; login++)
		if ((unsigned char)*login < ' ' || *login == 0x7f)
			abort();
}

/* LLVMFuzzerTestOneInput - one listener session over the input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpin_ops ops;
	int	 sv[2], big = 1 << 20;

	if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (write(sv[0], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[0], SHUT_WR);
	(void)fcntl(sv[1], F_SETFL, O_NONBLOCK);
	memset(&ops, 0, sizeof(ops));
	ops.deliver = f_deliver;
	ops.hostname = "fuzz.example";
	ops.max_recipients = 5;
	ops.max_size = 1000;
	ops.listener = 1;
	ops.auth_accept = size % 2;
	ops.on_auth = f_auth;
	(void)smtpin_serve(&ops, sv[1]);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
