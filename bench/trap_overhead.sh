#!/usr/bin/env bash
# What being traced for an exit or crash dump costs the target (README,
# "Exit and crash dumps"): the pkl REPL's throughput untraced and traced,
# in one run.  Run after tools/build.sh (or set HDUMP_BUILD to a build dir).
#   bench/trap_overhead.sh [PAIRS [SEED]]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/trap_overhead.py "$@"
