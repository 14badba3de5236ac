/*
 * admin_dkim.c - "sitemail dkim keygen | list | check": DKIM keys for the
 * administrator (root or the runner user; sitemail.c refuses others).
 *
 *   dkim keygen DOMAIN [--selector S] [--bits N] [--type rsa|ed25519]
 *	writes [dkim] keys/DOMAIN.S.key (PEM PKCS#8, owner the runner user,
 *	mode 0600; the directory is made 0700 and owned by the runner user,
 *	so group sitemail - the set-gid programs inside the sites - cannot
 *	even list it), never over an existing key, and prints the TXT record.
 *	--type ed25519 writes DOMAIN.S-ed25519.key instead: the key of the
 *	second (ed25519-sha256) signature.
 *   dkim list [--json]
 *	every key file: domain, selector, bits, whether the selector is the
 *	active one, and what DNS says at S._domainkey.DOMAIN (asked through
 *	the [dns] resolver): match, mismatch, revoked, missing or error.
 *   dkim check DOMAIN [--site S]
 *	for each site that lists DOMAIN (or a parent of it), whether mail
 *	From DOMAIN is signed, with which key, or why not; exit 69 when it
 *	would not be signed by any.
 */
#include <sys/stat.h>

#include <arpa/nameser.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "queue/admin.h"
#include "queue/admin_int.h"
#include "queue/dkim_key.h"
#include "queue/dns.h"
#include "util/msg.h"

#define ADKIM_BITS_MIN	1024
#define ADKIM_BITS_MAX	4096
#define ADKIM_TXT_CHUNK	250		/* characters per TXT string */

/* One key file found by dkim list. */
struct adkim_key {
	char	 domain[DKIM_DOMAIN_MAX + 1];
	char	 selector[64];
	int	 bits;			/* 0: unreadable */
	char	 type[8];		/* rsa, ed25519 */
	char	 dns[16];		/* match, mismatch, ... */
	char	 detail[700];
};

/* adkim_name_ok - a domain or selector we accept: letters, digits, '-',
 * and '.' between labels when dots is set. */
static int
adkim_name_ok(const char *s, size_t max, int dots)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > max || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    !(dots && s[i] == '.' && s[i + 1] != '.'))
			return 0;
	return 1;
}

/* adkim_lower - s in lower case, in place. */
static char *
adkim_lower(char *s)
{
	char	*p;

	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* adkim_runner - the runner user's uid and gid. */
static int
adkim_runner(const struct conf *c, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(c->user);

	if (pw == NULL)
		return err_set(EX_NOUSER, "no user %s", c->user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* adkim_keydir - make sure the key directory exists, is a directory,
 * mode 0700, owned by the runner user. */
static int
adkim_keydir(const struct conf *c, uid_t uid, gid_t gid)
{
	struct stat st;

	if (mkdir(c->dkim_keys, 0700) < 0 && errno != EEXIST)
		return err_set(EX_CANTCREAT, "cannot create %s: %s",
		    c->dkim_keys, strerror(errno));
	if (lstat(c->dkim_keys, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(EX_CANTCREAT, "%s is not a directory",
		    c->dkim_keys);
	if (geteuid() == 0 && (st.st_uid != uid || st.st_gid != gid) &&
	    lchown(c->dkim_keys, uid, gid) < 0)
		return err_set(EX_CANTCREAT, "cannot chown %s: %s",
		    c->dkim_keys, strerror(errno));
	if ((st.st_mode & 07777) != 0700 && chmod(c->dkim_keys, 0700) < 0)
		return err_set(EX_CANTCREAT, "cannot chmod %s: %s",
		    c->dkim_keys, strerror(errno));
	return 0;
}

/* adkim_write_key - a new RSA key of bits (0: Ed25519) into path (O_EXCL,
 * mode 0600). */
static int
adkim_write_key(const char *path, int bits, uid_t uid, gid_t gid,
    EVP_PKEY **kp)
{
	EVP_PKEY *k = bits == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	BIO	*bio;
	char	*pem;
	long	 n;
	int	 fd, rc = 0;

	if (k == NULL)
		return err_set(EX_SOFTWARE, "cannot generate a key");
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (n = BIO_get_mem_data(bio, &pem)) <= 0) {
		BIO_free(bio);
		EVP_PKEY_free(k);
		return err_set(EX_SOFTWARE, "cannot encode the key");
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		rc = err_set(EX_CANTCREAT, "cannot create %s: %s%s", path,
		    strerror(errno), errno == EEXIST ? " (choose another "
		    "--selector to rotate keys)" : "");
	else if ((geteuid() == 0 && fchown(fd, uid, gid) < 0) ||
	    spool_write_all(fd, pem, (size_t)n) < 0 || fsync(fd) < 0) {
		rc = err_set(EX_IOERR, "cannot write %s: %s", path,
		    strerror(errno));
		unlink(path);
	}
	if (fd >= 0)
		close(fd);
	BIO_free(bio);
	if (rc != 0)
		EVP_PKEY_free(k);
	else
		*kp = k;
	return rc;
}

/* adkim_print_record - the TXT record to publish for (domain, selector). */
static int
adkim_print_record(EVP_PKEY *k, const char *domain, const char *sel,
    FILE *out)
{
	struct buf p, v;
	size_t	 i;
	int	 rc;

	buf_init(&p, 8192);
	buf_init(&v, 8192);
	if ((rc = dkim_pubkey_b64(k, &p)) == 0 &&
	    buf_printf(&v, "v=DKIM1; k=%s; p=%s", dkim_key_type(k),
	    buf_str(&p)) < 0)
		rc = err_set(EX_SOFTWARE, "out of memory");
	if (rc == 0) {
		fprintf(out, "Publish this TXT record (zone file syntax; "
		    "strings over 255 characters are split):\n\n"
		    "%s._domainkey.%s. 3600 IN TXT (", sel, domain);
		for (i = 0; i < v.len; i += ADKIM_TXT_CHUNK)
			fprintf(out, "\n    \"%.*s\"", (int)(v.len - i <
			    ADKIM_TXT_CHUNK ? v.len - i : ADKIM_TXT_CHUNK),
			    v.ptr + i);
		fprintf(out, " )\n\nname:  %s._domainkey.%s\nvalue: %s\n",
		    sel, domain, buf_str(&v));
	}
	buf_free(&p);
	buf_free(&v);
	return rc;
}

/* adkim_keygen - dkim keygen DOMAIN [--selector S] [--bits N]. */
static int
adkim_keygen(const struct conf *c, char **argv, size_t argc, FILE *out)
{
	const char *sel = c->dkim_selector, *bits_s = "2048", *type = "rsa";
	char	 domain[DKIM_DOMAIN_MAX + 1], path[PATH_MAX], edsel[80];
	EVP_PKEY *k = NULL;
	uid_t	 uid = 0;
	gid_t	 gid = 0;
	size_t	 i;
	long	 bits;
	int	 rc;

	domain[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--selector") == 0 && i + 1 < argc)
			sel = argv[++i];
		else if (strcmp(argv[i], "--bits") == 0 && i + 1 < argc)
			bits_s = argv[++i];
		else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc)
			type = argv[++i];
		else if (argv[i][0] != '-' && domain[0] == '\0' &&
		    strlen(argv[i]) < sizeof(domain)) {
			snprintf(domain, sizeof(domain), "%s", argv[i]);
			adkim_lower(domain);
		}
		else
			return err_set(EX_USAGE, "usage: sitemail dkim keygen "
			    "DOMAIN [--selector S] [--bits N] [--type rsa|"
			    "ed25519]");
	}
	bits = strtol(bits_s, NULL, 10);
	if (strcmp(type, "rsa") != 0 && strcmp(type, "ed25519") != 0)
		return err_set(EX_USAGE, "dkim keygen: --type is rsa or "
		    "ed25519");
	if (!adkim_name_ok(domain, DKIM_DOMAIN_MAX, 1) || !strchr(domain, '.'))
		return err_set(EX_USAGE, "dkim keygen: want a domain name");
	if (!adkim_name_ok(sel, 63, 0))
		return err_set(EX_USAGE, "dkim keygen: a selector is letters, "
		    "digits and '-' (no dots)");
	if (bits < ADKIM_BITS_MIN || bits > ADKIM_BITS_MAX || bits % 1024)
		return err_set(EX_USAGE, "dkim keygen: --bits is 1024, 2048, "
		    "3072 or 4096");
	if (strcmp(type, "ed25519") == 0) {	/* the second signature's */
		snprintf(edsel, sizeof(edsel), "%s%s", sel, DKIM_ED_SUFFIX);
		bits = 0;
	}
	if ((rc = adkim_runner(c, &uid, &gid)) != 0 ||
	    (rc = adkim_keydir(c, uid, gid)) != 0 ||
	    (rc = dkim_key_path(c, domain, bits ? sel : edsel, path,
	    sizeof(path))) != 0 ||
	    (rc = adkim_write_key(path, (int)bits, uid, gid, &k)) != 0)
		return rc;
	fprintf(out, "sitemail: wrote %s (%s %d bits, owner %s, mode 0600)\n",
	    path, type, dkim_key_bits(k), c->user);
	if (strcmp(sel, c->dkim_selector) != 0)
		fprintf(out, "note: [dkim] selector is \"%s\": this key signs "
		    "only once selector = %s\n", c->dkim_selector, sel);
	if (bits == 0)
		fprintf(out, "note: an Ed25519 key only adds a second signature "
		    "to mail signed with the RSA key of selector %s\n", sel);
	rc = adkim_print_record(k, domain, bits ? sel : edsel, out);
	EVP_PKEY_free(k);
	return rc;
}

/* adkim_tag_p - the p= value of a DKIM key record, white space removed,
 * into out; -1 when the record has no p= tag. */
static int
adkim_tag_p(const char *rec, struct buf *out)
{
	const char *p = rec;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (*p == '\0')
			return -1;
		if (p[0] == 'p' && (p[1] == '=' || p[1] == ' ' || p[1] == '\t')) {
			for (p++; *p == ' ' || *p == '\t'; p++)
				;
			if (*p != '=')
				return -1;
			for (p++; *p && *p != ';'; p++)
				if (!isspace((unsigned char)*p) &&
				    buf_addch(out, *p) < 0)
					return -1;
			return 0;
		}
		while (*p && *p != ';')
			p++;
	}
}

/* adkim_tail - the last 16 characters of a p= value (RSA keys share
 * their first ones, the ASN.1 header). */
static const char *
adkim_tail(const struct buf *b)
{
	return b->len > 16 ? b->ptr + b->len - 16 : buf_str(b);
}

/* adkim_dns - compare what DNS publishes for k with the key. */
static void
adkim_dns(struct dns_resolver *res, EVP_PKEY *key, struct adkim_key *k)
{
	struct dns_answer ans;
	struct buf mine, theirs;
	char	 name[DKIM_DOMAIN_MAX + 80];
	size_t	 i;
	int	 seen = 0;

	snprintf(name, sizeof(name), "%s._domainkey.%s", k->selector,
	    k->domain);
	buf_init(&mine, 8192);
	buf_init(&theirs, 8192);
	(void)dkim_pubkey_b64(key, &mine);
	snprintf(k->dns, sizeof(k->dns), "missing");
	snprintf(k->detail, sizeof(k->detail), "no TXT record at %s", name);
	if (dns_query(res, name, ns_t_txt, &ans) != 0 ||
	    ans.status == DNS_TEMPFAIL) {
		snprintf(k->dns, sizeof(k->dns), "error");
		snprintf(k->detail, sizeof(k->detail), "%s: %s", name,
		    ans.why[0] ? ans.why : err_str());
	}
	for (i = 0; ans.status == DNS_OK && i < ans.n; i++) {
		buf_reset(&theirs);
		if (adkim_tag_p(ans.txt[i], &theirs) < 0)
			continue;
		seen = 1;
		if (theirs.len == mine.len && theirs.len > 0 &&
		    memcmp(theirs.ptr, mine.ptr, mine.len) == 0) {
			snprintf(k->dns, sizeof(k->dns), "match");
			snprintf(k->detail, sizeof(k->detail), "%s", name);
			break;
		}
		snprintf(k->dns, sizeof(k->dns), theirs.len ? "mismatch" :
		    "revoked");
		snprintf(k->detail, sizeof(k->detail), "%s publishes p=...%s, "
		    "the key is p=...%s", name, adkim_tail(&theirs),
		    adkim_tail(&mine));
	}
	if (ans.status == DNS_OK && !seen)
		snprintf(k->detail, sizeof(k->detail), "%s has TXT records "
		    "but none with p=", name);
	dns_answer_free(&ans);
	buf_free(&mine);
	buf_free(&theirs);
}

/* adkim_parse_name - "DOMAIN.SELECTOR.key" into k; -1 if it is not one. */
static int
adkim_parse_name(const char *name, struct adkim_key *k)
{
	size_t	 n = strlen(name);
	const char *dot;

	if (n < 5 || strcmp(name + n - 4, ".key") != 0 || n - 4 >= 320)
		return -1;
	memset(k, 0, sizeof(*k));
	for (dot = name + n - 5; dot > name && *dot != '.'; dot--)
		;
	if (dot == name || (size_t)(name + n - 4 - dot - 1) >=
	    sizeof(k->selector) || (size_t)(dot - name) >= sizeof(k->domain))
		return -1;
	memcpy(k->domain, name, (size_t)(dot - name));
	memcpy(k->selector, dot + 1, (size_t)(name + n - 4 - dot - 1));
	return 0;
}

/* adkim_cmp - order keys by domain, then selector. */
static int
adkim_cmp(const void *a, const void *b)
{
	const struct adkim_key *x = a, *y = b;
	int	 d = strcmp(x->domain, y->domain);

	return d ? d : strcmp(x->selector, y->selector);
}

/* adkim_scan - every key file in the key directory, checked. */
static int
adkim_scan(const struct conf *c, struct adkim_key **kp, size_t *np)
{
	struct dns_resolver *res = NULL;
	struct adkim_key *v = NULL, *nv;
	struct dirent *de;
	char	 path[PATH_MAX];
	EVP_PKEY *key;
	size_t	 n = 0;
	DIR	*d;
	int	 rc;

	if ((d = opendir(c->dkim_keys)) == NULL) {
		*kp = NULL;
		*np = 0;
		return errno == ENOENT ? 0 : err_set(EX_NOPERM, "cannot read "
		    "%s: %s", c->dkim_keys, strerror(errno));
	}
	if ((rc = dns_resolver_open(&res, c)) != 0) {
		closedir(d);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL)
			break;
		v = nv;
		if (adkim_parse_name(de->d_name, &v[n]) < 0)
			continue;
		if (dkim_key_path(c, v[n].domain, v[n].selector, path,
		    sizeof(path)) != 0 || dkim_key_read(path, &key) != 0) {
			snprintf(v[n].dns, sizeof(v[n].dns), "unusable");
			snprintf(v[n].detail, sizeof(v[n].detail), "%s",
			    err_str());
		} else {
			v[n].bits = dkim_key_bits(key);
			snprintf(v[n].type, sizeof(v[n].type), "%s",
			    dkim_key_type(key));
			adkim_dns(res, key, &v[n]);
			EVP_PKEY_free(key);
		}
		n++;
	}
	closedir(d);
	dns_resolver_close(res);
	if (n > 1)
		qsort(v, n, sizeof(*v), adkim_cmp);
	*kp = v;
	*np = n;
	return 0;
}

/* adkim_active - 1 if selector signs: [dkim] selector, or its
 * -ed25519 companion. */
static int
adkim_active(const struct conf *c, const char *sel)
{
	size_t	 n = strlen(c->dkim_selector);

	return strncmp(sel, c->dkim_selector, n) == 0 && (sel[n] == '\0' ||
	    strcmp(sel + n, DKIM_ED_SUFFIX) == 0);
}

/* adkim_list - dkim list [--json]. */
static int
adkim_list(const struct conf *c, int json, FILE *out)
{
	struct adkim_key *v;
	struct buf b;
	size_t	 n, i;
	int	 rc;

	if ((rc = adkim_scan(c, &v, &n)) != 0)
		return rc;
	buf_init(&b, 1 << 24);
	if (!json && n == 0)
		fprintf(out, "no keys in %s (sitemail dkim keygen DOMAIN)\n",
		    c->dkim_keys);
	else if (!json)
		fprintf(out, "%-30s %-16s %-7s %5s %-6s %-8s %s\n", "DOMAIN",
		    "SELECTOR", "TYPE", "BITS", "ACTIVE", "DNS", "DETAIL");
	for (i = 0; i < n; i++) {
		int	 active = adkim_active(c, v[i].selector);

		if (!json) {
			fprintf(out, "%-30s %-16s %-7s %5d %-6s %-8s %s\n",
			    v[i].domain, v[i].selector, v[i].type[0] ?
			    v[i].type : "-", v[i].bits, active ? "yes" : "no",
			    v[i].dns, v[i].detail);
			continue;
		}
		(void)buf_addstr(&b, i ? ",\n  {\"domain\": " : "[\n  "
		    "{\"domain\": ");
		(void)admin_put_json(&b, v[i].domain);
		(void)buf_addstr(&b, ", \"selector\": ");
		(void)admin_put_json(&b, v[i].selector);
		(void)buf_addstr(&b, ", \"type\": ");
		(void)admin_put_json(&b, v[i].type);
		(void)buf_printf(&b, ", \"bits\": %d, \"active\": %s, "
		    "\"dns\": ", v[i].bits, active ? "true" : "false");
		(void)admin_put_json(&b, v[i].dns);
		(void)buf_addstr(&b, ", \"detail\": ");
		(void)admin_put_json(&b, v[i].detail);
		(void)buf_addch(&b, '}');
	}
	if (json)
		fprintf(out, "%s\n", n ? buf_str(&b) : "[");
	if (json)
		fprintf(out, "]\n");
	buf_free(&b);
	free(v);
	return 0;
}

/* adkim_check_site - report on one site for From domain d; 1 if signed. */
static int
adkim_check_site(const struct conf *c, const char *site, const char *d,
    FILE *out)
{
	struct dkim_choice ch;
	EVP_PKEY *key;

	dkim_choose(c, site, d, "", &ch);
	if (!ch.sign) {
		fprintf(out, "site %s: not signed: %s\n", site, ch.why);
		return 0;
	}
	if (dkim_key_read(ch.path, &key) != 0) {
		fprintf(out, "site %s: not signed: the key cannot be used: "
		    "%s\n", site, err_str());
		return 0;
	}
	fprintf(out, "site %s: signed with d=%s s=%s (%s, %d bits)%s%s\n",
	    site, ch.domain, ch.selector, ch.path, dkim_key_bits(key),
	    ch.ed_path[0] ? ", and ed25519-sha256 with s=" : "",
	    ch.ed_selector);
	EVP_PKEY_free(key);
	return 1;
}

/* adkim_site_covers - 1 if d or a parent of d is one of s's domains. */
static int
adkim_site_covers(const struct conf_site *s, const char *d)
{
	const char *p;
	size_t	 i;

	for (p = d; p != NULL; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL)
		for (i = 0; i < s->domains.n; i++)
			if (strcasecmp(s->domains.v[i], p) == 0)
				return 1;
	return 0;
}

/* adkim_check - dkim check DOMAIN [--site S]. */
static int
adkim_check(const struct conf *c, char **argv, size_t argc, FILE *out)
{
	char	 d[DKIM_DOMAIN_MAX + 1];
	const char *site = NULL, *dom = NULL;
	size_t	 i, nsites = 0;
	int	 signed_any = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--site") == 0 && i + 1 < argc)
			site = argv[++i];
		else if (argv[i][0] != '-' && dom == NULL)
			dom = argv[i];
		else
			return err_set(EX_USAGE, "usage: sitemail dkim check "
			    "DOMAIN [--site S]");
	}
	if (dom == NULL || !adkim_name_ok(dom, DKIM_DOMAIN_MAX, 1))
		return err_set(EX_USAGE, "dkim check: want a domain name");
	snprintf(d, sizeof(d), "%s", dom);
	adkim_lower(d);
	if (site != NULL) {
		nsites = 1;
		signed_any = adkim_check_site(c, site, d, out);
	}
	for (i = 0; site == NULL && i < c->nsites; i++) {
		if (!adkim_site_covers(&c->sites[i], d))
			continue;
		nsites++;
		signed_any |= adkim_check_site(c, c->sites[i].name, d, out);
	}
	if (nsites == 0)
		fprintf(out, "no site lists %s (or a parent domain) in its "
		    "domains: mail From %s is never signed\n", d, d);
	if (!signed_any)
		return err_set(EX_UNAVAILABLE, "mail From %s would not be "
		    "signed", d);
	return 0;
}

/* adkim_check_mode - warn unless path is owned by uid with no group or
 * other access; 1 if it warned. */
static int
adkim_check_mode(const char *path, const struct stat *st, uid_t uid,
    const char *user)
{
	if (st->st_uid == uid && (st->st_mode & 077) == 0)
		return 0;
	msg_warnx("warning: %s: want owner %s and mode 0%o (now uid %u, mode "
	    "0%o): DKIM keys must be readable by the runner user only", path,
	    user, S_ISDIR(st->st_mode) ? 0700 : 0600, (unsigned)st->st_uid,
	    (unsigned)(st->st_mode & 07777));
	return 1;
}

/* admin_dkim_check_config - warn about the key directory and key files
 * (owner, mode, usable); the number of warnings. */
int
admin_dkim_check_config(const struct conf *c)
{
	struct adkim_key k;
	struct dirent *de;
	struct stat st;
	char	 path[PATH_MAX];
	EVP_PKEY *key;
	uid_t	 uid = 0;
	gid_t	 gid = 0;
	int	 n = 0;
	DIR	*d;

	if (lstat(c->dkim_keys, &st) < 0)
		return 0;		/* no DKIM keys: nothing to check */
	if (adkim_runner(c, &uid, &gid) != 0) {
		msg_warnx("warning: %s", err_str());
		return 1;
	}
	n += adkim_check_mode(c->dkim_keys, &st, uid, c->user);
	if ((d = opendir(c->dkim_keys)) == NULL)
		return n;
	while ((de = readdir(d)) != NULL) {
		if (adkim_parse_name(de->d_name, &k) < 0 ||
		    dkim_key_path(c, k.domain, k.selector, path,
		    sizeof(path)) != 0 || lstat(path, &st) < 0)
			continue;
		if (adkim_check_mode(path, &st, uid, c->user))
			n++;
		else if (dkim_key_read(path, &key) != 0) {
			msg_warnx("warning: %s", err_str());
			n++;
		} else
			EVP_PKEY_free(key);
	}
	closedir(d);
	return n;
}

/* admin_dkim - dispatch "sitemail dkim VERB ARGS". */
int
admin_dkim(const struct conf *c, char **argv, size_t argc, FILE *out)
{
	if (argc >= 1 && strcmp(argv[0], "keygen") == 0)
		return adkim_keygen(c, argv + 1, argc - 1, out);
	if (argc >= 1 && strcmp(argv[0], "list") == 0) {
		if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
			return err_set(EX_USAGE, "usage: sitemail dkim list "
			    "[--json]");
		return adkim_list(c, argc == 2, out);
	}
	if (argc >= 1 && strcmp(argv[0], "check") == 0)
		return adkim_check(c, argv + 1, argc - 1, out);
	return err_set(EX_USAGE, "usage: sitemail dkim keygen DOMAIN "
	    "[--selector S] [--bits N] [--type rsa|ed25519] | list [--json] | "
	    "check DOMAIN [--site S]");
}
