#!/usr/bin/env bash
# gzip output (-z, --gzip-level, a name ending in .gz) on a real pkl image
# and a live REPL: gunzip accepts every file as one member, the dump inside
# is the same HPROF as without gzip and passes the validator (the live
# REPL's 10,000 markers in it), for a file, for stdout, on one thread or
# several; a full disk mid-gzip leaves no file.  Run on one pkl version
# (tests/meson.build): the sink sees HPROF bytes only, whatever the layout.
#   HDUMP=build/hdump tests/e2e/gzip.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
version=$1
bin=$(pkl_binary "$version")
command -v gzip >/dev/null || { echo "skip: no gzip on this machine"; exit 77; }

# json_num FILE KEY: a number of hdump's --json line
json_num() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }
# hprof_body FILE: the HPROF without its header (which holds the dump's date)
hprof_body() { tail -c +32 "$1" | md5sum; }

# --exe: plain and gzip dumps hold the same HPROF.
"$HDUMP" --exe "$bin" -o "$WORK/plain.hprof" --json >"$WORK/plain.json" ||
	{ fail "plain --exe dump: exit $?"; finish; exit 1; }
objects=$(json_num "$WORK/plain.json" objects)
for t in 1 3; do
	gz="$WORK/exe$t.hprof.gz"
	"$HDUMP" --exe "$bin" --threads "$t" -o "$gz" --json >"$WORK/gz$t.json" 2>"$WORK/err" ||
		fail "--exe -o x.hprof.gz --threads $t: exit $? ($(cat "$WORK/err"))"
	gzip -t "$gz" && pass "--threads $t: gzip -t accepts it" || fail "--threads $t: gzip -t"
	expect_eq "--threads $t: mode" "$(stat -c %a "$gz")" 600
	expect_eq "--threads $t: json gzip" "$(sed -n 's/.*"gzip":\([a-z]*\).*/\1/p' "$WORK/gz$t.json")" true
	expect_eq "--threads $t: json file_bytes is the file's size" \
		"$(json_num "$WORK/gz$t.json" file_bytes)" "$(stat -c %s "$gz")"
	gunzip -c "$gz" >"$WORK/exe$t.hprof"
	expect_eq "--threads $t: json hprof_bytes is the gunzipped size" \
		"$(json_num "$WORK/gz$t.json" hprof_bytes)" "$(stat -c %s "$WORK/exe$t.hprof")"
	expect_eq "--threads $t: the HPROF of a plain dump" "$(hprof_body "$WORK/exe$t.hprof")" \
		"$(hprof_body "$WORK/plain.hprof")"
done
"$CHECK" "$WORK/exe3.hprof" >"$WORK/check" || true
expect_eq "gunzipped --exe dump: library opens it" "$(kv "$WORK/check" library)" ok
expect_eq "gunzipped --exe dump: problems" "$(kv "$WORK/check" problems)" none
expect_eq "gunzipped --exe dump: instances == objects walked" "$(kv "$WORK/check" instances)" "$objects"
[ "$(stat -c %s "$WORK/exe3.hprof.gz")" -lt $(($(stat -c %s "$WORK/plain.hprof") / 2)) ] &&
	pass "gzip at least halves the dump ($(stat -c %s "$WORK/exe3.hprof.gz") of $(stat -c %s "$WORK/plain.hprof") bytes)" ||
	fail "gzip: $(stat -c %s "$WORK/exe3.hprof.gz") of $(stat -c %s "$WORK/plain.hprof") bytes"
rm -f "$WORK"/exe1.hprof "$WORK"/exe3.hprof

# -z with -o -: streamed to stdout, the JSON line then on stderr; a level
# other than the default (6: level 9 costs 15 s of CPU here).
"$HDUMP" --exe "$bin" -z --gzip-level 6 -o - --json 2>"$WORK/stream.json" | gunzip >"$WORK/stream.hprof" ||
	fail "-o - -z | gunzip: exit ${PIPESTATUS[*]}"
expect_eq "-o - -z: the HPROF of a plain dump" "$(hprof_body "$WORK/stream.hprof")" \
	"$(hprof_body "$WORK/plain.hprof")"
rm -f "$WORK/stream.hprof" "$WORK/plain.hprof"

# A full disk mid-gzip: exit 10, no file left, temporary or not.
mkdir "$WORK/small"
if unshare -m true 2>/dev/null; then
	rc=0
	unshare -m sh -c 'mount -t tmpfs -o size=4m hdump-full "$1" && cd "$1" && "$2" --exe "$3" -o x.hprof.gz; echo "rc=$?" >"$4"; ls -A "$1" >>"$4"' \
		sh "$WORK/small" "$HDUMP" "$bin" "$WORK/full" 2>"$WORK/err" || rc=$?
	expect_eq "disk full mid-gzip: exit code" "$(sed -n 's/^rc=//p' "$WORK/full")" 10
	expect_eq "disk full mid-gzip: nothing left" "$(grep -vc '^rc=' "$WORK/full")" 0
	grep -q 'No space left' "$WORK/err" && pass "disk full mid-gzip: says so" || fail "disk full: $(cat "$WORK/err")"
else
	echo "ok - disk full mid-gzip: skipped (cannot mount a small tmpfs here)"
fi

# SIGINT while compressing (bytes already in the temporary file): exit 14,
# the compression threads stopped, no file left.
mkdir "$WORK/int"
"$HDUMP" --exe "$bin" --gzip-level 9 --threads 2 -o "$WORK/int/x.hprof.gz" 2>"$WORK/err" &
dumper=$!
cleanup_hooks+=("kill $dumper 2>/dev/null")
gz_started() { [ -n "$(find "$WORK/int" -name '*.tmp' -size +0 2>/dev/null)" ]; }
if wait_for 120 gz_started; then
	kill -INT "$dumper"
	rc=0
	wait "$dumper" || rc=$?
	expect_eq "SIGINT mid-gzip: exit code" "$rc" 14
	expect_eq "SIGINT mid-gzip: nothing left" "$(ls -A "$WORK/int" | wc -l)" 0
else
	fail "SIGINT mid-gzip: no compressed bytes within 120 s"
fi

# A live REPL: -p -z to a file, by default name and to stdout.
repl_start "$version"
expect_answer "markers allocated" "$MARKERS_EXPR" ''
expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"
"$HDUMP" -p "$REPL_PID" -z -o "$WORK/live.hprof.gz" --json >"$WORK/live.json" 2>"$WORK/err" ||
	fail "-p -z: exit $? ($(cat "$WORK/err"))"
gzip -t "$WORK/live.hprof.gz" && pass "-p -z: gzip -t accepts it" || fail "-p -z: gzip -t"
gunzip -c "$WORK/live.hprof.gz" >"$WORK/live.hprof"
expect_running "after the gzip dump"
"$HDUMP" -p "$REPL_PID" --snapshot=copy -z -o - --json 2>"$WORK/streamed.json" | gunzip >"$WORK/streamed.hprof" ||
	fail "-p -o - -z | gunzip: exit ${PIPESTATUS[*]}"
check_marker_dumps "-p -z, gunzipped" "$WORK/live.hprof" "$WORK/live.json" \
	"-p -o - -z | gunzip" "$WORK/streamed.hprof" "$WORK/streamed.json"
rm -f "$WORK/live.hprof" "$WORK/streamed.hprof"
mkdir "$WORK/named"
(cd "$WORK/named" && "$HDUMP" -p "$REPL_PID" -z) || fail "-p -z with the default name"
ls "$WORK/named" | grep -qE "^hdump-$REPL_PID-[0-9]{8}-[0-9]{6}\.hprof\.gz\$" &&
	pass "default name hdump-<pid>-<time>.hprof.gz" || fail "default name: $(ls -A "$WORK/named")"
expect_answer "REPL answers at the end" '40 + 2' 42
repl_stop
finish
