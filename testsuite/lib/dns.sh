# dns.sh - real DNS peers for the routing tests, on loopback only.
#
# Sourced after tap.sh.  Call dns_init DIR first (a scratch directory of
# the test; dns_stop_all runs from the caller's EXIT trap).  Servers:
#   dns_start NAME CONF [dnsmasq options...]
#	dnsmasq (Debian dnsmasq-base) on 127.0.0.1 and a free port, serving
#	only CONF (dns_zone_test writes the standard .test zone), with
#	--log-queries into $DNS_DIR/NAME.log.  Sets NAME_PORT.
#   dns_start6 NAME CONF	the same on [::1] (returns 1 without IPv6).
#   dns_blackhole NAME		a UDP socket that reads queries and never
#	answers (the "timeout" case); one line per query in NAME.log.
#   dns_dead_port		a loopback port where nothing listens (the
#	"DNS down" case: the kernel refuses at once).
#   dns_stop NAME, dns_stop_all.
#   dns_queries NAME [TYPE NAME]	queries NAME has received so far,
#	optionally only "query[TYPE] NAME".

DNSMASQ=${DNSMASQ:-/usr/sbin/dnsmasq}
DNS_DIR=
DNS_PIDS=()

# dns_init DIR - where configs, logs and pid files go.
dns_init() { DNS_DIR=$1; mkdir -p "$DNS_DIR"; }

# dns_free_port [HOST] - a port free for both UDP and TCP on HOST.
dns_free_port() {
	$PY - "${1:-127.0.0.1}" <<-'EOF'
	import socket, sys
	h = sys.argv[1]; fam = socket.AF_INET6 if ":" in h else socket.AF_INET
	while True:
	    u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((h, 0))
	    p = u.getsockname()[1]
	    t = socket.socket(fam, socket.SOCK_STREAM)
	    try:
	        t.bind((h, p)); print(p); break
	    except OSError:
	        pass
	    finally:
	        t.close(); u.close()
	EOF
}

# dns_dead_port - a loopback UDP port with nothing listening.
dns_dead_port() { dns_free_port 127.0.0.1; }

# dns_zone_test FILE - the .test zone used by the routing tests.
dns_zone_test() {
	cat >"$1" <<-'EOF'
	# Everything under .test not listed here is NXDOMAIN.
	local=/test/
	# MX outside: the smarthost.  203.0.113.0/24 is documentation space,
	# only data here, never contacted.
	mx-host=shop.test,mx.outside.test,10
	host-record=mx.outside.test,203.0.113.10
	# MX resolves to a [dns] local_addresses entry (NAT'd public IP).
	mx-host=nat.test,mx.nat.test,10
	host-record=mx.nat.test,198.51.100.7
	# MX named in [dns] local_mx; its address is elsewhere.
	mx-host=named.test,mail.named.test,10
	host-record=mail.named.test,203.0.113.30
	# Null MX (RFC 7505): preference 0, root target.
	dns-rr=nullmx.test,15,000000
	# No MX, an A record: implicit MX, outside and here.
	host-record=aonly.test,203.0.113.40
	host-record=aonly-local.test,127.0.0.1
	# The name exists but has neither MX nor A/AAAA.
	txt-record=nomail.test,"no mail here"
	# Two MX hosts of equal preference.
	mx-host=pair.test,a.pair.test,10
	mx-host=pair.test,b.pair.test,10
	host-record=a.pair.test,203.0.113.21
	host-record=b.pair.test,203.0.113.22
	# The MX target is a CNAME to a local_addresses host.
	mx-host=cname.test,alias.cname.test,10
	cname=alias.cname.test,real.cname.test
	host-record=real.cname.test,198.51.100.7
	# MX on an interface address (lo), v4 and v6.
	mx-host=lo.test,mx.lo.test,10
	host-record=mx.lo.test,127.0.0.1
	mx-host=v6.test,mx.v6.test,10
	host-record=mx.v6.test,::1
	# Best MX outside, backup here: still the smarthost.
	mx-host=backup.test,mx.outside.test,10
	mx-host=backup.test,mx.lo.test,20
	# Equal preference, one of them here: local.
	mx-host=mixed.test,mx.outside.test,10
	mx-host=mixed.test,mx.lo.test,10
	# The MX target does not exist.
	mx-host=dangling.test,nowhere.test,10
	EOF
}

# dns_wait_started NAME - wait for dnsmasq's "started" line; 1 if it died.
dns_wait_started() {
	local i
	for i in $(seq 100); do
		grep -q 'started, version' "$DNS_DIR/$1.log" 2>/dev/null &&
			return 0
		kill -0 "$(cat "$DNS_DIR/$1.pid" 2>/dev/null || echo 0)" \
		    2>/dev/null || [ "$i" -lt 10 ] || return 1
		sleep 0.1
	done
	return 1
}

# dns_run NAME HOST CONF OPTS... - start dnsmasq on HOST; sets NAME_PORT.
dns_run() {
	local name=$1 host=$2 conf=$3 port try; shift 3
	for try in 1 2 3; do
		port=$(dns_free_port "$host")
		: >"$DNS_DIR/$name.log"
		"$DNSMASQ" --keep-in-foreground --no-resolv --no-hosts \
		    --port="$port" --listen-address="$host" --bind-interfaces \
		    --conf-file="$conf" --pid-file="$DNS_DIR/$name.pid" \
		    --log-queries --log-facility="$DNS_DIR/$name.log" \
		    --local-ttl=300 --user="$(id -un)" --group="$(id -gn)" \
		    "$@" 2>>"$DNS_DIR/$name.err" &
		echo $! >"$DNS_DIR/$name.pid"
		DNS_PIDS+=("$!")
		if dns_wait_started "$name"; then
			printf -v "${name}_PORT" '%s' "$port"
			return 0
		fi
		dns_stop "$name"
	done
	return 1
}

# dns_start NAME CONF [OPTS...] - dnsmasq on 127.0.0.1; sets NAME_PORT.
dns_start() { local n=$1 c=$2; shift 2; dns_run "$n" 127.0.0.1 "$c" "$@"; }

# dns_start6 NAME CONF [OPTS...] - dnsmasq on ::1; 1 without IPv6.
dns_start6() {
	local n=$1 c=$2; shift 2
	$PY -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
	    2>/dev/null || return 1
	dns_run "$n" ::1 "$c" "$@"
}

# dns_blackhole NAME - a UDP listener that never answers; sets NAME_PORT.
dns_blackhole() {
	local name=$1 i
	rm -f "$DNS_DIR/$name.port"; : >"$DNS_DIR/$name.log"
	$PY -u - "$DNS_DIR/$name.port" "$DNS_DIR/$name.log" <<-'EOF' &
	import socket, sys
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("127.0.0.1", 0))
	with open(sys.argv[1] + ".tmp", "w") as f:
	    f.write(str(s.getsockname()[1]))
	import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
	log = open(sys.argv[2], "a", buffering=1)
	while True:
	    data, peer = s.recvfrom(65535)
	    log.write("query[ignored] %d bytes from %s\n" % (len(data), peer[0]))
	EOF
	echo $! >"$DNS_DIR/$name.pid"
	DNS_PIDS+=("$!")
	for i in $(seq 100); do
		[ -s "$DNS_DIR/$name.port" ] && break
		sleep 0.1
	done
	[ -s "$DNS_DIR/$name.port" ] || return 1
	printf -v "${name}_PORT" '%s' "$(cat "$DNS_DIR/$name.port")"
}

# dns_stop NAME - stop one server we started (by its recorded pid).
dns_stop() {
	local pid
	pid=$(cat "$DNS_DIR/$1.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -f "$DNS_DIR/$1.pid"
	return 0
}

# dns_stop_all - stop every server this test started.
dns_stop_all() {
	local p
	for p in "${DNS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${DNS_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	DNS_PIDS=()
}

# dns_queries NAME [TYPE QNAME] - how many queries NAME has logged.
dns_queries() {
	local f=$DNS_DIR/$1.log
	if [ $# -ge 3 ]; then
		grep -cF "query[$2] $3 from" "$f"
	else
		grep -c 'query\[' "$f"
	fi
}
