#!/usr/bin/env bash
# Checks that no #include runs upward through the layers (README, "Layout of
# the source"):
#
#   common <- agent <- symbols <- hprof <- lib (include/hdump.h) <- cli
#
# A file may include headers of its own folder and of the folders left of
# it; the public header includes no private one; the command line includes
# only the public header and its own.  The build's layer-check libraries
# catch upward calls; this catches upward includes (a type or an inline
# function borrowed from above), which the linker cannot see.
#
#   tools/check-layers.sh [ROOT]     exit 1 and one line per violation
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
declare -A rank=([common]=0 [agent]=1 [symbols]=2 [hprof]=3 [lib]=4 [include]=4 [cli]=5)
bad=0
for dir in common agent symbols hprof lib include cli; do
	[ -d "$dir" ] || continue
	while IFS= read -r file; do
		while IFS=: read -r line text; do
			target=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$text")
			[ -n "$target" ] || continue
			resolved=$(realpath -m --relative-to="$root" "$(dirname "$file")/$target")
			tdir=${resolved%%/*}
			[ "$resolved" = "$tdir" ] && tdir=.
			ok=1
			if [ -z "${rank[$tdir]+x}" ]; then
				ok=0
			elif [ "$dir" = include ]; then
				[ "$tdir" = include ] || ok=0
			elif [ "$dir" = cli ]; then
				[ "$tdir" = cli ] || [ "$tdir" = include ] || ok=0
			elif [ "${rank[$tdir]}" -gt "${rank[$dir]}" ] || [ "$tdir" = cli ]; then
				ok=0
			fi
			if [ $ok = 0 ]; then
				echo "$file:$line: includes $resolved (layer '$tdir' is not below '$dir')"
				bad=1
			fi
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" || true)
	done < <(find "$dir" -name '*.[ch]' | sort)
done
exit $bad
