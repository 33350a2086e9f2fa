#!/usr/bin/env bash
# Bad input to hdump --exe: each case gets one line on stderr, its own exit
# code, and leaves no dump (nor a temporary file) behind.  Corrupted image
# heaps, targeted and random, must never crash, hang or yield a dump that
# does not validate.
#   HDUMP=build/hdump tests/e2e/exe_errors.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
bin=$(pkl_binary "$1")
cd "$WORK"

# expect_error NAME CODE ARGS...: hdump fails with CODE, one stderr line, no files.
expect_error() {
	local name=$1 code=$2 rc=0
	shift 2
	local before
	before=$(ls -A | sort)
	timeout 120 "$HDUMP" "$@" >/dev/null 2>err || rc=$?
	expect_eq "$name: exit code" "$rc" "$code"
	expect_eq "$name: one-line message" "$(wc -l <err)" 1
	grep -q '^hdump: ' err || fail "$name: message lacks the hdump: prefix"
	# (the discovery cache, lib.sh's HDUMP_CACHE_DIR, is no dump: a failed
	# write of the dump keeps what discovery found)
	expect_eq "$name: nothing left behind" "$(ls -A | grep -v -e '^err$' -e '^discovery-cache$' | sort)" \
		"$(echo "$before" | grep -v -e '^err$' -e '^discovery-cache$')"
}

expect_error "missing file" 3 --exe ./no-such-file -o out.hprof
expect_error "--threads out of range" 2 --exe "$bin" --threads 0 -o out.hprof
expect_error "unknown --snapshot mode" 2 --exe "$bin" --snapshot=later -o out.hprof
expect_error "--jdk that does not exist" 2 --exe "$bin" --jdk ./no-such-jdk -o out.hprof
mkdir not-a-jdk
expect_error "--jdk that is no JDK" 2 --exe "$bin" --jdk not-a-jdk -o out.hprof
grep -q 'not-a-jdk: not a JDK (no lib/modules)' err && pass "--jdk: says why" || fail "--jdk: $(cat err)"
rmdir not-a-jdk
echo "just text" >text.txt
expect_error "not ELF" 5 --exe text.txt -o out.hprof
expect_error "ELF without an image heap" 6 --exe /bin/true -o out.hprof

read -r off_hex size_hex < <(readelf -SW "$bin" | sed -n 's/.*\.svm_heap *PROGBITS *[0-9a-f]* \([0-9a-f]*\) \([0-9a-f]*\).*/\1 \2/p')
heap_off=$((16#$off_hex))
heap_size=$((16#$size_hex))
cp "$bin" img
truncate -s $((heap_off + heap_size / 2)) img
expect_error "truncated .svm_heap" 7 --exe img -o out.hprof
rm -f img

# SIGINT during layout discovery: once hdump has read the whole image heap
# (rchar in /proc/PID/io), it is discovering the layout (or, later,
# writing); either way it stops with exit 14 and leaves no file.
"$HDUMP" --exe "$bin" -o sigint.hprof 2>err &
pid=$!
deadline=$((SECONDS + 60))
while rchar=$(awk '/^rchar/ {print $2}' "/proc/$pid/io" 2>/dev/null) &&
	[ "${rchar:-0}" -lt "$heap_size" ] && [ $SECONDS -lt $deadline ]; do
	sleep 0.01
done
kill -INT "$pid" 2>/dev/null || true
rc=0
wait "$pid" || rc=$?
expect_eq "SIGINT in discovery: exit code" "$rc" 14
expect_eq "SIGINT in discovery: one-line message" "$(wc -l <err)" 1
expect_eq "SIGINT in discovery: nothing left behind" "$(ls -A | grep -c 'sigint' || true)" 0

# Hostile section tables: extended numbering (e_shnum 0, the count in
# section 0) claiming 2^25 sections in a 344-byte file, then in a sparse
# 4 GiB one where they would fit; and 50,000 writable data sections over a
# 2 MiB file, which the version search must not read one by one.
elf_with_sections() { # OUT EXTENDED_COUNT EXTRA_SECTIONS PAD
	python3 - "$@" <<'PY'
import struct, sys
out, ext, extra, pad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
names = b"\0.data\0.shstrtab\0"
body = bytearray(64) + names + bytes(pad)
while len(body) % 8: body += b"\0"
shoff = len(body)
sh = lambda *f: struct.pack("<IIQQQQIIQQ", *f)
hdrs = [sh(0, 0, 0, 0, 0, ext, 1 if ext else 0, 0, 0, 0), sh(7, 3, 0, 0, 64, len(names), 0, 0, 1, 0)]
hdrs += [sh(1, 1, 3, 0, 0, shoff, 0, 0, 1, 0)] * extra
n = len(hdrs)
eh = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff,
     0, 64, 56, 0, 64, 0 if ext else n, 0xffff if ext else 1)
body[0:64] = eh
open(out, "wb").write(bytes(body) + b"".join(hdrs))
PY
}
elf_with_sections hostile.elf $((1 << 25)) 0 0
expect_error "extended numbering past the file" 7 --exe hostile.elf -o out.hprof
truncate -s 4G hostile.elf
expect_error "extended numbering in a sparse file" 6 --exe hostile.elf -o out.hprof
elf_with_sections hostile.elf 0 50000 $((2 << 20))
expect_error "50,000 data sections" 6 --exe hostile.elf -o out.hprof
rm -f hostile.elf

cp "$bin" img
# Chunk 0's header words: make every one of them wrong.
printf '\x13\x37\x13\x37\x13\x37\x13\x37%.0s' {1..8} | dd of=img bs=1 seek="$heap_off" conv=notrunc status=none
expect_error "corrupted chunk header" 7 --exe img -o out.hprof
cp "$bin" img
expect_error "unwritable output directory" 9 --exe img -o /nonexistent-dir/out.hprof
# A full disk: /dev/full answers every write with ENOSPC.
rc=0
"$HDUMP" --exe img -o - >/dev/full 2>err || rc=$?
expect_eq "disk full: exit code" "$rc" 10
expect_eq "disk full: one-line message" "$(wc -l <err)" 1
echo keep >existing.hprof
expect_error "existing output file" 8 --exe img -o existing.hprof
expect_eq "existing file untouched" "$(cat existing.hprof)" keep
rm -f existing.hprof

# Random corruption: flip bytes in the image heap's structural first
# megabytes (chunk headers, hubs, small objects).  Either hdump refuses with
# the layout error and writes nothing, or its dump validates (the dumps are
# judged together after the loop, in one run of the checker).
dumped=()
for seed in $(seq 1 12); do
	cp "$bin" img
	python3 - img "$heap_off" "$seed" <<'PY'
import random, sys
path, off, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
with open(path, "r+b") as f:
    for _ in range(rnd.choice([1, 4, 32, 256])):
        f.seek(off + rnd.randrange(0, 4 << 20))
        f.write(bytes([rnd.randrange(256)]))
PY
	rc=0
	timeout 120 "$HDUMP" --exe img -o fuzz.hprof 2>err >/dev/null || rc=$?
	case $rc in
	0) mv fuzz.hprof "fuzz$seed.hprof" && dumped+=("$seed") ;;
	7)
		[ ! -e fuzz.hprof ] && [ -z "$(ls -A | grep '\.tmp$' || true)" ] &&
			pass "fuzz seed $seed: refused ($(cut -c1-80 err))" ||
			fail "fuzz seed $seed: refused but left a file"
		;;
	*) fail "fuzz seed $seed: exit $rc ($(cat err))" ;;
	esac
	rm -f fuzz.hprof img
done
if [ ${#dumped[@]} -gt 0 ]; then
	files=()
	for seed in "${dumped[@]}"; do files+=("fuzz$seed.hprof"); done
	"$CHECK" "${files[@]}" >checks 2>&1 || true
	k=0
	for seed in "${dumped[@]}"; do
		k=$((k + 1))
		check_block "$k" checks >check
		if [ "$(kv check file)" = "$WORK/fuzz$seed.hprof" ] && [ "$(kv check status)" = 0 ] &&
			[ "$(kv check dangling)" = 0 ]; then
			pass "fuzz seed $seed: dump validates"
		else
			fail "fuzz seed $seed: dump does not validate"
		fi
	done
fi
finish
