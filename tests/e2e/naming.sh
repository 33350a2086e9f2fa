#!/usr/bin/env bash
# Issue 10's naming targets on hdump --exe: real field names for the share of
# instances the target asks, every known JDK class named right and holding
# what its fields allow, static fields present.  Judged by VisualVM's heap
# library (hprof-check --naming), not by hdump's own report.
#   HDUMP=build/hdump tests/e2e/naming.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
version=$1
bin=$(pkl_binary "$version")
rc=0
"$HDUMP" --exe "$bin" -o "$WORK/exe.hprof" 2>"$WORK/stderr" || rc=$?
if [ "$rc" != 0 ]; then
	cat "$WORK/stderr"
	fail "hdump --exe exited $rc"
	finish
	exit 1
fi
"$CHECK" --naming "$WORK/exe.hprof" >"$WORK/check" || true
check_naming "--exe $version" "$WORK/check" "$version"
finish
