#!/usr/bin/env bash
# hdump -p --snapshot=fork: the dump keeps the marker ground truth, and the
# target comes out of it exactly as it went in — same threads blocked in the
# same system calls, same signal state, same open files, no child, no
# memory kept — over 30 dumps in a row; memory limits and a seccomp filter
# that kills clone refuse the fork, and an interrupted hdump still kills and
# reaps it.
#   HDUMP=build/hdump tests/e2e/live_fork.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
cd "$WORK"
repl_start "$1"
expect_answer "REPL evaluates" '1 + 1' 2
expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"

# What the target looks like from outside: every thread and the system call
# it waits in, its signal state, its open files, its children.  Any ptrace
# stop (not only ours) turns a timed wait into restart_syscall (219), which
# goes on waiting with the same deadline: the timed waits count as one.  A
# thread in a futex or timed wait wakes up on its own (a JDK thread polls,
# a lock is handed over), so "running" is one of those states too: only a
# thread blocked for good (the REPL's read of its stdin) is held to its call.
target_state() {
	local p=$1 t fd
	grep -E '^(SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt|NoNewPrivs|Seccomp):' "/proc/$p/status"
	for t in /proc/"$p"/task/*; do
		echo "task ${t##*/} $(cat "$t/comm") in syscall $(cut -d' ' -f1 "$t/syscall" 2>/dev/null)"
	done | sed -E 's/ syscall (7|35|202|230|271|219|running)$/ syscall timed-wait-or-futex-or-running/' 
	for fd in /proc/"$p"/fd/*; do echo "fd ${fd##*/} $(readlink "$fd")"; done
	echo "children: $(cat /proc/"$p"/task/*/children | wc -w)"
	echo "cwd: $(readlink "/proc/$p/cwd")"
}
rss_kb() { sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
# Processes whose parent is the target (zombies included), live ones only.
children() { ps -eo ppid=,pid=,stat= | awk -v p="$1" '$1 == p' | wc -l; }
live_children() { ps -eo ppid=,stat= | awk -v p="$1" '$1 == p && $2 !~ /^Z/' | wc -l; }
# await WHAT SECONDS CMD...: wait_for, failing WHAT when the deadline passes.
await() {
	local what=$1
	shift
	wait_for "$@" || { fail "$what: not within the deadline"; return 1; }
}
has_live_children() { [ "$(live_children "$1")" -eq "$2" ]; }
# same_state NAME: the states in files before and after match.  The JDK's
# idle threads ("process reaper") end on their own after a minute, so only
# threads present in both are compared — and none may be new.
same_state() {
	grep -o '^task [0-9]*' before | sort >tasks.before
	grep -o '^task [0-9]*' after | sort >tasks.after
	comm -13 tasks.before tasks.after >tasks.new
	[ ! -s tasks.new ] && pass "$1: no new thread" || fail "$1: new threads: $(cat tasks.new)"
	grep -v -F -f <(comm -23 tasks.before tasks.after | sed 's/$/ /') before >before.common || true
	diff before.common after >state.diff && pass "$1: state unchanged" ||
		fail "$1: state changed: $(cat state.diff)"
}

target_state "$REPL_PID" >before
"$HDUMP" -p "$REPL_PID" --snapshot=fork -v -o fresh.hprof --json >fresh.json 2>err ||
	fail "fork dump: exit $? ($(cat err))"
grep -q 'target stopped for [0-9]* ms (fork [0-9]*)' err && pass "fork dump reports its pause" ||
	fail "no pause report: $(cat err)"
target_state "$REPL_PID" >after
same_state "one fork dump"
expect_eq "no child left" "$(children "$REPL_PID")" 0

# Young collections move the markers; the fork still finds every one.
for i in 1 2 3; do
	expect_answer "allocation round $i" 'IntSeq(0, 2000000).fold(0, (acc, i) -> acc + "\(i)".length)' 12888897
done
"$HDUMP" -p "$REPL_PID" --snapshot=fork -o old.hprof --json >old.json 2>err ||
	fail "fork dump after GCs: exit $? ($(cat err))"
check_marker_dumps "fork snapshot" fresh.hprof fresh.json "fork snapshot after GCs" old.hprof old.json
expect_answer "markers intact" "$MARKERS_FORCE" "$MARKERS_SUM"

# Dumps in a row: nothing accumulates in the target.  Thirty show a leak of
# one file, child or thread per dump as plainly as a hundred did (and any
# per-dump copy above 300 kB in the memory check below) in a third of the
# time.
rounds=30
target_state "$REPL_PID" >before
rss_before=$(rss_kb "$REPL_PID")
failed=0
for i in $(seq 1 "$rounds"); do
	"$HDUMP" -p "$REPL_PID" --snapshot=fork -o - 2>err >/dev/null || { failed=$((failed + 1)); cat err; }
done
expect_eq "$rounds fork dumps succeed" "$failed" 0
rss_after=$(rss_kb "$REPL_PID")
target_state "$REPL_PID" >after
same_state "$rounds fork dumps"
expect_eq "no child left after $rounds dumps" "$(children "$REPL_PID")" 0
# Pages the target wrote while a fork lived were copied; the copies must
# not pile up.
[ "$rss_after" -le $((rss_before + 8192)) ] &&
	pass "anonymous memory after $rounds dumps: $rss_before -> $rss_after kB" ||
	fail "anonymous memory grew: $rss_before -> $rss_after kB"
expect_running "after $rounds fork dumps"
expect_answer "REPL answers after $rounds fork dumps" '40 + 2' 42

# Signals to hdump while the fork is being dumped: the fork is killed and
# reaped (exit 14).  SIGKILL cannot be handled: PTRACE_O_EXITKILL still kills
# the fork, which the target alone can then reap (a zombie, see README).
# Each signal is sent once hdump says it holds the guarded fork: a fork seen
# in /proc may still be inside the injected clone, a moment README covers.
holding() { grep -q 'HDUMP_FAULT=stall: holding' err; }
stalled_fork_dump() {
	rm -f err # the last round's "holding" must not release this one early
	HDUMP_FAULT=stall "$HDUMP_FAULTS" -p "$REPL_PID" --snapshot=fork -o sig.hprof 2>err &
	dumper=$!
	wait_for 120 holding || fail "SIG$1: hdump never reached the stall: $(cat err)"
	expect_eq "SIG$1: a fork exists while hdump works" "$(children "$REPL_PID")" 1
}
for sig in TERM INT; do
	stalled_fork_dump "$sig"
	kill -"$sig" "$dumper"
	rc=0
	wait "$dumper" || rc=$?
	expect_eq "SIG$sig to hdump during a fork dump: exit code" "$rc" 14
	expect_eq "SIG$sig: fork reaped" "$(children "$REPL_PID")" 0
	[ ! -e sig.hprof ] && pass "SIG$sig: no dump file" || fail "SIG$sig left sig.hprof"
done
stalled_fork_dump KILL
kill -KILL "$dumper"
wait "$dumper" 2>/dev/null || true
# PTRACE_O_EXITKILL kills the fork when its tracer goes, asynchronously.
await "SIGKILL to hdump: no live fork left" 30 has_live_children "$REPL_PID" 0 &&
	pass "SIGKILL to hdump: no live fork left"
expect_eq "SIGKILL to hdump: the fork is a zombie only the target can reap" \
	"$(ps -eo ppid=,stat= | awk -v p="$REPL_PID" '$1 == p && $2 ~ /^Z/' | wc -l)" 1
rm -f .sig.hprof.*.tmp
expect_answer "REPL answers after the interrupted fork dumps" '"forks"' forks

# A memory cgroup without room for the worst case refuses the fork, before
# the target is touched.  Charges stay with the old group when a process
# moves, so a 16 MB limit leaves less room than the REPL's private memory.
if cg_dir=$(new_memory_cgroup $((16 << 20))); then
	case $cg_dir in
	/sys/fs/cgroup/memory/*)
		cg_home=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory:\(.*\)$/\1/p' "/proc/$REPL_PID/cgroup") ;;
	*) cg_home=/sys/fs/cgroup$(sed -n 's/^0::\(.*\)$/\1/p' "/proc/$REPL_PID/cgroup") ;;
	esac
	cleanup_hooks+=("echo $REPL_PID 2>/dev/null >'$cg_home/cgroup.procs'; rmdir '$cg_dir'")
	echo "$REPL_PID" >"$cg_dir/cgroup.procs"
	rc=0
	"$HDUMP" -p "$REPL_PID" --snapshot=fork -o limited.hprof 2>err || rc=$?
	echo "$REPL_PID" >"$cg_home/cgroup.procs"
	expect_eq "memory limit: exit code" "$rc" 15
	grep -q "refusing a fork snapshot.*cgroup.*--snapshot=stop" err && pass "memory limit: says why and what to use" ||
		fail "memory limit message: $(cat err)"
	expect_eq "memory limit: one-line message" "$(wc -l <err)" 1
	[ ! -e limited.hprof ] && pass "memory limit: no file" || fail "memory limit left a file"
	# The default snapshot falls back to a stop, and says why.
	echo "$REPL_PID" >"$cg_dir/cgroup.procs"
	rc=0
	"$HDUMP" -p "$REPL_PID" --histo --json >limited.json 2>err || rc=$?
	echo "$REPL_PID" >"$cg_home/cgroup.procs"
	expect_eq "memory limit, default snapshot: exit code" "$rc" 0
	grep -q '"snapshot":"stop","snapshot_reason":"default, no fork: refusing a fork snapshot.*cgroup' limited.json &&
		pass "memory limit, default snapshot: stopped, says why" || fail "memory limit default: $(cat limited.json err)"
	"$HDUMP" -p "$REPL_PID" --snapshot=fork --histo >/dev/null 2>err && pass "fork allowed again outside the cgroup" ||
		fail "fork outside the cgroup: $(cat err)"
else
	echo "skip - no writable memory cgroup here: the limit refusal is not exercised"
fi
expect_running "at the end"
expect_answer "REPL answers at the end" '"done"' done

# A target under a seccomp filter that kills a clone making a process (a
# "no new processes" policy; threads are still allowed): the fork is refused
# before anything is injected, and the target goes on as if nothing happened.
repl_stop
no_fork_filter='import ctypes, os, struct, sys
def insn(code, k, jt=0, jf=0): return struct.pack("HBBI", code, jt, jf, k)
prog = b"".join([insn(0x20, 0), insn(0x15, 56, 0, 3),  # nr == clone?
                 insn(0x20, 16), insn(0x45, 0x10000, 1, 0),  # CLONE_THREAD in arg0?
                 insn(0x06, 0x80000000), insn(0x06, 0x7fff0000)])  # KILL_PROCESS, ALLOW
code = ctypes.create_string_buffer(prog, len(prog))
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fprog = Fprog(len(prog) // 8, ctypes.addressof(code))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) or libc.syscall(317, 1, 0, ctypes.byref(fprog)):  # NO_NEW_PRIVS, seccomp
    sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])'
REPL_DIR=$(mktemp -d "$WORK/repl-seccomp.XXXXXX")
mkfifo "$REPL_DIR/in"
sleep 100000 >"$REPL_DIR/in" &
REPL_HOLDER=$!
python3 -c "$no_fork_filter" "$(pkl_binary "$1")" repl <"$REPL_DIR/in" >"$REPL_DIR/out" 2>&1 &
REPL_PID=$!
REPL_OUT="$REPL_DIR/out"
REPL_N=0
if repl_wait_prompt 0 60; then
	expect_eq "filtered REPL: in seccomp filter mode" \
		"$(sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$REPL_PID/status")" 2
	target_state "$REPL_PID" >before
	rc=0
	"$HDUMP" -p "$REPL_PID" --snapshot=fork -o filtered.hprof 2>err || rc=$?
	expect_eq "seccomp kills clone: exit code" "$rc" 15
	grep -q "refusing a fork snapshot: .*KILL_PROCESS to the injected clone; use --snapshot=stop" err &&
		pass "seccomp kills clone: says why and what to use" || fail "seccomp message: $(cat err)"
	expect_eq "seccomp kills clone: one-line message" "$(wc -l <err)" 1
	expect_eq "seccomp kills clone: no file, no temporary file" \
		"$(find . -maxdepth 1 -name '*filtered.hprof*' | wc -l)" 0
	target_state "$REPL_PID" >after
	same_state "seccomp refusal"
	expect_eq "seccomp kills clone: no child" "$(children "$REPL_PID")" 0
	expect_running "after the seccomp refusal"
	expect_answer "filtered REPL answers after the refusal" '40 + 2' 42
	"$HDUMP" -p "$REPL_PID" --snapshot=stop --histo >/dev/null 2>err &&
		pass "filtered REPL: --snapshot=stop dumps it" || fail "--snapshot=stop under seccomp: $(cat err)"
	# The default snapshot: the fork refused while the target is held, the
	# same hold becomes the stop.
	target_state "$REPL_PID" >before
	rc=0
	"$HDUMP" -p "$REPL_PID" -v -o default.hprof --json >default.json 2>err || rc=$?
	expect_eq "seccomp, default snapshot: exit code" "$rc" 0
	grep -q '"snapshot":"stop","snapshot_reason":"default, the fork refused: refusing a fork snapshot: .*KILL_PROCESS' default.json &&
		pass "seccomp, default snapshot: stopped, says why (--json)" || fail "seccomp default json: $(cat default.json err)"
	grep -q '^hdump: snapshot: stop (default, the fork refused: ' err &&
		pass "seccomp, default snapshot: says why (-v)" || fail "seccomp default -v: $(cat err)"
	expect_eq "seccomp, default snapshot: one pause" "$(grep -c 'target stopped for' err)" 1
	target_state "$REPL_PID" >after
	same_state "seccomp, default snapshot"
	expect_eq "seccomp, default snapshot: no child" "$(children "$REPL_PID")" 0
	expect_answer "filtered REPL answers after the default dump" '40 + 2' 42
else
	fail "pkl $1 repl did not start under a seccomp filter"
fi
finish
