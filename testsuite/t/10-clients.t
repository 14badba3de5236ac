#!/bin/bash
# 10-clients.t - every client's exact invocation (shared/COMPAT.md) makes
# exactly one verified spool entry with the right envelope and header.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/intake.sh"
sm_reset
sites_two
A_UID=$(uid_of smt-alice)

# submit NAME CMD... - run CMD as smt-alice; expect exit 0 and one new file.
submit() { local name=$1; shift
	queue_snapshot
	( cd "$TMPD" && as_user smt-alice "$@" ) >"$TMPD/out" 2>"$TMPD/err"
	ok $? "$name: exit 0"
	QID=$(queue_new)
	is "$(printf '%s\n' "$QID" | grep -c .)" 1 "$name: exactly one queued"
	QID=$(printf '%s\n' "$QID" | head -1)
}

# 1. PHP mail() with its default sendmail_path flags (-t -i).
cat >"$TMPD/mail.php" <<'PHP'
<?php
$extra = $argv[1] ?? '';
$ok = mail("bob@example.net", "PHP test", "Hello from PHP\n.\nline after a dot\n",
    "From: alice@alice.test\r\nCc: carol@example.org\r\nBcc: hidden@example.org", $extra);
exit($ok ? 0 : 1);
PHP
chmod 644 "$TMPD/mail.php"
PHPD=(php -d "sendmail_path=$SENDMAIL -t -i" -d mail.add_x_header=1)
submit "php mail()" "${PHPD[@]}" "$TMPD/mail.php"
is "$(env_rcpts "$QID")" "bob@example.net carol@example.org hidden@example.org" "php: To, Cc and Bcc are recipients"
is "$(env_field "$QID" site)" "alice.test" "php: site from the real uid"
is "$(env_field "$QID" uid)" "$A_UID" "php: uid recorded"
is "$(env_field "$QID" sender)" "<smt-alice@alice.test>" "php: default sender is the site address"
is "$(header_count "$QID" Bcc)" 0 "php: Bcc removed"
like "$(header "$QID" Date)" '^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} ' "php: Date added"
like "$(header "$QID" Message-ID)" "^<$QID@mx.sitemail.test>\$" "php: Message-ID added"
like "$(header "$QID" Received)" "^from smt-alice \\(uid $A_UID, site alice.test\\) by mx.sitemail.test \\(sitemail\\) id $QID; " "php: Received line"
like "$(header "$QID" X-PHP-Originating-Script)" "mail.php" "php: X-PHP-Originating-Script kept"
like "$(env_field "$QID" script)" "mail.php" "php: script recorded in the envelope"
is "$(env_field "$QID" cwd)" "$TMPD" "php: caller's cwd recorded"
like "$(env_field "$QID" exe)" "^/.*(sh|php)" "php: parent executable recorded (PHP popen()s /bin/sh)"
is "$(body "$QID")" "Hello from PHP
.
line after a dot" "php: body kept, lone dot kept under -i"
content "$QID" | perl -ne 'exit 1 if /\r\r/ || /[^\r]\n/; END { exit 0 }'
ok $? "php: stored with CRLF line ends, no doubled CR"
submit "php mail() -f" "${PHPD[@]}" "$TMPD/mail.php" "-fnews@alice.test"
is "$(env_field "$QID" sender)" "<news@alice.test>" "php -f: envelope sender"

# 2. PHPMailer isSendmail(): -f<Sender> -i -t (7.0.2+) via its own code.
cat >"$TMPD/phpmailer.php" <<'PHP'
<?php
require '/usr/share/php/libphp-phpmailer/autoload.php';
$m = new PHPMailer\PHPMailer\PHPMailer(true);
$m->isSendmail();
$m->Sendmail = $argv[1];
$m->setFrom('shop@alice-shop.test', 'Alice Shop');
$m->addAddress('buyer@example.net');
$m->addBCC('audit@example.org');
$m->Subject = 'Your order';
$m->Body = "Thanks for your order.\n";
$m->send();
PHP
chmod 644 "$TMPD/phpmailer.php"
submit "PHPMailer" php "$TMPD/phpmailer.php" "$SENDMAIL"
is "$(env_rcpts "$QID")" "buyer@example.net audit@example.org" "PHPMailer: Bcc recipient kept in envelope"
is "$(env_field "$QID" sender)" "<shop@alice-shop.test>" "PHPMailer: -f sender"
is "$(header_count "$QID" Bcc)" 0 "PHPMailer: Bcc header removed"
like "$(header "$QID" From)" "shop@alice-shop.test" "PHPMailer: From kept (own domain)"

# 3. Symfony Mailer SendmailTransport, -bs (default) and -t.
cat >"$TMPD/symfony.php" <<'PHP'
<?php
require '/usr/share/php/Symfony/Component/Mailer/autoload.php';
use Symfony\Component\Mailer\Transport\SendmailTransport;
use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mime\Email;
$t = new SendmailTransport($argv[1]);
$mailer = new Mailer($t);
$e = (new Email())->from('app@alice.test')->to('one@example.net')
    ->cc('two@example.net')->bcc('three@example.net')
    ->subject('Symfony')->text("Line one\n.leading dot\n");
$mailer->send($e);
PHP
chmod 644 "$TMPD/symfony.php"
submit "Symfony -bs" php "$TMPD/symfony.php" "$SENDMAIL -bs"
is "$(env_rcpts "$QID")" "one@example.net two@example.net three@example.net" "Symfony -bs: all recipients"
is "$(env_field "$QID" sender)" "<app@alice.test>" "Symfony -bs: sender"
is "$(body "$QID")" "Line one
.leading dot" "Symfony -bs: dot-unstuffed body"
is "$(wc -c <"$TMPD/err")" 0 "Symfony -bs: nothing on stderr"
submit "Symfony -t" php "$TMPD/symfony.php" "$SENDMAIL -t"
is "$(env_rcpts "$QID")" "one@example.net two@example.net three@example.net" "Symfony -t: all recipients"

# 4. swaks --pipe driving sendmail -bs.
submit "swaks -bs" swaks --pipe "$SENDMAIL -bs" --from swaks@alice.test \
    --to a@example.net,b@example.net --header "Subject: swaks" --body "swaks body"
is "$(env_rcpts "$QID")" "a@example.net b@example.net" "swaks: recipients"
is "$(env_field "$QID" sender)" "<swaks@alice.test>" "swaks: sender"

# 5. cron: cronie and Debian cron argv, fed cron's own header block.
cron_msg() { printf 'From: root (Cron Daemon)\nTo: %s\nSubject: Cron <smt-alice@web01> /usr/local/bin/job\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nAuto-Submitted: auto-generated\nPrecedence: bulk\nX-Cron-Env: <SHELL=/bin/sh>\nX-Cron-Env: <HOME=/home/smt-alice>\n\njob output line 1\njob output line 2\n' "$1"; }
cron_msg smt-alice@alice.test >"$TMPD/cron.txt"; chmod 644 "$TMPD/cron.txt"
submit "cronie" sh -c "$SENDMAIL -FCronDaemon -i -odi -oem -oi -t -f smt-alice@alice.test <$TMPD/cron.txt"
is "$(env_rcpts "$QID")" "smt-alice@alice.test" "cronie: recipient from To"
like "$(header "$QID" Date)" '[0-9]{4}' "cronie: Date added (cron sends none)"
is "$(header_count "$QID" Message-ID)" 1 "cronie: Message-ID added"
submit "Debian cron" sh -c "$SENDMAIL -FCronDaemon -i -B8BITMIME -oem ops@example.net <$TMPD/cron.txt"
is "$(env_rcpts "$QID")" "ops@example.net" "Debian cron: argv recipient only (no -t)"

# 6. mutt-style and git send-email style.
printf 'From: alice@alice.test\nTo: x@example.net\nSubject: mutt\n\nbody\n' >"$TMPD/m.txt"; chmod 644 "$TMPD/m.txt"
submit "mutt" sh -c "$SENDMAIL -oem -oi -B8BITMIME -f alice@alice.test -N never -R hdrs -- x@example.net '-odd@example.net' <$TMPD/m.txt"
is "$(env_rcpts "$QID")" "x@example.net -odd@example.net" "mutt: recipients after -- kept byte-exact"
submit "git send-email" sh -c "$SENDMAIL -f alice@alice.test -i x@example.net y@example.net <$TMPD/m.txt"
is "$(env_rcpts "$QID")" "x@example.net y@example.net" "git send-email: argv recipients"
is "$(env_field "$QID" sender)" "<alice@alice.test>" "git send-email: -f sender"

# 7. Without -i a lone dot ends the message; a leading From line is dropped.
printf 'From alice Mon Jan  1 00:00:00 2024\nSubject: dot\n\nbefore\n.\nafter\n' >"$TMPD/d.txt"; chmod 644 "$TMPD/d.txt"
submit "lone dot" sh -c "$SENDMAIL x@example.net <$TMPD/d.txt"
is "$(body "$QID")" "before" "no -i: input ends at the lone dot"
is "$(content "$QID" | grep -c '^From ')" 0 "leading From line dropped"

# 8. Mixed line endings (PHP 8: CRLF header, LF body) and a bare CR.
printf 'Subject: mixed\r\nTo: x@example.net\r\n\r\nlf line\ncrlf line\r\nbare\rcr\n' >"$TMPD/mx.txt"; chmod 644 "$TMPD/mx.txt"
submit "mixed endings" sh -c "$SENDMAIL -t -i <$TMPD/mx.txt"
is "$(body "$QID" | od -An -c | tr -s ' ')" "$(printf 'lf line\ncrlf line\nbare cr\n' | od -An -c | tr -s ' ')" \
    "mixed endings normalised, a bare CR becomes a blank (issue 10)"

# 9. The unlisted user gets a site of its own; root is the site "root".
queue_snapshot
printf 'Subject: carol\n\nhi\n' | as_user smt-carol "$SENDMAIL" x@example.net
QID=$(queue_new)
is "$(env_field "$QID" site)" "smt-carol" "unlisted user: site named after the login"
queue_snapshot
printf 'Subject: root\n\nhi\n' | "$SENDMAIL" x@example.net
QID=$(queue_new)
is "$(env_field "$QID" site)" "root" "root: site root"

# 10. mailq argv[0] and newaliases work for a site user.
as_user smt-alice "$SBIN/newaliases"; ok $? "newaliases exits 0"
done_testing
