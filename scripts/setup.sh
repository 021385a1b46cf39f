#!/usr/bin/env bash
# Installs everything ferry needs to build, test and benchmark, from
# Debian 12's packages. Idempotent; needs root.
set -euo pipefail

PKGS=(
	build-essential clang meson ninja-build pkg-config
	libuv1-dev libssl-dev zlib1g-dev libcmocka-dev
	libcurl4-openssl-dev libjansson-dev etcd-server etcd-client
	python3 python3-pytest
	python3-asyncssh python3-paramiko putty-tools libssh-dev
	openssh-server openssh-client dropbear-bin
	curl procps iproute2 nftables systemd
	mandoc man-db debhelper lintian dpkg-dev git
	chromium fail2ban
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# sshd's privilege separation directory (the tests start sshd themselves).
mkdir -p /run/sshd
chmod 0755 /run/sshd
