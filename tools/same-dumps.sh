#!/bin/bash
# Proves a refactoring left the dumps byte-identical: dumps the same targets
# with two hdump binaries (say, built from main and from a branch) and
# compares them.  The targets: --exe of each cached pkl, and a pkl REPL
# frozen with SIGSTOP (so its heap cannot change between the two fork-mode
# dumps).  Both write with one thread (older builds wrote several threads'
# records in no fixed order); the new build's --exe dump is also compared
# with its own on three threads.  The HPROF header's timestamp is skipped.
#
#   tools/same-dumps.sh OLD_HDUMP NEW_HDUMP      exit 0 when all are identical
set -euo pipefail
old=${1:?usage: same-dumps.sh OLD_HDUMP NEW_HDUMP} new=${2:?usage: same-dumps.sh OLD_HDUMP NEW_HDUMP}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL $pid 2>/dev/null; rm -rf "$work"' EXIT
digest() { tail -c +32 "$1" | sha256sum | cut -d' ' -f1; }
differ=0
compare() { # NAME: compares $work/old.hprof with $work/new.hprof
	local a b
	a=$(digest "$work/old.hprof") b=$(digest "$work/new.hprof")
	if [ "$a" = "$b" ]; then echo "identical  $1  $a"; else echo "DIFFER     $1  $a $b"; differ=1; fi
}
for v in 0.25.1-2 0.30.2; do
	bin=$("$here/tests/fetch-pkl.sh" "$v" | tail -1)
	"$old" --exe "$bin" --threads 1 --force -o "$work/old.hprof" >/dev/null
	"$new" --exe "$bin" --threads 1 --force -o "$work/new.hprof" >/dev/null
	compare "exe  $v"
	"$new" --exe "$bin" --threads 3 --force -o "$work/old.hprof" >/dev/null
	compare "exe  $v threads 1/3"
	mkfifo "$work/in"
	"$bin" repl <"$work/in" >"$work/out" 2>&1 &
	pid=$!
	exec 3>"$work/in"
	echo 'x = new Listing { for (i in IntSeq(0, 999)) { "marker-\(i)" } }.toList().length' >&3
	for _ in $(seq 600); do grep -q 'pkl1> ' "$work/out" && break; sleep 0.1; done
	grep -q 'pkl1> ' "$work/out" || { echo "pkl $v repl did not answer" >&2; exit 2; }
	kill -STOP $pid
	for _ in $(seq 200); do [ "$(ps -o stat= -p $pid | cut -c1)" = T ] && break; sleep 0.05; done
	"$old" -p $pid --snapshot=fork --threads 1 --force -o "$work/old.hprof" >/dev/null
	"$new" -p $pid --snapshot=fork --threads 1 --force -o "$work/new.hprof" >/dev/null
	compare "fork $v"
	kill -KILL $pid; wait $pid 2>/dev/null || true; pid=
	exec 3>&-
	rm -f "$work/in" "$work/out" "$work"/*.hprof
done
exit $differ
