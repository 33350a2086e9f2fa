#!/usr/bin/env bash
# hdump --exe on a real native image: the dump opens in VisualVM's heap
# library with no dangling reference, holds every object hdump walked, and
# shows strings and class names as the image has them.
#   HDUMP=build/hdump tests/e2e/exe_dump.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
version=$1
bin=$(pkl_binary "$version")
out="$WORK/exe.hprof"

"$HDUMP" --exe "$bin" -o "$out" --json >"$WORK/summary.json" 2>"$WORK/stderr" ||
	{ cat "$WORK/stderr"; fail "hdump --exe exited $?"; finish; exit 1; }
objects=$(sed -n 's/.*"objects":\([0-9]*\).*/\1/p' "$WORK/summary.json")
[ "$(stat -c %a "$out")" = 600 ] && pass "dump is mode 0600" || fail "dump mode $(stat -c %a "$out")"

"$CHECK" --histo 40 --string-equals java.lang.String --string-equals "-∞" \
	--string-equals "java.util.HashMap" "$out" >"$WORK/check" || true
expect_eq "library opens the dump" "$(kv "$WORK/check" library)" ok
expect_eq "no problems reported" "$(kv "$WORK/check" problems)" none
expect_eq "dangling references" "$(kv "$WORK/check" dangling)" 0
expect_eq "objects without a class" "$(kv "$WORK/check" classless)" 0
expect_eq "instances == objects walked" "$(kv "$WORK/check" instances)" "$objects"
grep -qx 'string_found=java.lang.String 1' "$WORK/check" && pass "Latin-1 string java.lang.String" ||
	fail "String \"java.lang.String\" not found"
grep -qx 'string_found=-∞ 1' "$WORK/check" && pass "UTF-16 string -∞" || fail "UTF-16 string -∞ not found"
[ "$(kv "$WORK/check" strings_utf16)" -gt 0 ] && pass "UTF-16 strings present" || fail "no UTF-16 strings"

# Written by one thread or by several, the dump holds the same objects
# (both judged in one run of the checker).
for t in 1 5; do
	"$HDUMP" --exe "$bin" --threads "$t" -o "$WORK/t$t.hprof" || fail "--threads $t: exit $?"
done
"$CHECK" --histo 100000 "$WORK/t1.hprof" "$WORK/t5.hprof" >"$WORK/checks" || true
for t in 1 5; do
	check_block $((t == 1 ? 1 : 2)) "$WORK/checks" >"$WORK/check$t"
	expect_eq "--threads $t: judged" "$(kv "$WORK/check$t" file)" "$WORK/t$t.hprof"
	expect_eq "--threads $t: problems" "$(kv "$WORK/check$t" problems)" none
	expect_eq "--threads $t: instances" "$(kv "$WORK/check$t" instances)" "$objects"
	rm -f "$WORK/t$t.hprof"
done
[ "$(grep '^histo=' "$WORK/check1" | sort | md5sum)" = "$(grep '^histo=' "$WORK/check5" | sort | md5sum)" ] &&
	pass "--threads 1 and 5 give the same class histogram" || fail "--threads 1 and 5 differ"

# The histogram hdump prints comes from the hubs' own names; the library
# must see the same classes with the same counts (array names as Java
# prints them: [B is byte[], [Ljava.lang.Object; is java.lang.Object[]).
# Word arrays (CFunctionPointer[]...) keep their classes, but HPROF has no
# class for a primitive array (README): their instances are long[] to the
# library, which sees their classes without instances (check1 lists every
# class).  So an object-array class hdump counts and the library sees
# empty is a word array, counted under long[].
"$HDUMP" --exe "$bin" --histo >"$WORK/histo"
python3 - "$WORK/histo" "$WORK/check" "$WORK/check1" <<'PY' && pass "class names and counts match the hubs" || fail "histogram mismatch"
import re, sys
prim = dict(Z="boolean", B="byte", C="char", S="short", I="int", J="long", F="float", D="double")
def java_name(n):
    dims = len(n) - len(n.lstrip("["))
    if not dims:
        return n
    e = n[dims:]
    base = prim[e] if e in prim else e[1:-1]
    return base + "[]" * dims
mine = {}
for line in open(sys.argv[1]):
    m = re.match(r"\s*\d+:\s+(\d+)\s+\d+\s+(\S+)$", line)
    if m:
        mine[java_name(m.group(2))] = int(m.group(1))
def histo(path):
    h = {}
    for line in open(path):
        if line.startswith("histo="):
            count, _, name = line[6:].rstrip("\n").split(" ", 2)
            h[name] = int(count)
    return h
theirs, every_class = histo(sys.argv[2]), histo(sys.argv[3])
for n in [n for n in mine if n.endswith("[]") and n[:-2] not in prim.values()]:
    if mine[n] and every_class.get(n) == 0:
        print("word array, counted as long[]:", n, mine[n])
        mine["long[]"] = mine.get("long[]", 0) + mine[n]
        mine[n] = 0
bad = [(n, c, mine.get(n)) for n, c in theirs.items() if mine.get(n) != c]
for b in bad:
    print("mismatch:", b)
sys.exit(1 if bad or len(theirs) < 40 else 0)
PY
finish
