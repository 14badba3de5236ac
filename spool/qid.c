/*
 * qid.c - queue IDs.
 *
 * A queue ID is 20 lowercase hex digits: 13 digits of microseconds since
 * the epoch (enough until the year 2112), then 7 random digits.  IDs sort
 * by submission time as plain strings, are unique in practice (the file
 * is also created with O_EXCL and renamed with RENAME_NOREPLACE), and are
 * safe as file names.
 */
#include <string.h>
#include <sys/time.h>

#include <sodium.h>

#include "spool/spool.h"

#define QID_TIME_DIGITS	13
#define QID_RAND_DIGITS	7

static int	 qid_sodium;

/* qid_hex - write the low n hex digits of v, most significant first. */
static void
qid_hex(char *out, unsigned long long v, int n)
{
	static const char digits[] = "0123456789abcdef";

	while (n-- > 0) {
		out[n] = digits[v & 0xf];
		v >>= 4;
	}
}

/* spool_qid_new - make a fresh queue ID into out[SPOOL_QIDLEN + 1]. */
void
spool_qid_new(char *out)
{
	struct timeval tv;
	unsigned long long usec;

	/* Even if this fails, randombytes opens its own source. */
	if (!qid_sodium)
		qid_sodium = sodium_init() >= 0;
	gettimeofday(&tv, NULL);
	usec = (unsigned long long)tv.tv_sec * 1000000ULL +
	    (unsigned long long)tv.tv_usec;
	qid_hex(out, usec, QID_TIME_DIGITS);
	qid_hex(out + QID_TIME_DIGITS,
	    randombytes_uniform(1u << (4 * QID_RAND_DIGITS)), QID_RAND_DIGITS);
	out[SPOOL_QIDLEN] = '\0';
}

/* spool_qid_valid - 1 if s has the shape of a queue ID. */
int
spool_qid_valid(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < SPOOL_QIDLEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[SPOOL_QIDLEN] == '\0';
}
