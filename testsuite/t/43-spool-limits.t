#!/bin/bash
# 43-spool-limits.t - the spool cannot be filled for free (issue 9 test 3):
# twenty submissions killed in the middle of their message leave no temp
# file after a runner pass once the grace period is over (the knob
# SITEMAIL_TMP_GRACE stands in for the default 30 s), while a live writer
# keeps its file and still commits; the daemon removes such a file by
# itself; spool_quota and min_free_space refuse with 75, a clear line and
# nothing left behind (min_free_space on a small tmpfs spool).
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

rn_init
SPOOL_MOUNTED=
# cleanup - unmount the tmpfs spool (if any), then the usual cleanup.
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	[ -n "$SPOOL_MOUNTED" ] && umount "$SPOOL"
	rn_cleanup
}
trap cleanup EXIT
sm_reset
sh_start sh --plain
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_PLAIN=1
rn_conf </dev/null
AGID=$(id -g smr-alice)

# start_writer N - sendmail as smr-alice reading its message from a FIFO
# that stays open: sets WPID (the sendmail process) and WFD (the writer
# end).  Part of a 100 KB body is written, so sendmail has written to its
# tmp/ file.
start_writer() {
	local fifo=$T/in$1
	rm -f "$fifo"; mkfifo "$fifo"; chmod 644 "$fifo"
	( exec setpriv --reuid=smr-alice --regid="$AGID" --init-groups \
	    --reset-env -- "$SENDMAIL" -i "k$1@shop.test" <"$fifo" \
	    2>>"$T/writer.err" ) &
	WPID=$!
	exec {WFD}>"$fifo"
	{ msg "k$1"; yes 'a line of a message that is never finished' |
	    head -c 100000; } >&"$WFD"
}
# tmp_count - files in tmp/.
tmp_count() { find "$SPOOL/tmp" -type f | wc -l | tr -d ' '; }
tmp_has() { [ "$(tmp_count)" -ge "$1" ]; }
tmp_empty() { [ "$(tmp_count)" -eq 0 ]; }

# --- 1: twenty killed submissions ---------------------------------------
for i in $(seq 20); do
	before=$(tmp_count)
	start_writer "$i"
	wait_for 5 tmp_has $((before + 1)) || diag "writer $i made no tmp file"
	kill -9 "$WPID"; wait "$WPID" 2>/dev/null
	exec {WFD}>&-
done
is "$(tmp_count)" 20 "20 killed submissions left 20 tmp/ files"
bytes=$(du -sb "$SPOOL/tmp" | cut -f1)
ok $((bytes < 20 * 200000 ? 0 : 1)) "tmp/ holds $bytes bytes"
# A live writer, older than the grace period too, keeps its file.
start_writer live
wait_for 5 tmp_has 21
LIVE=$WPID
sleep 3
SITEMAIL_TMP_GRACE=2 rd_once
is "$(tmp_count)" 1 "a runner pass (grace 2 s) removed the 20 dead writers' files, kept the live one"
is "$(log_count 'removed tmp/[0-9a-f]+: its writer is gone')" 20 "one log line per removed file"
printf '\nthe end\n' >&"$WFD"; exec {WFD}>&-
wait "$LIVE"; ok $? "the live writer still commits (exit 0)"
tmp_empty; ok $? "tmp/ is empty after the commit"
is "$(sm_queue_count)" 1 "the live writer's message is queued"

# The daemon does it by itself, within RUNNER_TICK (15 s) + the grace.
start_writer d1
wait_for 5 tmp_has 1
kill -9 "$WPID"; wait "$WPID" 2>/dev/null; exec {WFD}>&-
SITEMAIL_TMP_GRACE=2 rd_start
wait_for 25 tmp_empty; ok $? "the daemon removed a dead writer's file by itself"
rd_stop
sanitizer_clean; ok $? "runner: no sanitizer report"

# --- 2: spool_quota --------------------------------------------------------
sm_reset
SH_URL=smtp://127.0.0.1:9 rn_conf <<-'EOF'
spool_quota = 30K
EOF
big() { msg "$1"; yes 'quota filler line for the spool quota test' | head -c 10000; }
for i in 1 2 3 4; do big "quota$i" | submit smr-alice "q$i@shop.test"; done
is "$(sm_queue_count)" 4 "four 10 KB messages accepted (no usage snapshot yet)"
rd_once
ok $([ -s "$SPOOL/state/usage" ]; echo $?) "the runner published state/usage"
grep -q '^alice.test [0-9]' "$SPOOL/state/usage"; ok $? "usage lists alice.test"
err=$(big quota5 | submit smr-alice q5@shop.test 2>&1); rc=$?
is "$rc" 75 "over spool_quota: exit 75"
like "$err" 'alice.test holds [0-9]+ bytes .*spool_quota of 30720' "a clear one-line error"
is "$(printf '%s\n' "$err" | wc -l | tr -d ' ')" 1 "exactly one line"
is "$(sm_queue_count)" 4 "nothing queued"
is "$(tmp_count)" 0 "nothing left in tmp/"
is "$(log_count 'refused: site=alice.test: spool usage')" 1 "one log line for the refusal"
msg bob1 | submit smr-bob b1@shop.test; ok $? "another site is not affected"

# --- 3: min_free_space on a small tmpfs spool ------------------------------
mount -t tmpfs -o size=8m,mode=0770 tmpfs "$SPOOL" || bail "cannot mount a tmpfs"
SPOOL_MOUNTED=1
chown sitemail:sitemail "$SPOOL"
sm_reset
rn_conf <<-'EOF'
[main]
min_free_space = 4M
EOF
msg free1 | submit smr-alice f1@shop.test; ok $? "enough free space: accepted"
dd if=/dev/zero of="$SPOOL/fill" bs=1M count=5 status=none
err=$(msg free2 | submit smr-alice f2@shop.test 2>&1); rc=$?
is "$rc" 75 "below min_free_space: exit 75"
like "$err" 'mail spool is nearly full .*min_free_space 4194304' "a clear one-line error"
is "$(sm_queue_count)" 1 "nothing queued"
is "$(tmp_count)" 0 "nothing left in tmp/"
is "$(log_count 'refused: site=alice.test: the spool file system has')" 1 "one log line for the refusal"
rm -f "$SPOOL/fill"
msg free3 | submit smr-alice f3@shop.test; ok $? "space back: accepted again"
is "$(sm_queue_count)" 2 "two queued"
umount "$SPOOL" && SPOOL_MOUNTED=
sm_reset

done_testing
