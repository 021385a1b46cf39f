#!/usr/bin/env bash
# Builds the Debian packages ferry and ferryd (and the native source
# package) into dist/, then runs lintian on them. As root on Debian 12:
# installs its build dependencies from Debian's packages first.
#
# The build runs in a copy of the tree under /tmp, so nothing but dist/
# is written here; `ferry -V` in the packages still names this checkout's
# `git describe` (GIT_DIR points back at it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

DEPS=(build-essential debhelper dpkg-dev lintian git
	meson ninja-build pkg-config libuv1-dev libssl-dev zlib1g-dev libcmocka-dev
	libcurl4-openssl-dev libjansson-dev)
missing=()
for p in "${DEPS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

version=$(dpkg-parsechangelog -S Version)
work=$(mktemp -d /tmp/ferry-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/ferry-$version
mkdir "$src"
# the tree without git metadata, build directories or earlier output
tar -C "$root" --exclude=./.git --exclude='./build*' --exclude=./dist \
	--exclude='./obj-*' --exclude='__pycache__' --exclude='*.pyc' \
	--exclude='./tests/fuzz/crash-*' --exclude='./tests/fuzz/leak-*' \
	--exclude='./tests/fuzz/timeout-*' -cf - . | tar -C "$src" -xf -
if [ -d "$root/.git" ] && command -v git >/dev/null; then
	export GIT_DIR="$root/.git" GIT_WORK_TREE="$root"
fi

echo "== dpkg-buildpackage (in $src)"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc)
unset GIT_DIR GIT_WORK_TREE

mkdir -p dist
rm -f dist/ferry*_"$version"* dist/ferry_"$version"*
for f in "$work"/*; do
	[ -f "$f" ] && cp "$f" dist/
done
ls -l dist/

echo "== lintian"
changes=dist/ferry_${version}_$(dpkg --print-architecture).changes
lintian --fail-on error --info "$changes"
echo "== packages in dist/: $(cd dist && ls ./*.deb | tr '\n' ' ')"
