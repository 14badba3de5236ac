/*
 * fuzz_conf.c - libFuzzer target for the configuration loader.
 *
 * The input is split at the first 0xff byte: the part before it becomes
 * sitemail.conf, the part after it sites.d/a.conf, in a private temporary
 * directory; then conf_load() runs over them and every site is looked up
 * again.  Errors are fine; crashes, leaks and sanitizer reports are not.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/conf.h"

static char	 fuzz_dir[64];
static char	 fuzz_main[96], fuzz_site[96];

/* fuzz_write - replace path with n bytes (unlink + create: truncating
 * in place makes ext4 flush on close, which is slow). */
static void
fuzz_write(const char *path, const uint8_t *p, size_t n)
{
	int	 fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

/* fuzz_cleanup - remove the temporary directory at exit. */
static void
fuzz_cleanup(void)
{
	char	 d[96];

	unlink(fuzz_main);
	unlink(fuzz_site);
	snprintf(d, sizeof(d), "%s/sites.d", fuzz_dir);
	rmdir(d);
	rmdir(fuzz_dir);
}

/* fuzz_setup - make the directory once per process. */
static void
fuzz_setup(void)
{
	char	 d[96];

	/* Prefer memory: this runs thousands of times a second. */
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz_conf.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	snprintf(d, sizeof(d), "%s/sites.d", fuzz_dir);
	if (mkdir(d, 0700) < 0)
		abort();
	snprintf(fuzz_main, sizeof(fuzz_main), "%s/sitemail.conf", fuzz_dir);
	snprintf(fuzz_site, sizeof(fuzz_site), "%s/sites.d/a.conf", fuzz_dir);
	atexit(fuzz_cleanup);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* LLVMFuzzerTestOneInput - load one pair of files. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int ready;
	const uint8_t *sep;
	struct conf c;
	size_t	 i, n;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	sep = memchr(data, 0xff, len);
	n = sep ? (size_t)(sep - data) : len;
	fuzz_write(fuzz_main, data, n);
	fuzz_write(fuzz_site, sep ? sep + 1 : data, sep ? len - n - 1 : 0);
	if (conf_load(&c, fuzz_dir) != 0)
		return 0;
	for (i = 0; i < c.nsites; i++)
		if (conf_site_find(&c, c.sites[i].name) != &c.sites[i])
			abort();
	if (c.hostname == NULL || *c.hostname == '\0')
		abort();
	(void)conf_site_for_user(&c, 1000, "web1");
	conf_free(&c);
	return 0;
}
