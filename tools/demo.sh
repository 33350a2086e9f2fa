#!/usr/bin/env bash
# Installs dependencies, builds hdump, starts a real native image — the Pkl
# CLI's REPL (GraalVM CE 25, stripped) — has it build some data, dumps it
# live and prints its class histogram.  The REPL keeps running throughout
# and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
tools/build.sh
pkl=$(tests/fetch-pkl.sh 0.30.2)
dir=$(mktemp -d)
mkfifo "$dir/in"
sleep 100000 >"$dir/in" &
holder=$!
"$pkl" repl <"$dir/in" >"$dir/repl.log" 2>&1 &
repl=$!
trap 'kill $repl $holder 2>/dev/null || true' EXIT
echo 'demo = new Listing { for (i in IntSeq(0, 99999)) { "demo-string-\(i)" } }' >"$dir/in"
echo 'demo.toList().length' >"$dir/in"
for _ in $(seq 1 300); do grep -q 'pkl2> ' "$dir/repl.log" && break; sleep 0.1; done
build/hdump -p "$repl" -o "$dir/pkl.hprof" --histo -v >"$dir/histogram.txt"
head -n 25 "$dir/histogram.txt"
echo "Live dump of pkl (pid $repl) written to $dir/pkl.hprof; open it in VisualVM or Eclipse MAT."
