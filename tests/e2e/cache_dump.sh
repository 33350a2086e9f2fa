#!/usr/bin/env bash
# The discovery cache (README, "Discovery cache") on a real image: a cold
# --exe dump writes the entry (0600 in a 0700 directory) and a warm one
# uses it and writes the same bytes; an entry with a payload byte flipped,
# and one crafted with a valid checksum whose first hub is not the image's,
# are stale: discovery runs afresh, the dump is the same and the entry is
# rewritten; a directory others may write, or owned by another user, is not
# used and said; --no-cache reads and writes nothing; and a frozen live
# REPL holding the markers dumps the same bytes cold and warm, judged by
# VisualVM's heap library.
#   HDUMP=build/hdump tests/e2e/cache_dump.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
version=$1
bin=$(pkl_binary "$version")
cd "$WORK"
cache=$HDUMP_CACHE_DIR

state() { sed -n 's/.*"discovery_cache":"\([a-z]*\)".*/\1/p' "$1"; }
body() { tail -c +32 "$1" | sha256sum | cut -d' ' -f1; }
# exe_dump NAME [OPTION...]: an --exe dump to NAME.hprof (or OPTION's -o),
# its JSON in NAME.json and stderr (-v) in NAME.err
exe_dump() {
	local name=$1 rc=0
	shift
	"$HDUMP" --exe "$bin" --threads 1 -v --json -f -o "$name.hprof" "$@" >"$name.json" \
		2>"$name.err" || rc=$?
	expect_eq "$name: exit code" "$rc" 0
}

exe_dump cold
expect_eq "cold --exe: cache" "$(state cold.json)" miss
entry=$(ls "$cache"/*.dcache 2>/dev/null | head -1)
[ -n "$entry" ] && pass "entry written" || fail "no entry in $cache"
expect_eq "cache directory mode" "$(stat -c %a "$cache")" 700
expect_eq "entry mode" "$(stat -c %a "$entry")" 600
exe_dump warm
expect_eq "warm --exe: cache" "$(state warm.json)" hit
grep -q "discovery cache: hit" warm.err && pass "warm: -v says hit" || fail "warm -v: $(cat warm.err)"
# the cold dump recorded the (long unchanged) executable's identity
grep -q "known by its identity" warm.err && pass "warm: the image heap not hashed" ||
	fail "warm: hashed: $(grep cache warm.err)"
expect_eq "warm --exe dump == cold" "$(body warm.hprof)" "$(body cold.hprof)"

# An executable rewritten in place (the same path, inode and size; one
# letter of a string in its image heap changed) is hashed again and misses:
# the entry of its old bytes, which the hub checks cannot tell from its
# own, is never used.
cp "$bin" copy.bin
# a file changed within the last seconds is not recorded (README)
copy_aged() { [ $(($(date +%s) - $(stat -c %Z copy.bin))) -ge 3 ]; }
wait_for 5 copy_aged || fail "copy.bin does not age"
bin_was=$bin bin=$WORK/copy.bin
exe_dump copy-first -o /dev/null
exe_dump copy-known -o /dev/null
expect_eq "copy: cache" "$(state copy-known.json)" hit
grep -q "known by its identity" copy-known.err && pass "copy: known by its identity" ||
	fail "copy: $(grep cache copy-known.err)"
ino=$(stat -c %i copy.bin)
python3 - copy.bin <<'EOF' || fail "rewriting copy.bin"
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    data = f.read()
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
    sh = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize) for i in range(shnum)]
    names = sh[shstrndx][4]
    heap = next(s for s in sh if data[names + s[0]:].startswith(b'.svm_heap\0'))
    at = data.find(b'pkl-lang.org', heap[4], heap[4] + heap[5])
    assert at > 0, 'no string to change'
    f.seek(at)
    f.write(b'P')
EOF
expect_eq "rewritten in place: same inode" "$(stat -c %i copy.bin)" "$ino"
exe_dump copy-changed -o /dev/null
expect_eq "rewritten in place: cache" "$(state copy-changed.json)" miss
grep -q "known by its identity" copy-changed.err && fail "rewritten: the old identity used" ||
	pass "rewritten: hashed again"
bin=$bin_was
rm -f copy.bin

# A payload byte flipped: the checksum catches it.
size=$(stat -c %s "$entry")
printf '\x5a' | dd of="$entry" bs=1 seek=$((size - 7)) conv=notrunc status=none
exe_dump flipped
expect_eq "byte flipped: cache" "$(state flipped.json)" stale
grep -q "checksum" flipped.err && pass "flipped: -v says the checksum" ||
	fail "flipped -v: $(grep cache flipped.err)"
expect_eq "flipped: dump == cold" "$(body flipped.hprof)" "$(body cold.hprof)"

# A valid checksum over a payload whose first class's hub moved 8 bytes:
# only the check against the image can tell.
python3 - "$entry" <<'EOF' || fail "crafting the entry"
import struct, sys
M = (1 << 64) - 1
def mix(h, w):
    h = ((h ^ w) * 0xff51afd7ed558ccd) & M
    return h ^ (h >> 29)
def h64(b, seed):  # symbols/dcachefile.c, dcache_hash: four lanes, folded
    lanes = [((seed ^ 0x9e3779b97f4a7c15 ^ len(b)) + k * 0x632be59bd9b4e019) & M
             for k in range(4)]
    n32 = len(b) // 32 * 32
    for i, (w,) in enumerate(struct.iter_unpack('<Q', b[:n32])):
        lanes[i % 4] = mix(lanes[i % 4], w)
    h = lanes[0]
    for lane in lanes[1:]:
        h = mix(h, lane)
    n8 = len(b) // 8 * 8
    for (w,) in struct.iter_unpack('<Q', b[n32:n8]):
        h = mix(h, w)
    for c in b[n8:]:
        h = ((h ^ c) * 1099511628211) & M
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & M
    return h ^ (h >> 33)
data = bytearray(open(sys.argv[1], 'rb').read())
header = 112  # magic, format, reserved, version, key, payload length and hash
payload = data[header:]
at = 1 + 32 * 8  # parts byte, layout words
(nnames,) = struct.unpack_from('<Q', payload, at)
at += 8
for _ in range(nnames):
    (n,) = struct.unpack_from('<I', payload, at)
    at += 4 + n
at += 8  # the class count; the first class's hub follows
(hub,) = struct.unpack_from('<Q', payload, at)
struct.pack_into('<Q', payload, at, hub + 8)
struct.pack_into('<Q', data, header - 8, h64(bytes(payload), 3))
data[header:] = payload
open(sys.argv[1], 'wb').write(data)
EOF
exe_dump crafted
expect_eq "crafted hub: cache" "$(state crafted.json)" stale
grep -q "cached class .*hub\|DynamicHub" crafted.err && pass "crafted: -v names the hub" ||
	fail "crafted -v: $(grep cache crafted.err)"
expect_eq "crafted: dump == cold" "$(body crafted.hprof)" "$(body cold.hprof)"
exe_dump rewritten -o /dev/null
expect_eq "after a stale entry: rewritten, then hit" "$(state rewritten.json)" hit

# Directories hdump must not trust: not used, and said (a warning).
chmod 0777 "$cache"
exe_dump open-dir -o /dev/null
expect_eq "mode 0777 directory: cache" "$(state open-dir.json)" off
grep -q "warning.*writable by no one else\|cache.*not used" open-dir.err &&
	pass "mode 0777: said" || fail "mode 0777: $(grep cache open-dir.err)"
chmod 0700 "$cache"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chown nobody "$cache"
	exe_dump foreign-dir -o /dev/null
	expect_eq "directory of another user: cache" "$(state foreign-dir.json)" off
	chown root "$cache"
else
	echo "# not root: the other user's directory is not tried"
fi

# --no-cache: nothing read or written.
exe_dump none --no-cache -o /dev/null
expect_eq "--no-cache: cache" "$(state none.json)" off
HDUMP_CACHE_DIR="$WORK/never" exe_dump never --no-cache -o /dev/null
[ ! -e "$WORK/never" ] && pass "--no-cache: no directory made" || fail "--no-cache made $WORK/never"
if command -v strace >/dev/null; then
	strace -f -e trace=%file -o trace.txt "$HDUMP" --exe "$bin" --no-cache -o /dev/null ||
		fail "--no-cache under strace"
	expect_eq "--no-cache: cache paths touched" "$(grep -c "$cache" trace.txt)" 0
else
	echo "# no strace: the reads of --no-cache are not traced"
fi
rm -f ./*.hprof

# A live REPL, frozen so that both dumps see one heap: cold and warm alike.
export HDUMP_CACHE_DIR="$WORK/live-cache"
repl_start "$version" || { finish; exit 1; }
repl_eval "$MARKERS_EXPR" || fail "markers not defined"
expect_answer "REPL holds its markers" "$MARKERS_FORCE" "$MARKERS_SUM"
kill -STOP "$REPL_PID"
cleanup_hooks+=("kill -CONT $REPL_PID")
wait_for 10 test "$(repl_state)" = T || fail "REPL not stopped"
for run in live-cold live-warm; do
	rc=0
	"$HDUMP" -p "$REPL_PID" --threads 1 -v --json -o "$run.hprof" >"$run.json" 2>"$run.err" ||
		rc=$?
	expect_eq "$run: exit code" "$rc" 0
done
kill -CONT "$REPL_PID"
expect_eq "live cold: cache" "$(state live-cold.json)" miss
expect_eq "live warm: cache" "$(state live-warm.json)" hit
expect_eq "live warm dump == cold" "$(body live-warm.hprof)" "$(body live-cold.hprof)"
expect_eq "live warm: stack frames as cold" \
	"$(grep -o '"stack_frames":[0-9]*' live-warm.json)" "$(grep -o '"stack_frames":[0-9]*' live-cold.json)"
expect_running "after the dumps"
check_marker_dumps "live warm" live-warm.hprof live-warm.json
finish
