#!/bin/bash
# 45-dkim.t - DKIM signing end to end: "sitemail dkim keygen" makes the
# key, the test dnsmasq publishes its TXT record, real clients (PHP mail(),
# PHPMailer, Symfony "sendmail -bs") submit as a site user, sitemaild
# signs and relays to the real test smarthost, and python3-dkim (an
# independent verifier) checks every stored message against the record
# it reads from that DNS server.  Also: an 8-bit UTF-8 body, a multipart
# attachment, a message retried after 451 (signed again: a fresh t=),
# one signature shared by a message's smarthost and local jobs, a body
# line over 998 bytes (re-encoded by the wire fixes, then signed), a key the group
# may read (refused; check-config warns), a foreign From
# relayed unsigned with the reason in the log, keys the site user and the
# set-gid group cannot read (and sendmail never opens), and "dkim list"
# telling a matching record from a mismatching or missing one.  Also an
# optional second signature, ed25519-sha256 (RFC 8463).
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/runner.sh"

$PY -c 'import dkim, dns.resolver, nacl' 2>/dev/null ||
	skip_all "python3-dkim / python3-dnspython / python3-nacl missing"
command -v php >/dev/null || skip_all "php-cli missing"
rn_init
sm_reset
rm -rf "$ETC/dkim"
SITEMAIL=$SBIN/sitemail
VERIFY=("$PY" "$SM_SRC/testsuite/lib/dkim_verify.py")
sh_start sh --certdir "$T/certs" --users alice:secret
sh_start loc --plain
rn_secret "$T/pw" secret
export SH_URL=smtp://127.0.0.1:$sh_PORT SH_USER=alice SH_PWFILE=$T/pw

# conf - the runner configuration (from_policy allow: a foreign From).
conf() {
	rn_conf <<-EOF
	from_policy = allow
	[local]
	transport = smtp://127.0.0.1:$loc_PORT
	EOF
}
# newest NAME ADDR - the .eml of the newest message NAME stored for ADDR.
newest() {
	$PY - "$T/$1.spool" "$2" <<-'EOF'
	import glob, json, os, sys
	best = None
	for f in glob.glob(sys.argv[1] + "*/*.json"):
	    if sys.argv[2] in json.load(open(f))["rcpt_tos"] and (best is None
	            or os.path.getmtime(f) >= os.path.getmtime(best)):
	        best = f
	print(best[:-5] + ".eml" if best else "/nonexistent")
	EOF
}
# verify EML - python3-dkim's verdict on a stored message.
verify() { "${VERIFY[@]}" --dns "127.0.0.1:$dns_PORT" "$1" 2>&1; }
# sigtag EML TAG - a tag of the message's DKIM-Signature (unfolded).
sigtag() {
	$PY - "$1" "$2" <<-'EOF'
	import re, sys
	m = open(sys.argv[1], "rb").read()
	h = re.match(rb"(?is)dkim-signature:(.*?)\r\n(?![ \t])", m)
	v = re.sub(rb"\s", b"", h.group(1)) if h else b""
	t = dict(x.split(b"=", 1) for x in v.split(b";") if b"=" in x)
	print(t.get(sys.argv[2].encode(), b"").decode())
	EOF
}
# delivered ADDR - the log says ADDR was sent (for wait_for).
delivered() { grep -q "to=<$1>.*status=sent" "$SM_LOG"; }
# final ADDR - the log says ADDR was sent or bounced (for wait_for).
final() { grep -Eq "to=<$1>.*status=(sent|bounced)" "$SM_LOG"; }

# --- keys and DNS ------------------------------------------------------
conf
out=$("$SITEMAIL" -C "$ETC" dkim keygen alice.test 2>&1)
ok $? "dkim keygen alice.test"
KEY=$ETC/dkim/alice.test.sitemail.key
like "$out" "sitemail\._domainkey\.alice\.test\. 3600 IN TXT" "keygen prints the TXT record"
is "$(stat -c '%U %a' "$KEY")" "sitemail 600" "the key: owner sitemail, mode 0600"
is "$(stat -c '%U %G %a' "$ETC/dkim")" "sitemail sitemail 700" "the key directory: sitemail, mode 0700"
"$SITEMAIL" -C "$ETC" dkim keygen alice.test >/dev/null 2>&1
is $? 73 "keygen never replaces a key (EX_CANTCREAT)"
"$SITEMAIL" -C "$ETC" dkim keygen other.test >/dev/null 2>&1
"$SITEMAIL" -C "$ETC" dkim keygen nodns.test >/dev/null 2>&1
VALUE=$(printf '%s\n' "$out" | sed -n 's/^value: //p')
like "$VALUE" '^v=DKIM1; k=rsa; p=MII' "the record's value"
P=$(openssl pkey -in "$KEY" -pubout -outform DER 2>/dev/null | base64 -w0)
is "${VALUE#v=DKIM1; k=rsa; p=}" "$P" "p= is the key's public half (openssl)"
# dnsmasq: strings of at most 255 bytes, so the value is split in two.
printf 'txt-record=sitemail._domainkey.alice.test,"%s","%s"\n' \
    "${VALUE:0:200}" "${VALUE:200}" >>"$T/dns/zone.conf"
# other.test publishes alice.test's key: a mismatch.
printf 'txt-record=sitemail._domainkey.other.test,"%s","%s"\n' \
    "${VALUE:0:200}" "${VALUE:200}" >>"$T/dns/zone.conf"
dns_stop dns
dns_start dns "$T/dns/zone.conf" || bail "dnsmasq did not restart"
conf

# --- 4: dkim list ----------------------------------------------------------
list=$("$SITEMAIL" -C "$ETC" dkim list)
like "$(grep '^alice.test ' <<<"$list")" '^alice\.test +sitemail +rsa +2048 +yes +match ' "list: alice.test matches DNS"
like "$(grep '^other.test ' <<<"$list")" '^other\.test +sitemail +rsa +2048 +yes +mismatch .*publishes p=\.\.\.' "list: other.test mismatch (another key in DNS)"
like "$(grep '^nodns.test ' <<<"$list")" '^nodns\.test +sitemail +rsa +2048 +yes +missing ' "list: nodns.test has no record"
is "$("$SITEMAIL" -C "$ETC" dkim list --json | jq -r '.[] | .domain + " " + .dns' | tr '\n' ' ')" \
    "alice.test match nodns.test missing other.test mismatch " "list --json"
like "$("$SITEMAIL" -C "$ETC" dkim check alice.test)" '^site alice\.test: signed with d=alice\.test s=sitemail ' "check: alice.test is signed"
out=$("$SITEMAIL" -C "$ETC" dkim check www.alice.test 2>&1)
is $? 69 "check: a subdomain is not signed (exit 69)"
like "$out" 'subdomain of alice\.test and dkim_subdomains = no' "check says why"

# --- 3: the site user and the set-gid group cannot read the key ------------
out=$(as_user smr-alice cat "$KEY" 2>&1)
is "$?:$out" "1:cat: $KEY: Permission denied" "site user: cat fails with EACCES"
out=$(setpriv --reuid=smr-alice --regid=sitemail --clear-groups --reset-env -- cat "$KEY" 2>&1)
is "$?:$out" "1:cat: $KEY: Permission denied" "group sitemail (what sendmail runs as): EACCES"
out=$(setpriv --reuid=smr-alice --regid=sitemail --clear-groups --reset-env -- ls "$ETC/dkim" 2>&1)
like "$?:$out" "^2:.*Permission denied" "group sitemail cannot list the key directory"
out=$(as_user smr-alice "$SITEMAIL" dkim list 2>&1)
is $? 77 "sitemail dkim list as a site user: permission denied (77)"
if command -v strace >/dev/null; then
	msg 0 | strace -f -e trace=open,openat,stat,newfstatat,access -o "$T/strace.out" \
	    setpriv --reuid=smr-alice --regid="$(id -g smr-alice)" --init-groups \
	    --reset-env -- "$SENDMAIL" -i nobody@alice.test
	ok $? "sendmail under strace accepted a message"
	grep -q '"/' "$T/strace.out"; ok $? "strace saw sendmail's file opens"
	is "$(grep -c '/dkim' "$T/strace.out")" 0 "sendmail never touches the key directory"
fi

rd_start
wait_for 10 grep -q 'sitemaild.*starting' "$SM_LOG" || bail "sitemaild did not start"

# --- 1: real clients, verified by python3-dkim ----------------------------
cat >"$T/mail.php" <<'PHP'
<?php
$body = "Grüße aus Köln — ünïcödé, 8-bit body\n\tindented   line with  spaces  \n\n\n";
$ok = mail($argv[1], "Caf\u{e9} au lait", $body,
    "From: Alice <alice@alice.test>\r\nMIME-Version: 1.0\r\n" .
    "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit");
exit($ok ? 0 : 1);
PHP
cat >"$T/phpmailer.php" <<'PHP'
<?php
require '/usr/share/php/libphp-phpmailer/autoload.php';
$m = new PHPMailer\PHPMailer\PHPMailer(true);
$m->isSendmail();
$m->Sendmail = $argv[1];
$m->CharSet = 'UTF-8';
$m->setFrom('shop@alice.test', 'Alice Shop');
$m->addAddress($argv[2]);
$m->addReplyTo('help@alice.test');
$m->Subject = 'Your invoice';
$m->Body = "Invoice attached.\nMerci beaucoup — à bientôt.\n";
$m->addStringAttachment(random_bytes(3000) . "\0\r\n.\r\n", 'invoice.bin');
$m->send();
PHP
cat >"$T/symfony.php" <<'PHP'
<?php
require '/usr/share/php/Symfony/Component/Mailer/autoload.php';
use Symfony\Component\Mailer\Transport\SendmailTransport;
use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mime\Email;
$mailer = new Mailer(new SendmailTransport($argv[1]));
$mailer->send((new Email())->from('app@alice.test')->to($argv[2])
    ->subject('Symfony')->text("Line one\n.leading dot\n")
    ->html('<p>Hello <b>there</b></p>'));
PHP
chmod 644 "$T"/*.php
(cd "$T" && as_user smr-alice php -d "sendmail_path=$SENDMAIL -t -i" "$T/mail.php" php@shop.test)
ok $? "PHP mail() submitted"
(cd "$T" && as_user smr-alice php "$T/phpmailer.php" "$SENDMAIL" phpmailer@shop.test)
ok $? "PHPMailer submitted (multipart, attachment)"
(cd "$T" && as_user smr-alice php "$T/symfony.php" "$SENDMAIL -bs" symfony@shop.test)
ok $? "Symfony sendmail -bs submitted"
for a in php phpmailer symfony; do
	wait_for 20 delivered "$a@shop.test"; ok $? "$a: delivered"
	eml=$(newest sh "$a@shop.test")
	like "$(verify "$eml")" ': pass d=alice\.test s=sitemail a=rsa-sha256$' "$a: python3-dkim verifies it against the DNS record"
	like "$(grep "to=<$a@shop.test>.*status=sent" "$SM_LOG")" ', dkim=alice\.test/sitemail$' "$a: the log line says dkim=alice.test/sitemail"
done
eml=$(newest sh php@shop.test)
# 8-bit text goes out quoted-printable (compat/wire.c: libcurl 7.88 cannot
# announce BODY=8BITMIME), signed after that, and decodes to the same text.
grep -qi '^Content-Transfer-Encoding: quoted-printable' "$eml"; ok $? "php: the 8-bit UTF-8 body went out quoted-printable"
/usr/bin/python3 -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); sys.exit(0 if "Grüße".encode() in m.get_payload(decode=True) else 1)' "$eml"; ok $? "php: it decodes to the submitted UTF-8 text"
like "$(sigtag "$eml" h)" '^from:from:to:subject:date:message-id:mime-version:content-type:content-transfer-encoding$' \
    "php: the usual headers signed, From oversigned"
eml=$(newest sh phpmailer@shop.test)
grep -qi '^Content-Type: multipart/mixed' "$eml"; ok $? "phpmailer: multipart with an attachment"
like "$(sigtag "$eml" h)" 'reply-to' "phpmailer: Reply-To signed"
# A tampered copy must fail: the verifier is not a rubber stamp.
sed 's/Invoice attached/Invoice ATTACHED/' "$eml" >"$T/tampered.eml"
like "$(verify "$T/tampered.eml")" ': fail ' "a changed body fails verification"

# --- once per attempt: smarthost and local jobs carry one signature --------
printf 'From: alice@alice.test\nTo: r@shop.test, l@lo.test\nSubject: two routes\n\nboth\n' |
    submit smr-alice r@shop.test l@lo.test
wait_for 20 delivered r@shop.test && wait_for 20 delivered l@lo.test
ok $? "two routes: both delivered"
e1=$(newest sh r@shop.test); e2=$(newest loc l@lo.test)
is "$(sigtag "$e1" b)" "$(sigtag "$e2" b)" "two jobs, one signature (signed once per attempt)"
like "$(verify "$e2")" ': pass ' "the local copy verifies too"

# --- retried after 451: signed again -----------------------------------------
sh_ctl sh '{"data": {"code": 451, "text": "4.3.0 try again later", "times": 2}}'
t0=$(date +%s)
printf 'From: alice@alice.test\nSubject: retry\n\nretried body\n' | submit smr-alice retry@shop.test
wait_for 30 delivered retry@shop.test; ok $? "retry: delivered after two 451s"
is "$(grep -c 'to=<retry@shop.test>.*status=deferred (451 4.3.0 try again later), dkim=alice.test/sitemail' "$SM_LOG")" 2 \
    "retry: each attempt was signed (log)"
eml=$(newest sh retry@shop.test)
like "$(verify "$eml")" ': pass ' "retry: the delivered copy verifies"
t=$(sigtag "$eml" t)
[ "$t" -ge $((t0 + 2)) ]; ok $? "retry: t= is from the last attempt ($t >= $t0 + 2), not the first"
sh_ctl sh '{}'

# --- a second signature, ed25519-sha256, next to the RSA one -----------------
out=$("$SITEMAIL" -C "$ETC" dkim keygen alice.test --type ed25519 2>&1)
ok $? "dkim keygen --type ed25519"
EDVALUE=$(printf '%s\n' "$out" | sed -n 's/^value: //p')
like "$EDVALUE" '^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$' "the Ed25519 record: k=ed25519, a raw 32-byte key"
printf 'txt-record=sitemail-ed25519._domainkey.alice.test,"%s"\n' "$EDVALUE" >>"$T/dns/zone.conf"
rd_stop
dns_stop dns
dns_start dns "$T/dns/zone.conf" || bail "dnsmasq did not restart"
conf
rd_start
printf 'From: alice@alice.test\nSubject: two signatures\n\nboth algorithms\n' | submit smr-alice ed@shop.test
wait_for 20 delivered ed@shop.test; ok $? "ed25519: delivered"
like "$(verify "$(newest sh ed@shop.test)")" ': pass d=alice\.test s=sitemail a=rsa-sha256, pass d=alice\.test s=sitemail-ed25519 a=ed25519-sha256$' \
    "ed25519: both signatures verify (python3-dkim with PyNaCl), RSA first"
like "$(grep 'to=<ed@shop.test>.*status=sent' "$SM_LOG")" ', dkim=alice\.test/sitemail\+sitemail-ed25519$' "ed25519: the log names both selectors"
rm -f "$ETC/dkim/alice.test.sitemail-ed25519.key"

# --- 2: a foreign From goes unsigned, and the log says why ---------------
printf 'From: someone@other.test\nSubject: foreign\n\nnot ours\n' | submit smr-alice foreign@shop.test
wait_for 20 delivered foreign@shop.test; ok $? "foreign From: delivered (from_policy = allow)"
eml=$(newest sh foreign@shop.test)
is "$(grep -ci '^DKIM-Signature:' "$eml")" 0 "foreign From: no DKIM-Signature"
like "$(grep 'to=<foreign@shop.test>.*status=sent' "$SM_LOG")" \
    ", dkim=none \(From domain other\.test is not one of site alice\.test's domains\)$" \
    "foreign From: dkim=none (reason) in the log"

# --- a body line over 998 bytes (needs the wire fixes: compat/wire.c) -------
long=$(head -c 1500 /dev/zero | tr '\0' 'x')
printf 'From: alice@alice.test\nSubject: long line\n\nshort\n%s\nend\n' "$long" | submit smr-alice long@shop.test
wait_for 30 final long@shop.test
delivered long@shop.test; ok $? "long line: delivered through the strict smarthost"
like "$(verify "$(newest sh long@shop.test)")" ': pass ' "long line: the signature over the wire form verifies"

# --- a key the group may read is refused (and check-config says so) -------
chmod 640 "$KEY"
like "$("$SITEMAIL" -C "$ETC" check-config 2>&1)" "warning: $KEY: want owner sitemail and mode 0600" \
    "check-config warns about a group-readable key"
printf 'From: alice@alice.test\nSubject: leaky\n\nbody\n' | submit smr-alice leaky@shop.test
wait_for 20 delivered leaky@shop.test; ok $? "group-readable key: delivered"
is "$(grep -ci '^DKIM-Signature:' "$(newest sh leaky@shop.test)")" 0 "group-readable key: not used"
like "$(grep 'to=<leaky@shop.test>.*status=sent' "$SM_LOG")" 'dkim=none \(signing failed: .*refused' \
    "group-readable key: the log says why"
chmod 600 "$KEY"
is "$("$SITEMAIL" -C "$ETC" check-config 2>&1 | grep -c 'warning:.*DKIM')" 0 "check-config: no DKIM warning with mode 0600"

rd_stop
sanitizer_clean; ok $? "no sanitizer report from sitemaild"
rm -rf "$ETC/dkim"
done_testing
