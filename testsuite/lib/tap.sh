# tap.sh - TAP helpers and a test instance for the integration tests.
#
# Sourced by testsuite/t/*.t (bash).  Environment from "make check":
#   SM_PREFIX  the scratch install (sbin/, etc/sitemail/, var/spool/sitemail/)
#   SM_SRC     the source tree
# Every test calls sm_reset first: a clean spool and a fresh config.

set -u
: "${SM_PREFIX:?run through make check}"
: "${SM_SRC:?run through make check}"
SBIN=$SM_PREFIX/sbin
ETC=$SM_PREFIX/etc/sitemail
SPOOL=$SM_PREFIX/var/spool/sitemail
SM_LOG=$SM_PREFIX/var/log/sitemail.log
PY=/usr/bin/python3
_tap_n=0
_tap_fail=0

# ok COND-STATUS NAME - record a result from the status of the last command.
ok() { local rc=$1; shift; _tap_n=$((_tap_n + 1))
	if [ "$rc" -eq 0 ]; then echo "ok $_tap_n - $*"
	else echo "not ok $_tap_n - $*"; _tap_fail=$((_tap_fail + 1)); fi; }
# is GOT WANT NAME - string equality.
is() { local got=$1 want=$2; shift 2
	if [ "$got" = "$want" ]; then ok 0 "$*"
	else ok 1 "$*"; echo "#   got:  '$got'"; echo "#   want: '$want'"; fi; }
# like GOT REGEX NAME - extended regex match.
like() { local got=$1 re=$2; shift 2
	if printf '%s' "$got" | grep -Eq -- "$re"; then ok 0 "$*"
	else ok 1 "$*"; echo "#   got:  '$got'"; echo "#   want: /$re/"; fi; }
diag() { echo "# $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
done_testing() { echo "1..$_tap_n"; [ "$_tap_fail" -eq 0 ]; exit $?; }
bail() { echo "Bail out! $*"; exit 255; }

# sm_user NAME - a real user for a site (created once, idempotent).
sm_user() {
	getent passwd "$1" >/dev/null || useradd -m -s /bin/sh "$1" ||
		bail "useradd $1"
}
# as_user NAME CMD... - run CMD with the real and effective ids of NAME.
as_user() { local u=$1; shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
	    --reset-env -- "$@"; }
uid_of() { id -u "$1"; }

# sm_conf - write sitemail.conf from stdin after the [main] basics.
sm_conf() {
	mkdir -p "$ETC/sites.d"
	{
		printf '[main]\nhostname = mx.sitemail.test\n'
		printf 'spool_dir = %s\nlog = file:%s\n' "$SPOOL" "$SM_LOG"
		cat
	} >"$ETC/sitemail.conf"
	chmod 644 "$ETC/sitemail.conf"
}
# sm_site NAME - write sites.d/NAME.conf from stdin.
sm_site() { cat >"$ETC/sites.d/$1.conf"; chmod 644 "$ETC/sites.d/$1.conf"; }

# sm_reset - empty spool, no sites, default config, fresh log.
sm_reset() {
	local d
	for d in tmp queue quarantine state; do
		rm -rf "${SPOOL:?}/$d"
		install -d -m 0770 -o sitemail -g sitemail "$SPOOL/$d"
	done
	install -d -m 1770 -o sitemail -g sitemail "$SPOOL/state/flush"
	rm -f "$ETC"/sites.d/*.conf
	mkdir -p "$(dirname "$SM_LOG")"
	: >"$SM_LOG"; chown sitemail:sitemail "$SM_LOG"; chmod 660 "$SM_LOG"
	sm_conf </dev/null
}
# sm_queue_files - names of committed spool files, one per line.
sm_queue_files() { ls -1 "$SPOOL/queue" 2>/dev/null; }
sm_queue_count() { sm_queue_files | wc -l | tr -d ' '; }
# sm_dump QID - verified envelope and content of a spool file.
sm_dump() { "$SBIN/sitemail" show --raw "$1"; }
