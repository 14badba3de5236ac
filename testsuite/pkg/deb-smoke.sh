#!/bin/bash
# deb-smoke.sh - the Debian package as an admin meets it (TAP, for prove).
#
# Installs build/sitemail_*.deb with apt (replacing the installed MTA, e.g.
# Postfix), checks what postinst made (user, set-gid modes through
# dpkg-statoverride, spool layout, key), then configures only the smarthost
# (URL, user, password file) and sends one message with PHP mail() as a
# site user, through /usr/sbin/sendmail with PHP's default sendmail_path,
# to a loopback aiosmtpd smarthost (testsuite/lib/smarthost.py).  Then it
# installs the package again over itself (upgrade path: configuration,
# key and modes kept; mail still flows) and purges it (nothing of it left
# but the system user).  A Postfix that was installed before is installed
# again at the end.
#
# This machine has no outside DNS, so [dns] servers points at a dnsmasq on
# loopback serving the recipient's domain, and ca_file names the test
# smarthost's throwaway CA: on a real server both are the system defaults.
#
# It replaces the system MTA, so it runs only when asked: CI=true (as in
# .ci/run) or SM_DEB_SMOKE=yes.  Usage, as root, from the source tree:
#   make check-deb     (in a throwaway overlay of /: the MTA is untouched)
#   make deb && SM_DEB_SMOKE=yes prove -v testsuite/pkg/deb-smoke.sh
#                      (for real, as CI does)
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
export SM_SRC=$SRC SM_PREFIX=/usr
. "$SRC/testsuite/lib/tap.sh"
. "$SRC/testsuite/lib/dns.sh"
ETC=/etc/sitemail
SPOOL=/var/spool/sitemail
SITE_USER=smp-web		# this test's own user (prefix smp-)
export DEBIAN_FRONTEND=noninteractive

[ "${CI:-}" = true ] || [ "${SM_DEB_SMOKE:-}" = yes ] ||
	skip_all "replaces the system MTA: set SM_DEB_SMOKE=yes (CI sets CI=true)"
[ "$(id -u)" = 0 ] || skip_all "needs root (apt, users)"
DEB=$(ls -t "$SRC"/build/sitemail_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] || bail "no build/sitemail_*.deb: run 'make deb' first"
$PY -c 'import aiosmtpd' 2>/dev/null || skip_all "python3-aiosmtpd missing"
command -v php >/dev/null || skip_all "php-cli missing"
[ -x "$DNSMASQ" ] || skip_all "dnsmasq missing"
# Purge deletes /etc/sitemail and an empty /var/spool/sitemail: never run
# over ones that a package did not make.
if ! dpkg-query -W -f='${Status}' sitemail 2>/dev/null | grep -q 'ok installed' &&
    { [ -e "$ETC" ] || [ -e "$SPOOL" ]; }; then
	skip_all "$ETC or $SPOOL exists without the package: not touching them"
fi

T=$(mktemp -d /tmp/smp-deb.XXXXXX); chmod 755 "$T"
PIDS=()
HAD_POSTFIX=0
dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q 'ok installed' &&
	HAD_POSTFIX=1

# smoke_cleanup - stop the servers and the runner, restore Postfix.
# shellcheck disable=SC2317  # called from the EXIT trap
smoke_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	dns_stop_all
	if dpkg-query -W -f='${Status}' sitemail 2>/dev/null | grep -q installed; then
		apt-get purge -y -q sitemail >/dev/null 2>&1
	fi
	if [ "$HAD_POSTFIX" = 1 ] && [ ! -x /usr/sbin/postconf ]; then
		echo "postfix postfix/main_mailer_type select No configuration" |
			debconf-set-selections
		apt-get install -y -q --no-install-recommends postfix \
		    >/dev/null 2>&1 </dev/null
	fi
	userdel -r "$SITE_USER" >/dev/null 2>&1
	rm -rf "$T"
}
trap smoke_cleanup EXIT

# mode_of PATH - "owner:group mode" as stat prints them.
mode_of() { stat -c '%U:%G %a' "$1" 2>&1; }

# runner_start - sitemaild as systemd runs it, or by hand without systemd.
runner_start() {
	if [ -d /run/systemd/system ]; then
		systemctl restart sitemaild
	else
		/usr/sbin/sitemaild 2>>"$T/sitemaild.err" &
		RUNNER=$!
		PIDS+=("$RUNNER")
	fi
}
# runner_stop - stop what runner_start started.
runner_stop() {
	if [ -d /run/systemd/system ]; then
		systemctl stop sitemaild
	elif [ -n "${RUNNER:-}" ]; then
		kill "$RUNNER" 2>/dev/null; wait "$RUNNER" 2>/dev/null; RUNNER=
	fi
}
# arrived N - the smarthost has received N messages.
arrived() { [ "$(ls "$T/relay"/*.json 2>/dev/null | wc -l)" -ge "$1" ]; }
# wait_for SECS CMD... - poll CMD every 0.2 s.
wait_for() { local i n=$(($1 * 5)); shift; for i in $(seq "$n"); do "$@" && return 0; sleep 0.2; done; return 1; }
# php_mail SUBJECT - PHP mail() as the site user, php.ini defaults.
php_mail() {
	as_user "$SITE_USER" php -r 'exit(mail("orders@shop.test", $argv[1],
	    "Hello from PHP.\n") ? 0 : 1);' "$1"
}

# --- install ------------------------------------------------------------
diag "installing $(basename "$DEB") (Postfix installed before: $HAD_POSTFIX)"
apt-get install -y -q "$DEB" >"$T/apt-install.log" 2>&1 </dev/null
ok $? "apt-get install ./$(basename "$DEB")" || sed 's/^/# /' "$T/apt-install.log"
dpkg-query -W -f='${Status}' sitemail | grep -q 'ok installed'
ok $? "sitemail is installed"
if [ "$HAD_POSTFIX" = 1 ]; then
	dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q 'ok installed'
	ok $((! $?)) "Postfix was removed (Conflicts: mail-transport-agent)"
fi
like "$(/usr/sbin/sendmail --version)" '^sendmail \(sitemail\) [0-9]' \
    "/usr/sbin/sendmail is sitemail's"
getent passwd sitemail >/dev/null; ok $? "system user sitemail exists"
is "$(mode_of /usr/sbin/sendmail)" "root:sitemail 2755" "sendmail root:sitemail 2755"
is "$(mode_of /usr/sbin/sitemail)" "root:sitemail 2755" "sitemail root:sitemail 2755"
is "$(mode_of /usr/sbin/sitemaild)" "root:root 755" "sitemaild root:root 755"
like "$(dpkg-statoverride --list /usr/sbin/sendmail)" 'root sitemail 2755' \
    "the set-gid mode is a dpkg-statoverride"
for d in "" /tmp /queue /quarantine /state; do
	is "$(mode_of "$SPOOL$d")" "sitemail:sitemail 770" "spool$d made by postinst"
done
is "$(mode_of "$SPOOL/state/flush")" "sitemail:sitemail 1770" "spool/state/flush"
is "$(mode_of "$ETC/spool.key")" "root:sitemail 640" "spool.key made by postinst"
grep -q '^; url = ' "$ETC/sitemail.conf"
ok $? "the commented sitemail.conf is installed"
[ -f "$ETC/sites.d/example.conf.sample" ]; ok $? "sites.d/example.conf.sample"
like "$(sitemail check-config 2>&1)" 'configuration OK' "check-config OK as shipped"
for page in sendmail sitemail sitemaild sitemail.conf mailq; do
	man -w "$page" >/dev/null 2>&1; ok $? "man $page"
done

# --- configure only the smarthost, then PHP mail() ----------------------
"$SRC/testsuite/lib/mkcert.sh" "$T/certs" >/dev/null 2>&1 || bail "mkcert.sh"
chmod 755 "$T/certs"; chmod 644 "$T/certs/"*.pem
$PY "$SRC/testsuite/lib/smarthost.py" --port-file "$T/relay.port" \
    --spool "$T/relay" --certdir "$T/certs" --users relay:s3cret \
    --log "$T/relay.log" --pid-file "$T/relay.pid" 2>"$T/relay.err" &
PIDS+=($!)
wait_for 10 test -s "$T/relay.port" || bail "smarthost did not start"
dns_init "$T/dns"
dns_zone_test "$T/dns/zone.conf"
dns_start zone "$T/dns/zone.conf" || bail "dnsmasq did not start"
printf 's3cret\n' >"$ETC/relay.password"
chown sitemail:sitemail "$ETC/relay.password"; chmod 600 "$ETC/relay.password"
sed -i -e "/^\[smarthost\]/a url = smtp://127.0.0.1:$(cat "$T/relay.port")\nusername = relay\npassword_file = $ETC/relay.password\nca_file = $T/certs/ca.pem" \
    -e "/^\[dns\]/a servers = 127.0.0.1:$zone_PORT" "$ETC/sitemail.conf"
like "$(sitemail check-config 2>&1)" 'configuration OK' "check-config OK with a smarthost"
sm_user "$SITE_USER"
runner_start
php_mail "first"; ok $? "PHP mail() as $SITE_USER returns true"
wait_for 30 arrived 1; ok $? "the message reached the smarthost"
msg=$(cat "$T/relay/1.eml" 2>/dev/null)
like "$msg" 'Subject: first' "it is PHP's message"
like "$msg" "Received: from $SITE_USER \(uid $(id -u "$SITE_USER")" \
    "Received names the site user's uid"
like "$(cat "$T/relay/1.json" 2>/dev/null)" '"auth_user": "relay"' \
    "relayed with AUTH as relay"
# A site user's mailq is answered by the running sitemaild.
is "$(as_user "$SITE_USER" /usr/bin/mailq)" "Mail queue is empty" \
    "/usr/bin/mailq as the site user"
runner_stop

# --- install over itself (the upgrade path) ------------------------------
key=$(sha256sum "$ETC/spool.key")
apt-get install -y -q --reinstall "$DEB" >"$T/apt-reinstall.log" 2>&1 </dev/null
ok $? "apt-get install --reinstall over itself" || sed 's/^/# /' "$T/apt-reinstall.log"
is "$(sha256sum "$ETC/spool.key")" "$key" "the spool key is kept"
grep -q "^username = relay" "$ETC/sitemail.conf"; ok $? "the edited conffile is kept"
is "$(mode_of /usr/sbin/sendmail)" "root:sitemail 2755" "sendmail still 2755 after upgrade"
runner_start
php_mail "second"; ok $? "PHP mail() after the upgrade"
wait_for 30 arrived 2; ok $? "the second message reached the smarthost"
runner_stop
[ -z "$(ls "$SPOOL/queue")" ]; ok $? "the queue is empty"

# --- purge ---------------------------------------------------------------
# With undelivered mail (the runner is stopped): the spool and its key stay.
php_mail "third"; ok $? "PHP mail() with the runner stopped"
queued=$(ls "$SPOOL/queue")
[ -n "$queued" ]; ok $? "one message waits in the queue"
apt-get purge -y -q sitemail >"$T/apt-purge.log" 2>&1 </dev/null
ok $? "apt-get purge sitemail" || sed 's/^/# /' "$T/apt-purge.log"
[ ! -e /usr/sbin/sitemail ] && [ ! -e /usr/sbin/sitemaild ]
ok $? "programs removed"
dpkg-statoverride --list /usr/sbin/sendmail >/dev/null
ok $((! $?)) "statoverrides removed"
is "$(ls "$SPOOL/queue" 2>&1)" "$queued" "purge keeps a spool with undelivered mail"
[ -f "$ETC/spool.key" ]; ok $? "... and the key to verify it"
is "$(ls -A "$ETC")" "spool.key" "... and removes the rest of /etc/sitemail"
grep -q "kept $SPOOL: it holds undelivered" "$T/apt-purge.log"
ok $? "purge says what it kept"
rm -rf "$SPOOL" "$ETC"
[ -z "$(dpkg-query -W -f='${Status}' sitemail 2>/dev/null | grep -v not-installed)" ]
ok $? "dpkg knows nothing of sitemail"
# An empty spool goes with the package.
apt-get install -y -q "$DEB" >"$T/apt-install2.log" 2>&1 </dev/null
ok $? "install again"
apt-get purge -y -q sitemail >"$T/apt-purge2.log" 2>&1 </dev/null
ok $? "purge with an empty spool"
[ ! -e "$SPOOL" ]; ok $? "the empty spool is removed"
[ ! -e "$ETC" ]; ok $? "/etc/sitemail is removed"
getent passwd sitemail >/dev/null; ok $? "the system user stays (Debian practice)"

# --- the MTA that was there before ---------------------------------------
if [ "$HAD_POSTFIX" = 1 ]; then
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	apt-get install -y -q --no-install-recommends postfix \
	    >"$T/apt-postfix.log" 2>&1 </dev/null
	[ -x /usr/sbin/postconf ]; ok $? "Postfix installed again"
fi
done_testing
