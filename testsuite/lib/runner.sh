# runner.sh - helpers for the queue runner tests (testsuite/t/4*-runner*.t).
#
# Sourced after tap.sh.  rn_init sets up, under a scratch directory $T:
#   - a throwaway CA and certificate (mkcert.sh) in $T/certs,
#   - dnsmasq serving the standard .test zone (dns.sh): shop.test routes
#     to the smarthost, lo.test is local (MX on 127.0.0.1), nullmx.test
#     has a null MX, anything else under .test is NXDOMAIN,
#   - site users smr-alice (site alice.test) and smr-bob (bob.test).
# Smarthosts are started with sh_start NAME ARGS... (smarthost.py; port in
# NAME_PORT, fault injection with sh_ctl NAME JSON).  The runner is started
# with rd_start (background daemon) or rd_once (one pass).

. "$SM_SRC/testsuite/lib/dns.sh"

SENDMAIL=$SBIN/sendmail
SITEMAILD=$SBIN/sitemaild
T=
RN_PIDS=()
RD_PID=

# rn_cleanup - stop every server and runner the test started.
# shellcheck disable=SC2317  # called from the EXIT trap
rn_cleanup() {
	local p
	rd_stop
	for p in "${RN_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${RN_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	dns_stop_all
	[ -n "$T" ] && rm -rf "$T"
}

# rn_init - scratch dir, certificates, DNS, users.
rn_init() {
	$PY -c 'import aiosmtpd' 2>/dev/null || skip_all "python3-aiosmtpd missing"
	command -v openssl >/dev/null || skip_all "openssl missing"
	[ -x "$DNSMASQ" ] || skip_all "dnsmasq missing"
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (users, setgid intake)"
	T=$(mktemp -d /tmp/sm-runner.XXXXXX)
	chmod 755 "$T"
	trap rn_cleanup EXIT
	"$SM_SRC/testsuite/lib/mkcert.sh" "$T/certs" >/dev/null ||
		bail "mkcert.sh failed"
	chmod 755 "$T/certs"; chmod 644 "$T/certs/"*.pem
	CA=$T/certs/ca.pem
	dns_init "$T/dns"
	dns_zone_test "$T/dns/zone.conf"
	# The sites' own domains go to the smarthost too (bounces reach them).
	printf 'mx-host=%s,mx.outside.test,10\n' alice.test bob.test \
	    >>"$T/dns/zone.conf"
	dns_start dns "$T/dns/zone.conf" || bail "dnsmasq did not start"
	sm_user smr-alice; sm_user smr-bob
}

# sh_start NAME ARGS... - a smarthost.py; sets NAME_PORT.
sh_start() {
	local name=$1 i; shift
	rm -f "$T/$name.port"
	: >"$T/$name.ctl"
	$PY "$SM_SRC/testsuite/lib/smarthost.py" --port-file "$T/$name.port" \
	    --spool "$T/$name.spool" --log "$T/$name.log" \
	    --control "$T/$name.ctl" --pid-file "$T/$name.pid" "$@" \
	    2>>"$T/$name.err" &
	RN_PIDS+=($!)
	echo $! >"$T/$name.ppid"
	for i in $(seq 100); do
		[ -s "$T/$name.port" ] && break
		sleep 0.1
	done
	[ -s "$T/$name.port" ] || bail "smarthost $name did not start"
	printf -v "${name}_PORT" '%s' "$(cat "$T/$name.port")"
}
# sh_stop NAME - stop one smarthost (its port stays known).
sh_stop() {
	local pid
	pid=$(cat "$T/$1.ppid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	rm -f "$T/$1.ppid"
}
# sh_restart NAME ARGS... - start NAME again on the same port (a new
# process numbers its messages from 1 again: it gets a spool of its own,
# NAME.spool.rN, which the counting helpers include).
sh_restart() {
	local name=$1 port k=1; shift
	port=$(cat "$T/$name.port")
	while [ -e "$T/$name.spool.r$k" ]; do k=$((k + 1)); done
	mv "$T/$name.spool" "$T/$name.spool.r$k"
	sh_start "$name" --port "$port" "$@"
}
# sh_ctl NAME JSON - replace the smarthost's fault-injection file.
sh_ctl() { printf '%s\n' "$2" >"$T/$1.ctl.tmp" && mv "$T/$1.ctl.tmp" "$T/$1.ctl"; }
# sh_count NAME - messages NAME has accepted.
sh_count() { find "$T/$1.spool"* -name '*.json' 2>/dev/null | wc -l | tr -d ' '; }
# sh_has NAME N - NAME has accepted at least N messages (for wait_for).
sh_has() { [ "$(sh_count "$1")" -ge "$2" ]; }
# sh_rcpt_count NAME ADDR - accepted messages that were for ADDR.
sh_rcpt_count() {
	$PY - "$T/$1.spool" "$2" <<-'EOF'
	import glob, json, sys
	n = 0
	for f in glob.glob(sys.argv[1] + "*/*.json"):
	    d = json.load(open(f))
	    n += d["rcpt_tos"].count(sys.argv[2])
	print(n)
	EOF
}
# sh_has NAME N, rcpt_has NAME ADDR N - at least N messages (for wait_for).
sh_has() { [ "$(sh_count "$1")" -ge "$2" ]; }
rcpt_has() { [ "$(sh_rcpt_count "$1" "$2")" -ge "$3" ]; }
# sh_field NAME N EXPR - a field of message N's JSON (Python expression on d).
sh_field() { $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/$1.spool/$2.json" "$3"; }

# rn_conf - sitemail.conf for the runner tests; stdin is appended.
# SH_URL, SH_FALLBACK, SH_USER, SH_PWFILE, SH_CA, SH_CONNECTIONS, SH_PLAIN,
# SH_NOVERIFY select the smarthost; RN_RETRY_MIN, RN_RETRY_MAX and
# RN_LIFETIME the timing (defaults 1s, 2s, 1h).
rn_conf() {
	{
		printf 'retry_min = %s\nretry_max = %s\nqueue_lifetime = %s\n' \
		    "${RN_RETRY_MIN:-1s}" "${RN_RETRY_MAX:-2s}" \
		    "${RN_LIFETIME:-1h}"
		printf '[dns]\nservers = 127.0.0.1:%s\ntimeout = 2s\n' "$dns_PORT"
		printf '[smarthost]\nurl = %s\nca_file = %s\n' "${SH_URL:-}" \
		    "${SH_CA:-$CA}"
		printf 'connections = %s\n' "${SH_CONNECTIONS:-4}"
		[ -n "${SH_FALLBACK:-}" ] && printf 'fallback = %s\n' "$SH_FALLBACK"
		[ -n "${SH_USER:-}" ] && printf 'username = %s\n' "$SH_USER"
		[ -n "${SH_PWFILE:-}" ] && printf 'password_file = %s\n' "$SH_PWFILE"
		[ -n "${SH_PLAIN:-}" ] && printf 'allow_plaintext = yes\n'
		[ -n "${SH_NOVERIFY:-}" ] && printf 'tls_verify = no\n'
		printf '[limits]\nrate = 100/s\nburst = 10000\nbacklog = 100000\n'
		cat
	} | sm_conf
	sm_site alice <<-EOF
	[site alice.test]
	users = smr-alice
	domains = alice.test
	EOF
	sm_site bob <<-EOF
	[site bob.test]
	users = smr-bob
	domains = bob.test
	EOF
}
# rn_secret FILE TEXT - a password file readable by the runner only.
rn_secret() {
	printf '%s\n' "$2" >"$1"
	chown sitemail:sitemail "$1"; chmod 600 "$1"
}

# submit USER ARGS... - sendmail as USER, message on stdin; prints nothing.
submit() { local u=$1; shift; as_user "$u" "$SENDMAIL" -i "$@"; }
# msg N - a small test message body numbered N.
msg() { printf 'Subject: test %s\n\nmessage %s\n' "$1" "$1"; }

# rd_start [ARGS...] - the runner daemon in the background.
rd_start() {
	"$SITEMAILD" -C "$ETC" "$@" 2>>"$T/sitemaild.err" &
	RD_PID=$!
}
# rd_stop - SIGTERM the daemon and wait for it.
rd_stop() {
	[ -n "$RD_PID" ] || return 0
	kill "$RD_PID" 2>/dev/null; wait "$RD_PID" 2>/dev/null
	RD_PID=
}
# rd_kill9 - kill -9 the daemon.
rd_kill9() {
	[ -n "$RD_PID" ] || return 0
	kill -9 "$RD_PID" 2>/dev/null; wait "$RD_PID" 2>/dev/null
	RD_PID=
}
# rd_once [ARGS...] - one pass in the foreground.
rd_once() { "$SITEMAILD" -C "$ETC" --once "$@" 2>>"$T/sitemaild.err"; }

# wait_for SECS CMD... - poll CMD every 0.1 s until it succeeds; 1 on
# timeout.  CMD is run again each time: pass a function, not "$(...)".
wait_for() {
	local n=$(($1 * 10)) i; shift
	for i in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# queue_empty - no file left in queue/.
queue_empty() { [ "$(sm_queue_count)" -eq 0 ]; }
# log_count REGEX - matching lines in the mail log.
log_count() { grep -cE -- "$1" "$SM_LOG"; }
# log_has REGEX - the mail log has a matching line.
log_has() { grep -qE -- "$1" "$SM_LOG"; }
# sanitizer_clean - no ASan/UBSan report in the runner's stderr.
sanitizer_clean() { ! grep -q 'Sanitizer\|runtime error' "$T/sitemaild.err" 2>/dev/null; }
