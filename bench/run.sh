#!/usr/bin/env bash
# The benchmark: hdump against HotSpot's dumpers, on this machine, in one
# run.  Prints a table and the ratios; times nothing in CI.
#   bench/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
tools/build.sh
exec python3 bench/bench.py "$@"
