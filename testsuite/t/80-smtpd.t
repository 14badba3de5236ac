#!/bin/bash
# 80-smtpd.t - the loopback SMTP listener (sitemail-smtpd) and the egress
# lock (sitemail firewall), all inside a private network namespace
# (unshare -n: lo up, 192.0.2.10 on lo as the "outside MX", the ruleset
# that "sitemail firewall --apply" loads there; the host's own ruleset is
# never touched).  Real users, the real runner, a real smarthost and real
# clients (smtplib, PHPMailer, Symfony Mailer, swaks):
#  1. a site user's raw SMTP to 192.0.2.10:25 (and [2001:db8::10]:25) is
#     redirected, identified, charged to its site, relayed, and logged with
#     the original destination;
#  2. PHPMailer (AUTH + STARTTLS), Symfony Mailer and swaks on localhost:25;
#     the AUTH login is logged quoted, so a login cannot forge log fields;
#  3. HELO, MAIL FROM and AUTH never change the site; root and the runner
#     user are not redirected (IPv4 and IPv6);
#  4. 451 4.7.1 for a frozen site, 550 5.7.1 for a foreign From under
#     reject, 501/553 for an injected address, 553 for an address the
#     mailbox parser rejects; the bucket counts listener and sendmail mail
#     together exactly;
#  5. 20 idle sessions of one site: the 11th and later get 421, another
#     site still delivers at once; the idle ones time out with 421 4.4.2;
#  6. block_ports refuses 192.0.2.10:465 (and [2001:db8::10]:465),
#     block_ports = allow lets it pass;
#  7. under socket activation (LISTEN_FDS), started as root, the listener
#     drops to the runner user, takes mail for the right site, and warns
#     once about a configured address no passed socket serves;
#  8. listener mail is scheduled under its own site from its first pickup:
#     one site's messages parked on DNS that never answers do not hold
#     another site's listener mail;
#  9. a changed site file is served with its new settings without a
#     restart (inotify), and SIGHUP reloads too;
# 10. spool_quota counts the listener's messages (files of the runner user)
#     for the site of their verdict;
# 11. a site whose sites.d file breaks keeps its name and its last good
#     settings (from_policy) through the listener, exactly as through
#     sendmail.
if [ -z "${SM_IN_NETNS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }
	for c in unshare nft ip; do
		command -v $c >/dev/null || { echo "1..0 # SKIP $c missing"; exit 0; }
	done
	SM_IN_NETNS=1 exec unshare -n -- /bin/bash "$0" "$@"
fi
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

ip link set lo up || bail "lo up"
ip addr add 192.0.2.10/32 dev lo || bail "192.0.2.10 on lo"
HAVE6=1
ip -6 addr add 2001:db8::10/128 dev lo nodad 2>/dev/null || HAVE6=
rn_init
# Domains under tarpit.test go to a server that never answers (test 8).
dns_blackhole bh || bail "black hole did not start"
dns_stop dns
printf 'server=/tarpit.test/127.0.0.1#%s\n' "$bh_PORT" >>"$T/dns/zone.conf"
dns_start dns "$T/dns/zone.conf" || bail "dnsmasq did not restart"
SMTPC="$SM_SRC/testsuite/lib/smtpc.py"
SMTPD_PID=
NEW_USERS=(smx-carol smx-dave)
# cleanup - the listener, the servers, and the users this test made.
cleanup() {
	local u
	[ -n "$SMTPD_PID" ] && kill "$SMTPD_PID" 2>/dev/null && wait "$SMTPD_PID" 2>/dev/null
	rn_cleanup
	for u in "${NEW_USERS[@]}"; do userdel -r "$u" 2>/dev/null; done
}
trap cleanup EXIT
for u in "${NEW_USERS[@]}"; do sm_user "$u"; done
A_UID=$(uid_of smr-alice); B_UID=$(uid_of smr-bob)
sm_reset
sh_start sh --plain
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_PLAIN=1

# conf - the config of this test; stdin adds to [firewall], SMTPD_LISTEN
# replaces [smtpd] listen.
conf() {
	{
		printf '[smtpd]\nlisten = %s\n' "${SMTPD_LISTEN:-127.0.0.1:25, [::1]:25}"
		printf 'timeout = 8s\nmax_connections_per_site = 10\n'
		printf 'tls_cert = %s\ntls_key = %s\n' "$T/certs/server.pem" "$T/certs/server.key"
		printf '[firewall]\n'
		cat
	} | rn_conf
	sm_site carol <<-EOF
	[site carol.test]
	users = smx-carol
	domains = carol.test
	from_policy = reject
	EOF
	sm_site dave <<-EOF
	[site dave.test]
	users = smx-dave
	domains = dave.test
	rate = 1/d
	burst = 1
	backlog = 1
	EOF
}
# smtpd_start - the listener, started as root (binds, then drops).
smtpd_start() {
	local started
	started=$(grep -c 'sitemail-smtpd.*listening' "$SM_LOG")
	"$SBIN/sitemail-smtpd" -C "$ETC" 2>>"$T/smtpd.err" &
	SMTPD_PID=$!
	wait_for 10 eval '[ "$(grep -c "sitemail-smtpd.*listening" "$SM_LOG")" -gt "$started" ]'
}
# as USER ARGS... - smtpc.py as USER.
as() { local u=$1; shift; as_user "$u" $PY "$SMTPC" "$@" 2>&1; }
# logged REGEX - the mail log has a matching line.
logged() { grep -qE -- "$1" "$SM_LOG"; }
# delivered_from ADDR - messages the smarthost got with this sender.
delivered_from() {
	$PY - "$T/sh.spool" "$1" <<-'EOF'
	import glob, json, sys
	print(sum(1 for f in glob.glob(sys.argv[1] + "*/*.json")
	          if json.load(open(f))["mail_from"] == sys.argv[2]))
	EOF
}
from_has() { [ "$(delivered_from "$1")" -ge "$2" ]; }

conf </dev/null
"$SBIN/sitemail" check-config >/dev/null; ok $? "config with [smtpd] and [firewall] is valid"
"$SBIN/sitemail" firewall >"$T/rules.nft"
ok $? "sitemail firewall prints the ruleset"
"$SBIN/sitemail" firewall --apply >/dev/null
ok $? "sitemail firewall --apply loads it"
nft list table inet sitemail | grep -q 'dport 25 redirect to :10025'
ok $? "the loaded table redirects port 25 to 10025"
smtpd_start; ok $? "sitemail-smtpd started and listens"
like "$(ps -o user= -p "$SMTPD_PID")" "^sitemail" "the listener runs as the runner user"
rd_start

# --- 1: raw SMTP to an outside MX is redirected, identified, relayed ---------
out=$(as smr-alice send 192.0.2.10 25 hacked@alice.test victim@shop.test --helo evil.example)
is "$out" "250 ok" "smtplib to 192.0.2.10:25: accepted"
logged "connect: site=alice.test uid=$A_UID peer=192.0.2.10:[0-9]+ origdst=192.0.2.10:25"
ok $? "the connection is logged with site, uid and the original destination"
logged ": site=alice.test uid=$A_UID .*origdst=192.0.2.10:25 from=<hacked@alice.test>"
ok $? "the accepted message's log line names site, uid and origdst"
wait_for 15 from_has "hacked@alice.test" 1; ok $? "relayed through the smarthost"
QID=$(grep -E 'origdst=192.0.2.10:25 from=<hacked@alice.test>' "$SM_LOG" | head -1 | sed -E 's/.*: ([0-9a-f]{20}): site=.*/\1/')
like "$(grep "$QID: to=<victim@shop.test>" "$SM_LOG")" "status=sent" "the runner logs it sent"
if [ -n "$HAVE6" ]; then
	out=$(as smr-bob send 2001:db8::10 25 hacked6@bob.test victim6@shop.test)
	is "$out" "250 ok" "IPv6: smtplib to [2001:db8::10]:25: accepted"
	logged ": site=bob.test uid=$B_UID .*origdst=\[2001:db8::10\]:25 from=<hacked6@bob.test>"
	ok $? "IPv6: redirected, charged to bob.test, original destination logged"
else
	ok 0 "# SKIP no IPv6 in the namespace"; ok 0 "# SKIP no IPv6"
fi

# --- 2: PHPMailer (AUTH, STARTTLS), Symfony Mailer, swaks on localhost -------
cat >"$T/phpmailer.php" <<'PHP'
<?php
require '/usr/share/php/libphp-phpmailer/autoload.php';
$m = new PHPMailer\PHPMailer\PHPMailer(true);
$m->isSMTP();
$m->Host = 'localhost';
$m->Port = 25;
$m->SMTPAuth = true;
$m->Username = 'admin@bob.test';
$m->Password = 'anything';
$m->SMTPSecure = PHPMailer\PHPMailer\PHPMailer::ENCRYPTION_STARTTLS;
$m->SMTPOptions = ['ssl' => ['cafile' => $argv[1]]];
$m->setFrom('phpmailer@alice.test', 'Shop');
$m->addAddress('buyer@shop.test');
$m->Subject = 'order';
$m->Body = "Thanks.\n";
$m->send();
PHP
cat >"$T/symfony.php" <<'PHP'
<?php
require '/usr/share/php/Symfony/Component/Mailer/autoload.php';
use Symfony\Component\Mailer\Transport;
use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mime\Email;
$mailer = new Mailer(Transport::fromDsn('smtp://localhost:25'));
$mailer->send((new Email())->from('symfony@bob.test')->to('client@shop.test')
    ->subject('Symfony')->text("hello\n"));
PHP
chmod 644 "$T"/*.php
as_user smr-alice php -d openssl.cafile="$CA" "$T/phpmailer.php" "$CA" >"$T/php.out" 2>&1
ok $? "PHPMailer isSMTP() with AUTH and STARTTLS: sent"
logged ": site=alice.test uid=$A_UID .*from=<phpmailer@alice.test>"; ok $? "PHPMailer: charged to alice.test"
logged "auth: site=alice.test uid=$A_UID mech=(PLAIN|LOGIN) login=\"admin@bob.test\" \(ignored"; ok $? "PHPMailer: the AUTH login is logged (quoted), not used"
# A login cannot forge fields of the log line: it is quoted, with '"' and
# '\' escaped.  Each login below tries to add "site=evil.test uid=0".
n=0
for login in 'x site=evil.test uid=0' 'x" site=evil.test uid=0 "' 'x\" site=evil.test uid=0 \'; do
	n=$((n + 1))
	out=$(as smr-alice raw 127.0.0.1 25 "EHLO x" "AUTH PLAIN $(printf '\0%s\0pw' "$login" | base64 -w0)" "QUIT")
	like "$out" "^235 " "AUTH with forging login $n: accepted (and ignored)"
done
grep -F 'auth: site=alice.test' "$SM_LOG" | grep 'evil' >"$T/auth.log"
grep -qF "auth: site=alice.test uid=$A_UID mech=PLAIN login=\"x site=evil.test uid=0\" (ignored" "$T/auth.log"
ok $? "forging login 1 is logged in quotes"
grep -qF "login=\"x\\\" site=evil.test uid=0 \\\"\" (ignored" "$T/auth.log"
ok $? "forging login 2: its quotes are escaped"
grep -qF "login=\"x\\\\\\\" site=evil.test uid=0 \\\\\" (ignored" "$T/auth.log"
ok $? "forging login 3: its backslashes and quotes are escaped"
is "$(sed -E 's/ login="([^"\\]|\\.)*" / /' "$T/auth.log" | grep -c 'evil')" 0 \
    "with the quoted login taken out, no auth line has a site=evil.test field"
is "$(grep -c 'uid=0' "$T/auth.log")" 3 "... (three lines had one inside the quotes)"
as_user smr-bob php -d openssl.cafile="$CA" "$T/symfony.php" >"$T/sym.out" 2>&1
ok $? "Symfony Mailer smtp://localhost:25: sent"
logged ": site=bob.test uid=$B_UID .*from=<symfony@bob.test>"; ok $? "Symfony: charged to bob.test"
as_user smr-bob swaks --server 127.0.0.1:25 --from swaks@bob.test --to s@shop.test \
    --header "Subject: swaks" --body "swaks body" >"$T/swaks.out" 2>&1
ok $? "swaks --server 127.0.0.1:25: sent"
logged ": site=bob.test uid=$B_UID .*from=<swaks@bob.test>"; ok $? "swaks: charged to bob.test"
wait_for 15 from_has "swaks@bob.test" 1 && from_has "symfony@bob.test" 1 && from_has "phpmailer@alice.test" 1
ok $? "all three relayed"

# --- 3: identity cannot be faked; root and the runner are not redirected -----
out=$(as smr-bob send 192.0.2.10 25 smr-alice@alice.test x@shop.test --helo alice.test --auth smr-alice:pw --starttls "$CA")
is "$out" "250 ok" "bob claiming alice's HELO, MAIL FROM and AUTH: accepted"
logged ": site=bob.test uid=$B_UID .*origdst=192.0.2.10:25 from=<[^>]*>" ; ok $? "charged to bob.test, whatever it said"
! logged ": site=alice.test .*from=<smr-alice@alice.test>"; ok $? "nothing charged to alice.test"
is "$($PY "$SMTPC" connect 192.0.2.10 25)" "refused" "root's connection to 192.0.2.10:25 is not redirected"
is "$(as sitemail connect 192.0.2.10 25)" "refused" "the runner user's connection is not redirected"
if [ -n "$HAVE6" ]; then
	is "$($PY "$SMTPC" connect 2001:db8::10 25)" "refused" "IPv6: root's connection to [2001:db8::10]:25 is not redirected"
	is "$(as sitemail connect 2001:db8::10 25)" "refused" "IPv6: the runner user's connection is not redirected"
else
	ok 0 "# SKIP no IPv6 in the namespace"; ok 0 "# SKIP no IPv6"
fi

# --- 4: freeze 451 4.7.1, foreign From 550 5.7.1, injected address, bucket ---
out=$(as smx-dave send 127.0.0.1 25 d@dave.test x@shop.test --count 3)
like "$(echo "$out" | sed -n 3p)" "^451 4\.7\.1 .*site dave\.test is frozen" "frozen site: 451 4.7.1 naming the freeze"
is "$(echo "$out" | head -2 | tr '\n' ' ')" "250 ok 250 ok " "frozen site: the two before were accepted"
out=$(as smx-carol send 127.0.0.1 25 c@carol.test x@shop.test --from-header ceo@bank.test)
like "$out" "^550 5\.7\.1 " "foreign From under from_policy=reject: 550 5.7.1"
out=$(as smr-alice raw 127.0.0.1 25 "EHLO x" "MAIL FROM:<a@alice.test>" 'RCPT TO:<a@x\rRCPT TO:<b@y>>' "QUIT")
like "$(echo "$out" | grep -m1 '^5[05][13] ')" "^5(01|53) " "an injected address (bare CR) gets 501 or 553"
out=$(as smr-alice raw 127.0.0.1 25 "EHLO x" "MAIL FROM:<a@alice.test>" 'RCPT TO:<a@b@c>' "QUIT")
like "$(echo "$out" | grep -m1 '^5[0-9][0-9] ')" "^553 5\.1\.3 Bad recipient address" "an address the mailbox parser rejects (<a@b@c>): exactly 553 5.1.3"
out=$(as smr-alice raw 127.0.0.1 25 "EHLO x" "MAIL FROM:<a@alice.test>" 'RCPT TO:<a@x> ORCPT=rfc822;b@y NOTIFY=NEVER' 'RCPT TO:<c@x>, <d@y>' "QUIT")
like "$(echo "$out" | sed -n '/^250 2.1.0/,$p' | sed -n 3p)" "^5[05][0-9] " "a second address after the path is refused"
# The bucket: 20 through sendmail and 20 through the listener, concurrently.
sm_site eve <<-EOF
[site eve.test]
users = smr-alice
domains = alice.test
rate = 1/d
burst = 1000
backlog = 100000
EOF
rm -f "$ETC/sites.d/alice.conf"
# A restart while a session is open: the old worker finishes its session,
# the new listener binds the same addresses at once.
as smr-alice hold 127.0.0.1 25 1 3 >"$T/restart.out" &
hp=$!
wait_for 5 grep -q '^220' "$T/restart.out"
kill "$SMTPD_PID"; wait "$SMTPD_PID" 2>/dev/null; smtpd_start
ok $? "restarted while a session was open"
wait $hp
( for k in $(seq 20); do msg "sm $k" | submit smr-alice "b$k@shop.test" || echo fail; done ) >"$T/b1.out" 2>&1 &
p1=$!
( for w in 1 2 3 4; do as smr-alice send 127.0.0.1 25 b@alice.test l$w@shop.test --count 5 & done; wait ) >"$T/b2.out" 2>&1
wait $p1
is "$(grep -c fail "$T/b1.out")" 0 "bucket: 20 sendmail submissions accepted"
is "$(grep -c '^250 ok' "$T/b2.out")" 20 "bucket: 20 listener messages accepted"
"$SBIN/sitemail" sites --json >"$T/sites.json"
is "$(jq -r 'select(.site == "eve.test") | .tokens | floor' "$T/sites.json")" 960 "bucket: burst 1000 - 40 exactly, both paths counted"

# --- 5: 20 idle sessions from one site; another site is not delayed --------
as smr-alice hold 127.0.0.1 25 20 9 >"$T/hold.out" &
hp=$!
wait_for 10 eval '[ "$(wc -l <"$T/hold.out")" -ge 20 ]'
is "$(grep -c '^220 ' "$T/hold.out")" 10 "10 idle sessions of one site are served"
is "$(grep -c '^421 4.7.0 .*too many connections from site eve.test' "$T/hold.out")" 10 "connections 11 to 20 get a clear 421"
start=$(date +%s%N)
out=$(as smr-bob send 127.0.0.1 25 fast@bob.test f@shop.test)
took=$(( ($(date +%s%N) - start) / 1000000 ))
is "$out" "250 ok" "another site still delivers"
[ "$took" -lt 2000 ]; ok $? "... at once (${took} ms)"
wait $hp
is "$(grep -c '^idle: 421 4.4.2 .*timeout' "$T/hold.out")" 10 "the idle sessions end with 421 4.4.2 after the timeout"

# --- 6: block_ports ----------------------------------------------------------
# An outside submission server on 192.0.2.10:465 (and [2001:db8::10]:465).
$PY -c '
import select, socket, sys
ls = []
for a in sys.argv[2:]:
    s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, 465)); s.listen(16); ls.append(s)
open(sys.argv[1], "w").write("up")
while True:
    for s in select.select(ls, [], [])[0]:
        c, _ = s.accept(); c.sendall(b"220 outside submission\r\n"); c.close()
' "$T/465.up" 192.0.2.10 ${HAVE6:+2001:db8::10} &
RN_PIDS+=($!)
wait_for 5 test -s "$T/465.up"
is "$(as smr-alice connect 192.0.2.10 465)" "refused" "block_ports: a site user's connection to :465 is refused"
like "$($PY "$SMTPC" connect 192.0.2.10 465)" "^connected 220" "block_ports: root may connect"
if [ -n "$HAVE6" ]; then
	is "$(as smr-alice connect 2001:db8::10 465)" "refused" "IPv6: block_ports: a site user's connection to [2001:db8::10]:465 is refused"
	like "$($PY "$SMTPC" connect 2001:db8::10 465)" "^connected 220" "IPv6: block_ports: root may connect"
else
	ok 0 "# SKIP no IPv6 in the namespace"; ok 0 "# SKIP no IPv6"
fi
rm -f "$ETC/sites.d/eve.conf"
printf 'block_ports = allow\n' | conf
"$SBIN/sitemail" firewall --apply >/dev/null; ok $? "re-applied with block_ports = allow"
! nft list table inet sitemail | grep -q reject; ok $? "... the table rejects nothing"
like "$(as smr-alice connect 192.0.2.10 465)" "^connected 220" "block_ports = allow: the site user's connection goes through"
if [ -n "$HAVE6" ]; then
	like "$(as smr-alice connect 2001:db8::10 465)" "^connected 220" "IPv6: block_ports = allow: the site user's connection goes through"
else
	ok 0 "# SKIP no IPv6 in the namespace"
fi
"$SBIN/sitemail" firewall --remove >/dev/null; ok $? "sitemail firewall --remove"
! nft list table inet sitemail >/dev/null 2>&1; ok $? "... the table is gone"

# --- 7: sockets from systemd (LISTEN_FDS), started as root ---------------------
# systemd-socket-activate runs as root: the listener starts as root with
# the socket in LISTEN_FDS, loads the TLS key, and then drops to the runner
# user (the key stays root's).  Its configuration lists the passed socket's
# address, but redirect_port stays 10025, which no passed socket serves:
# one warning at start names those addresses.
if command -v systemd-socket-activate >/dev/null; then
	SA_PORT=$(dns_free_port)
	printf 'block_ports = allow\n' | SMTPD_LISTEN="127.0.0.1:$SA_PORT" conf
	systemd-socket-activate -l "127.0.0.1:$SA_PORT" \
	    "$SBIN/sitemail-smtpd" -C "$ETC" 2>>"$T/smtpd.err" &
	SA_PID=$!
	RN_PIDS+=($SA_PID)
	wait_for 5 grep -q "Listening on 127.0.0.1:$SA_PORT" "$T/smtpd.err"
	out=$(as smr-alice send 127.0.0.1 "$SA_PORT" sa@alice.test sa@shop.test)
	is "$out" "250 ok" "socket activation: a listener started as root with LISTEN_FDS takes mail"
	logged ": site=alice.test uid=$A_UID .*from=<sa@alice.test>"; ok $? "socket activation: charged to alice.test"
	logged "sitemail-smtpd\[$SA_PID\]: listening on 1 socket"; ok $? "socket activation: it is the socket-activated process that serves"
	SM_UID=$(id -u sitemail); SM_GID=$(id -g sitemail)
	is "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$SA_PID/status")" \
	    "$SM_UID $SM_UID $SM_UID $SM_UID" "socket activation: started as root, the listener runs as user sitemail (real, effective, saved uid)"
	is "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$SA_PID/status")" \
	    "$SM_GID $SM_GID $SM_GID $SM_GID" "... and group sitemail"
	bad=0; nw=0
	for p in $(pgrep -P "$SA_PID"); do
		nw=$((nw + 1))
		[ "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$p/status")" = \
		    "$SM_UID $SM_UID $SM_UID $SM_UID" ] || bad=$((bad + 1))
	done
	[ "$nw" -gt 0 ] && [ "$bad" -eq 0 ]; ok $? "... and so do its $nw workers"
	logged "sitemail-smtpd\[$SA_PID\]: .*sockets from systemd: none is bound to 127\.0\.0\.1:10025, \[::1\]:10025 \("
	ok $? "socket activation: a warning names the configured addresses no passed socket serves (redirect_port), not the one it has"
	is "$(grep -c "sitemail-smtpd\[$SA_PID\]: .*sockets from systemd" "$SM_LOG")" 1 "... in one line"
	! logged "sitemail-smtpd\[$SMTPD_PID\]: .*sockets from systemd"; ok $? "... and a listener that bound its own sockets logs none"
	printf 'block_ports = allow\n' | conf
else
	for _ in 1 2 3 4 5 6 7 8 9; do ok 0 "# SKIP systemd-socket-activate missing"; done
fi

# --- 8: listener mail is scheduled under its site from its first pickup ------
# Every listener file is owned by the runner user; its site comes from the
# verdict, not from the file's owner, so smr-alice's 12 messages parked on
# a tarpit domain (a site may park 8) do not hold smr-bob's.
out=$(as smr-alice send 127.0.0.1 25 slow@alice.test u@never.tarpit.test --count 12)
is "$(grep -c '^250' <<<"$out")" 12 "12 listener messages to a domain whose DNS never answers accepted"
wait_for 5 eval '[ "$(grep -c "query\[ignored\]" "$DNS_DIR/bh.log")" -gt 0 ]'
ok $? "... and their lookup is in flight"
start=$(date +%s%N)
out=$(as smr-bob send 127.0.0.1 25 quick@bob.test q@shop.test)
is "$out" "250 ok" "another site's listener message accepted"
wait_for 10 from_has quick@bob.test 1
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$took" -lt 2000 ]; ok $? "... and relayed in ${took} ms (< 2 s), not behind the tarpit"
# --- 9: a changed site is served with its new settings, without a restart --
# carol.test's from_policy is reject: a second domain is foreign until the
# site file lists it.  The listener sees the change (inotify), reloads, and
# replaces its workers.
out=$(as smx-carol send 127.0.0.1 25 c@carol.test x@shop.test --from-header news@carol-shop.test)
like "$out" "^550 5\.7\.1 " "reload: a domain carol.test does not list yet is foreign (550)"
reloads=$(grep -c "sitemail-smtpd\[$SMTPD_PID\]: configuration reloaded" "$SM_LOG")
sm_site carol <<-EOF
[site carol.test]
users = smx-carol
domains = carol.test, carol-shop.test
from_policy = reject
rate = 1/d
burst = 1
backlog = 1000
spool_quota = 30K
EOF
wait_for 10 eval '[ "$(grep -c "sitemail-smtpd\[$SMTPD_PID\]: configuration reloaded" "$SM_LOG")" -gt "$reloads" ]'
ok $? "reload: the listener loaded the changed site file by itself"
start=$(date +%s%N)
for _ in $(seq 50); do
	out=$(as smx-carol send 127.0.0.1 25 c@carol.test x@shop.test --from-header news@carol-shop.test)
	[ "$out" = "250 ok" ] && break
	sleep 0.2
done
took=$(( ($(date +%s%N) - start) / 1000000 ))
is "$out" "250 ok" "reload: ... and serves the new domain without a restart"
[ "$took" -lt 3000 ]; ok $? "... within ${took} ms of the reload (< 3 s)"
reloads=$(grep -c "sitemail-smtpd\[$SMTPD_PID\]: configuration reloaded" "$SM_LOG")
kill -HUP "$SMTPD_PID"
wait_for 10 eval '[ "$(grep -c "sitemail-smtpd\[$SMTPD_PID\]: configuration reloaded" "$SM_LOG")" -gt "$reloads" ]'
ok $? "reload: SIGHUP reloads too"
kill -0 "$SMTPD_PID"; ok $? "... and the listener keeps running"

# --- 10: spool_quota counts the listener's messages -------------------------
# The listener's files belong to the runner user; the usage walk counts them
# for the site of their verdict.  carol.test may hold 30 KB; past its burst
# of 1 its mail is held, so it stays in the spool.
out=$(as smx-carol send 127.0.0.1 25 c@carol.test q@shop.test --count 5 --pad 10000)
is "$(grep -c '^250' <<<"$out")" 5 "quota: five 10 KB listener messages accepted (no snapshot counts them yet)"
rd_stop; rd_once	# the snapshot now (the daemon writes it every 15 s)
like "$(grep '^carol.test ' "$SPOOL/state/usage")" '^carol\.test [3-9][0-9]{4}$' \
    "quota: the usage snapshot counts carol.test's held listener mail"
out=$(as smx-carol send 127.0.0.1 25 c@carol.test q6@shop.test --pad 10000)
like "$out" '^451 4\.3\.0 .*carol\.test holds [0-9]+ bytes' "quota: the next listener message gets 451 naming the quota"
logged 'refused: site=carol.test: spool usage'; ok $? "quota: one log line names the site"

# --- 11: a broken site file: the site keeps its name and settings -----------
# The listener's own configuration leaves a broken sites.d file out; each
# client's site is still found as sendmail finds it (the site index, with
# the file's last good copy), so bob.test's mail keeps its site name and
# its from_policy through both.
sm_site bob <<-EOF
[site bob.test]
users = smr-bob
domains = bob.test
from_policy = reject
EOF
"$SBIN/sitemail" -C "$ETC" reload >/dev/null 2>&1
ok $? "broken file: the site index has bob.test with from_policy = reject"
printf 'this is not ini\n' >>"$ETC/sites.d/bob.conf"
wait_for 10 logged "sitemail-smtpd\[$SMTPD_PID\]: (error: )?configuration file left out.*sites\.d/bob\.conf:5"
ok $? "broken file: the listener reloads by itself and logs bob.conf left out"
like "$(grep "sitemail-smtpd\[$SMTPD_PID\]: " "$SM_LOG" | grep -B1 'left out.*bob\.conf:5' | head -1)" \
    "sitemail-smtpd\[$SMTPD_PID\]: configuration reloaded" "... right after its configuration reloaded"
out=$(as smr-bob send 127.0.0.1 25 brk-smtp@bob.test brk@shop.test)
is "$out" "250 ok" "broken file: bob.test's own address is accepted through the listener"
msg brk | submit smr-bob -f brk-sm@bob.test brk@shop.test
ok $? "... and through sendmail"
# site_of ADDR - the site= of the last message logged with this sender.
site_of() { grep -E ": site=.* from=<$1>" "$SM_LOG" | tail -1 | sed -E 's/.*: site=([^ ]*) .*/\1/'; }
is "$(site_of brk-smtp@bob.test)" "bob.test" "broken file: the listener's message is logged for site bob.test"
is "$(site_of brk-smtp@bob.test)" "$(site_of brk-sm@bob.test)" "... the site sendmail names for the same user"
like "$(grep -E "sitemail-smtpd\[[0-9]+\]: connect: site=[^ ]+ uid=$B_UID " "$SM_LOG" | tail -1)" \
    "connect: site=bob\.test " "... and on the connect line"
out=$(as smr-bob send 127.0.0.1 25 brk-smtp@bob.test x@shop.test --from-header ceo@bank.test)
like "$out" "^550 5\.7\.1 " "broken file: bob.test's from_policy = reject still applies through the listener (550)"
printf 'From: ceo@bank.test\nSubject: x\n\nx\n' | submit smr-bob x@shop.test 2>/dev/null
is "$?" 77 "... as through sendmail (77)"

! grep -q 'Sanitizer\|runtime error' "$T/smtpd.err"; ok $? "no sanitizer report from the listener"
done_testing
