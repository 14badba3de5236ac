#!/bin/bash
# 33-wire.t - issue 10 end to end: what real clients submit through the
# installed sendmail reaches a STRICT smarthost (smarthost.py keeps
# aiosmtpd's 1001-byte line limit: "500 Line too long") through sitemaild,
# and is checked on the wire by testsuite/lib/wirecheck.py: CRLF only, no
# line over 998, no blank/</>/control byte in any MAIL or RCPT address,
# and every MIME part decodes to exactly the submitted bytes.  The exact
# client invocations: PHPMailer (45 addBCC, isSendmail), PHP mail() with a
# one-line 45-address Bcc, cronie's argv and header block, Debian cron's
# argv (-B8BITMIME, bare-login recipient), fail2ban's argv, "From: root" as
# root; a 6,000-byte HTML line; Postfix-like argv forms and dedup; the
# envelope-injection and bare-CR cases (refused or neutralised, and
# from_policy sees the one From receivers see).
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"
. "$SM_SRC/testsuite/lib/intake.sh"

rn_init
sm_reset
sh_start sh --certdir "$T/certs"
export SH_URL=smtp://127.0.0.1:$sh_PORT
WC="$PY $SM_SRC/testsuite/lib/wirecheck.py"
H=mx.sitemail.test
rn_conf <<-EOF
[aliases]
root = admin@shop.test
EOF
sm_site alice <<-EOF
[site alice.test]
users = smr-alice
domains = alice.test
owner = owner@shop.test
EOF
rd_start
wait_for 10 grep -q 'sitemaild.*starting' "$SM_LOG" || bail "sitemaild did not start"

# msg_for ADDR - the .eml of the newest message the smarthost got for ADDR.
msg_for() {
	$PY - "$T/sh.spool" "$1" <<-'EOF'
	import glob, json, os, sys
	best = None
	for f in glob.glob(sys.argv[1] + "*/*.json"):
	    d = json.load(open(f))
	    if sys.argv[2] in d["rcpt_tos"] and (best is None or
	            int(os.path.basename(f)[:-5]) > int(os.path.basename(best)[:-5])):
	        best = f
	print(best[:-5] + ".eml" if best else "")
	EOF
}
# last_qid - the queue ID of the last submission (from the intake's log
# line: the running runner may have delivered and removed it already).
last_qid() { grep -oE 'sendmail\[[0-9]+\]: [0-9a-f]+: site=' "$SM_LOG" | tail -1 | sed -E 's/.*: ([0-9a-f]+): site=/\1/'; }
# log_rcpts QID - the recipients the runner logged for QID, in order.
log_rcpts() { grep -oE "$1: to=<[^>]*>" "$SM_LOG" | sed -E 's/.*to=<(.*)>/\1/' | awk '!s[$0]++' | paste -sd' '; }
# arrived ADDR N - the smarthost got at least N messages for ADDR.
arrived() { [ "$(sh_rcpt_count sh "$1")" -ge "$2" ]; }
# jf EML EXPR - a field of the JSON beside EML.
jf() { $PY -c 'import json,sys; d=json.load(open(sys.argv[1][:-4] + ".json")); print(eval(sys.argv[2]))' "$1" "$2"; }
# deliver NAME ADDR - wait for the next message to ADDR; EML is set.
declare -A SEEN
deliver() {
	local n=$(( ${SEEN[$2]:-0} + 1 ))
	SEEN[$2]=$n
	wait_for 20 arrived "$2" "$n"
	ok $? "$1: delivered to the strict smarthost"
	EML=$(msg_for "$2")
}

# --- PHPMailer, isSendmail, 45 addBCC, a long Subject ------------------------
cat >"$T/phpmailer.php" <<'EOF'
<?php
require '/usr/share/php/libphp-phpmailer/autoload.php';
$m = new PHPMailer\PHPMailer\PHPMailer(true);
$m->isSendmail();
$m->Sendmail = $argv[1];
$m->setFrom('news@alice.test', 'News');
$m->addAddress('to@shop.test');
for ($i = 0; $i < 45; $i++)
	$m->addBCC(sprintf('bcc-recipient-%02d@shop.test', $i));
$m->Subject = trim(str_repeat('A long subject ', 80));
$m->Body = "Hello\nworld\n";
try { $m->send(); echo "sent\n"; } catch (Exception $e) { echo $m->ErrorInfo, "\n"; }
EOF
chmod 644 "$T/phpmailer.php"
if [ -r /usr/share/php/libphp-phpmailer/autoload.php ] && command -v php >/dev/null; then
	out=$(cd "$T" && as_user smr-alice php "$T/phpmailer.php" "$SENDMAIL" 2>&1)
	is "$out" "sent" "PHPMailer with 45 addBCC: send() succeeds (was 'Could not execute')"
	deliver "PHPMailer" to@shop.test
	printf 'Subject: x\n\nHello\nworld\n' >"$T/phpmailer.want"
	is "$($WC check "$EML" "$T/phpmailer.want")" ok "PHPMailer: wire rules, body decodes unchanged"
	is "$(jf "$EML" 'len(d["rcpt_tos"])')" 46 "PHPMailer: 46 RCPTs (To + 45 Bcc)"
	is "$(jf "$EML" 'd["mail_from"]')" news@alice.test "PHPMailer: MAIL FROM from -f"
	is "$($WC header "$EML" Bcc)" - "PHPMailer: no Bcc on the wire"
	is "$($WC header "$EML" Subject)" "$(php -r 'echo trim(str_repeat("A long subject ", 80));')" \
	    "PHPMailer: the 1,200-byte Subject decodes to what was set"
else
	for i in 1 2 3 4 5 6 7; do ok 0 "# SKIP PHPMailer not installed"; done
fi

# --- PHP mail() with a one-line 45-address Bcc ------------------------------
bcc=$(for i in $(seq -w 1 45); do printf 'php-bcc-%s@shop.test, ' "$i"; done)
if command -v php >/dev/null; then
	out=$(cd "$T" && as_user smr-alice php -d "sendmail_path=$SENDMAIL -t -i" -r \
	    'var_export(mail("php-to@shop.test", "php mail", "body line\n", "From: web@alice.test\r\nBcc: " . $argv[1]));' "${bcc%, }" 2>&1)
	is "$out" true "PHP mail() with a 45-address Bcc line returns true"
	deliver "PHP mail()" php-to@shop.test
	is "$(jf "$EML" 'len(d["rcpt_tos"])')" 46 "PHP mail(): 46 RCPTs"
	is "$($WC check "$EML")" ok "PHP mail(): wire rules"
else
	for i in 1 2 3 4; do ok 0 "# SKIP php not installed"; done
fi

# --- a hand-written HTML mail with one 6,000-byte line ----------------------
{ printf 'To: html@shop.test\nSubject: html\nContent-Length: 6100\nContent-Type: text/html; charset=utf-8\n\n<html><body>'
  for i in $(seq 600); do printf '<p>%03d=x</p>' $((i % 1000)); done
  printf '</body></html>\n.\nFrom here\ntrailing blank \n'; } >"$T/html.txt"
submit smr-alice -t <"$T/html.txt"
ok $? "6,000-byte body line: accepted"
deliver "long body line" html@shop.test
is "$($WC check "$EML" "$T/html.txt")" ok "long body line: wire rules, decodes byte for byte"
is "$($WC parts "$EML")" "text/html quoted-printable" "long body line: the part is now quoted-printable"
is "$($WC header "$EML" MIME-Version)" 1.0 "long body line: MIME-Version added"
is "$($WC header "$EML" Content-Length)" - "Content-Length removed"

# --- cronie: -FCronDaemon -i -odi -oem -oi -t -f <login>, its header block ---
printf 'From: "(Cron Daemon)" <smr-alice>\nTo: smr-alice\nSubject: Cron <smr-alice@mx> /usr/local/bin/job\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nPrecedence: bulk\nAuto-Submitted: auto-generated\nX-Cron-Env: <SHELL=/bin/sh>\nX-Cron-Env: <HOME=/home/smr-alice>\n\ncaf\303\251: job output\n' >"$T/cronie.txt"
as_user smr-alice "$SENDMAIL" -FCronDaemon -i -odi -oem -oi -t -f smr-alice <"$T/cronie.txt"
ok $? "cronie's argv: exit 0"
deliver "cronie" owner@shop.test
is "$($WC check "$EML" "$T/cronie.txt")" ok "cronie: wire rules, the 8-bit body decodes unchanged"
is "$(jf "$EML" 'd["mail_from"]')" "smr-alice@$H" "cronie: -f <login> qualified, not rewritten"
is "$(jf "$EML" 'd["rcpt_tos"]')" "['owner@shop.test']" "cronie: the login's mail goes to the site owner"
is "$($WC header "$EML" From)" "\"(Cron Daemon)\" <smr-alice@$H>" "cronie: From qualified, not rewritten"
is "$($WC header "$EML" To)" "smr-alice@$H" "cronie: To qualified"
is "$($WC header "$EML" Reply-To)" - "cronie: no Reply-To added"

# --- Debian cron: -FCronDaemon -i -B8BITMIME -oem <login>, root's job -------
printf 'From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@mx> test -x /usr/sbin/anacron\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n\nr\303\251sum\303\251\n' >"$T/dcron.txt"
"$SENDMAIL" -FCronDaemon -i -B8BITMIME -oem root <"$T/dcron.txt"
ok $? "Debian cron's argv (-B8BITMIME): exit 0"
deliver "Debian cron" admin@shop.test
is "$($WC check "$EML" "$T/dcron.txt")" ok "Debian cron: wire rules, body decodes unchanged"
is "$(jf "$EML" 'd["mail_from"]')" "root@$H" "Debian cron: sender root@hostname"
is "$($WC header "$EML" From)" "root@$H (Cron Daemon)" "Debian cron: From: root (Cron Daemon) qualified, kept"
is "$($WC header "$EML" Reply-To)$($WC header "$EML" X-Original-From)" -- "Debian cron: no junk Reply-To, no rewrite"
queue_snapshot
printf 'Subject: Cron <smr-bob@mx> job\n\nout\n' | as_user smr-bob "$SENDMAIL" -FCronDaemon -i -B8BITMIME -oem smr-bob
qid=$(last_qid)
wait_for 20 grep -q "$qid: removed" "$SM_LOG"
is "$(log_rcpts "$qid")" "smr-bob@$H" "Debian cron without MAILTO: LOGIN@qualify_domain (site without owner)"

# --- fail2ban: sendmail -f <sender> <dest>, as root --------------------------
printf 'Subject: [Fail2Ban] sshd: started on mx\nFrom: Fail2Ban <fail2ban@%s>\nTo: root\n\nHi,\nThe jail sshd has been started successfully.\n' "$H" >"$T/f2b.txt"
"$SENDMAIL" -f "fail2ban@$H" root <"$T/f2b.txt"
ok $? "fail2ban's argv: exit 0"
deliver "fail2ban" admin@shop.test
is "$(jf "$EML" 'd["mail_from"]')" "fail2ban@$H" "fail2ban: -f fail2ban@host not rewritten"
is "$($WC header "$EML" From)" "Fail2Ban <fail2ban@$H>" "fail2ban: From kept"
is "$($WC header "$EML" To)" "root@$H" "fail2ban: To: root qualified"
is "$($WC check "$EML" "$T/f2b.txt")" ok "fail2ban: wire rules, body unchanged"

# --- From: root as root (sudo, unattended-upgrades, logwatch, mdadm) ---------
printf 'To: root\nFrom: root\nSubject: *** SECURITY information for mx ***\n\nmx : user NOT in sudoers\n' >"$T/sudo.txt"
"$SENDMAIL" -t <"$T/sudo.txt"
ok $? "From: root as root: exit 0"
deliver "From: root" admin@shop.test
is "$($WC header "$EML" From)" "root@$H" "From: root qualified"
is "$(jf "$EML" 'd["mail_from"]')" "root@$H" "root's sender"
is "$($WC check "$EML" "$T/sudo.txt")" ok "From: root: wire rules, body unchanged"

# --- argv like Postfix, dedup -------------------------------------------------
printf 'Subject: argv\n\nargv forms\n' >"$T/argv.txt"
queue_snapshot
as_user smr-alice "$SENDMAIL" -i -f 'bounce@alice.test (Bounce)' 'a1@shop.test a2@shop.test' \
    'a3@shop.test (Three)' 'a4@shop.test ' 'undisclosed-recipients:;' 'a5@shop.test.' \
    'A1@SHOP.test' 'Name <a2@shop.test>' <"$T/argv.txt"
ok $? "argv forms: exit 0"
qid=$(last_qid)
wait_for 20 grep -q "$qid: removed" "$SM_LOG"
is "$(log_rcpts "$qid")" "a1@shop.test a2@shop.test a3@shop.test a4@shop.test a5@shop.test" \
    "argv: split, comments dropped, groups, trailing dot, case-insensitive dedup"
like "$(grep "$qid: site=" "$SM_LOG")" "from=<bounce@alice.test> " "-f 'b@x (Bounce)'"
like "$(grep "$qid: site=" "$SM_LOG")" "nrcpt=5 tokens" "one token per distinct recipient"
deliver "argv forms" a5@shop.test
is "$(jf "$EML" 'sorted(d["rcpt_tos"])')" "['a1@shop.test', 'a2@shop.test', 'a3@shop.test', 'a4@shop.test', 'a5@shop.test']" \
    "argv: one RCPT each"

# --- injection: refused with 64, nothing queued -------------------------------
inject() { local name=$1 before; shift
	before=$(grep -c ': site=' "$SM_LOG")
	printf 'Subject: x\n\nx\n' | as_user smr-alice "$SENDMAIL" -i "$@" 2>"$T/inj.err"
	is "$?" 64 "$name: exit 64"
	is "$(grep -c ': site=' "$SM_LOG")" "$before" "$name: nothing queued"
}
inject "MAIL parameter injection" -f 'ceo@bank.test> ENVID=q@site.test' bob@shop.test
inject "RCPT parameter injection" 'bob@x.test> NOTIFY=NEVER ORCPT=rfc822;x@y'
inject "routing by the first @" 'victim@gmail.test> ORCPT=rfc822;a@here.test'
inject "two @" 'a@b@shop.test'
queue_snapshot
printf 'To: <inj@shop.test> NOTIFY=NEVER\nSubject: x\n\nx\n' | as_user smr-alice "$SENDMAIL" -t -i 2>/dev/null
ok $? "-t: a To with text after <...>: the address is taken, the text is not"
qid=$(last_qid)
wait_for 20 grep -q "$qid: removed" "$SM_LOG"
is "$(log_rcpts "$qid")" "inj@shop.test" "... one clean RCPT"

# --- bare CR: the header and the body -----------------------------------------
printf 'From: smr-alice@alice.test\nTo: cr@shop.test\nSubject: Invoice\rFrom: CEO <ceo@bank.example>\n\nline\r.\rnext\nend\n' >"$T/cr.txt"
submit smr-alice -t <"$T/cr.txt"
ok $? "bare CR message: accepted (neutralised)"
deliver "bare CR" cr@shop.test
is "$($WC check "$EML")" ok "bare CR: no bare CR or LF on the wire"
is "$($WC header "$EML" From)" "smr-alice@alice.test" "bare CR: receivers see the one From from_policy saw"
is "$($WC header "$EML" Subject)" "Invoice From: CEO <ceo@bank.example>" "bare CR: the smuggled From is Subject text"
ok "$(grep -c $'\r\\.\r' "$EML" | grep -qx 0; echo $?)" "bare CR: no <CR>.<CR> on the wire"
like "$(tr -d '\r' <"$EML")" $'line \\. next' "bare CR in the body became a blank"

sanitizer_clean
ok $? "no sanitizer report from sitemaild"
rm -rf /home/smr-bob/dead.letter 2>/dev/null
done_testing
