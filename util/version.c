/*
 * version.c - the --version text shared by every program.
 *
 * SM_VERSION comes from debian/changelog (the GNUmakefile reads it), so
 * the package and the programs always agree.  libsodium says which
 * version is loaded at run time.  libcurl is shown as built against
 * (curlver.h): calling curl_version_info() here would make the set-gid
 * sendmail load libcurl and its 30 dependencies on every submission, for
 * nothing (sitemaild, which delivers, adds the loaded libcurl and its TLS
 * library itself).  tdb, popt and inih have no version call either, so the
 * versions they were built against (pkg-config) are shown.
 */
#include <string.h>

#include <curl/curlver.h>
#include <sodium.h>

#include "spool/spool.h"
#include "util/version.h"

#ifndef SM_VERSION
#define SM_VERSION "unknown"
#endif
#ifndef SM_LIBVERSIONS
#define SM_LIBVERSIONS "unknown"
#endif

/* version_print - the --version text of prog on f. */
void
version_print(FILE *f, const char *prog)
{
	fprintf(f, "%s (sitemail) %s\n", prog, SM_VERSION);
	fprintf(f, "spool format %d\n", SPOOL_VERSION);
	fprintf(f, "libcurl %s (built against), libsodium %s\n",
	    LIBCURL_VERSION, sodium_version_string());
	fprintf(f, "built with %s\n", SM_LIBVERSIONS);
}

/* version_flag - 1 if arg is "--version". */
int
version_flag(const char *arg)
{
	return arg != NULL && strcmp(arg, "--version") == 0;
}
