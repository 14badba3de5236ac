#!/bin/bash
# 42-state-damage.t - damaged or lost state never sends twice, never thaws
# and never refuses (issue 9 tests 7 and 8).
#
# Test 7: each of state/queue.tdb, bucket.tdb, stats.tdb and dns.tdb in
# turn is deleted, truncated and bit-flipped while mail is queued: three
# messages partly sent (the smarthost answered 451 for one recipient of
# each), one message frozen by an admin, one message of a site frozen by an
# admin.  After a runner pass everything not frozen is delivered exactly
# once, frozen mail stays queued and frozen, and a new submission is
# accepted and delivered.
#
# Test 8: with the spool on a small tmpfs, the file system fills up while
# 60 messages of 40 recipients are being delivered; once space returns,
# every recipient has been delivered exactly once.  Then sitemaild is
# started on the full spool without its state files: it waits, then starts.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

rn_init
SPOOL_MOUNTED=
# cleanup - unmount the tmpfs spool (if any), then the usual cleanup.
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	rd_stop
	[ -n "$SPOOL_MOUNTED" ] && umount "$SPOOL"
	rn_cleanup
}
trap cleanup EXIT
sm_reset
sh_start sh --plain
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_PLAIN=1
SITEMAIL=$SBIN/sitemail

# damage FILE HOW - delete, truncate (to half) or flip one bit at three
# places (in the header, the middle and near the end) of a state file.
damage() {
	local f=$SPOOL/state/$1
	case $2 in
	delete) rm -f "$f" ;;
	truncate) truncate -s $(($(stat -c %s "$f") / 2)) "$f" ;;
	flip) $PY - "$f" <<-'EOF'
	import os, sys
	size = os.path.getsize(sys.argv[1])
	with open(sys.argv[1], "r+b") as f:
	    for off in (48, size // 2, size - 24):
	        f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x10]))
	EOF
	;;
	esac
}
# count ADDR - deliveries of ADDR at the smarthost.
count() { sh_rcpt_count sh "$1"; }
# newest - the queue ID of the newest queue file.
newest() { sm_queue_files | sort | tail -1; }

# --- test 7: state damage ----------------------------------------------
# (SD_FILES, SD_HOWS and SD_NOFULL narrow the run while debugging.)
for f in ${SD_FILES:-queue.tdb bucket.tdb stats.tdb dns.tdb}; do
	for how in ${SD_HOWS:-delete truncate flip}; do
		tag=${f%.tdb}-$how
		sm_reset
		rn_conf </dev/null
		sh_ctl sh '{"rcpt": {"r451-*": [451, "4.2.0 try later"]}}'
		for i in 1 2 3; do
			msg "$tag-$i" | submit smr-alice "ok$i-$tag@shop.test" \
			    "r451-$i-$tag@shop.test"
		done
		msg "$tag-fz" | submit smr-alice "fz-$tag@shop.test"
		FZ=$(newest)
		"$SITEMAIL" freeze "$FZ" >/dev/null
		"$SITEMAIL" freeze bob.test >/dev/null
		msg "$tag-sf" | submit smr-bob "sf-$tag@shop.test"
		SF=$(newest)
		rd_once
		sent=$(( $(count "ok1-$tag@shop.test") + $(count "ok2-$tag@shop.test") +
		    $(count "ok3-$tag@shop.test") ))
		[ -f "$SPOOL/state/$f" ] || diag "$f does not exist before the damage"
		damage "$f" "$how"
		sh_ctl sh '{}'
		sleep 1.2		# retry_min is 1 s
		rd_once
		msg "$tag-new" | submit smr-alice "new-$tag@shop.test"; rc=$?
		rd_once
		res="sent-before=$sent"
		for a in ok1 ok2 ok3 r451-1 r451-2 r451-3 new fz sf; do
			res="$res $a=$(count "$a-$tag@shop.test")"
		done
		res="$res new-accepted=$rc queued=$(sm_queue_files | sort | tr '\n' ' ')"
		want="sent-before=3 ok1=1 ok2=1 ok3=1 r451-1=1 r451-2=1 r451-3=1 new=1 fz=0 sf=0 new-accepted=0 queued=$(printf '%s\n' "$FZ" "$SF" | sort | tr '\n' ' ')"
		is "$res" "$want" "$f $how: exactly once, frozen kept, new accepted"
		[ "$res" = "$want" ] || { tail -15 "$SM_LOG"
		    tail -5 "$T/sitemaild.err"; } | sed 's/^/# /'
		like "$("$SITEMAIL" show "$FZ")" 'frozen \(this message\)' \
		    "$f $how: the frozen message is still frozen"
	done
done
sanitizer_clean; ok $? "runner: no sanitizer report"

# --- test 8: the spool file system fills up during delivery --------------
[ -n "${SD_NOFULL:-}" ] && done_testing
mount -t tmpfs -o size=24m,mode=0770 tmpfs "$SPOOL" || bail "cannot mount a tmpfs"
SPOOL_MOUNTED=1
chown sitemail:sitemail "$SPOOL"
sm_reset
SH_CONNECTIONS=4 rn_conf <<-'EOF'
[main]
min_free_space = 1K
EOF
sh_ctl sh '{"rcpt": {"r451-*": {"code": 451, "text": "4.2.0 later", "times": 1}}, "delay": {"data": 0.3}}'
for i in $(seq 60); do
	rcpts=()
	for k in $(seq 38); do rcpts+=("full$i-$k@shop.test"); done
	rcpts+=("r451-full$i-a@shop.test" "r451-full$i-b@shop.test")
	msg "full$i" | submit smr-alice "${rcpts[@]}" || bail "submission $i"
done
is "$(sm_queue_count)" 60 "60 messages of 40 recipients queued"
base=$(sh_count sh)
rd_start
# Six of this part's messages out first: the runner is up and has made
# its state files before the file system fills.
wait_for 30 sh_has sh $((base + 6)) || diag "slow start"
# Fill the file system to the last block.
dd if=/dev/zero of="$SPOOL/fill" bs=64K status=none 2>/dev/null
ok $([ "$(df --output=avail "$SPOOL" | tail -1 | tr -d ' ')" -lt 64 ]; echo $?) "the spool file system is full"
sleep 6
paused=$(log_count 'delivery paused')
diag "while full: $(sh_count sh) messages at the smarthost, $paused pause line(s)"
rm -f "$SPOOL/fill"
wait_for 90 queue_empty; ok $? "everything delivered once space returned"
rd_stop
dups=$($PY - "$T/sh.spool" <<-'EOF'
import glob, json, sys
seen = {}
for f in glob.glob(sys.argv[1] + "*/*.json"):
    for r in json.load(open(f))["rcpt_tos"]:
        if "full" in r:
            seen[r] = seen.get(r, 0) + 1
print("recipients=%d dups=%d" % (len(seen), sum(n - 1 for n in seen.values())))
EOF
)
is "$dups" "recipients=2400 dups=0" "60 x 40 recipients, each delivered exactly once"
# Test 8b: sitemaild started on a full spool whose state files are gone
# waits for space (one error line) instead of exiting, then starts.
rm -f "$SPOOL/state/queue.tdb" "$SPOOL/state/bucket.tdb"
dd if=/dev/zero of="$SPOOL/fill" bs=64K status=none 2>/dev/null
rd_start
wait_for 10 log_has 'cannot start the runner'; ok $? "full spool at start: one clear line"
sleep 1
kill -0 "$RD_PID" 2>/dev/null; ok $? "  and sitemaild keeps running"
rm -f "$SPOOL/fill"
wait_for 15 log_has 'runner started after'; ok $? "  it starts once space returns"
msg "after-full" | submit smr-alice after-full@shop.test || bail "submission after full"
wait_for 30 queue_empty; ok $? "  and delivers new mail"
rd_stop
sanitizer_clean; ok $? "runner: no sanitizer report"
umount "$SPOOL" && SPOOL_MOUNTED=
sm_reset

done_testing
