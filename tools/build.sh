#!/usr/bin/env bash
# Configures and builds hdump into DIR (default build/); prints nothing on
# success.  Extra arguments are meson options, e.g. for the ASan build.
#   tools/build.sh [DIR [-DOPTION=VALUE...]]
# The project's own builds (tests, CI, demo, bench) treat warnings as errors;
# a plain `meson setup` does not, so that a newer compiler's new warning
# cannot break a user's build.  An existing DIR gets the options too.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
if [ $# -gt 0 ]; then
	shift
fi
options=(-Dwerror=true "$@")
if [ -f "$dir/build.ninja" ]; then
	meson configure "$dir" "${options[@]}" >/dev/null
else
	meson setup "$dir" "${options[@]}" >/dev/null
fi
ninja -C "$dir" >/dev/null
