# Helpers of the hdump watch tests: the watcher in the background with its
# JSON lines in a file, waiting for events (by reading them, never by a
# guessed delay), a memory cgroup to put a REPL in.  Sourced after lib.sh
# and repl.sh.

# Background processes of these tests (watchers, FIFO holders), killed at
# the end before anything else: repl_stop's `wait` would wait for them.
WATCH_KILL=()
_watch_cleanup() {
	local p
	for p in "${WATCH_KILL[@]}"; do kill "$p" 2>/dev/null || true; done
}
cleanup_hooks=("_watch_cleanup" "${cleanup_hooks[@]}")

# watch_start OUT ARGS...: starts `hdump watch ARGS` with its stdout in OUT;
# sets WATCH_PID.  Killed at the end if still running.
watch_start() {
	local out=$1
	shift
	"$HDUMP" watch "$@" >"$out" 2>"$out.err" &
	WATCH_PID=$!
	WATCH_KILL+=("$WATCH_PID")
}

# events OUT EVENT: how many lines of OUT are EVENT events.
events() {
	local n
	n=$(grep -c "^{\"event\":\"$2\"" "$1" 2>/dev/null) || true
	echo "${n:-0}"
}

# wait_event OUT EVENT [COUNT] [SECONDS]: until OUT holds COUNT EVENT lines.
wait_event() {
	local out=$1 ev=$2 count=${3:-1} secs=${4:-120}
	wait_for "$secs" _has_events "$out" "$ev" "$count"
}
_has_events() { [ "$(events "$1" "$2")" -ge "$3" ]; }

# json_field LINE KEY: a number or string field's value from one JSON line.
json_field() {
	python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}
# nth_event OUT EVENT N: the Nth EVENT line (from 1).
nth_event() { { grep "^{\"event\":\"$2\"" "$1" || true; } | sed -n "${3}p"; }

# watch_end NAME: the watcher must have exited by itself with code 0.
watch_wait_exit() {
	local name=$1 rc=0
	wait_for 120 _gone "$WATCH_PID" || { fail "$name: watcher did not exit"; return 1; }
	wait "$WATCH_PID" 2>/dev/null || rc=$?
	expect_eq "$name: watcher exit code" "$rc" 0
}
_gone() { ! kill -0 "$1" 2>/dev/null; }

# schema_check NAME OUT...: every line valid against doc/watch-events.schema.json.
schema_check() {
	local name=$1 res
	shift
	if res=$(python3 "$SRCDIR/tests/e2e/watch_events_check.py" "$@" 2>&1); then
		pass "$name: every event line matches the schema (${res})"
	else
		fail "$name: schema: $res"
	fi
}

# untraced_running NAME PID: never left stopped or traced.
untraced_running() {
	expect_eq "$1: TracerPid" "$(tracer_of "$2")" 0
	local st
	st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$2/status")
	case $st in R | S | D) pass "$1: target running (State $st)" ;; *) fail "$1: target State $st" ;; esac
}

# cgroup_make LIMIT_BYTES: a memory cgroup with that limit (no swap), v2
# where the v2 hierarchy has the memory controller, else v1; sets CG_DIR,
# CG_VERSION.  Exits 77 (skip) when none can be made.
cgroup_make() {
	local limit=$1 v2 v1 name
	name="hdump-watch-test-$$"
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	v1=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ { print $5; exit }' /proc/self/mountinfo)
	if [ -n "$v2" ] && grep -qw memory "$v2/cgroup.controllers" 2>/dev/null &&
		{ grep -qw memory "$v2/cgroup.subtree_control" ||
			echo +memory >"$v2/cgroup.subtree_control"; } 2>/dev/null &&
		mkdir "$v2/$name" 2>/dev/null; then
		CG_DIR=$v2/$name
		CG_VERSION=2
		echo "$limit" >"$CG_DIR/memory.max"
		echo 0 >"$CG_DIR/memory.swap.max" 2>/dev/null || true
	elif [ -n "$v1" ] && mkdir "$v1/$name" 2>/dev/null; then
		CG_DIR=$v1/$name
		CG_VERSION=1
		echo "$limit" >"$CG_DIR/memory.limit_in_bytes"
		echo "$limit" >"$CG_DIR/memory.memsw.limit_in_bytes" 2>/dev/null || true
	else
		echo "SKIP: no writable memory cgroup (v2 at '${v2:-none}', v1 memory at '${v1:-none}'; needs root)"
		exit 77
	fi
	cleanup_hooks+=("cgroup_remove")
}

cgroup_remove() {
	[ -n "${CG_DIR:-}" ] || return 0
	local p
	for p in $(cat "$CG_DIR/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	wait_for 30 rmdir "$CG_DIR" 2>/dev/null || true
}

# cgroup_oom_kills: the OOM killer's kills in CG_DIR so far.
cgroup_oom_kills() {
	if [ "$CG_VERSION" = 2 ]; then
		sed -n 's/^oom_kill //p' "$CG_DIR/memory.events"
	else
		sed -n 's/^oom_kill //p' "$CG_DIR/memory.oom_control"
	fi
}

# repl_start_in_cgroup VERSION: repl_start, the REPL started inside CG_DIR.
repl_start_in_cgroup() {
	# shellcheck disable=SC2016
	REPL_LAUNCHER=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG_DIR")
	repl_start "$1"
	REPL_LAUNCHER=()
}
