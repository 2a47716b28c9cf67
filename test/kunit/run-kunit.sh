#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run Homa's KUnit suites in the debug-kernel VM (KASAN, lockdep,
# kmemleak) and report the results in TAP form, ending with the line
# "kunit: N passed, N failed".
#
# Builds homa.ko and the test modules first (scripts/build-debug.sh; a
# no-op when nothing changed), boots test/vm/run-vm --kernel debug
# --check-kernel-log, which runs test/kunit/guest-kunit.sh in the guest,
# and judges what that left behind with test/kunit/ktap-report.py.  Every
# failing test case counts as a failure, and so does every infrastructure
# problem: a build failure, a VM that died or timed out, kernel BUG/
# WARNING/KASAN/lockdep reports, a missing, empty or truncated suite, a
# kmemleak report that involves Homa.
#
# Usage: test/kunit/run-kunit.sh [--no-build] [--no-homa] [--no-kmemleak]
#                                [--out DIR]
#   --no-build  use the modules already in build/ (e.g. after
#               "make debug-build")
#   --no-homa   do not build or load homa.ko; test modules that need it
#               are skipped (for when homa.ko does not compile)
#   --no-kmemleak  skip the two kmemleak scans (about 50 s under TCG),
#               for quick iterations; "make kunit" keeps them
#   --out DIR   where run-vm's output goes (emptied first; default
#               build/kunit-out/<time>-<pid>, so that runs from the same
#               tree do not collide; build/kunit-out/latest points to the
#               newest); the VM's console is in DIR/console.log
# Exit status: 0 if every test passed and nothing else went wrong, else 1.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=1
no_homa=()
no_kmemleak=()
out=
while [ $# -gt 0 ]; do
	case $1 in
	--no-build) build=0 ;;
	--no-homa) no_homa=(--no-homa) ;;
	--no-kmemleak) no_kmemleak=(--no-kmemleak) ;;
	--out) out=${2:?--out needs a directory}; shift ;;
	-h|--help)
		# The header comment, up to the first line of code.
		awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"
		exit 0
		;;
	*) echo "run-kunit: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

start=$EPOCHREALTIME
cd "$root" || exit 1

# Reports an infrastructure failure that stops the run before the VM.
abort() {
	echo "not ok 1 - infrastructure: $*"
	echo "1..1"
	echo "kunit: 0 passed, 1 failed"
	exit 1
}

if [ $build = 1 ]; then
	if ! log=$(scripts/build-debug.sh "${no_homa[@]}" 2>&1); then
		echo "$log" | tail -n 30 | sed 's/^/# /'
		abort "scripts/build-debug.sh failed"
	fi
fi

modules=()
if [ -f build/kunit/modules.order ]; then
	while read -r m; do
		m=${m##*/}
		m=${m%.ko}
		modules+=(--module "${m%.o}")
	done <build/kunit/modules.order
fi
[ ${#modules[@]} -gt 0 ] ||
	abort "no KUnit modules built (run scripts/build-debug.sh)"
if [ ${#no_homa[@]} = 0 ] && [ ! -f build/debug/homa.ko ]; then
	abort "build/debug/homa.ko missing (run scripts/build-debug.sh, or pass --no-homa)"
fi
[ -x test/vm/run-vm ] || abort "test/vm/run-vm missing"

if [ -z "$out" ]; then
	out=$root/build/kunit-out/$(date +%Y%m%d-%H%M%S)-$$
	mkdir -p "$out" || abort "cannot create $out"
	ln -sfn "${out##*/}" "$root/build/kunit-out/latest"
	# Keep the 10 newest runs.
	find "$root/build/kunit-out" -mindepth 1 -maxdepth 1 -type d |
		sort | head -n -10 | xargs -r rm -rf
else
	case $out in
	/*) ;;
	*) out=$root/$out ;;
	esac
	rm -rf "$out"
	mkdir -p "$out" || abort "cannot create $out"
fi

# The console (boot messages, insmod output, kernel splats) goes to a log;
# it is shown only when the run went wrong.
test/vm/run-vm --kernel debug --check-kernel-log --timeout 600 \
	--out "$out" -- \
	test/kunit/guest-kunit.sh "${no_homa[@]}" "${no_kmemleak[@]}" \
	>"$out/run-vm.log" 2>&1
status=$?
if [ $status = 3 ] && [ -f "$out/dmesg.txt" ]; then
	# run-vm's check counts kmemleak's "N new suspected memory leaks"
	# line as a kernel problem.  Here only leaks that involve Homa count
	# (boot can leave false positives); ktap-report.py judges the report
	# in kunit/kmemleak.txt.  So check the logs again without that line.
	leakline='kmemleak: [0-9]+ new suspected memory leak'
	grep -Ev "$leakline" "$out/dmesg.txt" >"$out/dmesg-checked.txt"
	grep -Ev "$leakline" "$out/console.log" >"$out/console-checked.log"
	if test/vm/check-kernel-log "$out/dmesg-checked.txt" >/dev/null &&
		test/vm/check-kernel-log --kernel-lines-only \
			"$out/console-checked.log" >/dev/null; then
		echo "# run-vm's kernel-log check found only kmemleak's summary" \
			"line; the leaks are judged below"
		status=0
	fi
fi
if [ $status != 0 ]; then
	echo "# run-vm exited with status $status; its last output:"
	tail -n 60 "$out/run-vm.log" | sed 's/^/#   /'
fi

python3 test/kunit/ktap-report.py --out "$out" --vm-status "$status" \
	"${modules[@]}" "${no_homa[@]}" "${no_kmemleak[@]}" \
	>"$out/report.txt" 2>&1
rc=$?
elapsed=$(awk -v s="$start" -v e="$EPOCHREALTIME" \
	'BEGIN { printf "%.1f", e - s }')
summary=$(tail -n 1 "$out/report.txt")
if [[ $summary =~ ^kunit:\ [0-9]+\ passed,\ [0-9]+\ failed$ ]]; then
	head -n -1 "$out/report.txt"
	echo "# run-kunit: ${elapsed}s wall, output in $out"
	echo "$summary"
else
	sed 's/^/# /' "$out/report.txt"
	echo "not ok - infrastructure: ktap-report.py failed"
	echo "# run-kunit: ${elapsed}s wall, output in $out"
	echo "kunit: 0 passed, 1 failed"
	rc=1
fi
[ $rc = 0 ]
