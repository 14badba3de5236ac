#!/bin/bash
# 44-commit.t - every exit 0 is delivered (issue 12 test 7):
#  - with renameat2 unavailable (an LD_PRELOAD shim that fails it with
#    EINVAL, loaded into a non-set-id copy of sendmail run with the group
#    sitemail: the set-gid binary ignores LD_PRELOAD), 200 submissions while
#    the runner daemon watches queue/ are all delivered, none quarantined;
#  - a caller whose real and effective uid differ (setpriv --ruid=A
#    --euid=0, and --euid=another user) writes its file as the real uid and
#    is delivered;
#  - a queue file the runner cannot read (mode 000) is quarantined with one
#    clear line, not warned about on every pass.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"
: "${SM_SAN:?run through make check}"

SHIM=$SM_SAN/tools/norenameat2.so
[ -f "$SHIM" ] || bail "missing $SHIM (make unit)"
rn_init
sm_reset
sh_start sh --plain
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_PLAIN=1
rn_conf </dev/null
SMGID=$(id -g sitemail)
AUID=$(id -u smr-alice)

# A copy of sendmail that is not set-id, so the loader honours LD_PRELOAD;
# run with real and effective gid sitemail it reaches the spool as the
# set-gid one does.
cp "$SENDMAIL" "$T/sendmail-test"; chmod 755 "$T/sendmail-test"
: >"$T/norename.log"; chmod 666 "$T/norename.log"
# shim_submit N - one message through the copy, with renameat2 failing.
shim_submit() {
	msg "nr$1" | setpriv --reuid=smr-alice --regid="$SMGID" --clear-groups \
	    --reset-env -- env LD_PRELOAD="$SHIM" NORENAME_LOG="$T/norename.log" \
	    "$T/sendmail-test" -i "nr$1@shop.test"
}
# delivered PREFIX N - how many of PREFIX1..PREFIXN reached the smarthost.
delivered() {
	$PY - "$T/sh.spool" "$1" "$2" <<-'EOF'
	import glob, json, sys
	seen = set()
	for f in glob.glob(sys.argv[1] + "*/*.json"):
	    seen.update(json.load(open(f))["rcpt_tos"])
	print(sum(1 for i in range(1, int(sys.argv[3]) + 1)
	          if "%s%d@shop.test" % (sys.argv[2], i) in seen))
	EOF
}
all_delivered() { [ "$(delivered "$1" "$2")" -eq "$2" ]; }
quarantined() { find "$SPOOL/quarantine" -type f | wc -l | tr -d ' '; }

# --- 1: renameat2 unavailable, runner watching ---------------------------
rd_start
fails=0
for i in $(seq 200); do shim_submit "$i" || fails=$((fails + 1)); done
is "$fails" 0 "200 submissions with renameat2 failing: all exit 0"
is "$(wc -l <"$T/norename.log" | tr -d ' ')" 200 "the shim failed renameat2 200 times"
wait_for 60 all_delivered nr 200; ok $? "all 200 delivered"
is "$(quarantined)" 0 "none quarantined"
is "$(log_count 'quarantined')" 0 "no quarantine line in the log"
is "$(log_count 'hard links')" 0 "no link-count complaint"
rd_stop

# --- 2: real and effective uid differ ---------------------------------
msg ruid1 | setpriv --ruid=smr-alice --euid=0 --reset-env -- \
    "$SENDMAIL" -i ruid1@shop.test
ok $? "ruid=smr-alice euid=0: exit 0"
q=$(sm_queue_files | head -1)
is "$(stat -c %u "$SPOOL/queue/$q")" "$AUID" "the file is owned by the real uid"
like "$("$SBIN/sitemail" show "$q")" "uid: +$AUID" "the envelope records the real uid"
msg ruid2 | setpriv --ruid=smr-alice --euid=smr-bob --reset-env -- \
    "$SENDMAIL" -i ruid2@shop.test
ok $? "ruid=smr-alice euid=smr-bob: exit 0"
rd_once
is "$(delivered ruid 2)" 2 "both delivered"
is "$(quarantined)" 0 "none quarantined"

# --- 3: a file the runner cannot read ------------------------------------
msg unread1 | submit smr-alice unread1@shop.test
q=$(sm_queue_files | head -1)
chmod 000 "$SPOOL/queue/$q"
rd_once
rd_once
is "$(quarantined)" 1 "the unreadable file is quarantined"
is "$(log_count "$q: quarantined: cannot be read by the runner")" 1 "one clear line"
is "$(log_count "$q: cannot open")" 0 "no warning pass after pass"
is "$(sm_queue_count)" 0 "queue/ is empty"
sanitizer_clean; ok $? "runner: no sanitizer report"

done_testing
