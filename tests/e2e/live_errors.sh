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

if command -v strace >/dev/null; then
	strace -p "$REPL_PID" -o /dev/null 2>/dev/null &
	tracer=$!
	sleep 1
	expect_failure "already traced" 12 "already traced" "$HDUMP" -p "$REPL_PID" -o out.hprof
	kill $tracer
	wait $tracer 2>/dev/null || true
else
	fail "strace missing"
fi
expect_running "after the traced error"
expect_answer "REPL answers after the errors" '40 + 2' 42

echo keep >existing.out
expect_failure "existing output" 8 "exists" "$HDUMP" -p "$REPL_PID" -o existing.out
expect_eq "existing output untouched" "$(cat existing.out)" keep
rm -f existing.out
expect_failure "unwritable output" 9 "cannot create" "$HDUMP" -p "$REPL_PID" -o /nonexistent/out.hprof

# Signals to hdump while the target is stopped: it must come back running.
for sig in INT TERM KILL; do
	HDUMP_FAULT=stall "$HDUMP" -p "$REPL_PID" -o "sig.hprof" 2>err &
	dumper=$!
	sleep 1
	kill -"$sig" "$dumper"
	rc=0
	wait "$dumper" || rc=$?
	case $sig in
	KILL) expect_eq "SIG$sig to hdump: killed" "$rc" 137 ;;
	*) expect_eq "SIG$sig to hdump: exit code" "$rc" 14 ;;
	esac
	sleep 0.2
	expect_running "after SIG$sig to hdump"
	expect_answer "REPL answers after SIG$sig to hdump" "\"sig$sig\"" "sig$sig"
	[ ! -e sig.hprof ] && pass "SIG$sig: no dump file" || fail "SIG$sig left sig.hprof"
	rm -f .sig.hprof.*.tmp
done

# The target dies while stopped: hdump says so and leaves nothing.
repl_stop
repl_start "$1"
expect_failure "target exits mid-dump" 11 "exited" env HDUMP_FAULT=kill-target "$HDUMP" -p "$REPL_PID" -o out.hprof
finish
