# Helpers of the exit and crash dump tests (trap_*.sh): a pkl REPL started
# under a waiter that records how it ended (exit code, or signal and whether
# it dumped core), and the trap client (tests/e2e/trapdump.c) on it.
# Sourced after lib.sh and repl.sh.

TRAPDUMP=${TRAPDUMP:?set TRAPDUMP to the trapdump test binary}

# The waiter: forks CMD with the default disposition for the signals Python
# ignores (which exec would keep), writes its pid, then how it ended.
cat >"$WORK/waiter.py" <<'EOF'
import os, signal, sys
status_file, pid_file, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
pid = os.fork()
if pid == 0:
    for s in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(s, signal.SIG_DFL)
    os.execvp(cmd[0], cmd)
with open(pid_file + ".tmp", "w") as f:
    f.write("%d\n" % pid)
os.rename(pid_file + ".tmp", pid_file)
_, st = os.waitpid(pid, 0)
if os.WIFEXITED(st):
    s = "exited %d core 0" % os.WEXITSTATUS(st)
else:
    s = "signalled %d core %d" % (os.WTERMSIG(st), int(os.WCOREDUMP(st)))
with open(status_file + ".tmp", "w") as f:
    f.write(s + "\n")
os.rename(status_file + ".tmp", status_file)
EOF

# waited_repl_start VERSION CORE_LIMIT: a REPL (repl.sh's variables set, so
# that repl_eval works on it) whose end $REPL_DIR/status will tell, with
# `ulimit -c CORE_LIMIT` and its working directory (where a core goes) in
# $REPL_DIR.
waited_repl_start() {
	local bin
	bin=$(pkl_binary "$1")
	REPL_DIR=$(mktemp -d "$WORK/trap-$1.XXXXXX")
	mkfifo "$REPL_DIR/in"
	sleep 100000 >"$REPL_DIR/in" &
	REPL_HOLDER=$!
	(cd "$REPL_DIR" && ulimit -c "$2" && exec python3 "$WORK/waiter.py" "$REPL_DIR/status" "$REPL_DIR/pid" \
		"$bin" repl <"$REPL_DIR/in" >"$REPL_DIR/out" 2>&1) &
	WAITER_PID=$!
	REPL_OUT="$REPL_DIR/out"
	REPL_N=0
	cleanup_hooks+=("waited_repl_stop $REPL_DIR $REPL_HOLDER $WAITER_PID")
	wait_for 30 test -s "$REPL_DIR/pid" || { fail "pkl $1: no waiter"; return 1; }
	REPL_PID=$(cat "$REPL_DIR/pid")
	repl_wait_prompt 0 60 || { fail "pkl $1 repl did not start"; return 1; }
}

# waited_repl_stop DIR HOLDER WAITER: ends what waited_repl_start started.
waited_repl_stop() {
	[ -s "$1/pid" ] && [ ! -e "$1/status" ] && kill -KILL "$(cat "$1/pid")" 2>/dev/null
	kill "$2" 2>/dev/null
	wait "$3" 2>/dev/null || true
	wait "$2" 2>/dev/null || true
}

# waited_status: how the REPL ended ("exited N core 0", "signalled N core
# 0|1"), once it did (30 s at most).
waited_status() {
	wait_for 30 test -e "$REPL_DIR/status" || { echo "still running"; return; }
	cat "$REPL_DIR/status"
}

# trapdump_start OUT MODE: the trap client on $REPL_PID, once it traces it
# (its "ready" line); TD_PID, TD_OUT, TD_ERR set.
trapdump_start() {
	TD_OUT="$REPL_DIR/td.out"
	TD_ERR="$REPL_DIR/td.err"
	"$TRAPDUMP" "$REPL_PID" "$1" "$2" >"$TD_OUT" 2>"$TD_ERR" &
	TD_PID=$!
	cleanup_hooks+=("kill $TD_PID 2>/dev/null")
	wait_for 120 grep -q '^ready$' "$TD_OUT" || { fail "trapdump did not start: $(cat "$TD_ERR")"; return 1; }
}

# trapdump_finish: waits for the trap client; sets TD_RC.
trapdump_finish() {
	TD_RC=0
	wait "$TD_PID" || TD_RC=$?
}

# check_trap_dump NAME FILE [unreachable]: the markers in the dump the trap
# client wrote (unreachable: after main returned, nothing refers to them).
check_trap_dump() {
	local objects
	objects=$(sed -n 's/^dump objects=\([0-9]*\).*/\1/p' "$TD_OUT")
	echo "{\"objects\":${objects:-0}}" >"$REPL_DIR/summary.json"
	check_marker_dump "$1" "$2" "$REPL_DIR/summary.json" "${3:-reachable}"
}
