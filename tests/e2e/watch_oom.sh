#!/usr/bin/env bash
# hdump watch on a pkl REPL in a memory cgroup (v2, or v1 where the memory
# controller is there): a --cgroup watcher started before the REPL picks it
# up; a heap-occupancy trigger in the % form fires at its threshold (the
# maximum heap by GraalVM's default rule from the cgroup's limit); then the
# REPL is driven toward the limit and the --memory trigger dumps it BEFORE
# the OOM killer acts, and that dump holds the 10,000 markers.
#   HDUMP=build/hdump tests/e2e/watch_oom.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
. "$(dirname "$0")/watch_lib.sh"

LIMIT=$((256 << 20))
cgroup_make "$LIMIT"
mkdir -p "$WORK/oom" "$WORK/heap"
CGW=$WORK/cgroup.jsonl
watch_start "$CGW" --cgroup "$CG_DIR" --memory 65% --interval 100ms --max-dumps 1 --dir "$WORK/oom"
CG_WATCHER=$WATCH_PID
repl_start_in_cgroup "$1"
wait_event "$CGW" started 1 120 || fail "the cgroup watcher did not pick up the REPL: $(cat "$CGW" "$CGW.err")"
started=$(nth_event "$CGW" started 1)
expect_eq "picked up from the cgroup" "$(json_field "$started" pid)" "$REPL_PID"
expect_eq "cgroup version" "$(json_field "$started" cgroup_version)" "$CG_VERSION"
expect_eq "cgroup limit" "$(json_field "$started" cgroup_limit)" "$LIMIT"
# The isolate's own maximum: GraalVM's default rule of the cgroup's limit,
# aligned down to the 512 KiB heap chunk of the GraalVM 23.1/25 images.
hmax_want=$((LIMIT / 100 * 80 / (512 << 10) * (512 << 10)))
expect_eq "max heap: the isolate's, by the default rule of the cgroup limit" \
	"$(json_field "$started" heap_max_source) $(json_field "$started" heap_max_rule) $(json_field "$started" heap_max)" \
	"isolate default-cgroup $hmax_want"

expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"

# Heap occupancy, % form: 20 % of the maximum heap.
HW=$WORK/heap.jsonl
watch_start "$HW" -p "$REPL_PID" --heap 20% --interval 100ms --max-dumps 1 --snapshot=stop --dir "$WORK/heap"
wait_event "$HW" started 1 120 || fail "heap watcher did not start: $(cat "$HW.err")"
hmax=$(json_field "$(nth_event "$HW" started 1)" heap_max)
want=$((hmax / 100 * 20 + hmax % 100 * 20 / 100))
used0=$(json_field "$(nth_event "$HW" started 1)" heap_used)
if [ "$used0" -lt "$want" ]; then pass "heap before: $used0 < threshold $want"
else fail "heap already over the threshold at the start ($used0 >= $want): the test proves nothing"; fi
expect_answer "retain ~40 MB" 'mid = IntSeq(0, 400000).map((i) -> "pad-\(i)").toList()' ''
expect_answer "forced" 'mid.length' 400001
wait_event "$HW" dump 1 120 || fail "no heap-triggered dump: $(cat "$HW" "$HW.err")"
detail=$(json_field "$(nth_event "$HW" trigger 1)" detail)
used=$(sed -n 's/^heap used \([0-9]*\) >= \([0-9]*\) .*/\1/p' <<<"$detail")
limit=$(sed -n 's/^heap used \([0-9]*\) >= \([0-9]*\) .*/\2/p' <<<"$detail")
expect_eq "heap trigger threshold is 20 % of the max heap" "$limit" "$want"
if [ -n "$used" ] && [ "$used" -ge "$want" ]; then pass "heap trigger fired at $used >= $want"
else fail "heap trigger detail '$detail'"; fi
expect_eq "heap dump's trigger" "$(json_field "$(nth_event "$HW" dump 1)" trigger)" heap
watch_wait_exit "heap watcher (--max-dumps 1)"
expect_eq "the cgroup watcher has not fired yet" "$(events "$CGW" trigger)" 0

# Toward the limit, in steps of ~20 MB the REPL retains: until the cgroup's
# usage is over the watcher's threshold (65 %), each step is followed by a
# look at the usage, so the watcher is never raced (a REPL allocating at
# full speed can cross the last third of its limit faster than a loaded
# machine schedules the watcher).  Then it must dump the idle REPL; then the
# REPL allocates without pause until the OOM killer ends it.
kills0=$(cgroup_oom_kills)
cg_usage() {
	if [ "$CG_VERSION" = 2 ]; then cat "$CG_DIR/memory.current"; else cat "$CG_DIR/memory.usage_in_bytes"; fi
}
threshold=$((LIMIT / 100 * 65))
for i in $(seq 1 40); do
	[ "$(cg_usage)" -lt "$threshold" ] || break
	repl_eval "s$i = IntSeq(0, 200000).map((n) -> \"step-$i-\(n)\").toList()" &&
		repl_eval "s$i.length" || { fail "the REPL died at step $i, below the threshold"; break; }
done
if [ "$(cg_usage)" -ge "$threshold" ]; then pass "cgroup usage over the threshold after $i steps"
else fail "cgroup usage $(cg_usage) never reached $threshold"; fi
_dump_or_error() { [ "$(events "$1" dump)" -ge 1 ] || grep -q '^{"event":"error".*"trigger":"memory"' "$1"; }
wait_for 300 _dump_or_error "$CGW" || fail "the cgroup watcher neither dumped nor failed: $(cat "$CGW" "$CGW.err")"
echo 'big = IntSeq(0, 8000000).map((i) -> "pad-\(i)").toList()' >"$REPL_DIR/in"
echo 'big.length' >"$REPL_DIR/in"
dump=$(nth_event "$CGW" dump 1)
expect_eq "memory trigger dumped" "$(json_field "$dump" trigger)" memory
[ "$(events "$CGW" error)" = 0 ] && pass "no error event" || fail "error events: $(grep '"error"' "$CGW")"
# The dump succeeded, so the REPL was alive and whole when it was taken;
# the allocation then goes on to the limit.
wait_for 300 _gone "$REPL_PID" || fail "REPL still alive after the dump (no OOM kill?)"
kills=$(cgroup_oom_kills)
if [ "${kills:-0}" -gt "${kills0:-0}" ]; then pass "the OOM killer acted after the dump ($kills0 -> $kills kills)"
else fail "no OOM kill in the cgroup ($kills0 -> $kills)"; fi
WATCH_PID=$CG_WATCHER watch_wait_exit "cgroup watcher (--max-dumps 1)"
echo "$dump" >"$WORK/oom.json"
check_marker_dump "dump before the OOM kill" "$(json_field "$dump" path)" "$WORK/oom.json"
schema_check "events" "$CGW" "$HW"
finish
