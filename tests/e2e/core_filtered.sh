#!/usr/bin/env bash
# hdump --core on a kernel core whose anonymous memory coredump_filter left
# out (bit 0 off): a clear error naming the missing range and the bit; with
# --partial a valid dump whose missing chunks are counted, or, when what is
# left cannot be scanned, the same clear error; never a file that is not a
# whole dump.
#   HDUMP=build/hdump tests/e2e/core_filtered.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
. "$(dirname "$0")/core_lib.sh"
core_repl_start "$1" "$WORK/cores"
# bits 1, 4, 5 (the default 0x33 without bit 0: anonymous private memory)
echo 0x32 >"/proc/$REPL_PID/coredump_filter"
core_take "$WORK/cores"

rc=0
"$HDUMP" --core "$CORE" -o "$WORK/f.hprof" 2>"$WORK/err" || rc=$?
expect_eq "filtered core: exit code" "$rc" 7
grep -q 'the core lacks 0x[0-9a-f]*-0x[0-9a-f]* (.*): .*coredump_filter bit 0 was off' "$WORK/err" &&
	pass "filtered core: names the missing range and the filter bit" ||
	fail "filtered core: $(cat "$WORK/err")"
[ ! -e "$WORK/f.hprof" ] && pass "filtered core: no file" || fail "filtered core: a file"

rc=0
"$HDUMP" --core "$CORE" --partial -o "$WORK/p.hprof" --json >"$WORK/p.json" 2>"$WORK/err" || rc=$?
if [ "$rc" = 0 ]; then
	"$CHECK" "$WORK/p.hprof" >"$WORK/check" || true
	expect_eq "--partial: problems" "$(kv "$WORK/check" problems)" none
	grep -q '"core":{"missing_chunks":[1-9]' "$WORK/p.json" && pass "--partial counts missing chunks" ||
		fail "--partial: $(cat "$WORK/p.json")"
else
	expect_eq "--partial, nothing left to scan: exit code" "$rc" 7
	grep -q 'coredump_filter bit 0 was off' "$WORK/err" && pass "--partial: names the filter bit" ||
		fail "--partial: $(cat "$WORK/err")"
	[ ! -e "$WORK/p.hprof" ] && pass "--partial: no file" || fail "--partial: a file"
fi
finish
