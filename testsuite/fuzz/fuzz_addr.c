/*
 * fuzz_addr.c - libFuzzer target for addr_parse_list: any bytes (made a C
 * string) must parse without a crash or a leak, and every address that
 * comes out is non-empty, bounded and free of control bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

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
	free(s);
	return 0;
}
