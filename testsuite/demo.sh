#!/bin/bash
# demo.sh - "make demo": a live end-to-end run on loopback.
#
# Installs sitemail into a scratch prefix, starts a real smarthost
# (aiosmtpd, STARTTLS + AUTH, throwaway CA) and a real DNS server
# (dnsmasq) on 127.0.0.1, then walks through what sitemail is for:
# two sites submit mail through real clients, the runner routes it by MX
# and relays it, a burst is held (not dropped), a spamming site is frozen,
# and the admin cleans up.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
P=/tmp/sitemail-demo
W=$P/work
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
as() { local u=$1; shift; printf '%s$ %s\n' "$u" "$*"
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups --reset-env -- "$@"; }
[ "$(id -u)" = 0 ] || { echo "make demo: run as root (it creates users and a set-gid install)"; exit 1; }

# --- The listener part (runs inside "unshare -n", see the end) ------------
# demo_listener_ns - a "hacked site" opens a raw SMTP connection to an
# outside MX (192.0.2.10 on this namespace's lo): the egress lock redirects
# it to sitemail-smtpd, which identifies the site by the socket's owner,
# charges it, and logs where it was going; the runner relays it.
demo_listener_ns() {
	local E=$W/ns-etc S=$W/ns-spool d pid
	ip link set lo up; ip addr add 192.0.2.10/32 dev lo
	rm -rf "$E" "$S" "$W/ns-relay"; mkdir -p "$E/sites.d"
	cp -p $P/etc/sitemail/spool.key $P/etc/sitemail/relay.password "$E/"
	cp -p $P/etc/sitemail/sites.d/*.conf "$E/sites.d/"
	for d in "" tmp queue quarantine state; do install -d -m 0770 -o sitemail -g sitemail "$S/$d"; done
	install -d -m 1770 -o sitemail -g sitemail "$S/state/flush"
	/usr/bin/python3 "$SRC/testsuite/lib/smarthost.py" --port-file "$W/ns-relay.port" \
	    --port "$(cat "$W/relay.port")" --spool "$W/ns-relay" --certdir "$W/certs" \
	    --users relay:s3cret --log "$W/ns-relay.log" --pid-file "$W/ns-relay.pid" &
	dns_init "$W/ns-dns"
	dns_start dns "$W/dns/zone.conf" || { echo "dnsmasq did not start"; return 1; }
	sed -e "s|^spool_dir = .*|spool_dir = $S|" -e "s|^servers = .*|servers = 127.0.0.1:$dns_PORT|" \
	    $P/etc/sitemail/sitemail.conf >"$E/sitemail.conf"
	printf '[smtpd]\nlisten = 127.0.0.1:25\nredirect_port = 10025\n[firewall]\nredirect_ports = 25\nblock_ports = 465, 587\n' >>"$E/sitemail.conf"
	chmod 644 "$E/sitemail.conf"
	for i in $(seq 50); do [ -s "$W/ns-relay.port" ] && break; sleep 0.1; done
	echo "In a private network namespace: lo up, 192.0.2.10 (\"mx.victim.example\") on lo,"
	echo "the smarthost and DNS started again inside it."
	run $P/sbin/sitemail -C "$E" firewall
	run $P/sbin/sitemail -C "$E" firewall --apply
	$P/sbin/sitemail-smtpd -C "$E" & pid=$!
	for i in $(seq 50); do grep -q 'sitemail-smtpd.*listening' $P/var/sitemail.log && break; sleep 0.1; done
	echo "sitemail-smtpd listens on 127.0.0.1:25 and :10025 (as user sitemail)"
	say "blog.test is hacked: a script speaks SMTP straight to 192.0.2.10:25"
	as demo-blog /usr/bin/python3 "$SRC/testsuite/lib/smtpc.py" raw 192.0.2.10 25 \
	    "HELO totally-not-spam.example" "MAIL FROM:<paypal-security@paypa1.example>" \
	    "RCPT TO:<victim@shop.test>" "DATA" \
	    "From: PayPal <paypal-security@paypa1.example>
Subject: Verify your account

Click here." "." "QUIT" | sed 's/^\([2-5][0-9][0-9][ -]\)/  S: \1/'
	say "Redirected, identified by socket owner, charged to blog.test, logged with where it was going"
	grep -h 'sitemail-smtpd' $P/var/sitemail.log | grep -E 'connect:|origdst=192' | sed 's/^.*sitemail-smtpd\[[0-9]*\]: /  /'
	run $P/sbin/sitemail -C "$E" show "$($P/sbin/sitemail -C "$E" list --json | jq -r .queue_id | head -1)"
	run $P/sbin/sitemaild -C "$E" --once
	grep -h 'to=<victim@shop.test>' $P/var/sitemail.log | sed 's/^.*sitemaild\[[0-9]*\]: /  /'
	for j in "$W"/ns-relay/*.json; do [ -f "$j" ] && jq -c '{mail_from, rcpt_tos, auth_user, tls}' "$j"; done
	echo "The headers the smarthost got (the forged From was rewritten to the site's own):"
	grep -h -i -E '^(From|Reply-To|X-Original-From|Received):' "$W"/ns-relay/*.eml | tr -d '\r' | head -6 | sed 's/^/  /'
	kill "$pid" "$(cat "$W/ns-relay.pid")" 2>/dev/null; dns_stop_all
}
if [ "${1:-}" = --listener-part ]; then
	W=$P/work PY=/usr/bin/python3; . "$SRC/testsuite/lib/dns.sh"
	demo_listener_ns; exit $?
fi

say "Install into $P (sendmail is set-gid sitemail)"
for pid in $(cat "$W"/*.pid 2>/dev/null); do kill "$pid" 2>/dev/null; done
rm -rf "$P"; mkdir -p "$P"; chmod 755 "$P"
make -s -C "$SRC" BUILD="$BUILD" install PREFIX=$P SYSCONFDIR=$P/etc LOCALSTATEDIR=$P/var >/dev/null || exit 1
ls -l $P/sbin
mkdir -p "$W"; chmod 755 "$W"
cleanup() { for pid in $(cat "$W"/*.pid "$W"/dns/*.pid 2>/dev/null); do kill "$pid" 2>/dev/null; done; }
trap cleanup EXIT

say "Start a smarthost (STARTTLS + AUTH) and a local MTA on loopback"
sh "$SRC/testsuite/lib/mkcert.sh" "$W/certs" >/dev/null 2>&1
chmod 755 "$W/certs"; chmod 644 "$W/certs/ca.pem"
/usr/bin/python3 "$SRC/testsuite/lib/smarthost.py" --port-file "$W/relay.port" \
    --spool "$W/relay" --certdir "$W/certs" --users relay:s3cret \
    --log "$W/relay.log" --pid-file "$W/relay.pid" &
/usr/bin/python3 "$SRC/testsuite/lib/smarthost.py" --port-file "$W/local.port" \
    --spool "$W/local" --plain --log "$W/local.log" --pid-file "$W/local.pid" &
for i in $(seq 50); do [ -s "$W/relay.port" ] && [ -s "$W/local.port" ] && break; sleep 0.1; done
RELAY=$(cat "$W/relay.port"); LOCAL=$(cat "$W/local.port")
echo "smarthost on 127.0.0.1:$RELAY, local MTA on 127.0.0.1:$LOCAL"

say "Start a DNS server for the .test zone"
PY=/usr/bin/python3
. "$SRC/testsuite/lib/dns.sh"
dns_init "$W/dns"
dns_zone_test "$W/dns/zone.conf"
printf 'mx-host=here.test,mx.here.test,10\nhost-record=mx.here.test,198.51.100.7\n' >>"$W/dns/zone.conf"
dns_start dns "$W/dns/zone.conf" || { echo "dnsmasq did not start"; exit 1; }
cat "$W/dns/dns.pid" >"$W/dnsmasq.pid"
DNS_PORT=$dns_PORT
DNS_LOCAL_ADDR=198.51.100.7
echo "dnsmasq on 127.0.0.1:$DNS_PORT: shop.test MX -> mx.outside.test (elsewhere); here.test MX -> 198.51.100.7 (this host's NAT address)"

say "Configure: two sites, each its own Unix user"
for u in demo-shop demo-blog demo-spam; do id "$u" >/dev/null 2>&1 || useradd -m -s /bin/sh "$u"; done
printf 's3cret\n' >$P/etc/sitemail/relay.password
chown sitemail $P/etc/sitemail/relay.password; chmod 600 $P/etc/sitemail/relay.password
cat >$P/etc/sitemail/sitemail.conf <<CONF
[main]
hostname = web01.sitemail.test
spool_dir = $P/var/spool/sitemail
log = file:$P/var/sitemail.log
retry_min = 1s
[dns]
servers = 127.0.0.1:$DNS_PORT
local_addresses = $DNS_LOCAL_ADDR
[local]
transport = smtp://127.0.0.1:$LOCAL
[smarthost]
url = smtp://127.0.0.1:$RELAY
ca_file = $W/certs/ca.pem
username = relay
password_file = $P/etc/sitemail/relay.password
[limits]
rate = 60/m
burst = 3
backlog = 6
CONF
cat >$P/etc/sitemail/sites.d/shop.conf <<CONF
[site shop.test]
users = demo-shop
domains = shop.test
burst = 20
CONF
cat >$P/etc/sitemail/sites.d/blog.conf <<CONF
[site blog.test]
users = demo-blog
domains = blog.test
CONF
touch $P/var/sitemail.log; chown sitemail:sitemail $P/var/sitemail.log; chmod 660 $P/var/sitemail.log
chmod 644 $P/etc/sitemail/sitemail.conf $P/etc/sitemail/sites.d/*.conf
echo "The configuration the demo wrote (INI; every key is in sitemail.conf(5)):"
for f in $P/etc/sitemail/sitemail.conf $P/etc/sitemail/sites.d/*.conf; do
	printf -- '--- %s\n' "$f"; sed 's/^/  /' "$f"
done
echo "  (relay.password: mode 0600, owner sitemail: only the runner reads it)"
run $P/sbin/sitemail check-config

say "shop.test's PHP contact form mails contact@shop.test (its mailboxes are at an outside provider)"
cat >"$W/contact.php" <<'PHP'
<?php
$ok = mail("contact@shop.test", "Contact form", "Hi, I'd like to order 3 mugs.\n",
           "From: webform@shop.test\r\nReply-To: customer@example.net");
echo $ok ? "mail() returned true\n" : "mail() returned false\n";
PHP
chmod 644 "$W/contact.php"
as demo-shop php -d "sendmail_path=$P/sbin/sendmail -t -i" "$W/contact.php"
run $P/sbin/sitemail route contact@shop.test

say "blog.test sends through Symfony Mailer's default 'sendmail -bs', with a forged From"
cat >"$W/blog.php" <<'PHP'
<?php
require '/usr/share/php/Symfony/Component/Mailer/autoload.php';
use Symfony\Component\Mailer\{Mailer, Transport\SendmailTransport};
use Symfony\Component\Mime\Email;
(new Mailer(new SendmailTransport($argv[1])))->send((new Email())
    ->from('ceo@shop.test')->to('admin@here.test')->subject('Forged?')->text("hi\n"));
echo "sent via sendmail -bs\n";
PHP
chmod 644 "$W/blog.php"
as demo-blog php "$W/blog.php" "$P/sbin/sendmail -bs"

say "Each user sees only its own site's queue; root sees all"
as demo-shop $P/sbin/mailq
as demo-blog $P/sbin/mailq
run $P/sbin/mailq

say "The runner routes by MX and relays (one pass)"
run $P/sbin/sitemaild --once
grep -h 'to=<' $P/var/sitemail.log | sed 's/^.*sitemaild\[[0-9]*\]: /  /'
echo "smarthost received: $(ls "$W/relay"/*.json 2>/dev/null | wc -l), local MTA received: $(ls "$W/local"/*.json 2>/dev/null | wc -l)"
for j in "$W"/relay/*.json "$W"/local/*.json; do [ -f "$j" ] && jq -c '{mail_from, rcpt_tos, auth_user, tls}' "$j"; done
echo "The forged From at the local MTA:"
grep -h -i -E '^(From|Reply-To|X-Original-From):' "$W"/local/*.eml | tr -d '\r' | sed 's/^/  /'

say "A burst from blog.test: burst 3, then held for tokens (delayed, not dropped)"
for i in 1 2 3 4 5; do printf 'Subject: newsletter %s\n\nhello\n' "$i" |
	as demo-blog $P/sbin/sendmail -i reader$i@shop.test >/dev/null; done
run $P/sbin/mailq

say "A hacked site floods: past its backlog it is frozen and told so"
for i in $(seq 1 12); do printf 'Subject: spam %s\n\nbuy\n' "$i" |
	setpriv --reuid=demo-spam --regid="$(id -g demo-spam)" --init-groups --reset-env -- \
	$P/sbin/sendmail -i victim$i@shop.test || { echo "  submission $i: exit $?"; break; }; done
run $P/sbin/sitemail sites
cat <<'EXPLAIN'
  How to read "tokens": each recipient costs one token; tokens refill at
  "rate" up to "burst".  A negative count is recipients accepted and waiting
  for tokens (held, not dropped): -5 means five recipients will go out as
  five tokens refill.  "waiting" counts them; past "backlog" the site is
  frozen automatically, as demo-spam is now.
EXPLAIN

say "The admin: demo-spam is already frozen; list, show, delete the spam, thaw"
run $P/sbin/sitemail list --site demo-spam
ID=$($P/sbin/sitemail list --site demo-spam --json | head -1 | jq -r .queue_id)
run $P/sbin/sitemail show "$ID"
run $P/sbin/sitemail delete --site demo-spam --frozen
run $P/sbin/sitemail thaw demo-spam
run $P/sbin/sitemail sites
say "The held burst goes out as tokens refill (rate 60/m: one a second)"
before=$(ls "$W"/relay/*.json 2>/dev/null | wc -l)
sleep 4
run $P/sbin/sitemaild --once
grep -h 'to=<reader' $P/var/sitemail.log | sed 's/^.*sitemaild\[[0-9]*\]: /  /'
echo "smarthost received $(( $(ls "$W"/relay/*.json 2>/dev/null | wc -l) - before )) more message(s): the five newsletters, the held ones included"
run $P/sbin/mailq
say "The side door: raw SMTP from a hacked site (in a private network namespace)"
unshare -n -- bash "$SRC/testsuite/demo.sh" --listener-part
say "Done. Log: $P/var/sitemail.log"
