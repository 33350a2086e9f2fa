#!/usr/bin/env bash
# Self-test for hprof-check: proves the validator accepts a real JDK heap dump
# and flags hand-crafted broken ones (see hprofgen.py for the scenarios).
#
#   tests/validator/selftest.sh        # prints PASS/FAIL lines, exit 0 if all pass
#
# Needs: JDK (java, javac), python3, Debian package visualvm.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check="$here/hprof-check"
gen="$here/hprofgen.py"
work=$(mktemp -d "${TMPDIR:-/tmp}/hprof-check-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT

fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# run NAME EXPECTED_RC FILE [args...]: runs the checker, keeps output in $work/NAME.out
run() {
    local name=$1 want=$2 file=$3; shift 3
    "$check" "$@" "$file" >"$work/$name.out" 2>"$work/$name.err"
    local rc=$?
    if [ "$rc" = "$want" ]; then
        pass "$name: exit $rc"
    else
        fail "$name: exit $rc, expected $want"
        sed 's/^/    /' "$work/$name.out" "$work/$name.err" | head -40
    fi
}

# expect NAME 'key=value': exact line must be present in NAME's output
expect() {
    local name=$1 line=$2
    if grep -qxF -- "$line" "$work/$name.out"; then
        pass "$name: $line"
    else
        fail "$name: missing line '$line'"
        sed 's/^/    /' "$work/$name.out" | head -40
    fi
}

value() { sed -n "s/^$2=//p" "$work/$1.out" | head -1; }

# run_all OPTION... -- NAME:RC:FILE...: one checker run judges every FILE
# with the OPTIONs (a JVM start per file would be most of the self-test's
# time); each file's block goes to NAME.out, its status= line must be RC,
# and the run's exit status is the worst of theirs.
run_all() {
    local opts=() spec name want worst=0 i=0
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    local files=()
    for spec in "$@"; do files+=("${spec#*:*:}"); done
    "$check" "${opts[@]}" "${files[@]}" >"$work/all.out" 2>"$work/all.err"
    local rc=$?
    for spec in "$@"; do
        i=$((i + 1))
        name=${spec%%:*}
        want=${spec#*:}
        want=${want%%:*}
        [ "$want" -gt "$worst" ] && worst=$want
        awk -v n="$i" '/^file=/ { k++ } k == n' "$work/all.out" >"$work/$name.out"
        expect "$name" "file=${files[i - 1]}"
        expect "$name" "status=$want"
    done
    if [ "$rc" = "$worst" ]; then
        pass "${#files[@]} files in one run: exit $rc, the worst status"
    else
        fail "${#files[@]} files in one run: exit $rc, expected $worst"
        sed 's/^/    /' "$work/all.err" | head -20
    fi
}

# ---------------------------------------------------------------------------
# 1. A real heap dump written by HotSpot itself.
#
# -Xshare:off matters: with CDS, HotSpot's dump contains a JNI-global Object[]
# (the archived-heap roots) whose elements point at archived java.lang.Class
# objects the dumper never writes, i.e. the JDK's own dump has ~700 dangling
# references.
cat >"$work/SelfTestDump.java" <<'EOF'
import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

public class SelfTestDump {
    static Object keep;

    public static void main(String[] args) throws Exception {
        // new String(...) so the values are heap objects we control; the
        // second one has a non-Latin-1 char, so it is stored UTF-16 (coder 1).
        keep = new Object[] {
            new String("validator-selftest-1"),
            new String("validator-selftest-2"),
            new String("validator-selftest-2"),
            new String("validator-selftest-\u00fc\u20ac"),
        };
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).dumpHeap(args[0], true);
    }
}
EOF
if (cd "$work" && javac -d . SelfTestDump.java && java -Xshare:off -cp . SelfTestDump "$work/jdk.hprof"); then
    run jdk 0 "$work/jdk.hprof" --histo 3 --strings-prefix validator-selftest- \
        --string-equals validator-selftest-1 --string-equals "validator-selftest-ü" \
        --string-equals validator-selftest-absent
    expect jdk 'dangling=0'
    expect jdk 'classless=0'
    expect jdk 'problems=none'
    expect jdk 'string_found=validator-selftest-1 1'
    expect jdk 'string_found=validator-selftest-ü 0'
    expect jdk 'string_found=validator-selftest-absent 0'
    expect jdk 'instances_match_records=1'
    # equality is exact: the UTF-16 string exists, its prefix above does not
    run jdk_utf16 0 "$work/jdk.hprof" --string-equals "validator-selftest-ü€"
    expect jdk_utf16 'string_found=validator-selftest-ü€ 1'
    # 7 String objects carry the prefix: the 3 interned literals from the
    # constant pool plus the 4 new String(...) copies; 3 distinct values.
    expect jdk 'strings_prefix_count=7'
    expect jdk 'strings_prefix_distinct=3'
    n=$(value jdk instances); r=$(value jdk raw_instances)
    if [ -n "$n" ] && [ "$n" = "$r" ] && [ "$n" -gt 1000 ]; then
        pass "jdk: instances=$n equals raw record count"
    else
        fail "jdk: instances=$n raw_instances=$r"
    fi
    if grep -q '^histo=[0-9]* [0-9]* ' "$work/jdk.out"; then pass "jdk: histo lines"; else fail "jdk: no histo lines"; fi
    # HotSpot names every field and writes every thread's stack: the table of
    # known JDK classes must agree with the JDK's own dump, field by field.
    run jdk_named 0 "$work/jdk.hprof" --naming --stacks
    expect jdk_named 'naming_all_real_pct=100.0'
    expect jdk_named 'naming_classes_with_synthetic=0'
    expect jdk_named 'wrong_values=0'
    expect jdk_named 'java_frame_roots_without_thread=0'
    nk=$(grep -c '^known_class=' "$work/jdk_named.out")
    nok=$(grep -c '^known_class=[^ ]* fields_ok=1 missing=none unexpected=none wrong_type=none synthetic=none$' "$work/jdk_named.out")
    if [ "$nk" -ge 12 ] && [ "$nk" = "$nok" ]; then pass "jdk_named: $nok known classes named right"; else fail "jdk_named: $nok of $nk known classes right"; fi
    n=$(value jdk_named naming_values_checked)
    if [ "${n:-0}" -gt 1000 ]; then pass "jdk_named: $n values checked"; else fail "jdk_named: naming_values_checked=$n"; fi
    n=$(value jdk_named static_fields)
    if [ "${n:-0}" -gt 100 ]; then pass "jdk_named: static_fields=$n"; else fail "jdk_named: static_fields=$n"; fi
    if grep -q '^thread=main frames=[1-9][0-9]* real_frames=[1-9][0-9]* top=[^ ]*\.dumpHeap0$' "$work/jdk_named.out"; then
        pass "jdk_named: main thread's stack ends in dumpHeap0"
    else
        fail "jdk_named: no main thread stack"
    fi
    t=$(value jdk_named java_frame_roots); tt=$(value jdk_named java_frame_roots_tied)
    if [ "${t:-0}" -gt 0 ] && [ "$t" = "$tt" ]; then pass "jdk_named: $t java frame roots, each tied to a frame"; else fail "jdk_named: java_frame_roots=$t tied=$tt"; fi
else
    fail "jdk: could not produce a heap dump with the JDK"
fi

# ---------------------------------------------------------------------------
# 2. Crafted files: every scenario must give its expected exit status.
python3 "$gen" all "$work" || fail "hprofgen all failed"
crafted=()
while read -r name rc comment; do
    [ -f "$work/$name.hprof" ] || { fail "$name: hprofgen wrote no file"; continue; }
    crafted+=("$name:$rc:$work/$name.hprof")
done < <(python3 "$gen" list)
run_all -- "${crafted[@]}"
# ...and one of each status on its own: the exit status is the file's.
run alone_valid 0 "$work/valid.hprof"
run alone_dangling 1 "$work/minimal_dangling.hprof"
run alone_unparsable 2 "$work/zero_length_segment.hprof"

# ...and the specific findings that make them fail (or not).
expect minimal_dangling 'dangling=1'
expect minimal_dangling 'dangling_example=Holder#10000 -> 0xdead0'
expect dangling_field 'dangling=1'
expect dangling_array 'dangling=2'
expect dangling_static 'dangling_static=1'
expect dangling_root 'gcroots_dangling=1'
expect field_refs_class 'dangling=0'
expect field_refs_class_no_java_lang_Class 'problems=missing_java_lang_Class:1'
expect instance_of_java_lang_Class 'instances=6'
expect instance_dup_class_id 'duplicate_ids=1'
expect duplicate_instance_id 'duplicate_ids=1'
expect prim_array_no_class 'prim_array_class_missing=[I'
expect prim_array_class_named_int_brackets 'problems=none'
expect field_order_subclass_first 'problems=none'
expect field_order_superclass_first 'size_mismatch=0'
expect field_order_superclass_first 'dangling=1'
expect instance_longer_than_fields 'size_mismatch=1'
expect instance_shorter_than_fields 'size_mismatch=1'
expect classless_instance 'classless=2'
expect classless_instance 'instances=4'
expect classless_instance 'raw_instances=6'
expect class_dump_after_instances 'class_dumps_after_instances=1'
expect no_load_class 'class_without_load_class=1'
expect unresolved_field_name 'unresolved_field_names=1'
expect utf8_id_reused 'problems=duplicate_utf8_ids:1'
expect utf8_id_repeated_same_text 'duplicate_utf8_ids=0'
expect missing_super 'bad_super=1'
expect zero_length_segment 'problems=zero_length_records:1'
expect missing_heap_dump_end 'problems=missing_heap_dump_end:1'
expect two_heap_dumps 'heap_dumps=2'
expect toplevel_between_segments 'problems=interleaved_toplevel_in_segments:5'
expect straddling_subrecord 'problems=straddling_subrecords:1'
expect unknown_subrecord 'problems=unknown_subrecord_tag:1'
expect all_root_kinds 'gcroots=22'
expect utf16_string 'problems=none'
expect utf16_string_no_StringUTF16 'problems=utf16_strings_without_StringUTF16_class:1'

# Names: counted by whether they hold '@' (hdump's kind@offset form), judged
# against the JDK's field table by name, type and value.
# Judged with --naming in one run: named_jdk, its wrong twin, the base heap
# (named_jdk_wrong exits 0 without --naming, above: names are judged only
# when asked) and the boxing caches.
run_all --naming -- named:0:"$work/named_jdk.hprof" named_wrong:1:"$work/named_jdk_wrong.hprof" \
    valid_named:0:"$work/valid.hprof" caches:0:"$work/box_caches.hprof" \
    caches_wrong:1:"$work/box_caches_wrong.hprof"
# Slotted names its identity hash and padding as slots (<hash>, <pad>), and
# counts as named; BadSlot's int <monitor> is no slot, so it does not.
expect named 'naming_instances=12'
expect named 'naming_all_real=9'
expect named 'naming_all_real_pct=75.0'
expect named 'naming_classes_with_synthetic=2'
expect named 'naming_fields_synthetic=3'
expect named 'naming_synthetic_top=2 Synth ref@16,i32@24'
expect named 'naming_synthetic_top=1 BadSlot <monitor>'
expect named 'static_fields=2'
expect named 'static_fields_synthetic=1'
expect named 'classes_with_statics=1'
for k in java.lang.String java.util.AbstractMap java.util.HashMap 'java.util.HashMap$Node' java.util.AbstractList java.util.ArrayList; do
    expect named "known_class=$k fields_ok=1 missing=none unexpected=none wrong_type=none synthetic=none"
done
expect named 'naming_values_checked=15'
expect named 'wrong_values=0'
expect named 'problems=none'
expect named_wrong 'known_class=java.util.HashMap fields_ok=0 missing=none unexpected=foo wrong_type=none synthetic=none'
expect named_wrong 'known_class=java.util.ArrayList fields_ok=0 missing=none unexpected=none wrong_type=size:long synthetic=none'
expect named_wrong 'wrong_values=4'
expect named_wrong 'wrong_value_example=java.util.HashMap$Node#40000 next holds a java.lang.String'
expect named_wrong 'wrong_value_example=java.lang.String#40008 hash 98 is not the hash of "a"'
expect named_wrong 'wrong_value_example=java.util.HashMap$Node#40018 hash 98 is not the spread hash 97 of key "a"'
expect named_wrong 'wrong_value_example=java.util.ArrayList#40010 elementData holds a byte[]'
expect named_wrong 'problems=naming_wrong_names:2,naming_wrong_values:4'
# The base heap's classes are not all named by the JDK's table: Holder has
# real names, nothing is synthetic; known classes absent from a dump are not listed.
expect valid_named 'naming_all_real_pct=100.0'
if grep -q '^known_class=java.util.HashMap ' "$work/valid_named.out"; then fail "valid_named: absent class listed"; else pass "valid_named: absent classes not listed"; fi

# Boxing caches held by statics: element k boxes -128 + k.
expect caches 'static_caches_checked=1'
expect caches 'naming_values_checked=259'
expect caches 'wrong_values=0'
expect caches_wrong 'static_caches_checked=2'
expect caches_wrong 'wrong_values=2'
expect caches_wrong 'wrong_value_example=java.lang.Long[]#70000 java.lang.Byte$ByteCache.cache is a java.lang.Long[]'
expect caches_wrong 'wrong_value_example=java.lang.Long#70020 java.lang.Long$LongCache.cache[3] boxes 7, not -125'

# Threads: the library's stack traces and frame roots.
run_all --stacks -- stacks:0:"$work/stacks.hprof" stacks_orphan:1:"$work/stacks_frame_of_no_thread.hprof" \
    stacks_unnamed:0:"$work/valid.hprof"
expect stacks 'threads=2'
expect stacks 'thread=main frames=2 real_frames=2 top=Main.run'
expect stacks 'thread=worker frames=1 real_frames=0 top=none'
expect stacks 'threads_with_real_frame=1'
expect stacks 'java_frame_roots=2'
expect stacks 'java_frame_roots_tied=1'
expect stacks 'java_frame_roots_without_thread=0'
expect stacks_orphan 'problems=java_frame_roots_without_thread:1'
expect stacks_unnamed 'threads=0'

run valid_opts 0 "$work/valid.hprof" --class-names --string-equals hello-hprofgen --strings-prefix hello \
    --dump-strings-matching '^hello'
expect valid_opts 'class=java.lang.Object[]'
expect valid_opts 'class=byte[]'
expect valid_opts 'class=Holder'
expect valid_opts 'string_found=hello-hprofgen 1'
expect valid_opts 'strings_prefix_count=1'
expect valid_opts 'string=hello-hprofgen'
run utf16_decode 0 "$work/utf16_string.hprof" --string-equals 'héllo-€'
expect utf16_decode 'string_found=héllo-€ 1'
run char_decode 0 "$work/char_array_string.hprof" --string-equals 'chars-€'
expect char_decode 'string_found=chars-€ 1'

# ---------------------------------------------------------------------------
# 3. Not HPROF at all / missing file.
printf 'this is not a heap dump, just some text padding it out\n' >"$work/garbage.hprof"
run garbage 2 "$work/garbage.hprof"
if grep -q '^error=' "$work/garbage.out"; then pass "garbage: error= line"; else fail "garbage: no error= line"; fi
run missing 2 "$work/does-not-exist.hprof"

# The library caches an index in "<dump>.hwcache"; the checker must not leave
# (or reuse) one next to the dump.
if ls -d "$work"/*.hwcache >/dev/null 2>&1; then fail "hwcache directories left behind"; else pass "no .hwcache left behind"; fi

echo
if [ "$fails" -eq 0 ]; then
    echo "selftest: all passed"
    exit 0
fi
echo "selftest: $fails failure(s)"
exit 1
