/*
 * fuzz_spool.c - libFuzzer target for the spool reader.
 *
 * The first input byte picks the mode (low two bits):
 *	0, 3	the rest is a whole spool file, verified by spool_verify_fd()
 *		through a memfd with a fixed key (magic, trailer, lengths,
 *		MAC checks);
 *	1	the rest is envelope text, wrapped here into a correctly
 *		MACed file so that spool_verify_fd() reaches the envelope
 *		parser behind the MAC; the content is read back in full;
 *	2	the rest goes straight to spool_envelope_parse(); what parses
 *		must format and parse again to the same text.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "spool/spool.h"
#include "util/buf.h"

static const unsigned char fuzz_key[SPOOL_KEYLEN] = "fuzz-key-0123456789abcdef-fuzz!";
static const char fuzz_content[] = "Subject: fuzz\r\n\r\nbody\r\n";

/* fuzz_put_be - n big-endian bytes of v. */
static void
fuzz_put_be(unsigned char *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (unsigned char)v;
		v >>= 8;
	}
}

/* fuzz_verify - run spool_verify_fd() over len bytes in a memfd. */
static void
fuzz_verify(const unsigned char *data, size_t len)
{
	struct spool_msg m;
	unsigned char buf[4096];
	uint64_t off = 0;
	ssize_t	 r;
	int	 fd;

	if ((fd = memfd_create("fuzz_spool", MFD_CLOEXEC)) < 0)
		abort();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		abort();
	if (spool_verify_fd(&m, fd, fuzz_key) != 0) {
		close(fd);
		return;
	}
	while ((r = spool_read_content(&m, off, buf, sizeof(buf))) > 0)
		off += (uint64_t)r;
	if (r < 0 || off != m.content_len || m.env.nrcpt == 0)
		abort();
	spool_close(&m);		/* closes fd */
}

/* fuzz_signed - wrap envelope text into a correctly signed file. */
static void
fuzz_signed(const unsigned char *env, size_t elen)
{
	crypto_generichash_state st;
	struct buf b;
	unsigned char tail[48];
	size_t	 clen = sizeof(fuzz_content) - 1;

	buf_init(&b, 1 << 24);
	if (buf_add(&b, "SITEMAIL-SPOOL 1\n", 17) < 0 ||
	    buf_add(&b, fuzz_content, clen) < 0 || buf_add(&b, env, elen) < 0)
		abort();
	fuzz_put_be(tail, clen, 8);
	fuzz_put_be(tail + 8, elen, 4);
	fuzz_put_be(tail + 12, SPOOL_VERSION, 4);
	if (buf_add(&b, tail, 16) < 0)
		abort();
	crypto_generichash_init(&st, fuzz_key, SPOOL_KEYLEN, SPOOL_MACLEN);
	crypto_generichash_update(&st, (unsigned char *)b.ptr, b.len);
	crypto_generichash_final(&st, tail + 16, SPOOL_MACLEN);
	if (buf_add(&b, tail + 16, SPOOL_MACLEN) < 0)
		abort();
	fuzz_verify((unsigned char *)b.ptr, b.len);
	buf_free(&b);
}

/* fuzz_parse - parse, then format and parse again: a fixed point. */
static void
fuzz_parse(const unsigned char *text, size_t len)
{
	struct envelope env, again;
	struct buf one, two;

	if (spool_envelope_parse((const char *)text, len, &env) != 0)
		return;
	buf_init(&one, 1 << 24);
	buf_init(&two, 1 << 24);
	if (spool_envelope_format(&env, &one) != 0)
		abort();
	if (spool_envelope_parse(one.ptr, one.len, &again) != 0)
		abort();
	if (spool_envelope_format(&again, &two) != 0 || one.len != two.len ||
	    memcmp(one.ptr, two.ptr, one.len) != 0)
		abort();
	spool_envelope_free(&env);
	spool_envelope_free(&again);
	buf_free(&one);
	buf_free(&two);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* LLVMFuzzerTestOneInput - one input, mode chosen by the first byte. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	if (sodium_init() < 0)
		abort();
	switch (data[0] & 3) {
	case 1:
		fuzz_signed(data + 1, len - 1);
		break;
	case 2:
		fuzz_parse(data + 1, len - 1);
		break;
	default:
		fuzz_verify(data + 1, len - 1);
		break;
	}
	return 0;
}
