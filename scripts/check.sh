#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make check": every check a reviewer would run, in order, with the time
# of each stage. Static checks count as one test each; the KUnit and
# system-test stages contribute their own counts. Ends with the line
# "N passed, N failed" and exits non-zero if anything failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
logdir=$root/build/check
mkdir -p "$logdir"

passed=0
failed=0
timings=()

# run_stage NAME COMMAND...: run, tee to a log, record time and status.
run_stage() {
	local name=$1 start rc
	shift
	echo "=== $name"
	start=$(date +%s)
	"$@" 2>&1 | tee "$logdir/$name.log"
	rc=${PIPESTATUS[0]}
	timings+=("$(printf '%-16s %5ss  %s' "$name" $(( $(date +%s) - start )) \
		"$([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)")")")
	return "$rc"
}

# count_simple NAME STATUS: a stage that is one test.
count_simple() {
	if [ "$2" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "check: stage $1 failed"
	fi
}

# count_from_log NAME STATUS: add the "N passed, N failed" of a stage's
# log; a failing stage with no failed test in it counts one failure.
count_from_log() {
	local line p f
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$logdir/$1.log" | tail -1)
	p=$(echo "$line" | sed -nE 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\2/p')
	f=$(echo "$line" | sed -nE 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\3/p')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$2" != 0 ] && [ "${f:-0}" = 0 ]; then
		failed=$((failed + 1))
		echo "check: stage $1 failed (exit $2)"
	fi
}

run_stage deps bash scripts/install-deps.sh
count_simple deps $?

# Zero warnings: any compiler warning in the W=1 build fails this stage.
run_stage build bash -c 'make module tools 2>&1 | tee '"$logdir"'/build.log.raw; \
	[ "${PIPESTATUS[0]}" = 0 ] || exit 1; \
	! grep -E "(warning|error):" '"$logdir"'/build.log.raw'
count_simple build $?

kdir=$(make -s --no-print-directory print-kdir)
run_stage sparse bash scripts/run-sparse.sh "$kdir"
count_simple sparse $?

run_stage checkpatch bash scripts/run-checkpatch.sh
count_simple checkpatch $?

# Unit tests of the tools' own logic (util/bench: statistics, flags, path
# checks, report), on this host: no VM, no timing.
run_stage tools-unit python3 test/tools/bench_test.py
count_from_log tools-unit $?

run_stage testkernel bash test/vm/testkernel.sh
tk=$?
count_simple testkernel $tk

if [ $tk = 0 ]; then
	run_stage debug-build bash scripts/build-debug.sh
	db=$?
	count_simple debug-build $db
else
	db=1
fi

if [ $db = 0 ]; then
	run_stage kunit bash test/kunit/run-kunit.sh
	count_from_log kunit $?
fi

run_stage systest-stock bash test/system/run-systest.sh --kernel stock
count_from_log systest-stock $?

if [ $db = 0 ]; then
	run_stage systest-debug bash test/system/run-systest.sh --kernel debug
	count_from_log systest-debug $?
fi

echo "=== stage times"
printf '%s\n' "${timings[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
