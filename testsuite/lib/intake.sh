# intake.sh - helpers for tests that submit through the installed sendmail.
# Sourced after tap.sh.

SENDMAIL=$SBIN/sendmail

# sites_two - two sites with real users: smt-alice (alice.test) and
# smt-bob (bob.test), plus an unlisted user smt-carol.
sites_two() {
	sm_user smt-alice; sm_user smt-bob; sm_user smt-carol
	sm_site alice <<-EOF
	[site alice.test]
	users = smt-alice
	domains = alice.test, alice-shop.test
	EOF
	sm_site bob <<-EOF
	[site bob.test]
	users = smt-bob
	domains = bob.test
	EOF
}

# queue_snapshot - remember which queue files exist now.
queue_snapshot() { sm_queue_files >"$TMPD/before"; }
# queue_new - the queue IDs added since queue_snapshot, one per line.
queue_new() { sm_queue_files | sort | comm -13 <(sort "$TMPD/before") -; }

# env_field QID KEY - one envelope field as sitemail show prints it.
env_field() { "$SBIN/sitemail" show "$1" | awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }'; }
# env_rcpts QID - the recipients, space separated, in order.
env_rcpts() { "$SBIN/sitemail" show "$1" | awk '$1 == "rcpt:" { gsub(/^<|>$/, "", $2); printf "%s%s", s, $2; s = " " }'; }
# content QID - the stored message (CRLF as stored).
content() { "$SBIN/sitemail" show --raw "$1"; }
# header QID NAME - the first header field named NAME, unfolded.
header() { content "$1" | HN=$2 perl -e '
	local $/; my $m = <STDIN>; $m =~ s/\r\n/\n/g;
	my ($h) = split /\n\n/, $m, 2; $h =~ s/\n[ \t]+/ /g;
	for (split /\n/, $h) { if (/^\Q$ENV{HN}\E:\s*(.*)$/i) { print "$1\n"; exit } }'; }
# header_count QID NAME - how many fields named NAME.
header_count() { content "$1" | HN=$2 perl -e '
	local $/; my $m = <STDIN>; $m =~ s/\r\n/\n/g; my ($h) = split /\n\n/, $m, 2;
	my $n = () = $h =~ /^\Q$ENV{HN}\E:/mig; print "$n\n"'; }
# body QID - the body with CRLF turned into LF.
body() { content "$1" | perl -e 'local $/; my $m = <STDIN>; $m =~ s/\r\n/\n/g; my (undef, $b) = split /\n\n/, $m, 2; print $b'; }

# hold_start - sitemaild --hold in the background: it answers intake's
# verdicts and the site users' listings (the set-gid programs never open
# the shared state) and delivers nothing.  hold_stop ends it.
HOLD_PID=
hold_start() {
	"$SBIN/sitemaild" -C "$ETC" --hold 2>>"$TMPD/sitemaild.err" &
	HOLD_PID=$!
	local i
	for i in $(seq 100); do
		[ -S "$SPOOL/state/sitemaild.sock" ] && return 0
		sleep 0.05
	done
	return 1
}
hold_stop() {
	[ -n "$HOLD_PID" ] || return 0
	kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
}

TMPD=$(mktemp -d /tmp/smtest.XXXXXX)
chmod 755 "$TMPD"
trap 'hold_stop; rm -rf "$TMPD"' EXIT
