#!/usr/bin/env bash
# hdump --core on a gcore (gdb) core of a pkl REPL holding the 10,000
# markers: the same marker truth and validator checks as a live dump.
#
# gcore writes every anonymous mapping the process has as gdb reads it: for
# pkl 0.30.2 the heap's inaccessible address-space reservation too, as
# zeros (64 GB, not sparse, 5-8 minutes on a 2-core VM).  A core that
# large is made only when asked (HDUMP_GCORE_TEST=1) and the disk has
# room; else the test skips, saying so.
#   HDUMP_GCORE_TEST=1 HDUMP=build/hdump tests/e2e/core_gcore.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
version=$1
command -v gcore >/dev/null || { echo "SKIP: no gcore (Debian package gdb)"; exit 77; }
repl_start "$version"
expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"

# What gcore will write: the mappings gdb dumps under the default
# coredump_filter (anonymous memory, and file mappings with written pages)
# unless marked VM_DONTDUMP.
need=$(python3 -c 'import sys
n = size = 0
dump = False
for l in open(sys.argv[1]):
    f = l.split()
    if "-" in f[0] and len(f) >= 5:
        n += size if dump else 0
        a, b = f[0].split("-"); size = int(b, 16) - int(a, 16)
        dump = f[4] == "0"
    elif f[0] == "Anonymous:" and int(f[1]) > 0:
        dump = True
    elif f[0] == "VmFlags:" and "dd" in f[1:]:
        size = 0
n += size if dump else 0
print(n >> 20)' "/proc/$REPL_PID/smaps")
free=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
if [ "$need" -gt 8192 ] && [ "${HDUMP_GCORE_TEST:-0}" != 1 ]; then
	echo "SKIP: gcore would write $need MiB (pkl $version's heap reservation, as zeros):" \
		"set HDUMP_GCORE_TEST=1 to run it"
	exit 77
fi
if [ "$free" -lt $((need + 2048)) ]; then
	echo "SKIP: gcore would write $need MiB; $free MiB free under $WORK"
	exit 77
fi

start=$SECONDS
gcore -o "$WORK/gcore" "$REPL_PID" >"$WORK/gcore.log" 2>&1 || fail "gcore: $(tail -3 "$WORK/gcore.log")"
CORE=$(ls "$WORK"/gcore.* 2>/dev/null | head -n1)
[ -n "$CORE" ] && [ -s "$CORE" ] || { fail "gcore wrote no core"; finish; exit 1; }
echo "# gcore: $(($(stat -c %s "$CORE") >> 20)) MiB ($(($(stat -c %b "$CORE") * $(stat -c %B "$CORE") >> 20)) MiB on disk) in $((SECONDS - start)) s"
expect_running "after gcore"
repl_stop

"$HDUMP" --core "$CORE" -o "$WORK/core.hprof" --json >"$WORK/core.json" 2>"$WORK/err" ||
	fail "gcore core dump: exit $? ($(cat "$WORK/err"))"
rm -f "$WORK/gcore.log"
check_marker_dump "gcore core" "$WORK/core.hprof" "$WORK/core.json"
grep -q '"core":{"missing_chunks":0,' "$WORK/core.json" && pass "--json reports no missing chunk" ||
	fail "--json core keys: $(cat "$WORK/core.json")"
"$HDUMP" --core "$CORE" --stacks >"$WORK/stacks" 2>"$WORK/err" ||
	fail "--stacks on the gcore core: $(cat "$WORK/err")"
grep -q '^	at ' "$WORK/stacks" && pass "--stacks decodes the gcore core's Java frames" ||
	fail "--stacks: no frame"
rm -f "$CORE"
finish
