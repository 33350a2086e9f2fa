#!/usr/bin/env bash
# hdump --core on a kernel core of a pkl REPL holding the 10,000 markers:
# the same marker truth and validator checks as a live dump; then, on the
# same core, a wrong executable, a truncated copy and files that are no core.
#   HDUMP=build/hdump tests/e2e/core_dump.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
. "$(dirname "$0")/core_lib.sh"
version=$1
other=0.30.2
[ "$version" = 0.30.2 ] && other=0.25.1-2
core_repl_start "$version" "$WORK/cores"
core_take "$WORK/cores"

# The executable is found from the core's file note.
"$HDUMP" --core "$CORE" -o "$WORK/core.hprof" --json >"$WORK/core.json" 2>"$WORK/err" ||
	fail "core dump: exit $? ($(cat "$WORK/err"))"
check_marker_dump "kernel core" "$WORK/core.hprof" "$WORK/core.json"
grep -q '"core":{"missing_chunks":0,' "$WORK/core.json" && pass "--json reports no missing chunk" ||
	fail "--json core keys: $(cat "$WORK/core.json")"
"$HDUMP" --core "$CORE" --exe "$(pkl_binary "$version")" --stacks >"$WORK/stacks" 2>"$WORK/err" ||
	fail "--stacks on the core: $(cat "$WORK/err")"
grep -q '^	at ' "$WORK/stacks" && pass "--stacks decodes the core's Java frames" || fail "--stacks: no frame"

# The other pkl version is not this core's executable.
rc=0
"$HDUMP" --core "$CORE" --exe "$(pkl_binary "$other")" -o "$WORK/wrong.hprof" 2>"$WORK/err" || rc=$?
expect_eq "wrong executable: exit code" "$rc" 2
grep -q 'is not the executable of this core' "$WORK/err" && pass "wrong executable: says so" ||
	fail "wrong executable: $(cat "$WORK/err")"
[ ! -e "$WORK/wrong.hprof" ] && pass "wrong executable: no file" || fail "wrong executable: a file"

# A core cut at half its size lacks memory the dump needs.
head -c $(($(stat -c %s "$CORE") / 2)) "$CORE" >"$WORK/truncated.core"
rc=0
"$HDUMP" --core "$WORK/truncated.core" -o "$WORK/trunc.hprof" 2>"$WORK/err" || rc=$?
expect_eq "truncated core: exit code" "$rc" 7
grep -q 'the core lacks 0x[0-9a-f]*-0x[0-9a-f]* (.*): the core file is truncated' "$WORK/err" &&
	pass "truncated core: names the missing range and why" || fail "truncated core: $(cat "$WORK/err")"
[ ! -e "$WORK/trunc.hprof" ] && pass "truncated core: no file" || fail "truncated core: a file"

# The same core with the heap mapping that holds marker 5000 cut from that
# marker's page on, as coredump_filter without bit 0 leaves anonymous
# memory out.
python3 - "$CORE" "$WORK/cut.core" >"$WORK/cut" <<'PY'
import mmap, shutil, struct, sys
src, dst = sys.argv[1], sys.argv[2]
shutil.copyfile(src, dst)
with open(dst, 'r+b') as f:
    m = mmap.mmap(f.fileno(), 0)
    at = m.find(b'hdumpmarker-5000')
    phoff, = struct.unpack_from('<Q', m, 32)
    phnum, = struct.unpack_from('<H', m, 56)
    for i in range(phnum):
        t, flags, off, va, pa, fs, ms, al = struct.unpack_from('<IIQQQQQQ', m, phoff + i * 56)
        if t == 1 and off <= at < off + fs:
            keep = max(4096, (at - off) // 4096 * 4096)
            struct.pack_into('<Q', m, phoff + i * 56 + 32, keep)
            print('0x%x' % (va + keep))
    m.close()
PY
cut=$(cat "$WORK/cut")
rc=0
"$HDUMP" --core "$WORK/cut.core" -o "$WORK/cut.hprof" 2>"$WORK/err" || rc=$?
expect_eq "heap mapping left out: exit code" "$rc" 7
grep -q "the core lacks .*$cut-0x[0-9a-f]* (anonymous memory, .*coredump_filter bit 0 was off" "$WORK/err" &&
	pass "heap mapping left out: names the range and the filter bit" || fail "heap mapping left out: $(cat "$WORK/err")"
[ ! -e "$WORK/cut.hprof" ] && pass "heap mapping left out: no file" || fail "heap mapping left out: a file"
rc=0
"$HDUMP" --core "$WORK/cut.core" --partial -o "$WORK/cutp.hprof" --json >"$WORK/cutp.json" 2>"$WORK/err" || rc=$?
if [ "$rc" = 0 ]; then
	"$CHECK" "$WORK/cutp.hprof" >"$WORK/check" || true
	expect_eq "--partial: problems" "$(kv "$WORK/check" problems)" none
	grep -q '"core":{"missing_chunks":[1-9]' "$WORK/cutp.json" && pass "--partial counts missing chunks" ||
		fail "--partial: $(cat "$WORK/cutp.json")"
else
	expect_eq "--partial, the rest cannot stand alone: exit code" "$rc" 7
	grep -q "the core lacks .*$cut-" "$WORK/err" && pass "--partial: names the range" || fail "--partial: $(cat "$WORK/err")"
	[ ! -e "$WORK/cutp.hprof" ] && pass "--partial: no file" || fail "--partial: a file"
fi

# Files that are no core.
rc=0
"$HDUMP" --core "$(pkl_binary "$version")" -o "$WORK/x.hprof" 2>"$WORK/err" || rc=$?
expect_eq "an executable is no core: exit code" "$rc" 5
grep -q 'not a core file' "$WORK/err" && pass "an executable is no core: says so" || fail "$(cat "$WORK/err")"
rc=0
"$HDUMP" --core "$WORK/none" 2>"$WORK/err" || rc=$?
expect_eq "no such core: exit code" "$rc" 3
finish
