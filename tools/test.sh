#!/usr/bin/env bash
# Installs dependencies, checks that no #include runs upward through the
# layers, that every module has its unit test and that the library compiles
# for aarch64, builds, and runs every
# test: unit tests (also under AddressSanitizer + UndefinedBehaviorSanitizer),
# the validator's self-test and the end-to-end tests on real native images.
# Both builds are configured with -Dwerror=true (tools/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
tools/check-layers.sh
tools/check-tests.sh
# Steps that keep one core busy, or leave it idle now and then, share the
# machine with the next step; none is left running when this script ends.
pending=()
trap 'for p in "${pending[@]}"; do wait "$p" 2>/dev/null || true; done' EXIT
# The aarch64 check compiles one file after another: the build takes the
# other core.
tools/check-aarch64.sh &
pending+=($!)
tools/build.sh
wait "${pending[0]}"
tests/fetch-pkl.sh >/dev/null
# The ASan build runs at the lowest priority while the tests run: they leave
# a core idle now and then (a REPL reading its next expression, a test
# polling a state, a process starting), which the build fills and hardly
# slows them; what is left of it runs at full speed once they are done.
nice -n 19 tools/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug &
pending+=($!)
meson test -C build --print-errorlogs --num-processes 2
wait "${pending[1]}"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
	meson test -C build-asan --suite unit --print-errorlogs --num-processes 2
# One closing line over both runs, counted from meson's own logs.
python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
