#!/bin/bash
# 90-fuzz.t - a short libFuzzer run (ASan + UBSan) of every fuzz target:
# the parsers (options, headers, addresses, -bs, config, DNS answers, queue
# records) and the spool reader.  FUZZ_SECONDS sets each run's length.
. "$SM_SRC/testsuite/lib/tap.sh"
: "${SM_SAN:?run through make check}"
secs=${FUZZ_SECONDS:-20}
work=$(mktemp -d /tmp/smfuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0
for f in "$SM_SAN"/fuzz/*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	mkdir -p "$work/$name"
	[ -d "$SM_SRC/testsuite/fuzz/corpus/$name" ] &&
		cp -r "$SM_SRC/testsuite/fuzz/corpus/$name/." "$work/$name/"
	( cd "$work" && ASAN_OPTIONS=detect_leaks=1 "$f" -max_total_time="$secs" \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work/$name" ) \
	    >"$work/$name.log" 2>&1
	rc=$?
	ok $rc "$name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$') runs in ${secs}s, no crash"
	[ $rc -eq 0 ] || tail -40 "$work/$name.log" | sed 's/^/# /'
	n=$((n + 1))
done
[ "$n" -ge 5 ]; ok $? "found $n fuzz targets"
done_testing
