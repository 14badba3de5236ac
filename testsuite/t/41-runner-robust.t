#!/bin/bash
# 41-runner-robust.t - sitemaild when things go wrong: tampered queue files
# (a flipped byte, truncation, a foreign key, a planted symlink) are
# quarantined and never delivered, and day-old tmp/ leftovers go; kill -9
# of the runner in the middle of deliveries, repeated, loses nothing and
# duplicates only what was in flight; two runners at once deliver each message exactly once; expired
# messages bounce, and a failing null-sender message does not.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"
: "${SM_SAN:?run through make check}"

PUT=$SM_SAN/tools/spool_put
[ -x "$PUT" ] || bail "missing $PUT (make unit)"
rn_init
sm_reset
USERS=alice:secret
sh_start sh --certdir "$T/certs" --users "$USERS"
rn_secret "$T/pw" secret
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_USER=alice SH_PWFILE=$T/pw
SM_UID=$(id -u sitemail)

# put ARGS... - spool_put as the runner user (its files are its own).
put() {
	setpriv --reuid=sitemail --regid=sitemail --init-groups -- \
	    "$PUT" --spool "$SPOOL" --key "$ETC/spool.key" --uid "$SM_UID" \
	    --index "$@"
}
# subjects PREFIX N - "ok" if each of PREFIX1..PREFIXN reached the
# smarthost at least once; prints "missing=M dups=D".
subjects() {
	$PY - "$T/sh.spool" "$1" "$2" <<-'EOF'
	import glob, re, sys
	seen = {}
	for f in glob.glob(sys.argv[1] + "*/*.eml"):
	    m = re.search(rb"^Subject: (.*?)\r?$", open(f, "rb").read(), re.M)
	    if m:
	        s = m.group(1).decode()
	        seen[s] = seen.get(s, 0) + 1
	want = ["test %s%d" % (sys.argv[2], i) for i in range(1, int(sys.argv[3]) + 1)]
	missing = sum(1 for w in want if w not in seen)
	dups = sum(seen[w] - 1 for w in want if w in seen)
	print("missing=%d dups=%d" % (missing, dups))
	EOF
}
# submit_many PREFIX N ADDR - N messages "test PREFIXi" from smr-alice.
submit_many() {
	local i
	for i in $(seq "$2"); do
		msg "$1$i" | submit smr-alice "$3" || return 1
	done
}

# --- 1: quarantine -------------------------------------------------------
rn_conf </dev/null
for i in 1 2 3; do msg "q$i" | submit smr-alice "q$i@shop.test"; done
mapfile -t Q < <(sm_queue_files | sort)
is "${#Q[@]}" 3 "three messages queued"
# A flipped byte in the content.
$PY - "$SPOOL/queue/${Q[0]}" <<-'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(60); b = f.read(1); f.seek(60); f.write(bytes([b[0] ^ 0x01]))
EOF
# Truncated.
truncate -s -10 "$SPOOL/queue/${Q[1]}"
# A planted symlink: the real file moved away, a link in its place.
mv "$SPOOL/queue/${Q[2]}" "$T/real-${Q[2]}"
chmod 644 "$T/real-${Q[2]}"
ln -s "$T/real-${Q[2]}" "$SPOOL/queue/${Q[2]}"
# Signed with a key that is not ours.
FOREIGN=$(setpriv --reuid=sitemail --regid=sitemail --init-groups -- \
    "$PUT" --spool "$SPOOL" --random-key --uid "$SM_UID" --index \
    --site alice.test --from smr-alice@alice.test --rcpt q4@shop.test)
ok $? "a file signed with a foreign key"
# Leftovers of interrupted submissions in tmp/: an old one and a new one.
install -o sitemail -g sitemail -m 640 /dev/null "$SPOOL/tmp/660f000000000aaaaaaa"
touch -d '2 days ago' "$SPOOL/tmp/660f000000000aaaaaaa"
install -o sitemail -g sitemail -m 640 /dev/null "$SPOOL/tmp/660f000000000bbbbbbb"
rd_once
is "$(ls "$SPOOL/tmp")" 660f000000000bbbbbbb "tmp/: the day-old leftover removed, the fresh one kept"
is "$(sh_count sh)" 0 "none of them was delivered"
is "$(ls "$SPOOL/quarantine" | wc -l | tr -d ' ')" 4 "all four are in quarantine/"
ok "$(queue_empty; echo $?)" "queue/ is empty"
is "$(log_count ': quarantined: ')" 4 "four quarantine log lines"
like "$(grep "${Q[2]}: quarantined" "$SM_LOG")" 'symbolic link' "the symlink is named as such"
like "$(grep "$FOREIGN: quarantined" "$SM_LOG")" 'signature|MAC' "the foreign key fails the MAC"
is "$("$SBIN/sitemail" list)" "Mail queue is empty" "their queue records are gone"
ok "$([ -f "$T/real-${Q[2]}" ]; echo $?)" "the symlink's target was not touched"

# --- 2: kill -9 mid-delivery, repeated ---------------------------------------
sm_reset
rn_conf </dev/null
sh_ctl sh '{"delay": {"data": 0.05}}'
submit_many k 150 kill@shop.test
ok $? "150 messages submitted"
KILLS=0
for d in 0.3 0.5 0.4 0.7 0.6; do
	rd_start
	sleep "$d"
	rd_kill9
	KILLS=$((KILLS + 1))
done
rd_start
wait_for 60 queue_empty
ok $? "after $KILLS kill -9s the queue drained"
rd_stop
R=$(subjects k 150)
like "$R" '^missing=0 ' "every message was delivered ($R)"
DUPS=${R##*dups=}
ok "$([ "$DUPS" -le $((KILLS * 4)) ]; echo $?)" "duplicates ($DUPS) only for messages in flight (at most $KILLS kills x 4 connections)"
sh_ctl sh '{}'

# --- 3: two runners at once ----------------------------------------------------
sm_reset
rn_conf </dev/null
N0=$(sh_count sh)
submit_many two 500 two@shop.test
ok $? "500 messages submitted"
rd_once & P1=$!
rd_once & P2=$!
wait "$P1"; R1=$?
wait "$P2"; R2=$?
is "$R1$R2" 00 "both runners exited 0"
ok "$(queue_empty; echo $?)" "queue empty"
is "$(subjects two 500)" "missing=0 dups=0" "each of the 500 delivered exactly once"
is "$(($(sh_count sh) - N0))" 500 "500 messages at the smarthost"

# --- 4: expiry and the null sender ------------------------------------------------
sm_reset
rn_conf </dev/null
sh_ctl sh '{"rcpt": {"bad@shop.test": [550, "5.1.1 no such user"]}}'
OLD=$(($(date +%s) - 7200))
N0=$(sh_count sh)
EXP=$(put --time "$OLD" --site alice.test --from smr-alice@alice.test --rcpt exp@shop.test)
NULL1=$(put --site alice.test --from "" --rcpt bad@shop.test)
NULL2=$(put --time "$OLD" --site alice.test --from "" --rcpt exp2@shop.test)
rd_once
is "$(sh_rcpt_count sh exp@shop.test)$(sh_rcpt_count sh exp2@shop.test)" 00 \
    "expired messages are not delivered"
like "$(grep "$EXP: to=<exp@shop.test>" "$SM_LOG")" 'dsn=4\.4\.7, status=bounced \(message expired' \
    "expiry is logged as a 4.4.7 bounce"
is "$(sh_rcpt_count sh smr-alice@alice.test)" 1 "one DSN to the expired message's sender"
DSN=$(grep -l '^Final-Recipient: rfc822; *exp@shop.test' "$T"/sh.spool*/*.eml | head -1)
ok "$([ -n "$DSN" ] && grep -q 'Status: 5\.4\.7' "$DSN"; echo $?)" "the DSN reports 5.4.7 for exp@shop.test"
like "$(grep "$NULL1:" "$SM_LOG")" 'sender is null, no bounce: dropped' "a 550 to a null-sender message: no bounce"
like "$(grep "$NULL2:" "$SM_LOG")" 'sender is null, no bounce: dropped' "an expired null-sender message: no bounce"
is "$(($(sh_count sh) - N0))" 1 "nothing but that one DSN left"
ok "$(queue_empty; echo $?)" "queue empty"

# A deferred message expires in the running daemon.
sm_reset
RN_LIFETIME=3s rn_conf </dev/null
sh_ctl sh '{"rcpt": {"slow@shop.test": [451, "4.2.0 never"]}}'
msg late | submit smr-alice slow@shop.test
rd_start
wait_for 20 grep -q 'to=<slow@shop.test>.*status=bounced (message expired' "$SM_LOG"
ok $? "deferred, then bounced once queue_lifetime passed"
like "$(grep 'to=<slow@shop.test>.*status=bounced' "$SM_LOG")" 'last reason: 451 4\.2\.0 never' \
    "the bounce carries the last reason"
wait_for 10 queue_empty
ok $? "queue empty"
rd_stop

ok "$(sanitizer_clean; echo $?)" "no sanitizer reports"
done_testing
