#!/usr/bin/env bash
# Proves that the library builds for aarch64 (--exe works there; fork
# snapshots, which inject x86-64 system calls, fail with "need x86-64"):
# compiles every .c of every layer and the command line with the aarch64
# cross compiler, warnings as errors.  Needs gcc-aarch64-linux-gnu
# (tools/deps.sh) and libelf's and elfutils' headers, the same for every CPU.
#   tools/check-aarch64.sh      exit 1 with the compiler's complaints
set -euo pipefail
cd "$(dirname "$0")/.."
cc=aarch64-linux-gnu-gcc
command -v "$cc" >/dev/null || { echo "$cc not found: run tools/deps.sh" >&2; exit 1; }
# Only libelf's own headers from the host: its C library's would not fit.
inc=$(mktemp -d)
trap 'rm -rf "$inc"' EXIT
for h in libelf.h gelf.h; do
	[ -f "/usr/include/$h" ] || { echo "/usr/include/$h missing (libelf-dev)" >&2; exit 1; }
	ln -s "/usr/include/$h" "$inc/$h"
done
# and elfutils' (libdwfl: symbols/corefile.c), the same for every CPU too
[ -d /usr/include/elfutils ] || { echo "/usr/include/elfutils missing (libdw-dev)" >&2; exit 1; }
ln -s /usr/include/elfutils "$inc/elfutils"
bad=0
for f in common/*.c agent/*.c symbols/*.c hprof/*.c lib/*.c cli/*.c; do
	"$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -c -o /dev/null -DHDUMP_VERSION=\"check\" -I"$inc" "$f" || bad=1
done
exit $bad
