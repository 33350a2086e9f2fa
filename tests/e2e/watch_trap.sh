#!/usr/bin/env bash
# hdump watch --on-exit/--on-signal (the library's hdump_trap_* API) on a
# pkl REPL it starts (-- CMD): a REPL that exits (:quit) is dumped with its
# markers and ends with its own status; one killed with SIGSEGV is dumped
# and dies of SIGSEGV.
# On GraalVM 25 (pkl 0.30.2, the version CI runs it on) :quit ends main,
# and the heap is freed before exit_group: --on-exit holds the REPL where
# its shutdown starts the hook thread, and the dump's detail says so.
#   HDUMP=build/hdump tests/e2e/watch_trap.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
. "$(dirname "$0")/watch_lib.sh"

# watch_cmd NAME: hdump watch --on-exit --on-signal -- pkl repl, stdin on a FIFO.
watch_cmd() {
	CMD_DIR=$WORK/$1
	mkdir -p "$CMD_DIR/d"
	mkfifo "$CMD_DIR/in"
	sleep 100000 >"$CMD_DIR/in" &
	WATCH_KILL+=("$!")
	W=$CMD_DIR/events.jsonl
	"$HDUMP" watch --on-exit --on-signal --interval 100ms --dir "$CMD_DIR/d" \
		-- "$(pkl_binary "$2")" repl <"$CMD_DIR/in" >"$W" 2>"$CMD_DIR/err" &
	WATCH_PID=$!
	WATCH_KILL+=("$WATCH_PID")
	wait_event "$W" started 1 120 || fail "$1: not started: $(cat "$CMD_DIR/err")"
	TARGET=$(json_field "$(nth_event "$W" started 1)" pid)
}
_prompt() { grep -q "pkl$2> " "$1/err" 2>/dev/null; }

watch_cmd exit "$1"
echo "$MARKERS_EXPR" >"$CMD_DIR/in"
echo "$MARKERS_FORCE" >"$CMD_DIR/in"
wait_for 120 _prompt "$CMD_DIR" 2 || fail "exit: markers not evaluated"
echo ':quit' >"$CMD_DIR/in"
wait_event "$W" dump 1 120 || fail "exit: no dump: $(cat "$W")"
watch_wait_exit "exit"
dump=$(nth_event "$W" dump 1)
expect_eq "exit: trigger" "$(json_field "$dump" trigger)" exit
case $1 in
0.30.*) expect_eq "exit: held at the shutdown" \
	"$(json_field "$(nth_event "$W" trigger 1)" detail)" "shutdown (main returned)" ;;
esac
last=$(tail -n1 "$W")
expect_eq "exit: the REPL ended with its own status" \
	"$(json_field "$last" reason) $(json_field "$last" command_exit_code)" "command-exited 0"
# At :quit the REPL has let go of its state: the markers are still in the
# heap (nothing collected them) but no longer reachable.
"$CHECK" --dump-strings-matching '^hdumpmarker-[0-9]+$' "$(json_field "$dump" path)" >"$WORK/check" || true
expect_eq "dump at exit: library opens it" "$(kv "$WORK/check" library)" ok
expect_eq "dump at exit: problems" "$(kv "$WORK/check" problems)" none
expect_eq "dump at exit: dangling references" "$(kv "$WORK/check" dangling)" 0
expect_eq "dump at exit: instances == objects walked" "$(kv "$WORK/check" instances)" "$(json_field "$dump" objects)"
expect_eq "dump at exit: distinct marker strings" \
	"$(sed -n 's/^string=hdumpmarker-//p' "$WORK/check" | sort -n | uniq | awk 'NR-1==$1' | wc -l)" 10000
outs=("$W")

watch_cmd segv "$1"
kill -SEGV "$TARGET"
wait_event "$W" dump 1 120 || fail "SIGSEGV: no dump: $(cat "$W")"
watch_wait_exit "SIGSEGV"
expect_eq "SIGSEGV: trigger" "$(json_field "$(nth_event "$W" dump 1)" trigger)" fatal-signal
last=$(tail -n1 "$W")
expect_eq "SIGSEGV: the REPL died of its signal" \
	"$(json_field "$last" reason) $(json_field "$last" command_signal)" "command-exited 11"
outs+=("$W")
schema_check "events" "${outs[@]}"
finish
