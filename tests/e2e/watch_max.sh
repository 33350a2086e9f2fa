#!/usr/bin/env bash
# The maximum heap hdump watch reports for a pkl REPL (issue 11: "say which
# was used"): the isolate's own, read from its collection policy's sizes,
# with the rule that gives it, against GraalVM's default rule computed here
# from /proc: 80 % of the physical memory for a plain REPL (of the memory
# cgroup's limit where that is lower), 80 % of the limit for a REPL in a
# 256 MiB cgroup, aligned down to the image's heap chunk.  pkl's CLI takes
# no -Xmx.  Skips without a writable memory cgroup.
#   HDUMP=build/hdump tests/e2e/watch_max.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
. "$(dirname "$0")/watch_lib.sh"

LIMIT=$((256 << 20))
cgroup_make "$LIMIT"

# The aligned heap chunk of the pkl images (observed: 1 MiB on GraalVM 22.3,
# 512 KiB on 23.1 and 25), to which the collection policy aligns its sizes.
case $1 in 0.25.*) CHUNK=$((1 << 20)) ;; *) CHUNK=$((512 << 10)) ;; esac

# check_max NAME STARTED BASE RULE: the started event's maximum is 80 % of
# BASE aligned down to a chunk, the isolate's, given by RULE.
check_max() {
	local want=$(($3 / 100 * 80))
	want=$((want - want % CHUNK))
	expect_eq "$1: max heap, its source and rule" \
		"$(json_field "$2" heap_max) $(json_field "$2" heap_max_source) $(json_field "$2" heap_max_rule)" \
		"$want isolate $4"
}

# watch_started NAME: watches the REPL until its started event (in
# STARTED), then stops the watcher.
OUTS=()
watch_started() {
	local out=$WORK/$1.jsonl
	OUTS+=("$out")
	watch_start "$out" -p "$REPL_PID" --heap 99% --interval 100ms
	wait_event "$out" started 1 120 || fail "$1: watcher did not start: $(cat "$out.err")"
	STARTED=$(nth_event "$out" started 1)
	kill -TERM "$WATCH_PID"
	watch_wait_exit "$1"
}

repl_start "$1"
watch_started plain
phys=$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) * 1024))
limit=$(json_field "$STARTED" cgroup_limit)
if [ -n "$limit" ] && [ "$limit" -gt 0 ] && [ "$limit" -lt "$phys" ]; then
	check_max "plain REPL" "$STARTED" "$limit" default-cgroup
else
	check_max "plain REPL" "$STARTED" "$phys" default-physical
fi
repl_stop

repl_start_in_cgroup "$1"
watch_started cgroup
expect_eq "cgroup limit" "$(json_field "$STARTED" cgroup_limit)" "$LIMIT"
check_max "REPL in a 256 MiB cgroup" "$STARTED" "$LIMIT" default-cgroup
schema_check "events" "${OUTS[@]}"
finish
