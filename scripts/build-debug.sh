#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build homa.ko and the KUnit test modules against the debug/test kernel
# (test/vm/testkernel.sh), out of tree, without writing anything into the
# source tree:
#
#   build/debug/  homa.ko       from symlinks to Kbuild, homa_*.c, homa_*.h
#                               and uapi/
#   build/kunit/  *_test.ko     from symlinks to test/kunit/Kbuild and
#                               test/kunit/*.c; linked against the symbols of
#                               build/debug/Module.symvers (KUnit-only
#                               exports of homa.ko)
#
# Re-running is cheap: the symlinks are brought up to date (files added or
# removed since the last run) and make rebuilds only what changed.
#
# Usage: scripts/build-debug.sh [--no-homa] [--tree DIR]
#   --no-homa   build only the KUnit modules (for when homa.ko does not
#               compile); test modules that need homa.ko symbols then fail
#   --tree DIR  kernel build tree to use instead of the cached debug kernel
#               (default: the path printed by test/vm/testkernel.sh --print)
# Prints the paths of the modules built, one per line, at the end.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
no_homa=0
tree=
while [ $# -gt 0 ]; do
	case $1 in
	--no-homa) no_homa=1 ;;
	--tree) tree=${2:?--tree needs a directory}; shift ;;
	-h|--help)
		# The header comment, up to the first line of code.
		awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"
		exit 0
		;;
	*) echo "build-debug: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

if [ -z "$tree" ]; then
	if ! tree=$("$root/test/vm/testkernel.sh" --print 2>/dev/null | tail -n 1) ||
		[ -z "$tree" ]; then
		echo "build-debug: the debug kernel is not built yet;" \
			"run 'make testkernel' (test/vm/testkernel.sh) first" >&2
		exit 2
	fi
fi
if [ ! -f "$tree/Makefile" ] || [ ! -f "$tree/Module.symvers" ]; then
	echo "build-debug: $tree is not a built kernel tree" \
		"(no Makefile or Module.symvers)" >&2
	exit 2
fi

debug=$root/build/debug
kunit=$root/build/kunit
mkdir -p "$debug" "$kunit"

# One build at a time per work tree ("make check" and a developer's
# "make kunit" may overlap).
exec 9>"$root/build/.build-debug.lock"
flock 9

# sync_links DIR SRC...: make DIR hold exactly one symlink named after each
# SRC and pointing to it; symlinks for sources that have gone are removed.
# Files that are not symlinks (make's outputs) are left alone.
sync_links() {
	local dir=$1 src name link
	local -A want=()

	shift
	for src in "$@"; do
		name=${src##*/}
		want[$name]=1
		if [ "$(readlink "$dir/$name" 2>/dev/null)" != "$src" ]; then
			rm -f "$dir/$name"
			ln -s "$src" "$dir/$name"
		fi
	done
	for link in "$dir"/* "$dir"/.[!.]*; do
		[ -L "$link" ] || continue
		name=${link##*/}
		[ -n "${want[$name]:-}" ] || rm -f "$link"
	done
}

shopt -s nullglob
jobs=$(nproc)
built=()

if [ $no_homa = 0 ]; then
	srcs=()
	for f in "$root"/homa_*.c "$root"/homa_*.h; do
		# Not what an in-tree "make" may have generated.
		[[ $f == *.mod.c ]] || srcs+=("$f")
	done
	sync_links "$debug" "$root/Kbuild" "${srcs[@]}" "$root/uapi"
	echo "build-debug: homa.ko against $tree" >&2
	if ! make -C "$tree" M="$debug" W=1 -j"$jobs" modules >&2; then
		echo "build-debug: homa.ko failed to build against the debug" \
			"kernel (pass --no-homa to build only the KUnit modules)" >&2
		exit 1
	fi
	built+=("$debug/homa.ko")
fi

sync_links "$kunit" "$root/test/kunit/Kbuild" "$root"/test/kunit/*.c
extra=()
if [ -f "$debug/Module.symvers" ]; then
	extra=(KBUILD_EXTRA_SYMBOLS="$debug/Module.symvers")
fi
echo "build-debug: KUnit modules against $tree" >&2
if ! make -C "$tree" M="$kunit" W=1 -j"$jobs" HOMA_SRC="$root" \
	"${extra[@]}" modules >&2; then
	echo "build-debug: the KUnit modules failed to build" >&2
	exit 1
fi
# The modules Kbuild produced this time (a removed test's old .ko may
# still lie around; modules.order lists only current ones).
while read -r obj; do
	obj=${obj##*/}
	obj=${obj%.ko}
	built+=("$kunit/${obj%.o}.ko")
done <"$kunit/modules.order"

printf '%s\n' "${built[@]}"
