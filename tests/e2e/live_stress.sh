#!/usr/bin/env bash
# 20 dumps in a row of a REPL that allocates all the while: each dump
# succeeds (and validates) or fails cleanly with the retry error, and the
# target survives them all with its computation intact.
# Extra arguments go to every hdump (e.g. --snapshot=fork: the fork is then
# injected into threads that are busy allocating).
#   HDUMP=build/hdump tests/e2e/live_stress.sh PKL_VERSION [HDUMP_ARG...]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
cd "$WORK"
repl_start "$1"
shift
mode_args=("$@")
expect_answer "REPL evaluates" '1 + 1' 2

# A feeder keeps the REPL allocating for as long as the dumps last, one
# expression after another; each answer proves the heap came through.
n=200000
want=$(python3 -c "print(sum(len(str(i)) for i in range($n + 1)))") # IntSeq is inclusive
feeder() {
	local k=$REPL_N answer
	while [ ! -e "$WORK/stop" ]; do
		echo "IntSeq(0, $n).fold(0, (acc, i) -> acc + \"\\(i)\".length)" >"$REPL_DIR/in"
		touch "$WORK/fed"
		k=$((k + 1))
		repl_wait_prompt "$k" 600 || { echo "no answer to expression $k" >>"$WORK/bad"; break; }
		answer=$(sed 's/\x1b\[[0-9;]*m//g' "$REPL_OUT" | tr -d '\n' | sed "s/.*pkl$((k - 1))> //; s/pkl$k> .*//")
		case $answer in *"$want"*) echo ok >>"$WORK/answers" ;; *) echo "$answer" >>"$WORK/bad" ;; esac
	done
	echo "$k" >"$WORK/feeder_n"
}
feeder &
feeder_pid=$!
# The dumps start once the REPL has its first expression to work on.
wait_for 60 test -e "$WORK/fed" || fail "the feeder never fed the REPL"
ok=0 retried=0
judge="1 5 10 15 20"
for i in $(seq 1 20); do
	rc=0
	"$HDUMP" -p "$REPL_PID" "${mode_args[@]}" -o "d$i.hprof" 2>"err$i" || rc=$?
	case $rc in
	0) ok=$((ok + 1)) ;;
	13) retried=$((retried + 1)); [ ! -e "d$i.hprof" ] || fail "dump $i failed but left a file" ;;
	*) fail "dump $i: exit $rc ($(cat "err$i"))" ;;
	esac
	st=$(ps -o stat= -p "$REPL_PID" | cut -c1)
	[ "$st" != T ] || fail "dump $i left the target stopped"
	[ "$(ps -eo ppid= | awk -v p="$REPL_PID" '$1 == p' | wc -l)" -eq 0 ] || fail "dump $i left a child"
	# Only the dumps the judge reads are kept: the others' 160 MB each would
	# be written back to disk for nothing.
	case " $judge " in *" $i "*) ;; *) rm -f "d$i.hprof" ;; esac
done
# On a loaded or single-core machine the dumps can outpace the REPL: the
# feeder goes on until it has two answers (one began before the dumps).
two_answers() { [ "$(cat "$WORK/answers" 2>/dev/null | wc -l)" -ge 2 ] || [ -e "$WORK/bad" ]; }
wait_for 600 two_answers || fail "the REPL gave no two answers within 10 minutes"
touch "$WORK/stop"
wait "$feeder_pid"
REPL_N=$(cat "$WORK/feeder_n")
pass "20 dumps: $ok complete, $retried refused as inconsistent"
[ "$ok" -gt 0 ] && pass "at least one dump completed" || fail "no dump completed"
# Every 5th complete dump goes to the judge, all in one run of the checker.
judged=() files=()
for i in $judge; do
	[ -e "d$i.hprof" ] && judged+=("$i") && files+=("d$i.hprof")
done
if [ ${#judged[@]} -gt 0 ]; then
	"$CHECK" "${files[@]}" >checks || true
	k=0
	for i in "${judged[@]}"; do
		k=$((k + 1))
		check_block "$k" checks >check
		expect_eq "dump $i: judged" "$(kv check file)" "$WORK/d$i.hprof"
		expect_eq "dump $i: problems" "$(kv check problems)" none
		expect_eq "dump $i: dangling references" "$(kv check dangling)" 0
	done
fi
answers=$(cat "$WORK/answers" 2>/dev/null | wc -l)
[ "$answers" -ge 2 ] && pass "the REPL allocated throughout: $answers right answers" ||
	fail "the REPL answered only $answers expressions during the dumps"
[ ! -e "$WORK/bad" ] && pass "every answer was right ($want)" || fail "wrong answers: $(head -c 300 "$WORK/bad")"
expect_running "after 20 dumps"
expect_answer "REPL answers after 20 dumps" '40 + 2' 42
finish
