#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest half of run-kunit.sh: runs as root inside the debug-kernel VM
# (test/vm/run-vm), with the repository root as working directory.
#
# Loads build/debug/homa.ko, then every KUnit test module of build/kunit
# (homa_wire_test and homa_uapi_test first, the rest in build order); each
# module's suites run while insmod loads it.  Then unloads everything and
# asks kmemleak for leaks.  Results go to $HOMA_VM_OUT/kunit:
#   <suite>.ktap       /sys/kernel/debug/kunit/<suite>/results
#   modules.txt        "<module> <suite>..." per test module in load order,
#                      "<module> SKIP <reason>" if it was not loaded
#   infra.txt          one line per infrastructure failure
#   proc-modules.txt   /proc/modules with everything loaded
#   kmemleak.txt       kmemleak report after the modules were removed (not
#                      $HOMA_VM_OUT/kmemleak.txt: run-vm --check-kernel-log
#                      fails on any report there, while only leaks that
#                      involve Homa count here)
#   done               written last: the script ran to the end
# The full kernel log (all KTAP lines, which debugfs only partly keeps in
# 6.1) is the dmesg.txt that run-vm saves after the command.
# Test results are judged on the host (ktap-report.py); the exit status is
# 0 whenever this script ran to the end.
#
# Every program started here costs 0.5-2 s (exec over 9p, under TCG, with
# KASAN), so the script sticks to bash builtins where it can.
#
# Usage: guest-kunit.sh [--no-homa] [--no-kmemleak]
#   --no-homa      homa.ko is not loaded; test modules that need it are
#                  skipped
#   --no-kmemleak  skip the kmemleak scans (about 25 s each under TCG)

shopt -s nullglob

no_homa=0
use_kmemleak=1
for arg; do
	case $arg in
	--no-homa) no_homa=1 ;;
	--no-kmemleak) use_kmemleak=0 ;;
	*) echo "guest-kunit: unknown argument $arg" >&2; exit 2 ;;
	esac
done

out=${HOMA_VM_OUT:?guest-kunit.sh runs inside test/vm/run-vm}
res=$out/kunit
[ -d "$res" ] || mkdir "$res" || exit 1
: >"$res/modules.txt"
: >"$res/infra.txt"

debugfs=/sys/kernel/debug
suites_dir=$debugfs/kunit
kmemleak=$debugfs/kmemleak

# Progress on the console, with the guest's uptime.
say() {
	local up rest

	read -r up rest </proc/uptime
	echo "guest-kunit: [$up] $*"
}

infra() {
	say "$*"
	echo "$*" >>"$res/infra.txt"
}

# copy SRC DEST: cat without starting a program.
copy() {
	local line

	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s\n' "$line"
	done <"$1" >"$2"
}

# Names of the suites in debugfs, one a line.
list_suites() {
	local d

	for d in "$suites_dir"/*/; do
		d=${d%/}
		echo "${d##*/}"
	done
}

# save_suites MODULE BEFORE: copy the results of the suites that appeared
# in debugfs since BEFORE (an earlier list_suites), i.e. those MODULE ran
# while it loaded, and record them in modules.txt.  Prints the suite names.
save_suites() {
	local m=$1 before=$2 s
	local suites=()

	for s in $(list_suites); do
		case $'\n'$before$'\n' in
		*$'\n'$s$'\n'*) ;;
		*) suites+=("$s") ;;
		esac
	done
	for s in "${suites[@]}"; do
		copy "$suites_dir/$s/results" "$res/$s.ktap" ||
			infra "cannot read $suites_dir/$s/results" >&2
	done
	if [ ${#suites[@]} -gt 0 ] || [ "$m" != homa ]; then
		echo "$m ${suites[*]}" >>"$res/modules.txt"
	fi
	echo "${suites[*]}"
}

if [ ! -d $suites_dir ]; then
	mount -t debugfs debugfs $debugfs 2>/dev/null
fi
if [ ! -d $suites_dir ]; then
	infra "no $suites_dir: this kernel lacks KUNIT/KUNIT_DEBUGFS"
	echo ok >"$res/done"
	exit 0
fi

# Forget objects left unreferenced by boot, so that the report after the
# run holds only what the modules leaked.
if [ $use_kmemleak = 1 ]; then
	if ! { [ -w $kmemleak ] && echo clear >$kmemleak; }; then
		infra "kmemleak is not available in this kernel"
		use_kmemleak=0
	fi
fi

loaded=()
homa_loaded=0

# Load homa.ko first, so that test modules using its KUnit-only exports
# can be loaded at all.
homa_ko=build/debug/homa.ko
if [ $no_homa = 1 ]; then
	say "--no-homa: not loading $homa_ko"
elif [ ! -f $homa_ko ]; then
	infra "$homa_ko missing (run scripts/build-debug.sh, or pass --no-homa)"
else
	before=$(list_suites)
	say "insmod $homa_ko"
	if insmod $homa_ko; then
		loaded+=(homa)
		homa_loaded=1
	else
		infra "insmod $homa_ko failed"
	fi
	save_suites homa "$before" >/dev/null
fi

# Test modules in load order: the self-contained suites first, then the
# others in the order Kbuild built them (modules.order lists only modules
# of the current Kbuild, not stale .ko files).
mods=()
for m in homa_wire_test homa_uapi_test; do
	[ -f "build/kunit/$m.ko" ] && mods+=("$m")
done
order=()
if [ -f build/kunit/modules.order ]; then
	while read -r m; do
		m=${m##*/}
		m=${m%.ko}
		order+=("${m%.o}")
	done <build/kunit/modules.order
else
	for m in build/kunit/*.ko; do
		m=${m##*/}
		order+=("${m%.ko}")
	done
fi
for m in "${order[@]}"; do
	case " ${mods[*]} " in
	*" $m "*) ;;
	*) mods+=("$m") ;;
	esac
done
if [ ${#mods[@]} = 0 ]; then
	infra "no test modules in build/kunit (run scripts/build-debug.sh)"
fi

for m in "${mods[@]}"; do
	ko=build/kunit/$m.ko
	if [ ! -f "$ko" ]; then
		infra "$ko missing"
		echo "$m MISSING" >>"$res/modules.txt"
		continue
	fi
	if [ $homa_loaded = 0 ]; then
		case ,$(modinfo -F depends "$ko" 2>/dev/null), in
		*,homa,*)
			echo "$m SKIP needs homa.ko, which is not loaded" \
				>>"$res/modules.txt"
			continue
			;;
		esac
	fi
	before=$(list_suites)
	say "insmod $ko"
	if insmod "$ko"; then
		loaded+=("$m")
		if [ -z "$(save_suites "$m" "$before")" ]; then
			infra "$m registered no KUnit suite"
		fi
	else
		# Its suites left debugfs with it; dmesg.txt still has them.
		infra "insmod $ko failed"
		echo "$m" >>"$res/modules.txt"
	fi
done

copy /proc/modules "$res/proc-modules.txt"

# Unload in reverse order; homa.ko goes last.
say "unloading ${loaded[*]}"
for ((i = ${#loaded[@]} - 1; i >= 0; i--)); do
	rmmod "${loaded[i]}" || infra "rmmod ${loaded[i]} failed"
done

# kmemleak only reports objects older than 5 s: scan once, and again at
# least 6 s after the first scan started (a first scan can also report
# objects that are only transiently unreferenced).  A scan itself takes
# 15-40 s under TCG, so there is usually nothing left to wait for.
if [ $use_kmemleak = 1 ]; then
	say "kmemleak scan"
	t0=$SECONDS
	echo scan >$kmemleak
	if [ $((SECONDS - t0)) -lt 6 ]; then
		sleep $((6 - (SECONDS - t0)))
	fi
	say "kmemleak scan"
	echo scan >$kmemleak
	copy $kmemleak "$res/kmemleak.txt" || infra "cannot read $kmemleak"
fi

say "done"
echo ok >"$res/done"
exit 0
