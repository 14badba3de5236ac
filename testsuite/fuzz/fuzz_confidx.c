/*
 * fuzz_confidx.c - libFuzzer target for the site index reader
 * (util/confidx.c), the code the set-gid intake runs over
 * SPOOL/state/sites.idx.
 *
 * The input is written as the index file, then opened with and without
 * the full check and, when accepted, every lookup runs: uids taken from
 * the input, a few login and site names, and every record.  Then the same
 * again with the header and body checksums (and every entry checksum the
 * header's tables cover) made right, so the mutations reach the bounds
 * checks and the searches behind the checksums.
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
#include "util/confidx_fmt.h"

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

/* fuzz_fix_table - recompute the entry checksums of one table in buf. */
static void
fuzz_fix_table(uint8_t *buf, size_t len, uint32_t off, uint32_t n,
    size_t size, uint32_t tag)
{
	uint32_t i, sum;

	for (i = 0; i < n && off <= len && (size_t)(len - off) / size > i &&
	    i < 4096; i++) {
		sum = cidx_entry_sum(buf + off + (size_t)i * size, size, tag, i);
		memcpy(buf + off + (size_t)i * size + size - 4, &sum, 4);
	}
}

/* fuzz_fix - a copy of data with every checksum made right. */
static uint8_t *
fuzz_fix(const uint8_t *data, size_t len)
{
	struct cidx_hdr h;
	uint8_t	*buf;

	if (len < sizeof(h) || (buf = malloc(len)) == NULL)
		return NULL;
	memcpy(buf, data, len);
	memcpy(&h, buf, sizeof(h));
	fuzz_fix_table(buf, len, h.rec_off, h.nrec, sizeof(struct cidx_rec),
	    CIDX_T_REC);
	fuzz_fix_table(buf, len, h.uid_off, h.nuid, sizeof(struct cidx_uid),
	    CIDX_T_UID);
	fuzz_fix_table(buf, len, h.login_off, h.nlogin,
	    sizeof(struct cidx_name), CIDX_T_LOGIN);
	fuzz_fix_table(buf, len, h.site_off, h.nsite,
	    sizeof(struct cidx_name), CIDX_T_SITE);
	h.file_size = len;
	h.body_sum = cidx_sum(CIDX_FNV0, buf + sizeof(h), len - sizeof(h));
	h.hdr_sum = cidx_sum(CIDX_FNV0, &h, offsetof(struct cidx_hdr,
	    hdr_sum));
	memcpy(buf, &h, sizeof(h));
	return buf;
}

/* fuzz_one - open and search the index in data. */
static void
fuzz_one(const uint8_t *data, size_t len)
{
	struct confidx *x;
	int	 full;

	fuzz_write(data, len);
	for (full = 0; full < 2; full++) {
		/* The directory the seed indexes were built for. */
		if (confidx_open(&x, fuzz_idx, "/tmp/fzseed/etc", full) != 0)
			continue;
		fuzz_lookups(x, data, len);
		confidx_close(x);
	}
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* LLVMFuzzerTestOneInput - open and search one index, as given and with
 * its checksums made right. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int ready;
	uint8_t	*fixed;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	fuzz_one(data, len);
	if ((fixed = fuzz_fix(data, len)) != NULL) {
		fuzz_one(fixed, len);
		free(fixed);
	}
	return 0;
}
