# Kernel cores of the pkl REPL for the core-file tests.  Sourced after
# lib.sh and repl.sh.

# core_pattern_usable: the kernel writes cores as a file in the dumping
# process's working directory ("core", "core.%p"...).  A pipe (systemd-
# coredump, apport) is set to "core" when the test may, and restored.
core_pattern_usable() {
	local pattern
	pattern=$(cat /proc/sys/kernel/core_pattern)
	case $pattern in
	'|'*)
		if ! { echo core >/proc/sys/kernel/core_pattern; } 2>/dev/null; then
			echo "SKIP: core_pattern is a pipe ($pattern) and this test cannot set it"
			exit 77
		fi
		CORE_PATTERN_SAVED=$pattern
		cleanup_hooks+=('echo "$CORE_PATTERN_SAVED" >/proc/sys/kernel/core_pattern')
		;;
	*/*)
		echo "SKIP: core_pattern '$pattern' writes cores elsewhere than the working directory"
		exit 77
		;;
	esac
}

# core_repl_start VERSION DIR: a REPL holding the markers, started in DIR
# with cores allowed.
core_repl_start() {
	core_pattern_usable
	mkdir -p "$2"
	ulimit -c unlimited
	cd "$2"
	repl_start "$1"
	cd - >/dev/null
	expect_answer "markers allocated" "$MARKERS_EXPR" ''
	expect_answer "markers forced" "$MARKERS_FORCE" "$MARKERS_SUM"
}

# core_take DIR: the REPL aborts (SIGABRT) and its kernel core is found in
# DIR; sets CORE.
core_take() {
	kill -ABRT "$REPL_PID"
	wait "$REPL_PID" 2>/dev/null || true
	REPL_PID=
	CORE=$(ls -t "$1"/core* 2>/dev/null | head -n1)
	[ -n "$CORE" ] && [ -s "$CORE" ] || { fail "no core written in $1"; finish; exit 1; }
}

# core_refused NAME RC PATTERN CORE [ARGS...]: hdump --core CORE ARGS fails
# with exit RC, a message matching PATTERN, and no output file.
core_refused() {
	local name=$1 want=$2 pattern=$3 core=$4 rc=0
	shift 4
	rm -f "$WORK/refused.hprof"
	"$HDUMP" --core "$core" "$@" -o "$WORK/refused.hprof" 2>"$WORK/err" || rc=$?
	expect_eq "$name: exit code" "$rc" "$want"
	grep -q -- "$pattern" "$WORK/err" && pass "$name: says what is wrong" || fail "$name: $(cat "$WORK/err")"
	[ ! -e "$WORK/refused.hprof" ] && pass "$name: no file" || fail "$name: a file"
}

# core_partial NAME CORE: with --partial, a dump the validator passes (no
# dangling reference: those into the chunks left out are written as null)
# whose --json counts the chunks left out and the references nulled.
core_partial() {
	local name=$1 core=$2 rc=0
	rm -f "$WORK/partial.hprof"
	"$HDUMP" --core "$core" --partial -o "$WORK/partial.hprof" --json >"$WORK/partial.json" 2>"$WORK/err" || rc=$?
	expect_eq "$name --partial: exit code" "$rc" 0
	[ "$rc" = 0 ] || { fail "$name --partial: $(cat "$WORK/err")"; return; }
	"$CHECK" "$WORK/partial.hprof" >"$WORK/check" || true
	expect_eq "$name --partial: problems" "$(kv "$WORK/check" problems)" none
	expect_eq "$name --partial: dangling references" "$(kv "$WORK/check" dangling)" 0
	grep -q '"core":{"missing_chunks":[1-9][0-9]*,.*"missing_refs":[0-9]*}' "$WORK/partial.json" &&
		pass "$name --partial: counts missing chunks and nulled references" ||
		fail "$name --partial: $(cat "$WORK/partial.json")"
}
