#!/bin/bash
# 61-admin-incident.t - the spam incident, end to end: site A (alice.test)
# floods the queue; the admin freezes A, lists A's queue, looks at one
# message, deletes A's frozen mail and thaws A.  Real intake (sendmail as
# the sites' users), the real runner (sitemaild --once), the real
# smarthost (smarthost.py, STARTTLS + AUTH) and real DNS (dnsmasq).  Checks
# that nothing deleted is ever delivered, that site B's mail flows the
# whole time, and that A's mail flows again after the thaw.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"
command -v jq >/dev/null || skip_all "jq missing"

rn_init
sm_reset
sh_start sh --certdir "$T/certs" --users alice:secret
rn_secret "$T/pw" secret
# shellcheck disable=SC2154  # sh_PORT is set by sh_start
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_USER=alice SH_PWFILE=$T/pw
rn_conf </dev/null
SM=$SBIN/sitemail

# got ADDR - how many messages the smarthost accepted for ADDR.
got() { sh_rcpt_count sh "$1"; }
# spam_got - messages the smarthost accepted for any spam victim.
spam_got() {
	$PY - "$T/sh.spool" <<-'EOF'
	import glob, json, sys
	print(sum(1 for f in glob.glob(sys.argv[1] + "/*.json")
	          for r in json.load(open(f))["rcpt_tos"] if r.startswith("victim")))
	EOF
}
# site_count SITE - messages of SITE in the queue.
site_count() { "$SM" list --site "$1" --json | jq -s length; }

# --- before: both sites deliver -------------------------------------------
msg 0 | submit smr-alice hello@shop.test
msg 0 | submit smr-bob b0@shop.test
rd_once
is "$(got hello@shop.test):$(got b0@shop.test)" "1:1" "before: both sites deliver"

# --- the flood --------------------------------------------------------------
for i in $(seq 1 30); do
	msg "spam $i" | submit smr-alice "victim$i@shop.test"
done
msg 1 | submit smr-bob b1@shop.test
is "$(site_count alice.test)" 30 "A has 30 messages queued"

# freeze A before the runner gets to them
"$SM" freeze alice.test >"$T/out"
is "$?:$(cat "$T/out")" "0:site alice.test: frozen" "sitemail freeze alice.test"
grep -q 'site alice.test: frozen by admin' "$SM_LOG"
ok $? "the freeze is logged"

rd_once
is "$(got b1@shop.test)" 1 "B's mail flows while A is frozen"
is "$(spam_got)" 0 "nothing of frozen A was delivered"
is "$(site_count alice.test)" 30 "A's mail waits in the queue"

# look at the queue the way an admin would
"$SM" list --site alice.test >"$T/list"
is "$(grep -c '^[0-9a-f]\{20\}! ' "$T/list")" 30 "list --site A: 30 messages, all marked frozen"
like "$(tail -1 "$T/list")" '^-- [0-9]+ Kbytes in 30 Requests\.$' "list --site A: the summary"
! grep -q bob.test "$T/list"
ok $? "list --site A: nothing of B"
ONE=$(sed -n 2p "$T/list" | cut -c1-20)
"$SM" show "$ONE" >"$T/show"
is "$(awk '$1 == "site:" { print $2 }' "$T/show")" alice.test "show: the site"
like "$(grep '^state:' "$T/show")" 'frozen \(site alice.test\)' "show: frozen with its site"
like "$(grep -i '^Subject:' "$T/show")" 'test spam [0-9]+' "show: the header"
like "$(grep '^cwd:' "$T/show")" "^cwd: +/" "show: where it came from (cwd)"

# A's code keeps sending while frozen; B keeps sending too
msg "spam 31" | submit smr-alice victim31@shop.test
ok $? "frozen A: mail is still accepted (held) up to its backlog"
msg 2 | submit smr-bob b2@shop.test
rd_once
is "$(got b2@shop.test):$(spam_got)" "1:0" "B flows, A stays frozen"

# delete A's frozen mail
"$SM" list --site alice.test --json | jq -r .queue_id | sort >"$T/spam.ids"
"$SM" delete --site alice.test --frozen >"$T/del"
is "$?:$(grep -c ': removed$' "$T/del")" "0:31" "delete --site A --frozen: 31 removed"
is "$(tail -1 "$T/del")" "Deleted: 31 messages" "delete: the summary"
is "$(site_count alice.test)" 0 "A's queue is empty"
gone=0
while read -r q; do
	[ -e "$SPOOL/queue/$q" ] && gone=1
	grep -q "$q: removed by admin" "$SM_LOG" || gone=1
done <"$T/spam.ids"
is "$gone" 0 "every spool file is gone and every removal logged"

# thaw A: its new mail flows again, the deleted never does
"$SM" thaw alice.test >"$T/out"
like "$(cat "$T/out")" '^site alice\.test: thawed' "sitemail thaw alice.test"
grep -q 'site alice.test: thawed by admin' "$SM_LOG"
ok $? "the thaw is logged"
msg 3 | submit smr-alice after@shop.test
msg 3 | submit smr-bob b3@shop.test
rd_once
is "$(got after@shop.test):$(got b3@shop.test)" "1:1" "after the thaw both sites deliver"
rd_once
is "$(spam_got)" 0 "nothing deleted was ever delivered"
ok "$(queue_empty; echo $?)" "the queue is empty"
ok "$(sanitizer_clean; echo $?)" "no sanitizer report from the runner"

done_testing
