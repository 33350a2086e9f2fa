# Shared helpers for the end-to-end tests: real binaries, real dumps, and
# VisualVM's heap library as the judge.  Sourced, not run.
set -euo pipefail

HDUMP=${HDUMP:?set HDUMP to the hdump binary}
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

pkl_binary() { "$SRCDIR/tests/fetch-pkl.sh" "$1"; }

finish() {
	echo "$passes passed, $failures failed"
	[ "$failures" -eq 0 ]
}
