/*
 * confidx_fmt.h - the on-disk structures of SPOOL/state/sites.idx and
 * their checksum, shared by the reader (util/confidx.c, which documents
 * the format) and the builder (util/confidx_build.c).  Internal to util/.
 */
#ifndef SM_CONFIDX_FMT_H
#define SM_CONFIDX_FMT_H

#include <stddef.h>
#include <stdint.h>

#define CIDX_MAGIC	"SMCIDX1\n"
#define CIDX_VERSION	1
#define CIDX_STR_MAX	255		/* site, login and file names */
#define CIDX_TEXT_MAX	(64u << 20)	/* one configuration file */
#define CIDX_FILE_MAX	0xfffffff0u
#define CIDX_FNV0	2166136261u
#define CIDX_T_REC	1		/* table tags seeding entry sums */
#define CIDX_T_UID	2
#define CIDX_T_LOGIN	3
#define CIDX_T_SITE	4

struct cidx_hdr {
	char	 magic[8];
	uint32_t version, hdr_size;
	uint64_t file_size, built;
	uint64_t dir_dev, dir_ino, dir_mtime, dir_ctime;
	uint32_t nrec, rec_off, nuid, uid_off;
	uint32_t nlogin, login_off, nsite, site_off;
	uint32_t dir_off, dir_len;
	uint32_t body_sum, hdr_sum;
};
_Static_assert(sizeof(struct cidx_hdr) == 112, "header layout");

struct cidx_rec {
	uint32_t name_off, name_len, text_off, text_len, text_sum, sum;
};
struct cidx_uid {
	uint32_t uid, rec, sum;
};
struct cidx_name {
	uint32_t off, len, rec, sum;
};

/* cidx_sum - FNV-1a over n bytes, continuing from h. */
static inline uint32_t
cidx_sum(uint32_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--)
		h = (h ^ *s++) * 16777619u;
	return h;
}

/* cidx_entry_sum - an entry's checksum: its table tag and position, then
 * every field but the last (the checksum itself). */
static inline uint32_t
cidx_entry_sum(const void *e, size_t size, uint32_t tag, uint32_t i)
{
	uint32_t seed[2] = { tag, i };

	return cidx_sum(cidx_sum(CIDX_FNV0, seed, sizeof(seed)), e,
	    size - sizeof(uint32_t));
}

#endif
