#!/bin/bash
# 11-badinput.t - bad input gets a clear one-line error, the documented
# sysexits status, and leaves nothing in the spool.
. "$SM_SRC/testsuite/lib/tap.sh"
. "$SM_SRC/testsuite/lib/intake.sh"
sm_reset
sites_two
printf '[main]\nmax_message_size = 200K\nmax_recipients = 5\n' | sm_conf

# refused NAME WANT-STATUS ERR-REGEX CMD... - run as smt-alice, check all.
refused() { local name=$1 want=$2 re=$3; shift 3
	queue_snapshot
	( cd "$TMPD" && as_user smt-alice "$@" ) >"$TMPD/out" 2>"$TMPD/err"
	is "$?" "$want" "$name: exit $want"
	like "$(cat "$TMPD/err")" "$re" "$name: clear error"
	is "$(wc -l <"$TMPD/err" | tr -d ' ')" 1 "$name: one line on stderr"
	is "$(queue_new | grep -c .)" 0 "$name: nothing queued"
	is "$(ls "$SPOOL/tmp" | grep -c .)" 0 "$name: no temporary file left"
}

printf 'Subject: nul\n\nbad\0byte\n' >"$TMPD/nul.txt"
refused "NUL byte" 65 "NUL" sh -c "$SENDMAIL -i x@example.net <$TMPD/nul.txt"
{ printf 'Subject: '; head -c 1200 /dev/zero | tr '\0' a; printf '\n\nbody\n'; } >"$TMPD/long.txt"
# Issue 10: long header lines are accepted (as Postfix does) and folded on
# the wire (compat/wire.c); only a header block over 1 MiB is refused.
as_user smt-alice sh -c "$SENDMAIL -i x@example.net <$TMPD/long.txt"
is "$?" 0 "header line over 998: accepted"
{ printf 'Subject: '; head -c 1100000 /dev/zero | tr '\0' a; printf '\n\nbody\n'; } >"$TMPD/huge.txt"
refused "header over 1 MiB" 65 "header larger" sh -c "$SENDMAIL -i x@example.net <$TMPD/huge.txt"
{ printf 'Subject: big\n\n'; head -c 300000 /dev/zero | tr '\0' 'b' | fold -w 70; } >"$TMPD/big.txt"
refused "oversize message" 65 "larger than|size" sh -c "$SENDMAIL -i x@example.net <$TMPD/big.txt"
printf 'Subject: none\n\nno recipients\n' >"$TMPD/norcpt.txt"
refused "-t without recipients" 64 "No recipient addresses found" sh -c "$SENDMAIL -t -i <$TMPD/norcpt.txt"
refused "CR/LF in -f" 64 "sender|-f" "$SENDMAIL" -f "$(printf 'a@alice.test\r\nRCPT TO:<x@y>')" x@example.net
refused "LF in a recipient" 64 "recipient" "$SENDMAIL" "$(printf 'x@example.net\nBcc: y@z')"
refused "-C from a non-root user" 77 "-C" "$SENDMAIL" -C "$TMPD" x@example.net
refused "unknown flag" 64 "Z" "$SENDMAIL" -Z x@example.net
printf 'Subject: many\n\nhi\n' >"$TMPD/many.txt"
refused "over max_recipients" 77 "too many recipients.*max_recipients" sh -c "$SENDMAIL -i a@x.test b@x.test c@x.test d@x.test e@x.test f@x.test <$TMPD/many.txt"
printf 'To: a@x.test, b@x.test, c@x.test\nCc: d@x.test, e@x.test, f@x.test\nSubject: many\n\nhi\n' >"$TMPD/many-t.txt"
refused "over max_recipients with -t" 77 "too many recipients" sh -c "$SENDMAIL -t -i <$TMPD/many-t.txt"

# fds 0-2 closed: sendmail must not write its spool file onto fd 1 or 2.
queue_snapshot
as_user smt-alice sh -c "exec $SENDMAIL x@example.net <&- >&- 2>&-"
rc=$?
is "$(queue_new | grep -c .)" "$([ $rc = 0 ] && echo 1 || echo 0)" "closed fds: consistent result (rc=$rc)"
ok 0 "closed fds: no crash"

# A hostile environment changes nothing: LD_PRELOAD, TMPDIR, PATH=/tmp.
cat >"$TMPD/evil.c" <<'C'
#include <stdlib.h>
__attribute__((constructor)) static void evil(void) { unsetenv("LD_PRELOAD"); system("touch /tmp/smtest-evil-ran"); }
C
rm -f /tmp/smtest-evil-ran
cc -shared -fPIC -o "$TMPD/evil.so" "$TMPD/evil.c" && chmod 755 "$TMPD/evil.so"
queue_snapshot
printf 'Subject: env\n\nhi\n' | as_user smt-alice env LD_PRELOAD="$TMPD/evil.so" \
    TMPDIR=/nonexistent PATH=/tmp SITEMAIL_CONFIG="$TMPD" "$SENDMAIL" x@example.net
ok $? "hostile environment: accepted"
[ ! -e /tmp/smtest-evil-ran ]; ok $? "LD_PRELOAD not honoured by the set-gid binary"
QID=$(queue_new)
is "$(env_field "$QID" site)" "alice.test" "hostile environment: normal spool entry"
is "$(ls "$SPOOL/tmp" | grep -c .)" 0 "no temporary file left at the end"
done_testing
