#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every system test inside the run-vm guest (as root), one after the
# other, and prints their TAP output followed by one summary line:
#
#   systest-<kernel>: N passed, N failed, N skipped
#
# counting the individual "ok" / "not ok" lines ("ok ... # SKIP" and a
# whole-test skip, exit status 4 with no results, count as skipped).  A
# test that exits non-zero without a "not ok" line, or passes with fewer
# results than its plan, counts as one failure.  Every test starts with
# homa unloaded and must leave it unloaded (one more failure otherwise).
#
# Usage: guest-systest.sh [--kernel NAME] [TEST...]
# Default tests: all, or in a VM with NICs ($HOMA_VM_NICS) those of the
# emulated-NIC packet paths.
#   NAME: label of the summary line (default: stock, or debug when the
#   running kernel is the homa debug kernel).  TEST: run only these (file
#   names in test/system, or uapi_ioctl).
# Environment: HOMA_KO (module to test, default homa.ko at the top of the
# repository), SYSTEST_BUILD (C helpers, default build/systest),
# SYSTEST_TIMEOUT (seconds per test, default 300; at least 1200 for
# rpc_paths.sh and netem_test.sh, 900 for homa_test_test.sh).

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
export HOMA_KO
# Timer settings the tests' homa_load applies to the namespace it runs in
# (lib.sh, homa_systest.py): an RPC silent for 100 ticks (the default) is
# ended, but under emulation a loaded guest can leave packets unprocessed
# for longer, so the tests allow 2 s. Tests of timeouts set their own.
export HOMA_SYSCTLS=${HOMA_SYSCTLS-timeout_ticks=2000}
build=${SYSTEST_BUILD:-$repo_dir/build/systest}
per_test_timeout=${SYSTEST_TIMEOUT:-300}
py=/usr/bin/python3

kernel=
if [ "${1:-}" = --kernel ]; then
	kernel=$2
	shift 2
fi
if [ -z "$kernel" ]; then
	case $(uname -r) in
	*homa-debug*) kernel=debug ;;
	*) kernel=stock ;;
	esac
fi

all_tests=(
	load_unload.sh
	autoload_test.py
	bind_test.py
	sockopt_test.py
	sysctl.sh
	netns_test.py
	metrics_test.py
	uapi_ioctl
	example_test.sh
	rpc_api_test
	unload_busy_test.sh
	cp_node_test.sh
	homa_test_test.sh
	bench_micro_test.py
	rpc_paths.sh
	netem_test.sh
	neigh_test.sh
	fuzz_test.py
	cperf_test.sh
	kmemleak_test.py
)
# In a VM with two NICs on a qemu hub (run-vm --nics): the tests of the
# emulated-NIC packet paths.
nic_tests=(
	rpc_paths.sh
	netem_test.sh
)
# The debug kernel runs rpc_paths.sh again: its veth runs under 4 x 50
# in flight used to collapse (RESEND/BUSY pairs every 5 ms for every
# waiting RPC filled the slow guest's backlogs: 13-44 of 200 RPCs
# completed); RPCs now wait as long as their peer takes to answer
# (homa_peer.answer_ticks), and all 200 complete (perf.txt 2026-11-23).
# neigh_test.sh on the debug kernel: its clients start so slowly (one
# process per 200 RPCs) that the neighbour entry can go stale and into
# PROBE before the traffic that would confirm it resumes, and the dropped
# probes then fail it (IPv6 failed so in CI); the stock kernel runs it.
debug_excluded=" neigh_test.sh "
if [ $# -gt 0 ]; then
	tests=("$@")
elif [ -n "${HOMA_VM_NICS:-}" ]; then
	tests=("${nic_tests[@]}")
elif [ "$kernel" = debug ]; then
	tests=()
	for t in "${all_tests[@]}"; do
		[[ $debug_excluded == *" $t "* ]] || tests+=("$t")
	done
else
	tests=("${all_tests[@]}")
fi

passed=0
failed=0
skipped=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run_one TEST: run a test with output to stdout and $tmp/log; sets rc.
run_one() {
	local t=$1 cmd
	case $t in
	*.py) cmd=("$py" "$here/$t") ;;
	*.sh) cmd=(bash "$here/$t") ;;
	uapi_ioctl | rpc_api_test) cmd=("$build/$t") ;;
	*) cmd=("$here/$t") ;;
	esac
	case $t in
	uapi_ioctl | rpc_api_test)
		if [ ! -x "$build/$t" ]; then
			echo "# $build/$t is missing (built by run-systest.sh)"
			rc=1
			return
		fi
		;;
	esac
	# The packet-path tests run many RPCs (see their headers for times).
	tmo=$per_test_timeout
	case $t in
	rpc_paths.sh) [ "$tmo" -lt 1200 ] && tmo=1200 ;;
	netem_test.sh) [ "$tmo" -lt 1800 ] && tmo=1800 ;;
	homa_test_test.sh) [ "$tmo" -lt 900 ] && tmo=900 ;;
	esac
	timeout -k 10 "$tmo" "${cmd[@]}" </dev/null 2>&1 |
		tee "$tmp/log"
	rc=${PIPESTATUS[0]}
}

echo "# systest-$kernel: kernel $(uname -r), module $HOMA_KO"
for t in "${tests[@]}"; do
	echo "# ===== $t"
	if homa_loaded; then
		echo "# homa was loaded before $t started; unloading it"
		homa_unload
	fi
	start=$(date +%s.%N)
	run_one "$t"
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

	n_ok=$(grep -c -E '^ok [0-9]+' "$tmp/log" 2>/dev/null)
	n_skip=$(grep -c -E '^ok [0-9]+.*# *SKIP' "$tmp/log" 2>/dev/null)
	n_fail=$(grep -c -E '^not ok [0-9]+' "$tmp/log" 2>/dev/null)
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$tmp/log" 2>/dev/null | head -n 1)
	passed=$((passed + n_ok - n_skip))
	skipped=$((skipped + n_skip))
	failed=$((failed + n_fail))

	case $rc in
	0)
		if [ -n "$plan" ] && [ $((n_ok + n_fail)) != "$plan" ]; then
			echo "# $t: planned $plan results, produced $((n_ok + n_fail))"
			failed=$((failed + 1))
		fi
		;;
	4)
		[ $((n_ok + n_fail)) = 0 ] && skipped=$((skipped + 1))
		;;
	*)
		if [ "$n_fail" = 0 ]; then
			failed=$((failed + 1))
			case $rc in
			124 | 137) echo "# $t: timed out after ${tmo}s" ;;
			*) echo "# $t: exit status $rc without a 'not ok' result" ;;
			esac
		fi
		;;
	esac
	if homa_loaded; then
		echo "# $t: left homa loaded (counted as a failure); unloading it"
		failed=$((failed + 1))
		homa_unload
	fi
	echo "# $t: exit status $rc, ${secs}s"
done

echo "systest-$kernel: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
