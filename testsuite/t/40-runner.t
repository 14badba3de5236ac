#!/bin/bash
# 40-runner.t - sitemaild delivering what real users submit through the
# installed sendmail, to the real test smarthost (smarthost.py: STARTTLS,
# AUTH, fault injection) with routing by a real DNS server (dnsmasq):
# inotify wake-up and a byte-identical body; per-recipient 250/451/550
# with one retry and one DSN; session faults (wrong password, untrusted
# certificate, server down, 421 greeting, disconnect in DATA) deferred and
# then delivered, never bounced; fallback smarthost; per-site credentials;
# sendmail -q and mailq; the local transport and DNS bounces; a frozen
# site and a frozen message wait until they are thawed.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

rn_init
sm_reset
USERS=alice:secret,bobsite:bobpw
sh_start sh --certdir "$T/certs" --users "$USERS"
rn_secret "$T/pw" secret
rn_secret "$T/bobpw" bobpw
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_USER=alice SH_PWFILE=$T/pw

# dsn_count ADDR - DSNs (null sender) the smarthost accepted for ADDR.
dsn_count() {
	$PY - "$T/sh.spool" "$1" <<-'EOF'
	import glob, json, sys
	print(sum(1 for f in glob.glob(sys.argv[1] + "*/*.json")
	          if json.load(open(f))["mail_from"] == "<>"
	          and sys.argv[2] in json.load(open(f))["rcpt_tos"]))
	EOF
}
# dsn_has ADDR N - at least N DSNs for ADDR (for wait_for).
dsn_has() { [ "$(dsn_count "$1")" -ge "$2" ]; }
# msg_for ADDR [NAME] - the .eml path of the newest message the smarthost
# NAME (default sh) got for ADDR.
msg_for() {
	$PY - "$T/${2:-sh}.spool" "$1" <<-'EOF'
	import glob, json, os, sys
	best = None
	for f in glob.glob(sys.argv[1] + "*/*.json"):
	    d = json.load(open(f))
	    if sys.argv[2] in d["rcpt_tos"] and (best is None or
	            os.path.getmtime(f) >= os.path.getmtime(best)):
	        best = f
	print(best[:-5] + ".eml" if best else "")
	EOF
}
# jfield EML EXPR - a field of the JSON beside a saved .eml.
jfield() { $PY -c 'import json,sys; d=json.load(open(sys.argv[1][:-4] + ".json")); print(eval(sys.argv[2]))' "$1" "$2"; }
# qid_of ADDR - the queue ID logged for the submission to ADDR.
qid_of() { grep -E "to=<$1>" "$SM_LOG" | head -1 | sed -E 's/.*: ([0-9a-f]{20}): to=.*/\1/'; }

# --- 1: TLS + AUTH, inotify wake-up, the body unchanged --------------------
rn_conf </dev/null
rd_start
wait_for 10 grep -q 'sitemaild.*starting' "$SM_LOG" || bail "sitemaild did not start"
printf 'From: smr-alice@alice.test\nTo: rcpt@shop.test\nSubject: body test\n\nline one\r\n.leading dot\n..two dots\nFrom the start\n\ttab and trailing space \n\nlast line\n' >"$T/m1.txt"
submit smr-alice rcpt@shop.test <"$T/m1.txt"
ok $? "sendmail accepted the message"
wait_for 15 sh_has sh 1
ok $? "the running runner delivered it within seconds (no --once)"
EML=$(msg_for rcpt@shop.test)
$PY - "$T/m1.txt" "$EML" <<-'EOF'
import sys
orig = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
got = open(sys.argv[2], "rb").read().replace(b"\r\n", b"\n")
ob = orig.split(b"\n\n", 1)[1]
gb = got.split(b"\n\n", 1)[1]
sys.exit(0 if ob == gb else 1)
EOF
ok $? "the body arrived byte-identical (after line-ending normalisation)"
is "$(jfield "$EML" 'd["tls"], d["auth_user"], d["mail_from"]')" \
    "(True, 'alice', 'smr-alice@alice.test')" "over TLS, with AUTH, envelope sender kept"
wait_for 5 queue_empty
ok $? "the queue file is gone"
like "$(grep 'to=<rcpt@shop.test>' "$SM_LOG")" \
    "^.*: [0-9a-f]{20}: to=<rcpt@shop.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$sh_PORT, route=smarthost, delay=[0-9.]+, dsn=2\.0\.0, status=sent \(250 " \
    "Postfix-style delivery log line"
like "$(grep -c ': removed$' "$SM_LOG")" '^1$' "one 'removed' line"

# --- 2: one message, three recipients: 250, 451 once, 550 ----------------
sh_ctl sh '{"rcpt": {"tmp@shop.test": {"code": 451, "text": "4.2.0 try later", "times": 1}, "bad@shop.test": [550, "5.1.1 no such user"]}}'
msg 2 | submit smr-alice good@shop.test tmp@shop.test bad@shop.test
ok $? "submitted to three recipients"
wait_for 20 queue_empty
ok $? "the message left the queue"
wait_for 10 dsn_has smr-alice@alice.test 1
is "$(sh_rcpt_count sh good@shop.test)" 1 "250 recipient delivered once"
is "$(sh_rcpt_count sh tmp@shop.test)" 1 "451 recipient retried and delivered once"
is "$(sh_rcpt_count sh bad@shop.test)" 0 "550 recipient not delivered"
is "$(dsn_count smr-alice@alice.test)" 1 "exactly one DSN to the sender"
like "$(grep -c 'to=<tmp@shop.test>.*status=deferred (451 4.2.0 try later)' "$SM_LOG")" '^1$' \
    "the 451 was logged as deferred"
like "$(grep -c 'to=<bad@shop.test>.*dsn=5\.1\.1, status=bounced (550 5.1.1 no such user)' "$SM_LOG")" '^1$' \
    "the 550 was logged as bounced"
DSN=$(msg_for smr-alice@alice.test)
grep -q 'bad@shop.test' "$DSN" && grep -q '5\.1\.1' "$DSN" && ! grep -q 'Final-Recipient: rfc822; *good@' "$DSN"
ok $? "the DSN names the bounced recipient only"
sh_ctl sh '{}'

# --- 3: session faults defer, then deliver once the fault clears ---------
# fault NAME ADDR SETUP CLEAR - one fault case.
fault() {
	local name=$1 addr=$2 setup=$3 clear=$4 n0
	n0=$(dsn_count smr-alice@alice.test)
	eval "$setup"
	msg "$name" | submit smr-alice "$addr"
	wait_for 20 grep -q "to=<$addr>.*status=deferred" "$SM_LOG"
	ok $? "$name: deferred"
	eval "$clear"
	wait_for 25 rcpt_has sh "$addr" 1
	ok $? "$name: delivered once the fault cleared"
	wait_for 5 queue_empty
	is "$(sh_rcpt_count sh "$addr")" 1 "$name: delivered exactly once"
	is "$(grep -c "to=<$addr>.*status=bounced" "$SM_LOG")" 0 "$name: never bounced"
	is "$(dsn_count smr-alice@alice.test)" "$n0" "$name: no DSN"
}
# reconf CA - the same configuration with another ca_file, then SIGHUP.
reconf() { SH_CA=$1 rn_conf </dev/null; kill -HUP "$RD_PID"; }

fault "wrong password (535)" pw@shop.test \
    'rn_secret "$T/pw" wrong' 'rn_secret "$T/pw" secret'
like "$(grep 'to=<pw@shop.test>.*status=deferred' "$SM_LOG" | head -1)" 'dsn=4\.7\.8|535' \
    "the AUTH failure is in the deferral reason"
fault "untrusted certificate" cert@shop.test \
    'reconf "$T/certs/other-ca.pem"' 'reconf "$CA"'
fault "server down" down@shop.test \
    'sh_stop sh' 'sh_restart sh --certdir "$T/certs" --users "$USERS"'
# (a fresh runner: the greeting is only seen on a new connection)
fault "421 greeting" greet@shop.test \
    "sh_ctl sh '{\"greeting\": [421, \"4.3.2 busy\"]}'; rd_stop; rd_start" \
    "sh_ctl sh '{}'"
fault "disconnect in DATA" drop@shop.test \
    "sh_ctl sh '{\"data_disconnect\": 10}'" "sh_ctl sh '{}'"

# --- 4: sendmail -q and mailq ----------------------------------------------
rd_stop
RN_RETRY_MIN=1h RN_RETRY_MAX=2h rn_conf </dev/null
rd_start
sh_ctl sh '{"rcpt": {"later@shop.test": {"code": 451, "text": "4.2.0 not now", "times": 1}}}'
msg 4 | submit smr-alice later@shop.test
wait_for 15 grep -q 'to=<later@shop.test>.*status=deferred' "$SM_LOG"
ok $? "deferred with a retry an hour away"
Q=$(qid_of later@shop.test)
MQ=$(as_user smr-alice "$SBIN/mailq")
like "$MQ" "^$Q +[0-9]+ .* smr-alice@alice.test" "mailq: the message, size, arrival, sender"
like "$MQ" '\(451 4\.2\.0 not now\)' "mailq: the last reason"
like "$MQ" 'later@shop\.test' "mailq: the pending recipient"
like "$MQ" '^-- [0-9]+ Kbytes in 1 Request\.$' "mailq: the summary line"
is "$(as_user smr-bob "$SBIN/mailq")" "Mail queue is empty" "another site sees nothing"
as_user smr-bob "$SENDMAIL" -q
ok $? "sendmail -q by another site's user"
sleep 2
is "$(sm_queue_count)" 1 "it did not flush someone else's site"
as_user smr-alice "$SENDMAIL" -q
ok $? "sendmail -q by the owner"
wait_for 10 queue_empty
ok $? "flushed and delivered"
is "$(sh_rcpt_count sh later@shop.test)" 1 "delivered once"
sh_ctl sh '{}'
rd_stop

# --- 5: fallback smarthost -------------------------------------------------
sh_start fb --certdir "$T/certs" --users "$USERS"
DEAD=$(dns_free_port)
SH_URL=smtp://127.0.0.1:$DEAD SH_FALLBACK=smtp://127.0.0.1:$fb_PORT rn_conf </dev/null
msg 5 | submit smr-alice fallback@shop.test
rd_once
ok $? "sitemaild --once"
is "$(sh_rcpt_count fb fallback@shop.test)" 1 "delivered through the fallback smarthost"
like "$(grep 'to=<fallback@shop.test>' "$SM_LOG")" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$fb_PORT, .*status=sent" \
    "the log names the fallback relay"
ok "$(queue_empty; echo $?)" "queue empty"

# --- 6: per-site credentials -----------------------------------------------
rn_conf </dev/null
sm_site bob <<EOF
[site bob.test]
users = smr-bob
domains = bob.test
smarthost_username = bobsite
smarthost_password_file = $T/bobpw
EOF
msg 6a | submit smr-alice site-a@shop.test
msg 6b | submit smr-bob site-b@shop.test
rd_once
is "$(jfield "$(msg_for site-a@shop.test)" 'd["auth_user"]')" alice \
    "alice's site uses the global credentials"
is "$(jfield "$(msg_for site-b@shop.test)" 'd["auth_user"]')" bobsite \
    "bob's site uses its own credentials"
ok "$(queue_empty; echo $?)" "queue empty"

# --- 7: the local transport and DNS bounces ---------------------------------
sh_start lmta --plain
rn_conf <<EOF
[local]
transport = smtp://127.0.0.1:$lmta_PORT
EOF
msg 7 | submit smr-alice webmaster@lo.test x@nullmx.test y@nxdomain.test
rd_once
is "$(sh_rcpt_count lmta webmaster@lo.test)" 1 "MX on this host: the local transport got it"
like "$(grep 'to=<webmaster@lo.test>' "$SM_LOG")" 'route=local mx=mx\.lo\.test, .*status=sent' \
    "logged as route=local with the MX"
like "$(grep 'to=<x@nullmx.test>' "$SM_LOG")" 'relay=none, .*dsn=5\.1\.10, status=bounced' "null MX bounces 5.1.10"
like "$(grep 'to=<y@nxdomain.test>' "$SM_LOG")" 'relay=none, .*dsn=5\.1\.2, status=bounced' "NXDOMAIN bounces 5.1.2"
rd_once
DSN=$(msg_for smr-alice@alice.test)
grep -q 'x@nullmx.test' "$DSN" && grep -q 'y@nxdomain.test' "$DSN"
ok $? "one DSN lists both DNS bounces"
ok "$(queue_empty; echo $?)" "queue empty"

# --- 8: a frozen site, a frozen message -------------------------------------
rn_conf </dev/null
rd_start
"$SBIN/sitemail" freeze alice.test >/dev/null
ok $? "sitemail freeze alice.test"
msg 8 | submit smr-alice frozen@shop.test
ok $? "a frozen site still accepts mail (held)"
msg 8b | submit smr-bob notfrozen@shop.test
wait_for 15 rcpt_has sh notfrozen@shop.test 1
ok $? "another site's mail flows"
is "$(sh_rcpt_count sh frozen@shop.test)" 0 "the frozen site's mail is not delivered"
like "$(as_user smr-alice "$SBIN/mailq")" '^[0-9a-f]{20}! ' "mailq marks it frozen (!)"
"$SBIN/sitemail" thaw alice.test >/dev/null && "$SBIN/sitemail" flush --site alice.test >/dev/null
ok $? "sitemail thaw + flush"
wait_for 15 rcpt_has sh frozen@shop.test 1
ok $? "delivered after the thaw"
rd_stop
msg 8c | submit smr-bob one@shop.test
Q=$(sm_queue_files | head -1)
"$SBIN/sitemail" freeze "$Q" >/dev/null
ok $? "sitemail freeze ID"
rd_once
is "$(sh_rcpt_count sh one@shop.test)" 0 "a frozen message is not delivered"
"$SBIN/sitemail" thaw "$Q" >/dev/null
rd_once
is "$(sh_rcpt_count sh one@shop.test)" 1 "delivered after its thaw"
ok "$(queue_empty; echo $?)" "queue empty"

ok "$(sanitizer_clean; echo $?)" "no sanitizer reports"
ok "$(grep -ciE 'sitemaild.*(fatal|error)' "$SM_LOG" | grep -q '^0$'; echo $?)" "no errors in the log"
done_testing
