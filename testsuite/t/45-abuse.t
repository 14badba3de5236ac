#!/bin/bash
# 45-abuse.t - abuse signals beyond the single bucket (issue 14), with real
# users, the real sendmail and sitemaild, and the test smarthost:
#  1. failure ratio, at the documented defaults (max_fail_ratio 50%,
#     min_fail_count 20): a site sends 30 recipients, 20 of them refused
#     with 550 5.1.1: not frozen at 10 of 20, auto-frozen at the 20th
#     failure of 30, one log line with the figures, intake refuses (75),
#     one notice to alert_to and one to the site's owner, naming the
#     script behind the failing mail;
#  2. another site whose smarthost answers 451 to every RCPT and then 421
#     at the greeting for many attempts is never frozen, and its mail goes
#     once the smarthost is back;
#  3. "550 5.7.1 message refused as spam" (to RCPT here, so the notice is
#     not refused too; the DATA case is in test_failstat) freezes the site
#     at once;
#  4. rate = 5/m, 20/h: the 6th recipient within a minute is held; at the
#     pace the minute bucket allows, the hour bucket holds the 22nd while
#     the minute bucket still has tokens (bucket_age moves the buckets'
#     clock, so nothing sleeps for an hour); sitemail sites shows each
#     bucket;
#  5. check-config refuses a malformed rate list, naming file and line.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

command -v jq >/dev/null || skip_all "jq missing"
AGE=$SM_SAN/tools/bucket_age
[ -x "$AGE" ] || bail "missing $AGE (make unit)"
rn_init
sm_reset
sh_start sh --plain
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_PLAIN=1

# site_state SITE - its state in sitemail sites --json.
site_state() { "$SBIN/sitemail" sites --json | jq -r --arg s "$1" 'select(.site == $s) | .state'; }
# rcpts PREFIX FROM TO - PREFIXFROM@shop.test ... PREFIXTO@shop.test.
rcpts() { local i; for i in $(seq "$2" "$3"); do printf '%s%s@shop.test ' "$1" "$i"; done; }
# logged N REGEX - at least N matching log lines (for wait_for).
logged() { [ "$(log_count "$2")" -ge "$1" ]; }
# start - sitemaild, waiting for its intake socket.
start() { rd_start; wait_for 10 test -S "$SPOOL/state/sitemaild.sock" || bail "sitemaild did not start"; }
# age SITE SECS - SECS seconds pass for SITE's buckets.
age() { setpriv --reuid=sitemail --regid=sitemail --init-groups -- "$AGE" "$SPOOL" "$1" "$2"; }
# held SITE - accepted messages of SITE held for tokens.
held() { grep -cE ": site=$1 uid=.*status=held" "$SM_LOG"; }
# accepted SITE - accepted messages of SITE.
accepted() { grep -cE ": site=$1 uid=.*tokens=" "$SM_LOG"; }

# --- 1: failure ratio at the defaults ----------------------------------------
printf '[main]\nalert_to = abuse@shop.test\n' | rn_conf
printf '[site alice.test]\nusers = smr-alice\ndomains = alice.test\nowner = webmaster@shop.test\n' | sm_site alice
"$SBIN/sitemail" check-config >/dev/null; ok $? "config is valid"
# msgphp N - a message as PHP's mail() marks it (the script behind it).
msgphp() { printf 'X-PHP-Originating-Script: 1004:wp-content/x/mailer.php\nSubject: test %s\n\nmessage %s\n' "$1" "$1"; }
sh_ctl sh '{"rcpt": {"bad*@shop.test": [550, "5.1.1 no such user"]}}'
start
# shellcheck disable=SC2046
msg good | submit smr-alice $(rcpts ok 1 10)
wait_for 30 logged 10 'to=<ok[0-9]+@shop.test>.*status=sent'
ok $? "ratio: 10 recipients sent"
# shellcheck disable=SC2046
msgphp bad1 | submit smr-alice $(rcpts bad 1 10)
wait_for 30 logged 10 'to=<bad[0-9]+@shop.test>.*dsn=5.1.1, status=bounced'
ok $? "ratio: 10 recipients refused with 550 5.1.1"
sleep 1
is "$(site_state alice.test)" active "ratio: 10 of 20 failed (under min_fail_count 20): still active"
is "$(log_count 'auto-frozen')" 0 "ratio: no freeze logged yet"
# shellcheck disable=SC2046
msgphp bad2 | submit smr-alice $(rcpts bad 11 20)
wait_for 30 logged 1 'site alice.test: auto-frozen'
ok $? "ratio: the 20th failure freezes the site"
line=$(grep -m1 'site alice.test: auto-frozen' "$SM_LOG")
like "$line" 'site alice.test: auto-frozen: fail ratio 20/30 in 1h \(max 50%, min 20\): 20 bounced, 0 refused for policy, 10 sent' "ratio: the log line has the trigger and figures"
sleep 1
is "$(log_count 'site alice.test: auto-frozen')" 1 "ratio: logged once"
is "$(site_state alice.test)" auto-frozen "ratio: sitemail sites says auto-frozen"
test -e "$SPOOL/state/frozen/s.alice.test"; ok $? "ratio: an automatic freeze marker (like a backlog freeze)"
msg after | submit smr-alice late@shop.test 2>"$T/frozen.err"
is "$?" 75 "ratio: intake refuses the frozen site's mail (75)"
like "$(cat "$T/frozen.err")" "alice.test is frozen" "ratio: and says why"
wait_for 30 rcpt_has sh abuse@shop.test 1
ok $? "ratio: a notice reached alert_to"
ALERT=$(grep -l '"abuse@shop.test"' "$T"/sh.spool/*.json | head -1)
like "$(grep -m1 '^Subject:' "${ALERT%.json}.eml" | tr -d '\r')" "site alice.test auto-frozen" "ratio: the notice names the site"
like "$(tr -d '\r' <"${ALERT%.json}.eml")" "fail ratio 20/30 in 1h" "ratio: and the trigger with its figures"
like "$(tr -d '\r' <"${ALERT%.json}.eml")" " 2  1004:wp-content/x/mailer.php" "ratio: and the script behind the failing mail, with its count"
wait_for 30 rcpt_has sh webmaster@shop.test 1
ok $? "ratio: a notice reached the site's owner too"
OWN=$(grep -l '"webmaster@shop.test"' "$T"/sh.spool/*.json | head -1)
like "$(tr -d '\r' <"${OWN%.json}.eml")" "1004:wp-content/x/mailer.php" "ratio: the owner's notice names the script"
is "$(grep -l '"abuse@shop.test"' "$T"/sh.spool/*.json | wc -l)" 1 "ratio: one notice to alert_to, not a storm"

# --- 2: 4xx and a smarthost outage never freeze ------------------------------
sh_ctl sh '{"rcpt": {"*": [451, "4.3.0 try again later"]}}'
for k in 1 2 3; do
	# shellcheck disable=SC2046
	msg "out $k" | submit smr-bob $(rcpts "t$k-" 1 10)
done
wait_for 60 logged 60 'to=<t[0-9]-[0-9]+@shop.test>.*status=deferred'
ok $? "outage: 30 recipients deferred by 451, twice each"
sh_ctl sh '{"greeting": [421, "4.3.2 service not available"]}'
n=$(log_count 'to=<t[0-9]-[0-9]+@shop.test>.*status=deferred')
wait_for 60 logged $((n + 30)) 'to=<t[0-9]-[0-9]+@shop.test>.*status=deferred'
ok $? "outage: then 421 at the greeting: deferred again"
is "$(site_state bob.test)" active "outage: bob.test is not frozen"
is "$(log_count 'site bob.test: auto-frozen')" 0 "outage: no freeze logged"
sh_ctl sh '{}'
wait_for 90 logged 30 'to=<t[0-9]-[0-9]+@shop.test>.*status=sent'
ok $? "outage: once the smarthost is back all 30 are sent"

# --- 3: refused as spam: frozen at once ----------------------------------------
sh_ctl sh '{"rcpt": {"victim@shop.test": [550, "5.7.1 message refused as spam"]}}'
msg spam | submit smr-bob victim@shop.test
wait_for 30 logged 1 'site bob.test: auto-frozen'
ok $? "spam: one refusal freezes the site"
like "$(grep -m1 'site bob.test: auto-frozen' "$SM_LOG")" 'auto-frozen: refused as spam \(550 5.7.1 message refused as spam\) 1/31 in 1h' "spam: the log line names the trigger and the figures"
is "$(site_state bob.test)" auto-frozen "spam: sitemail sites says auto-frozen"
wait_for 30 rcpt_has sh abuse@shop.test 2
ok $? "spam: a second notice reached alert_to"
rd_stop
sanitizer_clean; ok $? "no sanitizer report"

# --- 4: rate = 5/m, 20/h -----------------------------------------------------------
sm_reset
rn_conf </dev/null
sm_site alice <<-EOF
[site alice.test]
users = smr-alice
domains = alice.test
rate = 5/m, 20/h
burst = 5
backlog = 1000
EOF
"$SBIN/sitemail" check-config >/dev/null; ok $? "rates: the list is valid"
start
for k in 1 2 3 4 5 6; do msg "r$k" | submit smr-alice "r$k@shop.test"; done
is "$(accepted alice.test) $(held alice.test)" "6 1" "rates: 5 go at once, the 6th within a minute is held"
"$SBIN/sitemail" sites --json >"$T/sites.json"
J() { jq -r --arg s alice.test "select(.site == \$s) | $1" "$T/sites.json"; }
is "$(J '.rate')" "5/m,20/h" "rates: sites shows the list"
is "$(J '[.buckets[] | "\(.rate) \(.size)"] | join(",")')" "5/m 5,20/h 20" "rates: two buckets, sizes burst and 20"
# (Balances refill a little while the test runs: 5/m is 0.08 a second.)
is "$(J '.buckets[0].tokens | . >= -1 and . < 0')" true "rates: the minute bucket is at -1 (the held 6th): $(J '.buckets[0].tokens')"
is "$(J '.buckets[1].tokens | . >= 14 and . < 14.5')" true "rates: the hour bucket at 14, the HOLD charged both: $(J '.buckets[1].tokens')"
"$SBIN/sitemail" sites >"$T/sites.txt"
like "$(grep -A2 '^alice.test ' "$T/sites.txt" | tr '\n' ' ')" 'bucket 5/m .*bucket 20/h' "rates: the table shows each bucket"
# Five a minute, as the minute bucket allows: 20 recipients by minute 3.
k=6
for n in 4 5 5; do
	age alice.test 60
	for i in $(seq "$n"); do k=$((k + 1)); msg "r$k" | submit smr-alice "r$k@shop.test"; done
done
is "$(accepted alice.test) $(held alice.test)" "20 1" "rates: at 5 a minute, recipients 7 to 20 all go"
age alice.test 60
msg r21 | submit smr-alice r21@shop.test
msg r22 | submit smr-alice r22@shop.test
is "$(held alice.test)" 2 "rates: minute 4: the 21st goes on the hour bucket's refill, the 22nd is held"
"$SBIN/sitemail" sites --json >"$T/sites.json"
is "$(J '.buckets[0].tokens | . >= 3 and . < 4')" true "rates: ... while the minute bucket has 3 tokens: $(J '.buckets[0].tokens')"
is "$(J '.buckets[1].tokens | . >= -0.7 and . < 0')" true "rates: ... held by the hour bucket (-0.67): $(J '.buckets[1].tokens')"
rd_stop

# --- 5: check-config refuses a malformed list ---------------------------------
sm_site alice <<-EOF
[site alice.test]
users = smr-alice
domains = alice.test
rate = 5/m, 20/x
EOF
"$SBIN/sitemail" -C "$ETC" check-config >"$T/cc" 2>&1
is "$?" 78 "check-config: a malformed list fails (78)"
like "$(cat "$T/cc")" 'sites.d/alice.conf:4: bad value "5/m, 20/x" for rate' "check-config: names the file and line"
printf '[limits]\nrate = 5/m 6/m\n' | rn_conf
"$SBIN/sitemail" -C "$ETC" check-config >"$T/cc" 2>&1
is "$?" 78 "check-config: one unit twice fails"
like "$(cat "$T/cc")" 'sitemail.conf:[0-9]+: bad value "5/m 6/m" for rate' "check-config: names sitemail.conf and the line"

done_testing
