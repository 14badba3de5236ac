/*
 * route_tool.c - print route_explain() for an address, as "sitemail route"
 * will: route_tool CONFDIR ADDRESS [--json].  Exit 0 with the evidence on
 * stdout, 64 on usage errors, or the sysexits status of a failure (78 for
 * a bad configuration) with one line on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "queue/route.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/msg.h"

/* main - load the configuration, explain one address. */
int
main(int argc, char **argv)
{
	struct conf conf;
	struct route_ctx *ctx;
	struct buf out;
	const char *dir = NULL, *addr = NULL;
	int	 json = 0, i, st;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (dir == NULL)
			dir = argv[i];
		else if (addr == NULL)
			addr = argv[i];
		else
			addr = NULL, dir = NULL, i = argc;
	}
	if (dir == NULL || addr == NULL) {
		fprintf(stderr, "usage: route_tool CONFDIR ADDRESS [--json]\n");
		return EX_USAGE;
	}
	log_open("route_tool", "stderr");
	if ((st = conf_load(&conf, dir)) != 0) {
		fprintf(stderr, "route_tool: %s\n", err_str());
		return st;
	}
	if ((st = route_open(&ctx, &conf)) != 0) {
		fprintf(stderr, "route_tool: %s\n", err_str());
		conf_free(&conf);
		return st;
	}
	buf_init(&out, 1024 * 1024);
	if ((st = route_explain(ctx, addr, json, &out)) != 0)
		fprintf(stderr, "route_tool: %s\n", err_str());
	else
		fputs(buf_str(&out), stdout);
	buf_free(&out);
	route_close(ctx);
	conf_free(&conf);
	return st;
}
