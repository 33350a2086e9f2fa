#!/usr/bin/env bash
# Checks that every module has its unit test, named after it: for each X.c
# under common/, agent/, symbols/, hprof/, lib/ and cli/ there must be
# tests/unit/test_X.c (README, "Layout of the source"), and it must be
# built and run: named in tests/unit/meson.build.
#
#   tools/check-tests.sh [ROOT]     exit 1 and one line per missing test
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
# Files that are not modules, each with the reason:
declare -A not_a_module=(
	# The fault hook of the test build, linked only into hdump-faults and
	# test_fault (no header: it installs common/fault.h's hook); test_fault.c
	# tests it.
	[common/fault_env.c]=1
	# The program's entry point: calls cli/options and cli/run; its own few
	# lines (the final message, the exit code, SIGPIPE ignored) are what
	# tests/e2e check on the real binary.
	[cli/main.c]=1
)
bad=0
for dir in common agent symbols hprof lib cli; do
	for file in "$dir"/*.c; do
		[ -e "$file" ] || continue
		[ -z "${not_a_module[$file]+x}" ] || continue
		module=$(basename "$file" .c)
		if [ ! -f "tests/unit/test_$module.c" ]; then
			echo "$file: no unit test tests/unit/test_$module.c"
			bad=1
		elif ! grep -q "'test_$module\.c'" tests/unit/meson.build; then
			echo "$file: tests/unit/test_$module.c is not built (tests/unit/meson.build)"
			bad=1
		fi
	done
done
exit $bad
