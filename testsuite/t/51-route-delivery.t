#!/bin/bash
# 51-route-delivery.t - MX-true routing end to end: real users submit
# through sendmail, sitemaild routes by the real DNS server (dnsmasq) and
# delivers to the smarthost or to a second aiosmtpd standing in as the
# local MTA.  The hosting case (a site hosted here whose MX is elsewhere),
# implicit MX, a mixed local/remote recipient list, DNS down, and what
# sendmail -bv says (sitemaild's cached answers only).
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

rn_init
sm_reset
sm_user smr-shop
sh_start sh --certdir "$T/certs" --users relay:pw
sh_start lmta --plain
rn_secret "$T/pw" pw
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_USER=relay SH_PWFILE=$T/pw
conf() {
	rn_conf <<-EOF
	[local]
	transport = smtp://127.0.0.1:$lmta_PORT
	EOF
	printf '[site shop.test]\nusers = smr-shop\ndomains = shop.test\n' | sm_site shop
}
conf

# --- 1: the hosting case ----------------------------------------------------
printf 'From: webform@shop.test\nTo: contact@shop.test\nSubject: contact form\n\nhello\n' |
    as_user smr-shop "$SENDMAIL" -t -i
ok $? "shop.test's own contact form mail accepted"
rd_once
is "$(sh_rcpt_count sh contact@shop.test)" 1 "contact@shop.test reached the smarthost"
is "$(sh_rcpt_count lmta contact@shop.test)" 0 "and never the local MTA, though shop.test is hosted here"
like "$(grep 'to=<contact@shop.test>' "$SM_LOG")" 'route=smarthost, .*status=sent' "logged route=smarthost"

# --- 2: implicit MX (A records only), here and elsewhere --------------------
msg 2 | submit smr-shop a@aonly-local.test b@aonly.test
rd_once
is "$(sh_rcpt_count lmta a@aonly-local.test)" 1 "no MX, A on this host: local MTA"
is "$(sh_rcpt_count sh b@aonly.test)" 1 "no MX, A elsewhere: smarthost"

# --- 3: one message, local and remote recipients, each its own status -------
msg 3 | submit smr-shop w@lo.test x@shop.test y@nat.test z@pair.test
rd_once
is "$(sh_rcpt_count lmta w@lo.test)" 1 "mixed: MX on an interface address went local"
is "$(sh_rcpt_count lmta y@nat.test)" 0 "mixed: local_addresses not configured, so nat.test is remote"
is "$(sh_rcpt_count sh y@nat.test)" 1 "mixed: nat.test went to the smarthost"
is "$(sh_rcpt_count sh x@shop.test)" 1 "mixed: shop.test went to the smarthost"
is "$(sh_rcpt_count sh z@pair.test)" 1 "mixed: equal-preference pair went to the smarthost"
is "$(sh_rcpt_count sh w@lo.test)" 0 "mixed: the local recipient was not sent to the smarthost"
queue_empty; ok $? "mixed: queue empty"

# --- 4: DNS down defers; delivered once DNS is back -------------------------
dns_stop dns
# backup.test has not been looked up yet, so no cached answer can help.
msg 4 | submit smr-shop late@backup.test
rd_once
like "$(grep 'to=<late@backup.test>' "$SM_LOG" | tail -1)" 'dsn=4\.4\.3, status=deferred' "DNS down: deferred with 4.4.3"
is "$(sh_rcpt_count sh late@backup.test)" 0 "DNS down: nothing sent"
is "$(grep -c 'status=bounced' "$SM_LOG")" 0 "DNS down: no bounce"
dns_start dns "$T/dns/zone.conf" || bail "dnsmasq did not restart"
conf
sleep 2
rd_once
is "$(sh_rcpt_count sh late@backup.test)" 1 "DNS back: delivered"
queue_empty; ok $? "DNS back: queue empty"

# --- 5: sendmail -bv answers from sitemaild's DNS cache, never from DNS -----
msg 5 | submit smr-shop gone@nxdom.test
rd_once			# nxdom.test is looked up (NXDOMAIN, cached): a bounce
rd_start --hold
bv_answers() { as_user smr-shop "$SENDMAIL" -bv x@shop.test | grep -q 'deliverable: through'; }
wait_for 10 bv_answers || diag "sitemaild slow to answer"
out=$(as_user smr-shop "$SENDMAIL" -bv gone@nxdom.test); st=$?
like "$out" '^gone@nxdom\.test\.\.\. undeliverable: 5\.1\.2 .*NXDOMAIN' "-bv: a domain the cache knows as NXDOMAIN is undeliverable"
is "$st" 67 "  exit 67 (EX_NOUSER)"
out=$(as_user smr-shop "$SENDMAIL" -bv 'Contact Form <contact@shop.test>'); st=$?
like "$out" '^contact@shop\.test\.\.\. deliverable: through the smarthost' "-bv: a cached MX elsewhere: through the smarthost"
is "$st" 0 "  exit 0"
asked=$(grep -c 'unseen\.test' "$T/dns/dns.log")
out=$(as_user smr-shop "$SENDMAIL" -bv x@unseen.test)
like "$out" '^x@unseen\.test\.\.\. deliverable: routed by MX at delivery' "-bv: a domain not in the cache is routed at delivery"
is "$(grep -c 'unseen\.test' "$T/dns/dns.log")" "$asked" "  and -bv asked DNS nothing"
out=$(as_user smr-shop "$SENDMAIL" -bv 'bad address@'); st=$?
is "$st" 64 "-bv: a malformed address is refused (64)"
rd_stop
out=$(as_user smr-shop "$SENDMAIL" -bv gone@nxdom.test); st=$?
like "$out" 'routed by MX at delivery \(sitemaild does not answer now\)' "-bv with sitemaild down says so"
is "$st" 0 "  exit 0"
done_testing
