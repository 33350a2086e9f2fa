# Shared helpers for the end-to-end tests: real binaries, real dumps, and
# VisualVM's heap library as the judge.  Sourced, not run.
set -euo pipefail

HDUMP=${HDUMP:?set HDUMP to the hdump binary}
# The same hdump built with the test-only fault hooks (HDUMP_FAULT); the
# installed one has none, so every run that sets HDUMP_FAULT uses this.
HDUMP_FAULTS=${HDUMP_FAULTS:?set HDUMP_FAULTS to the hdump-faults test binary}
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHECK="$SRCDIR/tests/validator/hprof-check"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hdump-e2e.XXXXXX")
# Each test its own discovery cache (README, "Discovery cache"): its first
# dump of an executable discovers in full, never from the user's cache.
export HDUMP_CACHE_DIR="$WORK/discovery-cache"
failures=0
passes=0
cleanup_hooks=()

# hang_report: where a test that runs far past its usual time stands, for
# its log: every process of its session (meson starts each test in one of
# its own) with state, wait channel and age, the threads' stacks of each
# hdump, the state of each pkl target.  A hang then says what hung.
hang_report() {
	local sid pid
	sid=$(ps -o sid= -p $$ | tr -d ' ')
	echo "=== hang report at $(date -u +%T): the test has run ${SECONDS} s"
	ps -o pid,ppid,stat,etimes,wchan:32,args -s "$sid"
	for pid in $(pgrep -s "$sid" -x 'hdump|hdump-faults|trapdump'); do
		echo "=== stacks of $(cat /proc/$pid/comm 2>/dev/null) $pid"
		timeout 60 gdb -p "$pid" -batch -ex 'thread apply all bt' 2>&1 | grep -v '^\[New LWP'
	done
	for pid in $(pgrep -s "$sid" -x pkl); do
		echo "=== pkl $pid: $(grep -E '^(State|TracerPid)' /proc/$pid/status 2>/dev/null | tr '\n' ' ')"
	done
	ls -la "$WORK"
}
# Reported once, after HDUMP_E2E_HANG_REPORT seconds (default 480: every
# test takes under two minutes idle, and meson gives each 600 s or more).
# The sleep holds none of the test's output, so it never keeps meson
# waiting; the watcher is no job of the test (a bare `wait` in it does not
# wait for it), and it and its sleep are ended with the test.
( sleep "${HDUMP_E2E_HANG_REPORT:-480}" </dev/null >/dev/null 2>&1 && hang_report >&2 ) &
HANG_WATCH=$!
disown "$HANG_WATCH"

# A check that outlives this (per file) fails with the library's thread
# dump in the log, within the test's own timeout (hprof-check's default,
# 600 s a file, does not fit two files in 900 s).
export HPROF_CHECK_TIMEOUT=${HPROF_CHECK_TIMEOUT:-200}

on_exit() {
	local h
	pkill -P "$HANG_WATCH" 2>/dev/null || true
	kill "$HANG_WATCH" 2>/dev/null || true
	for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
	rm -rf "$WORK"
}
trap on_exit EXIT

pass() { passes=$((passes + 1)); echo "ok - $*"; }
fail() { failures=$((failures + 1)); echo "FAIL - $*"; }

# expect_eq WHAT GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1 ($2)"; else fail "$1: got '$2', want '$3'"; fi
}

# kv FILE KEY: the value of "KEY=value" in FILE
kv() { sed -n "s/^$2=//p" "$1" | head -n1; }

# wait_for SECONDS CMD...: polls CMD until it succeeds; fails after SECONDS.
# The synchronisation of every test: a state, never a guessed delay.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
}

# tracer_of PID [TID]: the TracerPid /proc gives for the thread (0: none).
tracer_of() {
	sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$1/task/${2:-$1}/status" 2>/dev/null || echo 0
}

# new_memory_cgroup BYTES: a memory cgroup of the test's own, limited to
# BYTES (v1, or v2 where the root delegates memory); prints its directory,
# fails where none can be made.  The caller removes it.
new_memory_cgroup() {
	local dir
	if [ -d /sys/fs/cgroup/memory ] && mkdir "/sys/fs/cgroup/memory/hdump-test-$$" 2>/dev/null; then
		dir=/sys/fs/cgroup/memory/hdump-test-$$
		echo "$1" >"$dir/memory.limit_in_bytes"
	elif grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null &&
		mkdir "/sys/fs/cgroup/hdump-test-$$" 2>/dev/null; then
		dir=/sys/fs/cgroup/hdump-test-$$
		echo "$1" >"$dir/memory.max"
	else
		return 1
	fi
	echo "$dir"
}
pkl_binary() { "$SRCDIR/tests/fetch-pkl.sh" "$1"; }

finish() {
	echo "$passes passed, $failures failed"
	[ "$failures" -eq 0 ]
}

# Issue 10's naming targets: the share of instances whose class and
# superclasses carry only real field names, per image (22.3 images have the
# reflection name lists; CE 25 images do not).
# Issue 10's naming targets (instances whose class and superclasses carry
# only real names), and the floor hdump holds today, which no change may
# lose.  0.25.1-2's live REPL is the closest (README, "Field names": its
# inflated monitors, JavaMonitor, keep synthetic names), and how many
# monitors it inflated moves with its threads' timing: 92.2 % measured
# three times on one machine, 91.9 % on another with the same build
# (16.8 k JavaMonitors), so its floor leaves 1 % below the target, and the
# test says when a dump falls below the target.
naming_target_pct() {
	case $1 in
	0.25.1-2 | 0.28.2) echo 92 ;;
	0.30.2) echo 80 ;;
	*) echo "no naming target for pkl $1" >&2; return 1 ;;
	esac
}
naming_floor_pct() {
	case $1 in
	0.25.1-2) echo 91 ;;
	0.28.2) echo 92 ;;
	0.30.2) echo 80 ;;
	*) echo "no naming floor for pkl $1" >&2; return 1 ;;
	esac
}
# Known classes that keep synthetic names (never wrong ones) on VERSION, and
# why; none today.
naming_known_gaps() {
	case $1 in
	*) ;;
	esac
}

# check_naming NAME CHECK_OUTPUT VERSION: the library's view of a dump's
# field names (hprof-check --naming output) against the targets: coverage,
# the known JDK classes named right and holding what their fields allow,
# static fields present.
check_naming() {
	local name=$1 out=$2 min target gaps
	min=$(naming_floor_pct "$3")
	target=$(naming_target_pct "$3")
	gaps=" $(naming_known_gaps "$3") "
	expect_eq "$name: library opens it" "$(kv "$out" library)" ok
	expect_eq "$name: problems (wrong names or values count)" "$(kv "$out" problems)" none
	local pct
	pct=$(kv "$out" naming_all_real_pct)
	if awk -v p="${pct:-0}" -v m="$min" 'BEGIN { exit !(p >= m) }'; then
		pass "$name: $pct % of instances have only real names (floor $min %, issue 10's target $target %)"
		awk -v p="${pct:-0}" -v m="$target" 'BEGIN { exit !(p < m) }' &&
			echo "    note: below issue 10's target of $target % (not met yet)"
	else
		fail "$name: $pct % of instances have only real names, floor $min % ($(kv "$out" naming_all_real) of $(kv "$out" naming_instances); $(kv "$out" naming_classes_with_synthetic) classes keep synthetic names)"
		sed -n 's/^naming_synthetic_top=/    instances, class, its synthetic names: /p' "$out"
	fi
	# The classes every pkl image holds must be there, or the checks below prove nothing.
	local k
	for k in java.lang.String java.util.HashMap 'java.util.HashMap$Node' java.util.ArrayList; do
		grep -q "^known_class=$k " "$out" && pass "$name: $k is in the dump" || fail "$name: no $k in the dump"
	done
	while read -r line; do
		case $line in
		*" fields_ok=1 "*) pass "$name: ${line%% *} has its real fields" ;;
		*" missing=none unexpected=none wrong_type=none "*)
			case $gaps in
			*" ${line%% *} "*) echo "    known gap: $line" ;;
			*) fail "$name: $line" ;;
			esac ;;
		*) fail "$name: $line" ;;
		esac
	done < <(sed -n 's/^known_class=//p' "$out")
	expect_eq "$name: wrong values in known classes" "$(kv "$out" wrong_values)" 0
	sed -n 's/^wrong_value_example=/    /p' "$out"
	[ "$(kv "$out" naming_values_checked)" -gt 1000 ] && pass "$name: $(kv "$out" naming_values_checked) values checked" ||
		fail "$name: only $(kv "$out" naming_values_checked) values checked"
	[ "$(kv "$out" static_fields)" -gt 0 ] && pass "$name: $(kv "$out" static_fields) static fields in $(kv "$out" classes_with_statics) classes ($(kv "$out" static_caches_checked) boxing caches checked)" ||
		fail "$name: no static fields"
}

# check_block N OUT: the N-th file's block (from 1) in the output of one
# hprof-check run over several files (each block starts with its file= line).
check_block() { awk -v n="$1" '/^file=/ { k++ } k == n' "$2"; }
