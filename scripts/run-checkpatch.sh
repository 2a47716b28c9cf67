#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the kernel's checkpatch.pl --strict over every kernel-side source
# file of the project. checkpatch.pl and its data files are taken from
# Debian's linux-source-6.1 tarball and cached outside the work tree.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tarball=/usr/src/linux-source-6.1.tar.xz
if [ "$(id -u)" = 0 ]; then
	cache=${HOMA_CACHE:-/var/cache/homa-test}
else
	cache=${HOMA_CACHE:-$HOME/.cache/homa-test}
fi
cp_dir=$cache/checkpatch
if [ ! -x "$cp_dir/scripts/checkpatch.pl" ]; then
	[ -r "$tarball" ] || { echo "checkpatch: $tarball missing; run make deps" >&2; exit 2; }
	mkdir -p "$cp_dir.tmp"
	tar -C "$cp_dir.tmp" --strip-components=1 -xJf "$tarball" \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	rm -rf "$cp_dir"
	mv "$cp_dir.tmp" "$cp_dir"
fi

cd "$root"
shopt -s nullglob
files=(homa_*.c homa_*.h uapi/linux/homa.h test/kunit/*.c)
checkpatch=("$cp_dir/scripts/checkpatch.pl" --strict --no-tree --terse
	    --show-types --file)
status=0
for f in "${files[@]}"; do
	# homa_compat.h exists to hold the version tests checkpatch warns
	# about everywhere else; only those two checks are waived, only there.
	if [ "$f" = homa_compat.h ]; then
		"${checkpatch[@]}" --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON \
			"$f" >/dev/null || { "${checkpatch[@]}" --ignore \
			LINUX_VERSION_CODE,CONSTANT_COMPARISON "$f"; status=1; }
	elif ! "${checkpatch[@]}" "$f" >/dev/null; then
		"${checkpatch[@]}" "$f" || true
		status=1
	fi
done
if [ $status != 0 ]; then
	echo "checkpatch: problems found"
	exit 1
fi
echo "checkpatch: clean (${#files[@]} files)"
