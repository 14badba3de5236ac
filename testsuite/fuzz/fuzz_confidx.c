/*
 * fuzz_confidx.c - libFuzzer target for the site index reader
 * (util/confidx.c), the code the set-gid intake runs over
 * SPOOL/state/sites.idx.
 *
 * The input is written as the index file (after the first 112 bytes,
 * the fixed header, it is the body as given), then opened with and
 * without the full check and, when accepted, every lookup runs: uids
 * taken from the input, a few login and site names, and every record.
 * Rejections are fine; crashes, leaks and sanitizer reports are not.  The
 * seed corpus (testsuite/fuzz/corpus/fuzz_confidx) holds real indexes.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/confidx.h"

static char	 fuzz_dir[64];
static char	 fuzz_idx[128];

/* fuzz_cleanup - remove the temporary directory at exit. */
static void
fuzz_cleanup(void)
{
	unlink(fuzz_idx);
	rmdir(fuzz_dir);
}

/* fuzz_setup - make the directory once per process. */
static void
fuzz_setup(void)
{
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz_confidx.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	snprintf(fuzz_idx, sizeof(fuzz_idx), "%s/sites.idx", fuzz_dir);
	atexit(fuzz_cleanup);
}

/* fuzz_write - replace the index with n bytes. */
static void
fuzz_write(const uint8_t *p, size_t n)
{
	int	 fd;

	unlink(fuzz_idx);
	fd = open(fuzz_idx, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

/* fuzz_lookups - every reader entry point over an accepted index. */
static void
fuzz_lookups(struct confidx *x, const uint8_t *data, size_t len)
{
	static const char *const names[] = { "", "a", "web1", "s0001",
	    "zzzzzzzz", "root" };
	size_t	 nrec, nuid, nlogin, i, tl;
	uint32_t rec, uid;
	char	*n, *t;

	confidx_count(x, &nrec, &nuid, &nlogin);
	for (i = 0; i + 4 <= len && i < 64; i += 4) {
		memcpy(&uid, data + i, 4);
		(void)confidx_find_uid(x, uid, &rec);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)confidx_find_login(x, names[i], &rec);
		(void)confidx_has_site(x, names[i]);
	}
	for (i = 0; i < nrec && i < 64; i++)
		if (confidx_record(x, (uint32_t)i, &n, &t, &tl) == 0) {
			if (strlen(n) == 0 || t[tl] != '\0')
				abort();
			free(n);
			free(t);
		}
	(void)confidx_fresh(x, fuzz_dir);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* LLVMFuzzerTestOneInput - open and search one index. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int ready;
	struct confidx *x;
	int	 full;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	fuzz_write(data, len);
	for (full = 0; full < 2; full++) {
		/* The directory the seed indexes were built for. */
		if (confidx_open(&x, fuzz_idx, "/tmp/fzseed/etc", full) != 0)
			continue;
		fuzz_lookups(x, data, len);
		confidx_close(x);
	}
	return 0;
}
