/*
 * version.h - "--version" for every program: the sitemail version, the
 * spool format version and the versions of the libraries it runs with.
 */
#ifndef SM_VERSION_H
#define SM_VERSION_H

#include <stdio.h>

/* version_print - the --version text of prog on f. */
void	version_print(FILE *f, const char *prog);
/* version_flag - 1 if arg is "--version". */
int	version_flag(const char *arg);

#endif
