#!/usr/bin/env bash
# Builds ferry (build/), the ASan+UBSan variant (build-asan/) and the
# ThreadSanitizer variant (build-tsan/: ferryd's event loops).
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
if [ "${FERRY_NO_TSAN:-}" != 1 ]; then
	[ -f build-tsan/build.ninja ] ||
		meson setup build-tsan --buildtype=debugoptimized -Db_sanitize=thread \
			-Db_lundef=false
	ninja -C build-tsan ferry ferryd
fi
