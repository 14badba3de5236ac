#!/bin/bash
# 62-admin-flush.t - flushing deferred mail with the sendmail selectors and
# "sitemail flush", through the real runner (sitemaild --once), smarthost
# and DNS: -qI delivers only the selected message, -qR only the selected
# domain's recipients, -qS only the selected sender's messages; a site
# user's flush never reaches another site's mail; root's flush --site does.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"
command -v jq >/dev/null || skip_all "jq missing"

rn_init
sm_reset
sh_start sh --certdir "$T/certs" --users alice:secret
rn_secret "$T/pw" secret
# shellcheck disable=SC2154  # sh_PORT is set by sh_start
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_USER=alice SH_PWFILE=$T/pw
RN_RETRY_MIN=1h RN_RETRY_MAX=2h rn_conf </dev/null
SM=$SBIN/sitemail

got() { sh_rcpt_count sh "$1"; }
# qid_to ADDR - the queue ID of the message for ADDR.
qid_to() { "$SM" list --json | jq -r --arg a "$1" 'select(any(.recipients[]; .address == $a)) | .queue_id' | head -1; }
# delivered - every address the smarthost accepted, sorted, one line.
delivered() {
	$PY - "$T/sh.spool" <<-'EOF'
	import glob, json, sys
	print(" ".join(sorted(r for f in glob.glob(sys.argv[1] + "/*.json")
	                      for r in json.load(open(f))["rcpt_tos"])))
	EOF
}

msg 1 | submit smr-alice a1@shop.test
msg 2 | submit smr-alice a2@shop.test a3@bob.test
msg 3 | submit smr-bob b1@shop.test
msg 4 | submit smr-bob -f news@bob.test b2@shop.test
M1=$(qid_to a1@shop.test); M3=$(qid_to b1@shop.test)

# Every recipient is deferred once; the next retry is an hour away.
sh_ctl sh '{"rcpt": {"*": [451, "4.7.1 try later"]}}'
rd_once
"$SM" list --json >"$T/j"
is "$(jq -r '.recipients[].status' "$T/j" | sort -u)" deferred "all recipients deferred"
like "$(jq -r '.recipients[0].reason' "$T/j" | head -1)" '451.*try later' "the reason is kept"
"$SM" list >"$T/mq"
like "$(grep -c '^(.*try later.*)$' "$T/mq")" '^[1-9]' "the text listing (mailq's format) shows the reason"
sh_ctl sh '{}'
rd_once
is "$(delivered)" "" "nothing is due: nothing delivered"

# -qI: only that message
"$SBIN/sendmail" "-qI$M1"
ok $? "sendmail -qI$M1"
rd_once
is "$(delivered)" "a1@shop.test" "-qI delivered only the selected message"

# -qR: only the recipients in that domain
"$SBIN/sendmail" -qRbob.test
rd_once
is "$(delivered)" "a1@shop.test a3@bob.test" "-qR delivered only the bob.test recipient"
[ -n "$(qid_to a2@shop.test)" ]
ok $? "its shop.test sibling is still queued"

# -qS: only that sender's messages
"$SBIN/sendmail" -qSnews@bob.test
rd_once
is "$(delivered)" "a1@shop.test a3@bob.test b2@shop.test" "-qS delivered only the selected sender's message"

# A site user's flush stays in their site, whatever they name.  It is a
# request to sitemaild (here --hold: it applies requests, delivers nothing).
rd_start --hold
wait_for 10 test -S "$SPOOL/state/sitemaild.sock"
as_user smr-alice "$SBIN/sendmail" "-qI$M3"
as_user smr-alice "$SM" flush "$M3" 2>/dev/null
is "$?" 66 "alice: sitemail flush of bob's ID -> 66"
as_user smr-alice "$SM" flush --site bob.test 2>/dev/null
is "$?" 77 "alice: sitemail flush --site bob.test -> 77"
rd_stop
rd_once
is "$(got b1@shop.test)" 0 "alice's -qI of bob's message flushed nothing"
rd_start --hold
wait_for 10 test -S "$SPOOL/state/sitemaild.sock"
as_user smr-alice "$SBIN/sendmail" -q
rd_stop
rd_once
is "$(delivered)" "a1@shop.test a2@shop.test a3@bob.test b2@shop.test" "alice's sendmail -q flushed only alice's mail"
is "$(got b1@shop.test)" 0 "bob's deferred message is still waiting"

# root's sitemail flush --site
"$SM" flush --site bob.test
ok $? "root: sitemail flush --site bob.test"
rd_once
is "$(got b1@shop.test)" 1 "flush --site delivered bob's message"
ok "$(queue_empty; echo $?)" "the queue is empty"
grep -q "flush: site=bob.test" "$SM_LOG"
ok $? "the runner logged the flush"
ok "$(sanitizer_clean; echo $?)" "no sanitizer report from the runner"

# sitemail route: the runner's decision for an address, with evidence
"$SM" route x@shop.test >"$T/route"
is "$?" 0 "sitemail route: exit 0"
grep -qi smarthost "$T/route"
ok $? "sitemail route x@shop.test: the smarthost"
is "$("$SM" route x@shop.test --json | jq -r .route)" smarthost "sitemail route --json"
is "$("$SM" route x@nullmx.test --json | jq -r '[.route, .dsn] | @tsv')" "bounce	5.1.10" "sitemail route: null MX bounces"
as_user smr-alice "$SM" route x@shop.test >/dev/null 2>&1
is "$?" 77 "sitemail route is for admins"

# sites: per-site results of the last hour, counted by the runner
"$SM" sites --json >"$T/sites"
is "$(jq -r 'select(.site == "bob.test") | .queued_messages' "$T/sites")" 0 "sites: bob.test has nothing queued"
is "$(jq -r 'select(.site == "alice.test") | .sent_1h' "$T/sites")" 3 "sites: alice.test sent 3 recipients in the last hour"
is "$(jq -r 'select(.site == "bob.test") | [.sent_1h, .deferred_1h] | @tsv' "$T/sites")" "2	2" "sites: bob.test sent 2, deferred 2"
is "$(jq -r 'select(.site == "alice.test") | .deferred_1h' "$T/sites")" 3 "sites: alice.test deferred 3"

done_testing
