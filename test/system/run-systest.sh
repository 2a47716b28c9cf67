#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the system tests for one kernel: build the C helpers and run the
# uAPI compile check on this host, then boot the kernel with run-vm and run
# guest-systest.sh in it: once without NICs (all tests), then once with
# each emulated NIC type (virtio-net, e1000e; the debug kernel e1000e
# only): the tests of the NIC packet paths, rpc_paths.sh and
# netem_test.sh.  Prints everything and ends
# with one line
#
#   systest-<kernel>: N passed, N failed, N skipped
#
# Exit status 0 only if nothing failed.  A run-vm failure (timeout, dead
# guest, kernel BUG/WARNING/KASAN/lockdep/kmemleak lines in the kernel
# log) counts as a failure.
#
# Usage: test/system/run-systest.sh --kernel stock|debug
#        [--nics virtio|e1000e|all] [--timeout S] [-- TEST...]
#   stock: tests $repo/homa.ko (make module) in the Debian kernel
#   debug: tests $repo/build/debug/homa.ko (scripts/build-debug.sh) in
#          the KASAN/lockdep/kmemleak kernel of test/vm/testkernel.sh
#   --nics: only the VMs with these NICs (all: both)
#   --timeout: seconds per VM (default 3000 without NICs, 2400 with)
#   TEST:  run only these tests (see guest-systest.sh); without --nics
#          only in the VM without NICs
# Environment passed to the guest when set: HOMA_FUZZ_PACKETS and
# HOMA_FUZZ_SEED (random packets of fuzz_test.py and their PRNG seed),
# SYSTEST_TIMEOUT (seconds per test).

set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$repo/build/systest

kernel=
vm_timeout=3000
nic_timeout=2400
nics=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:-}; shift 2 ;;
	--timeout) vm_timeout=${2:-}; nic_timeout=$vm_timeout; shift 2 ;;
	--nics) nics=${2:-}; shift 2 ;;
	--) shift; break ;;
	-h | --help) sed -n '4,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "run-systest: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case $nics in
'' | virtio | e1000e | all) ;;
*) echo "run-systest: --nics must be virtio, e1000e or all" >&2; exit 2 ;;
esac
case $kernel in
stock) ko=$repo/homa.ko ;;
debug) ko=$repo/build/debug/homa.ko ;;
*) echo "usage: run-systest.sh --kernel stock|debug [--nics NICS] [--timeout S]" >&2; exit 2 ;;
esac

passed=0
failed=0
skipped=0
t_start=$(date +%s.%N)

# finish: print the wall time and the summary line, exit.
finish() {
	local secs
	secs=$(awk -v s="$t_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
	echo "# run-systest: wall time ${secs}s"
	echo "systest-$kernel: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
	exit
}

# count_tap FILE: add the ok / not ok / SKIP lines of FILE to the totals.
count_tap() {
	local ok skip notok
	ok=$(grep -c -E '^ok [0-9]+' "$1")
	skip=$(grep -c -E '^ok [0-9]+.*# *SKIP' "$1")
	notok=$(grep -c -E '^not ok [0-9]+' "$1")
	passed=$((passed + ok - skip))
	skipped=$((skipped + skip))
	failed=$((failed + notok))
}

mkdir -p "$build"

# ---- on this host: C helpers and the uAPI compile check
echo "# ===== host: build C helpers"
if ! msg=$(gcc -Wall -Werror -I"$repo/uapi" -o "$build/rpc_api_test" \
		"$here/rpc_api_test.c" -lpthread 2>&1); then
	echo "# run-systest: building rpc_api_test failed"
	echo "$msg" | sed 's/^/#   /'
	rm -f "$build/rpc_api_test"
fi
# The README's example program, built exactly as the README says.
if ! msg=$(gcc -Wall -Wextra -Werror -I"$repo" -o "$build/homa_example" \
		"$repo/util/homa_example.c" -lpthread 2>&1); then
	echo "# run-systest: building homa_example failed"
	echo "$msg" | sed 's/^/#   /'
	rm -f "$build/homa_example"
fi
# The tools in util/ (cp_node_test.sh runs them); "make systest" and
# "make check" build them too, this is for running this script alone.
if ! msg=$(make -s -C "$repo/util" 2>&1); then
	echo "# run-systest: building the tools in util/ failed"
	echo "$msg" | sed 's/^/#   /'
fi
if msg=$(gcc -Wall -Werror -I"$repo/uapi" -o "$build/uapi_ioctl" \
	"$here/uapi_ioctl.c" 2>&1); then
	echo "# built $build/uapi_ioctl"
else
	echo "$msg"
	echo "# run-systest: building uapi_ioctl failed"
	rm -f "$build/uapi_ioctl"
	failed=$((failed + 1))
fi

if msg=$(gcc -O2 -Wall -Wextra -Werror -I"$repo/uapi" -o "$build/homa_fuzz" \
	"$here/homa_fuzz.c" 2>&1); then
	echo "# built $build/homa_fuzz"
else
	echo "$msg"
	echo "# run-systest: building homa_fuzz failed"
	rm -f "$build/homa_fuzz"
	failed=$((failed + 1))
fi

echo "# ===== host: uapi_compile.sh"
SYSTEST_BUILD=$build bash "$here/uapi_compile.sh" 2>&1 | tee "$build/uapi_compile.log"
rc=${PIPESTATUS[0]}
count_tap "$build/uapi_compile.log"
if [ "$rc" != 0 ] && ! grep -q '^not ok' "$build/uapi_compile.log"; then
	echo "# run-systest: uapi_compile.sh exited with $rc"
	failed=$((failed + 1))
fi

# ---- in the VM
if [ ! -f "$ko" ]; then
	case $kernel in
	stock) how="make module" ;;
	debug) how="scripts/build-debug.sh (make debug-build)" ;;
	esac
	echo "# run-systest: $ko does not exist; build it with $how"
	failed=$((failed + 1))
	finish
fi
cd "$repo" || exit 2

# run_boot NICS TEST...: one VM boot (NICS: none, virtio or e1000e) running
# guest-systest.sh with these tests (none: its default list for a VM with
# or without NICs); adds its results to the totals.
run_boot() {
	local nics=$1 out log tmo summary vm_rc guest_failed
	shift
	out=$build/vm-$kernel
	log=$build/run-$kernel.log
	tmo=$vm_timeout
	if [ "$nics" != none ]; then
		out=$out-$nics
		log=$build/run-$kernel-$nics.log
		tmo=$nic_timeout
	fi
	: >"$log"
	echo "# ===== VM ($kernel kernel, NICs: $nics): guest-systest.sh with $ko"
	# The guest prints its own summary line; it is shown as a comment so
	# that this script's line is the only "systest-..." line of the output.
	"$repo/test/vm/run-vm" --kernel "$kernel" --nics "$nics" \
		--check-kernel-log --timeout "$tmo" --out "$out" \
		--env "HOMA_KO=$ko" --env "SYSTEST_BUILD=$build" \
		${HOMA_FUZZ_PACKETS:+--env "HOMA_FUZZ_PACKETS=$HOMA_FUZZ_PACKETS"} \
		${HOMA_FUZZ_SEED:+--env "HOMA_FUZZ_SEED=$HOMA_FUZZ_SEED"} \
		${SYSTEST_TIMEOUT:+--env "SYSTEST_TIMEOUT=$SYSTEST_TIMEOUT"} -- \
		/bin/bash "$here/guest-systest.sh" --kernel "$kernel" "$@" 2>&1 |
		while IFS= read -r line; do
			case $line in
			systest-*:*passed*) line="# guest summary: $line" ;;
			esac
			printf '%s\n' "$line"
			printf '%s\n' "$line" >>"$log"
		done
	vm_rc=${PIPESTATUS[0]}

	summary=$(sed -n 's/^# guest summary: systest-[a-z]*: //p' "$log" | tail -n 1)
	if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		skipped=$((skipped + BASH_REMATCH[3]))
		guest_failed=${BASH_REMATCH[2]}
	else
		echo "# run-systest: the guest printed no summary line"
		failed=$((failed + 1))
		guest_failed=1
	fi

	# run-vm only turns kernel problems into status 3 when the command
	# itself succeeded; count them when tests failed as well.
	if [ "$vm_rc" != 3 ] && grep -q 'run-vm: kernel problems found' "$log"; then
		vm_rc=3
	fi
	case $vm_rc in
	0) ;;
	3)
		echo "# run-systest: FAILURE: run-vm found kernel problems (BUG, WARNING," \
			"KASAN, lockdep, kmemleak...) in the kernel log; see above and $out"
		failed=$((failed + 1))
		;;
	124)
		echo "# run-systest: FAILURE: the VM timed out after ${tmo}s ($out/console.log)"
		failed=$((failed + 1))
		;;
	125)
		echo "# run-systest: FAILURE: the guest died (panic/oops?); see $out/console.log"
		failed=$((failed + 1))
		;;
	*)
		if [ "$guest_failed" = 0 ]; then
			echo "# run-systest: FAILURE: run-vm exited with status $vm_rc"
			failed=$((failed + 1))
		fi
		;;
	esac
}

# Without --nics: the VM without NICs runs the tests given (default: all),
# then, when no test was named, one VM per NIC type runs the tests of the
# emulated-NIC paths.  With --nics: only VMs with those NICs.
case $nics in
'')
	run_boot none "$@"
	if [ $# = 0 ]; then
		# The debug kernel runs the NIC tests in an e1000e VM only
		# (about 5 minutes; a virtio-net one would add as much).
		[ "$kernel" = stock ] && run_boot virtio
		run_boot e1000e
	fi
	;;
all)
	run_boot virtio "$@"
	run_boot e1000e "$@"
	;;
*)
	run_boot "$nics" "$@"
	;;
esac
finish
