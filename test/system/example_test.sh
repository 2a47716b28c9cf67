#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's example program (util/homa_example.c, built on the host by
# run-systest.sh) runs and gets the request back reversed, over IPv4
# loopback.

. "$(dirname "$0")/lib.sh"

example=${SYSTEST_BUILD:-$repo_dir/build/systest}/homa_example
tap_plan 4

out=$(homa_load 2>&1)
tap_ok $? "insmod" "$out"
[ -x "$example" ]
tap_ok $? "homa_example was built on the host"
out=$(timeout 60 "$example" 2>&1)
rc=$?
tap_ok $rc "homa_example exits 0" "$out"
echo "# $out"
out=$(homa_unload 2>&1)
tap_ok $? "rmmod" "$out"
tap_done
