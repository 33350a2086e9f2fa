#!/usr/bin/env bash
# hdump -p when things go wrong: each failure is one line with its own exit
# code, nothing is left behind, and the target keeps running and answering
# after every one of them — interrupted or killed dumpers included.
#   HDUMP=build/hdump tests/e2e/live_errors.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
cd "$WORK"
repl_start "$1"
expect_answer "REPL evaluates" '1 + 1' 2

# expect_failure NAME CODE PATTERN CMD...: one stderr line matching PATTERN.
expect_failure() {
	local name=$1 code=$2 pattern=$3 rc=0
	shift 3
	"$@" >/dev/null 2>err || rc=$?
	expect_eq "$name: exit code" "$rc" "$code"
	expect_eq "$name: one-line message" "$(wc -l <err)" 1
	grep -q -- "$pattern" err && pass "$name: message says '$pattern'" ||
		fail "$name: message '$(cat err)' lacks '$pattern'"
	[ -z "$(ls -A | grep -e '\.hprof$' -e '\.tmp$')" ] && pass "$name: no file left" ||
		fail "$name: files left: $(ls -A)"
}

sleep 0 &
gone=$!
wait $gone
expect_failure "no such process" 3 "no such process" "$HDUMP" -p "$gone" -o out.hprof
sleep 1000 &
other=$!
cleanup_hooks+=("kill $other")
expect_failure "not a native image" 6 "not a GraalVM native image" "$HDUMP" -p "$other" -o out.hprof
kill $other

if command -v setpriv >/dev/null; then
	expect_failure "permission denied" 4 "CAP_SYS_PTRACE" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$HDUMP" -p "$REPL_PID" --histo
else
	fail "setpriv missing (util-linux)"
fi
expect_running "after the permission error"

# traced_by TID PID: thread TID of the REPL is traced by process PID.
traced_by() { [ "$(tracer_of "$REPL_PID" "$1")" = "$2" ]; }
# trace_and_dump NAME TID PATTERN: another tracer (strace) holds thread TID
# of the REPL; hdump must refuse with exit 12 and leave the REPL running.
trace_and_dump() {
	strace -p "$2" -o /dev/null 2>/dev/null &
	local tracer=$!
	if wait_for 60 traced_by "$2" "$tracer"; then
		expect_failure "$1" 12 "$3" "$HDUMP" -p "$REPL_PID" -o out.hprof
	else
		fail "$1: strace did not attach to thread $2"
	fi
	kill $tracer
	wait $tracer 2>/dev/null || true
	wait_for 60 traced_by "$2" 0 || fail "$1: strace did not let go of thread $2"
}
if command -v strace >/dev/null; then
	trace_and_dump "already traced" "$REPL_PID" "already traced"
	expect_running "after the traced error"
	# One thread of many: it would have run on under a dump that said 0.
	other_tid=$(ls "/proc/$REPL_PID/task" | grep -vx "$REPL_PID" | head -n1)
	trace_and_dump "one thread already traced" "$other_tid" "thread $other_tid of process $REPL_PID is already traced"
	for task in /proc/"$REPL_PID"/task/*; do
		[ "$(sed -n 's/^TracerPid:[[:space:]]*//p' "$task/status")" = 0 ] ||
			fail "thread ${task##*/} still traced after the refusal"
	done
else
	fail "strace missing"
fi
expect_running "after the traced errors"
expect_answer "REPL answers after the errors" '40 + 2' 42

echo keep >existing.out
expect_failure "existing output" 8 "exists" "$HDUMP" -p "$REPL_PID" -o existing.out
expect_eq "existing output untouched" "$(cat existing.out)" keep
rm -f existing.out
expect_failure "unwritable output" 9 "cannot create" "$HDUMP" -p "$REPL_PID" -o /nonexistent/out.hprof

# Signals to hdump while the target is stopped: it must come back running.
holding() { grep -q 'HDUMP_FAULT=stall: holding' err; }
for sig in INT TERM KILL; do
	rm -f err # the last round's "holding" must not release this one early
	HDUMP_FAULT=stall "$HDUMP_FAULTS" -p "$REPL_PID" --snapshot=stop -o "sig.hprof" 2>err &
	dumper=$!
	wait_for 120 holding || fail "SIG$sig: hdump never reached the stall: $(cat err)"
	kill -"$sig" "$dumper"
	rc=0
	wait "$dumper" || rc=$?
	case $sig in
	KILL) expect_eq "SIG$sig to hdump: killed" "$rc" 137 ;;
	*) expect_eq "SIG$sig to hdump: exit code" "$rc" 14 ;;
	esac
	expect_running "after SIG$sig to hdump"
	expect_answer "REPL answers after SIG$sig to hdump" "\"sig$sig\"" "sig$sig"
	[ ! -e sig.hprof ] && pass "SIG$sig: no dump file" || fail "SIG$sig left sig.hprof"
	rm -f .sig.hprof.*.tmp
done

# The target dies while stopped: hdump says so and leaves nothing.
repl_stop
repl_start "$1"
expect_failure "target exits mid-dump" 11 "exited" env HDUMP_FAULT=kill-target "$HDUMP_FAULTS" -p "$REPL_PID" --snapshot=stop -o out.hprof
finish
