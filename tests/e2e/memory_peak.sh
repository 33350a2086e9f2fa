#!/usr/bin/env bash
# hdump's own peak memory (issue 13): the kernel's high-water mark of its
# resident set (ru_maxrss, what `time -v` shows), for an --exe dump and a
# default-mode dump of a live REPL.  --exe: below the image heap (read from
# the executable whole, and walked by the dump itself) plus 48 MiB (main
# reached + 60 MiB: the field facts were held through the dump).  -p: below
# issue 13's goal, 64 MiB plus 2 % of the live heap (main: 113 MB; the image
# heap is now mapped and its pages let go between stages and behind walks,
# and the REPL's second isolate takes the first's names and statics arrays
# moved instead of walking its own copy), with discovery in full and with
# its results from the discovery cache.
#   HDUMP=build/hdump tests/e2e/memory_peak.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
version=$1
bin=$(pkl_binary "$version")
command -v python3 >/dev/null || { echo "skip: no python3 to read ru_maxrss"; exit 77; }

# peak_kb CMD...: runs CMD (its output discarded); prints its peak RSS in
# KiB, or nothing when it failed.  Without MALLOC_PERTURB_ (which meson
# test sets): glibc then writes every byte malloc hands out, making pages
# resident that hdump reserves but never touches (a vector's doubled room).
peak_kb() {
	env -u MALLOC_PERTURB_ python3 -c '
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(p.pid, 0)
if os.waitstatus_to_exitcode(status) == 0:
    print(usage.ru_maxrss)' "$@"
}
# expect_peak NAME PEAK BOUND WHY: PEAK (KiB; empty: the run failed) <= BOUND.
expect_peak() {
	if [ -z "$2" ]; then
		fail "$1: the dump failed"
	elif [ "$2" -le "$3" ]; then
		pass "$1: peak RSS $2 KiB <= $3 KiB ($4)"
	else
		fail "$1: peak RSS $2 KiB > $3 KiB ($4)"
	fi
}
# The image heap's size in KiB: .svm_heap's size in the section table.
image_kb=$(readelf -S -W "$bin" |
	sed -n 's/.*\] \.svm_heap  *[A-Z]*  *[0-9a-f]*  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p')
[ -n "$image_kb" ] || { fail "no .svm_heap in $bin"; finish; exit 1; }
image_kb=$((0x$image_kb / 1024))

peak=$(peak_kb "$HDUMP" --exe "$bin" -o "$WORK/exe.hprof")
expect_peak "--exe" "$peak" $((image_kb + 48 * 1024)) "image heap $image_kb KiB + 48 MiB"
rm -f "$WORK/exe.hprof"

repl_start "$version" || { finish; exit 1; }
repl_eval "$MARKERS_EXPR" || fail "markers not defined"
expect_answer "REPL holds its markers" "$MARKERS_FORCE" "$MARKERS_SUM"
"$HDUMP" -p "$REPL_PID" --histo --json >"$WORK/summary.json" 2>"$WORK/err" ||
	fail "-p --histo: exit $? ($(cat "$WORK/err"))"
heap_kb=$(( $(sed -n 's/.*"heap_bytes":\([0-9]*\).*/\1/p' "$WORK/summary.json") / 1024 ))
# The first dump of an executable, with an empty cache, discovers in full
# and writes the cache's entry (as the target is closed); the next one
# takes discovery's results from that entry.
export HDUMP_CACHE_DIR="$WORK/first-cache"
peak=$(peak_kb "$HDUMP" -p "$REPL_PID" -o "$WORK/live.hprof")
[ -n "$(ls "$HDUMP_CACHE_DIR" 2>/dev/null)" ] || fail "the first -p dump wrote no cache entry"
expect_peak "-p, full discovery" "$peak" $((64 * 1024 + heap_kb / 50)) \
	"64 MiB + 2 % of the heap's $heap_kb KiB"
peak=$(peak_kb "$HDUMP" -p "$REPL_PID" -o "$WORK/live-cached.hprof")
expect_peak "-p, discovery cached" "$peak" $((64 * 1024 + heap_kb / 50)) \
	"64 MiB + 2 % of the heap's $heap_kb KiB"
expect_running "after the -p dump"
finish
