/*
 * fuzz_dkim.c - libFuzzer target for queue/dkim.c: the input is a message
 * (after a first byte that picks a chunk size).  Checks that the relaxed
 * body form is canonical (no white space before a line end, no run of
 * spaces, no tab, no empty line at the end, CRLF-terminated unless
 * empty), that the From domain is lower case without '@', and that
 * signing the message fed in small chunks gives the very same
 * DKIM-Signature header as feeding it at once (one throwaway 1024-bit
 * key, generated at start).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/dkim.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static EVP_PKEY *fuzz_key;

/* check_canon - the relaxed body form of data is canonical. */
static void
check_canon(const uint8_t *data, size_t n)
{
	struct buf b;
	size_t	 i;
	const char *p;

	buf_init(&b, 4 * n + 16);
	if (dkim_canon_body((const char *)data, n, &b) != 0)
		abort();
	p = b.ptr;
	for (i = 0; i < b.len; i++) {
		if (p[i] == '\t' || (p[i] == ' ' && i + 1 < b.len &&
		    (p[i + 1] == ' ' || (p[i + 1] == '\r' && i + 2 < b.len &&
		    p[i + 2] == '\n'))))
			abort();
	}
	if (b.len > 0 && (b.len < 2 || memcmp(p + b.len - 2, "\r\n", 2) != 0 ||
	    (b.len >= 4 && memcmp(p + b.len - 4, "\r\n\r\n", 4) == 0)))
		abort();
	buf_free(&b);
}

/* sign - the DKIM-Signature of data fed in chunks of step into out. */
static int
sign(const uint8_t *data, size_t n, size_t step, struct buf *out)
{
	struct dkim_signer *s;
	char	 d[300], why[200];
	size_t	 off, k;
	int	 rc = 0;

	if (dkim_signer_new(&s) != 0)
		abort();
	for (off = 0; off < n && rc == 0; off += k) {
		k = n - off < step ? n - off : step;
		rc = dkim_signer_feed(s, data + off, k);
	}
	if (rc == 0 && dkim_signer_from_domain(s, d, sizeof(d), why,
	    sizeof(why)) == 0) {
		for (k = 0; d[k]; k++)
			if (d[k] == '@' || (d[k] >= 'A' && d[k] <= 'Z'))
				abort();
	}
	if (rc == 0)
		rc = dkim_signer_finish(s, fuzz_key, "fuzz.test", "sel",
		    1700000000, out);
	dkim_signer_free(s);
	return rc;
}

/* LLVMFuzzerTestOneInput - one message. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct buf a, b;
	size_t	 step;
	int	 ra, rb;

	if (n < 1)
		return 0;
	if (fuzz_key == NULL &&
	    (fuzz_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024)) ==
	    NULL)
		abort();
	step = 1 + data[0] % 13;
	data++, n--;
	check_canon(data, n);
	buf_init(&a, DKIM_SIG_MAX);
	buf_init(&b, DKIM_SIG_MAX);
	ra = sign(data, n, n ? n : 1, &a);
	rb = sign(data, n, step, &b);
	if (ra != rb || a.len != b.len || (a.len && memcmp(a.ptr, b.ptr,
	    a.len) != 0))
		abort();
	buf_free(&a);
	buf_free(&b);
	return 0;
}
