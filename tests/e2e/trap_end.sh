#!/usr/bin/env bash
# Exit and crash dumps (issue 11) on a real pkl REPL, through the trap API
# (tests/e2e/trapdump.c): a REPL that quits (held as its shutdown starts its
# hooks, before GraalVM 25 frees the heap), or is killed with SIGSEGV or
# SIGABRT, is dumped with its 10,000 markers intact, then ends exactly as an
# untraced one does (exit code; signal and core dump, against an untraced
# REPL ended the same way in this run).  While traced, ordinary signals pass
# through untouched, and SIGINT to the client detaches it cleanly.
#   HDUMP=build/hdump TRAPDUMP=build/tests/trapdump tests/e2e/trap_end.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl.sh"
. "$(dirname "$0")/trap_lib.sh"
V=$1

plant_markers() {
	expect_answer "$1: markers allocated" "$MARKERS_EXPR" ''
	expect_answer "$1: markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"
}

# --- :quit: held where the shutdown starts its first hook thread, dumped,
# then exits 0 ------------------------------------------------------------
# GraalVM 25 frees its heap after the hooks, before exit_group: the trap is
# the hook thread's creation, told from any other thread creation by
# java.lang.Shutdown.shutdown on the creating thread's stack (README, "Exit
# and crash dumps").  pkl's REPL has a hook once it evaluated anything.
waited_repl_start "$V" 0 || exit 1
trapdump_start "$WORK/quit.hprof" both || exit 1
expect_eq ":quit: traced by the trap client" "$(tracer_of "$REPL_PID")" "$TD_PID"
# Planted while traced: the evaluation makes threads (Truffle's compiler
# threads) come and go, each creation checked for the shutdown and let go.
plant_markers ":quit"
# Signals the REPL ignores or handles pass through: it keeps answering, and
# every thread is still traced (none left stopped).
for sig in WINCH CHLD URG; do
	kill -"$sig" "$REPL_PID"
	expect_answer ":quit: REPL answers after SIG$sig while traced" '40 + 2' 42
done
expect_running ":quit: after signals while traced"
[ ! -s "$WORK/quit.hprof" ] && ! grep -q '^trap=' "$TD_OUT" &&
	pass ":quit: no trap while the REPL ran" || fail ":quit: trapped early: $(cat "$TD_OUT")"
echo ':quit' >"$REPL_DIR/in"
trapdump_finish
checks=$(sed -n 's/^trap=shutting-down checks=\([0-9]*\)$/\1/p' "$TD_OUT")
[ -n "$checks" ] && pass ":quit: trapped as the shutdown started its hooks" ||
	fail ":quit: trap: $(cat "$TD_OUT" "$TD_ERR")"
# The trap's own check and at least one thread created while the REPL
# evaluated, which the check let go.
[ "${checks:-0}" -ge 2 ] && pass ":quit: thread creations checked and let go before the trap: $((checks - 1))" ||
	fail ":quit: thread creations checked: '$checks' (none while the REPL evaluated)"
expect_eq ":quit: trap client exit code ($(cat "$TD_ERR"))" "$TD_RC" 0
# The REPL's main has returned: the markers are there, garbage.
check_trap_dump ":quit dump" "$WORK/quit.hprof" unreachable
expect_eq ":quit: the REPL's end" "$(waited_status)" "exited 0 core 0"

# --- SIGINT to the client while it traces: detached, the REPL runs on -------
waited_repl_start "$V" 0 || exit 1
trapdump_start "$WORK/int.hprof" both || exit 1
# A SIGWINCH while traced is one signal-delivery stop at least, which the
# client counts and tells when it detaches.
kill -WINCH "$REPL_PID"
expect_answer "REPL answers after SIGWINCH while traced" '40 + 2' 42
kill -INT "$TD_PID"
trapdump_finish
expect_eq "SIGINT to the trap client: its exit code" "$TD_RC" 14
stops=$(sed -n 's/^stops=//p' "$TD_OUT")
[ "${stops:-0}" -ge 1 ] && pass "the trap counted $stops ptrace stops while traced" ||
	fail "stops counted: '${stops}' ($(cat "$TD_OUT"))"
expect_eq "SIGINT to the trap client: REPL no longer traced" "$(tracer_of "$REPL_PID")" 0
expect_running "after the trap client was interrupted"
expect_answer "REPL answers after the trap client was interrupted" '40 + 2' 42
[ ! -e "$WORK/int.hprof" ] && pass "no dump written" || fail "a dump was written"
# A signal that kills the REPL and is no crash (SIGUSR2 at its default
# disposition on pkl, or whatever pkl does with it) is not trapped: the REPL
# ends as untraced ones do.
kill -USR2 "$REPL_PID"
untraced_usr2=$(waited_status)

waited_repl_start "$V" 0 || exit 1
trapdump_start "$WORK/usr2.hprof" both || exit 1
kill -USR2 "$REPL_PID"
trapdump_finish
expect_eq "SIGUSR2 while traced: the REPL's end, as untraced" "$(waited_status)" "$untraced_usr2"
[ ! -e "$WORK/usr2.hprof" ] && pass "SIGUSR2 is no trap ($(head -n1 "$TD_OUT" | tail -n1); $(tail -n1 "$TD_OUT"))" ||
	fail "SIGUSR2 was trapped"

# --- crash signals: held before delivery (or at the abort a handler ends
# in), dumped, then ending as an untraced REPL does -----------------------
# CORE: the REPL's core limit (a core, or none, either way unchanged).
crash_case() {
	local sig=$1 core=$2 untraced
	waited_repl_start "$V" "$core" || return 1
	kill -"$sig" "$REPL_PID"
	untraced=$(waited_status)
	case $untraced in
	signalled*) pass "SIG$sig untraced: $untraced" ;;
	*) fail "SIG$sig untraced: $untraced"; return 1 ;;
	esac
	local signo=${untraced#signalled }
	signo=${signo%% *}

	waited_repl_start "$V" "$core" || return 1
	plant_markers "SIG$sig"
	trapdump_start "$WORK/$sig.hprof" signal || return 1
	kill -"$sig" "$REPL_PID"
	trapdump_finish
	expect_eq "SIG$sig: trap client exit code ($(cat "$TD_ERR"))" "$TD_RC" 0
	grep -q "^trap=signalled signo=$signo\$" "$TD_OUT" && pass "SIG$sig: trapped at signal $signo" ||
		fail "SIG$sig: trap: $(cat "$TD_OUT" "$TD_ERR")"
	check_trap_dump "SIG$sig dump" "$WORK/$sig.hprof"
	expect_eq "SIG$sig: the REPL's end (ulimit -c $core), as untraced" "$(waited_status)" "$untraced"
	[ "$core" = 0 ] || [ -e "$REPL_DIR/core" ] || ls "$REPL_DIR" | grep -q '^core' &&
		pass "SIG$sig: core file as the limit allows" || fail "SIG$sig: no core file in $REPL_DIR"
	rm -f "$REPL_DIR"/core*
}
crash_case SEGV unlimited
crash_case ABRT 0

finish
