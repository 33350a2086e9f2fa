#!/usr/bin/env bash
# hdump -p on a real pkl REPL, with ground truth: 10,000 marker strings the
# REPL holds must all be in the dump, reachable, each once — right after they
# were allocated (still in TLABs) and again after GCs moved them — and the
# REPL must go on answering after every dump.  The dumps are judged together
# at the end, in one run of the checker.
#   HDUMP=build/hdump tests/e2e/live_dump.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
repl_start "$1"
expect_answer "REPL evaluates" '1 + 1' 2
expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"

"$HDUMP" -p "$REPL_PID" --snapshot=stop -o "$WORK/fresh.hprof" --json >"$WORK/fresh.json" 2>"$WORK/err" ||
	fail "dump after allocation: exit $? ($(cat "$WORK/err"))"
grep -q '"snapshot":"stop","snapshot_reason":"requested"' "$WORK/fresh.json" &&
	pass "--snapshot=stop: stopped, as requested" || fail "--snapshot=stop json: $(cat "$WORK/fresh.json")"
expect_running "after the first dump"
expect_answer "REPL answers after the dump" '40 + 2' 42

# Allocate a few hundred MB so that young collections run and tenure the markers.
for i in 1 2 3 4 5; do
	expect_answer "allocation round $i" 'IntSeq(0, 2000000).fold(0, (acc, i) -> acc + "\(i)".length)' 12888897
done
# The default snapshot: a fork, since this target allows one; -v and --json say so.
"$HDUMP" -p "$REPL_PID" -v -o "$WORK/old.hprof" --json >"$WORK/old.json" 2>"$WORK/err" ||
	fail "dump after GCs: exit $? ($(cat "$WORK/err"))"
grep -q '"snapshot":"fork","snapshot_reason":"default, the target allows a fork"' "$WORK/old.json" &&
	pass "default snapshot: fork (--json)" || fail "default snapshot json: $(cat "$WORK/old.json")"
grep -q '^hdump: snapshot: fork (default, the target allows a fork)$' "$WORK/err" &&
	grep -q 'target stopped for [0-9]* ms (fork [0-9]*)' "$WORK/err" &&
	pass "default snapshot: fork (-v)" || fail "default snapshot -v: $(cat "$WORK/err")"
expect_running "after the second dump"
# The copy snapshot keeps every guarantee of the stopped one.
"$HDUMP" -p "$REPL_PID" --snapshot=copy -o "$WORK/copy.hprof" --json >"$WORK/copy.json" 2>"$WORK/err" ||
	fail "--snapshot=copy dump: exit $? ($(cat "$WORK/err"))"
expect_running "after the copy snapshot"
expect_answer "markers intact" "$MARKERS_FORCE" "$MARKERS_SUM"

# Reading through /proc/PID/mem (when process_vm_readv is refused) gives the same dump.
HDUMP_FAULT=proc-mem "$HDUMP_FAULTS" -p "$REPL_PID" --snapshot=stop -o "$WORK/procmem.hprof" --json >"$WORK/procmem.json" 2>"$WORK/err" ||
	fail "/proc/PID/mem dump: $(cat "$WORK/err")"

# -o - streams the dump to stdout (and the --json line to stderr); without
# -o the file gets the default name.
"$HDUMP" -p "$REPL_PID" -o - --json >"$WORK/streamed.hprof" 2>"$WORK/streamed.json" ||
	fail "streaming dump: $(cat "$WORK/streamed.json")"
check_marker_dumps "fresh markers" "$WORK/fresh.hprof" "$WORK/fresh.json" \
	"markers after GCs" "$WORK/old.hprof" "$WORK/old.json" \
	"--snapshot=copy" "$WORK/copy.hprof" "$WORK/copy.json" \
	"/proc/PID/mem reads" "$WORK/procmem.hprof" "$WORK/procmem.json" \
	"streamed dump" "$WORK/streamed.hprof" "$WORK/streamed.json"
mkdir "$WORK/named"
(cd "$WORK/named" && "$HDUMP" -p "$REPL_PID") || fail "dump with the default name"
ls "$WORK/named" | grep -qE "^hdump-$REPL_PID-[0-9]{8}-[0-9]{6}\.hprof\$" && pass "default name hdump-<pid>-<time>.hprof" ||
	fail "default name: $(ls "$WORK/named")"
expect_eq "default-named dump is private" "$(stat -c %a "$WORK"/named/*.hprof)" 600

# --histo alone writes no file; --list-isolates names the default isolate.
(cd "$WORK" && "$HDUMP" -p "$REPL_PID" --histo >histo.txt)
grep -q ' java.lang.String$' "$WORK/histo.txt" && pass "--histo lists java.lang.String" || fail "--histo output"
[ -z "$(ls "$WORK" | grep '\.hprof$' | grep -v -e fresh -e old -e streamed -e copy -e procmem)" ] && pass "--histo wrote no file" || fail "--histo wrote a file"
"$HDUMP" -p "$REPL_PID" --list-isolates >"$WORK/isolates"
grep -q '(default)' "$WORK/isolates" && pass "--list-isolates marks the default" || fail "--list-isolates"
default=$(sed -n 's/^isolate \([0-9]*\):.*(default)$/\1/p' "$WORK/isolates")
"$HDUMP" -p "$REPL_PID" --isolate "$default" --histo >"$WORK/histo2.txt" &&
	grep -q ' java.lang.String$' "$WORK/histo2.txt" && pass "--isolate $default (the default) dumps" ||
	fail "--isolate $default"
rc=0
"$HDUMP" -p "$REPL_PID" --isolate 99 --histo >/dev/null 2>"$WORK/err" || rc=$?
expect_eq "--isolate 99 is a usage error" "$rc" 2
expect_answer "REPL answers at the end" '"done"' done
finish
