/*
 * admin_report.h - "sitemail report": the per-site digest of the mail log
 * (format and sources in queue/admin_report.c).
 */
#ifndef SM_ADMIN_REPORT_H
#define SM_ADMIN_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "util/conf.h"

/* admin_report - per site over the last window seconds of the log file:
 * messages, recipients, results and the top scripts, working
 * directories and recipient domains; text or JSON lines. */
int	admin_report(const struct conf *, long window, int json, FILE *);
/* admin_report_argv - "report [--since DURATION] [--json]" words. */
int	admin_report_argv(const struct conf *, char *const *argv, size_t n,
	    FILE *);

#endif
