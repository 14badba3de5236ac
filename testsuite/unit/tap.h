/*
 * tap.h - a minimal TAP producer for the C unit tests run by prove.
 *
 * Usage: ok(cond, "name"); is_int(got, want, "name"); is_str(...);
 * finish with "return tap_done();", which prints the plan.
 */
#ifndef SM_TAP_H
#define SM_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_fail;

/* tap_ok - record one test result. */
static inline int
tap_ok(int cond, const char *name, const char *file, int line)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
	if (!cond) {
		tap_fail++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(c, name)	tap_ok(!!(c), (name), __FILE__, __LINE__)
#define is_int(g, w, name) do {						\
	long long tap_g = (long long)(g), tap_w = (long long)(w);	\
	if (!ok(tap_g == tap_w, name))					\
		printf("#   got %lld, want %lld\n", tap_g, tap_w);	\
} while (0)
#define is_str(g, w, name) do {						\
	const char *tap_gs = (g), *tap_ws = (w);			\
	if (!ok(tap_gs && tap_ws && strcmp(tap_gs, tap_ws) == 0, name))	\
		printf("#   got \"%s\", want \"%s\"\n",			\
		    tap_gs ? tap_gs : "(null)", tap_ws ? tap_ws : "(null)"); \
} while (0)
#define diag(...)	(printf("# "), printf(__VA_ARGS__), printf("\n"))

/* tap_done - print the plan; the exit status counts failures. */
static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}

#endif
