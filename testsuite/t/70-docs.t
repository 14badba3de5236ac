#!/bin/bash
# 70-docs.t - the installed man pages render cleanly with man -l, and
# document what the programs really accept.
. "$SM_SRC/testsuite/lib/tap.sh"
MAN=$SM_PREFIX/share/man
# Every page in cmd/ (so a new program's page is checked as soon as it exists).
pages=$(cd "$SM_SRC/cmd" && ls *.[1-8] | sed -E 's/^(.*)\.([1-8])$/man\2\/\1.\2/')
for p in man8/sendmail.8 man8/sitemail.8 man8/sitemaild.8 man5/sitemail.conf.5; do
	case " $(echo $pages) " in *" $p "*) ;; *) pages="$pages $p";; esac
done
for page in $pages; do
	[ -f "$MAN/$page" ]; ok $? "$page installed"
	warn=$(MANWIDTH=80 man --warnings -l "$MAN/$page" 2>&1 >/dev/null)
	is "$warn" "" "$page renders without warnings"
	lines=$(MANWIDTH=80 man -l "$MAN/$page" 2>/dev/null | wc -l)
	[ "$lines" -gt 40 ]; ok $? "$page has content ($lines lines)"
done
# Every verb in sitemail's usage is in its man page.
for verb in $("$SBIN/sitemail" 2>&1 | awk '$1 == "sitemail" && $2 !~ /^[[-]/ { print $2 }' | sort -u); do
	grep -q -e "$verb" "$SM_SRC/cmd/sitemail.8"; ok $? "sitemail.8 documents '$verb'"
done
# Every config key of the example in sitemail.conf.5 is accepted.
sm_reset
for key in hostname spool_dir user max_message_size max_recipients queue_lifetime retry_min retry_max log alert_to; do
	grep -q "^\.It Cm $key\|$key" "$SM_SRC/cmd/sitemail.conf.5"; ok $? "sitemail.conf.5 documents $key"
done
# The shipped, commented cmd/sitemail.conf names every key the parser knows
# (util/conf.c conf_keys), and as shipped it is a valid "all defaults".
for key in $(sed -n 's/^[[:space:]]*{ S_[A-Z]*, "\([a-z_]*\)",.*/\1/p' "$SM_SRC/util/conf.c" | sort -u); do
	grep -Eq "^;? ?$key =" "$SM_SRC/cmd/sitemail.conf" ||
	    grep -Eq "^;? ?$key =" "$SM_SRC/cmd/example.conf.sample"
	ok $? "the shipped sitemail.conf or example.conf.sample shows '$key'"
done
D=$(mktemp -d /tmp/sm-docs.XXXXXX)
chmod 755 "$D"	# check-config wants the group to reach the files
mkdir "$D/sites.d"
cp "$SM_SRC/cmd/sitemail.conf" "$D/"
cp -p "$ETC/spool.key" "$D/"	# made at install, as the package does
sed 's/^users = web1 /users = root /' "$SM_SRC/cmd/example.conf.sample" >"$D/sites.d/example.conf"
out=$("$SBIN/sitemail" -C "$D" check-config 2>&1)
like "$out" "configuration OK: 1 site" "the shipped sitemail.conf and the example site pass check-config"
rm -rf "$D"
done_testing
