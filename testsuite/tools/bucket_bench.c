/*
 * bucket_bench.c - how long one bucket_charge() takes.
 *
 * Usage: bucket_bench [N [DIR]]: opens (creating) DIR/state/bucket.tdb
 * (default: a fresh temporary directory, removed afterwards), charges the
 * site "bench" N times (default 100000) with cost 1, and prints the open
 * time and the nanoseconds per charge on stdout.  No assertions: numbers
 * only (a sanitiser build is several times slower than an -O2 one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue/bucket.h"
#include "util/msg.h"

/* bench_now - CLOCK_MONOTONIC in nanoseconds. */
static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* main - open, charge N times, print the timings. */
int
main(int argc, char **argv)
{
	struct conf_limits l = { .rate = 1e6, .burst = 1e12, .backlog = 1e12,
	    .from_policy = FROM_ALLOW };
	struct bucket_result r;
	struct bucket_db *db;
	char	 tmp[64] = "/tmp/bucket_bench.XXXXXX", state[4200], file[4300];
	const char *dir;
	long	 n, i, sends = 0;
	double	 t0, t1, t2;

	n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	if (n <= 0)
		n = 100000;
	if (argc > 2)
		dir = argv[2];
	else if ((dir = mkdtemp(tmp)) == NULL)
		return 1;
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(file, sizeof(file), "%s/%s", dir, BUCKET_FILE);
	mkdir(state, 0770);
	log_open("bucket_bench", "stderr");
	t0 = bench_now();
	if (bucket_open(&db, dir) != 0) {
		fprintf(stderr, "bucket_bench: %s\n", err_str());
		return 1;
	}
	t1 = bench_now();
	for (i = 0; i < n; i++) {
		if (bucket_charge(db, "bench", &l, 1, (double)time(NULL),
		    &r) != 0) {
			fprintf(stderr, "bucket_bench: %s\n", err_str());
			return 1;
		}
		sends += r.verdict == BUCKET_SEND;
	}
	t2 = bench_now();
	bucket_close(db);
	printf("open: %.0f ns\n", t1 - t0);
	printf("charges: %ld (%ld SEND)\n", n, sends);
	printf("per charge: %.0f ns\n", (t2 - t1) / n);
	if (argc <= 2) {
		unlink(file);
		rmdir(state);
		rmdir(dir);
	}
	return 0;
}
