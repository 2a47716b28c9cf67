# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are used by the tests that source it.)
#
# Helpers shared by the shell system tests (sourced, not run): TAP output
# and loading/unloading homa.ko.  Tests run as root inside the run-vm
# guest; HOMA_KO names the module to load (default: homa.ko at the top of
# the repository).
#
# TAP:  tap_plan N; tap_ok COND_STATUS DESC [DETAIL...]; tap_skip DESC WHY;
#       tap_done (prints nothing more, exits 0 / 1 / 4).

systest_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$systest_dir/../.." && pwd)
HOMA_KO=${HOMA_KO:-$repo_dir/homa.ko}

# Exit statuses (kselftest convention).
KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

tap_planned=0
tap_count=0
tap_failed=0
tap_skipped=0

# tap_plan N: start the TAP stream with a plan of N results.
tap_plan() {
	tap_planned=$1
	echo "TAP version 13"
	echo "1..$tap_planned"
}

# tap_ok STATUS DESC [DETAIL...]: one result; STATUS 0 means pass.  DETAIL
# lines are printed as TAP comments after a failure.
tap_ok() {
	local status=$1 desc=$2
	shift 2
	tap_count=$((tap_count + 1))
	if [ "$status" = 0 ]; then
		echo "ok $tap_count $desc"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_count $desc"
		local line
		for line in "$@"; do
			echo "# $line"
		done
	fi
}

# tap_is ACTUAL EXPECTED DESC: pass if the two strings are equal.
tap_is() {
	local actual=$1 expected=$2 desc=$3
	[ "$actual" = "$expected" ]
	tap_ok $? "$desc" "expected: '$expected'" "actual:   '$actual'"
}

# tap_skip DESC WHY: a skipped result.
tap_skip() {
	tap_count=$((tap_count + 1))
	tap_skipped=$((tap_skipped + 1))
	echo "ok $tap_count $1 # SKIP $2"
}

# tap_skip_all WHY: the whole test does not apply here; exits 4.
tap_skip_all() {
	echo "TAP version 13"
	echo "1..0 # SKIP $1"
	exit $KSFT_SKIP
}

# tap_done: check the plan and exit with the kselftest status.
tap_done() {
	rm -f "$_lib_err"
	if [ "$tap_count" != "$tap_planned" ]; then
		echo "# planned $tap_planned results but produced $tap_count"
		exit $KSFT_FAIL
	fi
	if [ "$tap_failed" != 0 ]; then
		echo "# $tap_failed of $tap_count failed"
		exit $KSFT_FAIL
	fi
	if [ "$tap_skipped" = "$tap_count" ] && [ "$tap_count" != 0 ]; then
		exit $KSFT_SKIP
	fi
	exit $KSFT_PASS
}

# homa_loaded: status 0 if homa is in the module list.
homa_loaded() {
	grep -q '^homa ' /proc/modules
}

# homa_load: insmod $HOMA_KO, then write $HOMA_SYSCTLS ("name=value ...",
# set by guest-systest.sh) to this namespace's /proc/sys/net/homa; prints
# the complaint on failure.
homa_load() {
	local p
	if [ ! -r "$HOMA_KO" ]; then
		echo "# $HOMA_KO not found"
		return 1
	fi
	insmod "$HOMA_KO" || return 1
	for p in ${HOMA_SYSCTLS:-}; do
		echo "${p#*=}" >"/proc/sys/net/homa/${p%%=*}" || return 1
	done
}

# homa_unload: rmmod homa.  Sockets are freed after an RCU grace period
# and each holds a module reference until then, so a "module in use"
# right after the last close() is retried for a few seconds.
homa_unload() {
	local err
	for _ in $(seq 50); do
		if err=$(rmmod homa 2>&1); then
			return 0
		fi
		case $err in
		*"in use"*) sleep 0.1 ;;
		*) break ;;
		esac
	done
	echo "# rmmod homa: $err"
	return 1
}

# The helpers below avoid forking (no command substitution): a fork costs
# a lot in a KASAN kernel under TCG, and sysctl.sh makes hundreds of calls.
_lib_err=/tmp/homa-systest-$$.err
# Results of write_value and read_value, for the caller.
write_result=''
value_read=''

# write_value FILE VALUE: write VALUE (no newline) to FILE in one write()
# and set write_result to "ok" or to the strerror() text of the failed
# write, e.g. "Invalid argument" for EINVAL.
write_value() {
	local file=$1 value=$2 err=
	if { printf '%s' "$value" >"$file"; } 2>"$_lib_err"; then
		write_result=ok
	else
		# bash: "...: printf: write error: Invalid argument"
		IFS= read -r err <"$_lib_err"
		write_result=${err##*: }
	fi
}

# read_value FILE: set value_read to the first line of FILE.
read_value() {
	value_read=
	IFS= read -r value_read 2>/dev/null <"$1" || [ -n "$value_read" ] ||
		value_read="(cannot read $1)"
}
