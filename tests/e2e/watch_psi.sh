#!/usr/bin/env bash
# hdump watch --pressure (PSI) for real: a pkl REPL holding the 10,000
# markers is put into a v2 cgroup (for its memory.pressure) and a memory
# cgroup with a tight limit (v1 on a hybrid system; on a pure v2 system the
# same cgroup), the watcher sets its trigger on that cgroup's
# memory.pressure (not the system's), then a writer in the same cgroups
# fills the page cache past the limit: every page it dirties is charged
# there, so the cgroup's tasks (the writer and the REPL, whose own file
# pages are reclaimed) stall in reclaim and writeback, the kernel signals
# the trigger, and the watcher dumps the REPL with every marker.
#   HDUMP=build/hdump tests/e2e/watch_psi.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
. "$(dirname "$0")/watch_lib.sh"

V2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -z "$V2" ] || [ ! -e /proc/pressure/memory ] || [ ! -e "$V2/memory.pressure" ]; then
	echo "SKIP: no cgroup2 mount with PSI (cgroup2 at '${V2:-none}'; /proc/pressure/memory: $(
		[ -e /proc/pressure/memory ] && echo yes || echo no))"
	exit 77
fi
# The writer's pages must be reclaimable: on tmpfs (no swap) they would
# not be, and the cgroup's OOM killer would end the REPL instead.
STRESS_DIR=$WORK
[ "$(stat -f -c %T "$STRESS_DIR")" != tmpfs ] || STRESS_DIR=/var/tmp
if [ "$(stat -f -c %T "$STRESS_DIR")" = tmpfs ]; then
	echo "SKIP: no disk-backed directory for the page-cache writer ($WORK and /var/tmp are tmpfs)"
	exit 77
fi
STRESS_FILE=$(mktemp "$STRESS_DIR/hdump-psi.XXXXXX")

LIMIT=$((256 << 20))
cgroup_make "$LIMIT"
if [ "$CG_VERSION" = 2 ]; then
	PSI_DIR=$CG_DIR
else
	PSI_DIR=$V2/hdump-watch-psi-$$
	mkdir "$PSI_DIR" || { echo "SKIP: cannot make a v2 cgroup under $V2 (needs root)"; exit 77; }
fi
_psi_cleanup() {
	local p
	for p in $(cat "$PSI_DIR/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	[ "$PSI_DIR" = "$CG_DIR" ] || wait_for 30 rmdir "$PSI_DIR" 2>/dev/null || true
	rm -f "$STRESS_FILE"
}
cleanup_hooks+=("_psi_cleanup")

# Started inside both cgroups (the same one twice on a pure v2 system).
# shellcheck disable=SC2016
REPL_LAUNCHER=(sh -c 'echo $$ >"$0/cgroup.procs" && echo $$ >"$1/cgroup.procs" && shift && exec "$@"'
	"$CG_DIR" "$PSI_DIR")
repl_start "$1"
REPL_LAUNCHER=()
expect_eq "REPL in the v2 cgroup" "$(grep -c "^$REPL_PID\$" "$PSI_DIR/cgroup.procs")" 1
expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"

W=$WORK/psi.jsonl
mkdir -p "$WORK/psi"
watch_start "$W" -p "$REPL_PID" --pressure 100ms/2s --interval 1s --max-dumps 1 --dir "$WORK/psi"
wait_event "$W" started 1 120 || fail "watcher did not start: $(cat "$W" "$W.err")"
[ "$(events "$W" error)" = 0 ] && pass "the kernel took the trigger" || fail "error events: $(cat "$W")"
stall0=$(sed -n 's/^some .*total=\([0-9]*\)$/\1/p' "$PSI_DIR/memory.pressure")

# The writer: rewrites a file twice the limit's size until the dump is
# there (or the deadline passes); killed at the end by the cleanup.
# shellcheck disable=SC2016
sh -c 'echo $$ >"$0/cgroup.procs" && echo $$ >"$1/cgroup.procs" &&
	while :; do dd if=/dev/zero of="$2" bs=1M count=512 conv=notrunc 2>/dev/null; done' \
	"$CG_DIR" "$PSI_DIR" "$STRESS_FILE" &
STRESS_PID=$!
WATCH_KILL+=("$STRESS_PID")
wait_event "$W" dump 1 180 || fail "no pressure-triggered dump: $(cat "$W" "$W.err")"
# The writer's loop and its dd (the cgroup's members but the REPL).
for p in $STRESS_PID $(cat "$PSI_DIR/cgroup.procs"); do
	[ "$p" = "$REPL_PID" ] || kill "$p" 2>/dev/null || true
done
stall=$(sed -n 's/^some .*total=\([0-9]*\)$/\1/p' "$PSI_DIR/memory.pressure")
if [ "$stall" -gt "$stall0" ]; then pass "the cgroup's tasks stalled on memory ($((stall - stall0)) us)"
else fail "no memory stall in $PSI_DIR ($stall0 -> $stall us)"; fi

trigger=$(nth_event "$W" trigger 1)
expect_eq "trigger" "$(json_field "$trigger" trigger)" pressure
# The trigger was set on the REPL's own v2 cgroup, not on the system's
# /proc/pressure/memory, which every stall on the machine would fire.
expect_eq "trigger set on the v2 cgroup's PSI file" "$(json_field "$trigger" detail)" \
	"$PSI_DIR/memory.pressure: some 100000 2000000"
dump=$(nth_event "$W" dump 1)
expect_eq "dump's trigger" "$(json_field "$dump" trigger)" pressure
watch_wait_exit "pressure watcher (--max-dumps 1)"
untraced_running "after the pressure dump" "$REPL_PID"
echo "$dump" >"$WORK/psi.json"
check_marker_dump "pressure dump" "$(json_field "$dump" path)" "$WORK/psi.json"
schema_check "events" "$W"
finish
