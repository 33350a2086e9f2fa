#!/usr/bin/env bash
# Installs dependencies, builds hdump and dumps a real native image: the Pkl
# CLI (GraalVM CE 25, stripped), printing its class histogram.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
tools/build.sh
pkl=$(tests/fetch-pkl.sh 0.30.2)
dir=$(mktemp -d)
build/hdump --exe "$pkl" -o "$dir/pkl.hprof" --histo -v >"$dir/histogram.txt"
head -n 25 "$dir/histogram.txt"
echo "Dump written to $dir/pkl.hprof; open it in VisualVM or Eclipse MAT."
