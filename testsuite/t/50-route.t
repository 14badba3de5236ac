#!/bin/bash
# 50-route.t - routing by real DNS (queue/route.c, queue/dns.c) against
# dnsmasq on loopback serving the .test zone of testsuite/lib/dns.sh:
# every row of DESIGN "Routing" with golden evidence files in
# t/golden/route/ (TTLs and ports normalised), the JSON form through jq,
# the dns.tdb cache (hits make no query, expired records are asked again,
# failures are never stored), and DNS that is down, refusing or silent.
# Driven by $SM_SAN/tools/route_tool CONFDIR ADDRESS [--json].
# SM_GOLDEN_UPDATE=1 rewrites the golden files from this run.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/dns.sh"
: "${SM_SAN:?run through make check}"

RT=$SM_SAN/tools/route_tool
GOLD=$SM_SRC/testsuite/t/golden/route
[ -x "$RT" ] || bail "missing $RT (make unit)"
[ -x "$DNSMASQ" ] || skip_all "dnsmasq missing (dnsmasq-base)"
command -v jq >/dev/null || skip_all "jq missing"
command -v tdbtool >/dev/null || skip_all "tdbtool missing (tdb-tools)"

T=$(mktemp -d /tmp/sm-route.XXXXXX)
chmod 755 "$T"
trap 'dns_stop_all; rm -rf "$T"' EXIT
dns_init "$T/dns"
dns_zone_test "$T/zone.conf"
dns_start zone "$T/zone.conf" || bail "dnsmasq did not start: $(cat "$T/dns/zone.err")"
HAVE6=0
$PY -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null && HAVE6=1

# mkconf NAME SERVERS [TRANSPORT] - config dir $T/NAME with its own spool.
mkconf() {
	local name=$1 servers=$2 transport=${3-smtp://127.0.0.1:2525}
	mkdir -p "$T/$name/sites.d" "$T/$name/spool/state"
	{
		printf '[main]\nhostname = web01.sitemail.test\n'
		printf 'spool_dir = %s\nlog = file:%s\n' "$T/$name/spool" \
		    "$T/$name/sitemail.log"
		printf '[dns]\nservers = %s\ntimeout = 1s\n' "$servers"
		printf 'local_addresses = 198.51.100.7\n'
		printf 'local_mx = mail.named.test\n'
		[ -n "$transport" ] && printf '[local]\ntransport = %s\n' \
		    "$transport"
		printf '[smarthost]\nurl = smtp://relay.sitemail.test:587\n'
	} >"$T/$name/sitemail.conf"
}
# cache_clear NAME - forget everything the config NAME has cached.
cache_clear() { rm -f "$T/$1/spool/state/dns.tdb"; }
# norm - the parts of the evidence that vary between runs.
norm() {
	sed -E -e 's/(127\.0\.0\.1|\[::1\]):[0-9]+/\1:PORT/g' \
	    -e 's/ttl [0-9]+/ttl N/g' \
	    -e 's/(no usable answer from [^:]*:PORT): .*/\1: WHY/'
}
# golden NAME ADDRESS [CONF] - evidence (fresh cache) against NAME.txt.
golden() {
	local name=$1 addr=$2 conf=${3:-main}
	cache_clear "$conf"
	"$RT" "$T/$conf" "$addr" >"$T/out" 2>"$T/err"
	is "$?" 0 "route $addr: exit 0"
	norm <"$T/out" >"$T/out.n"
	[ -n "${SM_GOLDEN_UPDATE:-}" ] && cp "$T/out.n" "$GOLD/$name.txt"
	if diff -u "$GOLD/$name.txt" "$T/out.n" >"$T/diff" 2>&1; then
		ok 0 "golden $name: $addr"
	else
		ok 1 "golden $name: $addr"; sed 's/^/# /' "$T/diff"
	fi
}
# json ADDRESS ROUTE DSN [CONF] - the --json form parses and agrees.
json() {
	local addr=$1 route=$2 dsn=$3 conf=${4:-main}
	"$RT" "$T/$conf" "$addr" --json >"$T/json" 2>"$T/err"
	jq -e --arg r "$route" --arg d "$dsn" \
	    '.route == $r and (.dsn // "-") == $d and (.reason | length > 0)' \
	    "$T/json" >/dev/null
	ok $? "json $addr: route $route, dsn $dsn"
}
# field ADDRESS JQ [CONF] - one value of the JSON form (cache kept).
field() { "$RT" "$T/${3:-main}" "$1" --json | jq -r "$2"; }
# line ADDRESS KEY [CONF] - the value of "KEY:" in the text form.
line() { "$RT" "$T/${3:-main}" "$1" | sed -n "s/^$2: *//p"; }

mkconf main "127.0.0.1:$zone_PORT"
mkconf nolocal "127.0.0.1:$zone_PORT" ""

# --- every row of the routing table, with its evidence ---------------
while read -r name addr route dsn; do
	case $name in ''|'#'*) continue ;; esac
	golden "$name" "$addr"
	json "$addr" "$route" "$dsn"
done <<'EOF'
smarthost	contact@shop.test	smarthost	-
case		Contact@Shop.TEST.	smarthost	-
local_addresses	x@nat.test		local		-
local_mx	x@named.test		local		-
interface	x@lo.test		local		-
cname		x@cname.test		local		-
nullmx		x@nullmx.test		bounce		5.1.10
nxdomain	x@missing.test		bounce		5.1.2
implicit	x@aonly.test		smarthost	-
implicit_local	x@aonly-local.test	local		-
nomail		x@nomail.test		bounce		5.1.2
pair		x@pair.test		smarthost	-
backup		x@backup.test		smarthost	-
mixed		x@mixed.test		local		-
dangling	x@dangling.test		smarthost	-
unqualified	root			local		-
literal_local	x@[127.0.0.1]		local		-
literal_remote	x@[203.0.113.99]	smarthost	-
literal_bad	x@[bogus]		bounce		5.1.3
bad_domain	x@bad..test		bounce		5.1.3
EOF
if [ "$HAVE6" = 1 ]; then
	golden interface6 x@v6.test
	json x@v6.test local -
	golden literal6 'x@[IPv6:::1]'
	json 'x@[IPv6:::1]' local -
else
	for i in 1 2 3 4 5 6; do ok 0 "# SKIP no IPv6 loopback"; done
fi

# The hosted-here, mailboxes-elsewhere trap: a local-looking domain whose
# MX is outside goes to the smarthost; the log needs the matched MX.
is "$(field x@lo.test .mx_host)" "mx.lo.test" "local: mx_host for the log"
is "$(field x@lo.test .matched_by)" "interface" "local: matched by interface"
is "$(field x@lo.test .match_detail)" "lo" "local: on interface lo"
is "$(field x@nat.test .matched_address)" "198.51.100.7" \
    "local_addresses: matched address"
is "$(field x@named.test .matched_by)" "local_mx" "local_mx: matched by name"
is "$(field contact@shop.test .mx_host)" "null" "smarthost: no matched MX"
is "$(field x@cname.test '.mx[0].a.cname')" "real.cname.test" \
    "CNAME: the chain's end is in the evidence"
is "$(field x@pair.test '[.mx[] | select(.best)] | length')" "2" \
    "equal preference: both hosts are best"

# --- no [local] transport: defer with a clear reason --------------------
golden nolocal x@lo.test nolocal
json x@lo.test defer 4.3.5 nolocal
json root defer 4.3.5 nolocal
like "$(line x@lo.test reason nolocal)" "no \[local\] transport" \
    "nolocal: the reason says what is missing"

# --- the cache ------------------------------------------------------------
cache_clear main
q0=$(dns_queries zone)
"$RT" "$T/main" contact@shop.test >/dev/null
q1=$(dns_queries zone)
is "$((q1 - q0))" 3 "first lookup asks MX, A and AAAA"
"$RT" "$T/main" contact@shop.test >"$T/out"
is "$(dns_queries zone)" "$q1" "cache hit: no DNS query"
like "$(grep '^MX shop.test' "$T/out")" '\(ttl [0-9]+, cache\)' \
    "cache hit: the evidence says cache"
is "$(field contact@shop.test .from_cache)" true "cache hit: from_cache"
like "$(field contact@shop.test .ttl)" '^[0-9]+$' "cache hit: remaining ttl"
[ "$(field contact@shop.test .ttl)" -le 300 ]
ok $? "cache hit: ttl no more than dnsmasq's 300"

cache_clear main
m0=$(dns_queries zone MX missing.test)
"$RT" "$T/main" x@missing.test >/dev/null
"$RT" "$T/main" x@missing.test >/dev/null
is "$(dns_queries zone MX missing.test)" "$((m0 + 1))" \
    "NXDOMAIN is cached: one query for two lookups"
is "$(field x@missing.test .mx_lookup.from_cache)" true \
    "NXDOMAIN: answered from the cache"

# An expired record (expiry set in the past with tdbtool) is asked again;
# the records that are still live are not.
# rec_mx PREF HOST STORED EXPIRES - a dns.tdb MX value as tdbtool escapes
# (the record, then its 16-byte BLAKE2b hash).
rec_mx() {
	$PY - "$@" <<-'EOF'
	import hashlib, struct, sys
	pref, host, stored, expires = int(sys.argv[1]), sys.argv[2].encode(), \
	    int(sys.argv[3]), int(sys.argv[4])
	rec = struct.pack(">IHHqqIHH", 1, 15, 0, stored, expires, 300, 0, 1)
	rec += struct.pack(">HH", pref, len(host)) + host
	rec += hashlib.blake2b(rec, digest_size=16).digest()
	print("".join("\\%02x" % b for b in rec))
	EOF
}
"$RT" "$T/main" contact@shop.test >/dev/null	# everything live
now=$(date +%s)
tdbtool "$T/main/spool/state/dns.tdb" store MX/shop.test \
    "$(rec_mx 10 mx.outside.test $((now - 600)) $((now - 300)))" >/dev/null
mq=$(dns_queries zone MX shop.test)
aq=$(dns_queries zone A mx.outside.test)
"$RT" "$T/main" contact@shop.test >"$T/out"
is "$(dns_queries zone MX shop.test)" "$((mq + 1))" "expired MX: asked again"
is "$(dns_queries zone A mx.outside.test)" "$aq" "live A record: not asked"
like "$(grep '^MX shop.test' "$T/out")" '\(ttl [0-9]+, dns\)' \
    "expired MX: the evidence says dns"
"$RT" "$T/main" contact@shop.test >/dev/null
is "$(dns_queries zone MX shop.test)" "$((mq + 1))" \
    "refreshed MX: cached again"

# A record written in the documented format is what routing believes: a
# live cached MX for a name DNS says does not exist.
tdbtool "$T/main/spool/state/dns.tdb" store MX/fake.test \
    "$(rec_mx 10 mx.lo.test "$now" $((now + 600)))" >/dev/null
is "$(field x@fake.test .route)" local "documented dns.tdb record is used"
is "$(dns_queries zone MX fake.test)" 0 "documented record: no MX query"
"$RT" "$T/main" x@fake.test --json | jq -e '.mx_lookup.from_cache' >/dev/null
ok $? "documented record: from_cache"

# Root creating the cache hands it to the owner of state/.
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	mkconf own "127.0.0.1:$zone_PORT"
	chown nobody "$T/own/spool/state"
	"$RT" "$T/own" contact@shop.test >/dev/null
	is "$(stat -c %U "$T/own/spool/state/dns.tdb")" nobody \
	    "dns.tdb made by root belongs to the state directory's owner"
else
	ok 0 "# SKIP not root"
fi

# --- DNS failures: defer 4.4.3, never cached -----------------------------
# REFUSED: dnsmasq refuses names outside its configuration.
golden refused x@refused.example
json x@refused.example defer 4.4.3
r0=$(dns_queries zone MX refused.example)
"$RT" "$T/main" x@refused.example >/dev/null
r1=$(dns_queries zone MX refused.example)
[ "$r1" -gt "$r0" ]
ok $? "REFUSED is not cached: asked again ($r0 -> $r1)"

# Down: nothing listens on the port.
mkconf down "127.0.0.1:$(dns_dead_port)"
golden down contact@shop.test down
json contact@shop.test defer 4.4.3 down
like "$(line contact@shop.test reason down)" "connection refused" \
    "down: the reason says connection refused"
is "$(field contact@shop.test .from_cache down)" false \
    "down: nothing came from the cache"
is "$(field contact@shop.test .ttl down)" 0 "down: ttl 0"
tdbtool "$T/down/spool/state/dns.tdb" keys >"$T/keys" 2>&1
is "$(grep -c 'key' "$T/keys")" 0 "down: nothing was cached"

# Timeout: a socket that reads and never answers; 2 tries per query.
dns_blackhole hole || bail "blackhole did not start"
mkconf hole "127.0.0.1:$hole_PORT"
golden timeout contact@shop.test hole
is "$(dns_queries hole)" 2 "timeout: 2 tries of the MX query, then defer"
like "$(line contact@shop.test reason hole)" "timed out" \
    "timeout: the reason says timed out"
json contact@shop.test defer 4.4.3 hole

# A dead first server falls through to the next one.
mkconf two "127.0.0.1:$(dns_dead_port), 127.0.0.1:$zone_PORT"
is "$(field contact@shop.test .route two)" smarthost \
    "second server answers when the first is down"
like "$(field contact@shop.test .resolver two)" ', 127\.0\.0\.1:'"$zone_PORT" \
    "resolver lists both servers"

# An IPv6 server ([::1]:port).
if [ "$HAVE6" = 1 ] && dns_start6 zone6 "$T/zone.conf"; then
	mkconf six "[::1]:$zone6_PORT"
	is "$(field x@nat.test .route six)" local "[::1]:port server answers"
	[ "$(dns_queries zone6)" -gt 0 ]
	ok $? "[::1]:port server was asked"
else
	ok 0 "# SKIP no IPv6 loopback"; ok 0 "# SKIP no IPv6 loopback"
fi

# A bad [dns] servers value is a configuration error (78).
mkconf bad "127.0.0.1:99999"
"$RT" "$T/bad" x@shop.test >/dev/null 2>"$T/err"
is "$?" 78 "bad [dns] servers: exit 78"
like "$(cat "$T/err")" "port" "bad [dns] servers: says what is wrong"

done_testing
