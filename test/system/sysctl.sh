#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The sysctls in /proc/sys/net/homa: each starts at its default, accepts
# both ends of its range, and rejects values just outside the range and
# non-numbers with EINVAL, leaving the old value in place.
# (Per-namespace behaviour is in netns_test.py.)

. "$(dirname "$0")/lib.sh"

# name default min max
params=(
	"link_mbps 25000 1 10000000"
	"unsched_bytes 40000 1 1000000"
	"window 0 0 1000000"
	"max_incoming 400000 1 1000000000"
	"wmem_max 100000000 10000 2147483647"
	"poll_usecs 50 0 1000000"
	"max_gso_size 10000 1500 65000"
	"tick_usecs 1000 100 1000000"
	"resend_ticks 5 1 100000"
	"resend_interval 5 1 100000"
	"timeout_ticks 100 2 10000000"
	"request_ack_ticks 2 1 100000"
)
dir=/proc/sys/net/homa
EINVAL_TEXT="Invalid argument"

tap_plan $((${#params[@]} * 8 + 2))

# The defaults are what this test checks.
HOMA_SYSCTLS=
out=$(homa_load 2>&1)
tap_ok $? "insmod" "$out"

# check_write FILE VALUE DESC: writing VALUE succeeds and reads back.
check_write() {
	local file=$1 value=$2 desc=$3
	write_value "$file" "$value"
	read_value "$file"
	[ "$write_result" = ok ] && [ "$value_read" = "$value" ]
	tap_ok $? "$desc" "write: $write_result" "reads back: '$value_read'"
}

# check_reject FILE VALUE DESC: writing VALUE fails with EINVAL and the
# file still holds what it held before.
check_reject() {
	local file=$1 value=$2 desc=$3 before
	read_value "$file"
	before=$value_read
	write_value "$file" "$value"
	read_value "$file"
	[ "$write_result" = "$EINVAL_TEXT" ] && [ "$value_read" = "$before" ]
	tap_ok $? "$desc" "write: $write_result (expected: $EINVAL_TEXT)" \
		"value before: '$before', after: '$value_read'"
}

for p in "${params[@]}"; do
	read -r name dflt min max <<<"$p"
	f=$dir/$name
	read_value "$f"
	tap_is "$value_read" "$dflt" "$name: default is $dflt"
	check_write "$f" "$min" "$name: minimum $min is accepted"
	check_write "$f" "$max" "$name: maximum $max is accepted"
	check_reject "$f" $((min - 1)) "$name: $((min - 1)) (min - 1) -> EINVAL"
	check_reject "$f" $((max + 1)) "$name: $((max + 1)) (max + 1) -> EINVAL"
	check_reject "$f" abc "$name: 'abc' -> EINVAL"
	check_reject "$f" 12abc "$name: '12abc' -> EINVAL"
	check_write "$f" "$dflt" "$name: default $dflt can be written back"
done

out=$(homa_unload 2>&1)
tap_ok $? "rmmod" "$out"

tap_done
