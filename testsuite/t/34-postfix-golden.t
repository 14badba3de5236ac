#!/bin/bash
# 34-postfix-golden.t - intake compared with Postfix's, case by case: a
# corpus of 53 messages x 2 invocation modes (argv recipients, -t) and 27
# argv forms, each through Postfix's own sendmail into a private Postfix
# queue (postcat) and through sitemail's (sitemail show), asserting the
# same envelope and canonical message; every intended difference is listed
# with its reason in testsuite/lib/golden_postfix.py.  Skips when Postfix
# is not installed (the CI machine installs it).
. "$SM_SRC/testsuite/lib/tap.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
command -v postcat >/dev/null && [ -x /usr/sbin/postdrop ] ||
	skip_all "Postfix is not installed: no golden comparison"
sm_reset
# Postfix has no from_policy, no rate limits and no aliases here.
sm_conf <<-EOF
[limits]
rate = 1000/s
burst = 100000
backlog = 1000000
from_policy = allow
EOF
exec $PY "$SM_SRC/testsuite/lib/golden_postfix.py"
