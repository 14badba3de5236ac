/*
 * fuzz_qstate.c - libFuzzer target for qstate_decode: any bytes must
 * either decode into a record that encodes and decodes to the same text,
 * or be refused with nothing left allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/qstate.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* LLVMFuzzerTestOneInput - decode, and round-trip what decodes. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qrec rec, again;
	struct buf a, b;

	if (qstate_decode((const char *)data, size, &rec) != 0)
		return 0;
	buf_init(&a, QSTATE_REC_MAX);
	buf_init(&b, QSTATE_REC_MAX);
	if (qstate_encode(&rec, &a) == 0) {
		if (qstate_decode(a.ptr, a.len, &again) != 0)
			abort();
		if (qstate_encode(&again, &b) != 0 || a.len != b.len ||
		    memcmp(a.ptr, b.ptr, a.len) != 0)
			abort();
		qrec_free(&again);
	}
	buf_free(&a);
	buf_free(&b);
	qrec_free(&rec);
	return 0;
}
