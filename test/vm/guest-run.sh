#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Second stage of the run-vm guest: runs as PID 1, chrooted into the host's
# root file system (see guest-init.sh).  Sets up what tests need (writable
# /lib/modules, NIC drivers, loopback), runs the command given to run-vm,
# saves its exit status and the kernel log into the output share and powers
# the VM off.
#
# No "set -e": PID 1 must never exit, whatever fails.  Every path ends in
# the poweroff at the bottom.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
export HOMA_VM=1 HOMA_VM_OUT=/run/homa-out
conf=/run/homa-vm/homa-vm.conf
bb=/run/homa-vm/busybox

# Written by run-vm: HOMA_VM_CWD, HOMA_VM_NICS, HOMA_VM_KERNEL_TREE,
# HOMA_VM_KMEMLEAK, HOMA_VM_ENV=(NAME=VALUE...), HOMA_VM_CMD=(...).
HOMA_VM_CMD=()
HOMA_VM_ENV=()
# shellcheck source=/dev/null
. "$conf"
: "${HOMA_VM_CWD:=/}"

say() { echo "homa-vm: $*"; }

# --trace: show each step of this script with the guest's uptime.
if [ "${HOMA_VM_TRACE:-0}" = 1 ]; then
	PS4='+ [$(cut -d" " -f1 /proc/uptime)] '
	set -x
fi

# Builtins and /proc instead of small programs where that is easy: every
# exec from the 9p root costs ~0.1 s under emulation.
echo homa-vm >/proc/sys/kernel/hostname
read -r kver </proc/sys/kernel/osrelease
ip link set lo up

# A writable /lib/modules (overlay, upper layer on tmpfs), so tests can
# install a module and run depmod for autoload tests.  overlayfs is built
# in (test kernel) or was loaded from the initramfs (stock kernel); for any
# other kernel try modprobe.  guest-init.sh created the upper directory,
# with the files of run-vm --module.
if [[ $(</proc/filesystems) != *$'\toverlay'* ]]; then
	modprobe -q overlay
fi
mkdir -p /run/homa-vm/modules-upper /run/homa-vm/modules-work
if ! mount -t overlay overlay \
	-o lowerdir=/lib/modules,upperdir=/run/homa-vm/modules-upper,workdir=/run/homa-vm/modules-work \
	/lib/modules; then
	say "warning: could not make /lib/modules writable (no overlayfs?)"
fi

# A test kernel (--kernel debug or a build tree) has no directory in
# /lib/modules.  Give it one that points at its build tree, so that
# "make -C /lib/modules/$(uname -r)/build", depmod and modprobe of
# out-of-tree modules behave as on an installed kernel.
if [ -n "$HOMA_VM_KERNEL_TREE" ] && [ -d "$HOMA_VM_KERNEL_TREE" ] &&
	[ ! -e "/lib/modules/$kver/kernel" ]; then
	mkdir -p "/lib/modules/$kver"
	if [ ! -e "/lib/modules/$kver/build" ]; then
		ln -s "$HOMA_VM_KERNEL_TREE" "/lib/modules/$kver/build"
	fi
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		if [ -f "$HOMA_VM_KERNEL_TREE/$f" ] && [ ! -e "/lib/modules/$kver/$f" ]; then
			cp "$HOMA_VM_KERNEL_TREE/$f" "/lib/modules/$kver/"
		fi
	done
	if [ ! -e "/lib/modules/$kver/modules.dep" ]; then
		depmod -a "$kver" 2>/dev/null
	fi
fi

# Two NICs on one qemu hub: load the driver (a no-op when it is built in)
# and wait until both interfaces exist, so the command sees them at once.
if [ -n "$HOMA_VM_NICS" ]; then
	export HOMA_VM_NICS
	modprobe -q "$HOMA_VM_NICS" 2>/dev/null
	for _ in $(seq 100); do
		n=0
		for d in /sys/class/net/*; do
			[ -e "$d/device" ] && n=$((n + 1))
		done
		[ "$n" -ge 2 ] && break
		sleep 0.1
	done
	[ "$n" -ge 2 ] || say "warning: expected 2 $HOMA_VM_NICS interfaces, found $n"
fi

for kv in "${HOMA_VM_ENV[@]}"; do
	export "${kv?}"
done
set +x

# kmemleak: forget what boot left behind, so a scan after the command
# reports only objects leaked while it ran.
kmemleak=/sys/kernel/debug/kmemleak
if [ "$HOMA_VM_KMEMLEAK" = 1 ]; then
	if ! echo clear 2>/dev/null >$kmemleak; then
		say "warning: --kmemleak: this kernel has no (working) kmemleak"
		HOMA_VM_KMEMLEAK=0
	fi
fi

if cd "$HOMA_VM_CWD" 2>/dev/null; then
	read -r up _ </proc/uptime
	echo "HOMA-VM-START $up"
	"${HOMA_VM_CMD[@]}" </dev/null
	status=$?
else
	say "cannot cd to $HOMA_VM_CWD in the guest (under /tmp? the guest" \
		"has its own /tmp and /run)"
	status=126
fi

if [ "$HOMA_VM_KMEMLEAK" = 1 ]; then
	# Twice: kmemleak reports an object only if it was unreferenced and
	# unchanged in two scans, so a single scan reports nothing new.
	echo scan >$kmemleak
	echo scan >$kmemleak
	cat $kmemleak >/run/homa-out/kmemleak.txt
fi

dmesg >/run/homa-out/dmesg.txt 2>&1
# Write-then-rename: the host never sees a half-written status file.
echo "$status" >/run/homa-out/exit-status.tmp &&
	mv /run/homa-out/exit-status.tmp /run/homa-out/exit-status
echo "HOMA-VM-EXIT $status"
sync
$bb poweroff -f
# Not reached unless poweroff failed.
echo o >/proc/sysrq-trigger
while :; do sleep 60; done
