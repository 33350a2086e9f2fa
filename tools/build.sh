#!/usr/bin/env bash
# Configures (once) and builds hdump into build/; prints nothing on success.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
