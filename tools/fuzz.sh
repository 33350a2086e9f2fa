#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan+UBSan) and runs
# them for SECONDS (default 600) in all, one process at a time, at low
# priority:
#   tools/fuzz.sh [SECONDS] [heap|elf|all]
# heap: discovery, class table, census and HPROF writer on an image heap
#       made of fuzz bytes;  elf: the ELF reader on whole files, then the
#       same pipeline on the image heap it finds.  "all" (the default) gives
#       the heap target three quarters of the time.
# Seeds: the synthetic heaps of tests/unit/synthheap (every preset and
# variants), the start of the real pkl images' .svm_heap when cached
# (~/.cache/hdump or $HDUMP_CACHE), the regression corpus, and for elf the
# synthetic heaps added as .svm_heap to /bin/true.  The growing corpus
# stays in build-fuzz/corpus/; inputs that crash go to build-fuzz/crashes/.
# Once fixed, copy each crasher into tests/fuzz/corpus/TARGET/ so that the
# normal build replays it (meson test fuzz-corpus-TARGET).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh fuzz
seconds=${1:-600}
which=${2:-all}
build=build-fuzz
cache=${HDUMP_CACHE:-$HOME/.cache/hdump}
max_len=$((1 << 20))

if [ ! -d "$build" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$build" tests/unit/fuzz_heap tests/unit/fuzz_elf tests/unit/fuzz_make_seeds >/dev/null

seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds/heap" "$seeds/elf"
"$build/tests/unit/fuzz_make_seeds" "$seeds/heap"
for bin in "$cache"/pkl/*/pkl; do
	[ -f "$bin" ] || continue
	read -r off_hex < <(readelf -SW "$bin" |
		sed -n 's/.*\.svm_heap *PROGBITS *[0-9a-f]* \([0-9a-f]*\) .*/\1/p')
	[ -n "$off_hex" ] || continue
	tag=$(basename "$(dirname "$bin")")
	dd if="$bin" of="$seeds/heap/pkl-$tag" bs=4096 skip=$((16#$off_hex / 4096)) \
		count=$((max_len / 4096)) status=none
done
for heap in "$seeds"/heap/synth-*; do
	objcopy --add-section .svm_heap="$heap" \
		--set-section-flags .svm_heap=alloc,data /bin/true \
		"$seeds/elf/true-$(basename "$heap")" 2>/dev/null
done
cp /bin/true "$seeds/elf/true"

run() { # TARGET SECONDS
	local target=$1 secs=$2
	local corpus=$build/corpus/$target crashes=$build/crashes/$target
	mkdir -p "$corpus" "$crashes"
	echo "fuzz.sh: $target for $secs s (corpus $corpus, crashes $crashes)"
	nice -n 10 "$build/tests/unit/fuzz_$target" "$corpus" "$seeds/$target" \
		tests/fuzz/corpus/"$target" \
		-max_len=$max_len -timeout=20 -rss_limit_mb=2048 -max_total_time="$secs" \
		-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
		-print_final_stats=1 -artifact_prefix="$crashes/" 2>&1 |
		tee "$build/$target.log" | grep -E '^#[0-9]+|ERROR|SUMMARY|Done|stat::|INFO: fuzzed' |
		tail -40 || true
	echo "fuzz.sh: $target: $(ls "$crashes" | wc -l) crashing input(s) in $crashes"
}

case $which in
heap) run heap "$seconds" ;;
elf) run elf "$seconds" ;;
all)
	run heap $((seconds * 3 / 4))
	run elf $((seconds - seconds * 3 / 4))
	;;
*) echo "usage: $0 [SECONDS] [heap|elf|all]" >&2; exit 2 ;;
esac
