#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the run-vm initramfs (busybox sh, runs as PID 1).
#
# Mounts the host's root file system (virtio-9p share "hostroot", read-only)
# at /host, prepares the kernel file systems and scratch tmpfs inside it,
# mounts the writable result share ("homaout") at /host/run/homa-out and
# then chroots PID 1 itself into /host to run guest-run.sh.
#
# Why PID 1 must chroot (and not, say, run "chroot /host cmd" as a child):
# PID 1, kthreadd and therefore all kernel threads share one fs_struct, so
# the chroot of PID 1 also moves the root of the kernel's usermode helpers.
# request_module() then finds /sbin/modprobe and /lib/modules of the host
# tree and module autoloading works inside the guest.
#
# PID 1 must never exit (that panics the kernel); every failure path ends
# in "poweroff -f".  run-vm then reports the missing exit status.

PATH=/bin
export PATH

# The kernel may not have found /dev/console in the initramfs (it is only
# there when run-vm could mknod it, i.e. ran as root); devtmpfs has it.
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

die() {
	echo "HOMA-VM-INIT-FAILED: $*"
	sync
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
}

mount -t proc proc /proc || die "mount /proc"
mount -t sysfs sysfs /sys || die "mount /sys"

# Stock kernel: virtio and 9p are modules, copied into /modules in load
# order by run-vm.  A test kernel has them built in (and would reject the
# stock kernel's modules anyway), so only load them on a version match.
if [ -r /modules/version ] && [ "$(cat /modules/version)" = "$(uname -r)" ]; then
	while read -r m; do
		insmod "/modules/$m.ko" 2>/dev/null ||
			grep -q "^$m " /proc/modules ||
			echo "homa-vm: insmod $m failed"
	done </modules/order
fi

# cache=loose: the guest never writes here and the host tree does not
# change under a test, so let the guest cache pages and dentries; exec and
# python start several times faster than with the default cache=none.
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host ||
	die "cannot mount the host root (9p tag hostroot)"

# Kernel file systems and scratch space inside the future root.  tmpfs on
# /tmp and /run hides the host's (read-only) ones; /var/run is a symlink
# to /run on Debian, so "ip netns add" can create /run/netns.
mount -t proc proc /host/proc || die "mount /host/proc"
mount -t sysfs sysfs /host/sys || die "mount /host/sys"
mount -t devtmpfs devtmpfs /host/dev || die "mount /host/dev"
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /host/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
mount -t tmpfs -o mode=1777 tmpfs /host/tmp || die "mount /host/tmp"
mount -t tmpfs -o mode=755 tmpfs /host/run || die "mount /host/run"
if grep -qw debugfs /proc/filesystems; then
	mount -t debugfs debugfs /host/sys/kernel/debug
fi

# The results share: default cache=none, so everything written there is on
# the host at once, even if the kernel dies right after.
mkdir -p /host/run/homa-out /host/run/homa-vm /host/run/lock
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 homaout /host/run/homa-out ||
	die "cannot mount the output share (9p tag homaout)"

# The guest script, the per-run configuration and a static busybox (for a
# poweroff that does not depend on the host's init system) go to the
# tmpfs, where the chrooted script finds them whatever the host tree holds.
cp /guest-run.sh /homa-vm.conf /bin/busybox /host/run/homa-vm/ ||
	die "cannot copy the guest script"
# Upper layer of the /lib/modules overlay (see guest-run.sh), with the
# modules given to run-vm --module, if any.
mkdir -p /host/run/homa-vm/modules-upper
if [ -d /modules-upper ]; then
	cp -a /modules-upper/. /host/run/homa-vm/modules-upper/
fi

# Drop the initramfs' own mounts of /proc and /sys; /dev stays mounted
# because our console descriptors point into it.
umount /proc /sys

if [ ! -x /host/bin/bash ]; then
	die "/bin/bash missing in the host root"
fi
# shellcheck disable=SC2093 # exec fails only if chroot cannot run
exec chroot /host /bin/bash /run/homa-vm/guest-run.sh
die "chroot failed"
