#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit tests (also under
# AddressSanitizer + UndefinedBehaviorSanitizer), the validator's self-test
# and the end-to-end tests on real native images.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
tools/build.sh
tests/fetch-pkl.sh >/dev/null
meson test -C build --print-errorlogs --num-processes 2
[ -f build-asan/build.ninja ] ||
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null
ninja -C build-asan >/dev/null
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
	meson test -C build-asan --suite unit --print-errorlogs --num-processes 2
