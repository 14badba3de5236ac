/*
 * firewall.c - sitemail firewall: the nftables table "inet sitemail".
 *
 * The script (nft -f syntax) replaces the whole table in one transaction:
 *
 *	table inet sitemail { }			(so the delete never fails)
 *	delete table inet sitemail
 *	table inet sitemail {
 *	  chain smtp_redirect {			nat, output hook
 *	    meta skuid { EXEMPT } accept
 *	    ip daddr != 127.0.0.0/8 tcp dport { REDIRECT } redirect to :PORT
 *	    ip6 daddr != ::1 tcp dport { REDIRECT } redirect to :PORT
 *	  }
 *	  chain smtp_block {				filter, output hook
 *	    ct state != new accept
 *	    meta skuid { EXEMPT } accept
 *	    ip daddr != 127.0.0.0/8 tcp dport { BLOCK } reject with tcp reset
 *	    ip6 daddr != ::1 tcp dport { BLOCK } reject with tcp reset
 *	  }
 *	}
 *
 * EXEMPT is root, the runner user and [firewall] exempt_users; the block
 * chain is left out with block_ports = allow.  A redirected connection
 * lands on 127.0.0.1 / ::1 at [smtpd] redirect_port, where the listener
 * reads its original destination.  Applying pipes the script into
 * "nft -f -" (one atomic transaction); --remove deletes the table.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "queue/firewall.h"
#include "util/msg.h"

#define FIREWALL_MAX_EXEMPT	1024

static const char *const firewall_nft[] = { "/usr/sbin/nft", "/sbin/nft",
	"/usr/bin/nft", NULL };

/* firewall_list - "a, b, c" of a port list into out. */
static int
firewall_list(const struct conf_list *l, struct buf *out)
{
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < l->n && rc == 0; i++)
		rc = buf_printf(out, "%s%s", i ? ", " : "", l->v[i]);
	return rc;
}

/* firewall_uids - "0, 998, ..." of the exempt uids into out. */
static int
firewall_uids(const unsigned long *uid, size_t n, struct buf *out)
{
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = buf_printf(out, "%s%lu", i ? ", " : "", uid[i]);
	return rc;
}

/* firewall_chain_rules - the two "ip / ip6 daddr != loopback" rules. */
static int
firewall_chain_rules(const struct conf_list *ports, const char *action,
    struct buf *out)
{
	static const char *const fam[] = { "ip daddr != 127.0.0.0/8",
	    "ip6 daddr != ::1" };
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < 2 && rc == 0; i++) {
		rc = buf_printf(out, "\t\t%s tcp dport { ", fam[i]);
		if (rc == 0)
			rc = firewall_list(ports, out);
		if (rc == 0)
			rc = buf_printf(out, " } %s\n", action);
	}
	return rc;
}

/* firewall_ruleset - the nft script. */
int
firewall_ruleset(const struct conf *c, const unsigned long *exempt,
    size_t nexempt, struct buf *out)
{
	const struct conf_firewall *f = &c->firewall;
	char	 redir[64];
	int	 block, rc;

	block = !(f->block_ports.n == 1 &&
	    strcmp(f->block_ports.v[0], "allow") == 0) && f->block_ports.n;
	snprintf(redir, sizeof(redir), "redirect to :%u",
	    c->smtpd.redirect_port);
	rc = buf_printf(out, "# sitemail firewall: site users' SMTP goes "
	    "through sitemail-smtpd\ntable inet sitemail { }\n"
	    "delete table inet sitemail\ntable inet sitemail {\n"
	    "\tchain smtp_redirect {\n\t\ttype nat hook output priority -100; "
	    "policy accept;\n\t\tmeta skuid { ");
	if (rc == 0)
		rc = firewall_uids(exempt, nexempt, out);
	if (rc == 0)
		rc = buf_printf(out, " } accept\n");
	if (rc == 0 && f->redirect_ports.n)
		rc = firewall_chain_rules(&f->redirect_ports, redir, out);
	if (rc == 0)
		rc = buf_printf(out, "\t}\n");
	if (rc == 0 && block) {
		rc = buf_printf(out, "\tchain smtp_block {\n\t\ttype filter hook "
		    "output priority 0; policy accept;\n\t\tct state != new "
		    "accept\n\t\tmeta skuid { ");
		if (rc == 0)
			rc = firewall_uids(exempt, nexempt, out);
		if (rc == 0)
			rc = buf_printf(out, " } accept\n");
		if (rc == 0)
			rc = firewall_chain_rules(&f->block_ports,
			    "reject with tcp reset", out);
		if (rc == 0)
			rc = buf_printf(out, "\t}\n");
	}
	if (rc == 0)
		rc = buf_printf(out, "}\n");
	return rc ? err_set(EX_SOFTWARE, "ruleset too large") : 0;
}

/* firewall_uid - the uid of a login name or a number; -1 if unknown. */
static int
firewall_uid(const char *user, unsigned long *uid)
{
	struct passwd pw, *res = NULL;
	char	 pbuf[4096];
	uint64_t v;

	if (conf_parse_u64(user, strlen(user), (uid_t)-1 - 1ULL, &v) == 0) {
		*uid = (unsigned long)v;
		return 0;
	}
	if (getpwnam_r(user, &pw, pbuf, sizeof(pbuf), &res) != 0 || !res)
		return -1;
	*uid = (unsigned long)pw.pw_uid;
	return 0;
}

/* firewall_exempt - root, the runner user and exempt_users, deduplicated. */
static int
firewall_exempt(const struct conf *c, unsigned long *uid, size_t *n)
{
	unsigned long u;
	size_t	 i, j;

	uid[0] = 0;
	*n = 1;
	for (i = 0; i <= c->firewall.exempt_users.n; i++) {
		const char *name = i == 0 ? c->user :
		    c->firewall.exempt_users.v[i - 1];

		if (firewall_uid(name, &u) < 0)
			return err_set(EX_NOUSER, "[firewall] no such user "
			    "\"%s\"", name);
		for (j = 0; j < *n && uid[j] != u; j++)
			;
		if (j == *n && *n < FIREWALL_MAX_EXEMPT)
			uid[(*n)++] = u;
	}
	return 0;
}

/* firewall_nft - run nft -f - with script on its stdin. */
static int
firewall_nft_run(const char *script, size_t len)
{
	const char *nft = NULL;
	int	 p[2], st;
	size_t	 i, off = 0;
	ssize_t	 w;
	pid_t	 pid;

	for (i = 0; firewall_nft[i] && nft == NULL; i++)
		if (access(firewall_nft[i], X_OK) == 0)
			nft = firewall_nft[i];
	if (nft == NULL)
		return err_set(EX_UNAVAILABLE, "nft not found (install "
		    "nftables, or use the iptables rules in INSTALL)");
	if (pipe(p) < 0 || (pid = fork()) < 0)
		return err_set(EX_OSERR, "cannot run nft: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execl(nft, "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	while (off < len && (w = write(p[1], script + off, len - off)) > 0)
		off += (size_t)w;
	close(p[1]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return err_set(EX_UNAVAILABLE, "nft -f - failed (status %d); "
		    "nothing was changed", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

/* firewall_run - print, apply or remove the table. */
int
firewall_run(const struct conf *c, enum firewall_mode mode, FILE *out)
{
	unsigned long uid[FIREWALL_MAX_EXEMPT];
	struct buf b;
	size_t	 n;
	int	 rc;

	if (mode != FIREWALL_PRINT && getuid() != 0)
		return err_set(EX_NOPERM, "firewall: --apply and --remove "
		    "need root");
	buf_init(&b, 1024 * 1024);
	if (mode == FIREWALL_REMOVE)
		rc = buf_printf(&b, "table inet sitemail { }\ndelete table "
		    "inet sitemail\n") ? err_set(EX_SOFTWARE, "no memory") : 0;
	else if ((rc = firewall_exempt(c, uid, &n)) == 0)
		rc = firewall_ruleset(c, uid, n, &b);
	if (rc == 0 && mode == FIREWALL_PRINT)
		fputs(buf_str(&b), out);
	else if (rc == 0) {
		rc = firewall_nft_run(b.ptr, b.len);
		if (rc == 0)
			fprintf(out, "sitemail firewall: table inet sitemail "
			    "%s\n", mode == FIREWALL_APPLY ? "loaded" :
			    "removed");
	}
	buf_free(&b);
	return rc;
}
