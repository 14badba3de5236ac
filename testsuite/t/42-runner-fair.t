#!/bin/bash
# 42-runner-fair.t - delivery that never stalls and reports like Postfix
# (issue 12), with the real smarthost (smarthost.py) and real DNS
# (dnsmasq, plus a black hole that never answers):
#  1. DNS tarpit: site A's 50 recipient domains never answer; site B's
#     message is delivered in under 2 s with the daemon running, also to
#     a domain A's message wants too; a --once pass over the same ends in
#     bounded time; SIGTERM is prompt.
#  2. Fairness: A queues 2,000, then B queues 10: B's 10 are delivered
#     before A has delivered 500.
#  3. 550 + 451: one DSN names the 550 recipient after the first attempt,
#     a second one the 451 recipient once it expires; the runner is killed
#     between them and neither is repeated; an admin's "sitemail bounce"
#     afterwards names only the recipient not reported yet (3b).
#  4. delay_warning = 3s: exactly one "delayed" DSN; none for an
#     Auto-Submitted message; soft_bounce turns a 550 into a deferral.
#  5. Smarthost down, 1,000 queued: one pass makes at most a few connection
#     attempts; after it returns, the next pass delivers everything.
#  6. A smarthost that accepts and stays silent, with a fallback: mail flows
#     through the fallback within the greeting timeout; once its back-off
#     ends, one job at a time tries it again (6b).
#  8. A message committed during runner startup is delivered within 1 s.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

rn_init
# Domains under tarpit.test go to a server that never answers.
dns_blackhole bh || bail "black hole did not start"
dns_stop dns
printf 'server=/tarpit.test/127.0.0.1#%s\n' "$bh_PORT" >>"$T/dns/zone.conf"
dns_start dns "$T/dns/zone.conf" || bail "dnsmasq did not restart"
sm_reset
sh_start sh --plain
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_PLAIN=1
PUT=$SM_SAN/tools/spool_put
[ -x "$PUT" ] || bail "missing $PUT (make unit)"

# now - seconds with fractions.
now() { date +%s.%N; }
# secs T0 T1 - T1 - T0, two decimals.
secs() { echo "scale=2; ($2 - $1) / 1" | bc; }
# lt A B - 1 if A < B (decimals).
lt() { [ "$(echo "$1 < $2" | bc)" -eq 1 ]; }
# put SITE UID N RCPT... - queue N messages straight into the spool.
put() {
	local site=$1 uid=$2 n=$3; shift 3
	local args=() a
	for a in "$@"; do args+=(--rcpt "$a"); done
	setpriv --reuid=sitemail --regid=sitemail --init-groups -- "$PUT" \
	    --spool "$SPOOL" --key "$ETC/spool.key" --uid "$uid" \
	    --site "$site" --from "smr-alice@$site" --index --count "$n" \
	    "${args[@]}" >/dev/null
}
# dsns ADDR - the .eml files of DSNs (null sender) the smarthost got.
dsns() {
	$PY - "$T/sh.spool" "$1" <<-'EOF'
	import glob, json, sys
	for f in sorted(glob.glob(sys.argv[1] + "*/*.json")):
	    d = json.load(open(f))
	    if d["mail_from"] == "<>" and sys.argv[2] in d["rcpt_tos"]:
	        print(f[:-5] + ".eml")
	EOF
}
dsn_n() { dsns "$1" | wc -l | tr -d ' '; }
dsn_has() { [ "$(dsn_n "$1")" -ge "$2" ]; }
# connects NAME - TCP connections the smarthost NAME has seen.
connects() { local n; n=$(grep -c ' connect [0-9]' "$T/$1.log" 2>/dev/null); echo "${n:-0}"; }
# delivered_to RCPT-REGEX - messages the smarthost took for matching rcpts.
delivered_to() {
	$PY - "$T/sh.spool" "$1" <<-'EOF'
	import glob, json, re, sys
	r = re.compile(sys.argv[2])
	print(sum(1 for f in glob.glob(sys.argv[1] + "*/*.json")
	          if any(r.search(x) for x in json.load(open(f))["rcpt_tos"])))
	EOF
}
has_to() { [ "$(delivered_to "$1")" -ge "$2" ]; }
reset_all() { rd_stop; sm_reset; sh_ctl sh '{}'; rm -rf "$T/sh.spool"; mkdir -p "$T/sh.spool"; }

# --- 1: DNS tarpit ---------------------------------------------------------------
rn_conf </dev/null
rd_start
wait_for 10 grep -q 'sitemaild.*starting' "$SM_LOG" || bail "sitemaild did not start"
rcpts=()
for i in $(seq 50); do rcpts+=("u$i@d$i.tarpit.test"); done
# A wants shop.test too, behind its 50 tarpit domains: B's lookup of it
# must not wait in A's queue, nor get A's "share used up" deferral.
rcpts+=("a-also@shop.test")
msg 1 | submit smr-alice "${rcpts[@]}"
ok $? "site A queued one message to 50 tarpit domains and shop.test"
sleep 0.5
T0=$(now)
msg 2 | submit smr-bob rcpt@shop.test
wait_for 10 has_to '^rcpt@shop.test$' 1
T1=$(now)
ok $? "site B's message delivered while A's DNS never answers"
D1=$(secs "$T0" "$T1")
lt "$D1" 2 ; ok $? "... in under 2 s (took ${D1} s)"
[ "$(grep -c 'query\[ignored\]' "$DNS_DIR/bh.log")" -gt 0 ]
ok $? "the tarpit was asked (A's lookups ran)"
T0=$(now)
rd_stop
T1=$(now)
D=$(secs "$T0" "$T1")
lt "$D" 5; ok $? "SIGTERM with lookups blocked: stopped in ${D} s"
# --once over a fresh tarpit message and B's: bounded by A's DNS share.
rcpts=()
for i in $(seq 51 100); do rcpts+=("u$i@d$i.tarpit.test"); done
msg 3 | submit smr-alice "${rcpts[@]}"
msg 4 | submit smr-bob rcpt2@shop.test
T0=$(now)
rd_once
T1=$(now)
D=$(secs "$T0" "$T1")
lt "$D" 30; ok $? "--once pass with 100 tarpit recipients queued took ${D} s (< 30)"
has_to '^rcpt2@shop.test$' 1; ok $? "and B's message went in that pass"
[ "$(log_count 'used its share of DNS time')" -gt 0 ]
ok $? "A's lookups beyond its share were deferred without a query"
sanitizer_clean; ok $? "no sanitizer report"
diag "tarpit: B delivered in ${D1} s while A had 50 tarpit domains; --once ${D} s"

# --- 2: fairness -------------------------------------------------------------------
reset_all
# A slower smarthost (20 ms per message) so the backlog lasts.
sh_ctl sh '{"delay": {"data": 0.02}}'
rn_conf </dev/null
put alice.test "$(uid_of smr-alice)" 2000 a@shop.test
is "$(sm_queue_count)" 2000 "site A queued 2,000 messages"
rd_start
wait_for 30 has_to '^a@shop.test$' 20 || bail "A's backlog did not start"
A0=$(delivered_to '^a@shop.test$')
for i in $(seq 10); do msg "b$i" | submit smr-bob "b$i@shop.test"; done
wait_for 60 has_to '^b[0-9]+@shop.test$' 10
ok $? "site B's 10 delivered"
A1=$(delivered_to '^a@shop.test$')
lt "$A1" 500; ok $? "before A delivered 500 of its 2,000 (A: $A0 when B began, $A1 when B was done)"
wait_for 120 queue_empty; ok $? "then A's backlog drained"
diag "fairness: B's 10 took A from $A0 to $A1 delivered"

# --- 3: 550 + 451, DSNs per attempt, kill between -------------------------------------
reset_all
sh_ctl sh '{"rcpt": {"r451@*": [451, "4.2.0 try later"], "r550@*": [550, "5.1.1 no such user"]}}'
RN_LIFETIME=8s rn_conf </dev/null
rd_start
msg 5 | submit smr-alice -f smr-alice@alice.test ok@shop.test r451@shop.test r550@shop.test
wait_for 10 dsn_has smr-alice@alice.test 1; ok $? "a DSN after the first attempt"
E1=$(dsns smr-alice@alice.test | head -1)
is "$(grep -c '^Final-Recipient:' "$E1")" 1 "it names one recipient"
grep -q '^Final-Recipient: rfc822; r550@shop.test' "$E1"; ok $? "... the 550 one"
grep -q '^Action: failed' "$E1"; ok $? "... Action: failed"
has_to '^ok@shop.test$' 1; ok $? "ok@ was delivered"
rd_kill9
sleep 1
rd_start
wait_for 20 dsn_has smr-alice@alice.test 2; ok $? "a second DSN once the 451 recipient expired"
E2=$(dsns smr-alice@alice.test | sed -n 2p)
is "$(grep -c '^Final-Recipient:' "$E2")" 1 "it names one recipient"
grep -q '^Final-Recipient: rfc822; r451@shop.test' "$E2"; ok $? "... the 451 one"
wait_for 10 queue_empty; ok $? "the message is gone"
sleep 2
is "$(dsn_n smr-alice@alice.test)" 2 "no DSN was repeated (runner killed between)"
is "$(delivered_to '^ok@shop.test$')" 1 "ok@ got it once"

# --- 3b: an admin's bounce does not report again what a DSN reported ------------------
reset_all
sh_ctl sh '{"rcpt": {"r451@*": [451, "4.2.0 try later"], "r550@*": [550, "5.1.1 no such user"]}}'
rn_conf </dev/null
rd_start
msg 7 | submit smr-alice -f smr-alice@alice.test r451@shop.test r550@shop.test
wait_for 10 dsn_has smr-alice@alice.test 1; ok $? "3b: the 550 recipient's DSN after the first attempt"
rd_stop
QID=$(sm_queue_files | head -1)
"$SBIN/sitemail" bounce "$QID" >/dev/null; ok $? "3b: sitemail bounce of the message with the 451 recipient"
rd_start
wait_for 10 dsn_has smr-alice@alice.test 2; ok $? "3b: the admin's bounce sent a DSN"
E2=$(dsns smr-alice@alice.test | sed -n 2p)
is "$(grep -c '^Final-Recipient:' "$E2")" 1 "3b: it names one recipient"
grep -q '^Final-Recipient: rfc822; r451@shop.test' "$E2"; ok $? "3b: ... the 451 one, not the 550 one reported before"
rd_stop

# --- 4: delay_warning ------------------------------------------------------------------
reset_all
sh_ctl sh '{"rcpt": {"slow@*": [451, "4.2.0 try later"]}}'
rn_conf <<-EOF
[main]
delay_warning = 3s
EOF
rd_start
msg 6 | submit smr-alice -f smr-alice@alice.test slow@shop.test
wait_for 15 dsn_has smr-alice@alice.test 1; ok $? "a delayed DSN after delay_warning"
sleep 4
is "$(dsn_n smr-alice@alice.test)" 1 "only one, while retries go on"
E=$(dsns smr-alice@alice.test | head -1)
grep -q '^Action: delayed' "$E"; ok $? "Action: delayed"
grep -q '^Status: 4\.2\.0' "$E"; ok $? "Status: 4.2.0"
grep -q '^Diagnostic-Code: smtp; 451 4.2.0 try later' "$E"; ok $? "the last reason"
grep -q '^Subject: Delayed Mail' "$E"; ok $? "subject says delayed"
is "$(sm_queue_count)" 1 "the message is still queued"
rd_stop
# Auto-Submitted and null-sender messages get none.
rm -rf "$T/sh.spool"; mkdir -p "$T/sh.spool"; sm_reset
rn_conf <<-EOF
[main]
delay_warning = 1s
EOF
sh_ctl sh '{"rcpt": {"slow@*": [451, "4.2.0 try later"], "r550@*": [550, "5.1.1 no"]}}'
printf 'Auto-Submitted: auto-generated\nSubject: cron\n\nx\n' |
    submit smr-alice -f smr-alice@alice.test slow@shop.test r550@shop.test
rd_start
sleep 5
is "$(dsn_n smr-alice@alice.test)" 0 "Auto-Submitted: no DSN at all"
[ "$(log_count 'Auto-Submitted message, no bounce: dropped')" -gt 0 ]
ok $? "logged as dropped"

rd_stop
# soft_bounce: a 550 is a deferral (4.x.x), no DSN, the message stays.
rm -rf "$T/sh.spool"; mkdir -p "$T/sh.spool"; sm_reset
rn_conf <<-EOF
[smarthost]
soft_bounce = yes
EOF
msg 7 | submit smr-alice -f smr-alice@alice.test r550@shop.test
rd_once
[ "$(log_count 'to=<r550@shop.test>.*dsn=4\.1\.1, status=deferred')" -eq 1 ]
ok $? "soft_bounce: the 550 was deferred as 4.1.1"
is "$(dsn_n smr-alice@alice.test)" 0 "soft_bounce: no DSN"
is "$(sm_queue_count)" 1 "soft_bounce: still queued"

# --- 5: smarthost down, 1,000 queued ---------------------------------------------------
reset_all
sh_ctl sh '{"greeting": {"code": 421, "text": "4.3.2 down for maintenance", "times": 100000}}'
rn_conf </dev/null
put alice.test "$(uid_of smr-alice)" 1000 c@shop.test
C0=$(connects sh)
T0=$(now)
rd_once
T1=$(now)
C1=$(($(connects sh) - C0))
[ "$C1" -le 8 ]; ok $? "one pass over 1,000 messages made $C1 connection attempts (<= 8)"
D=$(secs "$T0" "$T1")
is "$(sm_queue_count)" 1000 "all still queued (pass took ${D} s)"
is "$(log_count 'route smarthost down')" 1 "route down logged once"
# The daemon: down once, then up once when the smarthost returns.
: >"$SM_LOG"
rd_start
wait_for 10 grep -q 'route smarthost down' "$SM_LOG"; ok $? "daemon: route down"
sleep 3
C2=$(($(connects sh) - C0 - C1))
[ "$C2" -le 8 ]; ok $? "daemon: $C2 connection attempts in 3 s of back-off (<= 8)"
sh_ctl sh '{}'
wait_for 30 queue_empty; ok $? "after it returned, the next pass delivered everything"
is "$(delivered_to '^c@shop.test$')" 1000 "all 1,000, once each"
is "$(log_count 'route smarthost down')" 1 "route down logged once"
is "$(log_count 'route smarthost up')" 1 "route up logged once"
rd_stop

# --- 6: a silent smarthost, with a fallback --------------------------------------------
# silent_setup NAME RETRY_MIN RETRY_MAX - a smarthost NAME that accepts and
# never greets, first in the URL list, the working one as its fallback.
silent_setup() {
	local port
	reset_all
	sh_start "$1" --plain
	sh_ctl "$1" '{"delay": {"greeting": 600}}'
	port=${1}_PORT
	SH_URL=smtp://127.0.0.1:${!port} SH_FALLBACK=smtp://127.0.0.1:$sh_PORT \
	    RN_RETRY_MIN=$2 RN_RETRY_MAX=$3 rn_conf <<-EOF
	[smarthost]
	greeting_timeout = 2s
	EOF
}
silent_setup silent 60s 1h
put alice.test "$(uid_of smr-alice)" 30 f@shop.test
T0=$(now)
rd_start
wait_for 30 has_to '^f@shop.test$' 30
ok $? "30 messages delivered through the fallback"
T1=$(now)
D=$(secs "$T0" "$T1")
lt "$D" 8; ok $? "within the greeting timeout, not per job (${D} s)"
S=$(connects silent)
[ "$S" -le 4 ]; ok $? "the silent host was tried $S time(s) (<= 4 slots), then skipped as dead"
[ "$(log_count 'timeout after 2s waiting for the greeting')" -gt 0 ]
ok $? "the timeout is logged"
rd_stop
sh_stop silent

# --- 6b: after its back-off, the silent host is tried by one job at a time ------
# retry_min = retry_max = 1s: the silent host's back-off ends every second
# while mail keeps coming; one job probes it (2 s greeting timeout) while
# the others keep using the fallback.
silent_setup silent2 1s 1s
rd_start
T0=$(now)
for b in 1 2 3 4 5 6 7 8; do
	put alice.test "$(uid_of smr-alice)" 5 "g$b@shop.test"
	sleep 1
done
wait_for 20 has_to '^g[1-8]@shop.test$' 40
ok $? "40 messages over 8 s delivered through the fallback"
D=$(secs "$T0" "$(now)")
S=$(connects silent2)
[ "$S" -le 6 ]; ok $? "the silent host was probed $S time(s) in ${D} s (<= 6: one job per back-off, not every slot)"
rd_stop
sh_stop silent2

# --- 8: pickup during startup ----------------------------------------------------------
reset_all
rn_conf </dev/null
rd_start
: >"$T/commits"
for i in $(seq 8); do
	msg "s$i" | submit smr-alice "s$i@shop.test"
	echo "s$i $(now)" >>"$T/commits"
	sleep 0.1
done
wait_for 10 has_to '^s[0-9]+@shop.test$' 8; ok $? "the 8 messages committed during startup were delivered"
WORST=$($PY - "$T/sh.spool" "$T/commits" <<-'EOF'
import glob, json, os, sys
at = {}
for f in glob.glob(sys.argv[1] + "*/*.json"):
    for r in json.load(open(f))["rcpt_tos"]:
        at[r.split("@")[0]] = os.path.getmtime(f)
worst = 0
for line in open(sys.argv[2]):
    k, t = line.split()
    worst = max(worst, at.get(k, 1e12) - float(t))
print("%.2f" % worst)
EOF
)
lt "$WORST" 1; ok $? "each within 1 s of its commit (worst ${WORST} s)"
rd_stop
sanitizer_clean; ok $? "no sanitizer report"

done_testing
