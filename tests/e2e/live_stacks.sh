#!/usr/bin/env bash
# Issue 10's thread and naming targets on a live pkl REPL: in the dump, every
# Java thread has a stack trace with at least one decoded frame naming a real
# method (as VisualVM's heap library shows it), frame roots belong to a
# thread, and the runtime heap's names meet the same targets as the image's;
# `hdump --stacks` prints every thread with at least one frame, writes no
# dump, and leaves the REPL running.
#   HDUMP=build/hdump tests/e2e/live_stacks.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
version=$1
repl_start "$version"
expect_answer "REPL evaluates" '1 + 1' 2
expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"

"$HDUMP" -p "$REPL_PID" -o "$WORK/live.hprof" 2>"$WORK/err" || fail "dump: exit $? ($(cat "$WORK/err"))"
expect_running "after the dump"
# hdump --stacks, jstack-like (README "Tests"): per thread a line starting
# with the quoted thread name, then one "<tab>at CLASS.METHOD(SOURCE)" line per
# frame, a blank line between threads.
mkdir "$WORK/stacks"
rc=0
(cd "$WORK/stacks" && "$HDUMP" --stacks -p "$REPL_PID" >../stacks.txt 2>../stacks.err) || rc=$?
expect_eq "hdump --stacks: exit code" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/    /' "$WORK/stacks.err"
[ -z "$(ls -A "$WORK/stacks")" ] && pass "--stacks wrote no file" || fail "--stacks wrote $(ls "$WORK/stacks")"
awk '
	/^"/ { if (name != "") print name, frames; name = $0; frames = 0; next }
	/^[ \t]+at [^ (]+\.[^ .(]+\(/ { frames++ }
	END { if (name != "") print name, frames }
' "$WORK/stacks.txt" >"$WORK/stack-blocks"
# Not compared with the dump's thread count: the REPL's threads come and go
# on their own (two runs of this test saw 5 and 6 Java threads).
printed=$(wc -l <"$WORK/stack-blocks")
[ "$printed" -ge 1 ] && pass "--stacks prints $printed threads" || fail "--stacks printed no thread"
expect_eq "--stacks threads without an 'at' line" "$(awk '$NF == 0' "$WORK/stack-blocks" | wc -l)" 0
grep -q '^"main"' "$WORK/stacks.txt" && pass "--stacks names the main thread" || fail "--stacks: no \"main\" thread"
"$CHECK" --stacks --naming "$WORK/live.hprof" >"$WORK/check" || true
expect_eq "library opens the live dump" "$(kv "$WORK/check" library)" ok
threads=$(kv "$WORK/check" threads)
[ "${threads:-0}" -ge 1 ] && pass "$threads Java threads in the dump" || fail "no thread in the dump"
expect_eq "threads with a decoded frame naming a real method" "$(kv "$WORK/check" threads_with_real_frame)" "$threads"
grep '^thread=' "$WORK/check" | grep -v ' real_frames=[1-9]' | sed 's/^/    without a real frame: /' || true
grep -q '^thread=main frames=' "$WORK/check" && pass "the main thread is there by its name" ||
	fail "no thread named main: $(grep '^thread=' "$WORK/check" | tr '\n' ' ')"
expect_eq "frame roots without a thread" "$(kv "$WORK/check" java_frame_roots_without_thread)" 0
[ "$(kv "$WORK/check" java_frame_roots_tied)" -gt 0 ] &&
	pass "$(kv "$WORK/check" java_frame_roots_tied) of $(kv "$WORK/check" java_frame_roots) frame roots tied to their frame" ||
	fail "no frame root tied to a frame ($(kv "$WORK/check" java_frame_roots) frame roots)"
check_naming "live $version" "$WORK/check" "$version"
expect_running "after --stacks"
expect_answer "REPL answers at the end" "$MARKERS_FORCE" "$MARKERS_SUM"
finish
