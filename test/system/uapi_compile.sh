#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# uapi/linux/homa.h compiles warning-free as C and C++ next to the usual
# libc headers, and its structs, ioctl numbers and constants have the ABI
# values (uapi_layout.h).  Runs on the build host (no module needed).
# Objects go to $SYSTEST_BUILD (default build/systest/uapi).

. "$(dirname "$0")/lib.sh"

out=${SYSTEST_BUILD:-$repo_dir/build/systest}/uapi
mkdir -p "$out"
inc=(-I"$repo_dir/uapi" -I"$systest_dir")
warn=(-Wall -Wextra -Werror)

# name compiler std extra-flags source
builds=(
	"c11 gcc -std=c11 -Wpedantic uapi_check.c"
	"gnu17 gcc -std=gnu17 - uapi_check.c"
	"c++11 g++ -std=c++11 -Wpedantic uapi_check.cc"
	"gnu++17 g++ -std=gnu++17 - uapi_check.cc"
)

tap_plan ${#builds[@]}
for b in "${builds[@]}"; do
	read -r name cc std extra src <<<"$b"
	flags=("$std" "${warn[@]}")
	[ "$extra" = - ] || flags+=("$extra")
	if ! command -v "$cc" >/dev/null; then
		tap_ok 1 "homa.h compiles as $name ($cc)" "$cc not installed"
		continue
	fi
	msg=$("$cc" "${flags[@]}" "${inc[@]}" -o "$out/uapi_check-$name" \
		"$systest_dir/$src" 2>&1)
	tap_ok $? "homa.h compiles as $name: $cc ${flags[*]}" "$msg"
done
tap_done
