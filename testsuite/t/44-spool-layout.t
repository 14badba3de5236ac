#!/bin/bash
# 44-spool-layout.t - sitemaild creates a missing spool layout at start (as
# Postfix's post-install does), and refuses to run on one with a wrong
# owner, group, type or mode, naming the command that fixes it.  Uses a
# configuration and spool of its own under a scratch directory.
. "$SM_SRC/testsuite/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (chown, the runner user)"
T=$(mktemp -d /tmp/sm-layout.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
C=$T/etc
S=$T/spool
mkdir -p "$C/sites.d"
printf '[main]\nhostname = mx.sitemail.test\nspool_dir = %s\nlog = file:%s\n' \
    "$S" "$T/log" >"$C/sitemail.conf"
: >"$T/log"; chown sitemail:sitemail "$T/log"
"$SBIN/sitemail" -C "$C" keygen >/dev/null || bail "keygen"
chmod 755 "$C"; chmod 644 "$C/sitemail.conf"

# layout - "owner:group mode" of every directory of the layout.
layout() {
	local d
	for d in "" /tmp /queue /quarantine /state /state/flush; do
		stat -c "${d:-.} %U:%G %a" "$S$d" 2>&1
	done | tr '\n' ' '
}
WANT=". sitemail:sitemail 770 /tmp sitemail:sitemail 770 /queue sitemail:sitemail 770 /quarantine sitemail:sitemail 770 /state sitemail:sitemail 770 /state/flush sitemail:sitemail 1770 "
once() { "$SBIN/sitemaild" -C "$C" --once 2>"$T/err"; }

# --setup on nothing: the whole layout, as root.
out=$("$SBIN/sitemaild" -C "$C" --setup 2>"$T/err")
is "$?" 0 "--setup exits 0"
like "$out" "spool layout of $S is in place" "--setup says so"
is "$(layout)" "$WANT" "--setup made the layout with owners and modes"
like "$(cat "$T/err")" "created $S/state/flush \(mode 1770\)" "each creation is logged"
"$SBIN/sitemaild" -C "$C" --setup >/dev/null 2>&1
is "$?" 0 "--setup again: nothing to do"

# At start, as root: missing directories come back.
rm -rf "$S/queue" "$S/state"
once; is "$?" 0 "sitemaild --once with queue/ and state/ missing"
is "$(layout)" "$WANT" "... recreated them"
rm -rf "$S"
once; is "$?" 0 "sitemaild --once with no spool at all"
is "$(layout)" "$WANT" "... made the whole layout"

# Started as the runner user (systemd's User=): it makes what it can.
rm -rf "$S/quarantine"
setpriv --reuid=sitemail --regid=sitemail --init-groups -- \
    "$SBIN/sitemaild" -C "$C" --once 2>"$T/err"
is "$?" 0 "as user sitemail, quarantine/ missing: runs"
is "$(layout)" "$WANT" "... and recreated it"
mv "$S" "$T/moved"; chmod 755 "$T"
setpriv --reuid=sitemail --regid=sitemail --init-groups -- \
    "$SBIN/sitemaild" -C "$C" --once 2>"$T/err"
is "$?" 73 "as user sitemail, no spool in a root-owned parent: exit 73"
like "$(cat "$T/err")" "cannot create $S: Permission denied; run 'sitemaild --setup' as root" \
    "... naming the fix"
rm -rf "$S"; mv "$T/moved" "$S"

# Wrong modes and owners: refused, nothing changed, the fix named.
chmod 0777 "$S/queue"
once; is "$?" 78 "queue/ mode 0777: exit 78"
like "$(cat "$T/err")" "$S/queue has owner sitemail:sitemail mode 0777, want sitemail:sitemail mode 0770: fix with 'chown sitemail:sitemail $S/queue && chmod 0770 $S/queue'" \
    "... naming the fix"
is "$(stat -c %a "$S/queue")" 777 "... and changing nothing"
fix=$(sed -n "s/.*fix with '\(.*\)'$/\1/p" "$T/err")
sh -c "$fix"; once; is "$?" 0 "the named fix works"
chown root:root "$S/state"
once; is "$?" 78 "state/ owned by root: exit 78"
like "$(cat "$T/err")" "$S/state has owner root:root mode 0770" "... naming owner and mode"
chown sitemail:sitemail "$S/state"
chmod 0770 "$S/state/flush"
once; is "$?" 78 "state/flush without its sticky bit: exit 78"
like "$(cat "$T/err")" "chmod 1770 $S/state/flush" "... naming chmod 1770"
chmod 1770 "$S/state/flush"
chgrp root "$S"
once; is "$?" 78 "the spool itself in group root: exit 78"
chgrp sitemail "$S"
rmdir "$S/tmp"; ln -s /tmp "$S/tmp"
once; is "$?" 78 "tmp/ a symlink: exit 78"
like "$(cat "$T/err")" "$S/tmp is not a directory" "... says it is not a directory"
rm "$S/tmp"
"$SBIN/sitemaild" -C "$C" --setup >/dev/null 2>&1
is "$?" 0 "--setup repairs a missing tmp/"
is "$(layout)" "$WANT" "the layout is whole again"
done_testing
