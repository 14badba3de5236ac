/*
 * db.c - opening tdb files with sitemail's logger; see db.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/db.h"
#include "util/msg.h"

static unsigned long db_damage;		/* fatal tdb reports seen */

/* db_damage_count - how many fatal tdb errors (corruption, I/O) were
 * reported in this process so far. */
unsigned long
db_damage_count(void)
{
	return db_damage;
}

/* db_log - tdb's errors go to the mail log, one line each. */
static void SM_PRINTF(3, 4)
db_log(struct tdb_context *tdb, enum tdb_debug_level level,
    const char *fmt, ...)
{
	char	 line[512];
	va_list	 ap;
	size_t	 n;

	if (level > TDB_DEBUG_ERROR)
		return;
	if (level == TDB_DEBUG_FATAL)
		db_damage++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warn("tdb %s: %s", tdb_name(tdb), line);
}

/* db_open - tdb_open_ex with the mail-log logger. */
struct tdb_context *
db_open(const char *path, int hash_size, int tdb_flags, int open_flags,
    mode_t mode)
{
	struct tdb_logging_context logctx = { db_log, NULL };

	return tdb_open_ex(path, hash_size, tdb_flags, open_flags, mode,
	    &logctx, NULL);
}
