#!/bin/bash
# 20-policy.t - per-site policy with real users, real sendmail, the real
# runner and the test smarthost: exact token accounting under concurrency,
# burst / hold / release in order, auto-freeze past the backlog (and the
# other site unaffected), from_policy for the envelope sender and the From
# header, and identity that cannot be spoofed.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

rn_init
sm_reset
sh_start sh --certdir "$T/certs" --users relay:pw
rn_secret "$T/pw" pw
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_USER=relay SH_PWFILE=$T/pw

# accepted SITE [held] - accepted-message log lines of SITE (held ones).
accepted() {
	if [ "${2:-}" = held ]; then grep -E ": site=$1 .*status=held" "$SM_LOG" | wc -l
	else grep -E ": site=$1 uid=" "$SM_LOG" | grep -vc 'status=held'; fi
}
# subjects - subjects the smarthost got, in arrival order.
subjects() {
	local n
	for n in $(ls "$T"/sh.spool/ | sed -n 's/\.json$//p' | sort -n); do
		grep -m1 -i '^Subject:' "$T/sh.spool/$n.eml" | tr -d '\r' | sed 's/^Subject: //I'
	done
}
# site_conf NAME USER DOMAIN KEY=VALUE... - a sites.d file.
site_conf() { local n=$1 u=$2 d=$3; shift 3
	{ printf '[site %s]\nusers = %s\ndomains = %s\n' "$n" "$u" "$d"
	  printf '%s\n' "$@"; } | sm_site "${n%%.*}"; }

# --- 1: exact accounting: 8 submitters, 2 sites, 400 messages ------------
rn_conf </dev/null
site_conf alice.test smr-alice alice.test "rate = 1/d" "burst = 60" "backlog = 100000"
site_conf bob.test smr-bob bob.test "rate = 1/d" "burst = 80" "backlog = 100000"
"$SBIN/sitemail" check-config >/dev/null; ok $? "config for accounting is valid"
# Intake gets its verdict from sitemaild over its socket: run the daemon.
rd_start
wait_for 10 test -S "$SPOOL/state/sitemaild.sock"; ok $? "sitemaild listens for intake"
pids=()
for w in 1 2 3 4; do
	for u in smr-alice smr-bob; do
		( for k in $(seq 50); do msg "$u-$w-$k" | submit "$u" "r$k@shop.test" || echo "fail $u $w $k"; done ) >"$T/w-$u-$w.out" 2>&1 &
		pids+=($!)
	done
done
for p in "${pids[@]}"; do wait "$p"; done
is "$(cat "$T"/w-*.out | grep -c fail)" 0 "400 concurrent submissions all accepted"
is "$(log_count ': site=(alice|bob).test uid=.* tokens=')" 400 "400 messages accepted with a verdict from sitemaild"
wait_for 60 sh_has sh 140; ok $? "the 140 released at once are delivered"
rd_stop
is "$(( $(sm_queue_count) + $(sh_count sh) ))" 400 "nothing lost: 260 held in the queue, 140 delivered"
is "$(accepted alice.test)" 60 "alice: exactly burst=60 released at once"
is "$(accepted alice.test held)" 140 "alice: the other 140 held"
is "$(accepted bob.test)" 80 "bob: exactly burst=80 released at once"
is "$(accepted bob.test held)" 120 "bob: the other 120 held"
"$SBIN/sitemail" sites --json >"$T/sites.json" 2>"$T/sites.err"
is "$(jq -r 'select(.site == "alice.test") | .tokens | floor' "$T/sites.json")" "-140" "alice: balance is burst - 200"
is "$(jq -r 'select(.site == "bob.test") | .tokens | floor' "$T/sites.json")" "-120" "bob: balance is burst - 200"

# --- 2: burst 5, fast rate: 5 at once, 7 held, all delivered in order -----
sm_reset
rn_conf </dev/null
site_conf alice.test smr-alice alice.test "rate = 30/m" "burst = 5" "backlog = 100"
b2=$(sh_count sh)
rd_start
wait_for 10 test -S "$SPOOL/state/sitemaild.sock"
for k in $(seq -w 1 12); do msg "burst $k" | submit smr-alice "b$k@shop.test"; done
is "$(accepted alice.test)" 5 "burst: 5 released at once"
is "$(accepted alice.test held)" 7 "burst: 7 held for tokens"
wait_for 30 sh_has sh $((b2 + 12))
ok $? "burst: all 12 delivered as tokens refilled"
rd_stop
# The 5 released at once go out in parallel; the held ones come due
# one by one, so from the sixth on the order is the submission order.
is "$(subjects | tail -n +$((b2 + 1)) | head -5 | sort | tr '\n' ' ')" "$(for k in 01 02 03 04 05; do printf 'test burst %s ' "$k"; done)" "burst: the first five out are the burst"
is "$(subjects | tail -n +$((b2 + 6)) | tr '\n' ' ')" "$(for k in $(seq -w 6 12); do printf 'test burst %s ' "$k"; done)" "burst: the held ones delivered in submission order"
queue_empty; ok $? "burst: nothing lost, queue empty"

# --- 3: auto-freeze past the backlog; the other site is unaffected --------
sm_reset
printf '[main]\nalert_to = abuse@shop.test\n' | rn_conf
site_conf alice.test smr-alice alice.test "rate = 30/m" "burst = 2" "backlog = 3"
"$SBIN/sitemail" check-config >/dev/null; ok $? "config with alert_to is valid"
base=$(sh_count sh)
rd_start
wait_for 10 test -S "$SPOOL/state/sitemaild.sock"
rcs=""
for k in 1 2 3 4 5 6 7; do
	msg "spam $k" | submit smr-alice "s$k@shop.test" 2>"$T/freeze.err.$k"; rcs="$rcs $?"
done
is "$rcs" " 0 0 0 0 0 75 75" "freeze: 2 sent + 3 held accepted, then exit 75"
like "$(cat "$T/freeze.err.6")" "site alice.test is frozen.*backlog.*sitemail thaw alice.test" "freeze: one line naming the site, the limit and the fix"
is "$(wc -l <"$T/freeze.err.6" | tr -d ' ')" 1 "freeze: exactly one stderr line"
is "$(log_count 'site frozen: site=alice.test')" 1 "freeze: logged once"
msg "bob while alice is frozen" | submit smr-bob ok@shop.test
ok $? "freeze: the other site still submits"
wait_for 30 rcpt_has sh ok@shop.test 1
wait_for 30 rcpt_has sh abuse@shop.test 1
sleep 1
is "$(sh_rcpt_count sh ok@shop.test)" 1 "freeze: the other site's mail is delivered"
is "$(sh_rcpt_count sh abuse@shop.test)" 1 "freeze: one notice mailed to alert_to"
ALERT=$(grep -l 'abuse@shop.test' "$T"/sh.spool/*.json | head -1)
like "$(grep -m1 '^Subject:' "${ALERT%.json}.eml" | tr -d '\r')" "site alice.test auto-frozen" "freeze: the notice names the site"
# s1 and s2 had tokens and may have left before the freeze; the three
# held ones never leave while the site is frozen.
held_out=0; for k in 3 4 5; do held_out=$((held_out + $(sh_rcpt_count sh s$k@shop.test))); done
is "$held_out" 0 "freeze: none of the frozen site's held mail left"
"$SBIN/sitemail" thaw alice.test >/dev/null
ok $? "freeze: sitemail thaw"
wait_for 30 sh_has sh $((base + 7))
ok $? "freeze: after the thaw everything accepted is delivered"
rd_stop

# --- 4: from_policy, for the envelope sender and the From header ---------
for pol in allow rewrite reject; do
	sm_reset
	rn_conf </dev/null
	site_conf alice.test smr-alice alice.test "from_policy = $pol"
	before=$(sh_count sh)
	printf 'From: "The Boss" <ceo@bob.test>\nSubject: forged %s\n\nhi\n' "$pol" |
	    submit smr-alice -f ceo@bob.test "p-$pol@shop.test" 2>"$T/pol.err"
	rc=$?
	if [ $pol = reject ]; then
		is "$rc" 77 "reject: forged sender exits 77"
		like "$(cat "$T/pol.err")" "not a domain of site alice.test" "reject: clear error"
		is "$(sm_queue_count)" 0 "reject: nothing queued"
		printf 'From: ceo@bob.test\nSubject: own\n\nhi\n' | submit smr-alice -f news@alice.test own@shop.test 2>/dev/null
		is "$?" 77 "reject: a forged From alone is refused too"
		printf 'From: news@alice.test\nSubject: own\n\nhi\n' | submit smr-alice -f news@alice.test own@shop.test
		ok $? "reject: own domain accepted"
		continue
	fi
	ok $rc "$pol: accepted"
	rd_once
	wait_for 10 sh_has sh $((before + 1))
	EML=$(ls -t "$T"/sh.spool/*.eml | head -1)
	J=${EML%.eml}.json
	from=$(grep -m1 -i '^From:' "$EML" | tr -d '\r')
	if [ $pol = allow ]; then
		is "$(jq -r .mail_from "$J")" "ceo@bob.test" "allow: envelope sender kept"
		like "$from" "ceo@bob.test" "allow: From kept"
	else
		is "$(jq -r .mail_from "$J")" "smr-alice@alice.test" "rewrite: envelope sender becomes the site address"
		is "$from" "From: smr-alice@alice.test" "rewrite: From becomes the site address"
		like "$(grep -m1 -i '^Reply-To:' "$EML" | tr -d '\r')" "ceo@bob.test" "rewrite: original kept in Reply-To"
		like "$(grep -m1 -i '^X-Original-From:' "$EML" | tr -d '\r')" "ceo@bob.test" "rewrite: original kept in X-Original-From"
	fi
done

# --- 5: identity cannot be spoofed ---------------------------------------
sm_reset
rn_conf </dev/null
printf 'From: x@bob.test\nSender: x@bob.test\nX-Site: bob.test\nSubject: spoof\n\nhi\n' |
    as_user smr-alice env SITEMAIL_CONFIG=/nonexistent SITE=bob.test USER=smr-bob LOGNAME=smr-bob \
    "$SENDMAIL" -i -f x@bob.test spoof@shop.test
ok $? "spoof attempt submitted"
QID=$(sm_queue_files | head -1)
like "$("$SBIN/sitemail" show "$QID" | grep '^site:')" "alice.test" "spoof: charged to its own site, not bob.test"
like "$("$SBIN/sitemail" show "$QID" | grep '^login:')" "smr-alice" "spoof: the real login"
printf 'Subject: c\n\nhi\n' | as_user smr-alice "$SENDMAIL" -C "$T" -i x@shop.test 2>/dev/null
is "$?" 77 "spoof: -C refused for a site user"
is "$(grep -c ': site=bob.test' "$SM_LOG")" 0 "spoof: nothing was charged to bob.test"
done_testing
