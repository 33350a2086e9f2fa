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
core_refused "wrong executable" 2 'is not the executable of this core' "$CORE" --exe "$(pkl_binary "$other")"

# A core cut at half its size lacks memory the dump needs.
head -c $(($(stat -c %s "$CORE") / 2)) "$CORE" >"$WORK/truncated.core"
core_refused "truncated core" 7 'the core lacks 0x[0-9a-f]*-0x[0-9a-f]* (.*): the core file is truncated' \
	"$WORK/truncated.core"

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
core_refused "heap mapping left out" 7 \
	"the core lacks .*$cut-0x[0-9a-f]* (anonymous memory, .*coredump_filter bit 0 was off" "$WORK/cut.core"
core_partial "heap mapping left out" "$WORK/cut.core"

# Files that are no core.
core_refused "an executable is no core" 5 'not a core file' "$(pkl_binary "$version")"
core_refused "no such core" 3 'No such file' "$WORK/none"
finish
