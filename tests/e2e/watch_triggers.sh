#!/usr/bin/env bash
# hdump watch on one plain pkl REPL: on-demand triggers (SIGUSR1, a trigger
# file), --keep, SIGTERM (exit 0, target running and untraced), the rate
# limit, --every with --max-dumps, the disk-space refusal (a small tmpfs),
# the absolute heap-occupancy threshold, and -- CMD; every event line
# checked against the schema.  Synchronised by reading the events.
#   HDUMP=build/hdump tests/e2e/watch_triggers.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
. "$(dirname "$0")/watch_lib.sh"

repl_start "$1"
expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"
outs=()

# SIGUSR1, the trigger file, --keep 2 (a file not of ours is never touched), SIGTERM.
D=$WORK/keep
mkdir -p "$D"
echo mine >"$D/pkl-1-20250101T000000.000Z-heap.hprof.bak"
W=$WORK/ondemand.jsonl
outs+=("$W")
watch_start "$W" -p "$REPL_PID" --trigger-file "$WORK/dumpnow" --min-interval 0 --keep 2 \
	--interval 100ms --dir "$D"
wait_event "$W" started 1 120 || fail "watcher did not start: $(cat "$W.err")"
kill -USR1 "$WATCH_PID"
wait_event "$W" dump 1 120 || fail "no dump after SIGUSR1: $(cat "$W" "$W.err")"
expect_eq "SIGUSR1 dump's trigger" "$(json_field "$(nth_event "$W" dump 1)" trigger)" sigusr1
: >"$WORK/dumpnow"
wait_event "$W" dump 2 120 || fail "no dump after the trigger file: $(cat "$W" "$W.err")"
expect_eq "trigger-file dump's trigger" "$(json_field "$(nth_event "$W" dump 2)" trigger)" file
[ ! -e "$WORK/dumpnow" ] && pass "trigger file removed" || fail "trigger file left"
kill -USR1 "$WATCH_PID"
wait_event "$W" removed 1 120 || fail "--keep 2 removed nothing after 3 dumps: $(cat "$W")"
first=$(json_field "$(nth_event "$W" dump 1)" path)
expect_eq "--keep removed the oldest" "$(json_field "$(nth_event "$W" removed 1)" path)" "$first"
expect_eq "dumps kept" "$(find "$D" -name '*.hprof' | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$(json_field "$(nth_event "$W" dump 2)" path)" "$(json_field "$(nth_event "$W" dump 3)" path)" | sort | tr '\n' ' ')"
[ -e "$D/pkl-1-20250101T000000.000Z-heap.hprof.bak" ] && pass "a file not written by the watcher is kept" ||
	fail "--keep removed a file it did not write"
case $(basename "$first") in
pkl-"$REPL_PID"-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9].[0-9][0-9][0-9]Z-sigusr1.hprof)
	pass "dump name <name>-<pid>-<UTC time>-<trigger>.hprof" ;;
*) fail "dump name $(basename "$first")" ;;
esac
last=$(nth_event "$W" dump 3)
echo "$last" >"$WORK/last.json"
check_marker_dump "SIGUSR1 dump" "$(json_field "$last" path)" "$WORK/last.json"
kill -TERM "$WATCH_PID"
watch_wait_exit "SIGTERM"
expect_eq "last event" "$(tail -n1 "$W" | sed 's/"time":"[^"]*",//')" \
	'{"event":"exit","reason":"signal","code":0,"dumps":3}'
untraced_running "after SIGTERM" "$REPL_PID"

# Rate limit: a second trigger within --min-interval is reported, not dumped.
W=$WORK/rate.jsonl
outs+=("$W")
mkdir -p "$WORK/rate"
watch_start "$W" -p "$REPL_PID" --min-interval 1h --interval 100ms --dir "$WORK/rate"
wait_event "$W" started 1 120 || fail "watcher did not start: $(cat "$W.err")"
kill -USR1 "$WATCH_PID"
wait_event "$W" dump 1 120 || fail "no dump: $(cat "$W.err")"
kill -USR1 "$WATCH_PID"
wait_event "$W" trigger 2 60 || fail "second trigger not reported"
expect_eq "second trigger suppressed" "$(json_field "$(nth_event "$W" trigger 2)" suppressed)" True
kill -TERM "$WATCH_PID"
watch_wait_exit "rate limit"
expect_eq "one dump within --min-interval" "$(find "$WORK/rate" -name '*.hprof' | wc -l)" 1

# --every with --max-dumps: the watcher ends by itself.
W=$WORK/every.jsonl
outs+=("$W")
mkdir -p "$WORK/every"
watch_start "$W" -p "$REPL_PID" --every 1s --max-dumps 2 --min-interval 0 --interval 100ms --dir "$WORK/every"
watch_wait_exit "--every 1s --max-dumps 2"
expect_eq "--every dumps" "$(grep -c '"event":"dump".*"trigger":"every"' "$W")" 2
expect_eq "exit reason" "$(json_field "$(tail -n1 "$W")" reason)" max-dumps
expect_eq "files" "$(find "$WORK/every" -name '*.hprof' | wc -l)" 2

# Disk space: a 16 MB tmpfs cannot take the REPL's dump; refused, nothing written.
mkdir -p "$WORK/small"
if mount -t tmpfs -o size=16m hdump-watch-test "$WORK/small" 2>/dev/null; then
	cleanup_hooks+=("umount '$WORK/small'")
	W=$WORK/space.jsonl
	outs+=("$W")
	watch_start "$W" -p "$REPL_PID" --interval 100ms --dir "$WORK/small"
	wait_event "$W" started 1 120 || fail "watcher did not start: $(cat "$W.err")"
	kill -USR1 "$WATCH_PID"
	wait_event "$W" error 1 120 || fail "no refusal: $(cat "$W")"
	expect_eq "refusal's exit code (no space)" "$(json_field "$(nth_event "$W" error 1)" code)" 10
	expect_eq "nothing written" "$(find "$WORK/small" -type f | wc -l)" 0
	kill -TERM "$WATCH_PID"
	watch_wait_exit "disk-space refusal"
else
	echo "skip - disk-space refusal: cannot mount a tmpfs here (needs root)"
fi

# Heap occupancy, absolute: 64 MiB (pkl takes no -Xmx; the % form is in watch_oom.sh).
W=$WORK/heap.jsonl
outs+=("$W")
mkdir -p "$WORK/heap"
watch_start "$W" -p "$REPL_PID" --heap 64M --interval 100ms --max-dumps 1 --dir "$WORK/heap"
wait_event "$W" started 1 120 || fail "watcher did not start: $(cat "$W.err")"
used0=$(json_field "$(nth_event "$W" started 1)" heap_used)
if [ "$used0" -lt $((64 << 20)) ]; then pass "heap before: $used0 < 64 MiB"
else fail "heap already over 64 MiB ($used0): the test proves nothing"; fi
expect_eq "no trigger below the threshold" "$(events "$W" trigger)" 0
expect_answer "retain ~70 MB" 'mid = IntSeq(0, 700000).map((i) -> "pad-\(i)").toList()' ''
expect_answer "forced" 'mid.length' 700001
wait_event "$W" dump 1 120 || fail "no heap-triggered dump: $(cat "$W" "$W.err")"
detail=$(json_field "$(nth_event "$W" trigger 1)" detail)
expect_eq "threshold" "$(sed -n 's/^heap used [0-9]* >= \([0-9]*\) .*/\1/p' <<<"$detail")" $((64 << 20))
used=$(sed -n 's/^heap used \([0-9]*\) >= .*/\1/p' <<<"$detail")
if [ -n "$used" ] && [ "$used" -ge $((64 << 20)) ]; then pass "fired at $used >= 64 MiB"
else fail "heap trigger detail '$detail'"; fi
watch_wait_exit "--heap 64M --max-dumps 1"
untraced_running "after the watchers" "$REPL_PID"
expect_answer "REPL answers" '40 + 2' 42
repl_stop

# -- CMD: the watcher starts the REPL, dumps it on SIGUSR1, ends when it ends.
mkfifo "$WORK/cmd.in"
sleep 100000 >"$WORK/cmd.in" &
WATCH_KILL+=("$!")
W=$WORK/cmd.jsonl
outs+=("$W")
mkdir -p "$WORK/cmd"
"$HDUMP" watch --interval 100ms --dir "$WORK/cmd" -- "$(pkl_binary "$1")" repl <"$WORK/cmd.in" >"$W" 2>"$W.err" &
WATCH_PID=$!
WATCH_KILL+=("$WATCH_PID")
wait_event "$W" started 1 120 || fail "-- CMD: not started: $(cat "$W.err")"
kill -USR1 "$WATCH_PID"
wait_event "$W" dump 1 120 || fail "-- CMD: no dump: $(cat "$W" "$W.err")"
echo ':quit' >"$WORK/cmd.in"
watch_wait_exit "-- CMD"
last=$(tail -n1 "$W")
expect_eq "-- CMD: exit event" "$(json_field "$last" reason) $(json_field "$last" command_exit_code)" \
	"command-exited 0"

schema_check "events" "${outs[@]}"
finish
