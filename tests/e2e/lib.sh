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
failures=0
passes=0
cleanup_hooks=()

on_exit() {
	local h
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

pkl_binary() { "$SRCDIR/tests/fetch-pkl.sh" "$1"; }

finish() {
	echo "$passes passed, $failures failed"
	[ "$failures" -eq 0 ]
}
