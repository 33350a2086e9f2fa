#!/usr/bin/env bash
# Installs what hdump needs to build and test on Debian 12 (idempotent).
#   tools/deps.sh          build and test
#   tools/deps.sh fuzz     also clang, for tools/fuzz.sh (libFuzzer)
set -euo pipefail
# libdw-dev: libdwfl reports a core file's modules (symbols/corefile.c).
# gcc-aarch64-linux-gnu: tools/check-aarch64.sh.
pkgs=(meson ninja-build gcc pkg-config libelf-dev libdw-dev zlib1g-dev libcriterion-dev
      visualvm python3 binutils procps strace util-linux gcc-aarch64-linux-gnu)
pkgs+=(groff-base man-db gzip) # the man page's test; gzip output's e2e test
pkgs+=(python3-jsonschema) # hdump watch's events checked against doc/watch-events.schema.json
pkgs+=(gdb) # a hung e2e test's report: the stacks of hdump's threads (tests/e2e/lib.sh)
[ "${1:-}" != fuzz ] || pkgs+=(clang)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# A machine may already have Node.js/npm or a JDK from elsewhere, whose
# packages conflict with Debian's: only the commands matter.
command -v npm >/dev/null || missing+=(npm)
command -v javac >/dev/null || missing+=(default-jdk-headless)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
