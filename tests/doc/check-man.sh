#!/usr/bin/env bash
# The man page (doc/hdump.1): groff renders it without a warning, man(1)
# too, and it names every option and exit code `hdump --help` lists (and
# `hdump watch --help`'s, once that command exists), so the two cannot drift.
#   HDUMP=build/hdump tests/doc/check-man.sh
set -euo pipefail
HDUMP=${HDUMP:?set HDUMP to the hdump binary}
page="$(cd "$(dirname "$0")/../.." && pwd)/doc/hdump.1"
command -v groff >/dev/null || { echo "skip: no groff"; exit 77; }
failures=0
fail() { failures=$((failures + 1)); echo "FAIL - $*"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C.UTF-8

groff -man -Tutf8 -ww -z "$page" 2>"$work/groff" || fail "groff exits $?"
[ -s "$work/groff" ] && fail "groff warns: $(head -5 "$work/groff")" || echo "ok - groff -man -ww: no warning"
if command -v man >/dev/null; then
	MANWIDTH=80 man -l "$page" >"$work/man" 2>"$work/man.err" || fail "man -l exits $?"
	[ -s "$work/man.err" ] && fail "man -l warns: $(head -5 "$work/man.err")" || echo "ok - man -l: no warning"
	grep -q '^EXIT STATUS' "$work/man" && echo "ok - man -l renders the page" || fail "man -l: no EXIT STATUS section"
fi

# The page's text with roff's escaped minus signs as plain ones.
sed 's/\\-/-/g' "$page" >"$work/text"
# options HELP: every -x and --long-name the option lines of HELP list.
options() {
	grep -E '^ +-' "$1" | grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[ ,]*//' | sort -u
}
check_options() {
	local help=$1 what=$2 n=0 opt
	while read -r opt; do
		n=$((n + 1))
		# an option as the page writes it: bold or italic, alone or before an argument
		grep -qE "(^|[^a-zA-Z0-9-])$opt([^a-zA-Z0-9-]|\$)" "$work/text" || fail "$what lists $opt, the man page does not"
	done < <(options "$help")
	[ "$n" -gt 10 ] && echo "ok - $what: $n options, each in the man page" || fail "$what: only $n options found"
}
"$HDUMP" --help >"$work/help"
check_options "$work/help" "hdump --help"
# Exit codes: "  N  meaning" lines of --help, each a .B N of EXIT STATUS.
codes=$(sed -n 's/^ *\([0-9][0-9]*\)  .*/\1/p' "$work/help")
for c in $codes; do
	sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$page" | grep -qx "\.B $c" || fail "exit code $c is not in EXIT STATUS"
done
[ "$(echo "$codes" | wc -w)" -ge 15 ] && echo "ok - every exit code of --help in EXIT STATUS" || fail "exit codes: $codes"
# (A build without the command prints the main help for "watch --help".)
if "$HDUMP" watch --help >"$work/watch-help" 2>/dev/null && ! cmp -s "$work/help" "$work/watch-help"; then
	check_options "$work/watch-help" "hdump watch --help"
else
	echo "ok - hdump watch --help: no such command in this build (its section is checked once it exists)"
fi
[ "$failures" -eq 0 ]
