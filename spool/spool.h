/*
 * spool.h - the signed on-disk message (format owned by spool/spool.c).
 *
 * Directory layout under spool_dir (all mode 0770 sitemail:sitemail, so a
 * site user can never name a spool file once sendmail has exited):
 *	tmp/		files being written (O_EXCL|O_NOFOLLOW, mode 0640,
 *			flock'ed by their writer until the commit)
 *	queue/		committed messages, one file per message, named QID
 *	quarantine/	files that failed verification, never delivered
 *	state/		tdb files (queue.tdb, bucket.tdb, stats.tdb,
 *			dns.tdb), the usage snapshot (spool/usage.h), done
 *			maps in state/done/ (queue/donemap.h), freeze
 *			markers in state/frozen/ (queue/freeze.h)
 *
 * File format, version 1 (see spool.c for the byte-level description):
 *	"SITEMAIL-SPOOL 1\n"		magic line
 *	content				the message as sent on the wire:
 *					CRLF line ends, not dot-stuffed
 *	envelope			"key value\n" lines (below)
 *	trailer				16 bytes: content length (u64 BE),
 *					envelope length (u32 BE), version
 *					(u32 BE); then a 32-byte BLAKE2b
 *					keyed MAC over every preceding byte
 * Envelope keys: qid, site, uid, login, sender, time (unix seconds with
 * microseconds, "1700000000.123456"), flags, hold (unix seconds the message
 * is held until by the rate limit, 0 = none), cwd, exe, script, and one
 * "rcpt ADDRESS" line per recipient.  Values never hold CR, LF or NUL.
 *
 * Queue IDs: 13 hex digits of microseconds since the epoch followed by 7
 * random hex digits (20 characters: unique, sortable by time, safe as a
 * file name).
 */
#ifndef SM_SPOOL_H
#define SM_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define SPOOL_VERSION	1
#define SPOOL_KEYLEN	32		/* crypto_generichash_KEYBYTES */
#define SPOOL_MACLEN	32
#define SPOOL_QIDLEN	20

/* Envelope flags. */
#define SPOOL_F_BOUNCE	0x01		/* a DSN: null sender, never bounced */
#define SPOOL_F_ALERT	0x02		/* an alert written by sitemail itself */
#define SPOOL_F_UNCHARGED 0x04		/* accepted while frozen: thaw charges it */
#define SPOOL_F_NOVERDICT 0x08		/* sitemaild did not answer intake: the
					 * runner charges it at pickup */

struct envelope {
	unsigned version;
	char	 qid[SPOOL_QIDLEN + 1];
	char	*site;
	uid_t	 uid;
	char	*login;
	char	*sender;		/* "" for the null sender */
	time_t	 time;			/* submission time, seconds */
	long	 time_usec;
	unsigned flags;
	time_t	 hold;			/* held until (rate limit), 0 = none */
	char	*cwd;
	char	*exe;
	char	*script;		/* X-PHP-Originating-Script, or "" */
	char	*origdst;		/* listener: where the client tried to
					 * connect ("host:port"), or "" */
	char	**rcpt;
	size_t	 nrcpt;
};

/* The key: $(SYSCONFDIR)/sitemail/spool.key, 32 random bytes. */
/* spool_key_load - read the 32-byte key from path (O_NOFOLLOW; refused
 * when others may read it or the group may write it).  Missing key:
 * EX_CONFIG "no spool key at PATH: run 'sitemail keygen'". */
int	spool_key_load(const char *path, unsigned char key[SPOOL_KEYLEN]);
/* spool_key_generate - write a new random key to path (O_EXCL, mode 0640,
 * root:group when run as root; group (gid_t)-1 = leave it).  An existing
 * key is never replaced (EX_CANTCREAT). */
int	spool_key_generate(const char *path, gid_t group);

/* spool_qid_new - make a fresh queue ID into out[SPOOL_QIDLEN + 1]. */
void	spool_qid_new(char *out);
/* spool_qid_valid - 1 if s has the shape of a queue ID. */
int	spool_qid_valid(const char *s);

/* spool_write_all - write n bytes to fd, retrying short writes; -1 on error. */
int	spool_write_all(int fd, const void *, size_t n);
/* spool_replace - (sitemaild only, spool/replace.c) replace path with
 * data through the new file tmp (mode, fsynced when sync is set, then
 * renamed): never seen half-written. */
int	spool_replace(const char *tmp, const char *path, const void *data,
	    size_t n, mode_t mode, int sync);

/* spool_number - canonical decimal (no sign, no leading zero) <= max. */
int	spool_number(const char *, size_t n, uint64_t max, uint64_t *out);

/* spool_valid_field - 1 if s holds no CR, LF or NUL (envelope-safe). */
int	spool_valid_field(const char *s);

/* Writing: create, stream content, then commit with the final envelope. */
struct spool_writer;

/* spool_create - open tmp/QID with O_EXCL|O_NOFOLLOW; qid is chosen here. */
int	spool_create(struct spool_writer **, const char *spool_dir,
	    const unsigned char key[SPOOL_KEYLEN]);
/* spool_writer_qid - the queue ID of the message being written. */
const char *spool_writer_qid(const struct spool_writer *);
/* spool_write - append content bytes (buffered, MACed as they pass). */
int	spool_write(struct spool_writer *, const void *, size_t);
/* spool_content_size - content bytes written so far. */
uint64_t spool_content_size(const struct spool_writer *);
/* spool_commit - append envelope and trailer, fsync, rename into queue/,
 * fsync the directory.  Only after 0 is the message accepted.  The
 * envelope's qid is taken from the writer (and written into env->qid).
 * A field with CR or LF, an empty site or recipient, or no recipients is
 * EX_DATAERR; any I/O failure EX_TEMPFAIL.  On failure nothing is left on
 * disk.  Frees the writer either way. */
int	spool_commit(struct spool_writer *, struct envelope *);
/* spool_abort - unlink the temporary file and free the writer. */
void	spool_abort(struct spool_writer *);
/* spool_tmp_sweep - (runner) remove every tmp/ file older than grace
 * seconds whose writer is gone (its flock can be taken); the count. */
unsigned spool_tmp_sweep(const char *spool_dir, time_t grace);

/* Reading: open, verify, parse; then stream the content. */
struct spool_msg {
	int	 fd;
	struct envelope env;
	uint64_t content_off;		/* offset of the content in the file */
	uint64_t content_len;
	off_t	 file_size;
};

/* spool_open - open dirfd/name with O_NOFOLLOW|O_NONBLOCK, check fstat
 * (regular, nlink 1), verify the MAC over the whole file, parse the
 * envelope, and want the qid to equal name and the file's owner to be the
 * envelope uid or the caller's euid (files the runner wrote itself).
 * EX_DATAERR means "quarantine" (err_str() says why, without the name);
 * EX_TEMPFAIL an I/O error (including a file that vanished).  After a
 * failure nothing needs closing (spool_close() is harmless). */
int	spool_open(struct spool_msg *, int dirfd, const char *name,
	    const unsigned char key[SPOOL_KEYLEN]);
/* spool_verify_fd - verify and parse an already open file (fuzzing, tests):
 * magic, lengths, MAC and envelope, but no fstat or owner checks.  On
 * success the msg owns fd (spool_close() closes it); on failure it does
 * not. */
int	spool_verify_fd(struct spool_msg *, int fd,
	    const unsigned char key[SPOOL_KEYLEN]);
/* spool_read_content - pread up to n content bytes at offset off; returns
 * the count (short only at the end, 0 past it) or -1 with err_set(). */
ssize_t	spool_read_content(struct spool_msg *, uint64_t off, void *, size_t n);
/* spool_close - close the file and free the envelope. */
void	spool_close(struct spool_msg *);
/* spool_envelope_free - free the strings of an envelope. */
void	spool_envelope_free(struct envelope *);
/* spool_envelope_parse - strictly parse len bytes of envelope text (the
 * part behind the MAC; exposed for the fuzzer).  On failure (EX_DATAERR)
 * nothing is left allocated. */
int	spool_envelope_parse(const char *, size_t, struct envelope *);
struct buf;
/* spool_envelope_format - append the envelope text of env to a buf. */
int	spool_envelope_format(const struct envelope *, struct buf *);

/* spool_quarantine - rename spool_dir/queue/name (whatever it is, never
 * followed) to quarantine/name, or name.N when taken, and log
 * "name: quarantined: why". */
int	spool_quarantine(const char *spool_dir, const char *name,
	    const char *why);
/* spool_dirs_create - create spool_dir and tmp/ queue/ quarantine/ state/
 * (mode 0770; chowned to owner:group when run as root). */
int	spool_dirs_create(const char *spool_dir, uid_t owner, gid_t group);

/* spool_layout_setup - create the missing directories of the spool layout
 * (tmp queue quarantine state state/flush, owned by user and its group)
 * and check every one: a wrong type, owner, group or mode is EX_CONFIG,
 * naming the command that fixes it (spool/layout.c). */
int	spool_layout_setup(const char *spool_dir, const char *user);
/* spool_layout_check - the same checks without creating anything: a
 * missing directory is EX_CONFIG naming 'sitemaild --setup'. */
int	spool_layout_check(const char *spool_dir, const char *user);
/* spool_layout_dirfd - open spool_dir/sub, making it (0770, *made set)
 * when missing and create is set; -1 with errno on failure. */
int	spool_layout_dirfd(const char *spool_dir, const char *sub, int create,
	    int *made);
/* spool_layout_sweep - remove the entries PREFIX+QID of the directory fd
 * (taken over and closed) whose queue/QID is gone; how many went. */
unsigned spool_layout_sweep(const char *spool_dir, int fd,
	    const char *prefix);

#endif
