# Drives a real `pkl repl` for the live tests: start it with stdin on a
# FIFO, evaluate expressions and check their answers, stop it.  Sourced
# after lib.sh.

# A command the REPL is started through (exec'ing it: REPL_PID is the
# REPL's), e.g. one that enters a cgroup first; none by default.
REPL_LAUNCHER=()

# repl_start VERSION: sets REPL_PID, REPL_OUT.
repl_start() {
	local bin
	bin=$(pkl_binary "$1")
	REPL_DIR=$(mktemp -d "$WORK/repl-$1.XXXXXX")
	mkfifo "$REPL_DIR/in"
	# A writer that never writes keeps stdin open between expressions.
	sleep 100000 >"$REPL_DIR/in" &
	REPL_HOLDER=$!
	"${REPL_LAUNCHER[@]}" "$bin" repl <"$REPL_DIR/in" >"$REPL_DIR/out" 2>&1 &
	REPL_PID=$!
	REPL_OUT="$REPL_DIR/out"
	REPL_N=0
	cleanup_hooks+=("repl_stop")
	repl_wait_prompt 0 60 || { fail "pkl $1 repl did not start"; return 1; }
}

repl_wait_prompt() {
	local n=$1 deadline=$((SECONDS + $2))
	while ! grep -q "pkl$n> " "$REPL_OUT" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || return 1
		kill -0 "$REPL_PID" 2>/dev/null || return 1
		sleep 0.1
	done
}

# repl_eval EXPR [TIMEOUT]: evaluates EXPR; the answer is left in REPL_ANSWER
# (not printed: a subshell would lose the prompt count).
repl_eval() {
	local expr=$1 timeout=${2:-120}
	echo "$expr" >"$REPL_DIR/in"
	REPL_N=$((REPL_N + 1))
	REPL_ANSWER="(no answer)"
	repl_wait_prompt "$REPL_N" "$timeout" || return 1
	# The answer sits between the previous prompt and the new one.
	REPL_ANSWER=$(sed 's/\x1b\[[0-9;]*m//g' "$REPL_OUT" | tr -d '\n' |
		sed "s/.*pkl$((REPL_N - 1))> //; s/pkl$REPL_N> .*//")
}

# expect_answer NAME EXPR SUBSTRING: the target evaluates EXPR correctly.
expect_answer() {
	repl_eval "$2" || true
	case $REPL_ANSWER in
	*"$3"*) pass "$1" ;;
	*) fail "$1: answer '$REPL_ANSWER' lacks '$3'" ;;
	esac
}

# Never leave the target stopped: 'T' or 't' in ps means a dumper left it
# frozen.  A just-released thread may take a moment to be scheduled out of
# its stop, so the state is polled (a target left stopped stays stopped).
repl_state() { ps -o stat= -p "$REPL_PID" 2>/dev/null | cut -c1; }
repl_runs() { case $(repl_state) in R | S | D) return 0 ;; *) return 1 ;; esac }
expect_running() {
	if wait_for 30 repl_runs; then
		pass "$1: target running (state $(repl_state))"
	else
		fail "$1: target state '$(repl_state)'"
	fi
}

# Ground truth the live tests plant in the REPL: 10,000 distinct strings.
MARKERS_EXPR='markers = new Listing { for (i in IntSeq(0, 9999)) { "hdumpmarker-\(i)" } }'
MARKERS_FORCE='markers.toList().fold(0, (acc, s) -> acc + s.length)'
MARKERS_SUM=158890

# The checker's options that list the markers and whether each is reachable.
MARKERS_CHECK=(--dump-strings-matching '^hdumpmarker-[0-9]+$' --reachable-strings)

# check_marker_dump NAME FILE SUMMARY [unreachable]: the library's verdict on FILE, and the
# marker truth (after MARKERS_EXPR was evaluated) against hdump's --json SUMMARY.
check_marker_dump() {
	"$CHECK" "${MARKERS_CHECK[@]}" "$2" >"$WORK/check" || true
	judge_marker_check "$1" "$WORK/check" "$3" "${4:-reachable}"
}

# check_marker_dumps NAME FILE SUMMARY [NAME FILE SUMMARY...]: check_marker_dump
# of several dumps (markers reachable in each), all judged in one run of the
# checker: one JVM start and warm-up instead of one per dump.  The dumps are
# taken first, then judged together.
check_marker_dumps() {
	local files=() i
	for ((i = 2; i <= $#; i += 3)); do files+=("${!i}"); done
	"$CHECK" "${MARKERS_CHECK[@]}" "${files[@]}" >"$WORK/checks" || true
	i=0
	while [ $# -ge 3 ]; do
		i=$((i + 1))
		check_block "$i" "$WORK/checks" >"$WORK/check"
		expect_eq "$1: judged" "$(kv "$WORK/check" file)" "$(realpath -s "$2")"
		judge_marker_check "$1" "$WORK/check" "$3" reachable
		shift 3
	done
}

# judge_marker_check NAME CHECK_OUTPUT SUMMARY reachable|unreachable: the
# checker's output on a dump against the marker truth and hdump's SUMMARY.
judge_marker_check() {
	local name=$1 out=$2 objects
	objects=$(sed -n 's/.*"objects":\([0-9]*\).*/\1/p' "$3")
	expect_eq "$name: library opens it" "$(kv "$out" library)" ok
	expect_eq "$name: problems" "$(kv "$out" problems)" none
	expect_eq "$name: dangling references" "$(kv "$out" dangling)" 0
	expect_eq "$name: objects without a class" "$(kv "$out" classless)" 0
	expect_eq "$name: instances == objects walked" "$(kv "$out" instances)" "$objects"
	grep '^string_reachable=' "$out" >"$WORK/markers" || true
	expect_eq "$name: marker strings" "$(wc -l <"$WORK/markers")" 10000
	# A process dumped after its main returned (an exit trap) holds them unreachable.
	[ "$4" = reachable ] &&
		expect_eq "$name: reachable markers" "$(grep -c '^string_reachable=1 ' "$WORK/markers")" 10000
	expect_eq "$name: distinct marker ids 0..9999" \
		"$(sed 's/.*hdumpmarker-//' "$WORK/markers" | sort -n | uniq | awk 'NR-1==$1' | wc -l)" 10000
}

repl_stop() {
	[ -n "${REPL_PID:-}" ] && kill "$REPL_PID" 2>/dev/null
	[ -n "${REPL_HOLDER:-}" ] && kill "$REPL_HOLDER" 2>/dev/null
	wait 2>/dev/null || true
	REPL_PID=
}
