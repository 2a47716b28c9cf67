#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or find in the cache) the Homa debug/test kernel: Debian's
# linux-source-6.1 with x86_64_defconfig + kvm_guest.config + the fragment
# testkernel.config (KUnit, KASAN, lockdep, kmemleak, netns, veth, netem,
# virtio, 9p built in).  The build lives outside the work tree, keyed by
# the source tarball version and the hash of the fragment, so it is built
# once per machine and shared by every clone.
#
# Prints the path of the kernel build tree on the last line of stdout.
# Usage: testkernel.sh [--print]   (--print: only print the path, exit 1 if
# the kernel is not built yet)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
frag="$here/testkernel.config"
tarball=/usr/src/linux-source-6.1.tar.xz
if [ "$(id -u)" = 0 ]; then
	cache_root=${HOMA_CACHE:-/var/cache/homa-test}
else
	cache_root=${HOMA_CACHE:-$HOME/.cache/homa-test}
fi

if [ ! -r "$tarball" ]; then
	echo "testkernel: $tarball missing; install linux-source-6.1" >&2
	exit 2
fi
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %s "$tarball")
key=$( (echo "$srcver"; cat "$frag"; echo v3) | sha256sum | cut -c1-16)
tree="$cache_root/linux-$srcver-$key"

if [ -f "$tree/.homa-build-ok" ]; then
	echo "testkernel: cached build $tree" >&2
	echo "$tree"
	exit 0
fi
if [ "${1:-}" = "--print" ]; then
	exit 1
fi

mkdir -p "$cache_root"
# One builder at a time; another one waits and then finds the cache.
exec 9>"$cache_root/.lock"
flock 9
if [ -f "$tree/.homa-build-ok" ]; then
	echo "$tree"
	exit 0
fi

start=$(date +%s)
rm -rf "$tree" "$tree.tmp"
mkdir -p "$tree.tmp"
echo "testkernel: unpacking $tarball" >&2
tar -C "$tree.tmp" --strip-components=1 -xJf "$tarball"
cd "$tree.tmp"
echo "testkernel: configuring" >&2
make -s x86_64_defconfig >/dev/null
./scripts/kconfig/merge_config.sh -m .config kernel/configs/kvm_guest.config \
	"$frag" >/dev/null
make -s olddefconfig >/dev/null
# Make sure the options the tests rely on survived dependency resolution.
missing=0
for opt in KUNIT KUNIT_DEBUGFS KASAN PROVE_LOCKING DEBUG_ATOMIC_SLEEP \
	DEBUG_KMEMLEAK NET_NS VETH NET_SCH_NETEM NET_SCH_PRIO NET_SCH_HTB \
	VIRTIO_NET E1000E 9P_FS NET_9P_VIRTIO OVERLAY_FS IPV6 MODULES; do
	if ! grep -q "^CONFIG_$opt=y" .config; then
		echo "testkernel: CONFIG_$opt is not enabled" >&2
		missing=1
	fi
done
[ $missing = 0 ] || exit 2
jobs=$(( $(nproc) + 1 ))
echo "testkernel: building with -j$jobs (cold builds take ~10 minutes)" >&2
make -s -j"$jobs" bzImage modules >"$tree.tmp/build.log" 2>&1 || {
	tail -50 "$tree.tmp/build.log" >&2
	exit 2
}
# Keep what out-of-tree module builds need; drop object files to save disk.
find . -name '*.o' ! -path './scripts/*' ! -path './tools/*' -delete
find . -name '*.cmd' ! -path './scripts/*' -delete 2>/dev/null || true
cd /
mv "$tree.tmp" "$tree"
touch "$tree/.homa-build-ok"
echo "testkernel: built in $(( $(date +%s) - start ))s: $tree" >&2
echo "$tree"
