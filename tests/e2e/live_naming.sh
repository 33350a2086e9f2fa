#!/usr/bin/env bash
# Issue 10's naming targets on a live pkl REPL holding the e2e markers: the
# runtime heap's field names, judged by VisualVM's heap library as
# naming.sh judges the image's.  live_stacks.sh checks the same and thread
# stacks too; this one serves the images whose stacks are not decoded yet
# (pkl 0.28.2, CE 23.1).
#   HDUMP=build/hdump tests/e2e/live_naming.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
version=$1
repl_start "$version"
expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"
rc=0
"$HDUMP" -p "$REPL_PID" -o "$WORK/live.hprof" 2>"$WORK/err" || rc=$?
expect_eq "dump: exit code" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/    /' "$WORK/err"
expect_running "after the dump"
"$CHECK" --naming "$WORK/live.hprof" >"$WORK/check" || true
check_naming "live $version" "$WORK/check" "$version"
finish
