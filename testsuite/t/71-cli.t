#!/bin/bash
# 71-cli.t - --version and --help on every installed program (each file
# of sbin/ that is not a link), and sendmail's usage text: exit 0, the
# version of debian/changelog, the spool format and the library versions,
# and nothing read from stdin or written to the spool.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/intake.sh"
sm_reset
VERSION=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$SM_SRC/debian/changelog")
[ -n "$VERSION" ]; ok $? "debian/changelog has a version ($VERSION)"
progs=$(find "$SBIN" -maxdepth 1 -type f -printf '%f\n' | sort)
like "$progs" 'sendmail' "programs found: $(echo $progs)"
for p in $progs; do
	out=$("$SBIN/$p" --version </dev/null 2>&1)
	is "$?" 0 "$p --version exits 0"
	is "$(printf '%s\n' "$out" | head -1)" "$p (sitemail) $VERSION" \
	    "$p --version: name and version"
	like "$out" "spool format [0-9]+" "$p --version: spool format"
	like "$out" "libcurl [0-9.]+ .*libsodium [0-9.]+" "$p --version: libcurl, libsodium"
	like "$out" "tdb [0-9.]+, popt [0-9.]+, inih [0-9]+" "$p --version: tdb, popt, inih"
	out=$("$SBIN/$p" --help </dev/null 2>&1)
	is "$?" 0 "$p --help exits 0"
	like "$out" "[Uu]sage" "$p --help prints usage"
done
# sendmail's usage names the flags that matter, under every name.
sm_user smt-alice
help=$(as_user smt-alice "$SBIN/sendmail" --help </dev/null)
is "$?" 0 "sendmail --help as a site user (set-gid)"
for flag in ' -t ' ' -i, -oi ' ' -f ADDR ' ' -F NAME ' ' -bs ' ' -bv ' ' -bp' \
    ' -q\[' 'mailq' 'Exit status'; do
	like "$help" "$flag" "sendmail --help names '$flag'"
done
like "$(as_user smt-alice "$SBIN/mailq" --version </dev/null)" \
    "^mailq \(sitemail\) $VERSION" "mailq --version"
like "$("$SBIN/newaliases" --help </dev/null)" "usage: newaliases" "newaliases --help"
# --help ends option parsing: nothing is read or queued.
echo "Subject: x" | as_user smt-alice "$SBIN/sendmail" -t -i --help >/dev/null
is "$?" 0 "sendmail -t -i --help exits 0"
is "$(sm_queue_count)" 0 "... and queues nothing"
# After the options, "--help" is a recipient like any other word.
out=$(echo "Subject: x" | as_user smt-alice "$SBIN/sendmail" -i -- --help 2>&1)
case $out in *usage:*) false;; esac
ok $? "after --, --help is not an option"
# Unknown long options are still usage errors naming them.
out=$("$SBIN/sendmail" --frobnicate </dev/null 2>&1)
is "$?" 64 "sendmail --frobnicate: exit 64"
like "$out" "unknown option -- '--frobnicate'" "... naming it"
done_testing
