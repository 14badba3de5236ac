/*
 * fuzz_verdict.c - libFuzzer target for the request parser sitemaild runs
 * on lines from hostile peers (queue/verdict.c): verdict_word for every
 * key it asks for, verdict_unescape, and verdict_escape's round trip.
 * A value that comes out never holds a NUL, never overruns its buffer,
 * and escaping then unescaping it gives it back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/verdict.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fuzz_keys[] = {
	"qid", "nrcpt", "time", "uid", "cwd", "exe", "json", "site", "sender",
	"rcpt", "frozen", "mode", "all", "id", "domain", "verdict", "hold",
};

/* fuzz_roundtrip - escape v, parse it back as key=, compare. */
static void
fuzz_roundtrip(const char *v)
{
	struct buf b;
	char	 out[VERDICT_LINE_MAX];

	buf_init(&b, VERDICT_LINE_MAX * 4);
	if (buf_addstr(&b, "x") == 0 && verdict_escape(&b, "k", v) == 0) {
		if (verdict_word(buf_str(&b), "k", out, sizeof(out)) == NULL) {
			if (*v && strlen(v) * 3 < sizeof(out))
				abort();
		} else if (strcmp(out, v) != 0)
			abort();
	}
	buf_free(&b);
}

/* LLVMFuzzerTestOneInput - parse every key out of the input line. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, out[64];
	size_t	 i;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < sizeof(fuzz_keys) / sizeof(fuzz_keys[0]); i++)
		if (verdict_word(s, fuzz_keys[i], out, sizeof(out)) != NULL &&
		    strlen(out) >= sizeof(out))
			abort();
	fuzz_roundtrip(s);
	(void)verdict_unescape(s);
	free(s);
	return 0;
}
