# Drives a real `pkl repl` for the live tests: start it with stdin on a
# FIFO, evaluate expressions and check their answers, stop it.  Sourced
# after lib.sh.

# repl_start VERSION: sets REPL_PID, REPL_OUT.
repl_start() {
	local bin
	bin=$(pkl_binary "$1")
	REPL_DIR=$(mktemp -d "$WORK/repl-$1.XXXXXX")
	mkfifo "$REPL_DIR/in"
	# A writer that never writes keeps stdin open between expressions.
	sleep 100000 >"$REPL_DIR/in" &
	REPL_HOLDER=$!
	"$bin" repl <"$REPL_DIR/in" >"$REPL_DIR/out" 2>&1 &
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

# Never leave the target stopped: 'T' in ps means a dumper left it frozen.
expect_running() {
	local st
	st=$(ps -o stat= -p "$REPL_PID" 2>/dev/null | cut -c1)
	case $st in
	R | S | D) pass "$1: target running (state $st)" ;;
	*) fail "$1: target state '${st:-gone}'" ;;
	esac
}

repl_stop() {
	[ -n "${REPL_PID:-}" ] && kill "$REPL_PID" 2>/dev/null
	[ -n "${REPL_HOLDER:-}" ] && kill "$REPL_HOLDER" 2>/dev/null
	wait 2>/dev/null || true
	REPL_PID=
}
