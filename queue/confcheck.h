/*
 * confcheck.h - "sitemail check-config": check everything the programs
 * use at run time, as the user that uses it (queue/confcheck.c).
 */
#ifndef SM_CONFCHECK_H
#define SM_CONFCHECK_H

#include <stdio.h>

#include "util/conf.h"

/* confcheck_run - check c; each problem is one line on out, naming
 * FILE:LINE or the path; returns the number of problems. */
int	confcheck_run(const struct conf *, FILE *out);

#endif
