/*
 * fuzz_smtpin.c - libFuzzer target for the -bs dialogue: the input is the
 * client's side of a session, fed on fd 0 from a memfd while fd 1 goes to
 * /dev/null.  deliver() reads each message with headers_read() and then
 * either drains it or stops early, and picks a status from the data, so
 * every reply path runs.  fd 0 and 1 are restored after each run.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compat/compat.h"
#include "util/buf.h"
#include "util/msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* f_deliver - read (some of) the message; status from its size. */
static int
f_deliver(void *ctx, const char *sender, char **rcpt, size_t nrcpt,
    struct linein *data, char *qid, size_t qidlen)
{
	static const int status[] = { 0, EX_TEMPFAIL, EX_DATAERR, EX_NOPERM,
	    EX_USAGE, EX_SOFTWARE, 0 };
	struct headers h;
	struct buf first;
	const char *p;
	size_t	 n, total = 0;
	int	 eol, rc;

	(void)ctx;
	if (sender == NULL || nrcpt == 0 || rcpt[nrcpt] != NULL)
		abort();
	memset(&h, 0, sizeof(h));
	buf_init(&first, 70000);
	rc = headers_read(&h, data, &first);
	headers_free(&h);
	buf_free(&first);
	if (rc == 0 && strlen(sender) % 2 == 0)
		while (linein_get(data, &p, &n, &eol) == 1)
			total += n;
	snprintf(qid, qidlen, "Q%zu", total);
	rc = status[(total + nrcpt) % 7];
	return rc ? err_set(rc, "status %d size", rc) : 0;
}

/* LLVMFuzzerTestOneInput - one session over the input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int in = -1, null = -1, save0 = -1, save1 = -1;
	struct smtpin_ops ops;

	if (in < 0) {
		in = memfd_create("fuzz_smtpin", 0);
		null = open("/dev/null", O_WRONLY);
		save0 = dup(0);
		save1 = dup(1);
		if (in < 0 || null < 0 || save0 < 0 || save1 < 0)
			abort();
	}
	if (ftruncate(in, 0) != 0 || pwrite(in, data, size, 0) !=
	    (ssize_t)size || lseek(in, 0, SEEK_SET) != 0 ||
	    dup2(in, 0) < 0 || dup2(null, 1) < 0)
		abort();
	memset(&ops, 0, sizeof(ops));
	ops.deliver = f_deliver;
	ops.hostname = "fuzz.example";
	ops.max_recipients = 5;
	ops.max_size = 1000;
	(void)smtpin_run(&ops);
	if (dup2(save0, 0) < 0 || dup2(save1, 1) < 0)
		abort();
	return 0;
}
