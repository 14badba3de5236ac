/*
 * version.c - the --version text shared by every program.
 *
 * SM_VERSION comes from debian/changelog (the GNUmakefile reads it), so
 * the package and the programs always agree.  libcurl and libsodium say
 * which version is loaded at run time; tdb, popt and inih have no such
 * call, so the versions they were built against (pkg-config) are shown.
 */
#include <string.h>

#include <curl/curl.h>
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
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	fprintf(f, "%s (sitemail) %s\n", prog, SM_VERSION);
	fprintf(f, "spool format %d\n", SPOOL_VERSION);
	fprintf(f, "libcurl %s (%s), libsodium %s\n", cv->version,
	    cv->ssl_version ? cv->ssl_version : "no TLS",
	    sodium_version_string());
	fprintf(f, "built with %s\n", SM_LIBVERSIONS);
}

/* version_flag - 1 if arg is "--version". */
int
version_flag(const char *arg)
{
	return arg != NULL && strcmp(arg, "--version") == 0;
}
