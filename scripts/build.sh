#!/usr/bin/env bash
# Builds ferry (build/) and the ASan+UBSan variant (build-asan/).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f build/build.ninja ] || meson setup build --buildtype=release -Db_ndebug=false
ninja -C build
if [ "${FERRY_NO_ASAN:-}" != 1 ]; then
	[ -f build-asan/build.ninja ] ||
		meson setup build-asan --buildtype=debug -Db_sanitize=address,undefined \
			-Db_lundef=false
	ninja -C build-asan
fi
