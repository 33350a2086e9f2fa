#!/usr/bin/env bash
# Thread stacks and names on a live pkl REPL, decoded from the image's code
# info (issue 10's targets).  `hdump --stacks` (and its alias --threads-only)
# prints every Java thread with at least one frame naming a real method,
# writes no dump and leaves the REPL running.  A dump carries the frames as
# STACK TRACEs, with ROOT_JAVA_FRAME roots tied to frames inside their
# thread's trace, says how many it decoded (--json), and VisualVM's heap
# library opens it and sees every thread with a decoded frame; the runtime
# heap's names meet the same targets as the image's.  A copy snapshot walks
# the copied stacks just as well.
# Every run is judged on its own: the REPL's threads come and go by
# themselves (two runs saw 5 and 6 Java threads), so no count is compared
# between two runs.
#   HDUMP=build/hdump tests/e2e/live_stacks.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
version=$1
repl_start "$version"
expect_answer "REPL evaluates" '1 + 1' 2
expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"

# check_stacks NAME FILE: FILE as --stacks prints it, jstack-like (README
# "Tests"): per thread a line starting with the quoted thread name, then one
# "<tab>at CLASS.METHOD(...)" line per frame, a blank line between threads.
check_stacks() {
	local name=$1 file=$2
	awk '
		/^"/ { if (thread != "") print thread, n; thread = $0; n = 0; next }
		/^\tat [^ (]+\.[^ .(]+\(/ && !/^\tat \?\.\?\(/ { n++ }
		END { if (thread != "") print thread, n }
	' "$file" >"$file.per-thread"
	local printed
	printed=$(wc -l <"$file.per-thread")
	[ "$printed" -ge 1 ] && pass "$name prints $printed threads" || fail "$name printed no thread"
	expect_eq "$name: threads without a named frame" "$(awk '$NF == 0' "$file.per-thread" | wc -l)" 0
	awk '$NF == 0 { print "    without a named frame: " $0 }' "$file.per-thread"
	# names are the java.lang.Threads': the REPL's main thread and the
	# reader thread the REPL starts, whose OS names differ (comm is the
	# process's, resp. cut at 15 bytes)
	grep -qF '"main" tid=' "$file" &&
		pass "$name names the main thread by its Java name" ||
		fail "$name: no thread named \"main\""
	grep -qF '"JLine terminal non blocking reader thread" tid=' "$file" &&
		pass "$name gives a name longer than an OS thread name" ||
		fail "$name: no thread named \"JLine terminal non blocking reader thread\""
	grep -q 'at org\.jline\.utils\.NonBlockingInputStreamImpl\.run(line [0-9]*)' "$file" &&
		pass "$name: the reader thread, blocked reading stdin, shows the line it waits at" ||
		fail "$name: no NonBlockingInputStreamImpl.run frame"
	grep -q 'at java\.lang\.Thread\.run' "$file" &&
		pass "$name: threads reach java.lang.Thread.run" || fail "$name: no Thread.run frame"
}

for opt in --stacks --threads-only; do
	mkdir "$WORK/cwd$opt"
	rc=0
	(cd "$WORK/cwd$opt" && "$HDUMP" "$opt" -p "$REPL_PID" >../stacks$opt.txt 2>../stacks$opt.err) || rc=$?
	expect_eq "hdump $opt: exit code" "$rc" 0
	[ "$rc" = 0 ] || sed 's/^/    /' "$WORK/stacks$opt.err"
	[ -z "$(ls -A "$WORK/cwd$opt")" ] && pass "$opt wrote no file" || fail "$opt wrote $(ls "$WORK/cwd$opt")"
	expect_running "after $opt"
	check_stacks "$opt" "$WORK/stacks$opt.txt"
done

# check_dump NAME HPROF JSON: the dump's STACK TRACEs and frame roots
# (hprof_stacks.py) against its own --json counts.
check_dump() {
	local name=$1 hprof=$2 json=$3 records=$2.records
	"$SRCDIR/tests/e2e/hprof_stacks.py" "$hprof" >"$records"
	jkey() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$json"; }
	[ "$(kv "$records" traces)" -gt 0 ] && pass "$name: $(kv "$records" traces) traces" ||
		fail "$name: no thread trace: $(cat "$records")"
	expect_eq "$name: every trace has frames" "$(kv "$records" empty_traces)" 0
	expect_eq "$name: --json counts the decoded threads" "$(jkey stack_threads)" "$(kv "$records" traces)"
	expect_eq "$name: --json counts the STACK FRAME records" "$(jkey stack_frames)" "$(kv "$records" frames)"
	expect_eq "$name: every frame is named" "$(kv "$records" unnamed_frames)" 0
	[ "$(kv "$records" frame_roots)" -gt 0 ] && pass "$name: ROOT_JAVA_FRAME roots tied to frames" ||
		fail "$name: no frame-tied roots: $(cat "$records")"
	expect_eq "$name: frame roots inside their trace" "$(kv "$records" bad_frame_roots)" 0
}

"$HDUMP" -p "$REPL_PID" --snapshot=stop -o "$WORK/live.hprof" --json >"$WORK/live.json" 2>"$WORK/err" ||
	fail "dump: exit $? ($(cat "$WORK/err"))"
expect_running "after the dump"
check_dump "stop dump" "$WORK/live.hprof" "$WORK/live.json"
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

# A copy snapshot walks the copied stacks.
"$HDUMP" -p "$REPL_PID" --snapshot=copy -o "$WORK/copy.hprof" --json >"$WORK/copy.json" 2>"$WORK/err" ||
	fail "--snapshot=copy dump: exit $? ($(cat "$WORK/err"))"
check_dump "copy dump" "$WORK/copy.hprof" "$WORK/copy.json"
if "$CHECK" "$WORK/copy.hprof" >"$WORK/copy.check" 2>&1; then
	pass "VisualVM's heap library opens the copy dump"
else
	fail "hprof-check of the copy dump: $(tail -5 "$WORK/copy.check")"
fi
expect_running "at the end"
expect_answer "REPL answers at the end" "$MARKERS_FORCE" "$MARKERS_SUM"
finish
