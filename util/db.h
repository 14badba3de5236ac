/*
 * db.h - the one way sitemail opens its tdb files (the files in state/), so that
 * tdb's own complaints reach the mail log as one line each.
 */
#ifndef SM_DB_H
#define SM_DB_H

#include <sys/types.h>
#include <tdb.h>

/* db_open - tdb_open_ex with the mail-log logger; NULL with errno set. */
struct tdb_context *db_open(const char *path, int hash_size, int tdb_flags,
	    int open_flags, mode_t mode);

/* db_damage_count - fatal tdb errors (corruption, I/O) reported so far in
 * this process: a change tells the runner to check its state files. */
unsigned long db_damage_count(void);

#endif
