#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# insmod/rmmod homa.ko three times in a row.  After each insmod the module
# is listed and its /proc files exist; after each rmmod they are all gone.

. "$(dirname "$0")/lib.sh"

rounds=3
tap_plan $((rounds * 8))

for r in $(seq $rounds); do
	out=$(homa_load 2>&1)
	tap_ok $? "round $r: insmod succeeds" "$out"
	homa_loaded
	tap_ok $? "round $r: homa is listed in /proc/modules after insmod"
	out=$(cat /proc/net/homa_metrics 2>&1)
	tap_ok $? "round $r: /proc/net/homa_metrics is readable" "$out"
	[ -d /proc/sys/net/homa ]
	tap_ok $? "round $r: /proc/sys/net/homa exists"

	out=$(homa_unload 2>&1)
	tap_ok $? "round $r: rmmod succeeds" "$out"
	! lsmod | grep -q '^homa '
	tap_ok $? "round $r: lsmod does not list homa after rmmod"
	[ ! -e /proc/net/homa_metrics ]
	tap_ok $? "round $r: /proc/net/homa_metrics is gone"
	[ ! -e /proc/sys/net/homa ]
	tap_ok $? "round $r: /proc/sys/net/homa is gone"
done

tap_done
