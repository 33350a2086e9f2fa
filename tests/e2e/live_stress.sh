#!/usr/bin/env bash
# 20 dumps in a row of a REPL that allocates all the while: each dump
# succeeds (and validates) or fails cleanly with the retry error, and the
# target survives them all with its computation intact.
#   HDUMP=build/hdump tests/e2e/live_stress.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
cd "$WORK"
repl_start "$1"
expect_answer "REPL evaluates" '1 + 1' 2

# A loop that allocates strings for seconds; its answer proves the heap
# came through the dumps unharmed.
n=100000000
want=$(python3 -c "print(sum(len(str(i)) for i in range($n + 1)))") # IntSeq is inclusive
echo "IntSeq(0, $n).fold(0, (acc, i) -> acc + \"\\(i)\".length)" >"$REPL_DIR/in"
REPL_N=$((REPL_N + 1))
ok=0 retried=0 during=0
for i in $(seq 1 20); do
	grep -q "pkl$REPL_N> " "$REPL_OUT" || during=$((during + 1))
	rc=0
	"$HDUMP" -p "$REPL_PID" -o "d$i.hprof" 2>"err$i" || rc=$?
	case $rc in
	0) ok=$((ok + 1)) ;;
	13) retried=$((retried + 1)); [ ! -e "d$i.hprof" ] || fail "dump $i failed but left a file" ;;
	*) fail "dump $i: exit $rc ($(cat "err$i"))" ;;
	esac
	st=$(ps -o stat= -p "$REPL_PID" | cut -c1)
	[ "$st" != T ] || fail "dump $i left the target stopped"
done
pass "20 dumps: $ok complete, $retried refused as inconsistent"
[ "$during" -ge 10 ] && pass "$during dumps caught the loop allocating" ||
	fail "only $during dumps ran while the loop allocated"
[ "$ok" -gt 0 ] && pass "at least one dump completed" || fail "no dump completed"
# Every 5th complete dump goes to the judge.
for i in 1 5 10 15 20; do
	[ -e "d$i.hprof" ] || continue
	"$CHECK" "d$i.hprof" >check || true
	expect_eq "dump $i: problems" "$(kv check problems)" none
	expect_eq "dump $i: dangling references" "$(kv check dangling)" 0
done
repl_wait_prompt "$REPL_N" 600 || fail "the allocating loop did not finish"
REPL_ANSWER=$(sed 's/\x1b\[[0-9;]*m//g' "$REPL_OUT" | tr -d '\n' | sed "s/.*pkl$((REPL_N - 1))> //; s/pkl$REPL_N> .*//")
case $REPL_ANSWER in
*"$want"*) pass "the allocating loop's answer is right ($want)" ;;
*) fail "the allocating loop answered '$REPL_ANSWER', want $want" ;;
esac
expect_running "after 20 dumps"
expect_answer "REPL answers after 20 dumps" '40 + 2' 42
finish
