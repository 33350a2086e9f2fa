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
