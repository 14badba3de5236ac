#!/bin/bash
# 60-admin.t - queue administration with sitemaild --hold (it answers
# intake and the site users' views, and delivers nothing): the mailq and
# "sitemail list" listings against golden files (IDs, times and sizes
# normalised), --json checked with jq, the selectors, per-message freeze,
# delete (by ID, from stdin, by site), bounce, sites; and scoping with real
# users: a site user sees and touches only their own site's mail, with
# every form of ID and selector, while root sees and may do everything.
# SM_GOLDEN_UPDATE=1 rewrites the golden files instead of comparing.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/intake.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (users, setgid programs)"
command -v jq >/dev/null || skip_all "jq missing"

SM=$SBIN/sitemail
MAILQ=$SBIN/mailq
GOLD=$SM_SRC/testsuite/t/golden/admin
FILL=${SM_SAN:-}/tools/queue_fill

# norm - IDs (in order of appearance), dates and sizes made stable, with
# the column widths kept.
norm() {
	perl -pe '
	BEGIN { our %m; our $n = 0 }
	s/\b([0-9a-f]{20})\b/$m{$1} \/\/= sprintf("QID%017d", ++$n)/ge;
	s/\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d\b/Www Mmm dd hh:mm:ss/g;
	s/^(QID\d{17}[ *!]) +\d+ /sprintf("%s %8s ", $1, "SIZE")/e;
	s/^-- \d+ Kbytes/-- N Kbytes/;'
}
# jnorm - the same for JSON lines: stable values for what varies.
jnorm() {
	jq -c '.queue_id = "QID" | .arrival_time = 0 | .message_size = 0 |
	    .uid = 0 | .held_until = (if .held_until > 0 then 1 else 0 end) |
	    .recipients = [.recipients[] | .next_try = (if .next_try > 0
	    then 1 else 0 end)]'
}
# golden NAME FILE - compare FILE with golden/admin/NAME (or write it).
golden() {
	if [ -n "${SM_GOLDEN_UPDATE:-}" ]; then
		mkdir -p "$GOLD" && cp "$2" "$GOLD/$1"
		ok 0 "golden $1 written"
	elif diff -u "$GOLD/$1" "$2" >"$TMPD/diff"; then
		ok 0 "output matches golden/admin/$1"
	else
		ok 1 "output matches golden/admin/$1"
		sed 's/^/#   /' "$TMPD/diff"
	fi
}
# qid_to ADDR - the queue ID of the queued message for recipient ADDR.
qid_to() { "$SM" list --json | jq -r --arg a "$1" 'select(any(.recipients[]; .address == $a)) | .queue_id' | head -1; }
# as USER CMD... - run CMD as USER; stdout in $TMPD/out, stderr in
# $TMPD/err, exit status in $RC.
as() { local u=$1; shift; RC=0
	( cd "$TMPD" && as_user "$u" "$@" ) >"$TMPD/out" 2>"$TMPD/err" || RC=$?; }
# root CMD... - the same as root.
root() { RC=0; "$@" >"$TMPD/out" 2>"$TMPD/err" || RC=$?; }
exists() { [ -f "$SPOOL/queue/$1" ]; }

sm_reset
sites_two
sm_site alice <<-EOF
[site alice.test]
users = smt-alice
domains = alice.test, alice-shop.test
rate = 1/h
burst = 3
EOF
A_UID=$(uid_of smt-alice)
hold_start; ok $? "sitemaild --hold answers on its socket"

# --- 1: an empty queue ----------------------------------------------------
root "$MAILQ"
is "$(cat "$TMPD/out")" "Mail queue is empty" "empty queue: mailq says so"
root "$SM" list --json
is "$RC:$(wc -c <"$TMPD/out")" "0:0" "empty queue: list --json prints nothing"

# --- 2: intake's messages in the listings ---------------------------------
send() { local u=$1; shift; printf 'Subject: %s\n\nbody\n' "$*" |
	as_user "$u" "$SENDMAIL" -i "$@"; }
send smt-alice bob@example.net carol@example.org	# tokens 3 -> 1
send smt-alice -f shop@alice-shop.test dave@example.net	# 1 -> 0
send smt-alice erin@example.net frank@example.net	# held: 0 -> -2
send smt-bob alice@alice.test
send smt-bob news@example.com
is "$(sm_queue_count)" 5 "five messages queued"
A1=$(qid_to bob@example.net); A2=$(qid_to dave@example.net)
A3=$(qid_to erin@example.net); B1=$(qid_to alice@alice.test)
B2=$(qid_to news@example.com)
ok "$([ -n "$A1" ] && [ -n "$B2" ]; echo $?)" "queue IDs found with list --json"

root "$SM" freeze "$B2"
is "$RC:$(cat "$TMPD/out")" "0:$B2: frozen" "freeze ID: one message frozen"
grep -q "$B2: frozen by admin" "$SM_LOG"
ok $? "freeze ID: logged"

root "$MAILQ"; norm <"$TMPD/out" >"$TMPD/mailq.root"
golden mailq-root.txt "$TMPD/mailq.root"
root "$SBIN/sendmail" -bp; norm <"$TMPD/out" >"$TMPD/bp.root"
is "$(cat "$TMPD/bp.root")" "$(cat "$TMPD/mailq.root")" "sendmail -bp = mailq"
root "$SM" list; norm <"$TMPD/out" >"$TMPD/list.root"
is "$(cat "$TMPD/list.root")" "$(cat "$TMPD/mailq.root")" "sitemail list = mailq for root"
root "$SM" list --site alice.test; norm <"$TMPD/out" >"$TMPD/list.alice"
golden list-alice.txt "$TMPD/list.alice"
root "$SM" list --json; jnorm <"$TMPD/out" >"$TMPD/list.json"
golden list.json "$TMPD/list.json"

J=$TMPD/out
root "$SM" list --json
is "$(jq -s length "$J")" 5 "json: one object per message"
is "$(jq -r .queue_id "$J" | tr '\n' ' ')" "$A1 $A2 $A3 $B1 $B2 " "json: in arrival order"
is "$(jq -r 'select(.queue_id == "'"$A3"'") | .held_until > now' "$J")" true "json: the held message has held_until in the future"
is "$(jq -r 'select(.queue_id == "'"$A3"'") | .state' "$J")" held "json: state held"
is "$(jq -r 'select(.queue_id == "'"$B2"'") | [.frozen, .site_frozen, .state] | @tsv' "$J")" "true	false	frozen" "json: frozen message"
is "$(jq -r 'select(.queue_id == "'"$A1"'") | [.site, .uid, .sender, .message_size > 0] | @tsv' "$J")" "alice.test	$A_UID	smt-alice@alice.test	true" "json: site, uid, sender, size"
is "$(jq -c 'select(.queue_id == "'"$A1"'") | [.recipients[] | [.address, .status]]' "$J")" '[["bob@example.net","pending"],["carol@example.org","pending"]]' "json: recipients and status"
is "$(jq -r 'select(.queue_id == "'"$A1"'") | .arrival_time' "$J")" "$("$SM" show "$A1" | awk '$1 == "time:" { sub(/\..*/, "", $2); print $2 }')" "json: arrival_time = the envelope time"
is "$(jq -r 'select(.queue_id == "'"$A1"'") | .message_size' "$J")" "$(env_field "$A1" size)" "json: message_size = the stored size"

# selectors
sel() { "$SM" list --json "$@" | jq -r .queue_id | tr '\n' ' '; }
is "$(sel --site bob.test)" "$B1 $B2 " "list --site"
is "$(sel --sender '^shop@')" "$A2 " "list --sender RE"
is "$(sel --rcpt 'EXAMPLE\.ORG$')" "$A1 " "list --rcpt RE (case-insensitive)"
is "$(sel --frozen)" "$B2 " "list --frozen"
is "$(sel --site alice.test --rcpt frank)" "$A3 " "selectors combine"
root "$SM" list --sender '('
is "$RC" 64 "a bad regular expression is a usage error"
root "$SM" list --bogus
is "$RC" 64 "an unknown option is a usage error"

# show: the envelope lines stay, the state lines follow
root "$SM" show "$A3"
like "$(grep '^state:' "$TMPD/out")" '^state: +held until .* \(rate limit\)$' "show: held state"
is "$(grep -c '^status: ' "$TMPD/out")" 2 "show: one status line per recipient"
is "$(env_rcpts "$A3")" "erin@example.net frank@example.net" "show: rcpt lines unchanged"
root "$SM" show --json "$A3"
is "$(jq -r '[.queue_id, .login, .indexed] | @tsv' "$J")" "$A3	smt-alice	true" "show --json: record and envelope"
root "$SM" show "$(echo "$A1" | tr a-f A-F)"
is "$RC" 0 "show: an upper-case ID is forgiven"

# --- 3: the same listing as a site user -----------------------------------
as smt-alice "$MAILQ"
norm <"$TMPD/out" >"$TMPD/mailq.alice"
golden mailq-alice.txt "$TMPD/mailq.alice"
! grep -q -e bob.test -e "$B1" -e "$B2" "$TMPD/out"
ok $? "site user: mailq shows no other site's message, site or sender"
like "$(tail -1 "$TMPD/out")" ' in 3 Requests\.$' "site user: counts only their own"
as smt-alice "$SM" list --json
is "$(jq -r .site "$J" | sort -u)" alice.test "site user: list --json only their site"
as smt-bob "$SBIN/sendmail" -bp
is "$(grep -c '^[0-9a-f]\{20\}' "$TMPD/out")" 2 "other site user: their two messages"
as smt-carol "$MAILQ"
is "$(cat "$TMPD/out")" "Mail queue is empty" "a user without mail: empty queue"

# --- 4: a site user cannot reach another site's mail ----------------------
# Every form: the ID, upper case, with a mailq mark, as a path, JSON on
# stdin; show, show --raw, show --json, flush, and the admin verbs.
NOSUCH=0123456789abcdef0123
as smt-alice "$SM" show "$NOSUCH"; want_err=$(sed "s/$NOSUCH/ID/" "$TMPD/err")
for form in "$B1" "$(echo "$B1" | tr a-f A-F)" "$B1*" "$B1!" "../queue/$B1" "$SPOOL/queue/$B1"; do
	for v in show "show --raw" "show --json" "show --body"; do
		# shellcheck disable=SC2086
		as smt-alice "$SM" $v "$form"
		is "$RC:$(wc -c <"$TMPD/out")" "66:0" "alice: $v '$form' -> 66, nothing shown"
	done
done
as smt-alice "$SM" show "$B1"
is "$(sed "s/$B1/ID/" "$TMPD/err")" "$want_err" "alice: another site's message reads exactly like a missing one"
as smt-alice "$SM" flush "$B1"
is "$RC" 66 "alice: flush bob's ID -> 66"
as smt-alice "$SM" flush --site bob.test
is "$RC" 77 "alice: flush --site bob.test -> 77"
as smt-alice "$SM" list --site bob.test
is "$RC:$(wc -c <"$TMPD/out")" "77:0" "alice: list --site bob.test -> 77, nothing listed"
for cmd in "freeze $B1" "freeze bob.test" "freeze --site bob.test" \
    "thaw $B2" "thaw bob.test" "delete $B1" "delete --site bob.test" \
    "delete --site bob.test --frozen" "delete -" "bounce $B1" "sites" \
    "route x@example.com" "hold $B1" "release bob.test" "rm $B1" \
    "remove $B1" "check-config" "keygen $TMPD/k"; do
	RC=0
	# shellcheck disable=SC2086  # $cmd is split on purpose
	echo "$B1" | as_user smt-alice "$SM" $cmd >"$TMPD/out" 2>"$TMPD/err" || RC=$?
	is "$RC:$(wc -c <"$TMPD/out")" "77:0" "alice: sitemail $cmd -> 77"
done
as smt-alice "$SM" freeze "$A1"
is "$RC" 77 "alice: even her own message cannot be frozen by her"
as smt-alice "$SM" -C "$TMPD" list
is "$RC" 77 "alice: -C is refused"
ok "$(exists "$B1" && exists "$B2" && exists "$A1"; echo $?)" "every message is still there"
root "$SM" list --json
is "$(jq -r 'select(.queue_id == "'"$A1"'") | .frozen' "$J")" false "alice's attempt froze nothing"
root "$SM" show "$B1"
is "$RC" 0 "root: shows any site's message"

# flush: root leaves a request file; a site user asks sitemaild, which
# scopes it to her site (she writes no file in the shared state).
root "$SM" flush
is "$RC" 0 "root: flush everything"
as smt-alice "$SM" flush
is "$RC" 0 "alice: flush her own site"
as smt-alice "$SM" flush "$A1"
is "$RC" 0 "alice: flush her own message"
wait_for_gone() { local i; for i in $(seq 50); do [ -z "$(find "$SPOOL/state/flush" -type f ! -name '.*')" ] && return 0; sleep 0.1; done; return 1; }
wait_for_gone; ok $? "root's request file was taken by sitemaild"
is "$(find "$SPOOL/state/flush" -type f -user smt-alice | wc -l)" 0 "alice wrote no file in the shared state"

# --- 5: thaw a message; delete by ID, from stdin, by site -----------------
root "$SM" thaw "$B2"
is "$RC:$(cat "$TMPD/out")" "0:$B2: thawed" "thaw ID"
root "$SM" delete "$NOSUCH"
is "$RC" 66 "delete of a missing message -> 66"
root "$SM" delete "$A2"
is "$RC:$(head -1 "$TMPD/out")" "0:$A2: removed" "delete ID"
ok "$(! exists "$A2"; echo $?)" "delete ID: the spool file is gone"
grep -q "$A2: removed by admin" "$SM_LOG"
ok $? "delete ID: 'QID: removed by admin' logged"
"$SM" list --json --site bob.test | jq -r .queue_id | "$SM" delete - >"$TMPD/out" 2>&1
is "$?:$(grep -c removed "$TMPD/out")" "0:2" "list --json | jq -r .queue_id | delete -"
ok "$(! exists "$B1" && ! exists "$B2"; echo $?)" "bob's messages are gone"
root "$SM" list --json
is "$(jq -r .queue_id "$J" | tr '\n' ' ')" "$A1 $A3 " "alice's messages remain"

# bucket refund: the held message's recipients stop waiting when deleted
root "$SM" sites --json
is "$(jq -r 'select(.site == "alice.test") | .waiting' "$J")" 2 "sites: alice has 2 recipients waiting for tokens"
"$SM" show "$A3" | head -1 | "$SM" delete - >/dev/null 2>&1
ok "$(! exists "$A3"; echo $?)" "delete - accepts show's queue_id line"
root "$SM" sites --json
is "$(jq -r 'select(.site == "alice.test") | .waiting' "$J")" 0 "delete refunded the held recipients"

# mailq's own output works as input too
send smt-bob one@example.net; send smt-bob two@example.net
"$MAILQ" | "$SM" delete - >"$TMPD/out" 2>&1
is "$?:$(grep -c removed "$TMPD/out")" "0:3" "mailq | sitemail delete - (marks and all)"
is "$(sm_queue_count)" 0 "queue empty"

# a message the runner is delivering (it holds the spool file's flock) is
# not deleted or bounced half-way
send smt-bob locked@example.net
L=$(qid_to locked@example.net)
RC=0; flock "$SPOOL/queue/$L" "$SM" delete "$L" >"$TMPD/out" 2>"$TMPD/err" || RC=$?
is "$RC" 75 "delete while the delivery lock is held -> 75"
like "$(cat "$TMPD/err")" "being delivered right now" "delete: says why"
RC=0; flock "$SPOOL/queue/$L" "$SM" bounce "$L" >"$TMPD/out" 2>"$TMPD/err" || RC=$?
is "$RC" 75 "bounce while the delivery lock is held -> 75"
ok "$(exists "$L"; echo $?)" "the message is untouched"
root "$SM" delete "$L"
is "$RC" 0 "delete once the lock is free"

# delete --site S --frozen takes only the frozen ones
send smt-bob k1@example.net; send smt-bob k2@example.net
K1=$(qid_to k1@example.net); K2=$(qid_to k2@example.net)
"$SM" freeze "$K1" >/dev/null
root "$SM" delete --site bob.test --frozen
is "$RC:$(grep -c removed "$TMPD/out")" "0:1" "delete --site --frozen: only the frozen one"
ok "$(! exists "$K1" && exists "$K2"; echo $?)" "the unfrozen message stays"
root "$SM" delete --frozen
is "$RC" 64 "delete --frozen without --site is a usage error"
root "$SM" delete
is "$RC" 64 "delete without IDs or --site is a usage error"

# --- 6: freeze and thaw a site --------------------------------------------
root "$SM" freeze bob.test
is "$RC:$(cat "$TMPD/out")" "0:site bob.test: frozen" "freeze SITE"
grep -q "site bob.test: frozen by admin" "$SM_LOG"
ok $? "freeze SITE: logged"
root "$SM" list --json --frozen
is "$(jq -r '[.queue_id, .frozen, .site_frozen] | @tsv' "$J")" "$K2	true	true" "a frozen site's mail is listed as frozen"
as smt-bob "$MAILQ"
like "$(sed -n 2p "$TMPD/out")" "^$K2! " "mailq: marked '!'"
like "$(sed -n 3p "$TMPD/out")" '^\(site bob.test is frozen by an admin\)$' "mailq: the reason is shown"
root "$SM" freeze nosuch.example
is "$RC" 66 "freeze of an unknown site -> 66"
root "$SM" sites --json
is "$(jq -r 'select(.site == "bob.test") | [.state, .queued_messages] | @tsv' "$J")" "frozen	1" "sites: bob.test frozen, 1 queued"
root "$SM" sites
like "$(grep '^bob.test ' "$TMPD/out")" ' frozen ' "sites: the table says frozen"
root "$SM" thaw bob.test
like "$(cat "$TMPD/out")" '^site bob\.test: thawed' "thaw SITE"
root "$SM" list --json
is "$(jq -r .frozen "$J")" false "thawed: not frozen any more"

# --- 7: bounce ------------------------------------------------------------
root "$SM" bounce "$K2"
like "$(cat "$TMPD/out")" "^$K2: bounced; notification [0-9a-f]{20} to <smt-bob@bob.test>" "bounce: a DSN is made"
ok "$(! exists "$K2"; echo $?)" "bounce: the original is gone"
DSN=$(grep -o 'notification [0-9a-f]*' "$TMPD/out" | cut -d' ' -f2)
root "$SM" list --json
is "$(jq -r '[.queue_id, .sender, .recipients[0].address, .site] | @tsv' "$J")" "$DSN		smt-bob@bob.test	bob.test" "bounce: the DSN is queued, null sender, to the sender"
content "$DSN" | grep -q "bounced by admin"
ok $? "bounce: the DSN gives the reason"
grep -q "$K2: to=<k2@example.net>, relay=none, .*dsn=5.0.0, status=bounced (bounced by admin)" "$SM_LOG"
ok $? "bounce: logged per recipient"
root "$SM" bounce "$DSN"
like "$(cat "$TMPD/out")" "^$DSN: bounced; no notification \(null sender\)" "bounce of a DSN: no DSN of a DSN"
is "$(sm_queue_count)" 0 "queue empty again"

# --- 8: a bigger queue with deferred reasons (queue_fill) -----------------
if [ -x "$FILL" ]; then
	"$FILL" --spool "$SPOOL" --key "$ETC/spool.key" --messages 12 \
	    --sites 2 --site-prefix gold >/dev/null
	ok $? "queue_fill: 12 messages"
	root "$SM" list --site gold000.test; norm <"$TMPD/out" >"$TMPD/gold"
	golden list-fill.txt "$TMPD/gold"
	root "$SM" list --site gold000.test --json; jnorm <"$TMPD/out" >"$TMPD/gold.json"
	golden list-fill.json "$TMPD/gold.json"
	root "$SM" show "$(jq -r .queue_id "$J" | head -1)"
	like "$(grep "^status: " "$TMPD/out" | head -1)" 'deferred attempts=1 next=".*" dsn=4\.7\.1 \(451 4\.7\.1 Try again later\)' "show: a deferred recipient's state"
else
	diag "no $FILL: skipping the queue_fill part"
fi

# --- 9: thawing a site releases its frozen mail in token order -----------
sm_site carol <<-EOF
[site carol.test]
users = smt-carol
rate = 1/h
burst = 2
EOF
root "$SM" freeze carol.test
for i in 1 2 3 4; do
	printf 'Subject: c%s\n\nbody\n' "$i" | as_user smt-carol "$SENDMAIL" -i "c$i@example.net"
done
root "$SM" list --site carol.test --json
is "$(jq -r .state "$J" | sort -u)" frozen "frozen site: 4 messages accepted and frozen"
C1=$(qid_to c1@example.net)
root "$SM" show "$C1"
like "$(grep '^state:' "$TMPD/out")" "accepted while the site was frozen" "freeze: mail accepted while frozen is marked uncharged"
# sitemaild --hold indexes each new file when inotify reports it; a thaw
# releases what is indexed (the runner charges the rest when it picks them
# up), so wait for all four first.
indexed4() {
	local q n=0
	for q in $("$SM" list --site carol.test --json | jq -r .queue_id); do
		"$SM" show --json "$q" | jq -e .indexed >/dev/null && n=$((n + 1))
	done
	[ "$n" -eq 4 ]
}
for _ in $(seq 100); do indexed4 && break; sleep 0.1; done
indexed4; ok $? "freeze: sitemaild indexed the four messages"
root "$SM" thaw carol.test
is "$RC:$(head -1 "$TMPD/out" | sed 's/ until .*//')" \
    "0:site carol.test: thawed; 4 messages released: 2 now, 2 held by the rate limit" \
    "thaw: 2 go now (burst), 2 are held"
root "$SM" list --site carol.test --json
is "$(jq -r '.held_until > 0' "$J" | tr '\n' ' ')" "false false true true " "thaw: the oldest go first"
is "$(jq -s '.[2].held_until < .[3].held_until' "$J")" true "thaw: each held one waits for its own token"
root "$SM" show "$C1"
is "$(grep '^state:' "$TMPD/out")" "state:     queued" "thaw: a released message is charged"

done_testing
