#!/bin/bash
# 13-crash.t - kill -9 of the submitter at many points while a large
# message streams in: each run is either "not queued, non-zero exit" or
# "queued once, complete and verified".  Nothing partial is ever visible.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/intake.sh"
sm_reset
sites_two
{ printf 'Subject: big\nTo: x@example.net\n\n'; head -c 6000000 /dev/urandom | base64 -w 76; } >"$TMPD/big.txt"
chmod 644 "$TMPD/big.txt"
want=$(tr -d '\r' <"$TMPD/big.txt" | tail -n +4 | md5sum)

runs=0 queued=0 killed=0
for delay in 0 0.001 0.005 0.01 0.02 0.05 0.08 0.1 0.15 0.2 0.3 0.5 0.8 1.2 2; do
	queue_snapshot
	# setpriv and sh both exec, so $! is the sendmail process itself.
	setpriv --reuid=smt-alice --regid="$(id -g smt-alice)" --init-groups \
	    --reset-env -- sh -c "exec $SENDMAIL -t -i <$TMPD/big.txt" &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null; rc=$?
	new=$(queue_new | grep -c .)
	runs=$((runs + 1))
	if [ "$rc" = 0 ]; then
		queued=$((queued + 1))
		is "$new" 1 "delay $delay: exit 0 and queued once"
		QID=$(queue_new)
		is "$(body "$QID" | md5sum)" "$want" "delay $delay: complete content"
	else
		killed=$((killed + 1))
		is "$new" 0 "delay $delay: killed (rc $rc), nothing visible"
	fi
done
diag "$runs runs: $queued queued, $killed killed"
[ "$killed" -gt 0 ]; ok $? "some runs were killed mid-stream"
done_testing
