#!/usr/bin/env bash
# What being traced for an exit or crash dump costs the target (README,
# "What being traced costs the target"): (a) the pkl REPL's throughput
# untraced and traced, (b) a bound from the measured cost of one ptrace
# stop, in one run.  Run after tools/build.sh (or set HDUMP_BUILD to a
# build dir).
#   bench/trap_overhead.sh [PAIRS [SEED [EVALS]]]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/trap_overhead.py "$@"
