#!/bin/bash
# 16-config.t - configuration isolation and identity, through the installed
# programs, the real smarthost and real users:
#   - a broken sites.d file of site A (a syntax error; then a file the
#     set-gid group cannot read): site B's PHP mail() still returns true
#     and its mail is delivered; A keeps its last good settings (its
#     domains, so from_policy keeps its sender); check-config names A's
#     file and line (issue 9, test 5);
#   - sitemail.conf broken after a good index: sendmail still commits with
#     the last good configuration; sitemail and sitemaild exit 78 naming
#     the line;
#   - check-config fails, naming the file and line or the path, for a bad
#     DNS server, a password file the runner cannot read, a missing CA
#     file, a users= name that does not exist, a log the set-gid group
#     cannot write and a missing spool layout (issue 15, test 2);
#   - the site index: built by "sitemail reload" (root) and by sitemaild,
#     rebuilt by the daemon when sites.d changes, never by intake;
#   - identity: root is the site "root"; www-data and daemon are sites of
#     their own, so freezing www-data never holds root's mail.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

rn_init
sm_reset
command -v php >/dev/null || skip_all "php-cli missing"
sh_start sh --certdir "$T/certs" --users "alice:secret" --control "$T/sh.ctl"
rn_secret "$T/pw" secret
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_USER=alice SH_PWFILE=$T/pw
rn_conf </dev/null
IDX=$SPOOL/state/sites.idx
ALICE=$ETC/sites.d/alice.conf

# env_of QID FIELD - a field of a queued message's envelope.
env_of() { "$SBIN/sitemail" show "$1" | awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }'; }
# newest - the newest queued message.
newest() { ls -1t "$SPOOL/queue" | head -1; }
# php_mail USER TO - PHP mail() as USER; prints PHP's return value.
cat >"$T/mail.php" <<'PHP'
<?php
echo mail($argv[1], "config test", "hello\n", "From: web@" . $argv[2]) ? "true" : "false";
PHP
chmod 644 "$T/mail.php"
php_mail() { as_user "$1" php -d "sendmail_path=$SENDMAIL -t -i" "$T/mail.php" "$2" "$3" 2>"$T/php.err"; }

# --- the index: built by sitemail reload as root ----------------------------
"$SBIN/sitemail" -C "$ETC" reload >"$T/out" 2>&1
ok $? "sitemail reload (root) builds the index"
like "$(cat "$T/out")" "rebuilt: 2 sites" "reload reports the sites"
is "$(stat -c '%U:%G %a' "$IDX")" "sitemail:sitemail 640" "index owned by the runner, mode 0640"
before=$(stat -c %Y.%i "$IDX")
msg 1 | submit smr-bob x@shop.test
is "$(stat -c %Y.%i "$IDX")" "$before" "intake never writes the index"

# --- 1: a syntax error in site A's file -------------------------------------
cp "$ALICE" "$T/alice.good"
printf 'this is not ini\n' >>"$ALICE"
is "$(php_mail smr-bob b1@shop.test bob.test)" "true" "A broken: B's PHP mail() returns true"
QB=$(newest)
is "$(env_of "$QB" site)" "bob.test" "B's message is B's"
msg 2 | submit smr-alice -f news@alice.test a1@shop.test
ok $? "A broken: A's own sendmail still commits"
QA=$(newest)
is "$(env_of "$QA" site)" "alice.test" "A keeps its identity (last good file from the index)"
is "$(env_of "$QA" sender)" "<news@alice.test>" "A keeps its last good domains: from_policy keeps its sender"
# A site user's listing comes from sitemaild (the smarthost defers for
# now, so the message is still queued when it is listed).
sh_ctl sh '{"rcpt": {"*": [451, "4.3.0 not yet"]}}'
rd_start
wait_for 10 test -S "$SPOOL/state/sitemaild.sock"
wait_for 10 grep -q "$QA.*status=deferred" "$SM_LOG"
like "$(as_user smr-alice "$SBIN/sitemail" list 2>&1)" "$QA" "A's own sitemail list still sees A's site"
rd_stop
sh_ctl sh '{}'
sleep 1
"$SBIN/sitemail" -C "$ETC" check-config >"$T/cc" 2>&1
is "$?" 78 "check-config fails (78)"
like "$(cat "$T/cc")" "sites.d/alice.conf:4: syntax error" "check-config names A's file and line"
# Deferred above: due now (root's -q), whatever the backoff under load.
"$SENDMAIL" -C "$ETC" -q
rd_once
wait_for 10 rcpt_has sh b1@shop.test 1
ok $? "B's PHP mail is delivered to the smarthost"
is "$(sh_rcpt_count sh a1@shop.test)" 1 "A's mail is delivered too"
like "$(grep 'left out' "$SM_LOG" | tail -1)" "sites.d/alice.conf:4" "the runner logs the file it left out"

# --- 2: A's file unreadable by the set-gid group ----------------------------
cp "$T/alice.good" "$ALICE"
"$SBIN/sitemail" -C "$ETC" reload >/dev/null 2>&1
ok $? "fixed file: reload is clean again"
chown root:root "$ALICE"; chmod 600 "$ALICE"
is "$(php_mail smr-bob b2@shop.test bob.test)" "true" "A unreadable: B's PHP mail() returns true"
msg 3 | submit smr-alice -f news@alice.test a2@shop.test
ok $? "A unreadable: A still commits"
QA=$(newest)
is "$(env_of "$QA" site)" "alice.test" "A keeps its site (last good text)"
is "$(env_of "$QA" sender)" "<news@alice.test>" "and its domains"
"$SBIN/sitemail" -C "$ETC" check-config >"$T/cc" 2>&1
is "$?" 78 "check-config fails"
like "$(cat "$T/cc")" "sites.d/alice.conf: configuration file .*sites.d/alice.conf: not readable by the set-gid group" "check-config names A's file"
rd_once
wait_for 10 rcpt_has sh b2@shop.test 1
ok $? "B's mail is delivered"
chmod 644 "$ALICE"

# --- 3: sitemail.conf broken after a good index -----------------------------
"$SBIN/sitemail" -C "$ETC" reload >/dev/null 2>&1
cp "$ETC/sitemail.conf" "$T/main.good"
printf '[main]\nmax_recipients = lots\n' >>"$ETC/sitemail.conf"
line=$(grep -n 'max_recipients = lots' "$ETC/sitemail.conf" | cut -d: -f1)
msg 4 | submit smr-bob b3@shop.test
ok $? "sitemail.conf broken: sendmail still commits (exit 0)"
QB=$(newest)
"$SBIN/sitemail" -C "$ETC" list >"$T/out" 2>&1
is "$?" 78 "sitemail exits 78"
like "$(cat "$T/out")" "sitemail.conf:$line: bad value" "naming the line"
as_user smr-bob "$SBIN/sitemail" list >"$T/out" 2>&1
is "$?" 78 "sitemail run by a site user exits 78 too"
like "$(cat "$T/out")" "sitemail.conf:$line: bad value" "naming the line"
"$SITEMAILD" -C "$ETC" --once >"$T/out" 2>&1
is "$?" 78 "sitemaild exits 78"
like "$(cat "$T/out")" "sitemail.conf:$line: bad value" "naming the line"
cp "$T/main.good" "$ETC/sitemail.conf"
is "$(env_of "$QB" site)" "bob.test" "committed as B with the last good configuration"
rd_once
wait_for 10 rcpt_has sh b3@shop.test 1
ok $? "fixed: the message committed meanwhile is delivered"

# --- 4: the daemon rebuilds the index when sites.d changes ------------------
starts=$(log_count 'sitemaild\[[0-9]+\]: starting: ')
rd_start
started() { [ "$(log_count 'sitemaild\[[0-9]+\]: starting: ')" -gt "$starts" ]; }
wait_for 10 started
ok $? "sitemaild started"
! grep -aq carol.test "$IDX"
ok $? "the index has no site carol.test yet"
sm_site carol <<'EOF'
[site carol.test]
users = smr-carol-none-1234
EOF
# (not by inode: a rebuild may get the number of the file it replaced)
rebuilt() { grep -aq carol.test "$IDX"; }
wait_for 20 rebuilt
ok $? "sitemaild rebuilt the index after a sites.d change"
rebuilt || tail -8 "$SM_LOG" | sed 's/^/# /'
rd_stop
rm -f "$ETC/sites.d/carol.conf"

# --- 5: check-config tells the truth (issue 15, test 2) ---------------------
# cc_fails NAME REGEX - check-config exits 78 and prints REGEX.
cc_fails() {
	"$SBIN/sitemail" -C "$ETC" check-config >"$T/cc" 2>&1
	is "$?" 78 "$1: check-config fails"
	like "$(cat "$T/cc")" "$2" "$1: named"
}
chown sitemail:sitemail "$SM_LOG"; chmod 660 "$SM_LOG"
"$SBIN/sitemail" -C "$ETC" check-config >"$T/cc" 2>&1
ok $? "a working configuration: check-config OK"
grep -v 'OK' "$T/cc" | sed 's/^/# /'
good=$(cat "$ETC/sitemail.conf")
sed -i "s/^servers = .*/servers = 127.0.0.1:99999/" "$ETC/sitemail.conf"
line=$(grep -n '^servers' "$ETC/sitemail.conf" | cut -d: -f1)
cc_fails "DNS port 99999" "sitemail.conf:$line: bad DNS server port"
printf '%s\n' "$good" >"$ETC/sitemail.conf"

chown root:root "$T/pw"; chmod 600 "$T/pw"
line=$(grep -n '^password_file' "$ETC/sitemail.conf" | cut -d: -f1)
cc_fails "password file" "sitemail.conf:$line: password_file $T/pw: not readable by the runner user"
rn_secret "$T/pw" secret

sed -i "s|^ca_file = .*|ca_file = $T/no-such-ca.pem|" "$ETC/sitemail.conf"
line=$(grep -n '^ca_file' "$ETC/sitemail.conf" | cut -d: -f1)
cc_fails "missing CA file" "sitemail.conf:$line: ca_file $T/no-such-ca.pem: No such file"
printf '%s\n' "$good" >"$ETC/sitemail.conf"

printf '[site ghost.test]\ndomains = ghost.test\nusers = smk-no-such-user\n' >"$ETC/sites.d/ghost.conf"
cc_fails "unknown users= name" "sites.d/ghost.conf:3: \[site ghost.test\] users: no such user \"smk-no-such-user\""
rm -f "$ETC/sites.d/ghost.conf"

chown root:root "$SM_LOG"; chmod 644 "$SM_LOG"
line=$(grep -n '^log' "$ETC/sitemail.conf" | cut -d: -f1)
cc_fails "log not writable" "sitemail.conf:$line: log $SM_LOG: not writable by the set-gid group"
chown sitemail:sitemail "$SM_LOG"; chmod 660 "$SM_LOG"

# The listener's STARTTLS files and the firewall's exempt users.
printf '[smtpd]\ntls_cert = %s\n' "$T/cert.pem" >>"$ETC/sitemail.conf"
cc_fails "tls_cert without tls_key" "sitemail.conf \[smtpd\]: tls_cert and tls_key go together"
: >"$T/cert.pem"; chmod 644 "$T/cert.pem"
printf 'tls_key = %s\n' "$T/no-such-key.pem" >>"$ETC/sitemail.conf"
cc_fails "missing tls_key" "sitemail.conf \[smtpd\]: tls_key $T/no-such-key.pem: No such file"
printf '%s\n' "$good" >"$ETC/sitemail.conf"
printf '[firewall]\nexempt_users = smk-no-such-user\n' >>"$ETC/sitemail.conf"
cc_fails "unknown exempt user" "sitemail.conf \[firewall\]: exempt_users: no user \"smk-no-such-user\""
printf '%s\n' "$good" >"$ETC/sitemail.conf"

rm -rf "$SPOOL/quarantine"
cc_fails "missing spool layout" "$SPOOL/quarantine: spool directory missing"
install -d -m 0770 -o sitemail -g sitemail "$SPOOL/quarantine"
"$SBIN/sitemail" -C "$ETC" check-config >/dev/null 2>&1
ok $? "all fixed: check-config OK again"

# --- 6: identity: root, www-data and daemon are sites of their own -----------
msg 5 | "$SENDMAIL" -i root-cron@shop.test
is "$(env_of "$(newest)" site)" "root" "root is the site root"
if getent passwd www-data >/dev/null; then
	msg 6 | submit www-data www1@shop.test
	is "$(env_of "$(newest)" site)" "www-data" "www-data is a site of its own"
	msg 7 | submit daemon d1@shop.test
	is "$(env_of "$(newest)" site)" "daemon" "daemon is a site of its own"
	"$SBIN/sitemail" -C "$ETC" freeze www-data >/dev/null 2>&1
	ok $? "freeze www-data"
	msg 8 | submit www-data www2@shop.test
	msg 9 | "$SENDMAIL" -i root-cron2@shop.test
	rd_once
	wait_for 10 rcpt_has sh root-cron2@shop.test 1
	ok $? "root's mail is delivered while www-data is frozen"
	is "$(sh_rcpt_count sh www2@shop.test)" 0 "www-data's mail is held"
	"$SBIN/sitemail" -C "$ETC" thaw www-data >/dev/null 2>&1
fi
ok "$(sanitizer_clean; echo $?)" "no sanitizer report from the runner"
done_testing
