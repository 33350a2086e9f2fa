#!/usr/bin/env bash
# The benchmark: hdump against HotSpot's dumpers, on this machine, in one
# run.  Prints a table and the ratios; times nothing in CI.  hdump is the
# release build in build-bench/ (HDUMP=path to measure another one).
#   bench/run.sh [--quick] [--runs N] [--scale F] [--cases 256MB,1GB,small] [--no-perf]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
if [ -z "${HDUMP:-}" ]; then
	# -O3 (release) finds maybe-uninitialized warnings -O2 does not: the
	# bench build does not make them errors.
	[ -f build-bench/build.ninja ] || meson setup build-bench -Dbuildtype=release -Dtests=false >/dev/null
	ninja -C build-bench >/dev/null
	export HDUMP=$PWD/build-bench/hdump
fi
exec python3 bench/bench.py "$@"
