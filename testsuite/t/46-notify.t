#!/bin/bash
# 46-notify.t - abuse notices, the webhook, the metrics file and the
# digest, with real peers: real users and sendmail, the sitemaild daemon,
# the test smarthost (the notices are real mail through it), dnsmasq, a
# loopback HTTP receiver (testsuite/lib/webhook.py) and promtool when the
# Debian prometheus package is installed.
#   1. a backlog auto-freeze: one notice to alert_to and the owner naming
#      the top script and cwd with counts and the commands; its webhook
#      event with the documented JSON
#   2. the webhook is retried when the receiver answers 500
#   3. intake latency is unchanged while the receiver hangs
#   4. twenty freezes and thaws in a minute: a bounded number of notices
#      that still account for every event
#   5. a quarantined file: its event; a site at its spool_quota: its
#      event, and intake refuses it
#   6. the metrics file parses, matches the log, is never half-written
#   7. sitemail report matches what was sent
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"
command -v jq >/dev/null || skip_all "jq missing"

rn_init
sm_reset
sh_start sh --certdir "$T/certs" --users relay:pw
rn_secret "$T/pw" pw
# shellcheck disable=SC2154  # sh_PORT is set by sh_start
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_USER=relay SH_PWFILE=$T/pw
SM=$SBIN/sitemail

# The webhook receiver.
: >"$T/wh.ctl"
$PY "$SM_SRC/testsuite/lib/webhook.py" --port-file "$T/wh.port" \
    --log "$T/wh.log" --control "$T/wh.ctl" 2>>"$T/wh.err" &
RN_PIDS+=($!)
wait_for 10 test -s "$T/wh.port" || bail "webhook.py did not start"
WH_PORT=$(cat "$T/wh.port")
: >"$T/wh.log"
wh_ctl() { printf '%s\n' "$1" >"$T/wh.ctl.tmp" && mv "$T/wh.ctl.tmp" "$T/wh.ctl"; }
# wh_events JQ-FILTER - the bodies of requests answered 200, filtered.
wh_events() { jq -c "select(.status == 200) | .body | $1" "$T/wh.log"; }

install -d -o sitemail -g sitemail -m 755 "$T/metrics"
PROM=$T/metrics/sitemail.prom
WWW=$T/www/shop
install -d -m 755 "$T/www" "$WWW"

printf '[main]\nalert_to = abuse@shop.test\n[notify]\nwebhook = http://127.0.0.1:%s/hook\nmetrics = %s\ninterval = 20s\n' \
    "$WH_PORT" "$PROM" | rn_conf
sm_site alice <<EOF
[site alice.test]
users = smr-alice
domains = alice.test
owner = owner-alice@shop.test
rate = 30/m
burst = 2
backlog = 3
EOF
"$SM" check-config >/dev/null; ok $? "config with [notify] is valid"
printf '[notify]\nwebhook = http://192.0.2.1/hook\n' >>"$ETC/sitemail.conf"
like "$("$SM" check-config 2>&1)" "webhook.*https://" "check-config refuses plain http to a remote host"
sed -i '$d' "$ETC/sitemail.conf"; sed -i '$d' "$ETC/sitemail.conf"
"$SM" check-config >/dev/null; ok $? "config valid again"

# php_msg N - a message as PHP's mail() writes it.
php_msg() { printf 'X-PHP-Originating-Script: 1001:mailer.php\nSubject: offer %s\n\nbuy now %s\n' "$1" "$1"; }
# notices SITE - notices about SITE the smarthost got (files, by subject).
notices() { grep -l "^Subject: sitemail: site $1 " "$T"/sh.spool/*.eml 2>/dev/null; }
notice_count() { notices "$1" | wc -l | tr -d ' '; }
notice_has() { [ "$(notice_count "$1")" -ge "$2" ]; }

rd_start
wait_for 10 test -S "$SPOOL/state/sitemaild.sock"; ok $? "sitemaild listens"

# --- 1: backlog auto-freeze: the notice and its webhook event --------------
rcs=""
for k in 1 2 3 4 5 6 7; do
	(cd "$WWW" && php_msg "$k" | submit smr-alice "v$k@shop.test" 2>/dev/null); rcs="$rcs $?"
done
is "$rcs" " 0 0 0 0 0 75 75" "alice: 2 sent + 3 held, then frozen past the backlog"
wait_for 30 notice_has alice.test 1; ok $? "a notice is mailed"
sleep 2
is "$(notice_count alice.test)" 1 "exactly one notice for the freeze"
N1=$(notices alice.test | head -1)
is "$(jq -r '.rcpt_tos | sort | join(" ")' "${N1%.eml}.json")" "abuse@shop.test owner-alice@shop.test" "the notice goes to alert_to and the site's owner"
tr -d '\r' <"$N1" >"$T/n1"
like "$(grep '^Subject:' "$T/n1")" "site alice.test auto-frozen \(backlog\)" "subject: site and trigger"
grep -Eq "freeze, trigger backlog: backlog=[0-9.]+ limit=3$" "$T/n1"; ok $? "the trigger and its figures"
like "$(grep -A1 '^Working directories:' "$T/n1" | tail -1)" "^ +[2-5] +$WWW\$" "top cwd with its count"
like "$(grep -A1 '^Scripts' "$T/n1" | tail -1)" "^ +[2-5] +1001:mailer\.php\$" "top script with its count"
like "$(grep -A1 '^Recipient domains:' "$T/n1" | tail -1)" "^ +[2-5] +shop\.test\$" "top recipient domain"
grep -Eq '^  offer [0-9]$' "$T/n1"; ok $? "sample subjects"
for c in "sitemail list --site alice.test" "sitemail delete --site alice.test --frozen" "sitemail thaw alice.test"; do
	grep -qF "$c" "$T/n1"; ok $? "the notice gives '$c'"
done

wait_for 10 test -s "$T/wh.log"
F=$(wh_events 'select(.event == "freeze" and .site == "alice.test")' | head -1)
is "$(jq -r '[.event, .site, .uid, .trigger, .figures.limit, .host] | map(tostring) | join(" ")' <<<"$F")" \
    "freeze alice.test $(uid_of smr-alice) backlog 3 mx.sitemail.test" "webhook: event, site, uid, trigger, figures, host"
is "$(jq -r 'keys_unsorted | map(select(IN("event","site","uid","trigger","figures","top_scripts","time","host"))) | length' <<<"$F")" 8 "webhook: every documented field"
like "$(jq -r '.top_scripts[0] | "\(.script) \(.count)"' <<<"$F")" '^1001:mailer\.php [1-5]$' "webhook: top_scripts with counts"
like "$(jq -r .time <<<"$F")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "webhook: time"
is "$(jq -r '.content_type' "$T/wh.log" | sort -u)" "application/json" "webhook: Content-Type"

# --- 2: retried when the receiver answers 500 ----------------------------
wait_for 10 test -e "$SPOOL/state/frozen/s.alice.test"
wh_ctl "fail 2"
"$SM" thaw alice.test >/dev/null; ok $? "thaw alice"
thawed() { [ -n "$(wh_events 'select(.event == "thaw" and .site == "alice.test")')" ]; }
wait_for 20 thawed; ok $? "webhook: the thaw arrives after two 500 answers"
is "$(jq -r 'select(.body.event == "thaw" and .body.site == "alice.test") | .status' "$T/wh.log" | tr '\n' ' ')" "500 500 200 " "webhook: tried three times"
is "$(jq -r 'select(.body.event == "thaw" and .body.site == "alice.test") | .raw' "$T/wh.log" | sort -u | wc -l | tr -d ' ')" 1 "webhook: the same body each time"
grep -q 'webhook: HTTP 500; try 2 again' "$SM_LOG"; ok $? "webhook: the failure is logged"
wh_ctl ""

# --- 3: intake latency while the receiver hangs --------------------------
# time_submits N - mean seconds per bob submission (N of them).
time_submits() {
	local i t0 t1
	t0=$(date +%s.%N)
	for i in $(seq "$1"); do msg "lat $i" | submit smr-bob "lat$i@shop.test"; done
	t1=$(date +%s.%N)
	echo "$t0 $t1 $1" | awk '{ printf "%.3f", ($2 - $1) / $3 }'
}
base=$(time_submits 10)
wh_ctl "hang 30"
n0=$(wc -l <"$T/wh.log")
"$SM" freeze alice.test >/dev/null
sleep 1
slow=$(time_submits 10)
diag "intake: ${base}s per message, ${slow}s while the webhook receiver hangs"
awk -v b="$base" -v s="$slow" 'BEGIN { exit !(s < b + 0.15 && s < 0.45) }'
ok $? "intake latency unchanged while the receiver hangs (${base}s -> ${slow}s)"
is "$(grep -E ': site=bob.test .*verdict=none' "$SM_LOG" | wc -l | tr -d ' ')" 0 "every submission got its verdict from sitemaild in time"
is "$(wc -l <"$T/wh.log" | tr -d ' ')" "$n0" "the receiver is still hanging"
wh_ctl ""
"$SM" thaw alice.test >/dev/null

# --- 4: twenty freezes and thaws in a minute ------------------------------
"$SM" freeze bob.test >/dev/null	# a notice of its own, then quiet
wait_for 10 notice_has bob.test 1
base_n=$(notice_count bob.test)
t0=$(date +%s)
for i in $(seq 10); do
	"$SM" thaw bob.test >/dev/null && "$SM" freeze bob.test >/dev/null || break
done
"$SM" thaw bob.test >/dev/null
ok $? "twenty freezes and thaws (in $(( $(date +%s) - t0 ))s)"
sleep 3
is "$(notice_count bob.test)" "$base_n" "no notice yet: within the interval"
wait_for 40 notice_has bob.test $((base_n + 1)); ok $? "one notice at the end of the interval"
sleep 3
is "$(notice_count bob.test)" $((base_n + 1)) "bounded: one notice for twenty events"
N4=$(notices bob.test | xargs ls -t | head -1)
like "$(grep '^Subject:' "$N4" | tr -d '\r')" "site bob.test 21 events: 10 freeze 11 thaw" "the notice counts every event"
grep -q '\.\.\. and 11 more' "$N4"; ok $? "ten described, the rest counted"
is "$(wh_events 'select(.site == "bob.test") | .event' | wc -l | tr -d ' ')" 22 "webhook: every event posted"

# --- 5: a quarantined file --------------------------------------------------
QQ=0000000000000000dead
printf 'not a spool file\n' >"$SPOOL/tmp/$QQ"
chown smr-alice:sitemail "$SPOOL/tmp/$QQ"; chmod 640 "$SPOOL/tmp/$QQ"
mv "$SPOOL/tmp/$QQ" "$SPOOL/queue/$QQ"
quar() { [ -n "$(wh_events 'select(.event == "quarantine")')" ]; }
wait_for 20 quar; ok $? "webhook: a quarantine event"
is "$(wh_events 'select(.event == "quarantine") | "\(.site) \(.trigger)"' | head -1)" '"alice.test verify"' "quarantine: the file owner's site"

# --- 5b: spool quota: the event when the usage snapshot reaches it --------
"$SM" freeze alice.test >/dev/null
(cd "$WWW" && php_msg 8 | submit smr-alice "v8@shop.test"); ok $? "frozen alice: one more message accepted (held)"
sed -i 's/^backlog = 3$/backlog = 3\nspool_quota = 100/' "$ETC/sites.d/alice.conf"
"$SM" check-config >/dev/null; ok $? "spool_quota = 100 for alice"
quota_ev() { [ -n "$(wh_events 'select(.event == "quota" and .site == "alice.test")')" ]; }
wait_for 40 quota_ev; ok $? "webhook: a quota event within a usage walk"
is "$(wh_events 'select(.event == "quota") | "\(.trigger) \(.figures.spool_quota) \(.figures.bytes > 100)"' | head -1)" '"spool_quota 100 true"' "quota: trigger and figures"
(cd "$WWW" && php_msg 9 | submit smr-alice "v9@shop.test" 2>"$T/quota.err"); is "$?" 75 "intake refuses alice over its quota (75)"
like "$(cat "$T/quota.err")" "spool_quota" "the refusal names the quota"
"$SM" delete --site alice.test >/dev/null; ok $? "alice's queued message deleted"
sed -i '/^spool_quota = 100$/d' "$ETC/sites.d/alice.conf"
"$SM" thaw alice.test >/dev/null

# --- 6: metrics ----------------------------------------------------------------
wait_for 30 queue_empty
# prom_settled - copy the file once it shows bob's queue empty (the usage
# walk runs every 15 s) and a rewrite after the last result.
prom_settled() {
	cp "$PROM" "$T/prom.1" 2>/dev/null &&
	    grep -q '^sitemail_queue_messages{site="bob.test"} 0$' "$T/prom.1"
}
sleep 6
wait_for 30 prom_settled; ok $? "the metrics file is there and current"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/prom.1" >"$T/promtool.out" 2>&1
	ok $? "promtool check metrics: the file parses"
	[ -s "$T/promtool.out" ] && diag "$(cat "$T/promtool.out")"
else
	diag "promtool missing: own parser only"
fi
# metric NAME SITE - a sample's value from the copy.
metric() { awk -v m="sitemail_$1{site=\"$2\"}" '$1 == m { print $2 }' "$T/prom.1"; }
$PY - "$T/prom.1" <<'EOF'
import re, sys
ok = True
types = {}
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        _, _, name, t = line.split(" ")
        types[name] = t
        continue
    if line.startswith("#"):
        continue
    m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{site="((?:[^"\\]|\\.)*)"\})? (\S+)', line)
    if not m or m.group(1) not in types:
        print("bad line:", line); ok = False; continue
    float(m.group(4))
    if types[m.group(1)] == "counter" and not m.group(1).endswith("_total"):
        print("counter without _total:", line); ok = False
sys.exit(0 if ok else 1)
EOF
ok $? "own parser: every sample has a TYPE and a float value"
bob_qids() { grep -E 'queued: .* site=bob\.test ' "$SM_LOG" | sed -E 's/.*\]: ([0-9a-f]{20}): .*/\1/'; }
acc=$(bob_qids | wc -l | tr -d ' ')
sent=$(grep -F -f <(bob_qids) "$SM_LOG" | grep -c 'status=sent')
is "$(metric accepted_total bob.test)" "$acc" "accepted_total matches the log ($acc)"
is "$(metric sent_total bob.test)" "$sent" "sent_total matches the log ($sent)"
is "$(metric frozen_total bob.test)" 11 "frozen_total: eleven freezes"
is "$(metric frozen bob.test):$(metric queue_messages bob.test)" "0:0" "gauges: bob not frozen, nothing queued"
like "$(grep '^sitemail_quarantine_messages ' "$T/prom.1")" ' 1$' "quarantine gauge"
# A reader never sees a half-written file while sitemaild rewrites it.
$PY - "$PROM" <<'EOF'
import os, sys, time
path, seen, reads, end = sys.argv[1], set(), 0, time.time() + 12
while time.time() < end:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        print("missing"); sys.exit(1)
    seen.add(os.fstat(fd).st_ino)
    data = b""
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        data += b
    os.close(fd)
    reads += 1
    if not (data.startswith(b"# HELP sitemail_accepted_total") and
            data.endswith(b"\n") and b"\nsitemail_quarantine_messages " in data):
        print("half-written file after", reads, "reads"); sys.exit(1)
print("# %d reads, %d versions" % (reads, len(seen)))
sys.exit(0 if len(seen) >= 2 else 1)
EOF
ok $? "a reader looping on the file never sees it half-written (rewritten meanwhile)"

# --- 7: sitemail report -------------------------------------------------------
msg "bounce" | submit smr-bob "nobody@nullmx.test"
wait_for 20 queue_empty
"$SM" report --json >"$T/report.json"; ok $? "sitemail report --json"
bob() { jq -r "select(.site == \"bob.test\") | $1" "$T/report.json"; }
alice() { jq -r "select(.site == \"alice.test\") | $1" "$T/report.json"; }
is "$(alice '"\(.messages) \(.recipients)"')" "6 6" "report: alice's messages and recipients"
is "$(alice '.top_scripts[0] | "\(.script) \(.count)"')" "1001:mailer.php 6" "report: alice's top script"
is "$(alice '.top_cwds[0] | "\(.cwd) \(.count)"')" "$WWW 6" "report: alice's top cwd"
is "$(bob '"\(.messages) \(.recipients) \(.bounced)"')" "21 21 1" "report: bob's messages, recipients, bounces"
lat_got=$($PY - "$T/sh.spool" <<'EOF'
import glob, json, sys
print(sum(1 for f in glob.glob(sys.argv[1] + "*/*.json")
          for r in json.load(open(f))["rcpt_tos"] if r.startswith("lat")))
EOF
)
is "$(bob .sent):$lat_got" "20:20" "report: bob's sent = what the smarthost got"
is "$(bob '.top_domains | map("\(.domain)=\(.count)") | join(" ")')" "shop.test=20 nullmx.test=1" "report: bob's recipient domains"
"$SM" report --since 1h >"$T/report.txt"; ok $? "sitemail report (text)"
like "$(grep '^bob.test:' "$T/report.txt")" "messages=21 recipients=21 sent=20 deferred=0 bounced=1" "report text: bob's line"
"$SM" report --since bogus >/dev/null 2>&1; is "$?" 64 "report: a bad duration is a usage error"

rd_stop
sanitizer_clean; ok $? "no sanitizer report from sitemaild"
done_testing
