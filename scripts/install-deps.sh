#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages the build and the tests need. As root,
# missing packages are installed with apt-get; otherwise the script says
# what to install and fails.  python3-matplotlib draws cperf's plots;
# openssh-server gives the system tests an sshd to run in network
# namespaces (cperf's ssh backend).  Debian enables the ssh service on
# installation; where no sshd should run, disable it afterwards
# (systemctl disable --now ssh): the tests start their own.
set -euo pipefail

pkgs=(
	build-essential bc bison flex cpio kmod libelf-dev libssl-dev dwarves
	linux-headers-amd64 linux-image-amd64 linux-source-6.1
	qemu-system-x86 busybox-static sparse
	iproute2 ethtool python3 perl
	python3-matplotlib openssh-server
)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed"
