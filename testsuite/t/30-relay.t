#!/bin/bash
# 30-relay.t - queue/relay.c against the real test smarthost (aiosmtpd on
# loopback, testsuite/lib/smarthost.py): STARTTLS + AUTH delivery,
# per-recipient replies, session failures (never bounces), fallback URLs,
# per-job credentials, connection reuse, dot-stuffing, a 20 MB body
# streamed from the spool, slots that wait for slow replies in parallel,
# no reuse of a session whose end of data went unanswered, and
# relay_pool_free aborting running jobs.  Driven by $SM_SAN/tools/relay_send.
. "$SM_SRC/testsuite/lib/tap.sh"
: "${SM_SAN:?run through make check}"

RS=$SM_SAN/tools/relay_send
[ -x "$RS" ] || bail "missing $RS (make unit)"
$PY -c 'import aiosmtpd' 2>/dev/null || skip_all "python3-aiosmtpd missing"
command -v openssl >/dev/null || skip_all "openssl missing"

T=$(mktemp -d /tmp/sm-relay.XXXXXX)
PIDS=()
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

"$SM_SRC/testsuite/lib/mkcert.sh" "$T/certs" || bail "mkcert.sh failed"
CA=$T/certs/ca.pem

# start_smarthost NAME ARGS... - run smarthost.py; its port is in $T/NAME.port.
start_smarthost() {
	local name=$1 i; shift
	: >"$T/$name.ctl"
	$PY "$SM_SRC/testsuite/lib/smarthost.py" --port-file "$T/$name.port" \
	    --spool "$T/$name.spool" --log "$T/$name.log" \
	    --control "$T/$name.ctl" "$@" 2>>"$T/$name.err" &
	PIDS+=($!)
	for i in $(seq 100); do
		[ -s "$T/$name.port" ] && break
		sleep 0.1
	done
	[ -s "$T/$name.port" ] || bail "smarthost $name did not start"
}
# ctl NAME JSON - replace the smarthost's fault-injection file.
ctl() { printf '%s\n' "$2" >"$T/$1.ctl.tmp" && mv "$T/$1.ctl.tmp" "$T/$1.ctl"; }
# nconn NAME - TCP connections the smarthost has accepted so far.
nconn() { grep -c ' connect [0-9]' "$T/$1.log"; }
# nmsg NAME - messages the smarthost has accepted so far.
nmsg() { find "$T/$1.spool" -name '*.json' 2>/dev/null | wc -l | tr -d ' '; }
# lastmsg NAME - path (without extension) of the newest accepted message.
lastmsg() { echo "$T/$1.spool/$(nmsg "$1")"; }
# jget FILE EXPR - a field of a message's JSON, as Python prints it.
jget() { $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# closed_port - a loopback port with nothing listening.
closed_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# send ARGS... URL... - relay_send with the usual envelope; output in
# $T/out, stderr in $T/err.  A failed run (or an ASan/UBSan report) is
# counted in SEND_FAILS and shown.
SEND_FAILS=0
send() {
	local rc=0
	"$RS" --spool "$T/spool" --from sender@site.test --crlf \
	    --content "${CONTENT:-$T/msg.txt}" "$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" -ne 0 ] || grep -q 'Sanitizer\|runtime error' "$T/err"; then
		SEND_FAILS=$((SEND_FAILS + 1))
		diag "relay_send $* exited $rc:"
		sed 's/^/#   /' "$T/err" | head -20
	fi
}
# rline JOB ADDR - the result line of one recipient.
rline() { grep -F "job=$1 rcpt=<$2> " "$T/out"; }
# sline JOB - the session line of one job.
sline() { grep -E "^job=$1 session=" "$T/out"; }

start_smarthost sh --certdir "$T/certs" --users alice:secret,bob:hunter2
sh_PORT=$(cat "$T/sh.port")
URL=smtp://127.0.0.1:$sh_PORT
AUTH=(--auth alice:secret --ca "$CA")

printf 'From: sender@site.test\nTo: rcpt@dest.test\nSubject: relay test\n\nHello.\n' >"$T/msg.txt"

# 1. STARTTLS + AUTH delivery, body byte-identical.
send "${AUTH[@]}" --rcpt one@dest.test --rcpt two@dest.test "$URL"
like "$(sline 1)" 'session=ok relay=127\.0\.0\.1\[127\.0\.0\.1\]:'"$sh_PORT"' ' \
    "TLS+AUTH: session ok, relay name host[ip]:port"
like "$(rline 1 one@dest.test)" 'code=250 dsn=2\.0\.0 text=250 2\.0\.0 OK' \
    "TLS+AUTH: first recipient sent"
like "$(rline 1 two@dest.test)" 'code=250 dsn=2\.0\.0' \
    "TLS+AUTH: second recipient sent"
m=$(lastmsg sh)
sed 's/$/\r/' "$T/msg.txt" >"$T/msg.crlf"
cmp -s "$T/msg.crlf" "$m.eml"; ok $? "TLS+AUTH: body arrives byte-identical"
is "$(jget "$m.json" 'd["auth_user"], d["tls"]')" "('alice', True)" \
    "TLS+AUTH: authenticated as alice over TLS"
is "$(jget "$m.json" 'd["mail_from"], d["rcpt_tos"]')" \
    "('sender@site.test', ['one@dest.test', 'two@dest.test'])" \
    "TLS+AUTH: envelope as given"
is "$(jget "$m.json" 'd["helo"]')" "relay-send.test" \
    "EHLO name taken from the URL path"

# 2. Per-recipient 250/451/550 in one transaction.
ctl sh '{"rcpt": {"temp@*": [451, "4.2.0 mailbox busy"], "gone@*": [550, "5.1.1 no such user"]}}'
n0=$(nmsg sh)
send "${AUTH[@]}" --rcpt ok@dest.test --rcpt temp@dest.test \
    --rcpt gone@dest.test "$URL"
like "$(sline 1)" 'session=ok' "mixed replies: not a session failure"
like "$(rline 1 ok@dest.test)" 'code=250 dsn=2\.0\.0' "mixed: 250 recipient sent"
like "$(rline 1 temp@dest.test)" 'code=451 dsn=4\.2\.0 text=451 4\.2\.0 mailbox busy$' \
    "mixed: 451 recipient deferred with the server's text"
like "$(rline 1 gone@dest.test)" 'code=550 dsn=5\.1\.1 text=550 5\.1\.1 no such user$' \
    "mixed: 550 recipient bounced with the server's text"
is "$(( $(nmsg sh) - n0 ))" 1 "mixed: one message delivered"
is "$(jget "$(lastmsg sh).json" 'd["rcpt_tos"]')" "['ok@dest.test']" \
    "mixed: only the accepted recipient got it"

# All recipients refused: per-recipient results, no DATA, no failure.
send "${AUTH[@]}" --rcpt temp@dest.test --rcpt gone@dest.test "$URL"
like "$(sline 1)" 'session=ok' "all refused: not a session failure"
like "$(rline 1 temp@dest.test)" 'code=451' "all refused: 451 kept"
like "$(rline 1 gone@dest.test)" 'code=550' "all refused: 550 kept"

# 451 for the first 2 attempts, then 250 (a retry).
ctl sh '{"rcpt": {"later@*": {"code": 451, "text": "4.7.1 greylisted", "times": 2}}}'
send "${AUTH[@]}" --rcpt later@dest.test --count 3 "$URL"
like "$(rline 1 later@dest.test)" 'code=451 dsn=4\.7\.1' "retry: 1st attempt 451"
like "$(rline 2 later@dest.test)" 'code=451' "retry: 2nd attempt 451"
like "$(rline 3 later@dest.test)" 'code=250' "retry: 3rd attempt 250"

# Replies to MAIL FROM and to the end of DATA apply to every recipient.
ctl sh '{"mail": [553, "5.1.8 sender rejected"]}'
send "${AUTH[@]}" --rcpt a@dest.test --rcpt b@dest.test "$URL"
like "$(rline 1 a@dest.test)$(rline 1 b@dest.test)" \
    'code=553 dsn=5\.1\.8.*code=553 dsn=5\.1\.8' "MAIL FROM 553: everyone bounced"
ctl sh '{"data": [554, "5.7.1 message refused"]}'
send "${AUTH[@]}" --rcpt a@dest.test --rcpt gone@dest.test "$URL"
like "$(rline 1 a@dest.test)" 'code=554 dsn=5\.7\.1 text=554 5\.7\.1 message refused' \
    "end of DATA 554: accepted recipient bounced"
ctl sh '{"data": {"code": 451, "text": "4.3.0 queue full", "times": 1}, "rcpt": {"gone@*": [550, "5.1.1 no such user"]}}'
n0=$(nconn sh)
send "${AUTH[@]}" --rcpt a@dest.test --rcpt gone@dest.test --count 2 "$URL"
like "$(rline 1 a@dest.test)" 'code=451 dsn=4\.3\.0' "end of DATA 451: accepted recipient deferred"
like "$(rline 1 gone@dest.test)" 'code=550 dsn=5\.1\.1' "end of DATA 451: refused recipient keeps its 550"
like "$(rline 2 a@dest.test)" 'code=250' "after a DATA 451 the next message is sent"
ctl sh '{}'

# 3. Session failures: always deferred (4.x.x), never a 5xx result.
send --auth alice:wrong --ca "$CA" --rcpt a@dest.test "$URL"
like "$(sline 1)" 'session=failed .*text=.*535 5\.7\.8' "wrong password: session failure naming the 535"
like "$(rline 1 a@dest.test)" 'code=421 dsn=4\.7\.8 ' "wrong password: deferred, not bounced"

send --auth alice:secret --rcpt a@dest.test "$URL"
like "$(sline 1)" 'session=failed .*text=SSL certificate problem' \
    "untrusted certificate (no ca_file): session failure"
like "$(rline 1 a@dest.test)" 'code=421 dsn=4\.7\.0 ' "untrusted certificate: deferred"
send --auth alice:secret --ca "$T/certs/other-ca.pem" --rcpt a@dest.test "$URL"
like "$(sline 1)" 'session=failed .*SSL certificate problem' \
    "certificate from another CA: session failure"
send --auth alice:secret --ca "$CA" --no-verify --rcpt a@dest.test \
    "smtp://localhost:$sh_PORT"
like "$(sline 1)" 'session=ok' "tls_verify=no with the right CA still works"

DOWN=$(closed_port)
send "${AUTH[@]}" --rcpt a@dest.test "smtp://127.0.0.1:$DOWN"
like "$(sline 1)" "session=failed relay=127\.0\.0\.1\[.*\]:$DOWN .*text=Failed to connect" \
    "server down: session failure"
like "$(rline 1 a@dest.test)" 'code=421 dsn=4\.4\.1 ' "server down: deferred (4.4.1)"

ctl sh '{"greeting": [421, "4.3.2 too busy"]}'
n0=$(nconn sh)
send "${AUTH[@]}" --rcpt a@dest.test "$URL"
like "$(sline 1)" 'session=failed .*said: 421 4\.3\.2 too busy \(in reply to the greeting\)' \
    "421 greeting: session failure with the server's text"
like "$(rline 1 a@dest.test)" 'code=421 dsn=4\.3\.2 ' "421 greeting: deferred"
is "$(( $(nconn sh) - n0 ))" 1 "421 greeting: one TCP connection, closed by the server"

ctl sh '{"greeting": {"code": 421, "text": "4.3.2 too busy", "times": 1}}'
n0=$(nmsg sh)
send "${AUTH[@]}" --rcpt a@dest.test --count 2 "$URL"
like "$(sline 1)" 'session=failed' "421 then success: first job fails"
like "$(rline 2 a@dest.test)" 'code=250' "421 then success: the next job on the slot is sent"
is "$(( $(nmsg sh) - n0 ))" 1 "421 then success: exactly one message delivered"

ctl sh '{"data_disconnect": {"times": 1}}'
n0=$(nmsg sh); c0=$(nconn sh)
send "${AUTH[@]}" --rcpt a@dest.test --count 2 "$URL"
like "$(sline 1)" 'session=failed .*text=lost connection with 127\.0\.0\.1 while sending message data' \
    "disconnect in DATA (before the final reply): session failure"
like "$(rline 1 a@dest.test)" 'code=421 dsn=4\.4\.2 ' "disconnect in DATA: deferred"
like "$(rline 2 a@dest.test)" 'code=250' "after a disconnect the next job is sent"
is "$(( $(nmsg sh) - n0 ))/$(( $(nconn sh) - c0 ))" "1/2" \
    "after a disconnect the broken connection is not reused"
ctl sh '{"data_disconnect": 40}'
send "${AUTH[@]}" --rcpt a@dest.test "$URL"
like "$(sline 1)" 'session=failed' "disconnect in the middle of the body: session failure"
like "$(rline 1 a@dest.test)" 'code=421 dsn=4\.4\.' "disconnect mid-body: deferred"

ctl sh '{"delay": {"rcpt": 3}}'
send "${AUTH[@]}" --rcpt a@dest.test --timeout 1 "$URL"
like "$(sline 1)" 'session=failed .*timeout' "slow server: reply timeout is a session failure"
ctl sh '{}'

# 4. Fallback URL when the first is unreachable.
n0=$(nmsg sh)
send "${AUTH[@]}" --rcpt a@dest.test "smtp://127.0.0.1:$DOWN" "$URL"
like "$(sline 1)" "session=ok relay=127\.0\.0\.1\[127\.0\.0\.1\]:$sh_PORT " \
    "fallback: delivered through the second URL"
is "$(( $(nmsg sh) - n0 ))" 1 "fallback: one message delivered"
like "$(cat "$T/err")" "relay 127\.0\.0\.1\[.*\]:$DOWN: .*trying smtp://127\.0\.0\.1:$sh_PORT" \
    "fallback: logged"

DOWN2=$(closed_port)
send "${AUTH[@]}" --rcpt a@dest.test "smtp://127.0.0.1:$DOWN" "smtp://127.0.0.1:$DOWN2"
like "$(sline 1)" "session=failed relay=127\.0\.0\.1\[.*\]:$DOWN2 " \
    "fallback: every URL down is a session failure naming the last"
like "$(rline 1 a@dest.test)" 'code=421 dsn=4\.4\.1 ' "fallback: all down, deferred"

# 5. Per-job credentials.
n0=$(nmsg sh)
send --ca "$CA" --auth alice:secret --auth bob:hunter2 --rcpt a@dest.test \
    --count 2 --connections 2 "$URL"
users=$(for i in $(seq $((n0 + 1)) $((n0 + 2))); do
	jget "$T/sh.spool/$i.json" 'd["auth_user"]'; done | sort | tr '\n' ' ')
is "$users" "alice bob " "per-job credentials: each job authenticated as its own user"

# 6. Connection reuse: 5 messages, 1 TCP connection.
n0=$(nconn sh); m0=$(nmsg sh)
send "${AUTH[@]}" --rcpt a@dest.test --count 5 "$URL"
is "$(grep -c 'code=250' "$T/out")" 5 "reuse: 5 messages sent"
is "$(( $(nconn sh) - n0 ))" 1 "reuse: over one TCP connection"
conns=$(for i in $(seq $((m0 + 1)) $((m0 + 5))); do
	jget "$T/sh.spool/$i.json" 'd["connection"]'; done | sort -u | wc -l)
is "$conns" 1 "reuse: the smarthost saw all five on the same connection"
n0=$(nconn sh)
send "${AUTH[@]}" --rcpt a@dest.test --count 6 --connections 3 "$URL"
is "$(grep -c 'code=250' "$T/out")" 6 "parallel: 6 messages sent on 3 slots"
[ $(( $(nconn sh) - n0 )) -le 3 ]; ok $? "parallel: at most 3 connections"

# 7. Dot-stuffing: lines that begin with "." arrive intact.
printf '.starts with a dot\nSubject: dots\n\n.\n..\n...\n.x\n. \nend\n.\n' >"$T/dots.txt"
CONTENT=$T/dots.txt send "${AUTH[@]}" --rcpt a@dest.test "$URL"
like "$(rline 1 a@dest.test)" 'code=250' "dots: sent"
sed 's/$/\r/' "$T/dots.txt" >"$T/dots.crlf"
cmp -s "$T/dots.crlf" "$(lastmsg sh).eml"
ok $? "dots: body with leading dots (and a first line \".\") arrives byte-identical"

# 8. The null sender (DSNs).
CONTENT=$T/msg.txt send "${AUTH[@]}" --from '' --rcpt a@dest.test "$URL"
like "$(rline 1 a@dest.test)" 'code=250' "null sender: sent"
is "$(jget "$(lastmsg sh).json" 'd["mail_from"]')" "<>" "null sender: MAIL FROM:<>"

# 9. Implicit TLS (smtps://) and the plain local transport.
start_smarthost tls --certdir "$T/certs" --users alice:secret --smtps
tls_PORT=$(cat "$T/tls.port")
send "${AUTH[@]}" --rcpt a@dest.test "smtps://127.0.0.1:$tls_PORT"
like "$(rline 1 a@dest.test)" 'code=250' "smtps://: sent"
is "$(jget "$(lastmsg tls).json" 'd["auth_user"], d["tls"]')" "('alice', True)" \
    "smtps://: authenticated over TLS"
start_smarthost plain --plain
plain_PORT=$(cat "$T/plain.port")
send --local --plaintext --rcpt a@local.test "smtp://127.0.0.1:$plain_PORT"
like "$(rline 1 a@local.test)" 'code=250' "local transport: plain sink delivery"
send "${AUTH[@]}" --rcpt a@dest.test "smtp://127.0.0.1:$plain_PORT"
like "$(sline 1)" 'session=failed' \
    "smarthost route never falls back to plaintext when STARTTLS is missing"
like "$(rline 1 a@dest.test)" 'code=421 dsn=4\.7\.0 ' "missing STARTTLS: deferred (4.7.0)"

# 10. A 20 MB message streams from the spool (peak RSS reported, not judged).
$PY - "$T/big.txt" <<'EOF'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: big\r\n\r\n")
    i = 0
    while f.tell() < 20 * 1024 * 1024:
        f.write(b"%07d %s\r\n" % (i, b"x" * 68))
        i += 1
    f.write(b".a dot line at the end\r\n")
EOF
# ASan keeps freed memory in a quarantine, which would show as RSS: off.
m0=$(nmsg sh)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 \
/usr/bin/time -v "$RS" --spool "$T/spool" --from sender@site.test \
    --content "$T/big.txt" "${AUTH[@]}" --rcpt big@dest.test "$URL" \
    >"$T/out" 2>"$T/time"
like "$(rline 1 big@dest.test)" 'code=250' "20 MB: sent"
cmp -s "$T/big.txt" "$T/sh.spool/$((m0 + 1)).eml"; ok $? "20 MB: byte-identical"
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time")
small=$(ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 \
    /usr/bin/time -v "$RS" --spool "$T/spool" --from s@site.test \
    --content "$T/msg.txt" "${AUTH[@]}" --rcpt a@dest.test "$URL" \
    2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p')
diag "peak RSS relaying 20 MB: ${rss} kB; a tiny message: ${small} kB (ASan build)"
[ -n "$rss" ] && [ -n "$small" ] && [ $((rss - small)) -lt 8192 ]
ok $? "20 MB: streamed, not held in memory (peak RSS within 8 MB of a tiny message)"

# 11. Slots wait in parallel: with a 2 s delay before the reply to the end
# of DATA, two slots must both have sent their end of data before the
# server's first final reply (one blocking libcurl wait would serialise
# them: the second end of data would follow the first reply).
start_smarthost slow --certdir "$T/certs" --users alice:secret
SLOW=smtp://127.0.0.1:$(cat "$T/slow.port")
ctl slow '{"delay": {"data": 2}}'
send "${AUTH[@]}" --rcpt a@dest.test --count 2 --connections 2 "$SLOW"
is "$(grep -c 'code=250' "$T/out")" 2 "parallel waits: both messages sent"
is "$(nconn slow)" 2 "parallel waits: on two connections"
is "$(awk '/end of data received/ { n++ }
    / << 250 2\.0\.0 OK queued/ { print n + 0; exit }' "$T/slow.log")" 2 \
    "parallel waits: both ends of data reached the server before its first final reply"
diag "two messages with a 2 s end-of-data delay on 2 slots:" \
    "$(sed -n 's/^job=\([0-9]*\) session=.*elapsed=\([0-9.]*\).*/job \1 \2 s/p' "$T/out" | tr '\n' ' ')"
is "$(grep -c ' << 221' "$T/slow.log")" 2 \
    "relay_pool_free: QUIT on both idle connections"

# 12. A session whose end of data got no reply in time is not reused
# (libcurl 7.88 would keep it; the next MAIL FROM would read the late 250).
ctl slow '{"delay": {"data": 3}}'
c0=$(nconn slow)
send "${AUTH[@]}" --rcpt a@dest.test --count 2 --timeout 1 "$SLOW"
like "$(sline 1)" 'session=failed .*while sending message data: .*timeout' \
    "no reply to the end of data in time: session failure"
like "$(sline 2)" 'session=failed .*while sending message data' \
    "the next job on the slot ran its own transaction up to the end of data"
is "$(( $(nconn slow) - c0 ))" 2 \
    "a session with an unanswered end of data is not reused"

# 13. relay_pool_free with jobs running: they are aborted and dropped
# without done(), instead of waiting 30 s for the replies.
ctl slow '{"delay": {"data": 30}}'
l0=$(wc -l <"$T/slow.log")
send "${AUTH[@]}" --rcpt a@dest.test --count 2 --connections 2 --abandon 2000 "$SLOW"
is "$(grep -c '^job=' "$T/out") $(grep '^abandoned=' "$T/out")" "0 abandoned=2" \
    "pool freed with two jobs running: both dropped without done()"
is "$(tail -n +"$((l0 + 1))" "$T/slow.log" | grep -c ' << 250 2\.0\.0')" 0 \
    "pool freed: relay_send returned before any final reply was due"
ctl slow '{}'

is "$SEND_FAILS" 0 "relay_send always exited 0, sanitizer-clean"

done_testing
