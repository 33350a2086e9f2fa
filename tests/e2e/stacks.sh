#!/usr/bin/env bash
# Thread stacks on a real pkl REPL, decoded from the image's code info:
# --stacks prints every Java thread with at least one frame naming a real
# method (the main thread blocked reading stdin among them) and leaves the
# REPL running; a dump carries the same frames as STACK TRACEs, with
# ROOT_JAVA_FRAME roots tied to frames inside their thread's trace, says how
# many it decoded (--json), and VisualVM's heap library opens it.
#   HDUMP=build/hdump tests/e2e/stacks.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
repl_start "$1"
expect_answer "REPL evaluates" '1 + 1' 2

"$HDUMP" --stacks -p "$REPL_PID" >"$WORK/stacks" 2>"$WORK/err" ||
	fail "--stacks: exit $? ($(cat "$WORK/err"))"
expect_running "after --stacks"
# Per thread (a line starting with a quote), its "at" lines naming a method.
awk '/^"/ { if (name != "") print name, n; name = $0; n = 0 }
     /^\tat / && !/\tat \?\.\?/ { n++ }
     END { if (name != "") print name, n }' "$WORK/stacks" >"$WORK/per-thread"
threads=$(wc -l <"$WORK/per-thread")
bare=$(awk '$NF == 0' "$WORK/per-thread")
[ "$threads" -ge 3 ] && pass "--stacks lists $threads threads" ||
	fail "--stacks lists $threads threads: $(cat "$WORK/stacks")"
[ -z "$bare" ] && pass "every thread has a named Java frame" ||
	fail "threads without a named frame: $bare"
grep -q 'at org\.jline\.utils\.NonBlockingInputStreamImpl\.run(line [0-9]*)' "$WORK/stacks" &&
	pass "the reader thread, blocked reading stdin, shows the line it waits at" ||
	fail "no NonBlockingInputStreamImpl.run frame: $(cat "$WORK/stacks")"
grep -q 'at java\.lang\.Thread\.run' "$WORK/stacks" &&
	pass "threads reach java.lang.Thread.run" || fail "no Thread.run frame"
"$HDUMP" --threads-only -p "$REPL_PID" >"$WORK/threads-only" 2>"$WORK/err" ||
	fail "--threads-only: exit $? ($(cat "$WORK/err"))"
expect_eq "--threads-only is --stacks" "$(grep -c '^"' "$WORK/threads-only")" "$threads"

"$HDUMP" -p "$REPL_PID" -o "$WORK/d.hprof" --json >"$WORK/d.json" 2>"$WORK/err" ||
	fail "dump: exit $? ($(cat "$WORK/err"))"
expect_running "after the dump"
json() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$WORK/d.json"; }
"$SRCDIR/tests/e2e/hprof_stacks.py" "$WORK/d.hprof" >"$WORK/records"
expect_eq "every trace has frames" "$(kv "$WORK/records" empty_traces)" 0
expect_eq "--json counts the decoded threads" "$(json stack_threads)" "$(kv "$WORK/records" traces)"
expect_eq "--json counts the STACK FRAME records" "$(json stack_frames)" "$(kv "$WORK/records" frames)"
expect_eq "every frame is named" "$(kv "$WORK/records" unnamed_frames)" 0
[ "$(kv "$WORK/records" frame_roots)" -gt 0 ] && pass "ROOT_JAVA_FRAME roots tied to frames" ||
	fail "no frame-tied roots: $(cat "$WORK/records")"
expect_eq "frame roots inside their trace" "$(kv "$WORK/records" bad_frame_roots)" 0
if "$CHECK" "$WORK/d.hprof" >"$WORK/check" 2>&1; then
	pass "VisualVM's heap library opens the dump"
else
	fail "hprof-check: $(tail -5 "$WORK/check")"
fi
# A copy snapshot walks the copied stacks: the same threads decode.
"$HDUMP" -p "$REPL_PID" --snapshot=copy -o "$WORK/copy.hprof" --json >"$WORK/copy.json" 2>"$WORK/err" ||
	fail "--snapshot=copy dump: exit $? ($(cat "$WORK/err"))"
expect_eq "--snapshot=copy decodes the same threads" \
	"$(sed -n 's/.*"stack_threads":\([0-9]*\).*/\1/p' "$WORK/copy.json")" "$(json stack_threads)"
expect_answer "REPL answers after the dumps" '40 + 2' 42
finish
