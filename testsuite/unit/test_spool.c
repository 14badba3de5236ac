/*
 * test_spool.c - the signed spool: round trip, tampering, truncation,
 * foreign keys, symlinks, hard links, abort, envelope grammar, queue IDs,
 * keys and quarantine.  Uses a private mkdtemp() spool; needs no root
 * (the owner test runs only as root, where it can chown).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool/spool.h"
#include "testsuite/unit/tap.h"
#include "util/buf.h"
#include "util/msg.h"

static char	 dir[] = "/tmp/test_spool.XXXXXX";
static char	 spooldir[256];
static unsigned char key[SPOOL_KEYLEN];
static int	 queuefd;

/* rm_entry - nftw callback removing one entry. */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(path);
}

/* count_dir - entries (other than . and ..) in spooldir/sub. */
static int
count_dir(const char *sub)
{
	char	 path[512];
	struct dirent *de;
	DIR	*d;
	int	 n = 0;

	snprintf(path, sizeof(path), "%s/%s", spooldir, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* make_env - a filled-in envelope with n recipients (static strings). */
static void
make_env(struct envelope *env, char **rcpt, size_t n)
{
	memset(env, 0, sizeof(*env));
	env->site = "example.com";
	env->uid = getuid();
	env->login = "web1";
	env->sender = "web1@example.com";
	env->time = 1700000000;
	env->time_usec = 123456;
	env->flags = 0;
	env->hold = 1700000100;
	env->cwd = "/var/www/example.com/htdocs";
	env->exe = "/usr/bin/php8.2";
	env->script = "1005:/var/www/example.com/htdocs/contact.php";
	env->rcpt = rcpt;
	env->nrcpt = n;
}

/* pattern_byte - deterministic content byte at offset i. */
static unsigned char
pattern_byte(uint64_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

/* commit_message - write len pattern bytes in odd chunks and commit. */
static int
commit_message(uint64_t len, struct envelope *env, char *qid)
{
	static const size_t chunks[] = { 1, 7, 4093, 65537, 100003, 13, 65536 };
	struct spool_writer *w;
	unsigned char *buf;
	uint64_t off = 0;
	size_t	 k = 0, n, i;
	int	 rc;

	if ((rc = spool_create(&w, spooldir, key)) != 0)
		return rc;
	buf = malloc(100003);
	while (off < len) {
		n = chunks[k++ % (sizeof(chunks) / sizeof(chunks[0]))];
		if (n > len - off)
			n = (size_t)(len - off);
		for (i = 0; i < n; i++)
			buf[i] = pattern_byte(off + i);
		if ((rc = spool_write(w, buf, n)) != 0) {
			free(buf);
			spool_abort(w);
			return rc;
		}
		off += n;
	}
	free(buf);
	if (spool_content_size(w) != len) {
		spool_abort(w);
		return -1;
	}
	snprintf(qid, SPOOL_QIDLEN + 1, "%s", spool_writer_qid(w));
	return spool_commit(w, env);
}

/* content_matches - read all content back in chunks and compare. */
static int
content_matches(struct spool_msg *m, uint64_t len)
{
	unsigned char buf[7777];
	uint64_t off = 0, i;
	ssize_t	 r;

	if (m->content_len != len)
		return 0;
	while ((r = spool_read_content(m, off, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (uint64_t)r; i++)
			if (buf[i] != pattern_byte(off + i))
				return 0;
		off += (uint64_t)r;
	}
	return r == 0 && off == len;
}

/* test_round_trip - a 5 MB message and a small one survive unchanged. */
static void
test_round_trip(void)
{
	char	*rcpt[] = { "a@example.org", "b c@example.net", "x@y" };
	struct envelope env;
	struct spool_msg m;
	char	 qid[SPOOL_QIDLEN + 1];
	struct stat st;
	uint64_t sizes[] = { 0, 1, 65536, 5 * 1024 * 1024 + 3 };
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		make_env(&env, rcpt, 3);
		rc = commit_message(sizes[i], &env, qid);
		is_int(rc, 0, "commit");
		is_str(env.qid, qid, "commit fills in env.qid");
		ok(fstatat(queuefd, qid, &st, 0) == 0 &&
		    (st.st_mode & 07777) == 0640, "queue file mode 0640");
		rc = spool_open(&m, queuefd, qid, key);
		is_int(rc, 0, "open and verify");
		if (rc != 0) {
			diag("%s", err_str());
			continue;
		}
		is_str(m.env.qid, qid, "qid");
		is_str(m.env.site, "example.com", "site");
		is_int(m.env.uid, getuid(), "uid");
		is_str(m.env.login, "web1", "login");
		is_str(m.env.sender, "web1@example.com", "sender");
		is_int(m.env.time, 1700000000, "time");
		is_int(m.env.time_usec, 123456, "time_usec");
		is_int(m.env.hold, 1700000100, "hold");
		is_str(m.env.cwd, "/var/www/example.com/htdocs", "cwd");
		is_str(m.env.exe, "/usr/bin/php8.2", "exe");
		is_str(m.env.script,
		    "1005:/var/www/example.com/htdocs/contact.php", "script");
		is_int(m.env.nrcpt, 3, "nrcpt");
		if (m.env.nrcpt == 3) {
			is_str(m.env.rcpt[0], "a@example.org", "rcpt 0");
			is_str(m.env.rcpt[1], "b c@example.net", "rcpt 1");
			is_str(m.env.rcpt[2], "x@y", "rcpt 2");
		}
		ok(content_matches(&m, sizes[i]), "content round trip");
		spool_close(&m);
		unlinkat(queuefd, qid, 0);
	}
	is_int(count_dir("tmp"), 0, "tmp/ is empty after commits");
}

/* read_file - the whole of queue/qid into a malloc'd buffer. */
static unsigned char *
read_file(const char *qid, size_t *len)
{
	unsigned char *p;
	struct stat st;
	int	 fd;

	if ((fd = openat(queuefd, qid, O_RDONLY)) < 0 || fstat(fd, &st) < 0)
		return NULL;
	p = malloc((size_t)st.st_size);
	*len = (size_t)read(fd, p, (size_t)st.st_size);
	close(fd);
	return p;
}

/* write_file - replace queue/name with len bytes. */
static void
write_file(const char *name, const unsigned char *p, size_t len)
{
	int	 fd;

	unlinkat(queuefd, name, 0);
	fd = openat(queuefd, name, O_WRONLY | O_CREAT | O_EXCL, 0640);
	if (fd >= 0) {
		if (write(fd, p, len) != (ssize_t)len)
			diag("short write");
		close(fd);
	}
}

/* open_status - spool_open's status for queue/name (closing on success). */
static int
open_status(const char *name, const unsigned char *k)
{
	struct spool_msg m;
	int	 rc = spool_open(&m, queuefd, name, k);

	if (rc == 0)
		spool_close(&m);
	return rc;
}

/* test_tamper - every flipped byte and every truncation is refused. */
static void
test_tamper(void)
{
	char	*rcpt[] = { "a@example.org" };
	unsigned char *orig, *copy, other[SPOOL_KEYLEN];
	struct envelope env;
	char	 qid[SPOOL_QIDLEN + 1];
	size_t	 len, i, bad = 0, cuts[8];
	int	 rc;

	make_env(&env, rcpt, 1);
	is_int(commit_message(100, &env, qid), 0, "commit a small message");
	if ((orig = read_file(qid, &len)) == NULL)
		return;
	ok(len > 165 && orig[len - 41] == 100 && orig[len - 48] == 0 &&
	    orig[len - 33] == 1 && orig[len - 36] == 0 &&
	    (size_t)((orig[len - 38] << 8) | orig[len - 37]) ==
	    len - 165, "trailer: content length, envelope length, version");
	ok(memcmp(orig + 117, "qid ", 4) == 0, "envelope after content");
	ok(memcmp(orig, "SITEMAIL-SPOOL 1\n", 17) == 0, "magic line");
	copy = malloc(len + 1);
	for (i = 0; i < len; i++) {
		memcpy(copy, orig, len);
		copy[i] ^= (unsigned char)(1u << (i % 8));
		write_file(qid, copy, len);
		if ((rc = open_status(qid, key)) != EX_DATAERR) {
			bad++;
			diag("flip at %zu: status %d", i, rc);
		}
	}
	is_int(bad, 0, "flipping any single byte makes spool_open fail");

	cuts[0] = 0; cuts[1] = 1; cuts[2] = 17; cuts[3] = 64;
	cuts[4] = len - 49; cuts[5] = len - 32; cuts[6] = len - 1;
	cuts[7] = len / 2;
	for (bad = 0, i = 0; i < 8; i++) {
		write_file(qid, orig, cuts[i]);
		if ((rc = open_status(qid, key)) != EX_DATAERR) {
			bad++;
			diag("cut at %zu: status %d", cuts[i], rc);
		}
	}
	is_int(bad, 0, "truncated files are refused");

	memcpy(copy, orig, len);
	copy[len] = 'x';
	write_file(qid, copy, len + 1);
	is_int(open_status(qid, key), EX_DATAERR, "appended byte refused");
	write_file(qid, orig, len);
	is_int(open_status(qid, key), 0, "restored original verifies");
	memcpy(other, key, sizeof(other));
	other[5] ^= 0x40;
	is_int(open_status(qid, other), EX_DATAERR, "foreign key refused");
	ok(strstr(err_str(), "MAC") != NULL, "reason names the MAC");
	free(copy);
	free(orig);
	unlinkat(queuefd, qid, 0);
}

/* test_links - symlinks, hard links, wrong names, non-regular files. */
static void
test_links(void)
{
	char	*rcpt[] = { "a@example.org" };
	struct envelope env;
	char	 qid[SPOOL_QIDLEN + 1], other[SPOOL_QIDLEN + 1], path[512];
	char	 path2[512];
	struct stat st;

	make_env(&env, rcpt, 1);
	is_int(commit_message(10, &env, qid), 0, "commit");
	spool_qid_new(other);

	ok(symlinkat(qid, queuefd, other) == 0, "make a symlink in queue/");
	is_int(open_status(other, key), EX_DATAERR, "symlink refused");
	ok(strstr(err_str(), "symbolic link") != NULL, "reason: symlink");
	unlinkat(queuefd, other, 0);

	snprintf(path, sizeof(path), "%s/tmp/extra", spooldir);
	ok(linkat(queuefd, qid, AT_FDCWD, path, 0) == 0, "make a hard link");
	/* A fresh second link may be a link+unlink commit in progress. */
	is_int(open_status(qid, key), EX_TEMPFAIL, "fresh nlink 2 held back");
	snprintf(path2, sizeof(path2), "%s/tmp/extra2", spooldir);
	ok(linkat(queuefd, qid, AT_FDCWD, path2, 0) == 0, "a third link");
	is_int(open_status(qid, key), EX_DATAERR, "nlink 3 refused");
	unlink(path2);
	unlink(path);
	is_int(open_status(qid, key), 0, "nlink 1 again accepted");

	ok(renameat(queuefd, qid, queuefd, other) == 0, "rename to other ID");
	is_int(open_status(other, key), EX_DATAERR,
	    "qid not matching the file name refused");
	ok(renameat(queuefd, other, queuefd, "not-a-qid") == 0, "rename");
	is_int(open_status("not-a-qid", key), EX_DATAERR, "bad name refused");
	ok(renameat(queuefd, "not-a-qid", queuefd, qid) == 0, "rename back");

	unlinkat(queuefd, qid, 0);
	if (geteuid() == 0) {
		/* Root can make files owned by others: test the owner rule. */
		env.uid = 54321;
		is_int(commit_message(10, &env, qid), 0, "commit for uid 54321");
		is_int(open_status(qid, key), 0, "owned by the runner (euid)");
		ok(fchownat(queuefd, qid, 54321, 0, 0) == 0, "chown 54321");
		is_int(open_status(qid, key), 0, "owned by the envelope uid");
		ok(fchownat(queuefd, qid, 54322, 0, 0) == 0, "chown 54322");
		is_int(open_status(qid, key), EX_DATAERR,
		    "owned by someone else: refused");
		ok(strstr(err_str(), "owner") != NULL, "reason: owner");
		unlinkat(queuefd, qid, 0);
	}

	ok(mkfifoat(queuefd, other, 0640) == 0, "make a fifo");
	is_int(open_status(other, key), EX_DATAERR, "fifo refused");
	unlinkat(queuefd, other, 0);
	ok(mkdirat(queuefd, other, 0750) == 0, "make a directory");
	is_int(open_status(other, key), EX_DATAERR, "directory refused");
	unlinkat(queuefd, other, AT_REMOVEDIR);
	ok(fstatat(queuefd, ".", &st, 0) == 0, "queue/ still there");
}

/* test_abort - abort and a refused commit leave nothing behind. */
static void
test_abort(void)
{
	char	*rcpt[] = { "a@example.org", "evil@x\r\nrcpt b@y" };
	char	*lf[] = { "ok@x", "bad\n@x" };
	char	*empty[] = { "" };
	struct spool_writer *w;
	struct envelope env;
	char	 qid[SPOOL_QIDLEN + 1];

	is_int(spool_create(&w, spooldir, key), 0, "create");
	is_int(count_dir("tmp"), 1, "tmp file exists while writing");
	ok(spool_qid_valid(spool_writer_qid(w)), "writer qid valid");
	is_int(spool_write(w, "hello", 5), 0, "write");
	spool_abort(w);
	is_int(count_dir("tmp"), 0, "abort leaves nothing in tmp/");
	is_int(count_dir("queue"), 0, "abort leaves nothing in queue/");

	make_env(&env, rcpt, 2);
	is_int(commit_message(1000, &env, qid), EX_DATAERR,
	    "CR in a recipient refused");
	make_env(&env, lf, 2);
	is_int(commit_message(1000, &env, qid), EX_DATAERR,
	    "LF in a recipient refused");
	make_env(&env, lf, 1);
	env.sender = "a@b\rc";
	is_int(commit_message(10, &env, qid), EX_DATAERR, "CR in sender");
	make_env(&env, lf, 1);
	env.script = "x\ny";
	is_int(commit_message(10, &env, qid), EX_DATAERR, "LF in script");
	make_env(&env, empty, 1);
	is_int(commit_message(10, &env, qid), EX_DATAERR, "empty recipient");
	make_env(&env, lf, 0);
	is_int(commit_message(10, &env, qid), EX_DATAERR, "no recipients");
	is_int(count_dir("tmp"), 0, "refused commits leave nothing in tmp/");
	is_int(count_dir("queue"), 0, "... nor in queue/");

	is_int(spool_create(&w, "/nonexistent/spool", key), EX_TEMPFAIL,
	    "missing spool dir is EX_TEMPFAIL");
	ok(w == NULL, "no writer on failure");
}

/* parse_status - spool_envelope_parse's status for a C string. */
static int
parse_status(const char *text)
{
	struct envelope env;
	int	 rc = spool_envelope_parse(text, strlen(text), &env);

	if (rc == 0)
		spool_envelope_free(&env);
	return rc;
}

/* test_origdst - the optional listener field: parsed, defaulted, and
 * written only when set. */
static void
test_origdst(const char *text)
{
	struct envelope env;
	struct buf b;

	is_int(spool_envelope_parse(text, strlen(text), &env), 0,
	    "origdst parses");
	is_str(env.origdst, "192.0.2.10:25", "origdst value");
	buf_init(&b, 4096);
	is_int(spool_envelope_format(&env, &b), 0, "origdst formats");
	ok(strstr(buf_str(&b), "\norigdst 192.0.2.10:25\n") != NULL,
	    "origdst written back");
	spool_envelope_free(&env);
	buf_reset(&b);
	text = "qid 0123456789abcdef0123\nsite s\nuid 1\nsender a\n"
	    "time 1.000000\nrcpt x\n";
	is_int(spool_envelope_parse(text, strlen(text), &env), 0,
	    "a file without origdst (older format)");
	is_str(env.origdst, "", "origdst defaults to \"\"");
	is_int(spool_envelope_format(&env, &b), 0, "format without origdst");
	ok(strstr(buf_str(&b), "origdst") == NULL,
	    "no origdst line when empty");
	spool_envelope_free(&env);
	buf_free(&b);
}

/* test_envelope - the grammar behind the MAC. */
static void
test_envelope(void)
{
#define Q "qid 0123456789abcdef0123\n"
#define BASE Q "site s\nuid 1000\nsender a@b\ntime 1.000001\n"
	const char *two = BASE "rcpt x@y\nrcpt  z\n";
	struct envelope env;
	struct buf b;

	is_int(parse_status(BASE "rcpt x@y\n"), 0, "minimal envelope");
	is_int(spool_envelope_parse(two, strlen(two), &env), 0, "two rcpts");
	is_str(env.login, "", "login defaults to \"\"");
	is_str(env.rcpt[1], " z", "value keeps its spaces");
	is_int(env.time_usec, 1, "usec with leading zeros");
	buf_init(&b, 4096);
	is_int(spool_envelope_format(&env, &b), 0, "format");
	spool_envelope_free(&env);
	is_int(parse_status(buf_str(&b)), 0, "format output parses");
	buf_free(&b);

	is_int(parse_status(BASE), EX_DATAERR, "zero recipients");
	is_int(parse_status(BASE "rcpt x@y"), EX_DATAERR, "no final LF");
	is_int(parse_status(BASE "rcpt \n"), EX_DATAERR, "empty rcpt");
	is_int(parse_status(BASE "rcpt x\nfoo bar\n"), EX_DATAERR,
	    "unknown key");
	is_int(parse_status(BASE "rcpt x\nRCPT y\n"), EX_DATAERR,
	    "keys are case sensitive");
	is_int(parse_status(BASE "rcpt x\nsite t\n"), EX_DATAERR,
	    "duplicate site");
	is_int(parse_status(BASE "rcpt x\nrcpt\n"), EX_DATAERR, "no space");
	is_int(parse_status(BASE "rcpt x\r\n"), EX_DATAERR, "CR");
	is_int(parse_status(Q "site s\nuid 1000\nsender a@b\nrcpt x\n"),
	    EX_DATAERR, "missing time");
	is_int(parse_status(Q "uid 1000\nsender a@b\ntime 1.000000\nrcpt "
	    "x\n"), EX_DATAERR, "missing site");
	is_int(parse_status(Q "site \nuid 1000\nsender a@b\ntime 1.000000\n"
	    "rcpt x\n"), EX_DATAERR, "empty site");
	is_int(parse_status(Q "site s\nuid 1000\ntime 1.000000\nrcpt x\n"),
	    EX_DATAERR, "missing sender");
	is_int(parse_status(Q "site s\nuid 1000\nsender \ntime 1.000000\n"
	    "rcpt x\n"), 0, "null sender");
	is_int(parse_status("qid 0123456789ABCDEF0123\nsite s\nuid 1\n"
	    "sender \ntime 1.000000\nrcpt x\n"), EX_DATAERR, "upper-case qid");
	is_int(parse_status(Q "site s\nuid 01000\nsender a\ntime 1.000000\n"
	    "rcpt x\n"), EX_DATAERR, "leading zero");
	is_int(parse_status(Q "site s\nuid -1\nsender a\ntime 1.000000\n"
	    "rcpt x\n"), EX_DATAERR, "negative uid");
	is_int(parse_status(Q "site s\nuid 4294967295\nsender a\n"
	    "time 1.000000\nrcpt x\n"), EX_DATAERR, "uid -1");
	is_int(parse_status(Q "site s\nuid 4294967296\nsender a\n"
	    "time 1.000000\nrcpt x\n"), EX_DATAERR, "uid overflow");
	is_int(parse_status(Q "site s\nuid 1\nsender a\ntime 1.00000\n"
	    "rcpt x\n"), EX_DATAERR, "five usec digits");
	is_int(parse_status(Q "site s\nuid 1\nsender a\ntime 1\nrcpt x\n"),
	    EX_DATAERR, "time without usec");
	is_int(parse_status(Q "site s\nuid 1\nsender a\n"
	    "time 99999999999999999999.000000\nrcpt x\n"), EX_DATAERR,
	    "time overflow");
	is_int(parse_status(BASE "flags 16\nrcpt x\n"), EX_DATAERR,
	    "unknown flag");
	is_int(parse_status(BASE "flags 15\nhold 5\nrcpt x\n"), 0,
	    "known flags");
	is_int(parse_status(BASE "hold x\nrcpt x\n"), EX_DATAERR, "bad hold");
	is_int(parse_status(BASE "rcpt x\n\n"), EX_DATAERR, "empty line");
	test_origdst(BASE "origdst 192.0.2.10:25\nrcpt x\n");
	is_int(parse_status(BASE "origdst a\norigdst b\nrcpt x\n"),
	    EX_DATAERR, "duplicate origdst");
	is_int(spool_envelope_parse(BASE "rcpt x\0y\n", strlen(BASE) + 9,
	    &env), EX_DATAERR, "NUL");
	is_int(parse_status(""), EX_DATAERR, "empty envelope");
#undef BASE
#undef Q
}

/* test_qid - shape, uniqueness and order of queue IDs. */
static void
test_qid(void)
{
	char	 a[SPOOL_QIDLEN + 1], b[SPOOL_QIDLEN + 1];
	int	 i, good = 1;

	spool_qid_new(a);
	is_int(strlen(a), SPOOL_QIDLEN, "qid length");
	ok(spool_qid_valid(a), "new qid is valid");
	for (i = 0; i < 2000; i++) {
		spool_qid_new(b);
		if (!spool_qid_valid(b) || strcmp(b, a) == 0 ||
		    memcmp(b, a, 13) < 0)
			good = 0;
		memcpy(a, b, sizeof(a));
	}
	ok(good, "qids are valid, distinct and sorted by time");
	ok(!spool_qid_valid("0123456789abcdef012"), "19 chars invalid");
	ok(!spool_qid_valid("0123456789abcdef01234"), "21 chars invalid");
	ok(!spool_qid_valid("0123456789abcdef012g"), "non-hex invalid");
	ok(!spool_qid_valid("../3456789abcdef0123"), "path invalid");
	ok(!spool_qid_valid(NULL), "NULL invalid");
	ok(spool_valid_field("a b\tc"), "tab is a valid field byte");
	ok(!spool_valid_field("a\r"), "CR is not");
}

/* test_keys - generate, load, and the errors around them. */
static void
test_keys(void)
{
	unsigned char k1[SPOOL_KEYLEN], k2[SPOOL_KEYLEN];
	char	 path[512], bad[512];
	struct stat st;
	int	 fd;

	snprintf(path, sizeof(path), "%s/k1", dir);
	is_int(spool_key_generate(path, (gid_t)-1), 0, "keygen");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640 &&
	    st.st_size == SPOOL_KEYLEN, "key is 32 bytes, mode 0640");
	is_int(spool_key_generate(path, (gid_t)-1), EX_CANTCREAT,
	    "keygen refuses to overwrite");
	is_int(spool_key_load(path, k1), 0, "load");
	snprintf(bad, sizeof(bad), "%s/k2", dir);
	is_int(spool_key_generate(bad, (gid_t)-1), 0, "second keygen");
	is_int(spool_key_load(bad, k2), 0, "load second");
	ok(memcmp(k1, k2, SPOOL_KEYLEN) != 0, "keys differ");

	snprintf(bad, sizeof(bad), "%s/nokey", dir);
	is_int(spool_key_load(bad, k1), EX_CONFIG, "missing key");
	ok(strstr(err_str(), "no spool key at") &&
	    strstr(err_str(), "sitemail keygen"), "missing key reason");
	snprintf(bad, sizeof(bad), "%s/link", dir);
	ok(symlink(path, bad) == 0, "symlink to key");
	is_int(spool_key_load(bad, k1), EX_CONFIG, "symlinked key refused");
	snprintf(bad, sizeof(bad), "%s/short", dir);
	fd = open(bad, O_WRONLY | O_CREAT, 0600);
	ok(fd >= 0 && write(fd, "short", 5) == 5, "short key file");
	close(fd);
	is_int(spool_key_load(bad, k1), EX_CONFIG, "short key refused");
	fd = open(bad, O_WRONLY | O_TRUNC);
	ok(fd >= 0 && write(fd, k2, 32) == 32 && write(fd, "x", 1) == 1,
	    "long key file");
	close(fd);
	is_int(spool_key_load(bad, k1), EX_CONFIG, "33-byte key refused");
	chmod(path, 0644);
	is_int(spool_key_load(path, k1), EX_CONFIG, "world-readable refused");
	chmod(path, 0640);
}

/* test_quarantine - move entries of any kind aside, with unique names. */
static void
test_quarantine(void)
{
	char	 logspec[600], path[512], line[1024];
	char	 qid[SPOOL_QIDLEN + 1];
	struct stat st;
	FILE	*fp;
	int	 found = 0;

	snprintf(logspec, sizeof(logspec), "file:%s/log", dir);
	log_create(1);
	is_int(log_open("test_spool", logspec), 0, "log to a file");
	spool_qid_new(qid);
	ok(symlinkat("/etc/passwd", queuefd, qid) == 0, "symlink in queue/");
	is_int(spool_quarantine(spooldir, qid, "is a symbolic link"), 0,
	    "quarantine a symlink");
	snprintf(path, sizeof(path), "%s/quarantine/%s", spooldir, qid);
	ok(readlink(path, line, sizeof(line)) > 0, "symlink moved as is");
	ok(symlinkat("/etc/passwd", queuefd, qid) == 0, "same name again");
	is_int(spool_quarantine(spooldir, qid, "again"), 0, "quarantine again");
	snprintf(path, sizeof(path), "%s/quarantine/%s.1", spooldir, qid);
	ok(lstat(path, &st) == 0 && S_ISLNK(st.st_mode),
	    "second one is NAME.1");
	is_int(count_dir("queue"), 0, "queue/ empty");
	is_int(spool_quarantine(spooldir, qid, "gone"), EX_TEMPFAIL,
	    "missing entry is EX_TEMPFAIL");
	is_int(spool_quarantine(spooldir, "../x", "bad"), EX_SOFTWARE,
	    "names with / refused");
	snprintf(path, sizeof(path), "%s/log", dir);
	if ((fp = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp))
			if (strstr(line, qid) && strstr(line,
			    ": quarantined: is a symbolic link"))
				found = 1;
		fclose(fp);
	}
	ok(found, "log line \"QID: quarantined: why\"");
	log_open(NULL, "stderr");
}

/* test_layout - spool_layout_setup creates, spool_layout_check only
 * checks, and neither changes a directory with a wrong mode. */
static void
test_layout(void)
{
	const struct passwd *pw = getpwuid(geteuid());
	char	 top[512], sub[600];
	struct stat st;

	if (pw == NULL) {
		ok(0, "layout: no passwd entry for the euid");
		return;
	}
	snprintf(top, sizeof(top), "%s/layout", dir);
	is_int(spool_layout_check(top, pw->pw_name), EX_CONFIG,
	    "layout check: missing spool");
	ok(strstr(err_str(), "is missing: run 'sitemaild --setup'") != NULL,
	    "layout check: names sitemaild --setup");
	is_int(spool_layout_setup(top, pw->pw_name), 0, "layout setup");
	is_int(spool_layout_check(top, pw->pw_name), 0, "layout check after");
	snprintf(sub, sizeof(sub), "%s/state/flush", top);
	ok(stat(sub, &st) == 0 && (st.st_mode & 07777) == 01770,
	    "layout: state/flush is 1770");
	snprintf(sub, sizeof(sub), "%s/queue", top);
	ok(chmod(sub, 0700) == 0, "chmod queue/ 0700");
	is_int(spool_layout_setup(top, pw->pw_name), EX_CONFIG,
	    "layout setup refuses queue/ 0700");
	ok(strstr(err_str(), "chmod 0770") != NULL, "layout: names chmod 0770");
	ok(stat(sub, &st) == 0 && (st.st_mode & 07777) == 0700,
	    "layout: queue/ left as it was");
	is_int(spool_layout_setup(top, "no-such-user-smp"), EX_NOUSER,
	    "layout: unknown runner user");
}

int
main(void)
{
	char	 path[512];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(spooldir, sizeof(spooldir), "%s/spool", dir);
	is_int(spool_dirs_create(spooldir, getuid(), getgid()), 0,
	    "spool_dirs_create");
	is_int(spool_dirs_create(spooldir, getuid(), getgid()), 0,
	    "spool_dirs_create again");
	snprintf(path, sizeof(path), "%s/spool.key", dir);
	is_int(spool_key_generate(path, (gid_t)-1), 0, "generate key");
	is_int(spool_key_load(path, key), 0, "load key");
	snprintf(path, sizeof(path), "%s/queue", spooldir);
	queuefd = open(path, O_RDONLY | O_DIRECTORY);
	ok(queuefd >= 0, "open queue/");

	test_layout();
	test_round_trip();
	test_tamper();
	test_links();
	test_abort();
	test_envelope();
	test_qid();
	test_keys();
	test_quarantine();

	close(queuefd);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
