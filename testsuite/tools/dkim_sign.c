/*
 * dkim_sign.c - sign a message file with queue/dkim.c, for the golden
 * signatures of the unit test, by-hand checks with dkimverify, and the
 * signing benchmark (testsuite/bench/dkim).
 *
 * Usage: dkim_sign --key FILE --domain D [--selector S] [--time T]
 *	      [--repeat N] [--quiet] MESSAGE
 *
 * MESSAGE is read as it is (give it CRLF line ends, as the spool has).
 * Prints the DKIM-Signature header followed by the message, unless
 * --quiet.  --repeat N signs N times (streamed in 64 KB chunks, as the
 * runner does) and prints the wall-clock and CPU time per message on
 * stderr.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/dkim.h"
#include "util/msg.h"

/* One message in memory, read in chunks by a dkim_reader. */
struct src {
	const char *p;
	size_t	 n, off;
};

/* src_read - dkim_reader over a struct src. */
static ssize_t
src_read(void *arg, void *buf, size_t n)
{
	struct src *s = arg;

	if (n > s->n - s->off)
		n = s->n - s->off;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

/* slurp - the whole file. */
static char *
slurp(const char *path, size_t *len)
{
	FILE	*fp = fopen(path, "rb");
	char	*p = NULL;
	long	 n;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0 || (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, fp) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(fp);
	*len = (size_t)n;
	return p;
}

/* sign_once - one signature of msg into out. */
static int
sign_once(EVP_PKEY *key, const char *domain, const char *sel, time_t t,
    const char *msg, size_t len, struct buf *out)
{
	struct dkim_signer *s;
	struct src src = { msg, len, 0 };
	int	 rc;

	if ((rc = dkim_signer_new(&s)) != 0)
		return rc;
	if ((rc = dkim_signer_feed_all(s, src_read, &src)) == 0)
		rc = dkim_signer_finish(s, key, domain, sel, t, out);
	dkim_signer_free(s);
	return rc;
}

/* main - parse options, sign, print. */
int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", 1, NULL, 'k' }, { "domain", 1, NULL, 'd' },
		{ "selector", 1, NULL, 's' }, { "time", 1, NULL, 't' },
		{ "repeat", 1, NULL, 'r' }, { "quiet", 0, NULL, 'q' },
		{ NULL, 0, NULL, 0 }
	};
	const char *keyf = NULL, *domain = NULL, *sel = "sitemail";
	time_t	 t = time(NULL);
	long	 repeat = 1, i;
	int	 c, quiet = 0;
	struct timespec t0, t1, c0, c1;
	struct buf out;
	EVP_PKEY *key;
	size_t	 len;
	char	*msg;
	double	 secs, cpu;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'k': keyf = optarg; break;
		case 'd': domain = optarg; break;
		case 's': sel = optarg; break;
		case 't': t = (time_t)atoll(optarg); break;
		case 'r': repeat = atol(optarg); break;
		case 'q': quiet = 1; break;
		default: return 64;
		}
	}
	if (keyf == NULL || domain == NULL || optind != argc - 1 || repeat < 1) {
		fprintf(stderr, "usage: dkim_sign --key FILE --domain D "
		    "[--selector S] [--time T] [--repeat N] [--quiet] MSG\n");
		return 64;
	}
	if (dkim_key_read(keyf, &key) != 0) {
		fprintf(stderr, "dkim_sign: %s\n", err_str());
		return 1;
	}
	msg = slurp(argv[optind], &len);
	buf_init(&out, DKIM_SIG_MAX);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (i = 0; i < repeat; i++) {
		buf_reset(&out);
		if (sign_once(key, domain, sel, t, msg, len, &out) != 0) {
			fprintf(stderr, "dkim_sign: %s\n", err_str());
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cpu = (double)(c1.tv_sec - c0.tv_sec) +
	    (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	if (repeat > 1)
		fprintf(stderr, "%ld signatures, %.3f s wall, %.1f us/message "
		    "wall, %.1f us/message CPU\n", repeat, secs,
		    secs * 1e6 / (double)repeat, cpu * 1e6 / (double)repeat);
	if (!quiet) {
		fwrite(out.ptr, 1, out.len, stdout);
		fwrite(msg, 1, len, stdout);
	}
	buf_free(&out);
	free(msg);
	EVP_PKEY_free(key);
	return 0;
}
