#!/usr/bin/env bash
# hdump --core on a kernel core whose anonymous memory coredump_filter left
# out (bit 0 off): a clear error naming the missing range and the bit, also
# with --partial (the image heap's written pages are gone too); never a
# file.  core_dump.sh has the --partial dump of a core that lacks part of
# the heap.
#   HDUMP=build/hdump tests/e2e/core_filtered.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
. "$(dirname "$0")/core_lib.sh"
core_repl_start "$1" "$WORK/cores"
# bits 1, 4, 5 (the default 0x33 without bit 0: anonymous private memory)
echo 0x32 >"/proc/$REPL_PID/coredump_filter"
core_take "$WORK/cores"

core_refused "filtered core" 7 'the core lacks 0x[0-9a-f]*-0x[0-9a-f]* (.*): .*coredump_filter bit 0 was off' "$CORE"
# The image heap's written pages are anonymous memory too: without them no
# dump stands, and --partial says so.
core_refused "filtered core --partial" 7 'the core lacks 0x[0-9a-f]*-0x[0-9a-f]* (.*): .*coredump_filter bit 0 was off' \
	"$CORE" --partial
finish
