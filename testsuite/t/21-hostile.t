#!/bin/bash
# 21-hostile.t - a hacked site attacks its own set-gid processes: it
# SIGSTOPs and SIGKILLs its sendmail, mailq and "sitemail list" at random
# points.  The set-gid programs hold no lock and write no shared state, so
# after every stop another site's submission, a runner pass and root's
# admin commands each finish in under a second; after every kill the
# shared state is intact: an admin's freeze holds and a sent recipient is
# never sent again.  Also: a site whose log write fails still gets exit 0,
# never creates the log, and the runner logs its message.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

rn_init
sm_reset
sh_start sh --certdir "$T/certs" --users relay:pw --control "$T/sh.ctl"
rn_secret "$T/pw" pw
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_USER=relay SH_PWFILE=$T/pw
rn_conf </dev/null
# alice: a slow rate, so her mail piles up and her mailq has work to do.
sm_site alice <<-EOF
[site alice.test]
users = smr-alice
domains = alice.test
rate = 1/d
burst = 1
backlog = 100000
EOF
sm_site carol <<-EOF
[site carol.test]
domains = carol.test
EOF
STOPS=${SM_HOSTILE_STOPS:-210}

# ms CMD... - run CMD (stdin from $MS_IN, output discarded) and print its
# wall time in ms.
ms() { local s e; s=$(date +%s%N); "$@" <"${MS_IN:-/dev/null}" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
# big - a message of about 300 KB, so intake runs long enough to be hit.
big() { printf 'Subject: big %s\n\n' "$1"; head -c 225000 /dev/zero | base64 -w 76; }
# hostile KIND - start one of alice's processes in the background; PID in HP.
hostile() {
	case $1 in
	0) big "$RANDOM" | as_user smr-alice "$SENDMAIL" -i victim@shop.test & ;;
	1) as_user smr-alice "$SENDMAIL" -bp >/dev/null & ;;
	2) as_user smr-alice "$SBIN/sitemail" list >/dev/null & ;;
	esac
	HP=$!
}
# pause - 0 to 40 ms.
pause() { sleep "0.0$(printf '%02d' $((RANDOM % 40)))"; }
# the_pids PID - PID and its children (setpriv execs; sendmail is PID).
the_pids() { echo "$1"; pgrep -P "$1" 2>/dev/null; }

rd_start
wait_for 10 test -S "$SPOOL/state/sitemaild.sock"; ok $? "sitemaild listens for intake"
for k in $(seq 20); do msg "alice $k" | submit smr-alice "a$k@shop.test"; done

# --- 1: stalls -----------------------------------------------------------
worst_b=0 worst_run=0 worst_admin=0 stops=0 nb=0
while [ "$stops" -lt "$STOPS" ]; do
	pids=()
	for kind in 0 1 2; do
		hostile "$kind"; pause
		for p in $(the_pids "$HP"); do kill -STOP "$p" 2>/dev/null; done
		pids+=("$HP"); stops=$((stops + 1))
	done
	nb=$((nb + 1))
	printf 'Subject: b %s\n\nhi\n' "$nb" >"$T/b.msg"
	t=$(MS_IN=$T/b.msg ms timeout 5 setpriv --reuid=smr-bob --regid="$(id -g smr-bob)" --init-groups --reset-env "$SENDMAIL" -i "b$nb@shop.test")
	[ "$t" -gt "$worst_b" ] && worst_b=$t
	t=$(ms timeout 5 "$SITEMAILD" -C "$ETC" --once)
	[ "$t" -gt "$worst_run" ] && worst_run=$t
	t=$(ms timeout 5 bash -c "'$SBIN/sitemail' freeze carol.test && '$SBIN/sitemail' thaw carol.test")
	[ "$t" -gt "$worst_admin" ] && worst_admin=$t
	for p in "${pids[@]}"; do
		for q in $(the_pids "$p"); do kill -KILL "$q" 2>/dev/null; done
		wait "$p" 2>/dev/null
	done
done
diag "$stops stops; worst times: site B's sendmail ${worst_b} ms, sitemaild --once ${worst_run} ms, root's freeze+thaw ${worst_admin} ms"
ok "$([ "$worst_b" -lt 1000 ] && echo 0 || echo 1)" "stalls: site B's submission always under 1 s ($worst_b ms)"
ok "$([ "$worst_run" -lt 1000 ] && echo 0 || echo 1)" "stalls: sitemaild --once always under 1 s ($worst_run ms)"
ok "$([ "$worst_admin" -lt 1000 ] && echo 0 || echo 1)" "stalls: root's freeze and thaw always under 1 s ($worst_admin ms)"
# b_count - site B's stall-test messages the smarthost has.
b_count() { cat "$T"/sh.spool/*.json 2>/dev/null | grep -o '"b[0-9]*@shop.test"' | wc -l; }
b_all() { [ "$(b_count)" -ge "$nb" ]; }
wait_for 30 b_all; ok $? "stalls: all $nb of site B's messages delivered"
sleep 1
is "$(b_count)" "$nb" "stalls: each exactly once"

# --- 2: kills, with a frozen message and a partly sent one ----------------
sh_ctl sh '{"rcpt": {"later@shop.test": [451, "4.2.0 try later"]}}'
msg "half" | submit smr-bob now@shop.test later@shop.test
wait_for 30 rcpt_has sh now@shop.test 1; ok $? "kills: the partly sent message: one recipient sent"
rd_stop
msg "frozen" | submit smr-bob frozen@shop.test
FQ=$(cd "$SPOOL/queue" && grep -l 'frozen@shop.test' -- * 2>/dev/null | head -1)
[ -n "$FQ" ] && "$SBIN/sitemail" freeze "$FQ" >/dev/null; ok $? "kills: an admin freezes message $FQ"
rd_start
wait_for 10 test -S "$SPOOL/state/sitemaild.sock"
kills=0
while [ "$kills" -lt "$STOPS" ]; do
	pids=()
	for kind in 0 1 2 0; do hostile "$kind"; pids+=("$HP"); done
	pause
	for p in "${pids[@]}"; do
		for q in $(the_pids "$p"); do kill -KILL "$q" 2>/dev/null; done
		wait "$p" 2>/dev/null; kills=$((kills + 1))
	done
done
sh_ctl sh '{}'
"$SBIN/sitemail" flush >/dev/null
msg "after" | submit smr-bob after@shop.test; ok $? "kills: a new submission is accepted after $kills kills"
wait_for 30 rcpt_has sh later@shop.test 1; ok $? "kills: the deferred recipient is delivered"
wait_for 30 rcpt_has sh after@shop.test 1
rd_stop
is "$(sh_rcpt_count sh now@shop.test)" 1 "kills: the sent recipient was never sent again"
is "$(sh_rcpt_count sh frozen@shop.test)" 0 "kills: the frozen message stayed frozen"
like "$("$SBIN/sitemail" list --frozen)" "$FQ" "kills: the freeze is still recorded"
for f in "$SPOOL"/state/*.tdb; do
	tdbtool "$f" check >"$T/check.out" 2>&1
	like "$(cat "$T/check.out")" "Database integrity is OK" "kills: ${f##*/} intact"
done

# --- 3: a site cannot create the log, and a failed log write loses nothing
rm -f "$SM_LOG"
msg "nolog" | submit smr-bob nolog@shop.test; ok $? "log missing: the submission still exits 0"
[ ! -e "$SM_LOG" ]; ok $? "log missing: the site did not create it"
: >"$SM_LOG"; chown sitemail:sitemail "$SM_LOG"; chmod 660 "$SM_LOG"
head -c 100000 /dev/zero >>"$SM_LOG"
printf 'Subject: fsize\n\nhi\n' | as_user smr-bob bash -c "ulimit -f 1; trap '' XFSZ; exec '$SENDMAIL' -i fsize@shop.test"
ok $? "log write fails (ulimit -f): the submission still exits 0"
rd_once
like "$(grep -a 'queued: .*site=bob.test' "$SM_LOG" | grep -c .)" "^[1-9]" "log write fails: the runner logged the message when it picked it up"
wait_for 20 rcpt_has sh fsize@shop.test 1; ok $? "log write fails: the message is delivered"
sanitizer_clean; ok $? "no sanitizer report from the runner"
done_testing
