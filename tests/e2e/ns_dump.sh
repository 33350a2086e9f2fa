#!/usr/bin/env bash
# hdump -p and the exit/crash trap from the host on a pkl REPL inside its
# own PID and mount namespaces (`unshare --pid --mount --fork`), as a
# container's process is seen from its node: the PID is the host's, the
# executable exists only inside the namespace (a tmpfs mounted there), the
# threads' ids inside differ from the host's.  Skips (77) where unshare is
# not permitted.  Run on one pkl version (tests/meson.build): what the
# namespaces change is the same on every version's layout.
#   HDUMP=build/hdump TRAPDUMP=build/tests/trapdump tests/e2e/ns_dump.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
. "$(dirname "$0")/trap_lib.sh"
V=$1

if ! unshare --pid --mount --fork --mount-proc true 2>"$WORK/unshare.err"; then
	echo "SKIP: unshare --pid --mount not permitted here: $(cat "$WORK/unshare.err")"
	exit 77
fi

# ns_repl_start: a REPL in new namespaces, run from a copy of pkl on a tmpfs
# only the namespace sees, as a child of the namespace's init (a shell: the
# init of a PID namespace gets no signal it has no handler for, and a crash
# test needs SIGABRT delivered).  Sets REPL_PID (the host's), REPL_DIR...
ns_repl_start() {
	local bin
	bin=$(pkl_binary "$V")
	REPL_DIR=$(mktemp -d "$WORK/ns-$V.XXXXXX")
	mkdir "$REPL_DIR/bin"
	mkfifo "$REPL_DIR/in"
	sleep 100000 >"$REPL_DIR/in" &
	REPL_HOLDER=$!
	unshare --pid --mount --fork --mount-proc sh -c '
		mount -t tmpfs -o size=512m hdump-ns "$1/bin" && cp "$2" "$1/bin/pkl" &&
		echo $$ >"$1/ns-init-pid" && "$1/bin/pkl" repl <"$1/in" >"$1/out" 2>&1
		echo "exit $?" >"$1/ns-status"' ns "$REPL_DIR" "$bin" &
	NS_UNSHARE=$!
	cleanup_hooks+=("ns_repl_stop $NS_UNSHARE $REPL_HOLDER")
	REPL_OUT="$REPL_DIR/out"
	REPL_N=0
	REPL_PID=
	local init
	wait_for 60 test -s "$REPL_DIR/ns-init-pid" || { fail "no namespace"; return 1; }
	wait_for 60 eval 'init=$(pgrep -P "$NS_UNSHARE") && REPL_PID=$(pgrep -P "$init")' ||
		{ fail "no REPL in the namespace"; return 1; }
	repl_wait_prompt 0 120 || { fail "pkl $V repl did not start in the namespace"; return 1; }
}

ns_repl_stop() {
	local init
	init=$(pgrep -P "$1") && kill -KILL "$init" 2>/dev/null # the namespace's init: all go
	kill "$2" 2>/dev/null
	wait "$1" 2>/dev/null || true
	wait "$2" 2>/dev/null || true
}

ns_repl_start || exit 1
inner=$(sed -n 's/^NSpid:[[:space:]]*[0-9]*[[:space:]]*//p' "/proc/$REPL_PID/status")
[ -n "$inner" ] && [ "$inner" != "$REPL_PID" ] && pass "REPL is PID $inner inside its namespace, $REPL_PID on the host" ||
	fail "REPL's PIDs: '$inner' inside, $REPL_PID on the host"
[ ! -e "$REPL_DIR/bin/pkl" ] && pass "its executable is not on the host's file system" ||
	fail "the host sees $REPL_DIR/bin/pkl"
expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"

for mode in stop fork; do
	"$HDUMP" -p "$REPL_PID" --snapshot=$mode -o "$WORK/ns-$mode.hprof" --json >"$WORK/ns-$mode.json" 2>"$WORK/err" ||
		fail "--snapshot=$mode dump from the host: exit $? ($(cat "$WORK/err"))"
	expect_running "after the --snapshot=$mode dump"
done
check_marker_dumps "namespaced REPL, --snapshot=stop" "$WORK/ns-stop.hprof" "$WORK/ns-stop.json" \
	"namespaced REPL, --snapshot=fork" "$WORK/ns-fork.hprof" "$WORK/ns-fork.json"
"$HDUMP" -p "$REPL_PID" --stacks >"$WORK/stacks" 2>"$WORK/err" || fail "--stacks: $(cat "$WORK/err")"
[ "$(grep -c $'^\tat ' "$WORK/stacks")" -gt 0 ] && pass "--stacks decodes frames of the namespaced REPL" ||
	fail "--stacks: no frame: $(head -5 "$WORK/stacks")"
# Threads are named by the host's ids (those ptrace and /proc take), not
# the ids the image recorded inside its namespace.
"$HDUMP" -p "$REPL_PID" --list-isolates >"$WORK/isolates" 2>"$WORK/err" || fail "--list-isolates: $(cat "$WORK/err")"
listed=0
for tid in $(grep -oE '\b[0-9]+\b' "$WORK/isolates" | sort -u); do
	[ -d "/proc/$REPL_PID/task/$tid" ] && listed=$((listed + 1))
done
[ "$listed" -ge 2 ] && pass "--list-isolates names $listed threads by their host ids" ||
	fail "--list-isolates: no host thread id in: $(cat "$WORK/isolates")"
expect_answer "REPL answers after the dumps" '40 + 2' 42

# The crash trap from the host: held, dumped, then the REPL ends with SIGABRT
# (its shell, the namespace's init, reports 128 + 6).
trapdump_start "$WORK/ns-trap.hprof" both || exit 1
kill -ABRT "$REPL_PID"
trapdump_finish
expect_eq "trap from the host: exit code ($(cat "$TD_ERR"))" "$TD_RC" 0
grep -q '^trap=signalled signo=6$' "$TD_OUT" && pass "trapped at SIGABRT" || fail "trap: $(cat "$TD_OUT")"
check_trap_dump "namespaced REPL at SIGABRT" "$WORK/ns-trap.hprof"
wait_for 30 test -s "$REPL_DIR/ns-status" || true
expect_eq "the REPL's end inside its namespace" "$(cat "$REPL_DIR/ns-status" 2>/dev/null)" "exit 134"

finish
